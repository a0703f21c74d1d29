"""DOT source of a drawing: the plan's parts as Graphviz nodes, clusters and edges (the ``blocks``
style; ``maps`` draws the ``maps`` style from the same ``Drawing``).

The output is deterministic: the same graph and options give the same text.
"""

from __future__ import annotations

from archspec.analysis import node_counts
from archspec.backends.diagram.drawing import (
    GREY,
    SMALL,
    Drawing,
    attrs,
    block_call,
    drawn_kind,
    header,
    is_shortcut,
    legend,
    node_family,
    rate_range,
)
from archspec.backends.diagram.labels import FAMILIES, dims, esc, figures, summary
from archspec.backends.diagram.maps import maps_dot
from archspec.backends.diagram.options import DrawOptions
from archspec.backends.diagram.plan import Part, plan
from archspec.ir import Graph

DEFAULT_OPTIONS = DrawOptions()
CLUSTER_FILLS = ("#f7f8fa", "#eef1f5")  # alternating by nesting, so nested clusters stay apart


def to_dot(graph: Graph, options: DrawOptions = DEFAULT_OPTIONS) -> str:
    """The DOT source of the drawing of ``graph`` (deterministic: same graph and options, same text)."""
    drawing = Drawing(graph, options, plan(graph, options), node_counts(graph))
    if options.style == "maps":
        return maps_dot(drawing)
    return blocks_dot(drawing)


# ---------------------------------------------------------------- the blocks style


def blocks_dot(drawing: Drawing) -> str:
    """The ``blocks`` style: ops and closed blocks as nodes, opened containers as clusters.

    Every cluster's caption is a node of its own (``k3``), never Graphviz's cluster label: edges are
    routed around nodes but straight through a cluster's label, and a node widens its cluster where a
    label wider than a narrow cluster would run over its border. A cluster that one edge enters (a
    stage, a sequence in a chain) has its caption on the rank of the first thing in it and left of it:
    the edge into it runs straight past. A cluster that several edges enter (an Inception block's
    branches, a residual block and its shortcut) has it on the rank of the layer the edges out of the
    cluster leave from, left of it: away from the edges in, and beside the edges out, which leave below."""
    lines = header(drawing, drawing.options.rankdir)
    used: list[tuple[str, str]] = []
    inside: dict[str, tuple[int, ...]] = {}  # node element -> the clusters around it, outermost first
    numbers: dict[int, int] = {}  # id(cluster part) -> its number

    def number(parts: list[Part], around: tuple[int, ...]) -> None:
        for part in parts:
            if part.kind == "cluster":
                numbers[id(part)] = len(numbers) + 1
                number(part.children, (*around, numbers[id(part)]))
            else:
                inside[drawing.element(part)] = around

    number(drawing.plan.parts, ())
    edges = drawing.edges()
    entries: dict[int, int] = {}  # cluster -> edges entering it
    for source, target, _, _ in edges:
        for cluster in set(inside[drawing.element(target)]) - set(inside[drawing.element(source)]):
            entries[cluster] = entries.get(cluster, 0) + 1
    captioned = {cluster for cluster, count in entries.items() if count == 1}
    exits: dict[int, str] = {}  # cluster -> the last element in it that an edge leaves it from
    order = {element: index for index, element in enumerate(inside)}
    for source, target, _, _ in edges:
        element = drawing.element(source)
        for cluster in set(inside[element]) - set(inside[drawing.element(target)]):
            if cluster not in exits or order[element] > order[exits[cluster]]:
                exits[cluster] = element
    last: dict[int, str] = {}  # cluster -> the last element in it (a cluster no edge leaves)
    for element, around in inside.items():
        for cluster in around:
            last[cluster] = element

    def emit(parts: list[Part], indent: str, nesting: int) -> list[str]:
        heads = []  # what this level draws first: each node, or each captioned cluster's caption
        for part in parts:
            if part.kind == "cluster":
                cluster = numbers[id(part)]
                lines.append(f"{indent}subgraph cluster_{cluster} {{")
                fill = CLUSTER_FILLS[nesting % 2]
                label = cluster_label(drawing, part)
                own = cluster in captioned
                lines.append(
                    f"{indent}  graph "
                    + attrs(
                        label="",
                        style="rounded,filled",
                        fillcolor=fill,
                        color="#9aa5b1",
                        fontsize=10,
                    )
                    + ";"
                )
                caption = f"k{cluster}"
                caption_attrs = attrs(shape="plaintext", style="", margin=0, fontsize=10, label=label)
                lines.append(f"{indent}  {caption} {caption_attrs};")
                below = emit(part.children, indent + "  ", nesting + 1)
                # one edge in: on the first thing's rank, left of it, so that the edge runs straight past;
                # several: on the rank of the layer the edges out leave from, left of it
                beside = (below[0] if below else None) if own else exits.get(cluster, last.get(cluster))
                if beside is not None:
                    lines.append(f"{indent}  {{ rank=same; {caption}; {beside}; }}")
                    lines.append(f"{indent}  {caption} -> {beside} " + attrs(style="invis") + ";")
                lines.append(f"{indent}}}")
                heads.append(caption if own else (below[0] if below else caption))
                continue
            kind = node_family(drawing, part)
            used.append((kind, drawn_kind(part)))
            element = drawing.element(part)
            heads.append(element)
            lines.append(f"{indent}{element} {node_attrs(drawing, part, kind)};")
            lines.extend(indent + line for line in learned_input(drawing, part))
        return heads

    emit(drawing.plan.parts, "  ", 0)
    labelled: set[str] = set()  # a shape is written once, on the first edge out of the part that made it
    for source, target, source_id, index in edges:
        extra: dict[str, str | float] = {}
        if is_shortcut(target, index):
            extra.update(style="dashed", color="#8a8a8a")
        shape = drawing.graph.nodes[source_id].shape
        element = drawing.element(source)
        if drawing.input_shape(source) != shape and element not in labelled:
            labelled.add(element)
            extra["label"] = f" {dims(shape)} "
        to = drawing.element(target)
        suffix = " " + attrs(**extra) if extra else ""
        lines.append(f"  {element} -> {to}{suffix};")
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
        if node is not None and node.op.aligns_branches and b not in merges:
            merges.append(b)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = {start}, [start]
        while todo:
            for after in out_of.get(todo.pop(), []):
                if after == goal:
                    return True
                if after not in seen:
                    seen.add(after)
                    todo.append(after)
        return False

    lines = []
    for merge in merges:
        heads = []
        for branch in into.get(merge, []):
            head = branch
            # walk up the branch while it is a plain chain, to the part right after the fork
            while len(into.get(head, [])) == 1 and len(out_of.get(into[head][0], [])) == 1:
                head = into[head][0]
            heads.append(head)
        heads = list(dict.fromkeys(heads))
        # only parallel branches go side by side: DenseNet's concat of every earlier layer reads layers
        # that read one another, which one rank would draw with edges going up
        parallel = not any(reaches(a, b) for a in heads for b in heads if a != b)
        if len(heads) > 1 and parallel:
            lines.append("  { rank=same; " + " ".join(f"{h};" for h in heads) + " }")
    return lines


def learned_input(drawing: Drawing, part: Part) -> list[str]:
    """A ViT's class token and position embedding: the learned tensor as a node of its own, joining the
    token stream at the op that adds it."""
    node = part.container.node if part.kind == "op" else None
    learned = node.op.learned_tensor(node.shape) if node is not None else None
    if node is None or learned is None:
        return []
    text, shape = learned
    label = f'<{text}<BR/><FONT POINT-SIZE="{SMALL}" COLOR="{GREY}">{dims(shape)}</FONT>>'
    values: dict[str, str | float] = {"shape": "note", "style": "filled", "fillcolor": FAMILIES["token"][0]}
    return [
        f"p{node.id} " + attrs(**values, fontsize=10, label=label) + ";",
        f"p{node.id} -> {drawing.element(part)} " + attrs(style="dotted") + ";",
    ]


def node_attrs(drawing: Drawing, part: Part, kind: str) -> str:
    """The attributes of an op or box node: shape, colours and its HTML label."""
    fill = FAMILIES[kind][0]
    rows: list[str] = []
    if part.kind == "op":
        node = part.container.node
        assert node is not None
        text = summary(node.op)
        listed = "." in node.local_name  # a layer of a module list (`convs.0`): its name says which
        if (listed or not part.local.split(".")[-1].isdigit()) and part.local != text:
            rows.append(f"<B>{esc(part.local)}</B>")
        rows.append(esc(text))
        shape = node.shape
    else:
        rows.append(f"<B>{esc(part.local)}</B>")
        rows.append(esc(block_call(part)) + (f" <B>×{part.count}</B>" if part.count > 1 else ""))
        rates = rate_range(drawing, part)
        if rates:
            rows.append(f'<FONT POINT-SIZE="{SMALL}">{esc(rates)}</FONT>')
        shape = drawing.graph.nodes[part.ids[-1]].shape
    line = dims(shape)
    if drawing.options.figures:
        counted = figures(drawing.params(part.ids), drawing.macs(part.ids))
        line += f" · {counted}" if counted else ""
    rows.append(f'<FONT POINT-SIZE="{SMALL}" COLOR="{GREY}">{esc(line)}</FONT>')
    label = "<" + "<BR/>".join(rows) + ">"
    values: dict[str, str | float] = {"fillcolor": fill, "label": label}
    node = part.container.node if part.kind == "op" else None
    symbol = node.op.merge_symbol if node is not None else ""
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
        what = block_call(part)
    head = f"<B>{esc(part.local)}</B>" + (f": {esc(what)}" if what else "")
    lines = [head]
    rates = rate_range(drawing, part)
    if rates:
        lines.append(f'<FONT POINT-SIZE="{SMALL}">{esc(rates)}</FONT>')
    if drawing.options.figures:
        counted = figures(drawing.params(part.ids), drawing.macs(part.ids))
        if counted:
            lines.append(f'<FONT POINT-SIZE="{SMALL}" COLOR="{GREY}">{esc(counted)}</FONT>')
    return "<" + "<BR/>".join(lines) + ">"


__all__ = ["DEFAULT_OPTIONS", "blocks_dot", "to_dot"]
