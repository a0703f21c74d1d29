"""Drawings that Graphviz lays out in bounded time: a simplified drawing, with a note, where the full one
is too large or ``dot`` runs out of time.

``dot``'s layout grows much faster than the drawing: a 106-byte spec of 1,500 ``add`` layers kept it
busy for minutes. A drawing of more than ``MAX_EDGES`` edges or ``MAX_NODES`` nodes (the zoo's largest,
EfficientNetV2-S with every op, has 611 and lays out in under a second), or one that ``dot`` has not
finished in ``DOT_SECONDS``, is drawn simplified: only the edges from each node to the next one in
order (a chain), straight lines and a short crossing-minimisation; a note in the drawing says so.
"""

from __future__ import annotations

import itertools
import re
import warnings

from archspec.backends.diagram.render import DotTimeout, Format, render

MAX_EDGES = 1_000
MAX_NODES = 1_000
MAX_SIMPLIFIED_NODES = 5_500  # a spec's layers (5,000) and their block boxes
_NODE = re.compile(r"^\s*(n\d+) \[", re.MULTILINE)
_EDGE = re.compile(r"^\s*(n\d+) -> (n\d+)\b")


class DrawingSimplified(UserWarning):
    """The drawing was simplified to keep Graphviz's time bounded (the message says why)."""


def render_bounded(source: str, fmt: Format) -> bytes:
    """``render(source, fmt)``, simplified (with a DrawingSimplified warning) when the drawing is over the
    bounds or ``dot`` times out on it."""
    nodes, edges = len(_NODE.findall(source)), source.count(" -> ")
    if edges > MAX_EDGES or nodes > MAX_NODES:
        reason = f"{nodes:,} nodes and {edges:,} edges are more than Graphviz lays out in bounded time"
    else:
        try:
            return render(source, fmt)
        except DotTimeout as timeout:
            reason = str(timeout)
    if nodes > MAX_SIMPLIFIED_NODES:
        from archspec.errors import UsageError

        raise UsageError(f"cannot draw {nodes:,} nodes (the limit is {MAX_SIMPLIFIED_NODES:,}); {reason}")
    note = f"simplified drawing (only the edges to the next layer): {reason}"
    warnings.warn(note, DrawingSimplified, stacklevel=2)
    try:
        return render(simplify(source, note), fmt)
    except DotTimeout as timeout:  # say what helps: the bare message left a user with nothing to try
        advice = (
            "a PNG's pixels take much of the time: write .svg or .pdf, or give a lower --dpi"
            if fmt == "png"
            else "draw less of it (a smaller --depth, fewer --expand)"
        )
        raise DotTimeout(f"{timeout}, simplified or not; {advice}") from None


def simplify(source: str, note: str) -> str:
    """``source`` with only the edges from each node to the one declared after it (invisible ones where
    there is none, so the nodes stand in order), straight lines, a short layout search, and ``note`` as a
    box at the top."""
    names = _NODE.findall(source)
    order = {name: index for index, name in enumerate(names)}
    kept, chained = [], set()
    for line in source.splitlines():
        edge = _EDGE.match(line)
        if edge:
            if order.get(edge.group(2), -1) != order.get(edge.group(1), -2) + 1:
                continue
            chained.add(edge.group(1))
        kept.append(line)
    if kept and kept[-1].strip() == "}":
        # Nodes that no kept edge joins to the next still stand in order, one under the other.
        pairs = itertools.pairwise(names)
        invisible = [f"  {a} -> {b} [style=invis];" for a, b in pairs if a not in chained]
        kept[-1:] = [*invisible, kept[-1]]
    head, rest = kept[0], kept[1:]
    text = note.replace("\\", "\\\\").replace('"', '\\"').replace(": ", ":\\n", 1)
    extra = [
        "  graph [splines=line, mclimit=0.01, nslimit=1, nslimit1=1, remincross=false, searchsize=10];",
        f'  archspec_note [shape=plaintext, style="", fontsize=10, label="{text}"];',
    ]
    return "\n".join([head, *extra, *rest]) + "\n"
