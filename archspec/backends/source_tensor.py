"""The tensor primitives (``archspec.ops.tensor``) as generated source: ``param`` as an ``nn.Parameter``
and ``buffer`` as a registered buffer of the enclosing module, under their declared names, and
``gather``, ``matmul`` and ``einsum`` as expressions in ``forward``. No torch here.

A generated ``forward`` knows which of its values have a batch axis (``Node.batched``), but an inline
expression is written from the op alone; so each is written in a form right for both: matmul and
einsum as torch broadcasts them from the last axis, gather along the table's first axis counted from
its end.
"""

from __future__ import annotations

from collections.abc import Sequence

from archspec.backends.source_entry import Arg, Ctor, register
from archspec.ops import Op
from archspec.ops.structure import Permute
from archspec.ops.tensor import Buffer, Einsum, Gather, Matmul, Param

# A buffer holding more numbers than this is written as the computation the spec gives, where it can be.
_LITERAL_LIMIT = 64


def _param_source(op: Param) -> Ctor:
    """``nn.Parameter(nn.init.trunc_normal_(torch.empty(169, 3), std=0.02))``; zeros as torch.zeros."""
    sizes = tuple(Arg(size) for size in op.shape)
    if op.init == "zeros":
        return Ctor("nn.Parameter(torch.zeros", sizes, close=")")
    if op.init == "ones":
        return Ctor("nn.Parameter(torch.ones", sizes, close=")")
    options = "".join(f", {k}={v!r}" for k, v in op.init_args.items())
    return Ctor(f"nn.Parameter(nn.init.{op.init}_(torch.empty", sizes, close=f"{options}))")


def buffer_expression(op: Buffer) -> str:
    """The buffer's value as ``torch.tensor(...)``: the spec's computation, or its numbers when few."""
    inferred = "bool" if all(isinstance(v, bool) for v in op.values) else None
    if inferred is None:
        inferred = "int64" if all(isinstance(v, int) for v in op.values) else "float32"
    dtype = "" if op.dtype == inferred else f", dtype=torch.{op.dtype}"
    return f"torch.tensor({buffer_data(op)}{dtype})"


def buffer_data(op: Buffer) -> str:
    """The buffer's elements as Python source: the spec's computation, or its numbers when few."""
    if op.source is not None and (len(op.values) > _LITERAL_LIMIT or "[" not in op.source[1:]):
        return op.source
    return _nested(op.values, op.shape)


def register_buffer(local: str, op: Op, value: str) -> str:
    """The ``__init__`` line that registers a buffer op's value under its name; a buffer that is not
    persistent goes through ``computed_buffer`` (copied from ``torch_layers``), which sets it again after
    each ``load_state_dict``, so a module moved with ``to_empty()`` and then loaded computes right."""
    if isinstance(op, Buffer) and not op.persistent:
        return f"computed_buffer(self, {local!r}, {buffer_data(op)}, torch.{op.dtype}, {tuple(op.shape)!r})"
    persistent = "" if getattr(op, "persistent", True) else ", persistent=False"
    return f"self.register_buffer({local!r}, {value}{persistent})"


def _nested(values: Sequence[float | int | bool], shape: Sequence[int]) -> str:
    if len(shape) == 1:
        return "[" + ", ".join(repr(v) for v in values) + "]"
    step = len(values) // shape[0]
    rows = [_nested(values[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]
    return "[" + ", ".join(rows) + "]"


def _gather(op: Gather, inputs: Sequence[str]) -> str:
    # Along the table's first per-sample axis, counted from the end: right with a batch axis in front of
    # either the table or the index.
    table, index = inputs
    dim = -len(op.table_shape)
    return f"{table}.index_select({dim}, {index}.flatten()).unflatten({dim}, {index}.shape)"


def _einsum(op: Einsum, inputs: Sequence[str]) -> str:
    letters, output = op.letters()
    parts = ",".join("..." + part for part in letters)
    return f"torch.einsum({parts + '->...' + output!r}, {', '.join(inputs)})"


register(
    Param,
    inline=lambda op, inputs, attr, inplace: attr,
    parameter_source=_param_source,
)
register(
    Buffer,
    inline=lambda op, inputs, attr, inplace: attr,
    buffer_source=buffer_expression,
)
register(Gather, inline=lambda op, inputs, attr, inplace: _gather(op, inputs))
register(Matmul, inline=lambda op, inputs, attr, inplace: f"{inputs[0]} @ {inputs[1]}")
register(Einsum, inline=lambda op, inputs, attr, inplace: _einsum(op, inputs))


def batch_aware_inline(op: Op, inputs: Sequence[str], batched: Sequence[bool], out: bool) -> str | None:
    """An op written as it reads best knowing which values have a batch axis (``Node.batched``: of its
    inputs, and ``out`` of its output), where its usual text assumes one or reads worse; None where the
    usual text is the one."""
    if isinstance(op, Permute) and not out:  # the usual text names the batch axis first
        return f"{inputs[0]}.permute({', '.join(str(d) for d in op.dims)})"
    if isinstance(op, Gather) and not batched[0]:  # one table: plain indexing picks its rows
        return f"{inputs[0]}[{inputs[1]}]"
    if isinstance(op, Einsum) and not all(batched):  # `...` on the operands with a batch axis only
        return f"torch.einsum({op.torch_equation(batched)!r}, {', '.join(inputs)})"
    return None
