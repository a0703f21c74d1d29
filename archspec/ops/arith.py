"""Tensor arithmetic written in a spec: subtraction, the mean of branches, scaling, negation, and the
mean and sum over chosen axes of one sample.

Counting convention: torchvision and ``torch.utils.flop_counter`` count no elementwise op and no
reduction, so these ops have 0 MACs; under ``--count all`` each counts one FLOP per arithmetic operation
on an element (a subtraction, a multiply, an add of a reduction), as ``add`` and ``mul`` do.
"""

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator

from archspec.ops.base import AxisSources, Int, Op, OpError, Saved, Shape, format_shape, numel
from archspec.ops.structure import _Elementwise


class Sub(_Elementwise):
    """``sub from a, b``: ``a - b``, with torch's broadcasting (``pool(x) - x``)."""

    kind: Literal["sub"] = "sub"
    spec_names: ClassVar[tuple[str, ...]] = ("sub",)
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = 2
    family: ClassVar[str] = "merge"
    summary: ClassVar[str] = "elementwise difference of two inputs, the first minus the second (broadcasting)"
    shape_rule: ClassVar[str] = (
        "two inputs whose sizes, aligned from the last axis, agree or are 1 (torch broadcasting), to the "
        "broadcast shape"
    )
    flop_rule: ClassVar[str] = "0 MACs; `--count all`: 1 FLOP per output element"
    saved_rule: ClassVar[str] = "nothing (the gradients are 1 and -1)"

    def label(self) -> str:
        return "subtract"


class Div(_Elementwise):
    """``div from a, b``: ``a / b``, with torch's broadcasting (a norm dividing its map)."""

    kind: Literal["div"] = "div"
    spec_names: ClassVar[tuple[str, ...]] = ("div",)
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = 2
    family: ClassVar[str] = "merge"
    summary: ClassVar[str] = (
        "elementwise quotient of two inputs, the first divided by the second (broadcasting)"
    )
    shape_rule: ClassVar[str] = (
        "two inputs whose sizes, aligned from the last axis, agree or are 1 (torch broadcasting), to the "
        "broadcast shape"
    )
    flop_rule: ClassVar[str] = "0 MACs; `--count all`: 1 FLOP per output element"
    # The gradient of a / b is 1 / b for a and -a / b^2 for b: torch keeps both inputs (measured).
    saved_rule: ClassVar[str] = "both inputs"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "dividend", index=0), Saved("input", "divisor", index=1))

    def label(self) -> str:
        return "divide"


class Average(_Elementwise):
    """``average from a, b, ...``: the elementwise mean of two or more inputs, ``(a + b) / 2``."""

    kind: Literal["average"] = "average"
    spec_names: ClassVar[tuple[str, ...]] = ("average",)
    family: ClassVar[str] = "merge"
    summary: ClassVar[str] = "elementwise mean of two or more inputs (broadcasting)"
    flop_rule: ClassVar[str] = (
        "0 MACs; `--count all`: inputs FLOPs per output element ((inputs - 1) adds and a divide)"
    )
    saved_rule: ClassVar[str] = "nothing (the divisor is a number)"

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return len(inputs) * numel(output)

    def scratch(self, inputs: Sequence[Shape], output: Shape, itemsize: int, batch: int) -> int:
        return numel(output) * itemsize * batch  # the sum, live while it is divided


class Scale(Op):
    """``scale(factor)``: every element times a constant (``x * factor``)."""

    kind: Literal["scale"] = "scale"
    factor: float
    spec_names: ClassVar[tuple[str, ...]] = ("scale",)
    summary: ClassVar[str] = "every element times a constant number"
    flop_rule: ClassVar[str] = "0 MACs; `--count all`: 1 FLOP per element"
    saved_rule: ClassVar[str] = "nothing (the factor is a number)"

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return numel(output)

    def label(self) -> str:
        return f"× {self.factor:g}"


class Neg(Op):
    """``neg``: every element negated (``-x``)."""

    kind: Literal["neg"] = "neg"
    spec_names: ClassVar[tuple[str, ...]] = ("neg",)
    summary: ClassVar[str] = "every element negated"
    flop_rule: ClassVar[str] = "0 MACs; `--count all`: 1 FLOP per element"

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return numel(output)

    def label(self) -> str:
        return "negate"


def _axes(value: Any) -> Any:
    # `mean(1)` and `mean([1, 2])` both name axes.
    return (value,) if isinstance(value, int | float) and not isinstance(value, bool) else value


Axes = Annotated[tuple[Int, ...], BeforeValidator(_axes)]


class _Reduce(Op):
    """A reduction over the axes ``dim`` of one sample (per-sample numbering: 0 is C of CxHxW, or the
    tokens of an NxD sequence), keeping them as size 1 with ``keepdim``."""

    dim: Axes
    keepdim: bool = False
    in_shape: tuple[int, ...]

    inferred: ClassVar[frozenset[str]] = frozenset({"in_shape"})
    family: ClassVar[str] = "pool"
    shape_rule: ClassVar[str] = (
        "the input without the axes in dim (per-sample numbering, negative from the end), or with them "
        "as size 1 when keepdim"
    )
    saved_rule: ClassVar[str] = "nothing (the gradient is spread back by the input's size)"

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        return {"in_shape": tuple(inputs[0])}

    def check(self, inputs: Sequence[Shape]) -> None:
        name, shape, rank = self.spec_names[0], inputs[0], len(inputs[0])
        if not self.dim:
            raise OpError(f"{name}: dim names no axis", "dim", hint=f"e.g. {name}(0) or {name}([1, 2])")
        seen: set[int] = set()
        for axis in self.dim:
            if not -rank <= axis < rank:
                raise OpError(
                    f"{name}: dim {axis} is out of range for {format_shape(shape)} "
                    f"(a sample's axes are 0 to {rank - 1}, or -{rank} to -1)",
                    "dim",
                    hint="axes count within one sample: the batch is not one of them",
                )
            if axis % rank in seen:
                raise OpError(f"{name}: dim {axis} names an axis twice in {list(self.dim)}", "dim")
            seen.add(axis % rank)

    def axes(self) -> tuple[int, ...]:
        """The reduced axes, non-negative and sorted."""
        return tuple(sorted({axis % len(self.in_shape) for axis in self.dim}))

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        axes = self.axes()
        if self.keepdim:
            return tuple(1 if i in axes else size for i, size in enumerate(inputs[0]))
        return tuple(size for i, size in enumerate(inputs[0]) if i not in axes)

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        # Each output sees its reduced axes whole: a map's H (a whole column), the tokens (every position).
        return tuple((0, axis) for axis in self.axes())

    def axis_sources(self, inputs: Sequence[Shape], output: Shape) -> AxisSources:
        gone = () if self.keepdim else self.axes()
        return tuple(((0, axis),) for axis in range(len(inputs[0])) if axis not in gone)

    def label(self) -> str:
        return f"{self.spec_names[0]} over {', '.join(str(a) for a in self.axes())}"


class Mean(_Reduce):
    """``mean(dim, keepdim=false)``: the mean over the axes ``dim`` (``torch.mean``)."""

    kind: Literal["mean"] = "mean"
    spec_names: ClassVar[tuple[str, ...]] = ("mean",)
    summary: ClassVar[str] = "mean over axes of one sample (the tokens of a sequence, the map's H and W)"
    flop_rule: ClassVar[str] = (
        "0 MACs; `--count all`: 1 FLOP per input element (the adds, and one divide per output element)"
    )

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return numel(inputs[0])


class Sum(_Reduce):
    """``sum(dim, keepdim=false)``: the sum over the axes ``dim`` (``torch.sum``)."""

    kind: Literal["sum"] = "sum"
    spec_names: ClassVar[tuple[str, ...]] = ("sum",)
    summary: ClassVar[str] = "sum over axes of one sample"
    flop_rule: ClassVar[str] = "0 MACs; `--count all`: input elements - output elements FLOPs (the adds)"

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return numel(inputs[0]) - numel(output)
