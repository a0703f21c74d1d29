"""``rearrange("pattern", **sizes)``: einops' pattern notation on one sample, and ``roll``.

The pattern is read by einops' own parser (``einops.parsing``, which imports no tensor library; imported
when a rearrange is made, so that analysing a network without one does not load it) and checked here
against the input's shape, so that a mistake is a positioned spec error and the output shape is exact
before torch runs. The pattern describes one sample: the realisations prepend ``...`` to both sides, so
that the same call serves a batched activation and a tensor computed from parameters alone.
"""

import math
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from archspec.errors import spec_repr
from archspec.ops.base import AxisSources, Int, Op, OpError, RFEffect, Shape, format_shape
from archspec.ops.elementwise import check_dim, negative_dim

_EXAMPLE = 'e.g. rearrange("(h w) c -> c h w", h=7)'
Groups = list[list[str]]


def _side(text: str, pattern: str) -> Groups:
    """One side of a pattern as its groups of axis names (``[]`` for ``()`` and ``1``), read by einops."""
    from einops import EinopsError
    from einops.parsing import ParsedExpression

    try:
        with warnings.catch_warnings():  # einops warns about names such as `axis`; a spec may use them
            warnings.simplefilter("ignore")
            parsed = ParsedExpression(text)
    except EinopsError as error:
        raise OpError(
            f"rearrange: cannot read the pattern {spec_repr(pattern)}: {error}", "pattern"
        ) from None
    if parsed.has_ellipsis:
        raise OpError(
            f"rearrange: the pattern {spec_repr(pattern)} uses '...'",
            "pattern",
            hint="the pattern names every axis of one sample; the batch axis is added by archspec",
        )
    if parsed.has_non_unitary_anonymous_axes:
        raise OpError(
            f"rearrange: the pattern {spec_repr(pattern)} writes a size as an axis; only 1 may be written",
            "pattern",
            hint='name the axis and give its size: rearrange("(h p) w -> h p w", p=2)',
        )
    return [[str(axis) for axis in group] for group in parsed.composition if isinstance(group, list)]


def _group_text(group: list[str]) -> str:
    return group[0] if len(group) == 1 else f"({' '.join(group)})"


class Rearrange(Op):
    """``rearrange("(h w) c -> c h w", h=7)``: einops.rearrange on one sample (axes permuted, split
    and joined; sizes given by keyword, each group's last unknown one inferred)."""

    kind: Literal["rearrange"] = "rearrange"
    pattern: str
    # The sizes given by keyword, in the order written (a spec's other keywords name pattern axes).
    sizes: tuple[tuple[str, int], ...] = ()
    in_shape: tuple[int, ...] = ()

    spec_names: ClassVar[tuple[str, ...]] = ("rearrange",)
    keeps_dtype: ClassVar[bool] = True  # moves elements, computes none
    inferred: ClassVar[frozenset[str]] = frozenset({"sizes", "in_shape"})
    open_keywords: ClassVar[bool] = True
    family: ClassVar[str] = "reshape"
    summary: ClassVar[str] = (
        "einops pattern on one sample: axes permuted, split and joined (heads, windows, patches, tokens)"
    )
    shape_rule: ClassVar[str] = (
        "the left side names each axis of one sample (batch excluded), a group in brackets splitting "
        "one axis; sizes by keyword, one unknown per group inferred (it must divide exactly); the output "
        "is the right side's groups, each the product of its axes"
    )
    flop_rule: ClassVar[str] = "0 FLOPs (a view, or a copy when joined axes are not adjacent in memory)"
    saved_rule: ClassVar[str] = "nothing (a reshape and a permute: the backward needs only the shapes)"

    @classmethod
    def create(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> Op:
        """The op from its pattern and the axis sizes a spec gives by keyword."""
        own = {name: value for name, value in args.items() if name in cls.spec_arguments()}
        sizes = []
        for name, value in args.items():
            if name in own:
                continue
            if name == "tensor":  # einops.rearrange's own first parameter
                raise OpError("rearrange: an axis may not be called 'tensor' (einops' own argument)", name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise OpError(
                    f"rearrange: the size of axis '{name}' must be a positive integer, "
                    f"got {spec_repr(value)}",
                    name,
                )
            sizes.append((name, value))
        return super().create({**own, "sizes": tuple(sizes)}, inputs)

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        return {"in_shape": tuple(inputs[0])}

    def sides(self) -> tuple[Groups, Groups]:
        """The pattern's two sides, as groups of axis names."""
        left, arrow, right = self.pattern.partition("->")
        if not arrow or "->" in right:
            raise OpError(
                f"rearrange: the pattern {spec_repr(self.pattern)} needs one '->' between its two sides",
                "pattern",
                hint=_EXAMPLE,
            )
        return _side(left, self.pattern), _side(right, self.pattern)

    def check(self, inputs: Sequence[Shape]) -> None:
        left, right = self.sides()
        names = {axis for group in left for axis in group}
        only = sorted(names ^ {axis for group in right for axis in group})
        if only:
            raise OpError(
                f"rearrange: axis {', '.join(only)} is on one side of {spec_repr(self.pattern)} only",
                "pattern",
                hint="rearrange moves axes: each axis appears on both sides",
            )
        shape = inputs[0]
        if len(left) != len(shape):
            raise OpError(
                f"rearrange: the left side of {spec_repr(self.pattern)} has {len(left)} "
                f"ax{'i' if len(left) == 1 else 'e'}s, the input {format_shape(shape)} {len(shape)}",
                "pattern",
                hint="the pattern describes one sample (batch excluded): one axis or group per input axis",
            )
        for name, _ in self.sizes:
            if name not in names:
                raise OpError(f"rearrange: {name}= names no axis of {spec_repr(self.pattern)}", name)
        self.axis_sizes()

    def axis_sizes(self) -> dict[str, int]:
        """Every axis of the pattern with its size: given, or inferred from the input's shape."""
        given = dict(self.sizes)
        known: dict[str, int] = {}
        for group, size in zip(self.sides()[0], self.in_shape, strict=True):
            unknown = [axis for axis in group if axis not in given]
            product = math.prod(given[axis] for axis in group if axis in given)
            where = _group_text(group) if group else "()"
            first = next((axis for axis in group if axis in given), "pattern")
            if len(unknown) > 1:
                raise OpError(
                    f"rearrange: cannot infer the sizes of {' and '.join(unknown)} from axis {where} "
                    f"(size {size})",
                    "pattern",
                    hint=f"give all but one by keyword: rearrange(..., {unknown[0]}=...)",
                )
            if unknown and size % product:
                givens = " * ".join(f"{axis}={given[axis]}" for axis in group if axis in given)
                raise OpError(
                    f"rearrange: axis {where} has size {size}, which {givens} does not divide", first
                )
            if not unknown and size != product:
                values = " * ".join(str(given[axis]) for axis in group)
                expected = f"{' * '.join(group)} = {values} = {product}" if len(group) > 1 else str(product)
                raise OpError(f"rearrange: axis {where} has size {size}, not {expected}", first)
            known.update({axis: given[axis] for axis in group if axis in given})
            known.update({axis: size // product for axis in unknown})
        return known

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        sizes = self.axis_sizes()
        return tuple(math.prod(sizes[axis] for axis in group) for group in self.sides()[1])

    def _wide(self) -> tuple[Groups, Groups]:
        """Both sides without their axes of size 1 (and without the groups left empty)."""
        sizes = self.axis_sizes()
        return tuple(  # type: ignore[return-value]
            [g for g in ([axis for axis in group if sizes[axis] > 1] for group in side) if g]
            for side in self.sides()
        )

    def receptive_field(self) -> RFEffect:
        # A rearrange moves positions only along the axes it splits, joins or regroups (``mixed_axes``);
        # the field pass decides from what those hold: image positions (windows, patches, tokens, H and W
        # flattened) make the field global, as flatten of a map does; features (ShuffleNet's channel
        # shuffle "(g c) h w -> (c g) h w", heads split off the channels) move no position.
        return None

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        # The input axes not carried whole to one output axis: a permutation of whole axes (units added
        # or dropped) mixes none, as permute.
        sizes = self.axis_sizes()
        left, right = self.sides()
        kept = [[a for a in group if sizes[a] > 1] for group in right]
        mixed = []
        for axis, group in enumerate(left):
            wide = [a for a in group if sizes[a] > 1]
            if wide and wide not in kept:
                mixed.append((0, axis))
        return tuple(mixed)

    def axis_sources(self, inputs: Sequence[Shape], output: Shape) -> AxisSources:
        # Each output group carries the input axes its names come from (an axis written `1` none).
        left, right = self.sides()
        where = {axis: index for index, group in enumerate(left) for axis in group}
        return tuple(tuple((0, index) for index in sorted({where[a] for a in group})) for group in right)

    def is_view(self, training: bool) -> bool:
        # einops reshapes to the elementary axes, permutes, and reshapes to the output's groups: a view
        # unless an output group joins axes that are not adjacent, in order, in memory.
        left, right = self._wide()
        order = [axis for group in left for axis in group]
        for group in right:
            at = [order.index(axis) for axis in group]
            if at != list(range(at[0], at[0] + len(at))):
                return False
        return True

    def torch_pattern(self) -> str:
        """The pattern the realisations pass to einops: ``...`` before each side (batched or not)."""
        left, _, right = self.pattern.partition("->")
        return f"... {' '.join(left.split())} -> ... {' '.join(right.split())}"

    def describe(self) -> str:
        sizes = "".join(f", {name}={value}" for name, value in self.sizes)
        return f"rearrange({spec_repr(self.pattern)}{sizes})"

    def label(self) -> str:
        return " ".join(self.pattern.split())


class Roll(Op):
    """``roll(shifts, dims)``: torch.roll on one sample, each axis ``dims[i]`` rotated by ``shifts[i]``
    (Swin's cyclic shift, ``roll([-3, -3], [0, 1])`` on an HxWxC map)."""

    kind: Literal["roll"] = "roll"
    shifts: tuple[Int, ...]
    dims: tuple[Int, ...]
    in_shape: tuple[int, ...] = ()

    spec_names: ClassVar[tuple[str, ...]] = ("roll",)
    keeps_dtype: ClassVar[bool] = True  # moves elements, computes none
    inferred: ClassVar[frozenset[str]] = frozenset({"in_shape"})
    family: ClassVar[str] = "reshape"
    summary: ClassVar[str] = (
        "each axis in dims rotated by its shift, elements leaving one end re-entering at the other"
    )
    flop_rule: ClassVar[str] = "0 FLOPs (a copy)"
    saved_rule: ClassVar[str] = "nothing (the backward rolls back)"

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        return {"in_shape": tuple(inputs[0])}

    def check(self, inputs: Sequence[Shape]) -> None:
        if len(self.shifts) != len(self.dims) or not self.dims:
            raise OpError(
                f"roll: {len(self.shifts)} shifts for {len(self.dims)} dims",
                "dims",
                hint="one shift per axis, e.g. roll([-3, -3], [0, 1])",
            )
        seen: set[int] = set()
        for dim in self.dims:
            check_dim("roll", dim, inputs[0], "dims")
            if dim % len(inputs[0]) in seen:
                raise OpError(f"roll: dim {dim} names an axis twice in {list(self.dims)}", "dims")
            seen.add(dim % len(inputs[0]))

    def torch_dims(self) -> tuple[int, ...]:
        """``dims`` counted from the end (the realisations' torch dims)."""
        return tuple(negative_dim(dim, len(self.in_shape)) for dim in self.dims)

    def receptive_field(self) -> RFEffect:
        # Each output element is one input element: the field keeps its size and stride. Its place moves
        # by the shift (cyclically), which a field's size, stride and padding do not record.
        return None

    def label(self) -> str:
        return f"roll {list(self.shifts)} along {list(self.dims)}"
