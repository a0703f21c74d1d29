"""A graph's nodes read once: each field the passes walk (op, inputs, shape, batch axis, container) as a
tuple by node id.

A node is a pydantic model, whose ``__getattr__`` hook keeps the interpreter from specialising attribute
reads: ``node.op`` costs about 400 instructions, twice a list's item (docs/benchmarks.md, "Fourth round").
The memory and receptive-field passes read five fields of every node; ``columns`` reads them once per
graph, one C-level ``attrgetter`` call per node, and keeps them for the last graph asked about (analyze
asks from each pass; graphs are frozen, so identity is enough).
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from archspec.ir import Graph
from archspec.ops import Op, Shape

# (ops, inputs, shapes, batched, scopes): each a tuple by node id.
Columns = tuple[
    tuple[Op, ...], tuple[tuple[int, ...], ...], tuple[Shape, ...], tuple[bool, ...], tuple[str, ...]
]

_FIELDS = attrgetter("op", "inputs", "shape", "batched", "scope")


def columns(graph: Graph) -> Columns:
    """The op, inputs, shape, batch axis (``Node.batched``) and container of every node, by node id."""
    if _LAST[0] is not graph:
        ops, inputs, shapes, batched, scopes = zip(*map(_FIELDS, graph.nodes), strict=True)
        _LAST[:] = [graph, (ops, inputs, shapes, batched, scopes)]
    found: Columns = _LAST[1]
    return found


# The last graph asked about (kept alive, so that its identity is not reused) and its columns.
_LAST: list[Any] = [None, None]
