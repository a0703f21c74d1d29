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

The steps are in image coordinates: each per-sample axis of every node holds the image's rows, its columns,
both (tokens) or neither (features), followed from the input through each op's ``axis_sources``
(``node_axes``). An op's step goes to the image axes its ``step_axes`` hold, and an axis it reads whole
(``mixed_axes``: a linear's features, a softmax's ``dim``, a matmul's contraction) spans the image axis it
holds, or makes the field global where it holds tokens (MLP-Mixer's token MLP) or the output keeps several
units along it (``node_effects``; docs/receptive-field.md).

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
from itertools import compress, count
from operator import itemgetter
from typing import Final, Literal, TypeGuard

from archspec.analysis.columns import columns
from archspec.ir import Graph, Node
from archspec.ops import RFEffect, RFStep, numel
from archspec.records import FrozenRecord, set_field


@dataclass(init=False, repr=False, eq=False)
class ReceptiveField(FrozenRecord):
    """A finite receptive field, (height, width) per quantity."""

    size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]

    def __init__(self, size: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]) -> None:
        set_field(self, "size", size)
        set_field(self, "stride", stride)
        set_field(self, "padding", padding)

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


@dataclass(init=False, repr=False, eq=False)
class RFResult(FrozenRecord):
    """The pass's result: the field of every node by id (``fields``: the whole field; ``spatial``: the
    spatial path's, see the module docstring), and the warnings about misaligned merges."""

    fields: dict[int, RF]
    warnings: tuple[str, ...]
    spatial: dict[int, RF]
    pooled: frozenset[int]  # the nodes the spatial pass left out: global pooling and what only it feeds

    def __init__(
        self, fields: dict[int, RF], warnings: tuple[str, ...], spatial: dict[int, RF], pooled: frozenset[int]
    ) -> None:
        set_field(self, "fields", fields)
        set_field(self, "warnings", warnings)
        set_field(self, "spatial", spatial)
        set_field(self, "pooled", pooled)


# What one per-sample axis of a node holds: the image axes (0: rows, 1: columns) whose positions run along
# it. A CxHxW map is (none, rows, columns); a token sequence ({rows, columns}, none): tokens are positions.
Held = frozenset[int]
NONE: Final[Held] = frozenset()


def receptive_fields(graph: Graph) -> RFResult:
    """The receptive field of every node's output, whole and along the spatial path."""
    ops, inputs, shapes, batched, _ = columns(graph)
    n = len(ops)
    # Each node's step comes from ``_STEPS`` by its op, shape and batch axis and its inputs' tokens: a
    # token stands for everything a node's step gives its readers (shape, batch axis, axes, both fields),
    # one number for equal values (``_TOKENS``), so that a key is a few integers to hash, not the fields.
    tokens: list[int] = []
    steps: list[_Step] = []
    for k, op in enumerate(ops):
        sources = inputs[k]
        # (the key tells one input from several by the type of its last item: a token or a tuple of them)
        if len(sources) == 1:
            key: tuple[object, ...] = (id(op), shapes[k], batched[k], tokens[sources[0]])
        else:
            key = (id(op), shapes[k], batched[k], tuple([tokens[i] for i in sources]))
        known = _STEPS.get(key)
        if known is None or known[0] is not op:
            known = _learn(graph, graph.nodes[k], steps)
            if len(_STEPS) >= _STEPS_LIMIT:
                _STEPS.clear()
            _STEPS[key] = known
        steps.append(known)
        tokens.append(known[1])
    ids = range(n)
    warnings = [f"{graph.nodes[k].name}: {steps[k][6]}" for k in compress(ids, map(itemgetter(6), steps))]
    return RFResult(
        dict(zip(ids, map(itemgetter(3), steps), strict=True)),
        tuple(warnings),
        dict(zip(ids, map(itemgetter(5), steps), strict=True)),
        frozenset(compress(ids, map(itemgetter(7), steps))),
    )


def _learn(graph: Graph, node: Node, steps: Sequence[_Step]) -> _Step:
    """One node's step (``_Step``) from its inputs' steps, with the token of what it gives its readers."""
    inputs = node.inputs
    axes = {i: steps[i][2] for i in inputs}
    fields = {i: steps[i][3] for i in inputs}
    spatial = {i: steps[i][4] for i in inputs}
    held, field, kept, misaligned = _step(graph, node, axes, fields, spatial)
    value = (node.shape, node.batched, held, field, kept)
    token = _TOKENS.get(value)
    if token is None:
        if len(_TOKENS) >= _STEPS_LIMIT:
            _TOKENS.clear()
        token = _TOKENS[value] = next(_TOKEN_COUNT)
    # Global pooling sees the whole map: shown as global, like the whole field.
    shown: RF = "global" if kept == _POOLED else kept
    return (node.op, token, held, field, kept, shown, misaligned, kept == _POOLED)


def _step(
    graph: Graph,
    node: Node,
    axes: dict[int, tuple[Held, ...]],
    fields: dict[int, RF],
    spatial: dict[int, _SpatialRF],
) -> tuple[tuple[Held, ...], RF, _SpatialRF, str | None]:
    """One node's axes, whole field and spatial field from its inputs', and what is misaligned in its
    merge (a warning without the node's name), or None."""
    axes[node.id] = held = _held(graph, node, axes)
    effect = _effect(graph, node, axes)
    found: list[str] = []
    field = _node_field(graph, node, effect, [fields[i] for i in node.inputs], found)
    kept = _spatial_field(graph, node, effect, [spatial[i] for i in node.inputs])
    return held, field, kept, found[0] if found else None


# One node's step: (op, token, axes, whole field, spatial field, the spatial field shown, what is
# misaligned in its merge without the node's name or None, whether the spatial pass leaves it out).
_Step = tuple[object, int, tuple[Held, ...], RF, _SpatialRF, RF, str | None, bool]
# A node's step by its op (by identity: the op is kept in the step, so that its id is not reused), its shape
# and batch axis, and its inputs' tokens. Lowering shares one op between alike layers and between the
# variants of a search loop, whose nodes then find their step here. Bounded: cleared when full.
_STEPS: dict[tuple[object, ...], _Step] = {}
_STEPS_LIMIT = 50_000
# A token for each value a step gives its readers (shape, batch axis, axes, whole and spatial field); the
# count goes on across clearing, so a token stands for one value only.
_TOKENS: dict[tuple[object, ...], int] = {}
_TOKEN_COUNT = count()


def node_axes(graph: Graph) -> dict[int, tuple[Held, ...]]:
    """What each per-sample axis of every node holds (``Held``), followed from the network input through
    each op's ``axis_sources``. An output axis holds what its sources hold (those longer than 1, when
    any is: a flattened Cx1x1 map holds features only). A parameter, a buffer and what is computed from
    them alone hold no position."""
    axes: dict[int, tuple[Held, ...]] = {}
    for node in graph.nodes:
        axes[node.id] = _held(graph, node, axes)
    return axes


def _held(graph: Graph, node: Node, axes: dict[int, tuple[Held, ...]]) -> tuple[Held, ...]:
    """What each axis of one node holds, from its inputs' (``node_axes``)."""
    if not node.batched:
        return (NONE,) * len(node.shape)
    if not node.inputs:
        return _input_axes(node.shape)
    shapes = [graph.nodes[i].shape for i in node.inputs]
    held = []
    for sources in node.op.axis_sources(shapes, node.shape):
        found = [
            (axes[node.inputs[i]][axis], shapes[i][axis])
            for i, axis in sources
            if graph.nodes[node.inputs[i]].batched
        ]
        wide = [h for h, size in found if size > 1] or [h for h, _ in found]
        held.append(NONE.union(*wide))
    return tuple(held)


def _input_axes(shape: tuple[int, ...]) -> tuple[Held, ...]:
    """The network input: a CxHxW image, a sequence of tokens, or a vector of features."""
    if len(shape) == 3:
        return (NONE, frozenset({0}), frozenset({1}))
    if len(shape) == 2:
        return (frozenset({0, 1}), NONE)
    return (NONE,) * len(shape)


def node_effects(graph: Graph) -> dict[int, RFEffect]:
    """How each node moves the field, in image coordinates (height first), from its op's facts and what
    its input axes hold (``node_axes``): the op's step along its ``step_axes`` goes to the image axis that
    each of them holds (a 1x5 conv on a map whose H and W were swapped is 5x1); an axis the op reads whole
    (``mixed_axes``) that holds one image axis spans it (a mean over H, a layer norm over a map's W); one
    that holds both (tokens), or both image axes read whole, or an output holding one image axis along
    two of its axes (q @ kᵀ: tokens by tokens), make it global."""
    axes = node_axes(graph)
    return {node.id: _effect(graph, node, axes) for node in graph.nodes}


def _effect(graph: Graph, node: Node, axes: dict[int, tuple[Held, ...]]) -> RFEffect:
    declared = node.op.receptive_field()
    if declared == "global" or not node.batched or not node.inputs:
        return declared
    kernel, stride, padding, dilation = [1, 1], [1, 1], [0, 0], [1, 1]
    inputs = [graph.nodes[i] for i in node.inputs]
    whole: set[int] = set()
    for i, axis in node.op.mixed_axes([n.shape for n in inputs]):
        source = inputs[i]
        if source.batched and source.shape[axis] > 1:
            for image in axes[source.id][axis]:
                whole.add(image)
                kernel[image] = max(kernel[image], source.shape[axis])
    # Read whole, an image axis along which the output keeps several units would need a field shared by
    # all of them (stride 0): global, as reading both image axes whole is. Reduced to one unit (a mean
    # over H, a product that contracts a map's columns into features) it spans the axis exactly.
    kept = {image for held, size in zip(axes[node.id], node.shape, strict=True) if size > 1 for image in held}
    if whole == {0, 1} or whole & kept or _repeated(axes[node.id], node.shape):
        return "global"
    if isinstance(declared, RFStep):
        source = inputs[0]
        for k, axis in enumerate(node.op.step_axes):
            if (declared.kernel[k], declared.stride[k], declared.padding[k]) == (1, 1, 0):
                continue
            held = axes[source.id][axis % len(source.shape)]
            if len(held) > 1 or held & whole:
                return "global"  # a window along tokens in raster order, or along an axis read whole
            for image in held:  # none: the op slides along features, which moves no position
                kernel[image], stride[image] = declared.kernel[k], declared.stride[k]
                padding[image], dilation[image] = declared.padding[k], declared.dilation[k]
    step = RFStep(
        (kernel[0], kernel[1]), (stride[0], stride[1]), (padding[0], padding[1]), (dilation[0], dilation[1])
    )
    # An op with a step of its own gives a field even where it moves nothing (a 1x1 conv on the input).
    return step if isinstance(declared, RFStep) or step != _UNIT else None


_UNIT: Final = RFStep((1, 1), (1, 1), (0, 0))


def _repeated(held: Sequence[Held], shape: tuple[int, ...]) -> bool:
    """Whether one image axis runs along two axes of the output (each longer than 1): an element then
    sees two unrelated positions (q @ kᵀ, a map added to its transpose)."""
    seen: list[int] = [image for h, size in zip(held, shape, strict=True) if size > 1 for image in h]
    return len(seen) != len(set(seen))


def _node_field(
    graph: Graph, node: Node, effect: RFEffect, inputs: Sequence[RF], warnings: list[str] | None
) -> RF:
    if not inputs or not node.batched:
        return None  # a parameter, a buffer, or what is computed from them alone: it sees no pixel
    if "global" in inputs:
        return "global"
    if len(inputs) > 1:
        current = merge_fields(inputs)
        if isinstance(current, ReceptiveField) and warnings is not None:
            _warn_if_misaligned([f for f in inputs if isinstance(f, ReceptiveField)], warnings)
    else:
        current = inputs[0]
    if effect is None:
        return current
    if effect == "global":
        if node.op.global_only_when_mixing and not _mixes_positions(graph, node):
            return current
        return "global"
    return (current if isinstance(current, ReceptiveField) else IDENTITY).step(effect)


def _mixes_positions(graph: Graph, node: Node) -> bool:
    """Whether flattening this node's input mixes spatial positions (not a 1x1 map, not a vector)."""
    shape = graph.nodes[node.inputs[0]].shape
    return len(shape) == 3 and numel(shape[1:]) > 1


def _spatial_field(graph: Graph, node: Node, effect: RFEffect, inputs: Sequence[_SpatialRF]) -> _SpatialRF:
    if not node.batched:  # computed from parameters and buffers alone: no input position
        return None
    kept = [f for f in inputs if _not_pooled(f)]
    if inputs and not kept:
        return _POOLED  # computed from pooled values only (a gate's excitation, a classifier)
    if effect == "global" and _pools(graph, node):
        return _POOLED
    return _node_field(graph, node, effect, kept, None)


def _pools(graph: Graph, node: Node) -> bool:
    """Whether an op whose output sees every position reduces the map to one position (global pooling, a
    mean over every position, flattening a map into the classifier's vector): what the spatial pass leaves
    out. An op that mixes positions and keeps them (attention, a rearrange into windows, q @ kᵀ, a token
    MLP) makes the spatial field global instead."""
    if node.op.global_only_when_mixing:
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


def _warn_if_misaligned(fields: Sequence[ReceptiveField], warnings: list[str]) -> None:
    """Add what is misaligned in a merge of ``fields`` to ``warnings`` (the caller names the node)."""
    first = fields[0]
    if any(f.stride != first.stride or f.centre != first.centre for f in fields[1:]):
        described = "; ".join(
            f"size {f.short()}, stride {_pair(f.stride)}, centre {_pair(f.centre)}" for f in fields
        )
        warnings.append(f"the receptive fields of the merged inputs are not aligned ({described})")


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
