"""Each op kind as PyTorch source text: the constructor call of its module, or the expression of its
functional form in a generated ``forward``. Imports no torch: ``archspec compile`` only writes text.

``SOURCE_OPS`` is the text half of an op's torch realisation, keyed like ``torch_ops.TORCH_OPS`` (the
in-memory half; a test checks that the two cover every op class, and the parity tests that the source
builds the same module, bit for bit). Each entry is registered against its op class
(``register(Linear, source=...)``), typed by it. An entry gives

- ``source(op, inplace)``: the module's constructor as a ``Ctor`` (ops with a module of their own);
- ``inline(op, inputs, attr, inplace)``: the op as a Python expression in a generated ``forward`` (for
  functional ops, and for parameterless modules outside an ``nn.Sequential``);
- ``call(attr, inputs)``: how a module is called, when not plainly (attention unpacks its tuple);
- ``parameter_source(op)``: the ``nn.Parameter`` an op keeps in its owner (class token, embedding);
- ``buffer_source(op)``: the value (an expression) of the buffer an op keeps in its owner;
- ``imports``: the lines a generated file that writes the op needs beside torch's (``rearrange``'s
  ``from einops import rearrange``);
- ``inner(op)``: for a module with submodules, the modules without submodules it holds (``Leaf``), in the
  order torch registers them, and ``own(op)`` the parameters it holds itself: what ``init_weights``' loop
  over module classes meets (tests/test_codegen.py checks both against the modules torch builds). A
  compound op's (``Op.parts``) leaves come from its parts.

A batch dimension is prepended at run time, so per-sample dims (``concat``'s, ``softmax``'s) shift by one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from archspec.backends import source_tensor as _source_tensor  # noqa: F401  (registers the tensor primitives)
from archspec.backends.source_entry import SOURCE_OPS as SOURCE_OPS  # complete once this module is imported
from archspec.backends.source_entry import Arg, Ctor, Leaf, SourceOp
from archspec.backends.source_entry import register as register  # a new op registers through source_ops
from archspec.errors import InternalError
from archspec.ops import OPS_BY_KIND, Op
from archspec.ops.activation import (
    GELU,
    Hardsigmoid,
    Hardswish,
    Identity,
    ReLU,
    ReLU6,
    ScaledTanh,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from archspec.ops.arith import Average, Div, Mean, Neg, Scale, Sub, Sum
from archspec.ops.conv import Conv2d
from archspec.ops.dense import RBF, Linear
from archspec.ops.elementwise import Abs, Clamp, Exp, Log, Normalize, Shift, Sqrt
from archspec.ops.norm import BatchNorm, GroupNorm, LayerNorm, LayerScale, LocalResponseNorm
from archspec.ops.pool import AdaptiveAvgPool2d, AvgPool2d, GlobalAvgPool, MaxPool2d, Subsample
from archspec.ops.rearrange import Rearrange, Roll
from archspec.ops.structure import (
    Add,
    ChannelShuffle,
    Chunk,
    Concat,
    Dropout,
    Flatten,
    Mul,
    Pad,
    Permute,
    Split,
    StochasticDepth,
    _Elementwise,
)
from archspec.ops.swin import PatchMerging, ShiftedWindowAttention
from archspec.ops.vit import ClassToken, MultiheadAttention, PatchEmbed, PositionEmbedding, SelectToken


def pair(value: tuple[int, int]) -> int | tuple[int, int]:
    """``3`` for ``(3, 3)``: how people write square kernels."""
    return value[0] if value[0] == value[1] else value


def torch_dim(dim: int) -> int:
    """A per-sample dimension as a batched tensor's dimension."""
    return dim + 1 if dim >= 0 else dim


def reduce_dims(op: Mean | Sum) -> tuple[int, ...]:
    """A reduction's torch dims, each as written (a negative one counted from the end), sorted as the
    axes they name: a tensor without a batch axis (computed from parameters) takes negative dims only,
    which lowering checks, and they name the same axes with or without the batch."""
    rank = len(op.in_shape)
    written = {axis % rank: torch_dim(axis) for axis in op.dim}
    return tuple(written[axis] for axis in sorted(written))


def _simple(cls: type[Op], callee: str, expression: str) -> None:
    """A parameterless module without arguments: its constructor, and ``expression`` with ``{x}``."""
    register(
        cls,
        source=lambda op, inplace: Ctor(callee, ()),
        inline=lambda op, inputs, attr, inplace: expression.format(x=inputs[0]),
    )


def _conv_source(op: Conv2d, inplace: bool) -> Ctor:
    common = (
        Arg(op.in_channels, hint="in_channels"),
        Arg(op.out_channels, hint="out_channels"),
        Arg(pair(op.kernel_size), "kernel_size"),
    )
    spatial = (
        Arg(pair(op.stride), "stride", 1),
        Arg(pair(op.padding), "padding", 0),
        Arg(pair(op.dilation), "dilation", 1),
    )
    if op.table is not None:
        return Ctor(
            "ConnectionTableConv2d",
            (
                *common,
                Arg(op.table, "table"),
                *spatial,
                Arg(op.bias, "bias", True),
                Arg(op.out_size, "out_size"),
            ),
            layers=("ConnectionTableConv2d",),
        )
    if op.bias == "unshared":
        return Ctor(
            "UnsharedBiasConv2d",
            (*common, Arg(op.out_size, "out_size"), *spatial, Arg(op.groups, "groups", 1)),
            layers=("UnsharedBiasConv2d",),
        )
    return Ctor("nn.Conv2d", (*common, *spatial, Arg(op.groups, "groups", 1), Arg(op.bias, "bias", True)))


def _linear_source(op: Linear, inplace: bool) -> Ctor:
    if isinstance(op.bias, tuple):
        return Ctor(
            "PartialBiasLinear",
            (
                Arg(op.in_features, hint="in_features"),
                Arg(op.out_features, hint="out_features"),
                Arg(op.bias, "bias"),
            ),
            layers=("PartialBiasLinear",),
        )
    return Ctor(
        "nn.Linear",
        (
            Arg(op.in_features, hint="in_features"),
            Arg(op.out_features, hint="out_features"),
            Arg(op.bias, "bias", True),
        ),
    )


def _rbf_source(op: RBF, inplace: bool) -> Ctor:
    return Ctor(
        "RBF", (Arg(op.in_features, hint="in_features"), Arg(op.units, hint="units")), layers=("RBF",)
    )


def _batchnorm_source(op: BatchNorm, inplace: bool) -> Ctor:
    return Ctor(
        "nn.BatchNorm2d" if op.spatial else "nn.BatchNorm1d",
        (
            Arg(op.num_features, hint="num_features"),
            Arg(op.eps, "eps", 1e-5),
            Arg(op.momentum, "momentum", 0.1),
            Arg(op.affine, "affine", True),
        ),
    )


def _layernorm_source(op: LayerNorm, inplace: bool) -> Ctor:
    return Ctor(
        "LayerNorm2d" if op.channels_first else "nn.LayerNorm",
        (
            Arg(op.normalized_shape, hint="normalized_shape"),
            Arg(op.eps, "eps", 1e-5),
            Arg(op.elementwise_affine, "elementwise_affine", True),
        ),
        layers=("LayerNorm2d",) if op.channels_first else (),
    )


def _lrn_source(op: LocalResponseNorm, inplace: bool) -> Ctor:
    return Ctor(
        "nn.LocalResponseNorm",
        (
            Arg(op.size, hint="size"),
            Arg(op.alpha, "alpha", 1e-4),
            Arg(op.beta, "beta", 0.75),
            Arg(op.k, "k", 1.0),
        ),
    )


def _lrn_inline(op: LocalResponseNorm, inputs: Sequence[str], attr: str, inplace: bool) -> str:
    return f"F.local_response_norm({inputs[0]}, {op.size!r}, {op.alpha!r}, {op.beta!r}, {op.k!r})"


def _pool_args(op: MaxPool2d | AvgPool2d | Subsample) -> tuple[Arg, ...]:
    return (
        Arg(pair(op.kernel_size), hint="kernel_size"),
        Arg(pair(op.step), "stride", pair(op.kernel_size)),
        Arg(pair(op.padding), "padding", 0),
    )


def _maxpool_source(op: MaxPool2d, inplace: bool) -> Ctor:
    args = (*_pool_args(op), Arg(pair(op.dilation), "dilation", 1), Arg(op.ceil_mode, "ceil_mode", False))
    return Ctor("nn.MaxPool2d", args)


def _keywords(pairs: Sequence[tuple[str, Any, Any]]) -> str:
    """``, name=value`` for each value that differs from its default."""
    return "".join(f", {name}={value!r}" for name, value, default in pairs if value != default)


def _maxpool_inline(op: MaxPool2d, inputs: Sequence[str], attr: str, inplace: bool) -> str:
    k = pair(op.kernel_size)
    rest = _keywords(
        [("stride", pair(op.step), k), ("padding", pair(op.padding), 0), ("dilation", pair(op.dilation), 1),
         ("ceil_mode", op.ceil_mode, False)]
    )  # fmt: skip
    return f"F.max_pool2d({inputs[0]}, {k!r}{rest})"


def _avgpool_source(op: AvgPool2d, inplace: bool) -> Ctor:
    args = (
        *_pool_args(op),
        Arg(op.ceil_mode, "ceil_mode", False),
        Arg(op.count_include_pad, "count_include_pad", True),
    )
    return Ctor("nn.AvgPool2d", args)


def _avgpool_inline(op: AvgPool2d, inputs: Sequence[str], attr: str, inplace: bool) -> str:
    k = pair(op.kernel_size)
    rest = _keywords(
        [("stride", pair(op.step), k), ("padding", pair(op.padding), 0), ("ceil_mode", op.ceil_mode, False),
         ("count_include_pad", op.count_include_pad, True)]
    )  # fmt: skip
    return f"F.avg_pool2d({inputs[0]}, {k!r}{rest})"


def _subsample_source(op: Subsample, inplace: bool) -> Ctor:
    args = (
        Arg(op.channels, hint="channels"),
        *_pool_args(op),
        Arg(op.ceil_mode, "ceil_mode", False),
    )
    return Ctor("Subsample", args, layers=("Subsample",))


def _pad_inline(op: Pad, inputs: Sequence[str], attr: str, inplace: bool) -> str:
    return f"F.pad({inputs[0]}, {op.padding()!r}, value={_float(op.value)})"


def aligned(op: _Elementwise, inputs: Sequence[str]) -> list[str]:
    """The inputs of a broadcasting merge, each of a smaller per-sample rank given its missing leading
    axes after the batch axis (``g[..., None, :]``; without a batch axis they lead, as torch would)."""
    if not op.ranks:
        return list(inputs)
    top = max(op.ranks)
    return [
        x if rank == top else f"{x}[..., {', '.join(['None'] * (top - rank) + [':'] * rank)}]"
        for x, rank in zip(inputs, op.ranks, strict=True)
    ]


def _rearrange_inline(op: Rearrange, inputs: Sequence[str], attr: str, inplace: bool) -> str:
    sizes = "".join(f", {name}={value!r}" for name, value in op.sizes)
    return f"rearrange({inputs[0]}, {op.torch_pattern()!r}{sizes})"


def _clamp_inline(op: Clamp, inputs: Sequence[str], attr: str, inplace: bool) -> str:
    bounds = _keywords([("min", op.min, None), ("max", op.max, None)])
    return f"torch.clamp({inputs[0]}{bounds})"


def _float(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else f"float({str(value)!r})"


def _attention_source(op: MultiheadAttention, inplace: bool) -> Ctor:
    return Ctor(
        "nn.MultiheadAttention",
        (
            Arg(op.embed_dim, hint="embed_dim"),
            Arg(op.num_heads, hint="num_heads"),
            Arg(op.dropout, "dropout", 0.0),
            Arg(op.bias, "bias", True),
            Arg(True, "batch_first"),
        ),
    )


def _window_attention_source(op: ShiftedWindowAttention, inplace: bool) -> Ctor:
    return Ctor(
        "ShiftedWindowAttention",
        (
            Arg(op.dim, hint="dim"),
            Arg(op.window_size, hint="window_size"),
            Arg(op.shift_size, hint="shift_size"),
            Arg(op.num_heads, hint="num_heads"),
            Arg(op.qkv_bias, "qkv_bias", True),
            Arg(op.proj_bias, "proj_bias", True),
            Arg(op.attention_dropout, "attention_dropout", 0.0),
            Arg(op.dropout, "dropout", 0.0),
        ),
        layers=("ShiftedWindowAttention",),
    )


def _inplace_arg(inplace: bool) -> tuple[Arg, ...]:
    return (Arg(inplace, "inplace", False),)


def _weight_and(bias: bool) -> tuple[str, ...]:
    return ("weight", "bias") if bias else ("weight",)


register(Conv2d, source=_conv_source)
register(Linear, source=_linear_source)
register(RBF, source=_rbf_source)
register(BatchNorm, source=_batchnorm_source)
register(LayerNorm, source=_layernorm_source)
register(
    GroupNorm,
    source=lambda op, inplace: Ctor(
        "nn.GroupNorm",
        (
            Arg(op.num_groups, hint="num_groups"),
            Arg(op.num_channels, hint="num_channels"),
            Arg(op.eps, "eps", 1e-5),
            Arg(op.affine, "affine", True),
        ),
    ),
)
register(LocalResponseNorm, source=_lrn_source, inline=_lrn_inline)
register(MaxPool2d, source=_maxpool_source, inline=_maxpool_inline)
register(AvgPool2d, source=_avgpool_source, inline=_avgpool_inline)
register(
    AdaptiveAvgPool2d,
    source=lambda op, inplace: Ctor("nn.AdaptiveAvgPool2d", (Arg(pair(op.output_size), hint="output_size"),)),
    inline=lambda op, inputs, attr, inplace: f"F.adaptive_avg_pool2d({inputs[0]}, {pair(op.output_size)!r})",
)
register(
    GlobalAvgPool,
    source=lambda op, inplace: Ctor("nn.AdaptiveAvgPool2d", (Arg(1),)),
    inline=lambda op, inputs, attr, inplace: f"F.adaptive_avg_pool2d({inputs[0]}, 1)",
)
register(Subsample, source=_subsample_source)
register(
    ReLU,
    source=lambda op, inplace: Ctor("nn.ReLU", _inplace_arg(inplace)),
    inline=lambda op, inputs, attr, inplace: f"F.relu({inputs[0]}" + (", inplace=True)" if inplace else ")"),
)
register(
    ReLU6,
    source=lambda op, inplace: Ctor("nn.ReLU6", _inplace_arg(inplace)),
    inline=lambda op, inputs, attr, inplace: f"F.relu6({inputs[0]}" + (", inplace=True)" if inplace else ")"),
)
_simple(Tanh, "nn.Tanh", "torch.tanh({x})")
_simple(Sigmoid, "nn.Sigmoid", "torch.sigmoid({x})")
register(
    ScaledTanh,
    source=lambda op, inplace: Ctor(
        "ScaledTanh",
        (Arg(op.amplitude, "amplitude", 1.7159), Arg(op.slope, "slope", 2.0 / 3.0)),
        layers=("ScaledTanh",),
    ),
    inline=lambda op, inputs, attr, inplace: f"{op.amplitude!r} * torch.tanh({op.slope!r} * {inputs[0]})",
)
register(
    GELU,
    source=lambda op, inplace: Ctor("nn.GELU", (Arg(op.approximate, "approximate", "none"),)),
    inline=lambda op, inputs, attr, inplace: f"F.gelu({inputs[0]}, approximate={op.approximate!r})",
)
_simple(SiLU, "nn.SiLU", "F.silu({x})")
_simple(Hardswish, "nn.Hardswish", "F.hardswish({x})")
_simple(Hardsigmoid, "nn.Hardsigmoid", "F.hardsigmoid({x})")
register(
    Softmax,
    source=lambda op, inplace: Ctor("nn.Softmax", (Arg(op.torch_dim(), "dim"),)),
    inline=lambda op, inputs, attr, inplace: f"torch.softmax({inputs[0]}, dim={op.torch_dim()!r})",
)
_simple(Identity, "nn.Identity", "{x}")
_simple(Flatten, "nn.Flatten", "torch.flatten({x}, 1)")
register(
    Dropout,
    source=lambda op, inplace: Ctor("nn.Dropout", (Arg(op.p, "p", 0.5),)),
    inline=lambda op, inputs, attr, inplace: f"F.dropout({inputs[0]}, {op.p!r}, self.training)",
)
register(
    StochasticDepth,
    source=lambda op, inplace: Ctor(
        "StochasticDepth", (Arg(op.p, hint="p"), Arg(op.mode, "mode", "row")), layers=("StochasticDepth",)
    ),
)
register(Pad, inline=_pad_inline)
register(
    Chunk,
    inline=lambda op, inputs, attr, inplace: (
        f"{inputs[0]}.chunk({op.chunks}, dim={torch_dim(op.dim)})[{op.index}]"
    ),
)
register(
    Split,
    inline=lambda op, inputs, attr, inplace: (
        f"torch.split({inputs[0]}, {list(op.sizes)!r}, dim={torch_dim(op.dim)})[{op.index}]"
    ),
)
register(
    ChannelShuffle,
    inline=lambda op, inputs, attr, inplace: (
        f"{inputs[0]}.unflatten(1, ({op.groups}, -1)).transpose(1, 2).flatten(1, 2)"
    ),
)
register(
    Permute,
    inline=lambda op, inputs, attr, inplace: (
        f"{inputs[0]}.permute({', '.join(str(d) for d in (0, *(d + 1 for d in op.dims)))})"
    ),
)
register(
    LayerScale,
    inline=lambda op, inputs, attr, inplace: f"{inputs[0]} * {attr}",
    parameter_source=lambda op: Ctor(
        "nn.Parameter(torch.full", (Arg(op.shape, hint="shape"), Arg(op.value, hint="value")), close=")"
    ),
)
register(Add, inline=lambda op, inputs, attr, inplace: " + ".join(aligned(op, inputs)))
register(Mul, inline=lambda op, inputs, attr, inplace: " * ".join(aligned(op, inputs)))
register(Sub, inline=lambda op, inputs, attr, inplace: " - ".join(aligned(op, inputs)))
register(Div, inline=lambda op, inputs, attr, inplace: " / ".join(aligned(op, inputs)))
register(
    Average,
    inline=lambda op, inputs, attr, inplace: f"({' + '.join(aligned(op, inputs))}) / {len(inputs)}",
)
register(Exp, inline=lambda op, inputs, attr, inplace: f"torch.exp({inputs[0]})")
register(Log, inline=lambda op, inputs, attr, inplace: f"torch.log({inputs[0]})")
register(Sqrt, inline=lambda op, inputs, attr, inplace: f"torch.sqrt({inputs[0]})")
register(Abs, inline=lambda op, inputs, attr, inplace: f"torch.abs({inputs[0]})")
register(Clamp, inline=_clamp_inline)
register(
    Shift,
    inline=lambda op, inputs, attr, inplace: (
        f"{inputs[0]} - {-op.amount!r}" if op.amount < 0 else f"{inputs[0]} + {op.amount!r}"
    ),
)
register(
    Normalize,
    inline=lambda op, inputs, attr, inplace: (
        f"F.normalize({inputs[0]}, dim={op.torch_dim()}" + _keywords([("eps", op.eps, 1e-12)]) + ")"
    ),
)
# einops' patterns read best (issue 21)
register(Rearrange, inline=_rearrange_inline, imports=("from einops import rearrange",))
register(
    Roll,
    inline=lambda op, inputs, attr, inplace: f"torch.roll({inputs[0]}, {op.shifts!r}, {op.torch_dims()!r})",
)
register(Scale, inline=lambda op, inputs, attr, inplace: f"{inputs[0]} * {op.factor!r}")
register(Neg, inline=lambda op, inputs, attr, inplace: f"-{inputs[0]}")
register(Mean, inline=lambda op, inputs, attr, inplace: _reduce_inline("mean", op, inputs[0]))
register(Sum, inline=lambda op, inputs, attr, inplace: _reduce_inline("sum", op, inputs[0]))
register(
    Concat,
    inline=lambda op, inputs, attr, inplace: f"torch.cat([{', '.join(inputs)}], dim={torch_dim(op.dim)})",
)
register(SelectToken, inline=lambda op, inputs, attr, inplace: f"{inputs[0]}[:, {op.index!r}]")
register(
    PatchEmbed,
    source=lambda op, inplace: Ctor(
        "PatchEmbed",
        (
            Arg(op.in_channels, hint="in_channels"),
            Arg(op.hidden_dim, hint="hidden_dim"),
            Arg(op.patch_size, "patch_size"),  # by keyword: a bare 16 would not say what it is
        ),
        layers=("PatchEmbed",),
    ),
)
register(
    ClassToken,
    inline=lambda op, inputs, attr, inplace: (
        f"torch.cat([{attr}.expand({inputs[0]}.shape[0], -1, -1), {inputs[0]}], dim=1)"
    ),
    parameter_source=lambda op: Ctor(
        "nn.Parameter(torch.zeros", (Arg(1), Arg(1), Arg(op.hidden_dim, hint="hidden_dim")), close=")"
    ),
)
register(
    PositionEmbedding,
    inline=lambda op, inputs, attr, inplace: f"{inputs[0]} + {attr}",
    parameter_source=lambda op: Ctor(
        "nn.Parameter(torch.empty",
        (Arg(1), Arg(op.length, hint="length"), Arg(op.hidden_dim, hint="hidden_dim")),
        close=".normal_(std=0.02))",
    ),
)
register(
    MultiheadAttention,
    source=_attention_source,
    call=lambda attr, inputs: f"{attr}({inputs[0]}, {inputs[0]}, {inputs[0]}, need_weights=False)[0]",
    inner=lambda op: (Leaf("out_proj", ("nn.Linear",), _weight_and(op.bias)),),
    own=lambda op: ("in_proj_weight", "in_proj_bias") if op.bias else ("in_proj_weight",),
)
register(
    ShiftedWindowAttention,
    source=_window_attention_source,
    inner=lambda op: (
        Leaf("qkv", ("nn.Linear",), _weight_and(op.qkv_bias)),
        Leaf("proj", ("nn.Linear",), _weight_and(op.proj_bias)),
    ),
    own=lambda op: ("relative_position_bias_table",),
)
register(
    PatchMerging,
    source=lambda op, inplace: Ctor(
        "PatchMerging", (Arg(op.dim, hint="dim"), Arg(op.eps, "eps", 1e-5)), layers=("PatchMerging",)
    ),
    inner=lambda op: (
        Leaf("reduction", ("nn.Linear",), ("weight",)),
        Leaf("norm", ("nn.LayerNorm",), ("weight", "bias")),
    ),
)


def _reduce_inline(method: str, op: Mean | Sum, x: str) -> str:
    """``x.mean(1)``, ``x.sum((2, 3), keepdim=True)``."""
    dims = reduce_dims(op)
    text = f"{x}.{method}({dims[0] if len(dims) == 1 else dims!r}"
    return text + (", keepdim=True)" if op.keepdim else ")")


def missing() -> list[str]:
    """The kinds of the registered op classes that no source entry covers (tests keep this empty)."""
    return [
        kind
        for kind, cls in OPS_BY_KIND.items()
        if kind not in SOURCE_OPS and (cls.called_by_specs or cls.state)
    ]


def source_op(op: Op) -> SourceOp:
    """The source entry of an op."""
    entry = SOURCE_OPS.get(op.kind)
    if entry is None:
        raise InternalError(f"op {op.kind} has no source realisation (register it in backends.source_ops)")
    return entry
