"""How a Network shows itself in Jupyter: an HTML summary and layer table, and an SVG diagram.

IPython asks an object for ``_repr_html_`` and ``_repr_svg_`` (``archspec.api.Network`` delegates
here); the notebook shows the richest it gets. The HTML holds what ``archspec analyze`` prints (the
header lines and the table, repeated blocks folded) with the diagram in a fold of its own when Graphviz
is installed; every text from the spec is HTML-escaped.
"""

from __future__ import annotations

from html import escape

from archspec.errors import UsageError
from archspec.ir import Graph

TABLE_DEPTH = 2  # rows nested this deep; deeper repeated blocks fold into one ``Bottleneck ×6`` row
_STYLE = "font-family: monospace; font-size: 12px; text-align: {side}; padding: 1px 8px"


def network_svg(graph: Graph) -> str | None:
    """The diagram as SVG text (``archspec draw``'s defaults), or None without Graphviz's ``dot``."""
    from archspec.backends.diagram import render, to_dot

    try:
        return render(to_dot(graph), "svg").decode("utf-8")
    except UsageError:  # no Graphviz: the notebook shows the other representations
        return None


def network_html(graph: Graph, diagram: bool = True) -> str:
    """The analysis summary and layer table as HTML (with the diagram folded in when ``diagram``)."""
    from archspec.analysis import analyze
    from archspec.report import COLUMNS, _cells, _total_cells, display_rows, header_lines

    analysis = analyze(graph)
    lines = header_lines(analysis)
    parts = [f"<div><strong>{escape(lines[0])}</strong>"]
    parts += [f"<br><span style='font-size: 12px'>{escape(line)}</span>" for line in lines[1:]]
    parts.append("</div>")
    svg = network_svg(graph) if diagram else None
    if svg is not None:
        start = svg.find("<svg")  # the SVG element, without the XML prologue and doctype
        parts.append(f"<details><summary>diagram</summary>{svg[start:]}</details>")
    right = {3, 4, 5, 6, 7}

    def row(cells: list[str], tag: str = "td") -> str:
        return (
            "<tr>"
            + "".join(
                f"<{tag} style='{_STYLE.format(side='right' if i in right else 'left')}'>"
                f"{escape(cell).replace(' ', '&nbsp;') if i == 0 else escape(cell)}</{tag}>"
                for i, cell in enumerate(cells)
            )
            + "</tr>"
        )

    parts.append("<table>")
    parts.append(row(list(COLUMNS), "th"))
    parts += [row(_cells(r)) for r in display_rows(analysis, TABLE_DEPTH)]
    parts.append(row(_total_cells(analysis), "th"))
    parts.append("</table>")
    return "\n".join(parts)
