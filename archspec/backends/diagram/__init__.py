"""Drawing a network with Graphviz: the DOT source of its design, and rendering it with ``dot``.

``to_dot`` writes deterministic DOT text from the IR (no Graphviz needed); ``render`` runs the ``dot``
binary through the ``graphviz`` package, imported only then. Nothing here imports torch.
"""

from __future__ import annotations

from archspec.backends.diagram.options import DrawOptions, parse_depth
from archspec.backends.diagram.output import draw_to, format_of
from archspec.backends.diagram.render import FORMATS, render
from archspec.backends.diagram.writer import to_dot

__all__ = ["FORMATS", "DrawOptions", "draw_to", "format_of", "parse_depth", "render", "to_dot"]
