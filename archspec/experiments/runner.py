"""Running one experiment into its run folder: ``result.json``, ``plot.svg`` and ``plot.png``.

The default run folder is ``runs/experiments/NAME`` of the current directory. Every file is written
atomically; a rerun replaces the previous result.
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
) -> dict[str, Any]:
    """Run the experiment ``name`` and write its result and plot to ``out/NAME``; returns the result.

    ``smoke``: the trained experiments run their ``[smoke]`` settings (one epoch, one seed, fewer points).
    """
    experiment = load_experiment(name, root)
    folder = (out or DEFAULT_OUT) / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the run folder {folder}: {error.strerror or error}") from None
    began = time.perf_counter()
    if experiment.kind == "static":
        from archspec.experiments.static import run_static

        outcome = run_static(experiment)
    else:
        from archspec.experiments.trained import run_trained

        outcome = run_trained(experiment, folder, smoke, log or (lambda _m: None))
    result = {
        "experiment": name,
        "title": experiment.title,
        "claim": experiment.config["claim"],
        "essay": experiment.config["essay"],
        "kind": experiment.kind,
        "command": f"archspec experiment {name}" + (" --smoke" if smoke else ""),
        "smoke": smoke,
        "columns": outcome.columns,
        "rows": outcome.rows,
        "reproduced": outcome.reproduced,
        "verdict": outcome.verdict,
        "details": outcome.details,
        "plot": outcome.plot,
        "seconds": round(time.perf_counter() - began, 2),
        "commit": _commit(experiment),
        "machine": machine(),
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    write_atomically(folder / "result.json", json.dumps(result, indent=2) + "\n")
    from archspec.experiments.plots import draw

    result["plots"] = draw(result, folder)
    return result


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
