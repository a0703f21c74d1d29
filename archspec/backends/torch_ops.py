"""Each op kind in torch: the module it builds, or the function the in-memory plan calls.

``TORCH_OPS`` is the one place per op for torch at run time; ``source_ops.SOURCE_OPS`` holds the same
op written as source text (kept apart so that ``archspec compile`` needs no torch). Adding an op means
adding its entry in both (a test checks that they cover the same ops) and its custom layer in
``torch_layers`` if torch lacks one. An entry gives

- ``module(op, inplace)``: the ``nn.Module`` (registered under the node's name, so its parameters get
  the node's dotted name);
- or, for ops without a module of their own, ``function(op, owner, name)``: a callable for the
  in-memory plan (``owner`` is the container; ClassToken/PositionEmbedding keep their parameter there);
- ``wrap(module)``: how a module is called when not plainly (attention unpacks its tuple);
- ``parameter(op)``: the initial value of the parameter an op keeps in its owner.

A batch dimension is prepended at run time, so per-sample dims (``concat``'s, ``softmax``'s) shift by one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from archspec.backends import torch_layers as layers
from archspec.backends.source_ops import torch_dim
from archspec.ops import Op

ModuleFn = Callable[[Any, bool], nn.Module]
FunctionFn = Callable[[Any, nn.Module, str], Callable[..., torch.Tensor]]


@dataclass(frozen=True)
class TorchOp:
    """How one op kind becomes torch (see the module docstring)."""

    module: ModuleFn | None = None
    function: FunctionFn | None = None
    wrap: Callable[[nn.Module], Callable[..., torch.Tensor]] | None = None
    parameter: Callable[[Any], torch.Tensor] | None = None


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


def _linear(op: Any, inplace: bool) -> nn.Module:
    return nn.Linear(op.in_features, op.out_features, op.bias)


def _rbf(op: Any, inplace: bool) -> nn.Module:
    return layers.RBF(op.in_features, op.units)


# ---------------------------------------------------------------- normalisation


def _batchnorm(op: Any, inplace: bool) -> nn.Module:
    cls = nn.BatchNorm2d if op.spatial else nn.BatchNorm1d
    return cls(op.num_features, eps=op.eps, momentum=op.momentum, affine=op.affine)


def _layernorm(op: Any, inplace: bool) -> nn.Module:
    cls = layers.LayerNorm2d if op.channels_first else nn.LayerNorm
    return cls(op.normalized_shape, eps=op.eps, elementwise_affine=op.elementwise_affine)


def _lrn(op: Any, inplace: bool) -> nn.Module:
    return nn.LocalResponseNorm(op.size, op.alpha, op.beta, op.k)


# ---------------------------------------------------------------- pooling


def _maxpool(op: Any, inplace: bool) -> nn.Module:
    return nn.MaxPool2d(op.kernel_size, op.step, op.padding, op.dilation, ceil_mode=op.ceil_mode)


def _avgpool(op: Any, inplace: bool) -> nn.Module:
    return nn.AvgPool2d(op.kernel_size, op.step, op.padding, op.ceil_mode, op.count_include_pad)


def _subsample(op: Any, inplace: bool) -> nn.Module:
    return layers.Subsample(op.channels, op.kernel_size, op.step, op.padding, op.ceil_mode)


# ---------------------------------------------------------------- activations


def _simple(make: Callable[[], nn.Module]) -> TorchOp:
    """A parameterless module without arguments."""
    return TorchOp(module=lambda op, inplace: make())


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


def _attention(op: Any, inplace: bool) -> nn.Module:
    return nn.MultiheadAttention(
        op.embed_dim, op.num_heads, dropout=op.dropout, bias=op.bias, batch_first=True
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


TORCH_OPS: dict[str, TorchOp] = {
    "conv2d": TorchOp(module=_conv),
    "linear": TorchOp(module=_linear),
    "rbf": TorchOp(module=_rbf),
    "batchnorm": TorchOp(module=_batchnorm),
    "layernorm": TorchOp(module=_layernorm),
    "lrn": TorchOp(module=_lrn),
    "maxpool2d": TorchOp(module=_maxpool),
    "avgpool2d": TorchOp(module=_avgpool),
    "adaptive_avgpool2d": TorchOp(module=lambda op, inplace: nn.AdaptiveAvgPool2d(op.output_size)),
    "global_avgpool": TorchOp(module=lambda op, inplace: nn.AdaptiveAvgPool2d(1)),
    "subsample": TorchOp(module=_subsample),
    "relu": TorchOp(module=lambda op, inplace: nn.ReLU(inplace=inplace)),
    "relu6": TorchOp(module=lambda op, inplace: nn.ReLU6(inplace=inplace)),
    "tanh": _simple(nn.Tanh),
    "sigmoid": _simple(nn.Sigmoid),
    "scaled_tanh": TorchOp(module=lambda op, inplace: layers.ScaledTanh(op.amplitude, op.slope)),
    "gelu": TorchOp(module=lambda op, inplace: nn.GELU(approximate=op.approximate)),
    "silu": _simple(nn.SiLU),
    "hardswish": _simple(nn.Hardswish),
    "hardsigmoid": _simple(nn.Hardsigmoid),
    "softmax": TorchOp(module=lambda op, inplace: nn.Softmax(dim=torch_dim(op.dim))),
    "identity": _simple(nn.Identity),
    "flatten": _simple(nn.Flatten),
    "dropout": TorchOp(module=lambda op, inplace: nn.Dropout(op.p)),
    "stochastic_depth": TorchOp(module=lambda op, inplace: layers.StochasticDepth(op.p, op.mode)),
    "pad": TorchOp(function=_pad),
    "chunk": TorchOp(
        function=lambda op, owner, name: partial(_chunk, op.chunks, op.index, torch_dim(op.dim))
    ),
    "split": TorchOp(function=lambda op, owner, name: partial(_split, op.sizes, op.index, torch_dim(op.dim))),
    "channel_shuffle": TorchOp(function=lambda op, owner, name: partial(_channel_shuffle, op.groups)),
    "permute": TorchOp(function=lambda op, owner, name: partial(_permute, (0, *(d + 1 for d in op.dims)))),
    "layer_scale": TorchOp(
        function=lambda op, owner, name: partial(_scale, owner, name),
        parameter=lambda op: torch.full(op.shape, op.value),
    ),
    "add": TorchOp(function=lambda op, owner, name: _add),
    "mul": TorchOp(function=lambda op, owner, name: _mul),
    "concat": TorchOp(function=lambda op, owner, name: partial(_concat, torch_dim(op.dim))),
    "select_token": TorchOp(function=lambda op, owner, name: partial(_select_token, op.index)),
    "patch_embed": TorchOp(
        module=lambda op, inplace: layers.PatchEmbed(op.in_channels, op.hidden_dim, op.patch_size)
    ),
    "class_token": TorchOp(
        function=lambda op, owner, name: partial(_prepend_token, owner, name),
        parameter=lambda op: torch.zeros(1, 1, op.hidden_dim),
    ),
    "position_embedding": TorchOp(
        function=lambda op, owner, name: partial(_add_embedding, owner, name),
        parameter=lambda op: torch.empty(1, op.length, op.hidden_dim).normal_(std=0.02),
    ),
    "attention": TorchOp(module=_attention, wrap=lambda module: partial(_self_attention, module)),
    "mlp": TorchOp(module=_mlp),
    "shifted_window_attention": TorchOp(module=_window_attention),
    "patch_merging": TorchOp(module=lambda op, inplace: layers.PatchMerging(op.dim, eps=op.eps)),
}


def torch_op(op: Op) -> TorchOp:
    """The torch entry of an op (a KeyError names the kind when an op has no torch realisation yet)."""
    return TORCH_OPS[op.kind]
