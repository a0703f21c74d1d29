"""What both drawing styles share: the ``Drawing`` (graph, options, plan, counts), its title and edges,
DOT attribute text, the header and legend, and the names of blocks and op families.

Every text that comes from a spec goes through ``labels.esc`` into an HTML-like label; node and cluster
ids are made here (``n12``, ``b40``), never from spec text, so no name can break the DOT syntax or inject
markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from archspec.analysis import NodeCounts
from archspec.backends.diagram.labels import FAMILIES, dims, esc, family, figures
from archspec.backends.diagram.options import DrawOptions
from archspec.backends.diagram.plan import Part, Plan
from archspec.ir import Graph, Metadata
from archspec.ops import Shape
from archspec.ops.base import number_text

FONT = "Helvetica"
SMALL = 9  # point size of figures and edge labels
GREY = "#4a4a4a"
_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # a DOT ID that needs no quotes


@dataclass
class Drawing:
    """What both styles draw from: the graph, the options, the plan and every node's counts."""

    graph: Graph
    options: DrawOptions
    plan: Plan
    counts: Mapping[int, NodeCounts]

    def params(self, ids: Iterable[int]) -> int:
        """Parameters of these nodes, summed."""
        return sum(self.counts[i].params for i in ids)

    def macs(self, ids: Iterable[int]) -> int:
        """MACs of these nodes, summed."""
        return sum(self.counts[i].macs for i in ids)

    def element(self, part: Part) -> str:
        """The DOT id of a node part (op or box)."""
        return f"n{part.ids[0]}" if part.kind == "op" else f"b{part.ids[0]}"

    def input_shape(self, part: Part) -> Shape | None:
        """The shape that enters a part (its first input from outside), None for the input itself."""
        inside = set(part.ids)
        for node_id in part.ids:
            for source in self.graph.nodes[node_id].inputs:
                if source not in inside:
                    return self.graph.nodes[source].shape
        return None

    def edges(self) -> list[tuple[Part, Part, int, int]]:
        """(source part, target part, source node, input index) for every edge drawn, in order, once."""
        seen: set[tuple[str, str]] = set()
        out = []
        drawn, folded = self.plan.drawn, self.plan.folded
        for node in self.graph.nodes:
            target = drawn[node.id]
            for index, source_id in enumerate(node.inputs):
                source = drawn[source_id]
                if source is target:
                    continue
                a, b = folded.get(source_id), folded.get(node.id)
                if a is not None and b is not None and a[0] == b[0] and a[1] != b[1]:
                    continue  # from one instance of an opened run to the next: drawn once, by the run
                key = (self.element(source), self.element(target))
                if key in seen:
                    continue
                seen.add(key)
                out.append((source, target, source_id, index))
        return out

    def title(self) -> str:
        """The HTML title: network, paper, authors, year, venue and totals, one row each in a table (the
        rows of a table are spaced by their fonts' full height: the name's underscores stay clear of the
        line below). A year without authors or venue joins the line above instead of standing alone."""
        graph, meta = self.graph, self.graph.metadata
        ids = range(len(graph.nodes))
        name = esc(graph.variant or graph.network)
        authors, year = _authors(meta), str(meta.year) if meta.year else ""
        alone = year and not authors and not meta.venue
        paper = esc(meta.title or "")
        if alone and paper:
            paper, year = f"{paper} ({year})", ""
        elif alone:
            name, year = f"{name} ({year})", ""
        lines = [f'<FONT POINT-SIZE="18"><B>{name}</B></FONT>']
        if paper:
            lines.append(f'<FONT POINT-SIZE="13">{paper}</FONT>')
        byline = [x for x in (authors, year, meta.venue or "") if x]
        if byline:
            lines.append(f'<FONT POINT-SIZE="12">{esc(" · ".join(byline))}</FONT>')
        totals = f"input {dims(graph.input_shape)} → output {dims(graph.output_shape)}"
        counted = figures(self.params(ids), self.macs(ids))
        lines.append(
            f'<FONT POINT-SIZE="11" COLOR="{GREY}">{esc(totals)}' + (f" · {counted}" if counted else "")
        )
        lines[-1] += "</FONT>"
        rows = "".join(f"<TR><TD>{line}</TD></TR>" for line in lines)
        return f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{rows}</TABLE>'


def _authors(meta: Metadata) -> str:
    names = [a.split()[-1] if a.split() else a for a in meta.authors]
    if len(names) > 3:
        return f"{names[0]} et al."
    return ", ".join(names)


def attrs(**values: str | float) -> str:
    """``[key=value, ...]``: HTML labels (``<...>``) as they are, other strings quoted and escaped."""
    parts = []
    for key, value in values.items():
        html_label = isinstance(value, str) and value.startswith("<") and value.endswith(">")
        if html_label or (isinstance(value, str) and _BARE.match(value)):
            parts.append(f"{key}={value}")
        elif isinstance(value, str):
            quoted = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            parts.append(f'{key}="{quoted}"')
        else:
            parts.append(f"{key}={value:g}")
    return "[" + ", ".join(parts) + "]"


def header(drawing: Drawing, rankdir: str) -> list[str]:
    """The graph's opening lines: layout, fonts, title."""
    return [
        "digraph archspec {",
        "  graph "
        + attrs(
            rankdir=rankdir,
            newrank="true",
            nodesep=0.25,
            ranksep=0.3,
            fontname=FONT,
            labelloc="t",
            label=f"<{drawing.title()}>",
        )
        + ";",
        "  node "
        + attrs(
            fontname=FONT,
            fontsize=11,
            shape="box",
            style="rounded,filled",
            color="#7d8794",
            margin="0.1,0.04",
        )
        + ";",
        f'  edge [fontname="{FONT}", fontsize={SMALL}, fontcolor="{GREY}", color="#606060", arrowsize=0.6];',
    ]


# Families whose legend text lists examples (``reshape, split, dropout, pad``): the legend names the
# kinds a drawing holds instead, so that it never lists what is not drawn.
_LISTED = {"merge": {"concat": "concat", "add": "add", "mul": "multiply"}, "reshape": {}, "token": {}}


def drawn_kind(part: Part) -> str:
    """The op kind of a node part (``block`` for a closed block): what the legend names."""
    node = part.container.node if part.kind == "op" else None
    return node.op.kind if node is not None else "block"


def legend(used: Iterable[tuple[str, str]]) -> list[str]:
    """A node listing the colour of each op family drawn, from (family, op kind) pairs; a family that
    stands for several kinds (reshape, merge, tokens) lists the kinds drawn."""
    kinds: dict[str, list[str]] = {}
    for family_name, kind in used:
        kinds.setdefault(family_name, [])
        if kind not in kinds[family_name]:
            kinds[family_name].append(kind)
    swatch = '<TR><TD WIDTH="14" BGCOLOR="{}" BORDER="1"> </TD><TD ALIGN="LEFT">{}</TD></TR>'
    rows = ""
    for name, (colour, text) in FAMILIES.items():
        if name not in kinds:
            continue
        if name in _LISTED:
            names = _LISTED[name]
            text = ", ".join(names.get(k, k.replace("_", " ")) for k in sorted(kinds[name]))
        rows += swatch.format(colour, esc(text))
    table = (
        '<<TABLE BORDER="0" CELLSPACING="2" CELLPADDING="2">'
        f'<TR><TD COLSPAN="2"><B>legend</B></TD></TR>{rows}</TABLE>>'
    )
    return ["  legend " + attrs(shape="plaintext", style="", margin=0, fontsize=9, label=table) + ";"]


def is_shortcut(target: Part, index: int) -> bool:
    """Whether input ``index`` of ``target`` is a residual's shortcut (an add's second input)."""
    node = target.container.node if target.kind == "op" else None
    return index > 0 and node is not None and node.op.shortcut_merge


def block_call(part: Part) -> str:
    """``Bottleneck(128, stride=2)``, ``MBConv6 k3×3, 160``: how the block a part stands for is labelled
    (its definition's ``label:`` template, or its call). The instances of a folded run whose labels
    differ (in a per-block rate) are named by their block."""
    scope = part.container.scope
    if scope is None:
        return "block"
    labels = {m.scope.label or m.scope.call for m in part.members if m.scope is not None}
    if len(labels) > 1:
        return scope.block or scope.kind
    return scope.label or scope.call or scope.block or scope.kind


def rate_range(drawing: Drawing, part: Part) -> str | None:
    """``stochastic depth 0.0059–0.012``: the per-block rates of a folded run's instances, which folding
    sets aside (``Op.rate_fields``); None when they do not differ."""
    if len(part.members) < 2:
        return None
    found: dict[tuple[str, str], list[float]] = {}
    for member in part.members:
        for node_id in member.ids:
            op = drawing.graph.nodes[node_id].op
            for name in op.rate_fields:
                found.setdefault((op.kind, name), []).append(float(getattr(op, name)))
    texts = []
    for (kind, _), values in found.items():
        low, high = min(values), max(values)
        if low != high:
            texts.append(f"{kind.replace('_', ' ')} {number_text(low)}–{number_text(high)}")
    return ", ".join(texts) or None


def node_family(drawing: Drawing, part: Part) -> str:
    """The colour family of a node part: its op's, or ``block``."""
    if part.kind == "op" and part.container.node is not None:
        return family(part.container.node.op)
    return "block"
