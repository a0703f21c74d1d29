"""Design-space sweeps: many variants of one spec analysed statically, filtered, and their Pareto front.

``sweep("mobilenet_v1", {"alpha": (1.0, 0.5), "resolution": (224, 160)})`` lowers and analyses every
combination (or a seeded random sample of them) without torch. The spec is parsed once; each combination
only re-lowers it. A combination that does not build (a shape that does not fit) is a row with its error.
``where`` is a constraint in the spec's own expression language, evaluated by archspec.expr (never
``eval``) over the row's figures and swept values.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archspec import ast
from archspec.elab.walk import free_names
from archspec.errors import SpecError, UsageError, did_you_mean, quoted_list
from archspec.expr import Value, evaluate
from archspec.ir import Graph
from archspec.loader import Program, load_program, resolve_spec
from archspec.lower import network_of
from archspec.ops import Shape

# The figures of a row, by the names a --where constraint and --objectives use, with what each means.
METRICS: Mapping[str, str] = {
    "params": "parameters (every one trainable; buffers are not parameters)",
    "macs": "multiply-accumulates of one sample",
    "flops": "floating-point operations of one sample",
    "activation_bytes": "activations saved for the backward pass (one sample, float32)",
    "peak_activation_bytes": "largest set of activations alive at once in inference",
    "training_bytes": "training memory with AdamW: weights, gradients, states, activations",
    "rf": (
        "receptive field size (height) of the spatial path at the last feature map (squeeze-and-excitation "
        "gates' global inputs left out, as `history`); 0 when global"
    ),
    "depth": "layers with weights on the longest path",
}
MAX_COMBINATIONS = 1_000_000  # a whole grid beyond this must be sampled (--sample)
VARY_FORM = "NAME=V1,V2,... or NAME=START:STOP:STEP"


@dataclass(frozen=True)
class Row:
    """One combination: its swept values and either its figures or the error that stopped it."""

    values: dict[str, Value]
    figures: dict[str, int] = field(default_factory=dict)
    output: Shape | None = None
    error: str | None = None
    front: bool = False

    @property
    def ok(self) -> bool:
        """Whether the combination built and was analysed."""
        return self.error is None


@dataclass(frozen=True)
class Objective:
    """A figure the Pareto front minimises (or, with ``:max``, maximises)."""

    name: str
    maximise: bool = False


@dataclass(frozen=True)
class SweepResult:
    """Every row analysed (errors included) and kept by the constraint, in combination order."""

    axes: dict[str, tuple[Value, ...]]
    rows: tuple[Row, ...]
    objectives: tuple[Objective, ...]
    combinations: int  # how many the whole grid has (rows may be a sample of it)

    @property
    def front(self) -> tuple[Row, ...]:
        """The rows on the Pareto front."""
        return tuple(row for row in self.rows if row.front)


# ---------------------------------------------------------------- parsing the options


def parse_vary(text: str) -> tuple[str, tuple[Value, ...]]:
    """``--vary alpha=1.0,0.75`` (spec expressions) or ``--vary resolution=128:224:32`` (STOP included)."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier() or not rest.strip():
        raise UsageError(f"--vary expects {VARY_FORM}, got {text!r}")
    if ":" in rest and "[" not in rest:
        return name, _range_values(name, rest)
    return name, tuple(_value(name, part) for part in _split_top_level(rest))


def parse_axes(texts: Sequence[str]) -> dict[str, tuple[Value, ...]]:
    """Every ``--vary`` option, one axis each, in order; a name given twice is an error."""
    axes: dict[str, tuple[Value, ...]] = {}
    for text in texts:
        name, values = parse_vary(text)
        if name in axes:
            raise UsageError(f"--vary {name} is given twice; give its values in one --vary")
        axes[name] = values
    return axes


def _range_values(name: str, text: str) -> tuple[Value, ...]:
    parts = [part.strip() for part in text.split(":")]
    if len(parts) != 3:
        raise UsageError(f"--vary {name}: a range is START:STOP:STEP, got {text!r}")
    numbers = [_value(name, part) for part in parts]
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        raise UsageError(f"--vary {name}: START, STOP and STEP must be numbers, got {text!r}")
    start, stop, step = numbers
    if step == 0 or (stop - start) * step < 0:
        raise UsageError(f"--vary {name}: STEP {step} does not lead from {start} to {stop}")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_COMBINATIONS:
        raise UsageError(f"--vary {name}: {count} values; at most {MAX_COMBINATIONS}")
    if all(isinstance(n, int) for n in numbers):
        return tuple(start + i * step for i in range(count))
    # Rounded so that 0.25:1.0:0.25 gives 0.75 and not 0.7500000000000001.
    return tuple(round(start + i * step, 12) for i in range(count))


def _split_top_level(text: str) -> list[str]:
    """Split on the commas outside brackets: ``stages=[1,2],[2,2]`` is two values."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += 1 if char in "[(" else -1 if char in "])" else 0
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _value(name: str, text: str) -> Value:
    from archspec.arguments import parse_assignment

    if not text.strip():
        raise UsageError(f"--vary {name}: an empty value")
    try:
        return parse_assignment(f"{name}={text.strip()}")[1]
    except UsageError as error:
        raise UsageError(str(error).replace("--set", "--vary", 1)) from None


def parse_where(text: str) -> ast.Expr:
    """Parse a ``--where`` constraint (a spec expression). Raises SpecError pointing into the text."""
    from archspec.syntax import parse_expression

    return parse_expression(text, "--where")


def parse_objectives(text: str) -> tuple[Objective, ...]:
    """``--objectives macs,params`` or ``macs,rf:max``: what the front minimises (``:max``: maximises)."""
    objectives = []
    for part in text.split(","):
        name, _, direction = part.strip().partition(":")
        if name not in METRICS or direction not in ("", "min", "max"):
            hint = did_you_mean(name, METRICS)
            raise UsageError(
                f"--objectives: {part.strip()!r} is not NAME or NAME:max with NAME one of "
                f"{quoted_list(list(METRICS))}" + (f" ({hint})" if hint else "")
            )
        objectives.append(Objective(name, direction == "max"))
    return tuple(objectives)


# ---------------------------------------------------------------- the sweep


def combinations(
    axes: Mapping[str, Sequence[Value]], sample: int | None = None, seed: int = 0
) -> list[dict[str, Value]]:
    """Every combination of the axes in order (the last axis fastest), or ``sample`` of them at random
    (seeded, without repetition, in grid order)."""
    names = list(axes)
    sizes = [len(axes[name]) for name in names]
    total = math.prod(sizes)
    if sample is None:
        if total > MAX_COMBINATIONS:
            raise UsageError(f"{total} combinations; at most {MAX_COMBINATIONS} (use --sample N)")
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values())]
    picked = sorted(random.Random(seed).sample(range(total), min(sample, total)))
    return [_decode(index, names, sizes, axes) for index in picked]


def _decode(
    index: int, names: list[str], sizes: list[int], axes: Mapping[str, Sequence[Value]]
) -> dict[str, Value]:
    values: dict[str, Value] = {}
    for name, size in zip(reversed(names), reversed(sizes), strict=True):
        index, position = divmod(index, size)
        values[name] = axes[name][position]
    return {name: values[name] for name in names}


def sweep(
    spec: str | Path,
    axes: Mapping[str, Sequence[Value]],
    *,
    variant: str | None = None,
    where: str | None = None,
    objectives: Sequence[str] | str = ("macs", "params"),
    sample: int | None = None,
    seed: int = 0,
    jobs: int = 1,
    params: Mapping[str, Value] | None = None,
    input_shape: Shape | None = None,
) -> SweepResult:
    """Analyse every combination of ``axes`` (or ``sample`` random ones) of a zoo name or spec file.

    ``params`` fixes other parameters for every row; ``where`` keeps the rows whose figures
    (:data:`METRICS`) and swept values satisfy it; rows that failed to build are kept with their error.
    The rows kept are marked on the Pareto front of ``objectives``. Raises SpecError for a spec that
    does not parse or a bad ``where``, UsageError for a bad axis or objective.
    """
    path, implied = resolve_spec(str(spec))
    program = load_program(path)
    chosen = variant if variant is not None else implied
    _check_axes(program, axes, params or {})
    wanted = parse_objectives(objectives if isinstance(objectives, str) else ",".join(objectives))
    constraint = _checked_where(where, axes) if where is not None else None
    combos = combinations(axes, sample, seed)
    fixed = dict(params or {})
    tasks = [{**fixed, **combo} for combo in combos]
    if jobs > 1 and len(tasks) > 1:
        chunk = max(1, len(tasks) // (jobs * 4))
        with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(str(path), chosen)) as pool:
            figures = list(pool.map(_worker_row, tasks, [input_shape] * len(tasks), chunksize=chunk))
    else:
        figures = [_row(program, chosen, task, input_shape) for task in tasks]
    rows = [
        Row(combo, figs, output, error) for combo, (figs, output, error) in zip(combos, figures, strict=True)
    ]
    if constraint is not None:
        rows = [row for row in rows if _keep(row, constraint, where or "")]
    marked = mark_front(rows, wanted)
    total = math.prod(len(values) for values in axes.values())
    return SweepResult({k: tuple(v) for k, v in axes.items()}, tuple(marked), wanted, total)


def _check_axes(program: Program, axes: Mapping[str, Sequence[Value]], params: Mapping[str, Value]) -> None:
    if not axes:
        raise UsageError(f"nothing to sweep: give at least one --vary {VARY_FORM}")
    known = [let.name for let in network_of(program).params]
    for name in [*axes, *params]:
        if name not in known:
            hint = did_you_mean(name, known)
            raise UsageError(
                f"{name!r} is not a parameter of {network_of(program).name}"
                + (f" ({hint})" if hint else f"; it has {quoted_list(known)}")
            )
        if name in axes and not axes[name]:
            raise UsageError(f"--vary {name}: no values")
        if name in axes and name in params:
            raise UsageError(f"{name} is both swept (--vary) and fixed (--set)")


def _row(
    program: Program, variant: str | None, values: Mapping[str, Value], input_shape: Shape | None
) -> tuple[dict[str, int], Shape | None, str | None]:
    from archspec.api import overrides_from_mapping
    from archspec.lower import lower

    try:
        graph = lower(program, variant, overrides_from_mapping(values), input_shape)
    except SpecError as error:
        return {}, None, error.diagnostics[0].message
    return figures_of(graph), graph.output_shape, None


def figures_of(graph: Graph) -> dict[str, int]:
    """The figures of :data:`METRICS`, as ``analyze`` computes them (float32, batch 1, torchvision's
    convention), without the per-layer rows a sweep does not show (most of ``analyze``'s time)."""
    from archspec.analysis import layer_depth, network_fields, node_counts, receptive_fields
    from archspec.analysis.counts import flops
    from archspec.analysis.memory import peak_activation, saved_activations, training_memory

    counts = node_counts(graph).values()
    params = sum(c.params for c in counts)
    trainable = sum(c.trainable_params for c in counts)
    macs = sum(c.macs for c in counts)
    saved = saved_activations(graph, "float32", 1).total
    memory = training_memory(params, trainable, sum(c.buffers for c in counts), saved, "float32", 1)
    _whole, field_ = network_fields(graph, receptive_fields(graph))  # the spatial path's, as history's
    return {
        "params": params,
        "macs": macs,
        "flops": flops(macs, sum(c.extra_flops for c in counts), "torchvision"),
        "activation_bytes": saved,
        "peak_activation_bytes": peak_activation(graph, "float32", 1).bytes,
        "training_bytes": int(memory["adamw"]["total_bytes"]),  # type: ignore[index]
        "rf": field_.size[0] if field_ is not None and field_ != "global" else 0,
        "depth": layer_depth(graph),
    }


_WORKER: dict[str, Any] = {}


def _init_worker(path: str, variant: str | None) -> None:
    # Each worker process parses the spec once, then lowers only.
    _WORKER["program"] = load_program(Path(path))
    _WORKER["variant"] = variant


def _worker_row(
    values: Mapping[str, Value], input_shape: Shape | None
) -> tuple[dict[str, int], Shape | None, str | None]:
    return _row(_WORKER["program"], _WORKER["variant"], values, input_shape)


def _checked_where(text: str, axes: Mapping[str, Sequence[Value]]) -> ast.Expr:
    expression = parse_where(text)
    known = [*METRICS, *axes]
    for name in free_names(expression):
        if name.id not in known:
            hint = did_you_mean(name.id, known) or f"a constraint reads {quoted_list(known)}"
            error = SpecError.at(name.span, f"unknown name {name.id!r}", hint)
            error.sources["--where"] = text
            raise error
    return expression


def _keep(row: Row, constraint: ast.Expr, text: str) -> bool:
    if not row.ok:
        return True  # an error row stays visible: the constraint cannot judge it
    try:
        result = evaluate(constraint, {**row.figures, **row.values})
    except SpecError as error:
        error.sources["--where"] = text
        raise
    if not isinstance(result, bool):
        wrong = SpecError.at(constraint.span, f"the constraint gave {result!r}, not true or false")
        wrong.sources["--where"] = text
        raise wrong
    return result


def mark_front(rows: Sequence[Row], objectives: Sequence[Objective]) -> list[Row]:
    """The rows, with those no other row dominates (at least as good in every objective, better in one)
    marked ``front``. Rows with an error are never on it."""
    keys = [_key(row, objectives) for row in rows]
    marked = []
    for row, key in zip(rows, keys, strict=True):
        on_front = key is not None and not any(
            other is not None and other != key and all(o <= k for o, k in zip(other, key, strict=True))
            for other in keys
        )
        marked.append(Row(row.values, row.figures, row.output, row.error, on_front))
    return marked


def _key(row: Row, objectives: Sequence[Objective]) -> tuple[float, ...] | None:
    if not row.ok:
        return None
    return tuple(-row.figures[o.name] if o.maximise else row.figures[o.name] for o in objectives)
