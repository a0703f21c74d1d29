"""Pointwise activations and softmax. None has parameters; each has a stated FLOP rule for `--count all`."""

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from archspec.ops.base import Int, Op, OpError, Saved, Shape, format_shape, numel


class _Pointwise(Op):
    """An op applied to every element; ``per_element`` is its FLOP cost under `--count all`."""

    per_element: ClassVar[int] = 1

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return self.per_element * numel(output)


class ReLU(_Pointwise):
    """``relu``: max(x, 0)."""

    kind: Literal["relu"] = "relu"
    spec_names: ClassVar[tuple[str, ...]] = ("relu",)
    inplace: ClassVar[bool] = True
    summary: ClassVar[str] = "max(x, 0)"
    flop_rule: ClassVar[str] = "`--count all`: 1 FLOP per element"
    saved_rule: ClassVar[str] = "its output (in place: its input's storage, shared with the op before)"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("output", "output"),)


class ReLU6(_Pointwise):
    """``relu6``: min(max(x, 0), 6) (MobileNet)."""

    kind: Literal["relu6"] = "relu6"
    spec_names: ClassVar[tuple[str, ...]] = ("relu6",)
    inplace: ClassVar[bool] = True
    per_element: ClassVar[int] = 2
    summary: ClassVar[str] = "min(max(x, 0), 6)"
    flop_rule: ClassVar[str] = "`--count all`: 2 FLOPs per element"
    # torch's hardtanh keeps its input; in place (hardtanh_) it keeps a copy of the input it overwrites.
    saved_rule: ClassVar[str] = "its input (in place: a copy of it, the input's size)"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input", copied_in_place=True),)


class Tanh(_Pointwise):
    """``tanh``."""

    kind: Literal["tanh"] = "tanh"
    spec_names: ClassVar[tuple[str, ...]] = ("tanh",)
    summary: ClassVar[str] = "hyperbolic tangent"
    flop_rule: ClassVar[str] = "`--count all`: 1 FLOP per element"
    saved_rule: ClassVar[str] = "its output"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("output", "output"),)


class ScaledTanh(_Pointwise):
    """``scaled_tanh``: LeCun's 1.7159 * tanh(2x / 3)."""

    kind: Literal["scaled_tanh"] = "scaled_tanh"
    amplitude: float = 1.7159
    slope: float = 2.0 / 3.0
    spec_names: ClassVar[tuple[str, ...]] = ("scaled_tanh", "lecun_tanh")
    per_element: ClassVar[int] = 3
    summary: ClassVar[str] = "LeCun's 1.7159 * tanh(2x/3)"
    flop_rule: ClassVar[str] = "`--count all`: 3 FLOPs per element"
    saved_rule: ClassVar[str] = "the tanh before scaling (the output's size)"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("new", "tanh", elements=numel(output)),)

    def scratch(self, inputs: Sequence[Shape], output: Shape, itemsize: int, batch: int) -> int:
        return numel(output) * itemsize * batch  # slope * x, then tanh of it, before the scaled output

    def label(self) -> str:
        return "scaled tanh"


class Sigmoid(_Pointwise):
    """``sigmoid``."""

    kind: Literal["sigmoid"] = "sigmoid"
    spec_names: ClassVar[tuple[str, ...]] = ("sigmoid",)
    summary: ClassVar[str] = "logistic sigmoid"
    flop_rule: ClassVar[str] = "`--count all`: 1 FLOP per element"
    saved_rule: ClassVar[str] = "its output"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("output", "output"),)


class GELU(_Pointwise):
    """``gelu(approximate="none")``."""

    kind: Literal["gelu"] = "gelu"
    approximate: Literal["none", "tanh"] = "none"
    spec_names: ClassVar[tuple[str, ...]] = ("gelu",)
    summary: ClassVar[str] = "Gaussian error linear unit"
    flop_rule: ClassVar[str] = "`--count all`: 1 FLOP per element"
    saved_rule: ClassVar[str] = "its input"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input"),)


class SiLU(_Pointwise):
    """``silu``: x * sigmoid(x), the swish of EfficientNet."""

    kind: Literal["silu"] = "silu"
    spec_names: ClassVar[tuple[str, ...]] = ("silu", "swish")
    per_element: ClassVar[int] = 2
    summary: ClassVar[str] = "x * sigmoid(x) (swish)"
    flop_rule: ClassVar[str] = "`--count all`: 2 FLOPs per element (sigmoid, multiply)"
    # Measured: torch's backward recomputes from the input (not built in place here).
    saved_rule: ClassVar[str] = "its input"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input"),)


class Hardswish(_Pointwise):
    """``hardswish``: x * relu6(x + 3) / 6 (MobileNetV3)."""

    kind: Literal["hardswish"] = "hardswish"
    spec_names: ClassVar[tuple[str, ...]] = ("hardswish",)
    per_element: ClassVar[int] = 4
    summary: ClassVar[str] = "x * relu6(x + 3) / 6"
    flop_rule: ClassVar[str] = "`--count all`: 4 FLOPs per element (add, clamp, multiply, divide)"
    # Measured: torch's backward recomputes from the input (not built in place here).
    saved_rule: ClassVar[str] = "its input"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input"),)


class Hardsigmoid(_Pointwise):
    """``hardsigmoid``: relu6(x + 3) / 6 (MobileNetV3's squeeze-and-excitation gate)."""

    kind: Literal["hardsigmoid"] = "hardsigmoid"
    spec_names: ClassVar[tuple[str, ...]] = ("hardsigmoid",)
    per_element: ClassVar[int] = 3
    summary: ClassVar[str] = "relu6(x + 3) / 6"
    flop_rule: ClassVar[str] = "`--count all`: 3 FLOPs per element (add, clamp, divide)"
    # Measured: torch's backward recomputes from the input (not built in place here).
    saved_rule: ClassVar[str] = "its input"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input"),)


class Softmax(_Pointwise):
    """``softmax(dim=-1)``: along an axis of one sample (per-sample numbering: 0 is C of CxHxW, or the
    tokens of an NxD sequence; negative from the end), by default the last."""

    kind: Literal["softmax"] = "softmax"
    dim: Int = -1
    in_shape: tuple[int, ...] = ()
    spec_names: ClassVar[tuple[str, ...]] = ("softmax",)
    inferred: ClassVar[frozenset[str]] = frozenset({"in_shape"})
    per_element: ClassVar[int] = 3
    summary: ClassVar[str] = "softmax along an axis of one sample (by default the last)"
    flop_rule: ClassVar[str] = "`--count all`: 3 FLOPs per element (exp, sum, divide)"
    saved_rule: ClassVar[str] = "its output"

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        return {"in_shape": tuple(inputs[0])}

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("output", "output"),)

    def check(self, inputs: Sequence[Shape]) -> None:
        rank = len(inputs[0])
        if not -rank <= self.dim < rank:
            raise OpError(
                f"softmax: dim {self.dim} is out of range for {format_shape(inputs[0])} "
                f"(a sample's axes are 0 to {rank - 1}, or -{rank} to -1)",
                "dim",
                hint="axes count within one sample: the batch is not one of them",
            )

    def torch_dim(self) -> int:
        """``dim`` counted from the end (``dim - rank``): the same torch dim with or without a batch
        axis in front, so that one realisation serves activations and tensors made from parameters."""
        return self.dim - len(self.in_shape) if self.dim >= 0 else self.dim

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        return ((0, self.dim % len(inputs[0])),)  # each output is divided by the sum along dim


class Identity(Op):
    """``identity``: passes its input through."""

    kind: Literal["identity"] = "identity"
    spec_names: ClassVar[tuple[str, ...]] = ("identity",)
    summary: ClassVar[str] = "passes the input through"
    flop_rule: ClassVar[str] = "0 FLOPs (no computation)"
    saved_rule: ClassVar[str] = "nothing (its output is its input)"
    view: ClassVar[bool] = True
