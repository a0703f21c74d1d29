"""Counting passes: parameters, buffers, MACs and FLOPs of every node, and the network's depth."""

from __future__ import annotations

from dataclasses import dataclass

from archspec.ir import Graph
from archspec.ops import Op, Shape
from archspec.records import FrozenRecord, set_field

COUNT_CONVENTIONS = ("torchvision", "all")


@dataclass(init=False, repr=False, eq=False)
class NodeCounts(FrozenRecord):
    """What one node costs."""

    params: int
    trainable_params: int
    buffers: int
    macs: int
    extra_flops: int

    def __init__(self, params: int, trainable_params: int, buffers: int, macs: int, extra_flops: int) -> None:
        set_field(self, "params", params)
        set_field(self, "trainable_params", trainable_params)
        set_field(self, "buffers", buffers)
        set_field(self, "macs", macs)
        set_field(self, "extra_flops", extra_flops)

    def flops(self, count: str) -> int:
        """FLOPs under a counting convention (see ``flops``)."""
        return flops(self.macs, self.extra_flops, count)


def flops(macs: int, extra_flops: int, count: str) -> int:
    """FLOPs under a counting convention: 2 x MACs, plus the per-op extras under ``all``."""
    return 2 * macs + (extra_flops if count == "all" else 0)


def node_counts(graph: Graph) -> dict[int, NodeCounts]:
    """Counts of every node, by id, from the op classes' own rules."""
    result: dict[int, NodeCounts] = {}
    nodes = graph.nodes
    for node in nodes:
        op = node.op
        inputs = tuple(nodes[i].shape for i in node.inputs)
        key = (id(op), inputs)
        known = _COUNTED.get(key)
        if known is not None and known[0] is op:
            result[node.id] = known[1]
            continue
        params = op.param_count()
        counts = NodeCounts(
            params=params,
            trainable_params=params,
            buffers=op.buffer_count(),
            macs=op.macs(inputs, node.shape),
            extra_flops=op.extra_flops(inputs, node.shape),
        )
        if len(_COUNTED) >= _COUNTED_LIMIT:
            _COUNTED.clear()
        _COUNTED[key] = (op, counts)
        result[node.id] = counts
    return result


# The counts of an op over its input shapes, by the op's identity: lowering makes one op object per
# distinct layer (``elab.graph.created``), which the layers of a search loop's variants share; the op
# held beside its counts keeps its id from being reused. Bounded: cleared when full.
_COUNTED: dict[tuple[int, tuple[Shape, ...]], tuple[Op, NodeCounts]] = {}
_COUNTED_LIMIT = 20_000


def node_depths(graph: Graph) -> dict[int, int]:
    """For every node, the number of conv / linear / attention layers on the longest path up to it."""
    longest: dict[int, int] = {}
    for node in graph.nodes:
        inputs = node.inputs
        if len(inputs) == 1:
            before = longest[inputs[0]]
        else:
            before = max([longest[i] for i in inputs]) if inputs else 0
        op = node.op
        known = _DEPTHS.get(id(op))
        if known is None or known[0] is not op:
            if len(_DEPTHS) >= _COUNTED_LIMIT:
                _DEPTHS.clear()
            known = _DEPTHS[id(op)] = (op, op.depth())  # conv, linear, attention: 1 (Op.depth_weight)
        longest[node.id] = before + known[1]
    return longest


# ``op.depth()`` by the op's identity, as ``_COUNTED``.
_DEPTHS: dict[int, tuple[Op, int]] = {}


def layer_depth(graph: Graph) -> int:
    """Number of conv / linear / attention layers on the longest path from input to output."""
    return node_depths(graph)[graph.output]
