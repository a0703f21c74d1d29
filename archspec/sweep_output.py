"""A sweep's rows as text: an aligned table (figures in M/G and MiB), CSV or JSON (exact integers)."""

from __future__ import annotations

import csv
import io
import json
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


def render_sweep(result: SweepResult, fmt: str) -> str:
    """The rows in ``fmt`` (``table``, ``csv`` or ``json``); the front is the ``front`` column (``*``)."""
    if fmt == "json":
        return json.dumps(_json(result), indent=2) + "\n"
    if fmt == "csv":
        return _csv(result)
    return _table(result)


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


def _table(result: SweepResult) -> str:
    header = [*result.axes, *(title for _, title, _ in TABLE_FIGURES), "output", "front"]
    lines = []
    for row in result.rows:
        if row.ok:
            figures = [show_(row.figures[name]) for name, _, show_ in TABLE_FIGURES]
            lines.append([*_values(row), *figures, _output(row), "*" if row.front else ""])
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
    return "\n".join([fmt(header), *(fmt(line) for line in lines), footer]) + "\n"


def _values(row: Row) -> list[str]:
    return [show(value) for value in row.values.values()]


def _output(row: Row) -> str:
    return format_shape(row.output) if row.output is not None else ""
