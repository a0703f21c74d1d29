"""Each op kind in torch: the module it builds, or the function the in-memory plan calls.

Each op's entry is registered against its class (``register(Linear, module=...)``), typed by it, so that
mypy sees the fields a realisation reads. ``TORCH_OPS`` (by kind) is built from those registrations;
``source_ops.SOURCE_OPS`` holds the same op written as source text (kept apart so that ``archspec compile``
needs no torch). Adding an op means registering it in both (tests/test_codegen.py checks that every op
class has both, and tests/test_op_definition.py adds an op in one file) and adding its custom layer in
``torch_layers`` if torch lacks one. An entry gives

- ``module(op, inplace)``: the ``nn.Module`` (registered under the node's name, so its parameters get
  the node's dotted name);
- or, for ops without a module of their own, ``function(op, owner, name)``: a callable for the
  in-memory plan (``owner`` is the container; ClassToken/PositionEmbedding keep their parameter there);
- ``wrap(module)``: how a module is called when not plainly (attention unpacks its tuple);
- ``parameter(op)``: the initial value of the parameter an op keeps in its owner;
- ``buffer(op)``: the value of the buffer an op keeps in its owner (``persistent`` as the op says).

A batch dimension is prepended at run time, so per-sample dims (``concat``'s, ``softmax``'s) shift by one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import einops
import torch
import torch.nn.functional as F
from torch import nn

from archspec.backends import torch_layers as layers
from archspec.backends import torch_tensor as _torch_tensor  # noqa: F401  (registers the tensor primitives)
from archspec.backends.source_ops import reduce_dims, torch_dim
from archspec.backends.torch_entry import TORCH_OPS as TORCH_OPS  # complete once this module is imported
from archspec.backends.torch_entry import TorchOp
from archspec.backends.torch_entry import register as register  # a new op registers through torch_ops
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
)
from archspec.ops.swin import PatchMerging, ShiftedWindowAttention
from archspec.ops.vit import ClassToken, MultiheadAttention, PatchEmbed, PositionEmbedding, SelectToken

# ---------------------------------------------------------------- convolution and dense


def _conv(op: Conv2d, inplace: bool) -> nn.Module:
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


def _linear(op: Linear, inplace: bool) -> nn.Module:
    if isinstance(op.bias, tuple):
        return layers.PartialBiasLinear(op.in_features, op.out_features, op.bias)
    return nn.Linear(op.in_features, op.out_features, op.bias)


def _rbf(op: RBF, inplace: bool) -> nn.Module:
    return layers.RBF(op.in_features, op.units)


# ---------------------------------------------------------------- normalisation


def _batchnorm(op: BatchNorm, inplace: bool) -> nn.Module:
    cls = nn.BatchNorm2d if op.spatial else nn.BatchNorm1d
    return cls(op.num_features, eps=op.eps, momentum=op.momentum, affine=op.affine)


def _layernorm(op: LayerNorm, inplace: bool) -> nn.Module:
    cls = layers.LayerNorm2d if op.channels_first else nn.LayerNorm
    return cls(op.normalized_shape, eps=op.eps, elementwise_affine=op.elementwise_affine)


def _lrn(op: LocalResponseNorm, inplace: bool) -> nn.Module:
    return nn.LocalResponseNorm(op.size, op.alpha, op.beta, op.k)


# ---------------------------------------------------------------- pooling


def _maxpool(op: MaxPool2d, inplace: bool) -> nn.Module:
    return nn.MaxPool2d(op.kernel_size, op.step, op.padding, op.dilation, ceil_mode=op.ceil_mode)


def _avgpool(op: AvgPool2d, inplace: bool) -> nn.Module:
    return nn.AvgPool2d(op.kernel_size, op.step, op.padding, op.ceil_mode, op.count_include_pad)


def _subsample(op: Subsample, inplace: bool) -> nn.Module:
    return layers.Subsample(op.channels, op.kernel_size, op.step, op.padding, op.ceil_mode)


# ---------------------------------------------------------------- activations


def _simple(make: Callable[[], nn.Module]) -> Callable[[Op, bool], nn.Module]:
    """A parameterless module without arguments."""
    return lambda op, inplace: make()


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


def _sub(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a - b


def _div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a / b


def aligned_index(rank: int, out_rank: int) -> tuple[Any, ...]:
    """The index that gives a tensor of per-sample rank ``rank`` the missing leading axes of size 1
    after its batch axis (``x[..., None, :]``); without a batch axis the new axes lead, as torch would."""
    return (..., *(None,) * (out_rank - rank), *(slice(None),) * rank)


def _broadcasting(merge: Callable[..., torch.Tensor], ranks: tuple[int, ...]) -> Callable[..., torch.Tensor]:
    """``merge`` of inputs whose per-sample ranks differ: each shorter one aligned from its last axis."""
    if not ranks:
        return merge
    top = max(ranks)

    def aligned(*values: torch.Tensor) -> torch.Tensor:
        return merge(
            *(v if r == top else v[aligned_index(r, top)] for v, r in zip(values, ranks, strict=True))
        )

    return aligned


def _plus(amount: float, x: torch.Tensor) -> torch.Tensor:
    return x + amount


def _average(*values: torch.Tensor) -> torch.Tensor:
    return _add(*values) / len(values)


def _times(factor: float, x: torch.Tensor) -> torch.Tensor:
    return x * factor


def _neg(x: torch.Tensor) -> torch.Tensor:
    return -x


def _mean(dims: tuple[int, ...], keepdim: bool, x: torch.Tensor) -> torch.Tensor:
    return x.mean(dims, keepdim=keepdim)


def _sum(dims: tuple[int, ...], keepdim: bool, x: torch.Tensor) -> torch.Tensor:
    return x.sum(dims, keepdim=keepdim)


def _concat(dim: int, *values: torch.Tensor) -> torch.Tensor:
    return torch.cat(values, dim)


def _permute(dims: tuple[int, ...], x: torch.Tensor) -> torch.Tensor:
    # Per-sample dims after the leading (batch) axis, when there is one: a tensor computed from
    # parameters alone has none (Node.batched).
    lead = x.dim() - len(dims)
    return x.permute(*range(lead), *(lead + d for d in dims))


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


def _pad(op: Pad, owner: nn.Module, name: str) -> Callable[..., torch.Tensor]:
    return partial(F.pad, pad=op.padding(), mode="constant", value=op.value)


# ---------------------------------------------------------------- vision transformer


def _prepend_token(owner: nn.Module, name: str, x: torch.Tensor) -> torch.Tensor:
    token: torch.Tensor = getattr(owner, name)
    return torch.cat([token.expand(x.shape[0], -1, -1), x], dim=1)


def _add_embedding(owner: nn.Module, name: str, x: torch.Tensor) -> torch.Tensor:
    embedding: torch.Tensor = getattr(owner, name)
    return x + embedding


def _position_table(op: PositionEmbedding) -> torch.Tensor:
    if op.length is None:  # the lowering fills it from the input when the spec leaves it out
        raise InternalError("position_embedding without a length")
    return torch.empty(1, op.length, op.hidden_dim).normal_(std=0.02)


def _self_attention(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out: torch.Tensor = module(x, x, x, need_weights=False)[0]
    return out


def _attention(op: MultiheadAttention, inplace: bool) -> nn.Module:
    return nn.MultiheadAttention(
        op.embed_dim, op.num_heads, dropout=op.dropout, bias=op.bias, batch_first=True
    )


def _window_attention(op: ShiftedWindowAttention, inplace: bool) -> nn.Module:
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


register(Conv2d, module=_conv)
register(Linear, module=_linear)
register(RBF, module=_rbf)
register(BatchNorm, module=_batchnorm)
register(LayerNorm, module=_layernorm)
register(
    GroupNorm,
    module=lambda op, inplace: nn.GroupNorm(op.num_groups, op.num_channels, eps=op.eps, affine=op.affine),
)
register(LocalResponseNorm, module=_lrn)
register(MaxPool2d, module=_maxpool)
register(AvgPool2d, module=_avgpool)
register(AdaptiveAvgPool2d, module=lambda op, inplace: nn.AdaptiveAvgPool2d(op.output_size))
register(GlobalAvgPool, module=lambda op, inplace: nn.AdaptiveAvgPool2d(1))
register(Subsample, module=_subsample)
register(ReLU, module=lambda op, inplace: nn.ReLU(inplace=inplace))
register(ReLU6, module=lambda op, inplace: nn.ReLU6(inplace=inplace))
register(Tanh, module=_simple(nn.Tanh))
register(Sigmoid, module=_simple(nn.Sigmoid))
register(ScaledTanh, module=lambda op, inplace: layers.ScaledTanh(op.amplitude, op.slope))
register(GELU, module=lambda op, inplace: nn.GELU(approximate=op.approximate))
register(SiLU, module=_simple(nn.SiLU))
register(Hardswish, module=_simple(nn.Hardswish))
register(Hardsigmoid, module=_simple(nn.Hardsigmoid))
register(Softmax, module=lambda op, inplace: nn.Softmax(dim=op.torch_dim()))
register(Identity, module=_simple(nn.Identity))
register(Flatten, module=_simple(nn.Flatten))
register(Dropout, module=lambda op, inplace: nn.Dropout(op.p))
register(StochasticDepth, module=lambda op, inplace: layers.StochasticDepth(op.p, op.mode))
register(Pad, function=_pad)
register(Chunk, function=lambda op, owner, name: partial(_chunk, op.chunks, op.index, torch_dim(op.dim)))
register(Split, function=lambda op, owner, name: partial(_split, op.sizes, op.index, torch_dim(op.dim)))
register(ChannelShuffle, function=lambda op, owner, name: partial(_channel_shuffle, op.groups))
register(Permute, function=lambda op, owner, name: partial(_permute, op.dims))
register(
    LayerScale,
    function=lambda op, owner, name: partial(_scale, owner, name),
    parameter=lambda op: torch.full(op.shape, op.value),
)
register(Add, function=lambda op, owner, name: _broadcasting(_add, op.ranks))
register(Mul, function=lambda op, owner, name: _broadcasting(_mul, op.ranks))
register(Sub, function=lambda op, owner, name: _broadcasting(_sub, op.ranks))
register(Div, function=lambda op, owner, name: _broadcasting(_div, op.ranks))
register(Average, function=lambda op, owner, name: _broadcasting(_average, op.ranks))
register(Exp, function=lambda op, owner, name: torch.exp)
register(Log, function=lambda op, owner, name: torch.log)
register(Sqrt, function=lambda op, owner, name: torch.sqrt)
register(Abs, function=lambda op, owner, name: torch.abs)
register(Clamp, function=lambda op, owner, name: partial(torch.clamp, min=op.min, max=op.max))
register(Shift, function=lambda op, owner, name: partial(_plus, op.amount))
register(
    Normalize,
    function=lambda op, owner, name: partial(F.normalize, p=2.0, dim=op.torch_dim(), eps=op.eps),
)
register(
    Rearrange,
    function=lambda op, owner, name: partial(einops.rearrange, pattern=op.torch_pattern(), **dict(op.sizes)),
)
register(Roll, function=lambda op, owner, name: partial(torch.roll, shifts=op.shifts, dims=op.torch_dims()))
register(Scale, function=lambda op, owner, name: partial(_times, op.factor))
register(Neg, function=lambda op, owner, name: _neg)
register(Mean, function=lambda op, owner, name: partial(_mean, _torch_dims(op), op.keepdim))
register(Sum, function=lambda op, owner, name: partial(_sum, _torch_dims(op), op.keepdim))
register(Concat, function=lambda op, owner, name: partial(_concat, torch_dim(op.dim)))
register(SelectToken, function=lambda op, owner, name: partial(_select_token, op.index))
register(
    PatchEmbed, module=lambda op, inplace: layers.PatchEmbed(op.in_channels, op.hidden_dim, op.patch_size)
)
register(
    ClassToken,
    function=lambda op, owner, name: partial(_prepend_token, owner, name),
    parameter=lambda op: torch.zeros(1, 1, op.hidden_dim),
)
register(
    PositionEmbedding,
    function=lambda op, owner, name: partial(_add_embedding, owner, name),
    parameter=_position_table,
)
register(MultiheadAttention, module=_attention, wrap=lambda module: partial(_self_attention, module))
register(ShiftedWindowAttention, module=_window_attention)
register(PatchMerging, module=lambda op, inplace: layers.PatchMerging(op.dim, eps=op.eps))


def _torch_dims(op: Mean | Sum) -> tuple[int, ...]:
    return reduce_dims(op)


def torch_op(op: Op) -> TorchOp:
    """The torch entry of an op: its class's."""
    entry = TORCH_OPS.get(op.kind)
    if entry is not None:
        return entry
    raise InternalError(f"op {op.kind} has no torch realisation (register it in backends.torch_ops)")


def build_module(op: Op, inplace: bool = False) -> nn.Module:
    """The module of an op that has one, on its own (tests build each op's module this way)."""
    make = torch_op(op).module
    if make is None:
        raise InternalError(f"op {op.kind} is a function, not a module")
    return make(op, inplace)


def missing() -> list[str]:
    """The kinds of the registered op classes that no torch entry covers (tests keep this empty)."""
    return [
        kind
        for kind, cls in OPS_BY_KIND.items()
        if kind not in TORCH_OPS and (cls.called_by_specs or cls.state)
    ]
