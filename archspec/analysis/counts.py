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
    return tally(graph)[0]


def tally(graph: Graph) -> tuple[dict[int, NodeCounts], tuple[int, int, int, int, int], int]:
    """Every node's counts (``node_counts``), their totals (params, trainable params, buffers, MACs, extra
    FLOPs) and the network's depth (``layer_depth``), in one walk over the nodes."""
    result: dict[int, NodeCounts] = {}
    nodes = graph.nodes
    longest = [0] * len(nodes)  # by node id: ids number the nodes in order
    params = trainable = buffers = macs = extra = 0
    memo = _COUNTED
    for node in nodes:
        op, ids = node.op, node.inputs
        inputs = (nodes[ids[0]].shape,) if len(ids) == 1 else tuple([nodes[i].shape for i in ids])
        known = memo.get(id(op))
        if known is None or known[0] is not op or known[1] != inputs:
            known = _counted(op, inputs, node.shape)
        counts = known[2]
        i = node.id
        result[i] = counts
        params += counts.params
        trainable += counts.trainable_params
        buffers += counts.buffers
        macs += counts.macs
        extra += counts.extra_flops
        if len(ids) == 1:
            longest[i] = longest[ids[0]] + known[3]
        else:
            longest[i] = (max([longest[j] for j in ids]) if ids else 0) + known[3]
    return result, (params, trainable, buffers, macs, extra), longest[graph.output]


_Counted = tuple[Op, tuple[Shape, ...], NodeCounts, int]  # the op, its input shapes, counts, depth weight


def _counted(op: Op, inputs: tuple[Shape, ...], output: Shape) -> _Counted:
    """An op's counts over these input shapes and its depth weight, kept in ``_COUNTED``."""
    key = (id(op), inputs)
    known = _BY_SHAPES.get(key)
    if known is None or known[0] is not op:
        params = op.param_count()
        counts = NodeCounts(
            params=params,
            trainable_params=params,
            buffers=op.buffer_count(),
            macs=op.macs(inputs, output),
            extra_flops=op.extra_flops(inputs, output),
        )
        known = (op, inputs, counts, op.depth())  # conv, linear, attention: 1 (Op.depth_weight)
        if len(_BY_SHAPES) >= _COUNTED_LIMIT:
            _BY_SHAPES.clear()
        _BY_SHAPES[key] = known
    if len(_COUNTED) >= _COUNTED_LIMIT:
        _COUNTED.clear()
    _COUNTED[id(op)] = known
    return known


# The counts of an op over its input shapes and its depth weight, by the op's identity: lowering makes
# one op object per distinct layer and input shapes (``elab.graph.created``), which the layers of a
# search loop's variants share; the op held beside its figures keeps its id from being reused.
# ``_COUNTED`` holds each op's last input shapes (compared, not hashed: a replayed block's nodes hold
# its template's shape tuples, whose comparison stops at the identity of each), ``_BY_SHAPES`` every
# pair, for an op read over several input shapes. Bounded: cleared when full.
_COUNTED: dict[int, _Counted] = {}
_BY_SHAPES: dict[tuple[int, tuple[Shape, ...]], _Counted] = {}
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
