"""Ops that move data rather than compute: input, flatten, dropout, pad, and the merges concat and add."""

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator

from archspec.errors import spec_repr
from archspec.ops.base import (
    AxisSources,
    Int,
    NonNegInt,
    Op,
    OpError,
    PosInt,
    Probability,
    RFEffect,
    RFStep,
    Saved,
    Shape,
    format_shape,
    number_text,
    numel,
)


class Input(Op):
    """The network's input (one sample; the batch dimension is implicit)."""

    kind: Literal["input"] = "input"
    shape: tuple[int, ...]
    spec_names: ClassVar[tuple[str, ...]] = ("input",)
    family: ClassVar[str] = "input"
    called_by_specs: ClassVar[bool] = False
    min_inputs: ClassVar[int] = 0
    max_inputs: ClassVar[int | None] = 0
    summary: ClassVar[str] = "the network input"
    shape_rule: ClassVar[str] = "the network's `input:` shape"

    def describe(self) -> str:
        return "input"

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return self.shape


class Flatten(Op):
    """``flatten``: one sample to a vector (torch.flatten(x, 1))."""

    kind: Literal["flatten"] = "flatten"
    spec_names: ClassVar[tuple[str, ...]] = ("flatten",)
    keeps_dtype: ClassVar[bool] = True  # moves elements, computes none
    family: ClassVar[str] = "reshape"
    summary: ClassVar[str] = "flattens a sample to a vector"
    shape_rule: ClassVar[str] = "any shape to a vector of all its elements"
    flop_rule: ClassVar[str] = "0 FLOPs (a view)"
    saved_rule: ClassVar[str] = "nothing (a view of its input)"
    view: ClassVar[bool] = True
    global_only_when_mixing: ClassVar[bool] = True

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return (numel(inputs[0]),)

    def receptive_field(self) -> RFEffect:
        # A flattened vector mixes every position in the next layer; spatially 1x1 inputs stay put.
        return "global"

    def axis_sources(self, inputs: Sequence[Shape], output: Shape) -> AxisSources:
        return (tuple((0, axis) for axis in range(len(inputs[0]))),)


class Dropout(Op):
    """``dropout(p=0.5)``: identity at inference."""

    kind: Literal["dropout"] = "dropout"
    p: Probability = 0.5
    spec_names: ClassVar[tuple[str, ...]] = ("dropout",)
    family: ClassVar[str] = "reshape"
    summary: ClassVar[str] = "dropout (identity at inference)"
    flop_rule: ClassVar[str] = "0 FLOPs (identity at inference)"
    # On the CPU torch draws the mask as a tensor of the input's dtype (scaled by 1 / (1 - p)).
    saved_rule: ClassVar[str] = "its mask, the input's size and dtype (nothing when p = 0)"

    def is_view(self, training: bool) -> bool:
        return not training or self.p == 0

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return () if self.p == 0 else (Saved("new", "mask", elements=numel(output)),)

    def label(self) -> str:
        return f"dropout {number_text(self.p)}"


class StochasticDepth(Op):
    """``stochastic_depth(p, mode="row")``: drops a residual branch in training (torchvision.ops)."""

    kind: Literal["stochastic_depth"] = "stochastic_depth"
    p: Probability
    mode: Literal["row", "batch"] = "row"
    spec_names: ClassVar[tuple[str, ...]] = ("stochastic_depth",)
    family: ClassVar[str] = "reshape"
    rate_fields: ClassVar[tuple[str, ...]] = ("p",)  # torchvision raises it block by block
    summary: ClassVar[str] = (
        "stochastic depth: in training zeroes each sample's branch (row) or the batch's (batch) with "
        "probability p, scaling the rest by 1/(1-p); identity at inference"
    )
    flop_rule: ClassVar[str] = "0 FLOPs (identity at inference)"
    # torchvision multiplies the input by a noise tensor that does not need a gradient: mul keeps the noise
    # (one element per sample in row mode, one for the batch in batch mode); at inference it returns x.
    saved_rule: ClassVar[str] = (
        "its noise (one element per sample in row mode, one in all in batch mode); a view at inference"
    )

    def is_view(self, training: bool) -> bool:
        return not training or self.p == 0

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        if self.p == 0:
            return ()
        return (Saved("new", "noise", elements=1, per_sample=self.mode == "row"),)

    def label(self) -> str:
        return f"stochastic depth {number_text(self.p)}"


class Permute(Op):
    """``permute(dims)``: reorders the dimensions of one sample (``[1, 2, 0]``: CxHxW to HxWxC)."""

    kind: Literal["permute"] = "permute"
    dims: tuple[Int, ...]
    spec_names: ClassVar[tuple[str, ...]] = ("permute",)
    keeps_dtype: ClassVar[bool] = True  # moves elements, computes none
    family: ClassVar[str] = "reshape"
    summary: ClassVar[str] = "reorders a sample's dimensions ([1, 2, 0]: CxHxW to channels-last HxWxC)"
    shape_rule: ClassVar[str] = "the input's sizes in the order dims gives"
    flop_rule: ClassVar[str] = "0 FLOPs (a view)"
    saved_rule: ClassVar[str] = "nothing (a view: whoever saves it keeps its input's whole storage)"
    view: ClassVar[bool] = True

    def check(self, inputs: Sequence[Shape]) -> None:
        if sorted(self.dims) != list(range(len(inputs[0]))):
            raise OpError(
                f"permute: dims {list(self.dims)} is not an order of the {len(inputs[0])} dimensions of "
                f"{format_shape(inputs[0])}",
                argument="dims",
                hint=f"a list of 0 to {len(inputs[0]) - 1}, each once",
            )

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return tuple(inputs[0][d] for d in self.dims)

    def axis_sources(self, inputs: Sequence[Shape], output: Shape) -> AxisSources:
        return tuple(((0, d),) for d in self.dims)

    def label(self) -> str:
        return f"permute {list(self.dims)}"


def _channel_dim(op_name: str, dim: int, shape: Shape) -> int:
    if not -len(shape) <= dim < len(shape):
        raise OpError(f"{op_name}: dim {dim} is out of range for {format_shape(shape)}", argument="dim")
    return dim % len(shape)


class Chunk(Op):
    """``chunk(chunks, index, dim=0)``: part ``index`` of ``torch.chunk(x, chunks)`` along the channels.

    Each part is its own layer, so that every part can be named and referenced: ShuffleNet's
    ``x1, x2 = x.chunk(2, dim=1)`` is ``x1: chunk(2, 0)`` and ``x2: chunk(2, 1) from input``.
    """

    kind: Literal["chunk"] = "chunk"
    chunks: PosInt
    index: NonNegInt
    dim: Int = 0
    spec_names: ClassVar[tuple[str, ...]] = ("chunk",)
    keeps_dtype: ClassVar[bool] = True  # moves elements, computes none
    family: ClassVar[str] = "reshape"
    summary: ClassVar[str] = "one of `chunks` parts along the channels (torch.chunk)"
    shape_rule: ClassVar[str] = (
        "parts of ceil(C / chunks) channels, the last one what remains (torch.chunk); index counts from 0"
    )
    flop_rule: ClassVar[str] = "0 FLOPs (a view)"
    saved_rule: ClassVar[str] = "nothing (a view: whoever saves it keeps its input's whole storage)"
    view: ClassVar[bool] = True

    def sizes(self, size: int) -> list[int]:
        """torch.chunk's part sizes along a dimension of ``size``."""
        step = -(-size // self.chunks)
        return [min(step, size - start) for start in range(0, size, step)]

    def check(self, inputs: Sequence[Shape]) -> None:
        dim = _channel_dim("chunk", self.dim, inputs[0])
        parts = self.sizes(inputs[0][dim])
        if self.index >= len(parts):
            raise OpError(
                f"chunk: part {self.index} does not exist: {inputs[0][dim]} channels in {self.chunks} chunks "
                f"make {len(parts)} parts ({', '.join(map(str, parts))})",
                argument="index",
            )

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        dim = self.dim % len(inputs[0])
        shape = list(inputs[0])
        shape[dim] = self.sizes(shape[dim])[self.index]
        return tuple(shape)

    def label(self) -> str:
        return f"chunk {self.index + 1} of {self.chunks}"


class Split(Op):
    """``split(sizes, index, dim=0)``: part ``index`` of ``torch.split(x, sizes)`` along the channels."""

    kind: Literal["split"] = "split"
    sizes: tuple[PosInt, ...]
    index: NonNegInt
    dim: Int = 0
    spec_names: ClassVar[tuple[str, ...]] = ("split",)
    keeps_dtype: ClassVar[bool] = True  # moves elements, computes none
    family: ClassVar[str] = "reshape"
    summary: ClassVar[str] = "one part of a split along the channels into the given sizes (torch.split)"
    shape_rule: ClassVar[str] = "sizes[index] channels; the sizes must add up to the input's channels"
    flop_rule: ClassVar[str] = "0 FLOPs (a view)"
    saved_rule: ClassVar[str] = "nothing (a view: whoever saves it keeps its input's whole storage)"
    view: ClassVar[bool] = True

    def check(self, inputs: Sequence[Shape]) -> None:
        dim = _channel_dim("split", self.dim, inputs[0])
        if sum(self.sizes) != inputs[0][dim]:
            # dim 0 is a map's channels; another dimension is named by its number, not as channels
            size = f"{inputs[0][dim]} channels" if dim == 0 else f"size {inputs[0][dim]} of dimension {dim}"
            raise OpError(
                f"split: sizes {list(self.sizes)} add up to {sum(self.sizes)}, not the {size} "
                f"of {format_shape(inputs[0])}",
                argument="sizes",
            )
        if self.index >= len(self.sizes):
            raise OpError(f"split: index {self.index} is out of range for {len(self.sizes)} parts", "index")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        dim = self.dim % len(inputs[0])
        shape = list(inputs[0])
        shape[dim] = self.sizes[self.index]
        return tuple(shape)

    def label(self) -> str:
        return f"split {list(self.sizes)}, part {self.index + 1}"


class ChannelShuffle(Op):
    """``channel_shuffle(groups)``: ShuffleNet's channel shuffle (C = g * n channels read as g x n, then
    transposed)."""

    kind: Literal["channel_shuffle"] = "channel_shuffle"
    groups: PosInt
    spec_names: ClassVar[tuple[str, ...]] = ("channel_shuffle",)
    saved_rule: ClassVar[str] = "nothing (a copy)"
    family: ClassVar[str] = "reshape"
    summary: ClassVar[str] = "ShuffleNet's channel shuffle: channels as groups x n, transposed"
    shape_rule: ClassVar[str] = "same as the input (CxHxW, C divisible by groups)"
    flop_rule: ClassVar[str] = "0 FLOPs (a copy)"

    def check(self, inputs: Sequence[Shape]) -> None:
        shape = inputs[0]
        if len(shape) != 3 or shape[0] % self.groups:
            raise OpError(
                f"channel_shuffle: {format_shape(shape)} is not a CxHxW map with channels divisible by "
                f"{self.groups} groups",
                argument="groups",
            )

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        return ((0, 0),) if self.groups > 1 else ()  # axis 0 reordered (rows, were it to hold them)

    def label(self) -> str:
        return f"channel shuffle, {self.groups} groups"


def _sides(value: Any) -> Any:
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise ValueError(f"must be a list of 4 integers [left, right, top, bottom], got {spec_repr(value)}")
    return value


Sides = Annotated[tuple[NonNegInt, NonNegInt, NonNegInt, NonNegInt], BeforeValidator(_sides)]


class Pad(Op):
    """``pad(amount, value=0.0)``: constant padding on every spatial side of a CxHxW map (the 1989 net pads
    with -1); ``pad(sides=[left, right, top, bottom])`` pads each side of the last two axes by its own
    amount (F.pad's order)."""

    kind: Literal["pad"] = "pad"
    amount: NonNegInt | None = None
    value: float = 0.0
    sides: Sides | None = None
    spec_names: ClassVar[tuple[str, ...]] = ("pad",)
    family: ClassVar[str] = "reshape"
    summary: ClassVar[str] = "constant padding on each spatial side, or on each side by its own amount"
    shape_rule: ClassVar[str] = (
        "CxHxW to C x (H + 2*amount) x (W + 2*amount); with sides=[left, right, top, bottom] the last axis "
        "grows by left + right and the one before by top + bottom"
    )
    flop_rule: ClassVar[str] = "0 FLOPs (a copy)"

    def check(self, inputs: Sequence[Shape]) -> None:
        if (self.amount is None) == (self.sides is None):
            raise OpError(
                "pad takes an amount for every side or sides=[left, right, top, bottom], one of the two",
                "sides" if self.sides is not None else None,
                hint="pad(1) or pad(sides=[0, 1, 0, 1])",
            )
        if self.sides is not None and len(inputs[0]) < 2:
            raise OpError(f"pad: sides pads the last two axes, {format_shape(inputs[0])} has fewer", "sides")
        if self.amount is not None and len(inputs[0]) != 3:
            raise OpError(
                f"pad expects CxHxW, got {format_shape(inputs[0])}",
                hint="pad(sides=[left, right, top, bottom]) pads the last two axes of any shape",
            )

    def padding(self) -> tuple[int, int, int, int]:
        """(left, right, top, bottom): F.pad's order."""
        if self.sides is not None:
            return self.sides
        assert self.amount is not None  # check() ran when the op was made
        return (self.amount,) * 4

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        left, right, top, bottom = self.padding()
        *rest, height, width = inputs[0]
        return (*rest, height + top + bottom, width + left + right)

    def receptive_field(self) -> RFEffect:
        # The first output unit's region starts `top` rows and `left` columns before the input's.
        left, _, top, _ = self.padding()
        return RFStep((1, 1), (1, 1), (top, left))

    def describe(self) -> str:
        value = "" if self.value == 0 else f", value={self.value:g}"
        if self.sides is not None:
            return f"pad(sides={list(self.sides)}{value})"
        return f"pad({self.amount}{value})"

    def label(self) -> str:
        return f"pad {self.amount}" if self.sides is None else f"pad {'/'.join(map(str, self.sides))}"


class Concat(Op):
    """``concat``: joins its inputs along the channel (first) dimension."""

    kind: Literal["concat"] = "concat"
    dim: Int = 0
    spec_names: ClassVar[tuple[str, ...]] = ("concat",)
    keeps_dtype: ClassVar[bool] = True  # moves elements, computes none
    family: ClassVar[str] = "merge"
    inplace_producer: ClassVar[bool] = True
    aligns_branches: ClassVar[bool] = True
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None
    summary: ClassVar[str] = "concatenation along channels"
    shape_rule: ClassVar[str] = (
        "two or more inputs that agree in every dimension but dim; the sizes along dim add up"
    )
    flop_rule: ClassVar[str] = "0 FLOPs (a copy)"

    def check(self, inputs: Sequence[Shape]) -> None:
        first = inputs[0]
        if not -len(first) <= self.dim < len(first):
            raise OpError(f"concat: dim {self.dim} is out of range for {format_shape(first)}", argument="dim")
        dim = self.dim % len(first)
        for shape in inputs[1:]:
            rest = [d for i, d in enumerate(shape) if i != dim]
            if len(shape) != len(first) or rest != [d for i, d in enumerate(first) if i != dim]:
                raise OpError(
                    "concat: inputs must agree in every dimension but the channels: "
                    + " vs ".join(format_shape(s) for s in inputs)
                )

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        dim = self.dim % len(inputs[0])
        shape = list(inputs[0])
        shape[dim] = sum(s[dim] for s in inputs)
        return tuple(shape)


def broadcast_shape(inputs: Sequence[Shape]) -> Shape | None:
    """torch's broadcast of per-sample shapes, aligned from their last axes (each size equal, or 1; a
    shorter shape gains leading axes of size 1), or None when they do not broadcast. The realisations
    align a shorter batched input after its batch axis (``ranks``), where torch alone would align its
    last axes with the batch."""
    rank = max(len(shape) for shape in inputs)
    out = []
    for sizes in zip(*((1,) * (rank - len(shape)) + tuple(shape) for shape in inputs), strict=True):
        wide = {size for size in sizes if size != 1}
        if len(wide) > 1:
            return None
        out.append(wide.pop() if wide else 1)
    return tuple(out)


_BROADCAST_HINT = "aligned from the last axis, each size must agree or be 1 (e.g. 64x56x56 and 64x1x1)"
_RANKS_HINT = (
    "a shorter shape lines up with the last axes of the longer one; "
    'rearrange("c -> c 1 1") makes a vector of C a Cx1x1 map'
)


class _Elementwise(Op):
    """An elementwise merge of two or more inputs with torch's broadcasting (sizes equal, or 1)."""

    # The inputs' ranks, when they differ (a Cx1x1 gate's and a C vector's, or a bias table without the
    # heads axis): the realisations insert the missing axes after the batch axis. Empty when they agree.
    ranks: tuple[int, ...] = ()

    inferred: ClassVar[frozenset[str]] = frozenset({"ranks"})
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None
    shape_rule: ClassVar[str] = (
        "two or more inputs whose sizes, aligned from the last axis, agree or are 1 (torch broadcasting: "
        "CxHxW with Cx1x1, NxN with HxNxN), to the broadcast shape"
    )
    flop_rule: ClassVar[str] = "`--count all`: (inputs - 1) FLOPs per output element"

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        ranks = tuple(len(shape) for shape in inputs)
        return {"ranks": ranks if len(set(ranks)) > 1 else ()}

    def check(self, inputs: Sequence[Shape]) -> None:
        if broadcast_shape(inputs) is None:
            name = self.spec_names[0]
            raise OpError(
                f"{name}: input shapes do not broadcast: " + " vs ".join(format_shape(s) for s in inputs),
                hint=_BROADCAST_HINT if len({len(s) for s in inputs}) == 1 else _RANKS_HINT,
            )

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        shape = broadcast_shape(inputs)
        assert shape is not None  # check() ran when the op was made
        return shape

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return (len(inputs) - 1) * numel(output)

    def scratch(self, inputs: Sequence[Shape], output: Shape, itemsize: int, batch: int) -> int:
        return numel(output) * itemsize * batch if len(inputs) > 2 else 0  # the running sum


class Add(_Elementwise):
    """``add``: elementwise sum (residual connections), with torch's broadcasting."""

    kind: Literal["add"] = "add"
    spec_names: ClassVar[tuple[str, ...]] = ("add",)
    saved_rule: ClassVar[str] = "nothing (with broadcasting too)"
    family: ClassVar[str] = "merge"
    inplace_producer: ClassVar[bool] = True
    merge_symbol: ClassVar[str] = "+"
    shortcut_merge: ClassVar[bool] = True
    summary: ClassVar[str] = "elementwise sum (broadcasting)"

    def label(self) -> str:
        return "add"


class Mul(_Elementwise):
    """``mul``: elementwise product, with torch's broadcasting (squeeze-and-excitation gates)."""

    kind: Literal["mul"] = "mul"
    spec_names: ClassVar[tuple[str, ...]] = ("mul",)
    family: ClassVar[str] = "merge"
    merge_symbol: ClassVar[str] = "×"
    cross_saving: ClassVar[bool] = True
    summary: ClassVar[str] = "elementwise product (broadcasting: a Cx1x1 gate scales a CxHxW map)"
    # Each factor's gradient is the other factor: torch keeps both inputs of each product it computes,
    # so with more than two inputs also the running products (measured with two and with four).
    saved_rule: ClassVar[str] = (
        "each of its inputs, and with more than two inputs each running product but the last"
    )

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        products = []
        for count in range(2, len(inputs)):
            shape = broadcast_shape(inputs[:count])
            assert shape is not None  # the prefix of shapes that broadcast together broadcasts
            products.append(Saved("new", f"product of {count} inputs", elements=numel(shape)))
        return (*(Saved("input", f"input {i}", index=i) for i in range(len(inputs))), *products)

    def label(self) -> str:
        return "multiply"
