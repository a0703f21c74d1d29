"""Terminal tables in rich's look at a fraction of its cost: a 5,000-row table in well under a second.

rich lays a table out well (column widths fitted to the terminal, cells folded at word boundaries) but
renders every cell through its segment machinery, about 3 ms a row: a 5,000-layer network took 15 s to
print. Here rich still decides everything that is hard: the column widths and the header and border lines
come from rich rendering a *proxy* table, which has the real header and two rows per column that carry the
same width measurements as the whole column (its longest cell, and its longest word); rich's widths
depend only on those measurements, so the proxy's widths are the full table's. The body rows are then
padded by plain string operations; the rare cell longer than its column (or ending in white space) goes
through rich's own ``Text.wrap``. ``tests/test_fast_table.py`` checks the output against rich's rendering
of the whole table, byte for byte.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Literal

Justify = Literal["left", "right"]

_TOP_SEPARATOR = "┳"
_HEADER_END = "┡"
_SECTION = ("├", "─", "┼", "┤")
_VERTICAL = "│"


def render_table(
    header: Sequence[str],
    sections: Sequence[Sequence[Sequence[str]]],
    justify: Sequence[Justify],
    width: int,
    colour: bool,
    no_wrap: Sequence[bool] | None = None,
) -> str:
    """The table's text as ``rich.table.Table(header_style="bold")`` prints it at ``width`` columns:
    ``sections`` are groups of rows separated by a rule (the totals row is a section of its own); colour
    (a bold header) only when ``colour``; a column marked in ``no_wrap`` keeps its width (rich's
    ``no_wrap``: the caller makes sure that it fits)."""
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(
        file=io.StringIO(),
        width=width,
        color_system="standard" if colour else None,
        force_terminal=colour,
        highlight=False,
    )
    rows = [row for section in sections for row in section]
    proxy = Table(header_style="bold")
    for name, side, whole in zip(header, justify, no_wrap or [False] * len(header), strict=True):
        proxy.add_column(name, justify=side, overflow="fold", no_wrap=whole)
    for pick in (_longest_cell, _longest_word):  # Text, not str: spec text is never read as markup
        proxy.add_row(*(Text(pick([row[i] for row in rows])) for i in range(len(header))))
    proxy.add_section()
    proxy.add_row(*("" for _ in header))
    lines = _print(console, proxy).splitlines()
    widths = _content_widths(lines[0])
    header_end = next(i for i, line in enumerate(lines) if line.startswith(_HEADER_END))

    def row_lines(row: Sequence[str]) -> list[str]:
        cells: list[list[str]] = []
        for text, content, side in zip(row, widths, justify, strict=True):
            if cell_len(text) <= content and not text[-1:].isspace() and "\n" not in text:
                cells.append([_pad(text, content, side, cell_len(text))])
            else:
                wrapped = Text(text).wrap(console, content, justify=side, overflow="fold")
                cells.append([_pad(line.plain, content, side, cell_len(line.plain)) for line in wrapped])
        height = max(len(cell) for cell in cells)
        out = []
        for k in range(height):
            parts = [
                cell[k] if k < len(cell) else " " * content
                for cell, content in zip(cells, widths, strict=True)
            ]
            out.append(f"{_VERTICAL} " + f" {_VERTICAL} ".join(parts) + f" {_VERTICAL}")
        return out

    left, line, cross, right = _SECTION
    rule = left + cross.join(line * (content + 2) for content in widths) + right
    body: list[str] = []
    for number, section in enumerate(sections):
        if number:
            body.append(rule)
        for row in section:
            body.extend(row_lines(row))
    return "\n".join([*lines[: header_end + 1], *body, lines[-1]]) + "\n"


def _print(console: object, renderable: object) -> str:
    """What ``console`` prints for ``renderable``, as text."""
    from rich.console import Console

    assert isinstance(console, Console)
    buffer = io.StringIO()
    console.file = buffer
    console.print(renderable)
    return buffer.getvalue()


def _longest_cell(cells: Sequence[str]) -> str:
    from rich.cells import cell_len

    return max(cells, key=cell_len, default="")


def _longest_word(cells: Sequence[str]) -> str:
    from rich.cells import cell_len

    return max((word for cell in cells for word in cell.split()), key=cell_len, default="")


def _content_widths(top_border: str) -> list[int]:
    """The content width of each column, read off rich's top border (each column has 1 space of padding
    on either side)."""
    # The border may carry colour codes around it only when the border is styled, which it is not here.
    inner = top_border[1:-1]
    return [len(part) - 2 for part in inner.split(_TOP_SEPARATOR)]


def _pad(text: str, width: int, side: Justify, length: int) -> str:
    gap = " " * (width - length)
    return text + gap if side == "left" else gap + text
