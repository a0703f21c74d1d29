"""The plot of a sweep: every row over the first two objectives, the Pareto front joined and labelled.

Imported only by ``--plot``: matplotlib is slow to import and the sweep itself does not need it.
"""

from __future__ import annotations

import io
from pathlib import Path

from archspec.errors import UsageError
from archspec.expr import show
from archspec.files import write_atomically
from archspec.sweeps import METRICS, SweepResult

FORMATS = (".png", ".svg", ".pdf")


def plot_sweep(result: SweepResult, path: Path) -> None:
    """Write the scatter plot of ``result`` to ``path`` (``.png``, ``.svg`` or ``.pdf``), atomically."""
    if path.suffix.lower() not in FORMATS:
        raise UsageError(f"--plot {path}: the file must end in {', '.join(FORMATS)}")
    if len(result.objectives) < 2:
        raise UsageError("--plot needs two objectives (--objectives X,Y)")
    import matplotlib

    matplotlib.use("Agg")  # no display: a file only
    import matplotlib.pyplot as plt

    x_name, y_name = result.objectives[0].name, result.objectives[1].name
    ok = [row for row in result.rows if row.ok]
    front = sorted((row for row in ok if row.front), key=lambda row: row.figures[x_name])
    figure, axes = plt.subplots(figsize=(7, 5), dpi=120)
    axes.scatter(
        [r.figures[x_name] for r in ok], [r.figures[y_name] for r in ok], s=14, c="0.7", label="variants"
    )
    axes.plot(
        [r.figures[x_name] for r in front],
        [r.figures[y_name] for r in front],
        "o-",
        color="tab:red",
        ms=5,
        label="Pareto front",
    )
    if len(front) <= 12:  # labels beyond a dozen would cover one another
        number = {id(row): i for i, row in enumerate(result.rows, 1)}
        for row in front:
            # Two swept values fit beside a point; more are named by the row's number in the table.
            label = (
                ", ".join(f"{k}={show(v)}" for k, v in row.values.items())
                if len(row.values) <= 2
                else f"row {number[id(row)]}"
            )
            note = axes.annotate(
                label, (row.figures[x_name], row.figures[y_name]), fontsize=7, xytext=(4, 4),
                textcoords="offset points",
            )  # fmt: skip
            note.set_in_layout(False)  # a long label must not squeeze the axes
    axes.set_xlabel(f"{x_name}: {METRICS[x_name]}", fontsize=8)
    axes.set_ylabel(f"{y_name}: {METRICS[y_name]}", fontsize=8)
    axes.set_title(f"{len(ok)} variants, {len(front)} on the front", fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format=path.suffix.lower()[1:])
    plt.close(figure)
    write_atomically(path, buffer.getvalue())
