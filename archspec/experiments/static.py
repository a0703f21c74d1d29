"""The claims that static analysis settles: exact parameter, MAC and receptive-field figures (no torch).

Each analysis takes an :class:`Experiment` and returns a :class:`Outcome`: a table, a verdict and the data
its plot draws. The figures are archspec's analysis of the experiment's specs; the tests check them against
hand calculations and the papers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from archspec.analysis import ReceptiveField
from archspec.api import Network, load
from archspec.errors import UsageError
from archspec.experiments.config import Experiment


@dataclass
class Outcome:
    """What an experiment measured: a table (columns, rows), a verdict, and the data of its plot."""

    columns: list[str]
    rows: list[list[Any]]
    reproduced: bool
    verdict: str
    plot: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def _size(rf: Any) -> int | None:
    """The height of a finite field (the zoo's fields are square), else None."""
    return rf.size[0] if isinstance(rf, ReceptiveField) else None


def _figures(network: Network) -> dict[str, Any]:
    analysis = network.analyze()
    return {
        "variant": network.name,
        "params": analysis.params,
        "macs": analysis.macs,
        "receptive_field": _size(analysis.receptive_field),
        "output_shape": list(network.graph.output_shape),
    }


def stacked(experiment: Experiment) -> Outcome:
    """VGG: a stack of 3x3 convolutions against one large convolution of the same receptive field."""
    spec = experiment.spec_path()
    rows, checks, bars = [], [], []
    for stack, single in experiment.config["pairs"]:
        a, b = _figures(load(spec, stack)), _figures(load(spec, single))
        same_field = a["receptive_field"] == b["receptive_field"]
        fewer = a["params"] < b["params"]
        checks.append(same_field and fewer)
        for f in (a, b):
            rows.append([f["variant"], f["receptive_field"], f["params"], f["macs"]])
            bars.append({"label": f["variant"], "params": f["params"], "macs": f["macs"]})
        rows.append(["", "", f"{a['params'] / b['params']:.2f}x", f"{a['macs'] / b['macs']:.2f}x"])
    verdict = (
        "reproduced: each stack sees the same region as the single convolution, with fewer parameters"
        if all(checks)
        else "not reproduced: see the table"
    )
    return Outcome(
        ["variant", "receptive field", "params", "MACs"],
        rows,
        all(checks),
        verdict,
        {"type": "bars", "bars": bars},
    )


def pairs(experiment: Experiment) -> Outcome:
    """Two variants of one spec, the cheap design against the expensive one, in params and MACs.

    With a ``[paper]`` table the paper's figures (millions) stand beside the measured ones, and the verdict
    also asks that the measured ones round to the paper's (params to 0.1M, MACs within 0.1%).
    """
    spec = experiment.spec_path()
    paper: dict[str, dict[str, float]] = experiment.config.get("paper", {})
    rows, checks, bars, notes = [], [], [], []
    for cheap, costly in experiment.config["pairs"]:
        a, b = _figures(load(spec, cheap)), _figures(load(spec, costly))
        checks.append(a["params"] < b["params"] and a["macs"] < b["macs"])
        for f in (a, b):
            row = [f["variant"], "x".join(map(str, f["output_shape"])), f["params"], f["macs"]]
            if paper:
                reported = paper.get(f["variant"], {})
                row += [reported.get("params", ""), reported.get("macs", "")]
                if reported:
                    params_ok = round(f["params"] / 1e6, 1) == reported["params"]
                    macs_ok = abs(f["macs"] / 1e6 - reported["macs"]) <= 0.001 * reported["macs"]
                    checks.append(params_ok and macs_ok)
                    notes.append(
                        f"{f['variant']}: {f['params'] / 1e6:.2f}M params (paper {reported['params']}M), "
                        f"{f['macs'] / 1e6:,.1f}M MACs (paper {reported['macs']:,}M)"
                    )
            rows.append(row)
            bars.append({"label": f["variant"], "params": f["params"], "macs": f["macs"]})
        ratio = ["", "", f"{b['params'] / a['params']:.1f}x", f"{b['macs'] / a['macs']:.1f}x"]
        rows.append(ratio + (["", ""] if paper else []))
    columns = ["variant", "output", "params", "MACs"]
    if paper:
        columns += ["paper params (M)", "paper MACs (M)"]
    cheap, costly = experiment.config["pairs"][0]
    verdict = (
        f"reproduced: {cheap} needs fewer parameters and MACs than {costly}"
        if all(checks)
        else "not reproduced: see the table"
    )
    if notes:
        verdict += "; " + "; ".join(notes)
    return Outcome(columns, rows, all(checks), verdict, {"type": "bars", "bars": bars})


def field_curve(network: Network) -> dict[str, Any]:
    """The receptive field of a network's spatial path against its spatial depth.

    The field is the spatial path's (``analysis/receptive.py``): a squeeze-and-excitation gate scales its
    map without widening it, so the curve goes on to the last feature map. A node's spatial depth counts
    the layers that changed that field (its size or stride) on the longest path from the input.
    ``curve[d]`` is the largest finite field at depth ``d``; ``monotone`` says that no node sees less than
    any of its inputs; ``global_at`` is the depth where the field became global (global pooling,
    attention); ``global_while_spatial`` says that it did so while the output still had several positions
    (attention), not only at the classifier's global pooling; ``gated_at`` is the depth of the first gate
    fed by global pooling, from where the whole field is global (None without one).
    """
    from archspec.analysis import head_nodes, receptive_fields

    graph = network.graph
    result = receptive_fields(graph)
    fields, whole = result.spatial, result.fields
    gates = result.pooled - head_nodes(graph, result.pooled)  # a gate's squeeze is not the classifier
    depth: dict[int, int] = {}
    curve: dict[int, int] = {}
    monotone, global_at, spatial_global, gated_at = True, None, False, None
    for node in graph.nodes:
        rf = fields[node.id]
        before = [fields[i] for i in node.inputs]
        d = max((depth[i] for i in node.inputs), default=0)
        # Before any spatial op a pixel sees itself: a field of 1 with stride 1 (a `pad` changes nothing).
        seen = [(b.size, b.stride) if isinstance(b, ReceptiveField) else ((1, 1), (1, 1)) for b in before]
        grew = isinstance(rf, ReceptiveField) and all(
            s != (rf.size, rf.stride) for s in seen or [((1, 1), (1, 1))]
        )
        depth[node.id] = d + (1 if grew else 0)
        for b in before:
            if isinstance(b, ReceptiveField) and isinstance(rf, ReceptiveField) and rf.size < b.size:
                monotone = False
        if isinstance(rf, ReceptiveField) and depth[node.id] > 0:
            curve[depth[node.id]] = max(curve.get(depth[node.id], 0), rf.size[0])
            if whole[node.id] == "global" and gated_at is None:
                gated_at = depth[node.id]
        elif rf == "global" and global_at is None and node.id not in gates:
            global_at = depth[node.id] + 1
        if rf == "global" and positions(node.shape) > 1 and node.id not in gates:
            spatial_global = True
    points = sorted(curve.items())
    sizes = [size for _, size in points]
    monotone = monotone and all(x <= y for x, y in itertools.pairwise(sizes))
    return {
        "network": network.name,
        "input": graph.input_shape[-1],
        "depths": [d for d, _ in points],
        "sizes": sizes,
        "monotone": monotone,
        "global_at": global_at,
        "global_while_spatial": spatial_global,
        "gated_at": gated_at,
    }


def positions(shape: Sequence[int]) -> int:
    """Spatial positions of an output: H x W of a map, the tokens of a sequence, 1 for a vector."""
    if len(shape) == 3:
        return shape[1] * shape[2]
    return shape[0] if len(shape) == 2 else 1


def receptive_field(experiment: Experiment) -> Outcome:
    """Receptive field of the spatial path against spatial depth for every network of the zoo (its first
    variant); ``gated at`` is where a squeeze-and-excitation gate makes the whole field global."""
    from archspec.catalog import catalog

    curves = []
    for entry in catalog():
        variant = entry.variants[0] if entry.variants else None
        curves.append(field_curve(load(entry.path, variant)))
    rows = []
    for c in curves:
        first, last = c["sizes"][0], c["sizes"][-1]
        rows.append(
            [
                c["network"],
                c["input"],
                len(c["sizes"]),
                first,
                last,
                f"{last / c['input']:.2f}",
                "yes" if c["monotone"] else "NO",
                c["global_at"] if c["global_at"] is not None else "",
                c["gated_at"] if c["gated_at"] is not None else "",
            ]
        )
    grows = all(c["monotone"] and c["sizes"][-1] >= c["sizes"][0] for c in curves)
    verdict = (
        f"reproduced: in all {len(curves)} zoo networks the field of the spatial path (squeeze-and-"
        "excitation gates' global inputs left out) never shrinks along a path and the last layers see far "
        "more than the first"
        if grows
        else "not reproduced: see the networks marked NO"
    )
    columns = ["network", "input", "spatial layers", "first field", "last field (spatial path)"]
    columns += ["last / input", "monotone", "global at", "gated at (whole field global)"]
    return Outcome(columns, rows, grows, verdict, {"type": "fields", "curves": curves})


def sweep(experiment: Experiment) -> Outcome:
    """One ``archspec sweep`` of a zoo network (``network``, ``vary``, ``where``) against a paper's table.

    ``[paper]`` holds the paper's figures in millions keyed ``"V1-V2"`` by the swept values in order. The
    paper prints whole millions of mult-adds and does not round one way throughout (568.7M is its 569,
    290.7M its 290), so a measured figure agrees when it is within one million of the printed one; params
    must round to the paper's 0.1M.
    """
    from archspec.expr import show
    from archspec.sweeps import parse_axes
    from archspec.sweeps import sweep as run_sweep

    config = experiment.config
    axes = parse_axes(config["vary"])
    result = run_sweep(config["network"], axes, where=config.get("where"))
    paper: dict[str, dict[str, float]] = config["paper"]
    rows, checks, bars = [], [], []
    for row in result.rows:
        key = "-".join(show(value) for value in row.values.values())
        reported = paper.get(key, {})
        macs, params = row.figures.get("macs", 0), row.figures.get("params", 0)
        if reported:
            checks.append(
                row.ok
                and abs(macs / 1e6 - reported["macs"]) < 1
                and round(params / 1e6, 1) == reported["params"]
            )
        rows.append([key, params, macs, reported.get("params", ""), reported.get("macs", "")])
        bars.append({"label": key, "params": params, "macs": macs})
    reproduced = bool(checks) and all(checks) and len(checks) == len(paper)
    command = f"archspec sweep {config['network']} " + " ".join(f"--vary {v}" for v in config["vary"])
    if config.get("where"):
        command += f" --where '{config['where']}'"
    verdict = (
        f"reproduced: all {len(checks)} figures within the paper's last digit (`{command}`)"
        if reproduced
        else "not reproduced: see the table"
    )
    columns = ["-".join(axes), "params", "MACs", "paper params (M)", "paper MACs (M)"]
    return Outcome(columns, rows, reproduced, verdict, {"type": "bars", "bars": bars})


ANALYSES: dict[str, Callable[[Experiment], Outcome]] = {
    "stacked": stacked,
    "pairs": pairs,
    "receptive_field": receptive_field,
    "sweep": sweep,
}


def run_static(experiment: Experiment) -> Outcome:
    """Run the analysis the configuration names."""
    name = experiment.config.get("analysis")
    if name not in ANALYSES:
        raise UsageError(f"{experiment.name}: unknown analysis {name!r} (one of {', '.join(ANALYSES)})")
    return ANALYSES[name](experiment)
