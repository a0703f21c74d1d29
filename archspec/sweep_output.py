"""A sweep's rows as text: an aligned table (figures in M/G and MiB), CSV or JSON (exact integers)."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from typing import Any

from archspec.expr import show
from archspec.ops import format_shape
from archspec.report import human, human_bytes
from archspec.sweeps import METRICS, Row, SweepResult

TABLE_FIGURES = (
    ("params", "params", human),
    ("macs", "MACs", human),
    ("activation_bytes", "activations", human_bytes),
    ("training_bytes", "training (AdamW)", human_bytes),
    ("rf", "RF", str),
    ("depth", "depth", str),
)


# Figures a table narrower than its terminal leaves out, first to last (never an objective): `--format csv`
# and `json` have them all.
NARROW_DROPS = ("training_bytes", "activation_bytes", "depth", "rf", "output")


def render_sweep(result: SweepResult, fmt: str, width: int | None = None) -> str:
    """The rows in ``fmt`` (``table``, ``csv`` or ``json``); the front is the ``front`` column (``*``). A
    table wider than ``width`` (a terminal's) leaves out figures (``NARROW_DROPS``) until it fits."""
    if fmt == "json":
        return json.dumps(_json(result), indent=2) + "\n"
    if fmt == "csv":
        return _csv(result)
    objectives = {o.name for o in result.objectives}
    dropped: list[str] = []
    table, footer = _table(result, dropped)
    for name in NARROW_DROPS:
        if width is None or max(map(len, table)) <= width:
            break
        if name not in objectives:
            dropped.append(name)
            table, footer = _table(result, dropped)
    if width is not None:  # the footer's prose wrapped at the terminal's width, as analyze's header
        footer = [piece for line in footer for piece in textwrap.wrap(line, width, subsequent_indent="  ")]
    return "\n".join([*table, *footer]) + "\n"


def _json(result: SweepResult) -> dict[str, Any]:
    return {
        "axes": {name: list(values) for name, values in result.axes.items()},
        "combinations": result.combinations,
        "objectives": [f"{o.name}:max" if o.maximise else o.name for o in result.objectives],
        "rows": [
            {
                "values": row.values,
                **row.figures,
                "output": list(row.output) if row.output is not None else None,
                "front": row.front,
                "error": row.error,
            }
            for row in result.rows
        ],
    }


def _csv(result: SweepResult) -> str:
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([*result.axes, *METRICS, "output", "front", "error"])
    for row in result.rows:
        figures = [row.figures.get(name, "") for name in METRICS]
        writer.writerow([*_values(row), *figures, _output(row), int(row.front), row.error or ""])
    return stream.getvalue()


def _table(result: SweepResult, dropped: list[str]) -> tuple[list[str], list[str]]:
    """The table's lines, and the footer's, without the figures in ``dropped``."""
    shown = [(name, title, show_) for name, title, show_ in TABLE_FIGURES if name not in dropped]
    output = ["output"] if "output" not in dropped else []
    header = [*result.axes, *(title for _, title, _ in shown), *output, "front"]
    lines = []
    for row in result.rows:
        if row.ok:
            figures = [show_(row.figures[name]) for name, _, show_ in shown]
            outputs = [_output(row)] if output else []
            lines.append([*_values(row), *figures, *outputs, "*" if row.front else ""])
        else:
            lines.append([*_values(row), f"error: {row.error}"])
    table_width = len(header)
    widths = [
        max([len(header[i])] + [len(line[i]) for line in lines if len(line) == table_width])
        for i in range(table_width)
    ]
    axes = len(result.axes)

    def fmt(cells: list[str]) -> str:
        if len(cells) < table_width:  # an error row: the message spans the figure columns
            head = [cell.rjust(widths[i]) for i, cell in enumerate(cells[:axes])]
            return "  ".join([*head, cells[axes]])
        return "  ".join(cell.rjust(widths[i]) for i, cell in enumerate(cells)).rstrip()

    kept = len(result.rows)
    on_front = sum(row.front for row in result.rows)
    rows = f"{kept} row{'' if kept == 1 else 's'}"
    combinations = f"{result.combinations} combination{'' if result.combinations == 1 else 's'}"
    footer = f"{rows} of {combinations}; {on_front} on the front of " + ", ".join(
        f"{o.name} ({'max' if o.maximise else 'min'})" for o in result.objectives
    )
    footers = [footer]
    if dropped:
        titles = {name: title for name, title, _ in TABLE_FIGURES} | {"output": "output"}
        left_out = ", ".join(titles[name] for name in dropped)
        footers.append(f"left out to fit the terminal: {left_out} (--format csv has every figure)")
    return [fmt(header), *(fmt(line) for line in lines)], footers


def _values(row: Row) -> list[str]:
    return [show(value) for value in row.values.values()]


def _output(row: Row) -> str:
    return format_shape(row.output) if row.output is not None else ""
