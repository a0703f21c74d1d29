"""Drawing to a file: the format from the extension, written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archspec.backends.diagram.options import DrawOptions
from archspec.backends.diagram.render import FORMATS, Format, render
from archspec.backends.diagram.writer import to_dot
from archspec.errors import UsageError
from archspec.files import write_atomically
from archspec.ir import Graph

EXTENSIONS = (*FORMATS, "dot")


def format_of(path: Path) -> str:
    """``svg``, ``png``, ``pdf`` or ``dot`` from the file's extension (UsageError for anything else)."""
    extension = path.suffix.lower().lstrip(".")
    if extension not in EXTENSIONS:
        expected = ", ".join(f".{e}" for e in EXTENSIONS)
        got = f"'.{extension}'" if extension else "no extension"
        raise UsageError(f"cannot draw to {path}: the file name must end in {expected} (got {got})")
    return extension


def draw_to(graph: Graph, path: Path, **options: Any) -> Path:
    """Draw ``graph`` with ``DrawOptions(**options)`` into ``path``; returns the path."""
    fmt = format_of(path)
    try:
        chosen = DrawOptions(**options)
    except TypeError as error:  # an unknown keyword
        raise UsageError(f"draw: {error}") from None
    source = to_dot(graph, chosen)
    data: str | bytes = source if fmt == "dot" else render(source, _as_format(fmt))
    write_atomically(path, data)
    return path


def _as_format(fmt: str) -> Format:
    if fmt == "svg":
        return "svg"
    if fmt == "png":
        return "png"
    return "pdf"
