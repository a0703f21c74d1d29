"""Receptive-field pass (Araujo, Norelli and Soatto, Distill 2019), per spatial axis.

For each node: the size ``r`` of the input region one output unit sees, the effective stride ``j``
(distance in input pixels between neighbouring output units), the effective padding ``P`` and the centre
of the first output unit's region, ``(r - 1) / 2 - P``. One op step with kernel ``k``, stride ``s``,
padding ``p`` and dilation ``d`` does ``r += (k - 1) * d * j``, ``P += p * j``, ``j *= s``; ceil mode changes
only the output size. A merge (add, concat) takes the largest ``r`` over its inputs and records a warning
when the inputs' centres or strides disagree. Global pooling, flattening a map larger than 1x1 and
attention make the field ``"global"``; before any spatial op it is ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

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
        size = tuple(self.size[a] + (op.kernel[a] - 1) * op.dilation[a] * self.stride[a] for a in (0, 1))
        padding = tuple(self.padding[a] + op.padding[a] * self.stride[a] for a in (0, 1))
        stride = tuple(self.stride[a] * op.stride[a] for a in (0, 1))
        return ReceptiveField((size[0], size[1]), (stride[0], stride[1]), (padding[0], padding[1]))

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


@dataclass(frozen=True)
class RFResult:
    """The pass's result: the field of every node by id, and the warnings about misaligned merges."""

    fields: dict[int, RF]
    warnings: tuple[str, ...]


def receptive_fields(graph: Graph) -> RFResult:
    """The receptive field of every node's output (see the module docstring)."""
    fields: dict[int, RF] = {}
    warnings: list[str] = []
    for node in graph.nodes:
        inputs = [fields[i] for i in node.inputs]
        fields[node.id] = _node_field(graph, node, inputs, warnings)
    return RFResult(fields, tuple(warnings))


def _node_field(graph: Graph, node: Node, inputs: Sequence[RF], warnings: list[str]) -> RF:
    if not inputs:
        return None
    if any(field == "global" for field in inputs):
        return "global"
    if len(inputs) > 1:
        finite = [f if isinstance(f, ReceptiveField) else IDENTITY for f in inputs]
        current: RF = _merge(node, finite, warnings) if any(f is not None for f in inputs) else None
    else:
        current = inputs[0]
    effect = node.op.receptive_field()
    if effect is None:
        return current
    if effect == "global":
        if node.op.kind == "flatten":
            shape = graph.nodes[node.inputs[0]].shape
            if len(shape) != 3 or numel(shape[1:]) == 1:
                return current  # flattening a 1x1 map or a vector mixes no positions
        return "global"
    return (current if isinstance(current, ReceptiveField) else IDENTITY).step(effect)


def _merge(node: Node, fields: Sequence[ReceptiveField], warnings: list[str]) -> ReceptiveField:
    first = fields[0]
    if any(f.stride != first.stride or f.centre != first.centre for f in fields[1:]):
        described = "; ".join(
            f"size {f.short()}, stride {_pair(f.stride)}, centre {_pair(f.centre)}" for f in fields
        )
        warnings.append(
            f"{node.name}: the receptive fields of the merged inputs are not aligned ({described})"
        )
    return max(fields, key=lambda f: (f.size[0] * f.size[1], f.size))


def _pair(value: tuple[int, int] | tuple[float, float]) -> str:
    a, b = (f"{v:g}" for v in value)
    return a if a == b else f"{a}x{b}"
