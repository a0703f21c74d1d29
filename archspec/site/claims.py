"""The site's ``claims.html``: each claim of the essay with its latest measured result.

Results come from the run folder of ``archspec experiment`` (``RESULTS/NAME/result.json`` and
``plot.svg``); an experiment without a readable result gets the command that produces it. Every text
reaches the page through the template, escaped.
"""

from __future__ import annotations

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
    problem: str | None = None  # why a result that exists could not be read
    cells: list[list[str]] = field(default_factory=list)


def _read_bounded(path: Path) -> bytes:
    with path.open("rb") as stream:
        data = stream.read(MAX_RESULT_BYTES + 1)
    if len(data) > MAX_RESULT_BYTES:
        raise ValueError(f"larger than {MAX_RESULT_BYTES:,} bytes")
    return data


def collect_claims(results: Path) -> list[Claim]:
    """Every experiment, in claim order, with the result under ``results`` when there is one."""
    from archspec.experiments.config import experiment_names, load_experiment
    from archspec.experiments.runner import cell

    claims = []
    for name in experiment_names():
        config = load_experiment(name).config
        claim = Claim(name, int(config.get("number", 0)), config["title"], config["claim"], config["essay"])
        path = results / name / "result.json"
        if path.is_file():
            try:
                result = ResultFile.model_validate_json(_read_bounded(path)).model_dump()
                claim.cells = [[cell(v) for v in row] for row in result["rows"]]
                claim.result = result
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(part) for part in first["loc"]) or "the file"
                claim.problem = f"{path} could not be read ({where}: {first['msg']})"
            except (OSError, ValueError) as error:
                claim.problem = f"{path} could not be read ({error})"
        claims.append(claim)
    return claims


def write_claims(root: Path, env: jinja2.Environment, nav: list[dict[str, Any]], results: Path) -> None:
    """Write ``claims.html`` and copy each result's plot to ``claims/NAME.svg``."""
    claims = collect_claims(results)
    (root / "claims").mkdir(exist_ok=True)
    for claim in claims:
        plot = results / claim.name / "plot.svg"
        if claim.result is not None and plot.is_file():
            shutil.copyfile(plot, root / "claims" / f"{claim.name}.svg")
            claim.plot = f"claims/{claim.name}.svg"
    html = env.get_template("claims.html").render(claims=claims, nav=nav, results=str(results))
    (root / "claims.html").write_text(html, "utf-8")
