"""The figure of an experiment's result (matplotlib, Agg backend): ``plot.svg`` and ``plot.png``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from archspec.files import write_atomically


def draw(result: dict[str, Any], folder: Path) -> list[str]:
    """Draw the result's plot into ``folder``; returns the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plot = result["plot"]
    figure, axes = plt.subplots(figsize=(7, 4.2))
    try:
        if plot["type"] == "bars":
            _bars(axes, plot)
        elif plot["type"] == "fields":
            _fields(axes, plot)
        else:
            _series(axes, plot)
        axes.set_title(result["title"], fontsize=11)
        figure.tight_layout()
        written = []
        for suffix, options in (("svg", {"metadata": {"Date": None}}), ("png", {"dpi": 110})):
            buffer = io.BytesIO()
            figure.savefig(buffer, format=suffix, **options)
            path = folder / f"plot.{suffix}"
            write_atomically(path, buffer.getvalue())
            written.append(str(path))
        return written
    finally:
        plt.close(figure)


def _bars(axes: Any, plot: dict[str, Any]) -> None:
    """Params and MACs of each variant, side by side, on a log scale."""
    bars = plot["bars"]
    positions = range(len(bars))
    width = 0.4
    axes.bar([p - width / 2 for p in positions], [b["params"] for b in bars], width, label="params")
    axes.bar([p + width / 2 for p in positions], [b["macs"] for b in bars], width, label="MACs")
    axes.set_xticks(list(positions), [b["label"] for b in bars])
    axes.set_yscale("log")
    _readable_log(axes.yaxis)
    axes.legend()


def _readable_log(axis: Any) -> None:
    """Log ticks written as numbers (``100``, ``1M``), never as ``10⁸``."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    def text(value: float, _position: int) -> str:
        for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
            if value >= factor:
                return f"{value / factor:g}{suffix}"
        return f"{value:g}"

    axis.set_major_formatter(FuncFormatter(text))
    axis.set_minor_formatter(NullFormatter())


def _fields(axes: Any, plot: dict[str, Any]) -> None:
    """Receptive field of the spatial path (pixels) against spatial depth, one line per network; a line
    that ends where the field becomes global while the maps are still spatial (attention) ends in a
    triangle; a cross marks the first squeeze-and-excitation gate, from where the whole field is global
    (the line goes on with the spatial path's)."""
    import matplotlib

    tab20 = matplotlib.colormaps["tab20"]  # 20 distinct colours: the zoo outgrew tab10's 10
    colours = [tab20(i) for i in range(20)]
    for index, curve in enumerate(plot["curves"]):
        colour = colours[(2 * index) % 20 + (2 * index) // 20]  # the dark shades first, then the light
        axes.plot(curve["depths"], curve["sizes"], marker=".", color=colour, label=curve["network"])
        if curve.get("global_while_spatial"):
            axes.plot(curve["depths"][-1], curve["sizes"][-1], marker="^", markersize=8, color=colour)
        if curve.get("gated_at") is not None:
            at = curve["depths"].index(curve["gated_at"])
            axes.plot(curve["depths"][at], curve["sizes"][at], marker="x", markersize=8, color=colour)
    axes.set_yscale("log")
    _readable_log(axes.yaxis)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_xlabel("spatial layers from the input (layers that grow the field)")
    marker = "global from the next layer on (attention)"
    axes.plot([], [], marker="^", linestyle="", color="grey", label=marker)
    gate = "first SE gate: whole field global from here"
    axes.plot([], [], marker="x", linestyle="", color="grey", label=gate)
    axes.set_ylabel("receptive field, spatial path (pixels)")
    axes.legend(fontsize=7, ncol=2)


def _series(axes: Any, plot: dict[str, Any]) -> None:
    """A metric per series: against the x axis with the seeds' range as error bars, or as bars."""
    labels = plot["x_labels"]
    for index, series in enumerate(plot["series"]):
        means, lows, highs = series["mean"], series["min"], series["max"]
        errors = [
            [m - lo for m, lo in zip(means, lows, strict=True)],
            [h - m for m, h in zip(means, highs, strict=True)],
        ]
        if len(labels) > 1:
            axes.errorbar(range(len(labels)), means, yerr=errors, marker="o", capsize=3, label=series["name"])
        else:
            axes.bar([index], means, yerr=errors, capsize=4, label=series["name"])
    if len(labels) > 1:
        axes.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 5 else 0, fontsize=8)
        axes.set_xlabel(plot["x_title"])
    else:
        axes.set_xticks(range(len(plot["series"])), [s["name"] for s in plot["series"]])
    axes.set_ylabel(plot["metric_title"])
    axes.legend()
