"""Each op kind in torch: the module it builds, or the function it calls, and how it is written as source.

``TORCH_OPS`` is the one place per op for torch: adding an op means adding its entry here (and its
custom layer in ``torch_layers`` if torch lacks one). An entry gives

- ``module(op, inplace)``: the ``nn.Module`` (registered under the node's name, so its parameters get
  the node's dotted name); ``source(op, inplace)`` writes the same constructor as a ``Ctor``;
- or, for ops without a module of their own, ``function(op, owner, name)``: a callable for the
  in-memory plan (``owner`` is the container; ClassToken/PositionEmbedding keep their parameter there);
- ``inline(op, inputs, attr, inplace)``: the op as a Python expression in a generated ``forward``
  (for functional ops, and for parameterless modules outside an ``nn.Sequential``);
- ``call(attr, inputs)``: how a module is called in generated source (attention unpacks its tuple).

A batch dimension is prepended at run time, so per-sample dims (``concat``'s, ``softmax``'s) shift by one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from archspec.backends import torch_layers as layers
from archspec.ops import Op

NO_DEFAULT: Any = object()


@dataclass(frozen=True)
class Arg:
    """One constructor argument in generated source: positional when ``keyword`` is None."""

    value: Any
    keyword: str | None = None
    default: Any = NO_DEFAULT
    hint: str | None = None

    @property
    def name(self) -> str:
        """A parameter name for this argument when it varies between instances of a block."""
        return self.hint or self.keyword or "value"


@dataclass(frozen=True)
class Ctor:
    """A constructor call ``callee(args...)close`` in generated source."""

    callee: str
    args: tuple[Arg, ...]
    close: str = ""
    layers: tuple[str, ...] = ()


ModuleFn = Callable[[Any, bool], nn.Module]
SourceFn = Callable[[Any, bool], Ctor]
FunctionFn = Callable[[Any, nn.Module, str], Callable[..., torch.Tensor]]
InlineFn = Callable[[Any, Sequence[str], str, bool], str]


def _call_module(attr: str, inputs: Sequence[str]) -> str:
    return f"{attr}({', '.join(inputs)})"


@dataclass(frozen=True)
class TorchOp:
    """How one op kind becomes torch (see the module docstring)."""

    module: ModuleFn | None = None
    source: SourceFn | None = None
    function: FunctionFn | None = None
    inline: InlineFn | None = None
    call: Callable[[str, Sequence[str]], str] = _call_module
    wrap: Callable[[nn.Module], Callable[..., torch.Tensor]] | None = None
    parameter: Callable[[Any], torch.Tensor] | None = None
    parameter_source: Callable[[Any], Ctor] | None = None
    layers: tuple[str, ...] = field(default=())


def pair(value: tuple[int, int]) -> int | tuple[int, int]:
    """``3`` for ``(3, 3)``: how people write square kernels."""
    return value[0] if value[0] == value[1] else value


def torch_dim(dim: int) -> int:
    """A per-sample dimension as a batched tensor's dimension."""
    return dim + 1 if dim >= 0 else dim


# ---------------------------------------------------------------- convolution and dense


def _conv(op: Any, inplace: bool) -> nn.Module:
    if op.table is not None:
        return layers.ConnectionTableConv2d(
            op.in_channels, op.out_channels, op.kernel_size, op.table, op.stride, op.padding, op.dilation,
            op.bias, op.out_size,
        )  # fmt: skip
    if op.bias == "unshared":
        return layers.UnsharedBiasConv2d(
            op.in_channels, op.out_channels, op.kernel_size, op.out_size, op.stride, op.padding, op.dilation,
            op.groups,
        )  # fmt: skip
    return nn.Conv2d(
        op.in_channels,
        op.out_channels,
        op.kernel_size,
        op.stride,
        op.padding,
        op.dilation,
        op.groups,
        op.bias,
    )


def _conv_source(op: Any, inplace: bool) -> Ctor:
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


def _linear(op: Any, inplace: bool) -> nn.Module:
    return nn.Linear(op.in_features, op.out_features, op.bias)


def _linear_source(op: Any, inplace: bool) -> Ctor:
    return Ctor(
        "nn.Linear",
        (
            Arg(op.in_features, hint="in_features"),
            Arg(op.out_features, hint="out_features"),
            Arg(op.bias, "bias", True),
        ),
    )


def _rbf(op: Any, inplace: bool) -> nn.Module:
    return layers.RBF(op.in_features, op.units)


def _rbf_source(op: Any, inplace: bool) -> Ctor:
    return Ctor(
        "RBF", (Arg(op.in_features, hint="in_features"), Arg(op.units, hint="units")), layers=("RBF",)
    )


# ---------------------------------------------------------------- normalisation


def _batchnorm(op: Any, inplace: bool) -> nn.Module:
    cls = nn.BatchNorm2d if op.spatial else nn.BatchNorm1d
    return cls(op.num_features, eps=op.eps, momentum=op.momentum, affine=op.affine)


def _batchnorm_source(op: Any, inplace: bool) -> Ctor:
    return Ctor(
        "nn.BatchNorm2d" if op.spatial else "nn.BatchNorm1d",
        (
            Arg(op.num_features, hint="num_features"),
            Arg(op.eps, "eps", 1e-5),
            Arg(op.momentum, "momentum", 0.1),
            Arg(op.affine, "affine", True),
        ),
    )


def _layernorm(op: Any, inplace: bool) -> nn.Module:
    cls = layers.LayerNorm2d if op.channels_first else nn.LayerNorm
    return cls(op.normalized_shape, eps=op.eps, elementwise_affine=op.elementwise_affine)


def _layernorm_source(op: Any, inplace: bool) -> Ctor:
    return Ctor(
        "LayerNorm2d" if op.channels_first else "nn.LayerNorm",
        (
            Arg(op.normalized_shape, hint="normalized_shape"),
            Arg(op.eps, "eps", 1e-5),
            Arg(op.elementwise_affine, "elementwise_affine", True),
        ),
        layers=("LayerNorm2d",) if op.channels_first else (),
    )


def _lrn(op: Any, inplace: bool) -> nn.Module:
    return nn.LocalResponseNorm(op.size, op.alpha, op.beta, op.k)


def _lrn_source(op: Any, inplace: bool) -> Ctor:
    return Ctor(
        "nn.LocalResponseNorm",
        (
            Arg(op.size, hint="size"),
            Arg(op.alpha, "alpha", 1e-4),
            Arg(op.beta, "beta", 0.75),
            Arg(op.k, "k", 1.0),
        ),
    )


def _lrn_inline(op: Any, inputs: Sequence[str], attr: str, inplace: bool) -> str:
    return f"F.local_response_norm({inputs[0]}, {op.size!r}, {op.alpha!r}, {op.beta!r}, {op.k!r})"


# ---------------------------------------------------------------- pooling


def _maxpool(op: Any, inplace: bool) -> nn.Module:
    return nn.MaxPool2d(op.kernel_size, op.step, op.padding, op.dilation, ceil_mode=op.ceil_mode)


def _pool_args(op: Any) -> tuple[Arg, ...]:
    return (
        Arg(pair(op.kernel_size), hint="kernel_size"),
        Arg(pair(op.step), "stride", pair(op.kernel_size)),
        Arg(pair(op.padding), "padding", 0),
    )


def _maxpool_source(op: Any, inplace: bool) -> Ctor:
    args = (*_pool_args(op), Arg(pair(op.dilation), "dilation", 1), Arg(op.ceil_mode, "ceil_mode", False))
    return Ctor("nn.MaxPool2d", args)


def _keywords(pairs: Sequence[tuple[str, Any, Any]]) -> str:
    """``, name=value`` for each value that differs from its default."""
    return "".join(f", {name}={value!r}" for name, value, default in pairs if value != default)


def _maxpool_inline(op: Any, inputs: Sequence[str], attr: str, inplace: bool) -> str:
    k = pair(op.kernel_size)
    rest = _keywords(
        [("stride", pair(op.step), k), ("padding", pair(op.padding), 0), ("dilation", pair(op.dilation), 1),
         ("ceil_mode", op.ceil_mode, False)]
    )  # fmt: skip
    return f"F.max_pool2d({inputs[0]}, {k!r}{rest})"


def _avgpool(op: Any, inplace: bool) -> nn.Module:
    return nn.AvgPool2d(op.kernel_size, op.step, op.padding, op.ceil_mode, op.count_include_pad)


def _avgpool_source(op: Any, inplace: bool) -> Ctor:
    args = (
        *_pool_args(op),
        Arg(op.ceil_mode, "ceil_mode", False),
        Arg(op.count_include_pad, "count_include_pad", True),
    )
    return Ctor("nn.AvgPool2d", args)


def _avgpool_inline(op: Any, inputs: Sequence[str], attr: str, inplace: bool) -> str:
    k = pair(op.kernel_size)
    rest = _keywords(
        [("stride", pair(op.step), k), ("padding", pair(op.padding), 0), ("ceil_mode", op.ceil_mode, False),
         ("count_include_pad", op.count_include_pad, True)]
    )  # fmt: skip
    return f"F.avg_pool2d({inputs[0]}, {k!r}{rest})"


def _subsample(op: Any, inplace: bool) -> nn.Module:
    return layers.Subsample(op.channels, op.kernel_size, op.step, op.padding, op.ceil_mode)


def _subsample_source(op: Any, inplace: bool) -> Ctor:
    args = (
        Arg(op.channels, hint="channels"),
        *_pool_args(op),
        Arg(op.ceil_mode, "ceil_mode", False),
    )
    return Ctor("Subsample", args, layers=("Subsample",))


# ---------------------------------------------------------------- activations


def _simple(callee: str, make: Callable[[], nn.Module], expression: str) -> TorchOp:
    """A parameterless module without arguments: its constructor, and ``expression`` with ``{x}``."""
    return TorchOp(
        module=lambda op, inplace: make(),
        source=lambda op, inplace: Ctor(callee, ()),
        inline=lambda op, inputs, attr, inplace: expression.format(x=inputs[0]),
    )


def _inplace_arg(inplace: bool) -> tuple[Arg, ...]:
    return (Arg(inplace, "inplace", False),)


RELU = TorchOp(
    module=lambda op, inplace: nn.ReLU(inplace=inplace),
    source=lambda op, inplace: Ctor("nn.ReLU", _inplace_arg(inplace)),
    inline=lambda op, inputs, attr, inplace: f"F.relu({inputs[0]}" + (", inplace=True)" if inplace else ")"),
)
RELU6 = TorchOp(
    module=lambda op, inplace: nn.ReLU6(inplace=inplace),
    source=lambda op, inplace: Ctor("nn.ReLU6", _inplace_arg(inplace)),
    inline=lambda op, inputs, attr, inplace: f"F.relu6({inputs[0]}" + (", inplace=True)" if inplace else ")"),
)
SCALED_TANH = TorchOp(
    module=lambda op, inplace: layers.ScaledTanh(op.amplitude, op.slope),
    source=lambda op, inplace: Ctor(
        "ScaledTanh",
        (Arg(op.amplitude, "amplitude", 1.7159), Arg(op.slope, "slope", 2.0 / 3.0)),
        layers=("ScaledTanh",),
    ),
    inline=lambda op, inputs, attr, inplace: f"{op.amplitude!r} * torch.tanh({op.slope!r} * {inputs[0]})",
)
GELU = TorchOp(
    module=lambda op, inplace: nn.GELU(approximate=op.approximate),
    source=lambda op, inplace: Ctor("nn.GELU", (Arg(op.approximate, "approximate", "none"),)),
    inline=lambda op, inputs, attr, inplace: f"F.gelu({inputs[0]}, approximate={op.approximate!r})",
)
SOFTMAX = TorchOp(
    module=lambda op, inplace: nn.Softmax(dim=torch_dim(op.dim)),
    source=lambda op, inplace: Ctor("nn.Softmax", (Arg(torch_dim(op.dim), "dim"),)),
    inline=lambda op, inputs, attr, inplace: f"torch.softmax({inputs[0]}, dim={torch_dim(op.dim)!r})",
)
DROPOUT = TorchOp(
    module=lambda op, inplace: nn.Dropout(op.p),
    source=lambda op, inplace: Ctor("nn.Dropout", (Arg(op.p, "p", 0.5),)),
    inline=lambda op, inputs, attr, inplace: f"F.dropout({inputs[0]}, {op.p!r}, self.training)",
)


# ---------------------------------------------------------------- structure


def _add(*values: torch.Tensor) -> torch.Tensor:
    total = values[0] + values[1]
    for value in values[2:]:
        total = total + value
    return total


def _mul(*values: torch.Tensor) -> torch.Tensor:
    product = values[0] * values[1]
    for value in values[2:]:
        product = product * value
    return product


def _concat(dim: int, *values: torch.Tensor) -> torch.Tensor:
    return torch.cat(values, dim)


def _permute(dims: tuple[int, ...], x: torch.Tensor) -> torch.Tensor:
    return x.permute(dims)


def _chunk(chunks: int, index: int, dim: int, x: torch.Tensor) -> torch.Tensor:
    return x.chunk(chunks, dim)[index]


def _split(sizes: tuple[int, ...], index: int, dim: int, x: torch.Tensor) -> torch.Tensor:
    return torch.split(x, list(sizes), dim)[index]


def _channel_shuffle(groups: int, x: torch.Tensor) -> torch.Tensor:
    batch, channels, height, width = x.shape
    x = x.view(batch, groups, channels // groups, height, width).transpose(1, 2).contiguous()
    return x.view(batch, channels, height, width)


def _select_token(index: int, x: torch.Tensor) -> torch.Tensor:
    return x[:, index]


def _scale(owner: nn.Module, name: str, x: torch.Tensor) -> torch.Tensor:
    scale: torch.Tensor = getattr(owner, name)
    return x * scale


def _pad(op: Any, owner: nn.Module, name: str) -> Callable[..., torch.Tensor]:
    amount = op.amount
    return partial(F.pad, pad=(amount, amount, amount, amount), mode="constant", value=op.value)


def _pad_inline(op: Any, inputs: Sequence[str], attr: str, inplace: bool) -> str:
    a = op.amount
    return f"F.pad({inputs[0]}, ({a}, {a}, {a}, {a}), value={_float(op.value)})"


def _float(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else f"float({str(value)!r})"


# ---------------------------------------------------------------- vision transformer


def _prepend_token(owner: nn.Module, name: str, x: torch.Tensor) -> torch.Tensor:
    token: torch.Tensor = getattr(owner, name)
    return torch.cat([token.expand(x.shape[0], -1, -1), x], dim=1)


def _add_embedding(owner: nn.Module, name: str, x: torch.Tensor) -> torch.Tensor:
    embedding: torch.Tensor = getattr(owner, name)
    return x + embedding


def _self_attention(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out: torch.Tensor = module(x, x, x, need_weights=False)[0]
    return out


def _mlp(op: Any, inplace: bool) -> nn.Module:
    return nn.Sequential(
        nn.Linear(op.in_features, op.hidden_features),
        nn.GELU(),
        nn.Dropout(op.dropout),
        nn.Linear(op.hidden_features, op.outputs),
        nn.Dropout(op.dropout),
    )


def _mlp_source(op: Any, inplace: bool) -> Ctor:
    # One expression, so that a varying width still parametrises: Linear, GELU, Dropout, Linear, Dropout.
    return Ctor(
        "nn.Sequential(nn.Linear",
        (Arg(op.in_features, hint="in_features"), Arg(op.hidden_features, hint="hidden_features")),
        close=(
            f", nn.GELU(), nn.Dropout({op.dropout!r}), nn.Linear({op.hidden_features}, {op.outputs}), "
            f"nn.Dropout({op.dropout!r}))"
        ),
    )


def _attention(op: Any, inplace: bool) -> nn.Module:
    return nn.MultiheadAttention(
        op.embed_dim, op.num_heads, dropout=op.dropout, bias=op.bias, batch_first=True
    )


def _attention_source(op: Any, inplace: bool) -> Ctor:
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


def _window_attention(op: Any, inplace: bool) -> nn.Module:
    return layers.ShiftedWindowAttention(
        op.dim,
        op.window_size,
        op.shift_size,
        op.num_heads,
        qkv_bias=op.qkv_bias,
        proj_bias=op.proj_bias,
        attention_dropout=op.attention_dropout,
        dropout=op.dropout,
    )


def _window_attention_source(op: Any, inplace: bool) -> Ctor:
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


TORCH_OPS: dict[str, TorchOp] = {
    "conv2d": TorchOp(module=_conv, source=_conv_source),
    "linear": TorchOp(module=_linear, source=_linear_source),
    "rbf": TorchOp(module=_rbf, source=_rbf_source),
    "batchnorm": TorchOp(module=_batchnorm, source=_batchnorm_source),
    "layernorm": TorchOp(module=_layernorm, source=_layernorm_source),
    "lrn": TorchOp(module=_lrn, source=_lrn_source, inline=_lrn_inline),
    "maxpool2d": TorchOp(module=_maxpool, source=_maxpool_source, inline=_maxpool_inline),
    "avgpool2d": TorchOp(module=_avgpool, source=_avgpool_source, inline=_avgpool_inline),
    "adaptive_avgpool2d": TorchOp(
        module=lambda op, inplace: nn.AdaptiveAvgPool2d(op.output_size),
        source=lambda op, inplace: Ctor(
            "nn.AdaptiveAvgPool2d", (Arg(pair(op.output_size), hint="output_size"),)
        ),
        inline=lambda op, inputs, attr, inplace: (
            f"F.adaptive_avg_pool2d({inputs[0]}, {pair(op.output_size)!r})"
        ),
    ),
    "global_avgpool": TorchOp(
        module=lambda op, inplace: nn.AdaptiveAvgPool2d(1),
        source=lambda op, inplace: Ctor("nn.AdaptiveAvgPool2d", (Arg(1),)),
        inline=lambda op, inputs, attr, inplace: f"F.adaptive_avg_pool2d({inputs[0]}, 1)",
    ),
    "subsample": TorchOp(module=_subsample, source=_subsample_source),
    "relu": RELU,
    "relu6": RELU6,
    "tanh": _simple("nn.Tanh", nn.Tanh, "torch.tanh({x})"),
    "sigmoid": _simple("nn.Sigmoid", nn.Sigmoid, "torch.sigmoid({x})"),
    "scaled_tanh": SCALED_TANH,
    "gelu": GELU,
    "silu": _simple("nn.SiLU", nn.SiLU, "F.silu({x})"),
    "hardswish": _simple("nn.Hardswish", nn.Hardswish, "F.hardswish({x})"),
    "hardsigmoid": _simple("nn.Hardsigmoid", nn.Hardsigmoid, "F.hardsigmoid({x})"),
    "softmax": SOFTMAX,
    "identity": _simple("nn.Identity", nn.Identity, "{x}"),
    "flatten": _simple("nn.Flatten", nn.Flatten, "torch.flatten({x}, 1)"),
    "dropout": DROPOUT,
    "stochastic_depth": TorchOp(
        module=lambda op, inplace: layers.StochasticDepth(op.p, op.mode),
        source=lambda op, inplace: Ctor(
            "StochasticDepth", (Arg(op.p, hint="p"), Arg(op.mode, "mode", "row")), layers=("StochasticDepth",)
        ),
    ),
    "pad": TorchOp(function=_pad, inline=_pad_inline),
    "chunk": TorchOp(
        function=lambda op, owner, name: partial(_chunk, op.chunks, op.index, torch_dim(op.dim)),
        inline=lambda op, inputs, attr, inplace: (
            f"{inputs[0]}.chunk({op.chunks}, dim={torch_dim(op.dim)})[{op.index}]"
        ),
    ),
    "split": TorchOp(
        function=lambda op, owner, name: partial(_split, op.sizes, op.index, torch_dim(op.dim)),
        inline=lambda op, inputs, attr, inplace: (
            f"torch.split({inputs[0]}, {list(op.sizes)!r}, dim={torch_dim(op.dim)})[{op.index}]"
        ),
    ),
    "channel_shuffle": TorchOp(
        function=lambda op, owner, name: partial(_channel_shuffle, op.groups),
        inline=lambda op, inputs, attr, inplace: (
            f"{inputs[0]}.unflatten(1, ({op.groups}, -1)).transpose(1, 2).flatten(1, 2)"
        ),
    ),
    "permute": TorchOp(
        function=lambda op, owner, name: partial(_permute, (0, *(d + 1 for d in op.dims))),
        inline=lambda op, inputs, attr, inplace: (
            f"{inputs[0]}.permute({', '.join(str(d) for d in (0, *(d + 1 for d in op.dims)))})"
        ),
    ),
    "layer_scale": TorchOp(
        function=lambda op, owner, name: partial(_scale, owner, name),
        inline=lambda op, inputs, attr, inplace: f"{inputs[0]} * {attr}",
        parameter=lambda op: torch.full(op.shape, op.value),
        parameter_source=lambda op: Ctor(
            "nn.Parameter(torch.full", (Arg(op.shape, hint="shape"), Arg(op.value, hint="value")), close=")"
        ),
    ),
    "add": TorchOp(
        function=lambda op, owner, name: _add,
        inline=lambda op, inputs, attr, inplace: " + ".join(inputs),
    ),
    "mul": TorchOp(
        function=lambda op, owner, name: _mul,
        inline=lambda op, inputs, attr, inplace: " * ".join(inputs),
    ),
    "concat": TorchOp(
        function=lambda op, owner, name: partial(_concat, torch_dim(op.dim)),
        inline=lambda op, inputs, attr, inplace: f"torch.cat([{', '.join(inputs)}], dim={torch_dim(op.dim)})",
    ),
    "select_token": TorchOp(
        function=lambda op, owner, name: partial(_select_token, op.index),
        inline=lambda op, inputs, attr, inplace: f"{inputs[0]}[:, {op.index!r}]",
    ),
    "patch_embed": TorchOp(
        module=lambda op, inplace: layers.PatchEmbed(op.in_channels, op.hidden_dim, op.patch_size),
        source=lambda op, inplace: Ctor(
            "PatchEmbed",
            (
                Arg(op.in_channels, hint="in_channels"),
                Arg(op.hidden_dim, hint="hidden_dim"),
                Arg(op.patch_size, hint="patch_size"),
            ),
            layers=("PatchEmbed",),
        ),
    ),
    "class_token": TorchOp(
        function=lambda op, owner, name: partial(_prepend_token, owner, name),
        inline=lambda op, inputs, attr, inplace: (
            f"torch.cat([{attr}.expand({inputs[0]}.shape[0], -1, -1), {inputs[0]}], dim=1)"
        ),
        parameter=lambda op: torch.zeros(1, 1, op.hidden_dim),
        parameter_source=lambda op: Ctor(
            "nn.Parameter(torch.zeros", (Arg(1), Arg(1), Arg(op.hidden_dim, hint="hidden_dim")), close=")"
        ),
    ),
    "position_embedding": TorchOp(
        function=lambda op, owner, name: partial(_add_embedding, owner, name),
        inline=lambda op, inputs, attr, inplace: f"{inputs[0]} + {attr}",
        parameter=lambda op: torch.empty(1, op.length, op.hidden_dim).normal_(std=0.02),
        parameter_source=lambda op: Ctor(
            "nn.Parameter(torch.empty",
            (Arg(1), Arg(op.length, hint="length"), Arg(op.hidden_dim, hint="hidden_dim")),
            close=".normal_(std=0.02))",
        ),
    ),
    "attention": TorchOp(
        module=_attention,
        source=_attention_source,
        wrap=lambda module: partial(_self_attention, module),
        call=lambda attr, inputs: f"{attr}({inputs[0]}, {inputs[0]}, {inputs[0]}, need_weights=False)[0]",
    ),
    "mlp": TorchOp(module=_mlp, source=_mlp_source),
    "shifted_window_attention": TorchOp(module=_window_attention, source=_window_attention_source),
    "patch_merging": TorchOp(
        module=lambda op, inplace: layers.PatchMerging(op.dim, eps=op.eps),
        source=lambda op, inplace: Ctor(
            "PatchMerging", (Arg(op.dim, hint="dim"), Arg(op.eps, "eps", 1e-5)), layers=("PatchMerging",)
        ),
    ),
}


def torch_op(op: Op) -> TorchOp:
    """The torch entry of an op (a KeyError names the kind when an op has no torch realisation yet)."""
    return TORCH_OPS[op.kind]
