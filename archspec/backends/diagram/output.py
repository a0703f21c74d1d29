"""Drawing to a file: the format from the extension, written atomically."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from archspec.backends.diagram.bounded import render_bounded
from archspec.backends.diagram.options import PNG_DPI, DrawOptions
from archspec.backends.diagram.render import FORMATS, Format
from archspec.backends.diagram.writer import to_dot
from archspec.errors import UsageError, did_you_mean
from archspec.files import write_atomically
from archspec.ir import Graph

EXTENSIONS = (*FORMATS, "dot")


def format_of(path: Path) -> str:
    """``svg``, ``png``, ``pdf`` or ``dot`` from the file's extension (UsageError for anything else)."""
    extension = path.suffix.lower().lstrip(".")
    if extension not in EXTENSIONS:
        expected = ", ".join(f".{e}" for e in EXTENSIONS[:-1]) + f" or .{EXTENSIONS[-1]}"
        got = f"'.{extension}'" if extension else "no extension"
        raise UsageError(f"cannot draw to {path}: the file name must end in {expected} (got {got})")
    return extension


def draw_to(graph: Graph, path: Path, **options: Any) -> Path:
    """Draw ``graph`` with ``DrawOptions(**options)`` into ``path``; returns the path."""
    fmt = format_of(path)
    known = [f.name for f in fields(DrawOptions)]
    for name in options:
        if name not in known:
            hint = did_you_mean(name, known)
            raise UsageError(
                f"draw: unknown option '{name}'"
                + (f"; {hint}" if hint else f"; the options: {', '.join(known)}")
            )
    chosen = DrawOptions(**options)
    source = to_dot(graph, chosen)
    if fmt == "png":  # the resolution is the PNG's only: SVG and PDF scale, the DOT source stays the same
        source = with_dpi(source, chosen.dpi or PNG_DPI)
    data: str | bytes = source if fmt == "dot" else render_bounded(source, _as_format(fmt))
    write_atomically(path, data)
    return path


def with_dpi(source: str, dpi: int) -> str:
    """The DOT source with the graph's resolution set (``to_dot`` writes ``digraph archspec {`` first)."""
    head, _, rest = source.partition("\n")
    return f"{head}\n  graph [dpi={dpi}];\n{rest}"


def _as_format(fmt: str) -> Format:
    if fmt == "svg":
        return "svg"
    if fmt == "png":
        return "png"
    return "pdf"
