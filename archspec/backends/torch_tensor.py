"""The torch realisation of the tensor primitives (``archspec.ops.tensor``): ``param`` and ``buffer``
held by their enclosing module under their names, ``gather``, ``matmul`` and ``einsum``.

Each works on a batched activation and on an unbatched tensor computed from parameters and buffers
alike (``Node.batched``): axes are counted from the end, and einsum's ``...`` stands for the batch axis
where there is one. Imported by ``torch_ops`` (which it registers into).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from archspec.backends.torch_entry import register
from archspec.ops.tensor import Buffer, Einsum, Gather, Matmul, Param


def _state(owner: nn.Module, name: str) -> torch.Tensor:
    tensor: torch.Tensor = getattr(owner, name)
    return tensor


def _attribute(op: Param | Buffer, owner: nn.Module, name: str) -> Callable[[], torch.Tensor]:
    return partial(_state, owner, name)


def initial_param(op: Param) -> torch.Tensor:
    """A param's value at construction: its declared scheme applied to a new tensor (drawing random
    numbers now, in module order, as a torch module's ``__init__`` does)."""
    tensor = torch.empty(op.shape)
    getattr(nn.init, op.init + "_")(tensor, **op.init_args)
    return tensor


def buffer_value(op: Buffer) -> torch.Tensor:
    """A buffer's value (its dtype and shape)."""
    return torch.tensor(op.values, dtype=getattr(torch, op.dtype)).reshape(op.shape)


def gather(table_rank: int, table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``table[index]`` along the table's first per-sample axis, counted from the end: right with a
    batch axis in front of the table or of the index (lowering refuses both)."""
    dim = -table_rank
    picked = table.index_select(dim, index.flatten())
    shape = (*picked.shape[: picked.dim() + dim], *index.shape, *picked.shape[picked.dim() + dim + 1 :])
    return picked.reshape(shape)


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``torch.matmul`` (lowering refuses a batched input with fewer axes than the other, whose batch
    axis torch would align with the other's leading axes)."""
    return torch.matmul(a, b)


def einsum(op: Einsum, *operands: torch.Tensor) -> torch.Tensor:
    """``torch.einsum`` of a per-sample pattern, ``...`` standing for the batch axis of the operands that
    have one (``Einsum.torch_equation``)."""
    letters, _ = op.letters()
    batched = [tensor.dim() > len(part) for part, tensor in zip(letters, operands, strict=True)]
    return torch.einsum(op.torch_equation(batched), *operands)


def _einsum(op: Einsum, owner: nn.Module, name: str) -> Callable[..., torch.Tensor]:
    return partial(einsum, op)


register(Param, function=_attribute, parameter=initial_param)
register(Buffer, function=_attribute, buffer=buffer_value)
register(Gather, function=lambda op, owner, name: partial(gather, len(op.table_shape)))
register(Matmul, function=lambda op, owner, name: matmul)
register(Einsum, function=_einsum)
