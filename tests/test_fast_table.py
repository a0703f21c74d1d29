"""``fast_table.render_table`` prints what rich prints for the whole table, byte for byte (rich is the
oracle: its layout is the look the tables promise), at every width, with and without colour, for the
zoo's analyses and for hostile cell text."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table
from rich.text import Text

import archspec
from archspec.fast_table import Justify, render_table
from archspec.report import COLUMNS, _cells, _total_cells, display_rows, names_fit, table_columns


def rich_table(
    header: Sequence[str],
    sections: Sequence[Sequence[Sequence[str]]],
    justify: Sequence[Justify],
    width: int,
    colour: bool,
    no_wrap: Sequence[bool] | None = None,
) -> str:
    """The same table through rich's own renderer."""
    table = Table(header_style="bold")
    for name, side, whole in zip(header, justify, no_wrap or [False] * len(header), strict=True):
        table.add_column(name, justify=side, overflow="fold", no_wrap=whole)
    for number, section in enumerate(sections):
        if number:
            table.add_section()
        for row in section:
            table.add_row(*(Text(cell) for cell in row))
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        color_system="standard" if colour else None,
        force_terminal=colour,
        highlight=False,
    )
    console.print(table)
    return buffer.getvalue()


def analysis_table(variant: str, width: int) -> tuple[list[str], list[list[list[str]]], list[Justify]]:
    analysis = archspec.load(variant).analyze()
    shown = table_columns(width)
    body = [[cells[i] for i in shown] for cells in map(_cells, display_rows(analysis, 2))]
    total = _total_cells(analysis)
    justify: list[Justify] = ["right" if 3 <= i <= 7 else "left" for i in shown]
    return [COLUMNS[i] for i in shown], [body, [[total[i] for i in shown]]], justify


@pytest.mark.parametrize("variant", ["lenet5", "googlenet", "vit_b_16", "swin_t"])
@pytest.mark.parametrize("width", [40, 60, 80, 100, 131, 200])
@pytest.mark.parametrize("colour", [False, True])
def test_zoo_tables_equal_rich(variant: str, width: int, colour: bool) -> None:
    header, sections, justify = analysis_table(variant, width)
    expected = rich_table(header, sections, justify, width, colour)
    assert render_table(header, sections, justify, width, colour) == expected


@pytest.mark.parametrize("variant", ["resnet50", "swin_t"])
@pytest.mark.parametrize("width", [80, 100, 131])
def test_tables_with_whole_layer_names_equal_rich(variant: str, width: int) -> None:
    """The columns ``table_columns`` keeps for the rows, the layer column not wrapped, as rich prints it."""
    analysis = archspec.load(variant).analyze()
    rows = [*map(_cells, display_rows(analysis, None)), _total_cells(analysis)]
    shown = table_columns(width, rows)
    assert names_fit(width, shown, rows)
    body = [[row[i] for i in shown] for row in rows]
    header = [COLUMNS[i] for i in shown]
    justify: list[Justify] = ["right" if 3 <= i <= 7 else "left" for i in shown]
    no_wrap = [True] + [False] * (len(shown) - 1)
    sections = [body[:-1], body[-1:]]
    expected = rich_table(header, sections, justify, width, False, no_wrap)
    assert render_table(header, sections, justify, width, False, no_wrap) == expected


CELL = st.lists(
    st.sampled_from([*"ab xyz[]/=,.-_", "中", "é", "×", "[bold]", "[/]", "  ", "conv(16,", "aaaaaaaaaaaa"]),
    max_size=12,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.lists(CELL, min_size=3, max_size=3), min_size=1, max_size=6),
    width=st.integers(min_value=20, max_value=120),
    right=st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_any_cells_equal_rich(rows: list[list[str]], width: int, right: list[bool]) -> None:
    """Word wrapping, folding of long words, wide characters and markup-like text all as rich does."""
    header = ["name", "value", "note"]
    justify: list[Justify] = ["right" if r else "left" for r in right]
    sections = [rows[:-1], rows[-1:]] if len(rows) > 1 else [rows]
    expected = rich_table(header, sections, justify, width, False)
    assert render_table(header, sections, justify, width, False) == expected


def test_rich_lays_out_three_rows_whatever_the_table_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich (about 3 ms a row) sees only the proxy's 3 rows, so a 5,000-row table prints in well under a
    second (measured in tools/bench_analyze.py; no clock here)."""
    from archspec.report import render_analysis

    added = []
    original = Table.add_row

    def counting_add_row(self: Table, *cells: object, **kwargs: object) -> None:
        added.append(cells)
        original(self, *cells, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Table, "add_row", counting_add_row)
    spec = "network wide:\n  input: [4, 8, 8]\n  layers:\n    conv(4, 3, pad=1) * 2499\n    relu * 2500\n"
    text = render_analysis(archspec.load("wide.arch", text=spec).analyze(), "table")
    assert sum(line.startswith("│") for line in text.splitlines()) == 5001  # input, 4,999 layers, total
    assert len(added) == 3
