"""Fully connected layers: linear, LeNet-5's Euclidean RBF output."""

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import field_validator

from archspec.errors import spec_repr
from archspec.ops.base import (
    HintedValueError,
    Op,
    OpError,
    PosInt,
    RFEffect,
    Saved,
    Shape,
    format_shape,
    numel,
)


def feature_input(op_name: str, inputs: Sequence[Shape]) -> Shape:
    """A vector (F) or a token sequence (N, F); anything else gets a hint to flatten."""
    shape = inputs[0]
    if len(shape) not in (1, 2):
        raise OpError(
            f"{op_name} expects a vector or a token sequence, got {format_shape(shape)}",
            hint="add `flatten` (or a global pooling) before it"
            + (
                "; on a channels-last HxWxC map, linear(..., dim=-1) works per pixel"
                if op_name == "linear"
                else ""
            ),
        )
    return shape


class Linear(Op):
    """``linear(out_features, bias=true, dim=none)`` over the last dimension (``dim=-1`` on a channels-last
    HxWxC map: a linear per pixel).

    ``bias`` may also be one flag per equal chunk of the outputs (``bias=[true, false, true]``): the bias
    parameter holds every output's entry, as torch's ``nn.Linear`` does, but the forward pass adds only
    those of the chunks marked true, and the others start at zero. Swin V2's ``qkv`` is written so
    (torchvision keeps the key's bias in its checkpoints and zeroes it in ``forward``)."""

    kind: Literal["linear"] = "linear"
    in_features: PosInt
    out_features: PosInt
    bias: bool | tuple[bool, ...] = True
    dim: Literal[-1] | None = None

    spec_names: ClassVar[tuple[str, ...]] = ("linear", "fc")
    family: ClassVar[str] = "dense"
    depth_weight: ClassVar[int] = 1
    init_parameters: ClassVar[tuple[str, ...]] = ("weight", "bias")
    fan_weight: ClassVar[bool] = True
    inplace_producer: ClassVar[bool] = True
    inferred: ClassVar[frozenset[str]] = frozenset({"in_features"})
    summary: ClassVar[str] = "fully connected layer over the last dimension"
    shape_rule: ClassVar[str] = (
        "(..., in_features) to (..., out_features): a vector F, tokens NxF, or with dim=-1 a channels-last "
        "map HxWxF"
    )
    param_rule: ClassVar[str] = (
        "in_features * out_features + out_features (bias; also with a bias per chunk, whose parameter holds "
        "every output's entry)"
    )
    flop_rule: ClassVar[str] = "MACs as matmul; `--count all` adds 1 FLOP per output element for the bias"

    @field_validator("bias", mode="before")
    @classmethod
    def _bias(cls, value: Any) -> Any:
        # true, false, or a list of flags (not 1 or 0: `1 == True` in Python)
        if value is True or value is False:
            return value
        if isinstance(value, list | tuple) and value and all(v is True or v is False for v in value):
            return tuple(value)
        raise HintedValueError(
            f"must be true, false or one flag per chunk of the outputs, got {spec_repr(value)}",
            hint="bias=true gives every output a bias, bias=false none, and a list of flags one per equal "
            "chunk of the outputs (bias=[true, false, true]: the first and last thirds)",
        )

    def check(self, inputs: Sequence[Shape]) -> None:
        if not isinstance(self.bias, tuple):
            return
        if len(set(self.bias)) == 1:
            every = self.bias[0]
            raise OpError(
                f"argument 'bias' of linear: {spec_repr(self.bias)} gives {'every' if every else 'no'} "
                "output a bias",
                argument="bias",
                hint=f"write bias={spec_repr(every)}; a list of flags marks the chunks of the outputs with "
                "a bias and those without",
            )
        if self.out_features % len(self.bias):
            raise OpError(
                f"argument 'bias' of linear: {self.out_features} outputs do not split into {len(self.bias)} "
                f"equal chunks, one per flag of {spec_repr(self.bias)}",
                argument="bias",
                hint="out_features must be a multiple of the number of flags",
            )

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        if len(inputs[0]) == 3 and args.get("dim") == -1:  # a per-pixel linear on a channels-last map
            return {"in_features": inputs[0][-1]}
        return {"in_features": feature_input("linear", inputs)[-1]}

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return (*inputs[0][:-1], self.out_features)

    def param_count(self) -> int:
        return self.in_features * self.out_features + (self.out_features if self.bias else 0)

    def macs(self, inputs: Sequence[Shape], output: Shape) -> int:
        return numel(inputs[0][:-1]) * self.in_features * self.out_features

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return numel(output) if self.bias else 0

    saved_rule: ClassVar[str] = "its input"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input"),)

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        return last_axis(inputs)

    def label(self) -> str:
        return f"linear {self.out_features}"

    def count_formulas(self, inputs: Sequence[Shape], params: int, macs: int) -> tuple[str, ...]:
        rows = macs // (self.in_features * self.out_features)
        bias = f" + {self.out_features}" if self.bias else ""
        return (
            f"params = in × out{' + out' if self.bias else ''} = {self.in_features} × {self.out_features}"
            f"{bias} = {params:,}",
            f"MACs = rows × in × out = {rows} × {self.in_features} × {self.out_features} = {macs:,}",
        )


def last_axis(inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
    """Input 0's last axis, read whole by each output element (a linear layer's ``mixed_axes``)."""
    return ((0, len(inputs[0]) - 1),)


class RBF(Op):
    """``rbf(units)``: LeNet-5's Euclidean radial-basis output, fixed (non-trained) centres.

    Outputs the negated squared distance to each centre, so that argmax and cross-entropy work; the
    paper's penalty y_i is its negation. The centres are stylised 7x12 bitmaps of the digits (a buffer).
    """

    kind: Literal["rbf"] = "rbf"
    in_features: PosInt
    units: PosInt

    spec_names: ClassVar[tuple[str, ...]] = ("rbf",)
    family: ClassVar[str] = "dense"
    default_loss: ClassVar[str] = "rbf_map"  # LeCun's penalty on the distance to the right centre
    depth_weight: ClassVar[int] = 1
    inferred: ClassVar[frozenset[str]] = frozenset({"in_features"})
    summary: ClassVar[str] = "LeNet-5 Euclidean RBF output units with fixed centres"
    shape_rule: ClassVar[str] = "a vector F to units"
    param_rule: ClassVar[str] = "none (the units * F centres are a fixed buffer)"
    flop_rule: ClassVar[str] = "MACs: one per (unit, input) pair, as the x·c matmul it is computed with"

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        shape = feature_input("rbf", inputs)
        if len(shape) != 1:
            raise OpError(f"rbf expects a vector, got {format_shape(shape)}")
        return {"in_features": shape[0]}

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return (self.units,)

    def buffer_count(self) -> int:
        return self.units * self.in_features

    def macs(self, inputs: Sequence[Shape], output: Shape) -> int:
        return self.units * self.in_features

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return 2 * self.in_features + 2 * self.units  # the two squared norms and the combination

    saved_rule: ClassVar[str] = "its input"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input"),)

    def receptive_field(self) -> RFEffect:
        return None

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        return last_axis(inputs)

    def label(self) -> str:
        return f"RBF {self.units}"
