"""Elementwise functions of one tensor written in a spec: ``exp``, ``log``, ``sqrt``, ``abs``,
``clamp(min=, max=)``, ``shift(c)`` (``x + c``) and ``normalize(dim=-1)`` (``F.normalize``, p = 2).

Counting convention, as in ``archspec.ops.arith``: ``torch.utils.flop_counter`` counts none of them, so
they have 0 MACs; under ``--count all`` each counts the arithmetic operations per element it states. What
each keeps for backward is what torch's autograd formulas keep (``derivatives.yaml``), measured in
tests/test_elementwise.py: ``exp`` and ``sqrt`` their output, ``log``, ``abs`` and ``clamp`` their input.
"""

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field

from archspec.ops.activation import _Pointwise
from archspec.ops.base import Int, Op, OpError, Saved, Shape, format_shape, numel


def check_dim(name: str, dim: int, shape: Shape, argument: str = "dim") -> None:
    """An OpError (on ``argument``) unless ``dim`` is an axis of one sample of ``shape`` (negative from
    the end)."""
    rank = len(shape)
    if not -rank <= dim < rank:
        raise OpError(
            f"{name}: dim {dim} is out of range for {format_shape(shape)} "
            f"(a sample's axes are 0 to {rank - 1}, or -{rank} to -1)",
            argument,
            hint="axes count within one sample: the batch is not one of them",
        )


def negative_dim(dim: int, rank: int) -> int:
    """A per-sample axis counted from the end (``dim - rank``): the same torch dim with or without a
    batch axis in front, so that one realisation serves activations and tensors made from parameters."""
    return dim - rank if dim >= 0 else dim


class Exp(_Pointwise):
    """``exp``: e to the power of every element."""

    kind: Literal["exp"] = "exp"
    spec_names: ClassVar[tuple[str, ...]] = ("exp",)
    summary: ClassVar[str] = "e to the power of every element (torch.exp)"
    flop_rule: ClassVar[str] = "0 MACs; `--count all`: 1 FLOP per element"
    saved_rule: ClassVar[str] = "its output (the derivative of exp is exp)"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("output", "output"),)


class Log(_Pointwise):
    """``log``: the natural logarithm of every element."""

    kind: Literal["log"] = "log"
    spec_names: ClassVar[tuple[str, ...]] = ("log",)
    summary: ClassVar[str] = "natural logarithm of every element (torch.log)"
    flop_rule: ClassVar[str] = "0 MACs; `--count all`: 1 FLOP per element"
    saved_rule: ClassVar[str] = "its input (the gradient is 1 / x)"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input"),)


class Sqrt(_Pointwise):
    """``sqrt``: the square root of every element."""

    kind: Literal["sqrt"] = "sqrt"
    spec_names: ClassVar[tuple[str, ...]] = ("sqrt",)
    summary: ClassVar[str] = "square root of every element (torch.sqrt)"
    flop_rule: ClassVar[str] = "0 MACs; `--count all`: 1 FLOP per element"
    saved_rule: ClassVar[str] = "its output (the gradient is 1 / (2 sqrt(x)))"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("output", "output"),)


class Abs(_Pointwise):
    """``abs``: the absolute value of every element."""

    kind: Literal["abs"] = "abs"
    spec_names: ClassVar[tuple[str, ...]] = ("abs",)
    summary: ClassVar[str] = "absolute value of every element (torch.abs)"
    flop_rule: ClassVar[str] = "0 MACs; `--count all`: 1 FLOP per element"
    saved_rule: ClassVar[str] = "its input (the gradient is its sign)"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input"),)


class Clamp(Op):
    """``clamp(min=none, max=none)``: every element limited to ``[min, max]`` (torch.clamp); Swin V2
    clamps its learned logit scale at log 100 (``clamp(max=4.6052)``)."""

    kind: Literal["clamp"] = "clamp"
    min: float | None = None
    max: float | None = None
    spec_names: ClassVar[tuple[str, ...]] = ("clamp",)
    summary: ClassVar[str] = "every element limited to [min, max] (torch.clamp; either bound may be left out)"
    flop_rule: ClassVar[str] = "0 MACs; `--count all`: 1 FLOP per element and bound (a compare)"
    saved_rule: ClassVar[str] = "its input (the gradient is 1 inside the bounds, 0 outside)"

    def check(self, inputs: Sequence[Shape]) -> None:
        if self.min is None and self.max is None:
            raise OpError("clamp needs min, max or both", hint="e.g. clamp(min=0) or clamp(max=4.6052)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise OpError(f"clamp: min {self.min:g} is greater than max {self.max:g}", "min")

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return ((self.min is not None) + (self.max is not None)) * numel(output)

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input"),)

    def label(self) -> str:
        low = "" if self.min is None else f"{self.min:g}"
        high = "" if self.max is None else f"{self.max:g}"
        return f"clamp [{low}, {high}]"


class Shift(Op):
    """``shift(c)``: a constant added to every element (``x + c``), as ``scale(f)`` multiplies."""

    kind: Literal["shift"] = "shift"
    amount: float
    spec_names: ClassVar[tuple[str, ...]] = ("shift",)
    summary: ClassVar[str] = "a constant number added to every element"
    flop_rule: ClassVar[str] = "0 MACs; `--count all`: 1 FLOP per element"
    saved_rule: ClassVar[str] = "nothing (the gradient is 1)"

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return numel(output)

    def label(self) -> str:
        return f"+ {self.amount:g}" if self.amount >= 0 else f"− {-self.amount:g}"


class Normalize(Op):
    """``normalize(dim=-1, eps=1e-12)``: every vector along ``dim`` divided by its Euclidean norm
    (``F.normalize(x, p=2, dim, eps)``: the norm is clamped at ``eps`` from below); cosine attention
    normalises its queries and keys."""

    kind: Literal["normalize"] = "normalize"
    dim: Int = -1
    eps: float = Field(default=1e-12, gt=0)
    in_shape: tuple[int, ...] = ()

    spec_names: ClassVar[tuple[str, ...]] = ("normalize",)
    inferred: ClassVar[frozenset[str]] = frozenset({"in_shape"})
    summary: ClassVar[str] = "each vector along dim divided by its L2 norm (F.normalize, p=2)"
    flop_rule: ClassVar[str] = (
        "0 MACs; `--count all`: 3 FLOPs per element (square, add, divide) and 2 per vector (the square "
        "root and the clamp at eps)"
    )
    # F.normalize is x / x.norm(2, dim, keepdim=True).clamp_min(eps).expand_as(x): the norm keeps x and
    # its result, clamp_min its input (that same result), the division x and the clamped norm.
    saved_rule: ClassVar[str] = (
        "its input, the norms and the clamped norms (one element per vector along dim each)"
    )

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        return {"in_shape": tuple(inputs[0])}

    def check(self, inputs: Sequence[Shape]) -> None:
        check_dim("normalize", self.dim, inputs[0])

    def vectors(self, shape: Shape) -> int:
        """How many vectors along ``dim`` one sample holds."""
        return numel(shape) // shape[self.dim]

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return 3 * numel(output) + 2 * self.vectors(inputs[0])

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        vectors = self.vectors(inputs[0])
        return (
            Saved("input", "input"),
            Saved("new", "norms", elements=vectors),
            Saved("new", "clamped norms", elements=vectors),
        )

    def scratch(self, inputs: Sequence[Shape], output: Shape, itemsize: int, batch: int) -> int:
        # Measured: the clamped norms are live while the input is divided by them.
        return self.vectors(inputs[0]) * itemsize * batch

    def torch_dim(self) -> int:
        """``dim`` counted from the end (the realisations' torch dim)."""
        return negative_dim(self.dim, len(self.in_shape))

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        return ((0, self.dim % len(inputs[0])),)  # each output is divided by the norm along dim

    def label(self) -> str:
        return f"L2 normalise, dim {self.dim}"
