"""Texts and colours of a drawing: op summaries in the papers' terms, op families, escaping."""

from __future__ import annotations

import html

from archspec.label_text import number_text
from archspec.ops import Op, Shape
from archspec.ops.activation import ScaledTanh
from archspec.ops.conv import Conv2d
from archspec.ops.dense import RBF, Linear
from archspec.ops.norm import LayerScale, LocalResponseNorm
from archspec.ops.pool import AdaptiveAvgPool2d, AvgPool2d, GlobalAvgPool, MaxPool2d, Subsample
from archspec.ops.structure import (
    Add,
    ChannelShuffle,
    Chunk,
    Dropout,
    Mul,
    Pad,
    Permute,
    Split,
    StochasticDepth,
)
from archspec.ops.swin import PatchMerging, ShiftedWindowAttention
from archspec.ops.vit import ClassToken, MultiheadAttention, PatchEmbed, PositionEmbedding, SelectToken

# Each op's family is its ``Op.family``. Each family has a fill colour (light, so that black text stays
# readable) and a name for the legend.
FAMILIES: dict[str, tuple[str, str]] = {  # family -> (fill colour, legend text)
    "input": ("#e0e0e0", "input"),
    "conv": ("#bcd8f0", "convolution"),
    "pool": ("#c9e6c0", "pooling"),
    "norm": ("#fbe7a7", "normalisation"),
    "activation": ("#f4f4f4", "activation"),
    "dense": ("#f9cfa5", "fully connected"),
    "attention": ("#d3c4ea", "attention"),
    "token": ("#f3c0c8", "tokens, embeddings"),
    "merge": ("#ffffff", "add, multiply, concat"),
    "reshape": ("#ececec", "reshape, split, dropout, pad"),
    "block": ("#e3e8f8", "block (closed)"),
}


def family(op: Op) -> str:
    """The op's family (see FAMILIES)."""
    return op.family


def esc(text: object) -> str:
    """Text for an HTML-like label: every markup character escaped, line breaks as spaces."""
    flat = " ".join(str(text).splitlines()) if "\n" in str(text) or "\r" in str(text) else str(text)
    return html.escape(flat, quote=True)


def dims(shape: Shape) -> str:
    """``64×56×56``."""
    return "×".join(str(d) for d in shape) if shape else "scalar"


def _pair(value: tuple[int, int]) -> str:
    return str(value[0]) if value[0] == value[1] else f"{value[0]}×{value[1]}"


def _window(kernel: tuple[int, int], stride: tuple[int, int] | None) -> str:
    text = f"{kernel[0]}×{kernel[1]}"
    if stride is not None and stride != (1, 1):
        text += f"/{_pair(stride)}"
    return text


def summary(op: Op) -> str:
    """A short op summary in the papers' terms: ``conv 3×3/2, 128``, ``maxpool 3×3/2``, ``linear 1000``.
    An op without a case here is drawn with its own ``Op.label()``."""
    match op:
        case Conv2d():
            text = f"conv {_window(op.kernel_size, op.stride)}, {op.out_channels}"
            groups = op.groups
            if groups > 1 and groups == op.in_channels == op.out_channels:
                text += ", depthwise"
            elif groups > 1:
                text += f", {groups} groups"
            if op.dilation != (1, 1):
                text += f", dilation {_pair(op.dilation)}"
            if op.table is not None:
                text += ", connection table"
            return text
        case MaxPool2d() | AvgPool2d() | Subsample():
            stride = op.stride if op.stride is not None else op.kernel_size
            name = (
                "maxpool"
                if isinstance(op, MaxPool2d)
                else "avgpool"
                if isinstance(op, AvgPool2d)
                else "subsample"
            )
            return f"{name} {_window(op.kernel_size, stride)}"
        case Linear():
            return f"linear {op.out_features}"
        case RBF():
            return f"RBF {op.units}"
        case AdaptiveAvgPool2d():
            return f"adaptive avgpool {_window(op.output_size, None)}"
        case GlobalAvgPool():
            return "global avgpool"
        case LocalResponseNorm():
            return f"LRN {op.size}"
        case Dropout():
            return f"dropout {number_text(op.p)}"
        case Pad():
            return f"pad {op.amount}" if op.sides is None else f"pad {'/'.join(map(str, op.sides))}"
        case PatchEmbed():
            return f"patches {op.patch_size}×{op.patch_size}, {op.hidden_dim}"
        case ClassToken():
            return "+ class token"
        case PositionEmbedding():
            return "+ position embedding"
        case MultiheadAttention():
            return f"self-attention, {op.num_heads} heads"
        case ShiftedWindowAttention():
            return f"window attention {op.window_size}×{op.window_size}, {op.num_heads} heads" + (
                f", shift {op.shift_size}" if op.shift_size else ""
            )
        case PatchMerging():
            return "patch merging 2×2"
        case SelectToken():
            return "class token" if op.index == 0 else f"token {op.index}"
        case Add():
            return "add"
        case Mul():
            return "multiply"
        case StochasticDepth():
            return f"stochastic depth {number_text(op.p)}"
        case Permute():
            return f"permute {list(op.dims)}"
        case Chunk():
            return f"chunk {op.index + 1} of {op.chunks}"
        case Split():
            return f"split {list(op.sizes)}, part {op.index + 1}"
        case ChannelShuffle():
            return f"channel shuffle, {op.groups} groups"
        case LayerScale():
            return "layer scale"
        case ScaledTanh():
            return "scaled tanh"
    return op.label()


def human(value: float) -> str:
    """``25.6M``, ``4.09G``, ``9.41K``: three significant digits."""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= factor:
            scaled = value / factor
            return f"{scaled:.3g}{suffix}" if scaled < 1000 else f"{scaled:.0f}{suffix}"
    return f"{value:g}"


def figures(params: int, macs: int) -> str:
    """``1.22M params · 219M MACs`` (the zero ones left out)."""
    parts = []
    if params:
        parts.append(f"{human(params)} params")
    if macs:
        parts.append(f"{human(macs)} MACs")
    return " · ".join(parts)
