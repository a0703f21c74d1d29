"""The claims that need training: each series (a setting of the spec's parameters) at each point of the x
axis, for each seed, trained on the digits with :func:`archspec.train.loop.run`; then the metric's mean
and range over the seeds, and the verdict.

The only module of the package that imports torch. Run folders go under ``RUN/runs/`` and lose their
checkpoints once measured (only ``config.json`` and ``metrics.jsonl`` stay).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import re
import shutil
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from archspec.api import load
from archspec.errors import UsageError
from archspec.experiments.config import Experiment
from archspec.experiments.settings import Setting, ranges_overlap, settings_of, summary, table
from archspec.experiments.static import Outcome
from archspec.train import distributed
from archspec.train.config import TrainConfig
from archspec.train.data import load_data
from archspec.train.inference import restore
from archspec.train.loop import eval_loader, evaluate, run, seed_everything
from archspec.train.losses import loss_name, make_loss

# Fields of the training configuration that a series, an x point or a setting may set.
TRAINING = ("lr", "epochs", "optimizer", "momentum", "weight_decay")
# Keys of a series or an x point that are not spec parameters: the spec file itself, and training settings.
TRAIN_KEYS = ("spec", "init_scale", *TRAINING)
METRICS = {
    "epochs_to_error": ("epochs to {target:.0%} training error", "lower"),
    "gap": ("train - test accuracy (eval mode)", "lower"),
    "test_acc": ("final test accuracy", "higher"),
    "train_error": ("final training error", "lower"),
}
CHANCE = 0.1  # accuracy of a diverged run: ten classes


def run_trained(
    experiment: Experiment, folder: Path, smoke: bool, log: Callable[[str], None], use_settings: bool = True
) -> Outcome:
    """Train every series at every x point and seed; measure, aggregate and judge (under each of the
    ``[settings]`` too, unless ``use_settings`` is False)."""
    config = experiment.config
    metric = config["metric"]
    if metric not in METRICS:
        raise UsageError(f"{experiment.name}: unknown metric {metric!r} (one of {', '.join(METRICS)})")
    smoke_table = config.get("smoke", {}) if smoke else {}
    seeds = smoke_table.get("seeds", config.get("seeds", [0]))
    train = {**config.get("train", {}), **smoke_table.get("train", {})}
    x_title, x_points = _x_axis(config, smoke_table)
    series: dict[str, dict[str, Any]] = config["series"]
    runs_dir = folder / "runs"
    shutil.rmtree(runs_dir, ignore_errors=True)
    grid = Grid(experiment, series, x_points, train, runs_dir, log)
    settings, more_seeds = settings_of(config, smoke_table) if use_settings else ([], [])
    # One thread: on a shared, loaded machine torch's default (a thread per core) runs ten times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        records = grid.measure(seeds)
        judged = [_judge_setting(grid, setting, seeds, more_seeds) for setting in settings]
    finally:
        torch.set_num_threads(threads)
    outcome = _outcome(experiment, records, list(series), grid.x_labels, x_title, seeds)
    if judged:
        first, second = list(series)[:2]
        names = (first, second)
        held, text = summary(names, judged)
        columns, rows = table(names, judged)
        outcome.details["settings"] = {"columns": columns, "rows": rows, "summary": text, "results": judged}
        outcome.reproduced = outcome.reproduced and held
        outcome.verdict += f". Under the settings a reader would question: {text}"
    return outcome


class Grid:
    """Every series at every x point, for given seeds and an optional setting; each distinct run once."""

    def __init__(
        self,
        experiment: Experiment,
        series: dict[str, dict[str, Any]],
        x_points: list[tuple[str, dict[str, Any]]],
        train: dict[str, Any],
        runs_dir: Path,
        log: Callable[[str], None],
    ) -> None:
        self.experiment, self.series, self.x_points = experiment, series, x_points
        self.train, self.runs_dir, self.log = train, runs_dir, log
        self.x_labels = [label for label, _ in x_points]
        self.done: dict[str, dict[str, Any]] = {}  # a setting that repeats the main one reuses its runs

    def measure(self, seeds: list[int], setting: Setting | None = None) -> list[dict[str, Any]]:
        """One record per series, x point and seed (``setting``'s values over the series' own)."""
        config = self.experiment.config
        metric = config["metric"]
        tag = re.sub(r"[^A-Za-z0-9.]+", "_", setting.label).strip("_") if setting else ""
        records = []
        runs = list(itertools.product(self.series, self.x_points, seeds))
        for count, (name, (label, point), seed) in enumerate(runs, start=1):
            settings = {**self.series[name], **point, **(setting.values if setting else {})}
            # What the run depends on, defaults resolved: the memo key of a run already made.
            effective: dict[str, Any] = {"spec": config["spec"]}
            effective.update({k: self.train[k] for k in TRAINING if k in self.train}, **settings)
            memo = json.dumps([name, label, seed, effective], sort_keys=True, default=str)
            if memo not in self.done:
                key = "-".join(part for part in (tag, name, label.replace("/", "_"), f"seed{seed}") if part)
                self.log(f"[{count}/{len(runs)}] {self.experiment.name}: {key}")
                spec = self.experiment.folder / str(effective["spec"])
                gap = metric == "gap"
                record = train_one(
                    spec, settings, self.train, seed, self.runs_dir / key, needs_train_eval=gap
                )
                record.update(series=name, x=label, seed=seed)
                record["value"] = metric_value(metric, record, config)
                self.done[memo] = record
            records.append(self.done[memo])
        return records


def _judge_setting(grid: Grid, setting: Setting, seeds: list[int], more_seeds: list[int]) -> dict[str, Any]:
    """The claim's verdict under one setting; ``more_seeds`` are added when the series' ranges overlap."""
    config = grid.experiment.config
    names = list(grid.series)
    records, used = grid.measure(seeds, setting), list(seeds)

    def per_seed(name: str) -> list[float]:  # each seed's metric, averaged over the x points
        return [
            statistics.fmean(r["value"] for r in records if r["series"] == name and r["seed"] == seed)
            for seed in used
        ]

    if more_seeds and ranges_overlap(per_seed(names[0]), per_seed(names[1])):
        extra = [seed for seed in more_seeds if seed not in used]
        records, used = records + grid.measure(extra, setting), used + extra
    title, better = METRICS[config["metric"]]
    title = title.format(target=float(config.get("target_error", 0)))
    stats = _stats(records, names, grid.x_labels)
    ok, verdict = judge(config.get("verdict", {}), stats, names, grid.x_labels, better, title)
    values = {name: per_seed(name) for name in names[:2]}
    return {
        "setting": setting.label,
        "values_set": setting.values,
        "seeds": used,
        "values": values,
        "reproduced": ok,
        "overlap": ranges_overlap(values[names[0]], values[names[1]]),
        "verdict": verdict,
    }


def _x_axis(config: dict[str, Any], smoke: dict[str, Any]) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    """The x axis: its title and (label, settings) per point; one unlabelled point when there is none."""
    axis = config.get("x")
    if not axis:
        return "", [("", {})]
    params: list[str] = axis["params"]
    values: list[list[Any]] = smoke.get("x_values", axis["values"])
    points = [("/".join(str(v) for v in value), dict(zip(params, value, strict=True))) for value in values]
    return str(axis.get("title", "/".join(params))), points


def train_one(
    spec: Path, settings: dict[str, Any], train: dict[str, Any], seed: int, out: Path, needs_train_eval: bool
) -> dict[str, Any]:
    """One training run; its history, its final accuracies and whether it diverged."""
    params = {k: v for k, v in settings.items() if k not in TRAIN_KEYS}
    values: dict[str, Any] = dict(train)
    values.update({k: settings[k] for k in TRAINING if k in settings})
    config = TrainConfig(spec=str(spec), params=params, seed=seed, device="cpu", quiet=True, out=str(out))
    for key, value in values.items():
        setattr(config, key, value)
    config.validate()
    out.mkdir(parents=True, exist_ok=True)
    scale = float(settings.get("init_scale", 1.0))
    if scale != 1.0:
        config.init_from = str(_scaled_init(spec, params, seed, scale, out.parent / f"{out.name}-init.pt"))
    record: dict[str, Any] = {"settings": settings, "diverged": False}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            summary = run(config)
    except UsageError as error:
        if "training stopped" not in str(error):
            raise
        record.update(diverged=True, error=str(error), history=[], train_acc=CHANCE, test_acc=CHANCE)
        return record
    history = summary.history
    record["history"] = [
        {"epoch": h["epoch"], "train_acc": h["train_acc"], "test_acc": h["test_acc"]} for h in history
    ]
    record.update(
        train_acc=history[-1]["train_acc"], test_acc=history[-1]["test_acc"], seconds=summary.seconds
    )
    if needs_train_eval:
        record["train_eval_acc"] = _train_accuracy(out / "last.pt")
    for checkpoint in out.glob("*.pt"):
        checkpoint.unlink()
    return record


def _scaled_init(spec: Path, params: dict[str, Any], seed: int, scale: float, path: Path) -> Path:
    """The network's default initial weights (same seed) with every weight matrix and kernel scaled."""
    network = load(spec, **params)
    seed_everything(seed)
    model = network.build()
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() > 1:  # conv kernels and linear weights; not biases nor norm scales
                parameter.mul_(scale)
    torch.save(model.state_dict(), path)
    return path


def _train_accuracy(checkpoint: Path) -> float:
    """Accuracy on the training images in eval mode (dropout off), from the last checkpoint."""
    context = distributed.Context(torch.device("cpu"))
    restored = restore(checkpoint, context.device)
    graph = restored.network.graph
    data = load_data("digits", graph.input_shape, restored.network.name, graph.output_shape[0])
    loader = eval_loader(data.train, context, data.batched, workers=0)
    criterion = make_loss(loss_name(graph), 0.0)
    return float(evaluate(restored.model, loader, criterion, context, "off", False)["accuracy"])


def metric_value(metric: str, record: dict[str, Any], config: dict[str, Any]) -> float:
    """The metric of one run (a diverged run counts at chance accuracy, or as never reaching the target)."""
    if metric == "epochs_to_error":
        target = float(config["target_error"])
        for row in record["history"]:
            if 1 - row["train_acc"] <= target:
                return float(row["epoch"])
        return float(len(record["history"]) + 1)  # censored: not reached within the epochs run
    if metric == "gap":
        return float(record.get("train_eval_acc", record["train_acc"]) - record["test_acc"])
    if metric == "test_acc":
        return float(record["test_acc"])
    return float(1 - record["train_acc"])


def _outcome(
    experiment: Experiment,
    records: list[dict[str, Any]],
    series: list[str],
    x_labels: list[str],
    x_title: str,
    seeds: list[int],
) -> Outcome:
    config = experiment.config
    metric = config["metric"]
    title, better = METRICS[metric]
    title = title.format(target=float(config.get("target_error", 0)))
    stats = _stats(records, series, x_labels)
    rows = []
    for name in series:
        for label in x_labels:
            cell = stats[name][label]
            row: list[Any] = [name] + ([label] if x_title else [])
            row += [round(cell["mean"], 4), round(cell["min"], 4), round(cell["max"], 4)]
            row += [round(cell["train_acc"], 4), round(cell["test_acc"], 4), cell["diverged"]]
            rows.append(row)
    columns = ["series"] + ([x_title] if x_title else [])
    columns += [f"{title} (mean of {len(seeds)})", "min", "max", "train acc", "test acc", "diverged"]
    reproduced, verdict = judge(config.get("verdict", {}), stats, series, x_labels, better, title)
    plot = {
        "type": "series",
        "x_title": x_title,
        "x_labels": x_labels if x_title else [""],
        "metric_title": title,
        "series": [
            {
                "name": name,
                "mean": [stats[name][x]["mean"] for x in x_labels],
                "min": [stats[name][x]["min"] for x in x_labels],
                "max": [stats[name][x]["max"] for x in x_labels],
            }
            for name in series
        ],
    }
    details = {"metric": metric, "better": better, "seeds": seeds, "stats": stats, "runs": records}
    return Outcome(columns, rows, reproduced, verdict, plot, details)


def _stats(
    records: list[dict[str, Any]], series: list[str], x_labels: list[str]
) -> dict[str, dict[str, dict[str, float]]]:
    """Per series and x point: the metric's mean, min, max and spread over the seeds, and accuracies."""
    stats: dict[str, dict[str, dict[str, float]]] = {}
    for name in series:
        stats[name] = {}
        for label in x_labels:
            chosen = [r for r in records if r["series"] == name and r["x"] == label]
            values = [r["value"] for r in chosen]
            stats[name][label] = {
                "mean": statistics.fmean(values),
                "min": min(values),
                "max": max(values),
                "std": statistics.pstdev(values),
                "train_acc": statistics.fmean(r.get("train_eval_acc", r["train_acc"]) for r in chosen),
                "test_acc": statistics.fmean(r["test_acc"] for r in chosen),
                "diverged": sum(r["diverged"] for r in chosen),
            }
    return stats


def judge(
    rule: dict[str, Any],
    stats: dict[str, dict[str, dict[str, float]]],
    series: list[str],
    x_labels: list[str],
    better: str,
    title: str,
) -> tuple[bool, str]:
    """Whether the first series beats the second, as ``rule["mode"]`` says.

    ``mean``: averaged over every x point; ``every_x``: at each x point; ``last_x``: at the last (deepest)
    point; ``worst_x``: in its worst x point (robustness). ``rule["degrades"]`` names a series whose
    metric must also be worse at the last x point than at the first.
    """
    a, b = series[0], series[1]
    mode = rule.get("mode", "mean")
    sign = 1 if better == "higher" else -1

    def means(name: str) -> list[float]:
        return [stats[name][x]["mean"] for x in x_labels]

    def wins(u: float, v: float) -> bool:
        return sign * (u - v) > 0

    if mode == "every_x":
        ok = all(wins(u, v) for u, v in zip(means(a), means(b), strict=True))
        shown = ", ".join(
            f"{x or 'all'}: {u:.3g} vs {v:.3g}" for x, u, v in zip(x_labels, means(a), means(b), strict=True)
        )
    elif mode == "last_x":
        u, v = means(a)[-1], means(b)[-1]
        ok, shown = wins(u, v), f"at {x_labels[-1]}: {u:.3g} vs {v:.3g}"
    elif mode == "worst_x":
        pick = min if better == "higher" else max
        u, v = pick(means(a)), pick(means(b))
        ok, shown = wins(u, v), f"worst point {u:.3g} vs {v:.3g}"
    else:
        u, v = statistics.fmean(means(a)), statistics.fmean(means(b))
        ok, shown = wins(u, v), f"{u:.3g} vs {v:.3g}"
    text = f"{a} vs {b}, {title}: {shown}"
    degrading = rule.get("degrades")
    if degrading:
        first, last = means(degrading)[0], means(degrading)[-1]
        worse = wins(first, last)
        ok = ok and worse
        text += f"; {degrading} from {x_labels[0]} to {x_labels[-1]}: {first:.3g} -> {last:.3g}"
    return ok, ("reproduced: " if ok else "not reproduced at this scale: ") + text
