"""Receptive-field pass (Araujo, Norelli and Soatto, Distill 2019), per spatial axis.

For each node: the size ``r`` of the input region one output unit sees, the effective stride ``j``
(distance in input pixels between neighbouring output units), the effective padding ``P`` and the centre
of the first output unit's region, ``(r - 1) / 2 - P``. One op step with kernel ``k``, stride ``s``,
padding ``p`` and dilation ``d`` does ``r += (k - 1) * d * j``, ``P += p * j``, ``j *= s``; ceil mode changes
only the output size.

A merge (add, concat, mul: any node with several inputs) sees the union of its inputs' regions, per axis:
the first unit's region starts at ``-max P`` and ends at ``max (r - 1 - P)`` over the inputs, which is the
largest ``r`` when the centres agree and more when they do not (a warning says so, and when the strides
differ, where the union grows from unit to unit, it is the first unit's with the largest stride). The
result depends on the inputs, never on their order. Global pooling, flattening a map larger than 1x1 and
attention make the field ``"global"``; before any spatial op it is ``None``.

A second pass gives the field of the spatial path: the same steps, with what global pooling produces
(the squeeze of a squeeze-and-excitation gate, the classifier's pooled vector) left out of every merge
with a spatial input, so that a gate scales its map without widening its field. An op that mixes
positions and keeps them (attention, a rearrange into windows or tokens, a product across tokens) makes
it global. A parameter, a buffer and what is computed from them alone have no field (they see no pixel).
``network_fields`` gives the network's two fields at its last feature maps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeGuard

from archspec.ir import Graph, Node
from archspec.ops import RFStep, numel


@dataclass(frozen=True)
class ReceptiveField:
    """A finite receptive field, (height, width) per quantity."""

    size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]

    @property
    def centre(self) -> tuple[float, float]:
        """Centre of the first output unit's region, in input coordinates."""
        return (
            (self.size[0] - 1) / 2 - self.padding[0],
            (self.size[1] - 1) / 2 - self.padding[1],
        )

    def step(self, op: RFStep) -> ReceptiveField:
        """The field after one more op."""
        (r0, r1), (j0, j1), (p0, p1) = self.size, self.stride, self.padding
        (k0, k1), (d0, d1), (s0, s1), (q0, q1) = op.kernel, op.dilation, op.stride, op.padding
        size = (r0 + (k0 - 1) * d0 * j0, r1 + (k1 - 1) * d1 * j1)
        return ReceptiveField(size, (j0 * s0, j1 * s1), (p0 + q0 * j0, p1 + q1 * j1))

    def as_dict(self) -> dict[str, list[int] | list[float]]:
        """JSON form: ``{"size": [h, w], "stride": [h, w], "padding": [h, w], "centre": [h, w]}``."""
        return {
            "size": list(self.size),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "centre": list(self.centre),
        }

    def short(self) -> str:
        """``35`` for square fields, ``35x19`` otherwise."""
        h, w = self.size
        return str(h) if h == w else f"{h}x{w}"


RF = ReceptiveField | Literal["global"] | None
IDENTITY = ReceptiveField((1, 1), (1, 1), (0, 0))
# In the spatial pass: the output of global pooling, which a merge with a spatial input leaves out.
_POOLED: Final = "pooled"
_SpatialRF = RF | Literal["pooled"]


@dataclass(frozen=True)
class RFResult:
    """The pass's result: the field of every node by id (``fields``: the whole field; ``spatial``: the
    spatial path's, see the module docstring), and the warnings about misaligned merges."""

    fields: dict[int, RF]
    warnings: tuple[str, ...]
    spatial: dict[int, RF]
    pooled: frozenset[int]  # the nodes the spatial pass left out: global pooling and what only it feeds


def receptive_fields(graph: Graph) -> RFResult:
    """The receptive field of every node's output, whole and along the spatial path."""
    fields: dict[int, RF] = {}
    spatial: dict[int, _SpatialRF] = {}
    warnings: list[str] = []
    for node in graph.nodes:
        fields[node.id] = _node_field(graph, node, [fields[i] for i in node.inputs], warnings)
        spatial[node.id] = _spatial_field(graph, node, [spatial[i] for i in node.inputs])
    pooled = frozenset(k for k, v in spatial.items() if v == _POOLED)
    # Global pooling sees the whole map: shown as global, like the whole field.
    public: dict[int, RF] = {k: "global" if v == _POOLED else v for k, v in spatial.items()}
    return RFResult(fields, tuple(warnings), public, pooled)


def _node_field(graph: Graph, node: Node, inputs: Sequence[RF], warnings: list[str] | None) -> RF:
    if not inputs or not node.batched:
        return None  # a parameter, a buffer, or what is computed from them alone: it sees no pixel
    if "global" in inputs:
        return "global"
    if len(inputs) > 1:
        current = merge_fields(inputs)
        if isinstance(current, ReceptiveField) and warnings is not None:
            _warn_if_misaligned(node, [f for f in inputs if isinstance(f, ReceptiveField)], warnings)
    else:
        current = inputs[0]
    effect = node.op.receptive_field()
    if effect is None:
        return current
    if effect == "global":
        if node.op.kind == "flatten" and not _mixes_positions(graph, node):
            return current
        if node.op.kind in _PRODUCTS and not all(graph.nodes[i].batched for i in node.inputs):
            return current  # a product with a constant (x @ W) mixes features, not positions
        return "global"
    return (current if isinstance(current, ReceptiveField) else IDENTITY).step(effect)


# Products of two tensors: across tokens (q @ k^T) they mix every position.
_PRODUCTS = frozenset({"matmul", "einsum"})


def _mixes_positions(graph: Graph, node: Node) -> bool:
    """Whether flattening this node's input mixes spatial positions (not a 1x1 map, not a vector)."""
    shape = graph.nodes[node.inputs[0]].shape
    return len(shape) == 3 and numel(shape[1:]) > 1


def _spatial_field(graph: Graph, node: Node, inputs: Sequence[_SpatialRF]) -> _SpatialRF:
    if not node.batched:  # computed from parameters and buffers alone: no input position
        return None
    kept = [f for f in inputs if _not_pooled(f)]
    if inputs and not kept:
        return _POOLED  # computed from pooled values only (a gate's excitation, a classifier)
    if node.op.receptive_field() == "global" and _pools(graph, node):
        return _POOLED
    return _node_field(graph, node, kept, None)


def _pools(graph: Graph, node: Node) -> bool:
    """Whether an op whose output sees every position reduces the map to one position (global pooling, a
    mean over every position, flattening a map into the classifier's vector): what the spatial pass leaves
    out. An op that mixes positions and keeps them (attention, a rearrange into windows, q @ kᵀ) makes the
    spatial field global instead."""
    if node.op.kind == "flatten":
        return _mixes_positions(graph, node)
    shape = node.shape
    return len(shape) <= 1 or (len(shape) == 3 and shape[1] * shape[2] == 1)


def _not_pooled(field: _SpatialRF) -> TypeGuard[RF]:
    return field != _POOLED


def merge_fields(fields: Iterable[RF]) -> RF:
    """The field of a merge: ``"global"`` when any input is, ``None`` when none has a field yet, else
    the union of the inputs' regions per axis (an input with no field yet counts as a single pixel)."""
    fields = list(fields)
    if any(field == "global" for field in fields):
        return "global"
    if all(field is None for field in fields):
        return None
    finite = [f if isinstance(f, ReceptiveField) else IDENTITY for f in fields]
    size, stride, padding = [], [], []
    for a in (0, 1):
        start = max(f.padding[a] for f in finite)
        end = max(f.size[a] - 1 - f.padding[a] for f in finite)
        padding.append(start)
        size.append(end + start + 1)
        stride.append(max(f.stride[a] for f in finite))
    return ReceptiveField((size[0], size[1]), (stride[0], stride[1]), (padding[0], padding[1]))


def _warn_if_misaligned(node: Node, fields: Sequence[ReceptiveField], warnings: list[str]) -> None:
    first = fields[0]
    if any(f.stride != first.stride or f.centre != first.centre for f in fields[1:]):
        described = "; ".join(
            f"size {f.short()}, stride {_pair(f.stride)}, centre {_pair(f.centre)}" for f in fields
        )
        warnings.append(
            f"{node.name}: the receptive fields of the merged inputs are not aligned ({described})"
        )


def feature_nodes(graph: Graph, pooled: frozenset[int]) -> list[int]:
    """The network's last feature maps: the output when no global pooling leads to it, else the inputs of
    the global pooling (and flattening) that the output is computed from alone (``head_nodes``)."""
    head = head_nodes(graph, pooled)
    if not head:
        return [graph.output]
    return sorted({i for n in head for i in graph.nodes[n].inputs if i not in pooled})


def head_nodes(graph: Graph, pooled: frozenset[int]) -> frozenset[int]:
    """The classifier's nodes: the global pooling that the output is computed from alone, and what
    follows it (the other pooled nodes are gates' squeezes, which merge back into a map)."""
    if graph.output not in pooled:
        return frozenset()
    stack, seen = [graph.output], {graph.output}
    while stack:
        for i in graph.nodes[stack.pop()].inputs:
            if i in pooled and i not in seen:
                seen.add(i)
                stack.append(i)
    return frozenset(seen)


def network_fields(graph: Graph, result: RFResult) -> tuple[RF, RF]:
    """The network's whole field and its spatial path's field, at its last feature maps."""
    nodes = feature_nodes(graph, result.pooled)
    return merge_fields(result.fields[i] for i in nodes), merge_fields(result.spatial[i] for i in nodes)


def _pair(value: tuple[int, int] | tuple[float, float]) -> str:
    a, b = (f"{v:g}" for v in value)
    return a if a == b else f"{a}x{b}"
