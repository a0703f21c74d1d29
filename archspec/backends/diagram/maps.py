"""The ``maps`` style: the figure of the LeNet-5 and AlexNet papers.

Each layer's output is a box whose height follows its spatial size and whose depth (left to right) its
channel count, both log-scaled so that 3×224×224 and 2048×7×7 stay visible together; vectors are thin
bars. Parts that compute nothing and keep the shape (batch norm, activations, dropout) join the box of
the part before them; the arrow into a box names what made it (``conv 5×5, 6``). Graphviz places the
fixed-size nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from archspec.backends.diagram.drawing import (
    Drawing,
    attrs,
    block_call,
    drawn_kind,
    header,
    is_shortcut,
    legend,
    node_family,
)
from archspec.backends.diagram.labels import FAMILIES, dims, esc, summary
from archspec.backends.diagram.plan import Part
from archspec.ops import Shape


@dataclass
class Map:
    """One box: the parts whose output it is."""

    parts: list[Part] = field(default_factory=list)

    @property
    def last(self) -> Part:
        """The part whose output the box shows (the last of its parts)."""
        return self.parts[-1]


def box_size(shape: Shape) -> tuple[float, float]:
    """(width, height) in inches: height from the spatial size (or the token count), width from the
    channels (or the token width); a vector is a thin bar whose height follows its length."""
    if len(shape) >= 3:
        channels, height = shape[0], shape[1]
        return 0.12 + 0.09 * math.log2(channels + 1), 0.3 + 0.32 * math.log2(height + 1)
    if len(shape) == 2:
        tokens, width = shape
        return 0.12 + 0.09 * math.log2(width + 1), 0.3 + 0.16 * math.log2(tokens + 1)
    length = shape[0] if shape else 1
    return 0.12, 0.2 + 0.15 * math.log2(length + 1)


def leaves(parts: list[Part]) -> list[Part]:
    """The node parts of a plan in drawing order, clusters dissolved."""
    out: list[Part] = []
    for part in parts:
        out.extend(leaves(part.children) if part.kind == "cluster" else [part])
    return out


def maps_dot(drawing: Drawing) -> str:
    """The maps drawing of a planned graph."""
    edges = drawing.edges()
    into: dict[str, list[str]] = {}
    out_of: dict[str, list[str]] = {}
    for source, target, _, _ in edges:
        into.setdefault(drawing.element(target), []).append(drawing.element(source))
        out_of.setdefault(drawing.element(source), []).append(drawing.element(target))
    maps: list[Map] = []
    map_of: dict[str, Map] = {}
    for part in leaves(drawing.plan.parts):
        element = drawing.element(part)
        sources = into.get(element, [])
        shape = drawing.graph.nodes[part.ids[-1]].shape
        # A part joins the map before it when it only passes that map on, reshaped by nothing and
        # computing nothing of its own (an activation, a norm, dropout); convolutions, linear layers and
        # blocks make maps of their own, as in the papers' figures.
        quiet = part.kind == "op" and drawing.macs(part.ids) == 0
        if quiet and len(sources) == 1 and maps:
            previous = maps[-1]
            before = drawing.element(previous.last)
            same = drawing.graph.nodes[previous.last.ids[-1]].shape == shape
            if same and sources[0] == before and out_of.get(before) == [element]:
                previous.parts.append(part)
                map_of[element] = previous
                continue
        maps.append(Map([part]))
        map_of[element] = maps[-1]

    lines = header(drawing, "LR")
    lines[1] = lines[1].replace("ranksep=0.3", "ranksep=0.35")
    used: list[tuple[str, str]] = []
    ids = {id(m): f"m{i}" for i, m in enumerate(maps)}
    for m in maps:
        first = m.parts[0]
        kind = node_family(drawing, first)
        used.append((kind, drawn_kind(first)))
        shape = drawing.graph.nodes[m.last.ids[-1]].shape
        width, height = box_size(shape)
        names = esc(_map_name(m))
        label = f"<<B>{names}</B><BR/>{esc(dims(shape))}>"
        lines.append(
            f"  {ids[id(m)]} "
            + attrs(
                shape="box3d",
                fixedsize="true",
                width=round(width, 3),
                height=round(height, 3),
                style="filled",
                fillcolor=FAMILIES[kind][0],
                color="#5a6470",
                label="",
                xlabel=label,
                fontsize=9,
            )
            + ";"
        )
    seen: set[tuple[str, str]] = set()
    for source, target, _, index in edges:
        a, b = map_of[drawing.element(source)], map_of[drawing.element(target)]
        if a is b or (ids[id(a)], ids[id(b)]) in seen:
            continue
        seen.add((ids[id(a)], ids[id(b)]))
        made = _made_by(drawing, b)
        extra: dict[str, str | float] = {"label": f"<{esc(made)}>"} if made and b.parts[0] is target else {}
        if is_shortcut(target, index):
            extra.update(style="dashed", color="#8a8a8a")
        lines.append(f"  {ids[id(a)]} -> {ids[id(b)]}" + (" " + attrs(**extra) if extra else "") + ";")
    lines += legend(used)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _map_name(m: Map) -> str:
    """The name of a box: its first part's (what made the map; the others only pass it on); for an
    unnamed op, known only by its position (``3``), what it does (``class token``)."""
    first = m.parts[0]
    if first.name.rpartition(".")[2].isdigit() and first.container.node is not None:
        return summary(first.container.node.op)
    return first.name


def _made_by(drawing: Drawing, m: Map) -> str:
    """What made a map: its first part (``conv 5×5, 6``, ``Bottleneck(128, stride=2)``, ``… ×5``)."""
    first = m.parts[0]
    if first.kind == "op" and first.container.node is not None:
        return summary(first.container.node.op)
    return block_call(first) + (f" ×{first.count}" if first.count > 1 else "")
