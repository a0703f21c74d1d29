"""DOT source of a drawing: the plan's parts as Graphviz nodes, clusters and edges.

Every text that comes from a spec goes through ``labels.esc`` into an HTML-like label; node and cluster
ids are made here (``n12``, ``b40``, ``cluster_3``), never from spec text, so no name can break the
DOT syntax or inject markup. The output is deterministic: the same graph and options give the same text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from archspec.analysis import NodeCounts, node_counts
from archspec.backends.diagram.labels import FAMILIES, dims, esc, family, figures, summary
from archspec.backends.diagram.options import DrawOptions
from archspec.backends.diagram.plan import Part, Plan, plan
from archspec.ir import Graph, Metadata
from archspec.ops import Shape

DEFAULT_OPTIONS = DrawOptions()
FONT = "Helvetica"
SMALL = 9  # point size of figures and edge labels
GREY = "#4a4a4a"
_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # a DOT ID that needs no quotes
CLUSTER_FILLS = ("#f7f8fa", "#eef1f5")  # alternating by nesting, so nested clusters stay apart


def to_dot(graph: Graph, options: DrawOptions = DEFAULT_OPTIONS) -> str:
    """The DOT source of the drawing of ``graph`` (deterministic: same graph and options, same text)."""
    drawing = Drawing(graph, options, plan(graph, options), node_counts(graph))
    if options.style == "maps":
        from archspec.backends.diagram.maps import maps_dot

        return maps_dot(drawing)
    return blocks_dot(drawing)


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
        """The HTML title: network, paper, authors, year, venue and totals."""
        graph, meta = self.graph, self.graph.metadata
        ids = range(len(graph.nodes))
        lines = [f'<FONT POINT-SIZE="18"><B>{esc(graph.variant or graph.network)}</B></FONT>']
        if meta.title:
            lines.append(f'<FONT POINT-SIZE="13">{esc(meta.title)}</FONT>')
        byline = [x for x in (_authors(meta), str(meta.year) if meta.year else "", meta.venue or "") if x]
        if byline:
            lines.append(esc(" · ".join(byline)))
        totals = f"input {dims(graph.input_shape)} → output {dims(graph.output_shape)}"
        counted = figures(self.params(ids), self.macs(ids))
        lines.append(
            f'<FONT POINT-SIZE="11" COLOR="{GREY}">{esc(totals)}' + (f" · {counted}" if counted else "")
        )
        lines[-1] += "</FONT>"
        return "<BR/>".join(lines)


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


def legend(families: Iterable[str]) -> list[str]:
    """A node listing the colour of each op family drawn."""
    swatch = '<TR><TD WIDTH="14" BGCOLOR="{}" BORDER="1"> </TD><TD ALIGN="LEFT">{}</TD></TR>'
    rows = "".join(swatch.format(*FAMILIES[f]) for f in FAMILIES if f in set(families))
    table = (
        '<<TABLE BORDER="0" CELLSPACING="2" CELLPADDING="2">'
        f'<TR><TD COLSPAN="2"><B>legend</B></TD></TR>{rows}</TABLE>>'
    )
    return ["  legend " + attrs(shape="plaintext", style="", margin=0, fontsize=9, label=table) + ";"]


# ---------------------------------------------------------------- the blocks style


def blocks_dot(drawing: Drawing) -> str:
    """The ``blocks`` style: ops and closed blocks as nodes, opened containers as clusters."""
    lines = header(drawing, drawing.options.rankdir)
    used: list[str] = []
    clusters = [0]

    def emit(parts: list[Part], indent: str, nesting: int) -> None:
        for part in parts:
            if part.kind == "cluster":
                clusters[0] += 1
                lines.append(f"{indent}subgraph cluster_{clusters[0]} {{")
                label = cluster_label(drawing, part)
                fill = CLUSTER_FILLS[nesting % 2]
                lines.append(
                    f"{indent}  graph "
                    + attrs(label=label, style="rounded,filled", fillcolor=fill, color="#9aa5b1", fontsize=10)
                    + ";"
                )
                emit(part.children, indent + "  ", nesting + 1)
                lines.append(f"{indent}}}")
                continue
            kind = node_family(drawing, part)
            used.append(kind)
            lines.append(f"{indent}{drawing.element(part)} {node_attrs(drawing, part, kind)};")
            lines.extend(indent + line for line in learned_input(drawing, part))

    emit(drawing.plan.parts, "  ", 0)
    labelled: set[str] = set()  # a shape is written once, on the first edge out of the part that made it
    for source, target, source_id, index in drawing.edges():
        extra: dict[str, str | float] = {}
        if is_shortcut(target, index):
            extra.update(style="dashed", color="#8a8a8a")
        shape = drawing.graph.nodes[source_id].shape
        element = drawing.element(source)
        if drawing.input_shape(source) != shape and element not in labelled:
            labelled.add(element)
            extra["label"] = f" {dims(shape)} "
        suffix = " " + attrs(**extra) if extra else ""
        lines.append(f"  {element} -> {drawing.element(target)}{suffix};")
    lines += same_rank_branches(drawing)
    lines += legend(used)
    lines.append("}")
    return "\n".join(lines) + "\n"


def same_rank_branches(drawing: Drawing) -> list[str]:
    """``{ rank=same; ... }`` for the first part of each branch of a concat: branches side by side."""
    into: dict[str, list[str]] = {}
    out_of: dict[str, list[str]] = {}
    merges = []
    for source, target, _, _ in drawing.edges():
        a, b = drawing.element(source), drawing.element(target)
        into.setdefault(b, []).append(a)
        out_of.setdefault(a, []).append(b)
        node = target.container.node if target.kind == "op" else None
        if node is not None and node.op.kind == "concat" and b not in merges:
            merges.append(b)
    lines = []
    for merge in merges:
        heads = []
        for branch in into.get(merge, []):
            head = branch
            # walk up the branch while it is a plain chain, to the part right after the fork
            while len(into.get(head, [])) == 1 and len(out_of.get(into[head][0], [])) == 1:
                head = into[head][0]
            heads.append(head)
        if len(set(heads)) > 1:
            lines.append("  { rank=same; " + " ".join(f"{h};" for h in dict.fromkeys(heads)) + " }")
    return lines


def learned_input(drawing: Drawing, part: Part) -> list[str]:
    """A ViT's class token and position embedding: the learned tensor as a node of its own, joining the
    token stream at the op that adds it."""
    node = part.container.node if part.kind == "op" else None
    if node is None or node.op.kind not in ("class_token", "position_embedding"):
        return []
    width = node.shape[-1]
    shape: Shape
    if node.op.kind == "class_token":
        text, shape = "learned class token", (1, width)
    else:
        text, shape = "learned position embedding", node.shape
    label = f'<{text}<BR/><FONT POINT-SIZE="{SMALL}" COLOR="{GREY}">{dims(shape)}</FONT>>'
    values: dict[str, str | float] = {"shape": "note", "style": "filled", "fillcolor": FAMILIES["token"][0]}
    return [
        f"p{node.id} " + attrs(**values, fontsize=10, label=label) + ";",
        f"p{node.id} -> {drawing.element(part)} " + attrs(style="dotted") + ";",
    ]


def is_shortcut(target: Part, index: int) -> bool:
    """Whether input ``index`` of ``target`` is a residual's shortcut (an add's second input)."""
    node = target.container.node if target.kind == "op" else None
    return index > 0 and node is not None and node.op.kind == "add"


def block_call(part: Part) -> str:
    """``Bottleneck(128, stride=2)``: the call of the block a part stands for."""
    scope = part.container.scope
    if scope is None:
        return "block"
    return scope.call or scope.block or scope.kind


def node_family(drawing: Drawing, part: Part) -> str:
    """The colour family of a node part: its op's, or ``block``."""
    if part.kind == "op" and part.container.node is not None:
        return family(part.container.node.op)
    return "block"


def node_attrs(drawing: Drawing, part: Part, kind: str) -> str:
    """The attributes of an op or box node: shape, colours and its HTML label."""
    fill = FAMILIES[kind][0]
    rows: list[str] = []
    if part.kind == "op":
        node = part.container.node
        assert node is not None
        text = summary(node.op)
        if not part.local.split(".")[-1].isdigit() and part.local != text:
            rows.append(f"<B>{esc(part.local)}</B>")
        rows.append(esc(text))
        shape = node.shape
    else:
        rows.append(f"<B>{esc(part.local)}</B>")
        rows.append(esc(block_call(part)) + (f" <B>×{part.count}</B>" if part.count > 1 else ""))
        shape = drawing.graph.nodes[part.ids[-1]].shape
    line = dims(shape)
    if drawing.options.figures:
        counted = figures(drawing.params(part.ids), drawing.macs(part.ids))
        line += f" · {counted}" if counted else ""
    rows.append(f'<FONT POINT-SIZE="{SMALL}" COLOR="{GREY}">{esc(line)}</FONT>')
    label = "<" + "<BR/>".join(rows) + ">"
    values: dict[str, str | float] = {"fillcolor": fill, "label": label}
    node = part.container.node if part.kind == "op" else None
    symbol = {"add": "+", "mul": "×"}.get(node.op.kind, "") if node is not None else ""
    if symbol:
        values.update(shape="circle", label=symbol, margin="0", width=0.3, fixedsize="true", fontsize=14)
    if part.kind == "box" and part.count > 1:
        values["peripheries"] = 2  # a stack of instances
    return attrs(**values)


def cluster_label(drawing: Drawing, part: Part) -> str:
    """A cluster's title: its name, what it is (a block call, ``Bottleneck ×6``), its figures."""
    scope = part.container.scope
    what = ""
    if part.stage is not None:
        what = f"{part.stage} ×{len(part.container.children)}"
    elif part.count > 1:
        what = f"{block_call(part)} ×{part.count} (one drawn)"
    elif scope is not None and scope.kind == "block":
        what = scope.call or scope.block or ""
    head = f"<B>{esc(part.local)}</B>" + (f": {esc(what)}" if what else "")
    lines = [head]
    if drawing.options.figures:
        counted = figures(drawing.params(part.ids), drawing.macs(part.ids))
        if counted:
            lines.append(f'<FONT POINT-SIZE="{SMALL}" COLOR="{GREY}">{esc(counted)}</FONT>')
    return "<" + "<BR/>".join(lines) + ">"


__all__ = ["DEFAULT_OPTIONS", "Drawing", "attrs", "blocks_dot", "header", "legend", "to_dot"]
