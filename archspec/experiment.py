"""``archspec experiment``: the history's claims, each an experiment folder under ``experiments/``.

An experiment folder holds specs (or names zoo networks) and an ``experiment.json``: the claim in the
essay's words, the paper it comes from, its kind, the networks compared and the metrics. Static kinds
need only the analysis (no torch):

- ``static``: the networks side by side: parameters, conv/linear weights, MACs, receptive field;
- ``receptive_field_by_depth``: the receptive field after each convolution and pooling of each network.

Running one writes ``result.json`` (and, when matplotlib is installed, ``plot.png``) to the output folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archspec.api import load
from archspec.errors import UsageError, did_you_mean

STATIC_KINDS = ("static", "receptive_field_by_depth")
# The spatial layers that can grow a receptive field (spec op names, as the analysis rows carry them).
GROWING_OPS = frozenset({"conv", "maxpool", "avgpool", "subsample", "patch_embed"})


@dataclass(frozen=True)
class Experiment:
    """One experiment folder, read."""

    name: str
    folder: Path
    config: dict[str, Any]

    @property
    def kind(self) -> str:
        """``static``, ``receptive_field_by_depth`` (analysis only) or a trained kind."""
        return str(self.config["kind"])


def experiment_names(root: Path) -> list[str]:
    """Every experiment folder (one with an ``experiment.json``) under ``root``, sorted."""
    return sorted(p.parent.name for p in root.glob("*/experiment.json"))


def read_experiment(root: Path, name: str) -> Experiment:
    """The experiment ``name`` under ``root`` (UsageError when absent or malformed)."""
    path = root / name / "experiment.json"
    if not path.is_file():
        hint = did_you_mean(name, experiment_names(root))
        raise UsageError(f"no experiment {name!r} in {root}" + (f"; {hint}" if hint else ""))
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise UsageError(f"{path}: not valid JSON ({error})") from None
    for key in ("claim", "kind", "networks"):
        if key not in config:
            raise UsageError(f"{path}: missing {key!r}")
    return Experiment(name, path.parent, config)


def _spec(experiment: Experiment, entry: dict[str, Any]) -> str:
    """A spec named in an experiment: a file beside its experiment.json, or a zoo name."""
    local = experiment.folder / entry["spec"]
    return str(local) if local.suffix == ".arch" else entry["spec"]


def conv_fc_weights(graph: Any) -> int:
    """Weights of the convolutions and linear layers, biases and normalisation excluded (papers' count)."""
    total = 0
    for node in graph.nodes:
        op = node.op
        if op.kind in ("conv2d", "linear"):
            total += _weights_only(op)
    return total


def _weights_only(op: Any) -> int:
    """An op's weight count: its parameters with the bias switched off."""
    return int(op.model_copy(update={"bias": False}).param_count())


def run_static(experiment: Experiment) -> dict[str, Any]:
    """The figures of every network of a ``static`` experiment."""
    rows = []
    for entry in experiment.config["networks"]:
        network = load(_spec(experiment, entry), **entry.get("set", {}))
        analysis = network.analyze()
        rf = analysis.receptive_field
        row: dict[str, Any] = {
            "label": entry["label"],
            "network": network.name,
            "params": analysis.params,
            "conv_fc_weights": conv_fc_weights(network.graph),
            "macs": analysis.macs,
            "receptive_field": rf if rf is None or isinstance(rf, str) else list(rf.size),
        }
        if "reported" in entry:
            row["reported"] = entry["reported"]
        rows.append(row)
    return {"rows": rows}


def run_receptive_field(experiment: Experiment) -> dict[str, Any]:
    """For each network, the receptive field after each spatial layer that can grow it, in order."""
    curves = []
    for entry in experiment.config["networks"]:
        analysis = load(_spec(experiment, entry)).analyze()
        points = []
        for row in analysis.rows:
            field = row.receptive_field
            # After a global pooling or a flatten the field is the whole image (the string "global").
            if (
                row.kind == "layer"
                and row.op in GROWING_OPS
                and field is not None
                and not isinstance(field, str)
            ):
                points.append({"layer": row.name, "size": field.size[0]})
        curves.append({"label": entry["label"], "network": analysis.network, "points": points})
    return {"curves": curves}


def run_experiment(experiment: Experiment) -> dict[str, Any]:
    """Run a static experiment; its result (trained kinds are not available yet: a UsageError)."""
    if experiment.kind == "static":
        measured = run_static(experiment)
    elif experiment.kind == "receptive_field_by_depth":
        measured = run_receptive_field(experiment)
    else:
        raise UsageError(f"experiment {experiment.name}: kind {experiment.kind!r} is not supported yet")
    return {
        "experiment": experiment.name,
        "claim": experiment.config["claim"],
        "paper": experiment.config.get("paper"),
        "kind": experiment.kind,
        **measured,
    }


def render(result: dict[str, Any]) -> str:
    """A plain-text table of a result."""
    lines = [f"== {result['experiment']}: {result['claim']}"]
    if "rows" in result:
        lines.append(f"{'':<28}{'params':>14}{'conv+fc weights':>17}{'MACs':>16}  receptive field")
        for row in result["rows"]:
            field = row["receptive_field"]
            rf = "x".join(str(v) for v in field) if isinstance(field, list) else str(field or "-")
            lines.append(
                f"{row['label']:<28}{row['params']:>14,}{row['conv_fc_weights']:>17,}{row['macs']:>16,}  {rf}"
            )
    for curve in result.get("curves", []):
        sizes = " ".join(str(p["size"]) for p in curve["points"])
        lines.append(f"{curve['label']:<14} {sizes}")
    return "\n".join(lines) + "\n"


def write_result(result: dict[str, Any], out: Path) -> list[Path]:
    """``result.json`` and (with matplotlib) ``plot.png`` in ``out``; the paths written."""
    from archspec.cli import write_atomically

    out.mkdir(parents=True, exist_ok=True)
    write_atomically(out / "result.json", json.dumps(result, indent=2) + "\n")
    written = [out / "result.json"]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the plot is optional; the JSON holds every number
        return written
    figure, axis = plt.subplots(figsize=(7, 4))
    if "rows" in result:
        labels = [row["label"] for row in result["rows"]]
        axis.bar(labels, [row["params"] for row in result["rows"]])
        axis.set_ylabel("parameters")
    else:
        for curve in result["curves"]:
            sizes = [p["size"] for p in curve["points"]]
            axis.plot(range(1, len(sizes) + 1), sizes, label=curve["label"])
        axis.set_xlabel("layer (convolutions and pooling, in order)")
        axis.set_ylabel("receptive field (pixels)")
        axis.set_yscale("log")
        axis.legend(fontsize=7)
    axis.set_title(result["experiment"])
    figure.tight_layout()
    temporary = out / ".plot.png.tmp"
    figure.savefig(temporary, format="png")
    plt.close(figure)
    temporary.replace(out / "plot.png")
    written.append(out / "plot.png")
    return written
