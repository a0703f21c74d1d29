"""Running one experiment into its run folder: ``result.json``, ``plot.svg`` and ``plot.png``.

The default run folder is ``runs/experiments/NAME`` of the current directory. Every file is written
atomically; a rerun replaces the previous result. :func:`record` copies a full run's result, without the
per-epoch histories, and its plot into the experiment's own folder (``experiments/NAME/result.json``):
the committed record that the site's claims page shows when no fresher run is at hand.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archspec.errors import UsageError
from archspec.experiments.config import Experiment, load_experiment
from archspec.files import write_atomically

DEFAULT_OUT = Path("runs") / "experiments"


def run_experiment(
    name: str,
    root: Path | None = None,
    out: Path | None = None,
    smoke: bool = False,
    log: Callable[[str], None] | None = None,
    settings: bool = True,
) -> dict[str, Any]:
    """Run the experiment ``name`` and write its result and plot to ``out/NAME``; returns the result.

    ``smoke``: the trained experiments run their ``[smoke]`` settings (one epoch, one seed, fewer points).
    ``settings``: False judges a trained claim under its main configuration only, not under each of its
    ``[settings]``.
    """
    experiment = load_experiment(name, root)
    folder = (out or DEFAULT_OUT) / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the run folder {folder}: {error.strerror or error}") from None
    commit = _commit(experiment)  # the code that runs: taken before a run that may last an hour
    began = time.perf_counter()
    if experiment.kind == "static":
        from archspec.experiments.static import run_static

        outcome = run_static(experiment)
    else:
        from archspec.experiments.trained import run_trained

        outcome = run_trained(experiment, folder, smoke, log or (lambda _m: None), settings)
    flags = " --smoke" if smoke else ""
    if not settings and experiment.kind == "trained":
        flags += " --no-settings"
    result = {
        "experiment": name,
        "title": experiment.title,
        "claim": experiment.config["claim"],
        "essay": experiment.config["essay"],
        "kind": experiment.kind,
        "command": f"archspec experiment {name}{flags}",
        "smoke": smoke,
        "columns": outcome.columns,
        "rows": outcome.rows,
        "reproduced": outcome.reproduced,
        "verdict": outcome.verdict,
        "details": outcome.details,
        "plot": outcome.plot,
        "seconds": round(time.perf_counter() - began, 2),
        "commit": commit,
        "machine": machine(),
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    write_atomically(folder / "result.json", json.dumps(result, indent=2) + "\n")
    from archspec.experiments.plots import draw

    result["plots"] = draw(result, folder)
    return result


def record(result: dict[str, Any], run_folder: Path, experiment: Experiment) -> Path:
    """Write ``result`` (a full run's) as the experiment's committed record, ``FOLDER/result.json``, with
    ``run_folder``'s ``plot.svg`` beside it; returns the record's path.

    The record leaves out each training run's per-epoch history and settings (the run folder keeps them):
    what the tables, the verdicts and the plot need stays, a few kilobytes for a grid of a hundred runs.
    """
    if result["smoke"]:
        raise UsageError("a smoke run is not a measurement: --record needs a full run (no --smoke)")
    compact = {key: value for key, value in result.items() if key != "plots"}
    details = dict(compact["details"])
    if "runs" in details:
        details["runs"] = [_compact_run(run) for run in details["runs"]]
    compact["details"] = details
    path = experiment.folder / "result.json"
    write_atomically(path, json.dumps(compact, indent=1) + "\n")
    plot = run_folder / "plot.svg"
    if plot.is_file():
        write_atomically(experiment.folder / "plot.svg", plot.read_text(encoding="utf-8"))
    return path


def _compact_run(run: dict[str, Any]) -> dict[str, Any]:
    """One run's record without its per-epoch history and its settings (both in the run folder)."""
    return {key: value for key, value in run.items() if key not in ("history", "settings")}


def _commit(experiment: Experiment) -> str | None:
    """The checkout's commit (with ``+`` when it has uncommitted changes), or None outside git."""
    try:
        cwd = experiment.folder
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+" if dirty.stdout.strip() else "")


def machine() -> dict[str, Any]:
    """The machine a result was measured on: host, CPU count, load average, Python."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "host": platform.node(),
        "system": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "load_average": load,
        "python": platform.python_version(),
    }


def format_table(result: dict[str, Any]) -> str:
    """The result as a plain-text table, its verdict and where it was written; with a trained claim's
    ``[settings]``, the verdict under each setting too."""
    lines = [f"{result['experiment']}: {result['title']}" + ("  (smoke run)" if result["smoke"] else "")]
    lines += _aligned(result["columns"], result["rows"])
    settings = result.get("details", {}).get("settings")
    if settings:
        lines.append("  under each setting:")
        lines += _aligned(settings["columns"], settings["rows"])
    lines.append(f"  {result['verdict']}")
    return "\n".join(lines)


def _aligned(header: list[Any], body: list[list[Any]]) -> list[str]:
    """A header line and one line per row, each column as wide as its widest cell."""
    columns = [str(c) for c in header]
    rows = [[cell(v) for v in row] for row in body]
    widths = [max([len(c)] + [len(r[i]) for r in rows if i < len(r)]) for i, c in enumerate(columns)]
    lines = ["  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    for row in rows:
        lines.append("  " + "  ".join(v.rjust(w) for v, w in zip(row, widths, strict=False)))
    return lines


def cell(value: Any) -> str:
    """A table cell as text: thousands separators, three significant digits, yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
