"""The op library: one class per op (see ``archspec.ops.base.Op``), and the registry of spec names."""

from typing import Annotated

from pydantic import Field

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
from archspec.ops.base import Op, OpError, RFEffect, RFStep, Saved, Shape, format_shape, numel
from archspec.ops.conv import Conv2d
from archspec.ops.dense import RBF, Linear
from archspec.ops.norm import BatchNorm, LayerNorm, LayerScale, LocalResponseNorm
from archspec.ops.pool import AdaptiveAvgPool2d, AvgPool2d, GlobalAvgPool, MaxPool2d, Subsample
from archspec.ops.structure import (
    Add,
    ChannelShuffle,
    Chunk,
    Concat,
    Dropout,
    Flatten,
    Input,
    Mul,
    Pad,
    Permute,
    Split,
    StochasticDepth,
)
from archspec.ops.swin import PatchMerging, ShiftedWindowAttention
from archspec.ops.vit import MLP, ClassToken, MultiheadAttention, PatchEmbed, PositionEmbedding, SelectToken

OP_CLASSES: tuple[type[Op], ...] = (
    Input,
    Conv2d,
    Linear,
    MaxPool2d,
    AvgPool2d,
    AdaptiveAvgPool2d,
    GlobalAvgPool,
    Subsample,
    BatchNorm,
    LayerNorm,
    LayerScale,
    LocalResponseNorm,
    ReLU,
    ReLU6,
    Tanh,
    ScaledTanh,
    Sigmoid,
    GELU,
    SiLU,
    Hardswish,
    Hardsigmoid,
    Softmax,
    Identity,
    Flatten,
    Permute,
    Chunk,
    Split,
    ChannelShuffle,
    Dropout,
    StochasticDepth,
    Pad,
    Concat,
    Add,
    Mul,
    RBF,
    PatchEmbed,
    ClassToken,
    PositionEmbedding,
    MultiheadAttention,
    MLP,
    SelectToken,
    ShiftedWindowAttention,
    PatchMerging,
)

AnyOp = Annotated[
    Input
    | Conv2d
    | Linear
    | MaxPool2d
    | AvgPool2d
    | AdaptiveAvgPool2d
    | GlobalAvgPool
    | Subsample
    | BatchNorm
    | LayerNorm
    | LayerScale
    | LocalResponseNorm
    | ReLU
    | ReLU6
    | Tanh
    | ScaledTanh
    | Sigmoid
    | GELU
    | SiLU
    | Hardswish
    | Hardsigmoid
    | Softmax
    | Identity
    | Flatten
    | Permute
    | Chunk
    | Split
    | ChannelShuffle
    | Dropout
    | StochasticDepth
    | Pad
    | Concat
    | Add
    | Mul
    | RBF
    | PatchEmbed
    | ClassToken
    | PositionEmbedding
    | MultiheadAttention
    | MLP
    | SelectToken
    | ShiftedWindowAttention
    | PatchMerging,
    Field(discriminator="kind"),
]

# Spec name (and alias) -> op class. `input` is not callable from a spec.
OPS_BY_NAME: dict[str, type[Op]] = {
    name: cls for cls in OP_CLASSES if cls is not Input for name in cls.spec_names
}
OPS_BY_KIND: dict[str, type[Op]] = {cls.model_fields["kind"].default: cls for cls in OP_CLASSES}

__all__ = [
    "OPS_BY_KIND",
    "OPS_BY_NAME",
    "OP_CLASSES",
    "AnyOp",
    "Op",
    "OpError",
    "RFEffect",
    "RFStep",
    "Saved",
    "Shape",
    "format_shape",
    "numel",
]
