"""The index page's charts, drawn with matplotlib as SVG text.

matplotlib is imported here only, when a site is built. The output is deterministic: a fixed hash salt
for the SVG element ids, no date in the metadata, text kept as text (``svg.fonttype: none``) so that the
browser draws it with the page's fonts and the SVG stays small.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from archspec.site.entries import Entry, depth_field_steps

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_STYLE: dict[str, Any] = {
    "svg.hashsalt": "archspec",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
# No date, no tool version: the same site twice is the same bytes.
_METADATA = {"Date": None, "Creator": None}


@contextmanager
def _style() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(cast(Any, _STYLE)):  # the stubs list rc keys as literals
        yield


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata=_METADATA, bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: the SVG is inlined in HTML


def _colours(entries: Sequence[Entry]) -> dict[str, Any]:
    from matplotlib import colormaps

    families = list(dict.fromkeys(e.family for e in entries))
    palette = colormaps["tab10"] if len(families) <= 10 else colormaps["tab20"]
    return {family: palette(i % palette.N) for i, family in enumerate(families)}


def size_by_year(entries: Sequence[Entry]) -> str:
    """Parameters and MACs against the paper's year, log scale, one colour per network."""
    from matplotlib.figure import Figure

    dated = [e for e in entries if e.year is not None]
    with _style():
        figure = Figure(figsize=(10, 4.2))
        params_axes, macs_axes = figure.subplots(1, 2)
        colours = _colours(dated)
        series: tuple[tuple[Axes, Callable[[Entry], int], str], ...] = (
            (params_axes, lambda e: e.analysis.params, "parameters"),
            (macs_axes, lambda e: e.analysis.macs, "MACs (multiply-accumulates, batch 1)"),
        )
        for axes, value, label in series:
            for family, colour in colours.items():
                members = [e for e in dated if e.family == family]
                axes.scatter(
                    [e.year or 0 for e in members],  # undated entries were left out above
                    [value(e) for e in members],
                    color=colour,
                    label=family,
                    s=36,
                    edgecolor="white",
                    linewidth=0.6,
                    zorder=3,
                )
            axes.set_yscale("log")
            _log_ticks(axes.yaxis, [value(e) for e in dated], human_units=True)
            axes.set_xlabel("year of the paper")
            axes.set_ylabel(label)
            _year_ticks(axes, dated)
        params_axes.set_title("Parameters by year")
        macs_axes.set_title("Compute by year")
        handles, labels = params_axes.get_legend_handles_labels()
        figure.legend(handles, labels, loc="lower center", ncols=min(len(labels), 6), frameon=False)
        figure.tight_layout(rect=(0, 0.06 * ((len(labels) + 5) // 6), 1, 1))
        return _svg(figure)


def _year_ticks(axes: Axes, entries: Sequence[Entry]) -> None:
    from matplotlib.ticker import MultipleLocator

    years = [e.year for e in entries if e.year is not None]
    if years:
        axes.set_xlim(min(years) - 2, max(years) + 3)  # room for the labels right of the points
    span = max(years) - min(years) if years else 0
    axes.xaxis.set_major_locator(MultipleLocator(5 if span > 10 else 1))  # years are whole numbers
    axes.xaxis.set_minor_locator(MultipleLocator(1))


def _number(value: float, human_units: bool) -> str:
    """A tick label as people write it: ``20``, ``500``, ``1,000``; ``1M``, ``20G`` for counts."""
    if human_units:
        for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
            if value >= factor:
                return f"{value / factor:g}{suffix}"
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def _log_ticks(axis: Any, values: Sequence[float], human_units: bool = False) -> None:
    """Readable ticks on a log axis: labels at 1, 10, 100 … (and at 2 and 5 of each decade when the data
    spans less than two, and at 3 within one), written as numbers, never as ``3×10⁰``; unlabelled minor
    ticks between."""
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    positive = [v for v in values if v > 0]
    decades = math.log10(max(positive) / min(positive)) if positive else 0.0
    subs = (1.0,) if decades >= 2 else (1.0, 2.0, 5.0) if decades >= 1 else (1.0, 2.0, 3.0, 5.0)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda value, _position: _number(value, human_units)))
    axis.set_minor_locator(LogLocator(base=10, subs=tuple(float(i) for i in range(2, 10))))
    axis.set_minor_formatter(NullFormatter())


def size_by_network(entries: Sequence[Entry]) -> str:
    """Parameters and MACs of each network side by side, log scale (one's own specs, mostly undated)."""
    from matplotlib.figure import Figure

    with _style():
        figure = Figure(figsize=(10, 0.9 + 0.32 * max(len(entries), 3)))
        params_axes, macs_axes = figure.subplots(1, 2, sharey=True)
        colours = _colours(entries)
        names = [e.name for e in entries][::-1]  # the first network on top
        series: tuple[tuple[Axes, Callable[[Entry], int], str], ...] = (
            (params_axes, lambda e: e.analysis.params, "parameters"),
            (macs_axes, lambda e: e.analysis.macs, "MACs (multiply-accumulates, batch 1)"),
        )
        for axes, value, label in series:
            values = [value(e) for e in entries][::-1]
            axes.barh(names, [max(v, 1) for v in values], color=[colours[e.family] for e in entries][::-1])
            axes.set_xscale("log")
            _log_ticks(axes.xaxis, values, human_units=True)
            axes.set_xlabel(label)
            axes.grid(axis="y", visible=False)
        params_axes.set_title("Parameters")
        macs_axes.set_title("Compute")
        figure.tight_layout()
        return _svg(figure)


def field_lines(entries: Sequence[Entry]) -> list[tuple[Entry, list[tuple[int, int]]]]:
    """The receptive field's steps of each network (its first variant) that has a curve to draw: a field
    that becomes global right after the first layer (ViT's patch embedding) has none."""
    firsts: dict[str, Entry] = {}
    for entry in entries:
        firsts.setdefault(entry.family, entry)
    lines = [(e, depth_field_steps(e.analysis)) for e in firsts.values()]
    return [(e, steps) for e, steps in lines if len(steps) >= 2]


def field_by_depth(entries: Sequence[Entry], essay: bool = True) -> str:
    """The receptive field of the spatial path (squeeze-and-excitation gates' global inputs left out)
    against depth, one line per network (its first variant); with ``essay`` (the
    zoo's site), on the right the first layers, beside the field of stacked 3×3 convolutions and of one
    5×5 or 7×7 convolution."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    lines = field_lines(entries)
    with _style():
        figure = Figure(figsize=(10, 4.6) if essay else (8, 4.6))
        if essay:
            whole, start = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        else:
            whole = figure.subplots(1, 1)
        colours = _colours(entries)  # the same colour for a network in every chart
        for entry, steps in lines:
            depths, sizes = zip(*steps, strict=True)
            style: dict[str, Any] = {"color": colours[entry.family], "linewidth": 1.6, "marker": "."}
            whole.plot(depths, sizes, label=entry.name, **style)
            first = [(d, s) for d, s in steps if d <= 7]
            if first and essay:
                start.plot(*zip(*first, strict=True), **style)
        whole.set_yscale("log")
        _log_ticks(whole.yaxis, [size for _, steps in lines for _, size in steps])
        whole.xaxis.set_major_locator(MaxNLocator(integer=True))  # a depth counts layers
        whole.set_title("Receptive field along each network (spatial path)")
        whole.set_xlabel("depth (conv / linear / attention layers so far)")
        whole.set_ylabel("receptive field, spatial path (input pixels, log scale)")
        if lines:
            whole.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        if not essay:
            figure.tight_layout()
            return _svg(figure)
        stacked = range(1, 8)
        start.plot(stacked, [1 + 2 * n for n in stacked], "--", color="black", linewidth=1.4, zorder=4)
        start.annotate(
            "n stacked 3×3 convs, stride 1",
            (7, 15),
            xytext=(-4, 6),
            textcoords="offset points",
            ha="right",
            fontsize=8,
        )
        for k in (5, 7):
            start.axhline(k, color="0.4", linestyle=":", linewidth=1.2, zorder=4)
            start.annotate(
                f"one {k}×{k} conv",
                (7.5, k),
                xytext=(0, 2),
                textcoords="offset points",
                ha="right",
                va="bottom",
                fontsize=8,
            )
        start.set_xlim(0, 7.5)
        start.xaxis.set_major_locator(MaxNLocator(integer=True))
        start.set_ylim(0, 40)
        start.set_title("The first layers: two 3×3 convs see what one 5×5 sees")
        start.set_xlabel("depth")
        start.set_ylabel("receptive field (pixels)")
        figure.tight_layout()
        return _svg(figure)
