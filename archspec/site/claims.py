"""The site's ``claims.html``: each claim of the essay with its latest measured result.

A trained claim's result is its committed record, ``experiments/NAME/result.json`` and ``plot.svg``
(written by ``archspec experiment NAME --record``), so that a fresh clone's site shows the measured claims;
a result in the run folder of ``archspec experiment`` (``RESULTS/NAME/result.json``) replaces it when it
finished later, unless it is a smoke run and the record is not. A static claim without a result in the run
folder is computed while the site is built: its figures are exact analyses of specs and take about a
second. A trained experiment without a readable result gets the command that produces it. Every text
reaches the page through the template, escaped.
"""

from __future__ import annotations

import datetime
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from archspec.site.result_file import MAX_RESULT_BYTES, ResultFile

if TYPE_CHECKING:  # pragma: no cover
    import jinja2


@dataclass
class Claim:
    """One experiment on the page: its configuration's wording and, when it has run, its result."""

    name: str
    number: int
    title: str
    claim: str
    essay: str
    result: dict[str, Any] | None = None
    plot: str | None = None  # the plot's path relative to the site
    built: bool = False  # computed while the site was built (a static claim with no run of its own)
    problem: str | None = None  # why a result that exists could not be read
    cells: list[list[str]] = field(default_factory=list)
    settings: dict[str, Any] | None = None  # a trained claim's verdict per setting: columns, cells, summary
    source: str | None = None  # the result.json shown
    recorded: bool = False  # the source is the committed record (experiments/NAME/result.json)
    settings_missing: bool = False  # the experiment has [settings], the result no verdict per setting
    note: str | None = None  # a result beside the one shown that could not be read


def _read_bounded(path: Path) -> bytes:
    with path.open("rb") as stream:
        data = stream.read(MAX_RESULT_BYTES + 1)
    if len(data) > MAX_RESULT_BYTES:
        raise ValueError(f"larger than {MAX_RESULT_BYTES:,} bytes")
    return data


def collect_claims(results: Path, compute_static: bool = False) -> list[Claim]:
    """Every experiment, in claim order, with its result: the one under ``results`` or the committed
    record, whichever finished later (see :func:`_read_result`); with ``compute_static``, a static
    experiment without a result under ``results`` is run now (its result is not written there)."""
    from archspec.experiments.config import experiment_names, load_experiment
    from archspec.experiments.runner import cell

    claims = []
    for name in experiment_names():
        experiment = load_experiment(name)
        config = experiment.config
        claim = Claim(name, int(config.get("number", 0)), config["title"], config["claim"], config["essay"])
        path = results / name / "result.json"
        if not path.is_file() and compute_static and experiment.kind == "static":
            from archspec.experiments.static import run_static

            outcome = run_static(experiment)
            claim.result = {
                "title": experiment.title,
                "columns": outcome.columns,
                "rows": outcome.rows,
                "reproduced": outcome.reproduced,
                "verdict": outcome.verdict,
                "plot": outcome.plot,
                "command": f"archspec experiment {name}",
            }
            claim.cells = [[cell(v) for v in row] for row in outcome.rows]
            claim.built = True
        else:
            _read_result(claim, path, experiment.folder / "result.json")
            if claim.result is not None:
                claim.cells = [[cell(v) for v in row] for row in claim.result["rows"]]
                settings = claim.result["details"]["settings"]
                if settings:
                    cells = [[cell(v) for v in row] for row in settings["rows"]]
                    claim.settings = {"columns": settings["columns"], "cells": cells}
                claim.settings_missing = bool(config.get("settings")) and not settings
        claims.append(claim)
    return claims


def _read_result(claim: Claim, run: Path, record: Path) -> None:
    """Set ``claim``'s result from the run folder's ``run`` or the committed ``record``: the run when it
    finished later (a smoke run never replaces a full record), the one that can be read when the other
    cannot (with a note saying so), a problem when neither can."""
    found: dict[Path, dict[str, Any]] = {}
    problems: list[str] = []
    for path in (run, record):
        if not path.is_file():
            continue
        try:
            found[path] = ResultFile.model_validate_json(_read_bounded(path)).model_dump()
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the file"
            problems.append(f"{path} could not be read ({where}: {first['msg']})")
        except (OSError, ValueError) as error:
            problems.append(f"{path} could not be read ({error})")
    if not found:
        claim.problem = "; ".join(problems) or None
        return
    chosen = run if run in found else record
    if run in found and record in found:
        mine, kept = found[run], found[record]
        fresher = _finished(mine["finished"]) > _finished(kept["finished"])
        chosen = run if fresher and not (mine["smoke"] and not kept["smoke"]) else record
    claim.result, claim.recorded = found[chosen], chosen == record
    claim.source = f"experiments/{claim.name}/result.json" if claim.recorded else str(chosen)
    claim.note = "; ".join(problems) or None


def _finished(stamp: str) -> datetime.datetime:
    """When a result finished, comparable across time zones (an unreadable stamp counts as oldest)."""
    try:
        moment = datetime.datetime.fromisoformat(stamp)
    except ValueError:
        return datetime.datetime.min.replace(tzinfo=datetime.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def write_claims(root: Path, env: jinja2.Environment, nav: list[dict[str, Any]], results: Path) -> None:
    """Write ``claims.html`` and copy each result's plot to ``claims/NAME.svg`` (a static claim with no
    result under ``results`` is computed and drawn now)."""
    from archspec.experiments.config import load_experiment

    claims = collect_claims(results, compute_static=True)
    (root / "claims").mkdir(exist_ok=True)
    for claim in claims:
        plot = results / claim.name / "plot.svg"
        if claim.recorded:
            plot = load_experiment(claim.name).folder / "plot.svg"
        if claim.built and claim.result is not None:
            claim.plot = _draw_now(claim.result, root / "claims", claim.name)
        elif claim.result is not None and plot.is_file():
            shutil.copyfile(plot, root / "claims" / f"{claim.name}.svg")
            claim.plot = f"claims/{claim.name}.svg"
    html = env.get_template("claims.html").render(claims=claims, nav=nav, results=str(results))
    (root / "claims.html").write_text(html, "utf-8")


def _draw_now(result: dict[str, Any], folder: Path, name: str) -> str:
    """Draw a result computed while building into ``folder/NAME.svg``; the same result gives the same
    bytes (fixed SVG ids, no date), as every file of the site."""
    import tempfile

    import matplotlib

    from archspec.experiments.plots import draw

    with tempfile.TemporaryDirectory(dir=folder) as work, matplotlib.rc_context({"svg.hashsalt": "archspec"}):
        draw(result, Path(work))
        shutil.copyfile(Path(work) / "plot.svg", folder / f"{name}.svg")
    return f"claims/{name}.svg"
