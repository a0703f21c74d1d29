"""The settings a reader would question: a trained claim judged under each, not under one (issue 28).

An experiment's ``[settings]`` table names axes, each a list of values (``lr = [0.003, 0.01, 0.03]``) or a
table of labelled values (``spec = { "He init" = "act_he.arch" }``: the same network with an ``init:``
section); every combination is a setting, which overrides the series' own values (the keys a series
takes: ``spec``, ``lr``, ``init_scale``, ``epochs``, ``optimizer``, ``momentum``, ``weight_decay`` or a
spec parameter). A labelled value may itself be a table that sets several keys at once
(``training = { "SGD, lr 0.05" = { optimizer = "sgd", lr = 0.05 } }``): an axis of hand-picked settings
where a full product would pair values that do not belong together (an SGD rate with AdamW).
``more_seeds`` are run too wherever the two series' ranges over the first seeds overlap.
``[smoke.settings]`` replaces the table in smoke runs. No torch here:
:mod:`archspec.experiments.trained` trains and judges each setting.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from archspec.errors import UsageError


@dataclass(frozen=True)
class Setting:
    """One combination of the axes: its label and the values it sets."""

    label: str
    values: dict[str, Any]


def settings_of(config: dict[str, Any], smoke: dict[str, Any]) -> tuple[list[Setting], list[int]]:
    """The settings of an experiment (none without a ``[settings]`` table) and its extra seeds."""
    table: dict[str, Any] = smoke.get("settings", config.get("settings", {}))
    if not table:
        return [], []
    more = table.get("more_seeds", [])
    if not isinstance(more, list) or not all(isinstance(seed, int) for seed in more):
        raise UsageError(f"settings: more_seeds must be a list of integers, got {more!r}")
    axes = [_axis(key, values) for key, values in table.items() if key != "more_seeds"]
    settings = []
    for combination in itertools.product(*axes):
        label = ", ".join(part for part, _ in combination)
        values: dict[str, Any] = {}
        for _, part in combination:
            values.update(part)
        settings.append(Setting(label, values))
    return settings, list(more)


def _axis(key: str, values: Any) -> list[tuple[str, dict[str, Any]]]:
    """(label, the values it sets) per value of one axis: ``{key: value}``, or a labelled table's keys."""
    if isinstance(values, dict) and values:
        return [
            (str(label), dict(value) if isinstance(value, dict) else {key: value})
            for label, value in values.items()
        ]
    if isinstance(values, list) and values:
        return [(f"{key} {value}", {key: value}) for value in values]
    raise UsageError(f"settings: {key} must be a non-empty list or a table of labelled values")


def ranges_overlap(a: list[float], b: list[float]) -> bool:
    """Whether two series' values over the seeds overlap (min to max): the difference is within noise."""
    return max(min(a), min(b)) <= min(max(a), max(b))


def summary(names: tuple[str, str], results: list[dict[str, Any]]) -> tuple[bool, str]:
    """Whether the claim holds under every setting, and a sentence that says under which."""
    held = [r["setting"] for r in results if r["reproduced"]]
    failed = [r["setting"] for r in results if not r["reproduced"]]
    close = [r["setting"] for r in results if r["overlap"]]
    text = f"{names[0]} beats {names[1]} under {len(held)} of {len(results)} settings"
    if failed:
        text += f"; not under: {'; '.join(failed)}"
    if close:
        text += f"; within the seeds' spread under: {'; '.join(close)}"
    return not failed, text


def table(names: tuple[str, str], results: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """The per-setting table: the metric's mean and range per series, the seeds run, the verdict."""
    a, b = names
    columns = ["setting", "seeds", f"{a} mean", f"{a} range", f"{b} mean", f"{b} range", "verdict"]
    rows = []
    for r in results:
        verdict = "reproduced" if r["reproduced"] else "not reproduced"
        if r["overlap"]:
            verdict += " (ranges overlap)"
        row = [r["setting"], len(r["seeds"])]
        for name in names:
            values = r["values"][name]
            row += [round(sum(values) / len(values), 4), f"{min(values):.3g} to {max(values):.3g}"]
        rows.append([*row, verdict])
    return columns, rows
