"""Normalisation: batch norm, layer norm, local response norm."""

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field

from archspec.ops.base import Op, OpError, PosInt, Saved, Shape, format_shape, numel


class BatchNorm(Op):
    """``batchnorm(eps=1e-5, momentum=0.1, affine=true)`` over channels (BatchNorm2d, or 1d on vectors)."""

    kind: Literal["batchnorm"] = "batchnorm"
    num_features: PosInt
    eps: float = Field(default=1e-5, gt=0)
    momentum: float = Field(default=0.1, ge=0, le=1)
    affine: bool = True
    spatial: bool = True

    spec_names: ClassVar[tuple[str, ...]] = ("batchnorm", "bn")
    family: ClassVar[str] = "norm"
    init_parameters: ClassVar[tuple[str, ...]] = ("weight", "bias")
    inplace_producer: ClassVar[bool] = True
    inferred: ClassVar[frozenset[str]] = frozenset({"num_features", "spatial"})
    summary: ClassVar[str] = "batch normalisation over channels"
    shape_rule: ClassVar[str] = "same as the input (CxHxW, or a vector C)"
    param_rule: ClassVar[str] = "2 * C when affine (buffers: 2 * C running statistics + 1 batch counter)"
    flop_rule: ClassVar[str] = "`--count all`: 2 FLOPs per element (scale and shift, folded at inference)"

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        shape = inputs[0]
        if len(shape) not in (1, 3):
            raise OpError(f"batchnorm expects CxHxW or a vector, got {format_shape(shape)}")
        return {"num_features": shape[0], "spatial": len(shape) == 3}

    def param_count(self) -> int:
        return 2 * self.num_features if self.affine else 0

    def buffer_count(self) -> int:
        return 2 * self.num_features + 1  # running mean, running var, num_batches_tracked

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return 2 * numel(output)

    saved_rule: ClassVar[str] = "its input, and the batch mean and inverse deviation (C each)"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        c = self.num_features
        return (
            Saved("input", "input"),
            Saved("new", "batch mean", elements=c, per_sample=False),
            Saved("new", "inverse deviation", elements=c, per_sample=False),
        )


def map_dim(op_name: str, dim: int | None, inputs: Sequence[Shape], allowed: tuple[int, ...]) -> int:
    """The dimension an op works on: the last of a vector or a token sequence; on a 3-d map the spec must
    say which (``dim=0``: the channels of CxHxW; ``dim=-1``: the last of a channels-last HxWxC), since
    nothing in the shape tells a CxHxW map from an HxWxC one. Returns a non-negative index."""
    shape = inputs[0]
    if len(shape) == 3 and dim is None:
        raise OpError(
            f"{op_name} on the 3-d map {format_shape(shape)} needs `dim` "
            "(a CxHxW and an HxWxC map look alike)",
            argument="dim",
            hint=f"{op_name}(dim=0) works on the channels of a CxHxW map; {op_name}(dim=-1) on the last "
            "dimension of a channels-last HxWxC map (after permute([1, 2, 0]))",
        )
    if dim is None:
        return len(shape) - 1
    if (
        dim not in allowed
        or not -len(shape) <= dim < len(shape)
        or (dim % len(shape) == 0 and len(shape) < 3)
    ):
        choices = " or ".join(str(d) for d in allowed)
        raise OpError(
            f"{op_name}: dim {dim} is not supported on {format_shape(shape)} (dim is {choices}; "
            "0 only on a CxHxW map)",
            argument="dim",
        )
    return dim % len(shape)


class LayerNorm(Op):
    """``layernorm(eps=1e-5, affine=true, dim=none)`` over the last dimension, or over the channels of a
    CxHxW map (``dim=0``: torchvision's LayerNorm2d)."""

    kind: Literal["layernorm"] = "layernorm"
    normalized_shape: PosInt
    eps: float = Field(default=1e-5, gt=0)
    elementwise_affine: bool = True
    dim: Literal[0, -1] | None = None
    channels_first: bool = False

    spec_names: ClassVar[tuple[str, ...]] = ("layernorm", "ln")
    family: ClassVar[str] = "norm"
    init_parameters: ClassVar[tuple[str, ...]] = ("weight", "bias")
    inferred: ClassVar[frozenset[str]] = frozenset({"normalized_shape", "channels_first"})
    aliases: ClassVar[dict[str, str]] = {"affine": "elementwise_affine"}
    summary: ClassVar[str] = "layer normalisation over the last dimension, or the channels of a map (dim=0)"
    shape_rule: ClassVar[str] = (
        "same as the input; a 3-d map needs dim=0 (channels of CxHxW) or dim=-1 (last of HxWxC)"
    )
    param_rule: ClassVar[str] = "2 * D when affine (D: the size of the normalised dimension)"
    flop_rule: ClassVar[str] = "`--count all`: 5 FLOPs per element (mean, variance, normalise, scale, shift)"

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        dim = map_dim("layernorm", args.get("dim"), inputs, (0, -1))
        shape = inputs[0]
        return {"normalized_shape": shape[dim], "channels_first": len(shape) == 3 and dim == 0}

    def param_count(self) -> int:
        return 2 * self.normalized_shape if self.elementwise_affine else 0

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        return ((0, 0 if self.channels_first else len(inputs[0]) - 1),)  # the statistics' axis

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return 5 * numel(output)

    saved_rule: ClassVar[str] = "its input, and the mean and inverse deviation of each normalised row"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        rows = numel(inputs[0]) // self.normalized_shape
        return (
            Saved("input", "input"),
            Saved("new", "row means", elements=rows),
            Saved("new", "row inverse deviations", elements=rows),
        )

    def scratch(self, inputs: Sequence[Shape], output: Shape, itemsize: int, batch: int) -> int:
        # torch's CPU kernel returns the row means and inverse deviations even without autograd.
        return 2 * (numel(inputs[0]) // self.normalized_shape) * itemsize * batch


class GroupNorm(Op):
    """``groupnorm(groups, eps=1e-5, affine=true)`` on a CxHxW map (torch's ``nn.GroupNorm``): statistics
    over each group of C / groups channels and all positions; one group normalises over C x H x W."""

    kind: Literal["groupnorm"] = "groupnorm"
    num_groups: PosInt
    num_channels: PosInt
    eps: float = Field(default=1e-5, gt=0)
    affine: bool = True

    spec_names: ClassVar[tuple[str, ...]] = ("groupnorm", "gn")
    family: ClassVar[str] = "norm"
    init_parameters: ClassVar[tuple[str, ...]] = ("weight", "bias")
    inferred: ClassVar[frozenset[str]] = frozenset({"num_channels"})
    aliases: ClassVar[dict[str, str]] = {"groups": "num_groups"}
    summary: ClassVar[str] = "group normalisation: statistics over groups of channels and every position"
    shape_rule: ClassVar[str] = "same as the input, a CxHxW map whose C the groups divide"
    param_rule: ClassVar[str] = "2 * C when affine (weight and bias, one per channel)"
    flop_rule: ClassVar[str] = "`--count all`: 5 FLOPs per element (mean, variance, normalise, scale, shift)"
    saved_rule: ClassVar[str] = "its input, and the mean and inverse deviation of each group"

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        shape = inputs[0]
        if len(shape) != 3:
            raise OpError(
                f"groupnorm expects a CxHxW map, got {format_shape(shape)}",
                hint="on a token sequence, layernorm normalises each token",
            )
        return {"num_channels": shape[0]}

    def check(self, inputs: Sequence[Shape]) -> None:
        if self.num_channels % self.num_groups:
            raise OpError(
                f"groupnorm: {self.num_groups} groups do not divide the {self.num_channels} channels "
                f"of {format_shape(inputs[0])}",
                argument="num_groups",
                hint="the number of groups must divide the channels (1 group: statistics over C x H x W)",
            )

    def param_count(self) -> int:
        return 2 * self.num_channels if self.affine else 0

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        # Each group's statistics span every position (per sample, in evaluation too): the field is global.
        return tuple((0, axis) for axis in range(len(inputs[0])))

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return 5 * numel(output)

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (
            Saved("input", "input"),
            Saved("new", "group means", elements=self.num_groups),
            Saved("new", "group inverse deviations", elements=self.num_groups),
        )

    def label(self) -> str:
        return f"group norm, {self.num_groups} group" + ("s" if self.num_groups > 1 else "")


class LocalResponseNorm(Op):
    """``lrn(size, alpha=1e-4, beta=0.75, k=1.0)``: AlexNet's local response normalisation across channels."""

    kind: Literal["lrn"] = "lrn"
    size: PosInt
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0

    spec_names: ClassVar[tuple[str, ...]] = ("lrn", "local_response_norm")
    family: ClassVar[str] = "norm"
    summary: ClassVar[str] = "local response normalisation across channels"
    shape_rule: ClassVar[str] = "same as the input (CxHxW)"
    flop_rule: ClassVar[str] = (
        "`--count all`: size + 3 FLOPs per element (window sum of squares, scale, power, divide)"
    )

    def check(self, inputs: Sequence[Shape]) -> None:
        if len(inputs[0]) != 3:
            raise OpError(f"lrn expects CxHxW, got {format_shape(inputs[0])}")

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return (self.size + 3) * numel(output)

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        return ((0, 0),)  # a window of `size` channels, taken as the whole axis (an upper bound)

    # torch computes it as a chain of ops (F.local_response_norm): square, pad across channels, average
    # over the window, scale, shift, power, divide; these are the tensors that chain keeps.
    saved_rule: ClassVar[str] = (
        "its input, the squares padded across channels ((C + size - 1) x H x W), and the divisor before "
        "and after the power (C x H x W each)"
    )

    def _padded(self, shape: Shape) -> int:
        channels, height, width = shape
        return (channels + self.size - 1) * height * width

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (
            Saved("input", "input"),
            Saved("new", "padded squares", elements=self._padded(inputs[0])),
            Saved("new", "divisor before the power", elements=numel(output)),
            Saved("new", "divisor", elements=numel(output)),
        )

    def scratch(self, inputs: Sequence[Shape], output: Shape, itemsize: int, batch: int) -> int:
        # Before the output: the squares beside their padded copy, then the pooled sums, their scaled
        # copy and its shift (three C x H x W at once, while the expression is evaluated).
        return max(self._padded(inputs[0]), 2 * numel(output)) * itemsize * batch

    def label(self) -> str:
        return f"LRN {self.size}"


class LayerScale(Op):
    """``layer_scale(value=1e-6, dim=none)``: a learned per-channel scale (ConvNeXt, Swin), a bare parameter
    held under the layer's name: Cx1x1 on a CxHxW map (``dim=0``), C on a channels-last HxWxC map
    (``dim=-1``), D on vectors and tokens (their last dimension)."""

    kind: Literal["layer_scale"] = "layer_scale"
    own_parameter: ClassVar[bool] = True
    value: float = 1e-6
    shape: tuple[PosInt, ...]
    dim: Literal[0, -1] | None = None

    spec_names: ClassVar[tuple[str, ...]] = ("layer_scale",)
    family: ClassVar[str] = "norm"
    # the parameter itself (ConvNeXt, Swin)
    init_parameters: ClassVar[tuple[str, ...]] = ("weight",)
    inferred: ClassVar[frozenset[str]] = frozenset({"shape"})
    summary: ClassVar[str] = "learned per-channel scale, initialised to value (a bare nn.Parameter)"
    shape_rule: ClassVar[str] = (
        "same as the input; a 3-d map needs dim=0 (channels of CxHxW) or dim=-1 (last of HxWxC)"
    )
    param_rule: ClassVar[str] = "C (the channels of CxHxW with dim=0; the last dimension otherwise)"
    flop_rule: ClassVar[str] = "`--count all`: 1 FLOP per element (the multiply)"
    # The scale is a parameter: its gradient needs the input, which the multiply keeps.
    saved_rule: ClassVar[str] = "its input"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input"),)

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        # A CxHxW and an HxWxC map look alike: on a 3-d map the spec says which axis holds the channels
        # (without it, a permuted 64x8x8 map was scaled along H, with 8 parameters).
        dim = map_dim("layer_scale", args.get("dim"), inputs, (0, -1))
        shape = inputs[0]
        return {"shape": (shape[0], 1, 1) if len(shape) == 3 and dim == 0 else (shape[dim],)}

    def param_count(self) -> int:
        return numel(self.shape)

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return numel(output)

    def label(self) -> str:
        return "layer scale"
