"""DOT source of a drawing (minimal first version: one node per op)."""

from __future__ import annotations

import html

from archspec.backends.diagram.options import DrawOptions
from archspec.ir import Graph
from archspec.ops import format_shape


def esc(text: object) -> str:
    """Text for an HTML-like label: every markup character escaped, newlines as spaces."""
    return html.escape(str(text), quote=True).replace("\n", " ").replace("\r", " ")


DEFAULT_OPTIONS = DrawOptions()


def to_dot(graph: Graph, options: DrawOptions = DEFAULT_OPTIONS) -> str:
    """The DOT source of the drawing of ``graph`` (deterministic: same graph and options, same text)."""
    lines = ["digraph archspec {", f"  rankdir={options.rankdir};", "  node [shape=plaintext];"]
    title = graph.variant or graph.network
    lines.append(f"  label=<{esc(title)}>; labelloc=t;")
    for node in graph.nodes:
        label = f"<b>{esc(node.name)}</b><br/>{esc(node.op.describe())}<br/>{esc(format_shape(node.shape))}"
        lines.append(f"  n{node.id} [label=<{label}>];")
        for source in node.inputs:
            lines.append(f"  n{source} -> n{node.id};")
    lines.append("}")
    return "\n".join(lines) + "\n"
