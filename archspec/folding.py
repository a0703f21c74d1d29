"""Folding repeated block instances into one ``×N`` item: the rule reports and drawings share.

A run is a sequence of consecutive instances of one block in one container that a repeat made (a
``* n`` or a ``for``), all with the same structure (a per-block rate such as stochastic depth's aside),
optionally led by one more instance of the same
block that may differ: the unit that strides or projects (``unit(width, stride=2) >> unit(width) * 5``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from archspec.ir import Graph, Repeat
from archspec.ops import Op
from archspec.records import FrozenRecord, set_field


@dataclass(init=False, repr=False, eq=False)
class Instance(FrozenRecord):
    """What folding needs to know about one item of a container (a layer, a block instance …)."""

    block: str | None  # the block it instantiates; None for anything that never folds
    parent: str
    repeat: Repeat | None
    signature: Hashable  # equal signatures: the same ops with the same arguments and wiring

    def __init__(self, block: str | None, parent: str, repeat: Repeat | None, signature: Hashable) -> None:
        set_field(self, "block", block)
        set_field(self, "parent", parent)
        set_field(self, "repeat", repeat)
        set_field(self, "signature", signature)


def fold_runs(items: Sequence[Instance]) -> list[range]:
    """The items in order, grouped into runs: a range of indices per run (most of length 1)."""
    runs: list[range] = []
    start = 0
    while start < len(items):
        stop = _run_end(items, start)
        runs.append(range(start, stop))
        start = stop
    return runs


def _run_end(items: Sequence[Instance], start: int) -> int:
    head = items[start]
    if head.block is None:
        return start + 1
    group: int | None = None
    end = start + 1
    while end < len(items):
        item = items[end]
        if item.block != head.block or item.parent != head.parent or item.repeat is None:
            break
        if group is None:
            # The head joins the group when it is outside it (the first unit, written apart) or is one
            # of its identical instances; a different instance of the same loop does not.
            inside = head.repeat is not None and head.repeat.group == item.repeat.group
            if inside and head.signature != item.signature:
                break
            group = item.repeat.group
        elif item.repeat.group != group or item.signature != items[end - 1].signature:
            break
        end += 1
    return end


def run_name(first: str, last: str) -> str:
    """``layer3.1–5``, ``encoder.layers.encoder_layer_0–11``: the name of a folded run."""
    base, _, start = first.rpartition(".")
    end = last.rpartition(".")[2]
    common = 0
    while common < min(len(start), len(end)) and start[common] == end[common]:
        common += 1
    while common and start[common - 1].isdigit():  # never split a number: 10–13, not 1 0–3
        common -= 1
    span = f"{start}–{end[common:]}"
    return f"{base}.{span}" if base else span


def signature(graph: Graph, node_ids: Sequence[int], prefix: str) -> Hashable:
    """The structure of the nodes ``node_ids`` (one container's): names below ``prefix``, ops, shapes
    and wiring, with inputs from outside numbered by their order of appearance."""
    position = {node_id: i for i, node_id in enumerate(node_ids)}
    outside: dict[int, int] = {}
    cut = len(prefix) + 1 if prefix else 0
    parts = []
    for node_id in node_ids:
        node = graph.nodes[node_id]
        wiring = tuple(
            ("in", position[i]) if i in position else ("out", outside.setdefault(i, len(outside)))
            for i in node.inputs
        )
        parts.append((node.name[cut:], _without_rates(node.op), node.shape, wiring))
    return tuple(parts)


def _without_rates(op: Op) -> Hashable:
    # Per-block rates (``Op.rate_fields``): torchvision's networks raise the stochastic depth rate block
    # by block, so blocks that differ only there are still one design, folded as one (the drawing shows
    # the rates as a range).
    fields = op.rate_fields
    if not fields:
        return op
    return op.model_copy(update=dict.fromkeys(fields, 0.0))
