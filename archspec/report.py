"""Reports of an analysis: a terminal table (rich), Markdown, CSV and JSON.

Every format states its counting convention in its header. JSON is the contract other tools read: one
row per named layer and per container under its full dotted name, containers with summed figures.
``depth`` keeps the rows nested at most that deep; in the table and Markdown formats, repeated block
instances that end at that depth fold into one ``Bottleneck ×6`` row with summed figures.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archspec.analysis import RF, Analysis, ReceptiveField, Row
from archspec.fast_table import Justify, render_table
from archspec.folding import Instance, fold_runs, run_name, signature
from archspec.ir import ReportedResult
from archspec.ops import format_shape
from archspec.records import FrozenRecord, set_field
from archspec.terminal import escape_controls

FORMATS = ("table", "markdown", "csv", "json")
# The version of the analysis JSON document (`archspec schema --analysis`); raised when a field changes.
SCHEMA_VERSION = 3


def render_analysis(
    analysis: Analysis, fmt: str, depth: int | None = None, comments: bool = False, terminal: bool = True
) -> str:
    """The analysis in one of ``FORMATS``; ``depth`` limits the rows by nesting depth; ``comments`` puts
    the header lines into a CSV as ``#`` lines (which plain CSV readers do not expect). A table for a
    file (``terminal`` false) has no colour and the width of a pipe's.

    The table's spec text has its control characters escaped already (its colour codes are its own):
    print it with :func:`archspec.terminal.write_styled`."""
    if fmt == "json":
        return readable_json(analysis_json(analysis, depth)) + "\n"
    if fmt == "csv":
        return _csv(analysis, depth, comments)
    if fmt == "markdown":
        return _markdown(analysis, depth)
    if fmt == "table":
        return _table(analysis, depth, terminal)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


# ---------------------------------------------------------------- JSON


def rf_json(field: RF) -> Any:
    """``{"size", "stride", "padding", "centre"}``, ``"global"`` or None."""
    return field.as_dict() if isinstance(field, ReceptiveField) else field


def readable_json(value: Any, levels: int = 2, indent: int = 2, _level: int = 0) -> str:
    """JSON indented for its first ``levels`` levels of nesting and one line below, like a table: the
    analysis document's fields one a line, each layer a line of its own; a list or object of plain values
    (``"input": [3, 224, 224]``) stays on one line. Also fast: the one-line parts are written by json's C
    encoder, where ``indent`` would send all of it (540,000 values for a 900-block network) through the
    pure-Python one."""
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    if _level >= levels or not any(isinstance(item, dict | list) for item in items):
        return json.dumps(value, ensure_ascii=False)
    pad, inner = " " * indent * _level, " " * indent * (_level + 1)
    if isinstance(value, dict):
        lines = [
            f"{inner}{json.dumps(str(key), ensure_ascii=False)}: "
            + readable_json(item, levels, indent, _level + 1)
            for key, item in value.items()
        ]
        return "{\n" + ",\n".join(lines) + f"\n{pad}}}"
    lines = [inner + readable_json(item, levels, indent, _level + 1) for item in value]
    return "[\n" + ",\n".join(lines) + f"\n{pad}]"


def analysis_json(analysis: Analysis, depth: int | None = None) -> dict[str, Any]:
    """The JSON document (see the module docstring)."""
    graph = analysis.graph
    return {
        "schema_version": SCHEMA_VERSION,
        "network": graph.network,
        "variant": graph.variant,
        "input": list(graph.input_shape),
        "output": list(graph.output_shape),
        "dtype": analysis.dtype,
        "batch": analysis.batch,
        "params": analysis.params,
        "trainable_params": analysis.trainable_params,
        "buffers": analysis.buffers,
        "macs": analysis.macs,
        "flops": analysis.flops,
        "activation_bytes": analysis.activation_bytes,
        "peak_activation_bytes": analysis.peak_activation_bytes,
        "training_memory": dict(analysis.training_memory),
        "receptive_field": rf_json(analysis.receptive_field),
        "receptive_field_spatial": rf_json(analysis.spatial_receptive_field),
        "depth": analysis.depth,
        "convention": analysis.convention(),
        "warnings": list(analysis.warnings),
        "layers": [_row_json(row) for row in _visible(analysis.rows, depth)],
    }


def _row_json(row: Row) -> dict[str, Any]:
    return {
        "name": row.name,
        "op": row.op,
        "description": row.description,
        "kind": row.kind,
        "depth": row.depth,
        "output_shape": list(row.output_shape),
        "params": row.params,
        "trainable_params": row.trainable_params,
        "buffers": row.buffers,
        "macs": row.macs,
        "flops": row.flops,
        "activation_bytes": row.activation_bytes,
        "saved_bytes": row.saved_bytes,
        "receptive_field": rf_json(row.receptive_field),
        "receptive_field_spatial": rf_json(row.spatial_receptive_field),
        "repeat": row.repeat.model_dump() if row.repeat is not None else None,
    }


def _visible(rows: Sequence[Row], depth: int | None) -> list[Row]:
    return [row for row in rows if depth is None or row.depth <= depth]


# ---------------------------------------------------------------- rows for people


@dataclass(init=False, repr=False, eq=False)
class DisplayRow(FrozenRecord):
    """A row as shown: possibly several repeated block instances folded into one."""

    name: str
    op: str
    depth: int
    output_shape: str
    params: int
    macs: int
    flops: int
    activation_bytes: int
    saved_bytes: int
    receptive_field: str

    def __init__(
        self,
        name: str,
        op: str,
        depth: int,
        output_shape: str,
        params: int,
        macs: int,
        flops: int,
        activation_bytes: int,
        saved_bytes: int,
        receptive_field: str,
    ) -> None:
        set_field(self, "name", name)
        set_field(self, "op", op)
        set_field(self, "depth", depth)
        set_field(self, "output_shape", output_shape)
        set_field(self, "params", params)
        set_field(self, "macs", macs)
        set_field(self, "flops", flops)
        set_field(self, "activation_bytes", activation_bytes)
        set_field(self, "saved_bytes", saved_bytes)
        set_field(self, "receptive_field", receptive_field)


def display_rows(analysis: Analysis, depth: int | None) -> list[DisplayRow]:
    """Visible rows, with runs of one block's repeated instances at the depth limit folded (×N)."""
    rows = _visible(analysis.rows, depth)
    graph = analysis.graph

    def instance(row: Row) -> Instance:
        if depth is None or row.kind != "block" or row.depth != depth:
            return Instance(None, row.parent, row.repeat, None)
        return Instance(row.block, row.parent, row.repeat, signature(graph, row.node_ids, row.name))

    return [_fold(rows[run.start : run.stop]) for run in fold_runs([instance(row) for row in rows])]


def _fold(run: list[Row]) -> DisplayRow:
    first, last = run[0], run[-1]
    if len(run) == 1:
        name, op = first.name, first.description
    else:
        name = run_name(first.name, last.name)
        op = f"{first.op} ×{len(run)}"
    return DisplayRow(
        name=name,
        op=op,
        depth=first.depth,
        output_shape=format_shape(last.output_shape),
        params=sum(r.params for r in run),
        macs=sum(r.macs for r in run),
        flops=sum(r.flops for r in run),
        activation_bytes=sum(r.activation_bytes for r in run),
        saved_bytes=sum(r.saved_bytes for r in run),
        receptive_field=rf_text(last.receptive_field),
    )


def rf_text(field: RF) -> str:
    """``35 /4 p17`` (size, stride, padding), ``global`` or ``-``."""
    if field is None:
        return "-"
    if field == "global":
        return "global"
    stride = field.stride[0] if field.stride[0] == field.stride[1] else f"{field.stride[0]}x{field.stride[1]}"
    pad = (
        field.padding[0] if field.padding[0] == field.padding[1] else f"{field.padding[0]}x{field.padding[1]}"
    )
    return f"{field.short()} /{stride} p{pad}"


def network_rf_text(analysis: Analysis) -> str:
    """The network's field: one figure, or, where a gate fed by global pooling makes the whole field
    global, both, labelled: ``global (whole); 595 /32 p297 (spatial path)``."""
    if not analysis.gated:
        return rf_text(analysis.receptive_field)
    whole, spatial = rf_text(analysis.receptive_field), rf_text(analysis.spatial_receptive_field)
    return f"{whole} (whole); {spatial} (spatial path)"


def human(value: float, unit: str = "") -> str:
    """``25.56M``, ``4.09G``: three significant digits."""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= factor:
            return f"{value / factor:.2f}{suffix}{unit}"
    return f"{value:g}{unit}"


def human_bytes(value: int) -> str:
    """``12.3 MiB``."""
    size = float(value)
    for suffix in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or suffix == "GiB":
            return f"{size:.1f} {suffix}" if suffix != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} GiB"  # pragma: no cover


def trainable_text(params: int, trainable: int) -> str:
    """``all trainable``, or how many are: a spec has no way to freeze a parameter (state that does not
    learn is a buffer, counted apart), so the count would only repeat the parameters' own."""
    return "all trainable" if trainable == params else f"trainable {trainable:,}"


def header_lines(analysis: Analysis) -> list[str]:
    """The lines above every human-readable report: network, totals, convention, warnings."""
    graph = analysis.graph
    tm = analysis.training_memory
    conv = analysis.convention()
    lines = [
        f"{analysis.network}: input {format_shape(graph.input_shape)} "
        f"-> output {format_shape(graph.output_shape)}",
        f"params {analysis.params:,} ({trainable_text(analysis.params, analysis.trainable_params)}, "
        f"buffers {analysis.buffers:,}); MACs {analysis.macs:,} ({human(analysis.macs)}); "
        f"FLOPs {analysis.flops:,} ({human(analysis.flops)})",
        f"depth {analysis.depth} (conv/linear/attention layers on the longest path); "
        f"receptive field {network_rf_text(analysis)}",
        f"memory ({conv['memory']}): saved for backward {human_bytes(analysis.activation_bytes)}, "
        f"peak at inference {human_bytes(analysis.peak_activation_bytes)} (at {analysis.peak_at}); "
        f"training: SGD-momentum {human_bytes(tm['sgd_momentum']['total_bytes'])}, "
        f"AdamW {human_bytes(tm['adamw']['total_bytes'])}",
        conv["text"],
    ]
    if analysis.gated:
        lines.insert(
            3,
            "  (the whole field: a gate fed by global pooling sees every pixel; the spatial path's: "
            "the gates' global inputs and global pooling left out)",
        )
    for op, rule in conv.get("rules", {}).items():
        lines.append(f"  {op}: {rule}")
    lines.extend(f"warning: {w}" for w in analysis.warnings)
    return lines


# "out mem": the bytes of a layer's output; "saved": what autograd keeps for its backward (docs/memory.md).
COLUMNS = ("layer", "op", "output", "params", "MACs", "FLOPs", "out mem", "saved", "RF (size /stride pad)")


def _cells(row: DisplayRow) -> list[str]:
    indent = "  " * (row.depth - 1)
    return [
        indent + row.name,
        row.op,
        row.output_shape,
        f"{row.params:,}",
        f"{row.macs:,}",
        f"{row.flops:,}",
        human_bytes(row.activation_bytes),
        human_bytes(row.saved_bytes),
        row.receptive_field,
    ]


def _total_cells(analysis: Analysis) -> list[str]:
    return [
        "total",
        "",
        format_shape(analysis.graph.output_shape),
        f"{analysis.params:,}",
        f"{analysis.macs:,}",
        f"{analysis.flops:,}",
        "",
        human_bytes(analysis.activation_bytes),
        network_rf_text(analysis),
    ]


# Columns a narrow terminal drops, first to last (FLOPs are 2 x MACs under the default convention).
NARROW_DROPS = (("FLOPs", 130), ("out mem", 115), ("RF (size /stride pad)", 100), ("output", 85))


# Then, while the layer names would not fit whole beside the other columns (rich would break a name such
# as `layer1.0.conv1` in the middle), these go too, first to last; the op column may wrap, down to OP_WIDTH.
FIT_DROPS = ("FLOPs", "out mem", "saved", "RF (size /stride pad)", "output")
OP_WIDTH = 16


def table_columns(width: int, rows: Sequence[Sequence[str]] = ()) -> list[int]:
    """Indices of ``COLUMNS`` shown at this width, for these rows (``_cells``): the layer names whole
    where dropping columns (``FIT_DROPS``) makes room for them."""
    dropped = {name for name, needs in NARROW_DROPS if width < needs}
    shown = [i for i, name in enumerate(COLUMNS) if name not in dropped]
    for name in FIT_DROPS:
        if not rows or names_fit(width, shown, rows):
            break
        shown = [i for i in shown if COLUMNS[i] != name]
    return shown


def names_fit(width: int, shown: Sequence[int], rows: Sequence[Sequence[str]]) -> bool:
    """Whether the layer column (0) fits whole at ``width``, the op column (1) wrapped to at most
    ``OP_WIDTH`` and every other column as wide as its longest cell or header word."""
    from rich.cells import cell_len

    needed = 1 + 3 * len(shown)  # the borders, and a space either side of each cell
    for i in shown:
        longest = max((cell_len(row[i]) for row in rows), default=0)
        words = max(cell_len(word) for word in COLUMNS[i].split())
        needed += min(longest, OP_WIDTH) if i == 1 else max(longest, words)
    return needed <= width


def _table(analysis: Analysis, depth: int | None, terminal: bool = True) -> str:
    cells = [*map(_cells, display_rows(analysis, depth)), _total_cells(analysis)]
    width = output_width() if terminal else PIPE_WIDTH
    shown = table_columns(width, cells)
    body = [[row[i] for i in shown] for row in cells]
    justify: list[Justify] = ["right" if 3 <= i <= 7 else "left" for i in shown]
    return _text_and_table(
        header_lines(analysis),
        [COLUMNS[i] for i in shown],
        [body[:-1], body[-1:]],
        justify,
        terminal,
        whole_first=names_fit(width, shown, cells),
    )


PIPE_WIDTH = 200  # the width of tables written to a pipe or a file, where no terminal sets one


def output_width() -> int:
    """``COLUMNS`` when set, else the terminal's width, else (a pipe) ``PIPE_WIDTH``."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((PIPE_WIDTH, 24)).columns
    return PIPE_WIDTH


def use_colour() -> bool:
    """Colour on a terminal only, and never with ``NO_COLOR`` set (https://no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def clauses_fitted(line: str, width: int) -> list[str]:
    """``line`` broken into pieces that fit ``width``, each after the first indented by two spaces: after
    its ``; `` separators first, then after ``, `` within a clause still too wide. A narrow terminal then
    breaks a header between clauses (``params ...;`` / ``MACs ...``), never between a figure and its
    name. A piece with no separator that is wider than ``width`` is left to rich, which wraps at words."""
    if len(line) <= width:
        return [line]
    pieces: list[str] = []
    for clause in _packed(line, "; ", width):
        for piece in _packed(clause, ", ", width, first=not pieces):
            room = width - (2 if pieces else 0)
            pieces.extend(_words_wrapped(piece, room) if len(piece) > room else [piece])
    return [piece if i == 0 else "  " + piece for i, piece in enumerate(pieces)]


_FIGURE_AND_UNIT = re.compile(r"(\d) (B|KiB|MiB|GiB)\b")


def _words_wrapped(text: str, width: int) -> list[str]:
    """``text`` wrapped at spaces, a figure kept with its unit (``583.0 MiB``)."""
    glued = _FIGURE_AND_UNIT.sub("\\1\0\\2", text)
    lines = textwrap.wrap(glued, width, break_long_words=False, break_on_hyphens=False) or [glued]
    return [line.replace("\0", " ") for line in lines]


def _packed(text: str, separator: str, width: int, first: bool = True) -> list[str]:
    """``text`` cut after each ``separator`` outside brackets (kept, less its space) and packed greedily
    into pieces of at most ``width`` characters, less two for each piece indented as a continuation
    (every piece but the line's first: ``first`` says whether ``text`` begins the line)."""
    parts = _outside_brackets_split(text, separator)
    kept = [part + separator.rstrip() for part in parts[:-1]] + [parts[-1]]
    pieces: list[str] = []
    for part in kept:
        room = width - (0 if first and not pieces else 2)
        if pieces and len(pieces[-1]) + 1 + len(part) <= room:
            pieces[-1] += " " + part
        else:
            pieces.append(part)
    return pieces


def _outside_brackets_split(text: str, separator: str) -> list[str]:
    """``text.split(separator)``, but only at separators outside round brackets (``(float32, 4 bytes per
    element, batch 1)`` stays whole)."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        if text[i] in "()":
            depth += 1 if text[i] == "(" else -1
        elif depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i])
            start = i + len(separator)
            i = start
            continue
        i += 1
    return [*parts, text[start:]]


def _text_and_table(
    lines: Sequence[str],
    header: Sequence[str],
    sections: Sequence[Sequence[Sequence[str]]],
    justify: Sequence[Justify],
    terminal: bool = True,
    whole_first: bool = False,
) -> str:
    """Plain lines (wrapped by rich), then a table in rich's look (``fast_table``), as text that fits
    ``output_width()``; colour only on a terminal; the first column never wrapped when ``whole_first``.
    Control characters in the lines and cells (spec text) are escaped here, before rich adds its own
    escape sequences."""
    from rich.console import Console

    lines = [escape_controls(line) for line in lines]
    header = [escape_controls(name) for name in header]
    sections = [[[escape_controls(cell) for cell in row] for row in section] for section in sections]
    buffer = io.StringIO()
    colour = terminal and use_colour()
    width = output_width() if terminal else PIPE_WIDTH
    console = Console(
        file=buffer,
        width=width,
        color_system="standard" if colour else None,
        force_terminal=colour,
        highlight=False,
    )
    for line in lines:
        for piece in clauses_fitted(line, width):
            console.print(piece, markup=False, highlight=False)
    no_wrap = [whole_first] + [False] * (len(header) - 1)
    return buffer.getvalue() + render_table(header, sections, justify, width, colour, no_wrap)


def _markdown(analysis: Analysis, depth: int | None) -> str:
    lines = [f"# {analysis.network}", ""]
    lines += [f"- {line}" for line in header_lines(analysis)]
    lines += ["", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in display_rows(analysis, depth):
        cells = _cells(row)
        cells[0] = "&nbsp;" * 2 * (row.depth - 1) + f"`{row.name}`"
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("| " + " | ".join(f"**{c}**" if c else "" for c in _total_cells(analysis)) + " |")
    return "\n".join(lines) + "\n"


CSV_FIELDS = (
    "name",
    "op",
    "kind",
    "depth",
    "output_shape",
    "params",
    "trainable_params",
    "buffers",
    "macs",
    "flops",
    "activation_bytes",
    "saved_bytes",
    "rf_size",
    "rf_stride",
    "rf_padding",
)


def _csv(analysis: Analysis, depth: int | None, comments: bool) -> str:
    buffer = io.StringIO()
    if comments:
        for line in header_lines(analysis):
            buffer.write(f"# {line}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in _visible(analysis.rows, depth):
        rf = row.receptive_field
        if isinstance(rf, ReceptiveField):
            size, stride, pad = (f"{a}x{b}" for a, b in (rf.size, rf.stride, rf.padding))
        else:
            size = stride = pad = rf or ""
        writer.writerow(
            [
                row.name,
                row.op,
                row.kind,
                row.depth,
                format_shape(row.output_shape),
                row.params,
                row.trainable_params,
                row.buffers,
                row.macs,
                row.flops,
                row.activation_bytes,
                row.saved_bytes,
                size,
                stride,
                pad,
            ]
        )
    return buffer.getvalue()


# ---------------------------------------------------------------- several networks


def summary_row(analysis: Analysis) -> dict[str, Any]:
    """The figures `compare` and `history` show for one network."""
    meta = analysis.graph.metadata
    return {
        "network": analysis.network,
        "input": list(analysis.graph.input_shape),
        "year": meta.year,
        "params": analysis.params,
        "macs": analysis.macs,
        "flops": analysis.flops,
        "depth": analysis.depth,
        "receptive_field": rf_json(analysis.receptive_field),
        "spatial_receptive_field": rf_json(analysis.spatial_receptive_field),
        "peak_activation_bytes": analysis.peak_activation_bytes,
        "reported_paper": reported_text(meta.results, "paper"),
        "reported_torchvision": reported_text(meta.results, "torchvision"),
    }


def _figure(key: str, value: float) -> str:
    label = {"acc1": "acc@1", "acc5": "acc@5"}.get(key) or key.replace("_error", " err").replace(
        "top", "top-"
    )
    return f"{label.replace('_', ' ')} {value:g}%"


def reported_text(results: Sequence[ReportedResult], origin: str) -> str | None:
    """``top-1 err 22.85%, top-5 err 6.71%`` for this variant from ``origin`` (``paper``, ``torchvision``);
    a network-wide figure (the paper's ensemble) only when the variant has none, marked ``(family)``."""
    mine = [r for r in results if r.origin == origin]
    chosen = [r for r in mine if r.scope == "variant"] or mine
    if not chosen:
        return None
    text = ", ".join(_figure(k, v) for r in chosen for k, v in r.figures.items())
    return text + (" (family)" if chosen[0].scope == "network" else "")


# The summary's receptive-field columns: the whole field and the spatial path's (see network_rf_text).
RF_COLUMNS = ("receptive_field", "spatial_receptive_field")


def _csv_cell(column: str, value: Any) -> Any:
    if column in RF_COLUMNS:
        return _plain_rf(value)
    return format_shape(tuple(value)) if column == "input" else value


def _plain_rf(value: Any) -> str:
    if isinstance(value, dict):
        return f"{value['size'][0]} /{value['stride'][0]}"
    return str(value) if value is not None else "-"


def render_summary(
    rows: list[dict[str, Any]], columns: Sequence[str], fmt: str, title: str, comments: bool = False
) -> str:
    """A table of `summary_row`s in one of ``FORMATS`` (a CSV has the title as a ``#`` line with
    ``comments``)."""
    if fmt == "json":
        return json.dumps([{c: r[c] for c in columns} for r in rows], indent=2, ensure_ascii=False) + "\n"
    if fmt == "table" and "macs" in columns and output_width() < SUMMARY_FLOPS_WIDTH:
        # A narrow terminal would fold the numbers; FLOPs are 2 x MACs, as the title says.
        columns = [c for c in columns if c != "flops"]
    header = [SUMMARY_HEADERS.get(c, c.replace("_", " ")) for c in columns]
    cells = [[_summary_cell(c, r[c]) for c in columns] for r in rows]
    if fmt == "csv":
        buffer = io.StringIO()
        if comments:
            buffer.write(f"# {title}\n")
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_csv_cell(c, r[c]) for c in columns] for r in rows])
        return buffer.getvalue()
    if fmt == "markdown":
        lines = [f"{title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(lines) + "\n"
    justify: list[Justify] = [
        "left" if column in ("network", "reported_paper", "reported_torchvision") else "right"
        for column in columns
    ]
    return _text_and_table([title], header, [cells], justify)


SUMMARY_FLOPS_WIDTH = 120  # a summary table narrower than this leaves FLOPs out
# What the table and Markdown headers say (analyze's words); JSON and CSV keep the field names.
SUMMARY_HEADERS = {"macs": "MACs", "flops": "FLOPs"}


def _summary_cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column == "input":
        return format_shape(tuple(value))
    if column in RF_COLUMNS:
        return _plain_rf(value)
    if column == "peak_activation_bytes":
        return human_bytes(value)
    if column in ("params", "macs", "flops"):
        return f"{value:,}"
    return str(value)
