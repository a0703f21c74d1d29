"""``build_site``: the whole static site, written into a temporary folder beside the target and then
moved into place, so that a failure never leaves a half-written site.

Layout of the site (everything relative, so it opens from the file system with no server)::

    index.html                 the networks: table and charts (the zoo by year, for the zoo's site)
    <variant>.html             one page per network variant
    claims.html                the essay's claims with their results (the zoo's site only)
    claims/<experiment>.svg    their plots
    style.css
    charts/*.svg               matplotlib charts
    diagrams/<variant>.*.svg   the two drawings of each variant (Graphviz)
    files/<variant>.*          the spec, the generated PyTorch source and the analysis as JSON
    .archspec-site             marks the folder as a site archspec may replace
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Literal

from archspec.errors import UsageError
from archspec.report import analysis_json
from archspec.site import DEFAULT_OUTPUT, DEFAULT_RESULTS, charts
from archspec.site.claims import write_claims
from archspec.site.entries import Entry, choose, collect, is_zoo
from archspec.site.pages import Diagram, environment, index_page, nav_items, network_page
from archspec.yaml_form import is_yaml

MARKER = ".archspec-site"

# The two drawings of every page: (style, rank direction, title, caption)
_DRAWINGS: tuple[tuple[Literal["blocks", "maps"], Literal["TB", "LR"], str, str], ...] = (
    (
        "blocks",
        "TB",
        "Diagram",
        "The network as its spec describes it: repeated blocks folded into one node (×N) with summed "
        "figures, each node with its op, output shape, parameters and MACs. Click to open it full size.",
    ),
    (
        "maps",
        "LR",
        "Feature maps",
        "The classic figure of the LeNet-5 and AlexNet papers: each output drawn as a box whose height "
        "and depth follow its spatial size and channel count (log-scaled).",
    ),
)


def build_site(
    specs: Sequence[str] = (),
    output: Path = DEFAULT_OUTPUT,
    log: Callable[[str], None] | None = None,
    results: Path = DEFAULT_RESULTS,
) -> Path:
    """Build the report site of the named specs (every zoo variant when none) into ``output``.

    A site of the zoo's networks tells their history and has the claims page; a site of one's own specs
    (a folder, files) speaks of those networks only.
    ``results``: the run folder of ``archspec experiment``, whose latest results make ``claims.html``.

    Returns the path of ``index.html``. Raises :class:`archspec.errors.SpecError` for an unknown or broken
    spec and :class:`archspec.errors.UsageError` when ``output`` cannot be written or is a folder that
    is not an archspec site (it is never overwritten then).
    """
    output = Path(output)
    _check_target(output)
    chosen = choose(specs)
    entries = collect(chosen)
    staging = _staging_dir(output)
    try:
        _write_site(staging, entries, log or (lambda _message: None), Path(results), is_zoo(chosen))
        _replace(staging, output)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, OSError):
            raise UsageError(f"cannot write the site to {output}: {error.strerror or error}") from None
        raise
    return output / "index.html"


def _check_target(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise UsageError(f"{output} exists and is not a folder; choose another -o")
    if output.is_dir() and any(output.iterdir()) and not (output / MARKER).exists():
        raise UsageError(
            f"{output} is a folder that archspec did not write; it is not replaced. "
            "Choose a new or empty folder with -o"
        )


def _staging_dir(output: Path) -> Path:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent))
    except OSError as error:
        raise UsageError(f"cannot write the site to {output}: {error.strerror or error}") from None


def _replace(staging: Path, output: Path) -> None:
    """Move the finished site into place; an older site is moved aside first and removed after."""
    staging.chmod(0o755)  # mkdtemp makes it private; a site is meant to be read
    if not output.exists():
        os.replace(staging, output)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".old", dir=output.parent))
    os.replace(output, old / "site")
    try:
        os.replace(staging, output)
    except OSError:
        os.replace(old / "site", output)  # put the previous site back
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _write_site(
    root: Path, entries: Sequence[Entry], log: Callable[[str], None], results: Path, zoo: bool
) -> None:
    env = environment(zoo)
    for folder in ("charts", "diagrams", "files"):
        (root / folder).mkdir()
    templates = resources.files("archspec.site").joinpath("templates")
    (root / "style.css").write_text(templates.joinpath("style.css").read_text("utf-8"), "utf-8")
    log("charts")
    chart_files = {}
    if zoo or sum(e.year is not None for e in entries) >= 2:
        chart_files["size"] = "charts/size-by-year.svg"
        (root / chart_files["size"]).write_text(charts.size_by_year(entries), "utf-8")
    else:  # the user's networks, mostly undated: side by side
        chart_files["size"] = "charts/size.svg"
        (root / chart_files["size"]).write_text(charts.size_by_network(entries), "utf-8")
    if charts.field_lines(entries):
        chart_files["field"] = "charts/field-by-depth.svg"
        (root / chart_files["field"]).write_text(charts.field_by_depth(entries, essay=zoo), "utf-8")
    for entry in entries:
        log(entry.name)
        source = entry.network.to_source()
        suffix = Path(entry.spec_path).suffix if is_yaml(entry.spec_path) else ".arch"  # the spec's own form
        files = {
            f"spec ({suffix})": f"files/{entry.slug}{suffix}",
            "PyTorch source (.py)": f"files/{entry.slug}.py",
            "analysis (.json)": f"files/{entry.slug}.json",
        }
        (root / files[f"spec ({suffix})"]).write_text(entry.spec_text, "utf-8")
        (root / files["PyTorch source (.py)"]).write_text(source, "utf-8")
        document = analysis_json(entry.analysis)
        (root / files["analysis (.json)"]).write_text(json.dumps(document, indent=1) + "\n", "utf-8")
        diagrams = _draw(root, entry)
        html = network_page(env, entry, entries, diagrams, source, files)
        (root / f"{entry.slug}.html").write_text(html, "utf-8")
    (root / "index.html").write_text(index_page(env, entries, chart_files), "utf-8")
    if zoo:
        log("claims")
        write_claims(root, env, nav_items(entries), results)
    (root / MARKER).write_text("written by `archspec report`; the next report may replace this folder\n")


def _draw(root: Path, entry: Entry) -> list[Diagram]:
    """Both drawings of one variant as SVG files, or the reason there are none (no Graphviz)."""
    if shutil.which("dot") is None:
        reason = "Graphviz's `dot` is not installed, so this site has no drawings (apt-get install graphviz)."
        return [Diagram(style, title, caption, None, reason) for style, _, title, caption in _DRAWINGS]
    from archspec.backends.diagram import DrawOptions, to_dot
    from archspec.backends.diagram.bounded import render_bounded

    diagrams = []
    for style, rankdir, title, caption in _DRAWINGS:
        dot = to_dot(entry.network.graph, DrawOptions(style=style, rankdir=rankdir))
        file = f"diagrams/{entry.slug}.{style}.svg"
        with warnings.catch_warnings(record=True) as notes:  # a simplified drawing says so in its caption
            warnings.simplefilter("always")
            (root / file).write_bytes(render_bounded(dot, "svg"))
        said = " ".join(str(note.message).capitalize() + "." for note in notes)
        diagrams.append(Diagram(style, title, f"{caption} {said}" if said else caption, file))
    return diagrams
