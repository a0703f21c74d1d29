"""Rendering DOT source with Graphviz's ``dot`` binary (through the ``graphviz`` package)."""

from __future__ import annotations

from typing import Literal

from archspec.errors import UsageError

Format = Literal["svg", "png", "pdf"]
FORMATS: tuple[str, ...] = ("svg", "png", "pdf")
INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: `apt-get install graphviz`), or write the source with a .dot file"
)


def render(dot_source: str, fmt: Format) -> bytes:
    """The drawing as SVG, PNG or PDF bytes. Raises UsageError when ``dot`` is missing or fails."""
    if fmt not in FORMATS:
        raise UsageError(f"cannot render to {fmt!r}; expected one of {', '.join(FORMATS)}")
    import graphviz  # imported only to render: drawing the DOT source needs nothing from it

    try:
        data: bytes = graphviz.pipe("dot", fmt, dot_source.encode("utf-8"), quiet=True)
    except graphviz.ExecutableNotFound:
        raise UsageError(f"Graphviz's `dot` was not found on PATH: {INSTALL_HINT}") from None
    except graphviz.CalledProcessError as error:
        detail = (error.stderr or b"").decode("utf-8", "replace").strip()
        raise UsageError(f"`dot` failed to render the drawing: {detail or error}") from None
    return data
