"""Finding and reading experiments: ``experiments/NAME/experiment.toml`` and the specs beside it.

The configuration is a small TOML file (read with ``tomllib``). Keys common to every experiment:
``title``, ``claim`` (the issue's wording), ``essay`` (the essay's wording), ``kind`` (``static`` or
``trained``). A static experiment names its ``analysis`` (a function of :mod:`archspec.experiments.static`)
and its ``spec``; a trained one its ``spec``, ``metric``, ``series`` (the conditions compared: spec
parameter overrides, plus ``init_scale``/``lr``), an optional ``x`` axis, ``seeds``, a ``[train]`` table
(fields of :class:`archspec.train.config.TrainConfig`) and a ``[smoke]`` table (what the tests run).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archspec.errors import UsageError

KINDS = ("static", "trained")


def default_root() -> Path:
    """The repository's ``experiments/`` folder (beside the ``archspec`` package)."""
    return Path(__file__).resolve().parents[2] / "experiments"


@dataclass(frozen=True)
class Experiment:
    """One experiment: its folder and its parsed configuration."""

    name: str
    folder: Path
    config: dict[str, Any]

    @property
    def kind(self) -> str:
        """``static`` (analysis only) or ``trained``."""
        return str(self.config["kind"])

    @property
    def title(self) -> str:
        """A short title for tables and plots."""
        return str(self.config.get("title", self.name))

    def spec_path(self, key: str = "spec") -> Path:
        """The spec file the configuration names under ``key``, relative to the folder."""
        return self.folder / str(self.config[key])


def experiment_names(root: Path | None = None) -> list[str]:
    """The names of the experiments under ``root`` (default: the repository's), in claim order.

    The order is each configuration's ``number`` (read with a light text scan, so that listing stays
    cheap), then the name.
    """
    folder = root or default_root()
    if not folder.is_dir():
        return []
    return sorted(
        (p.parent.name for p in folder.glob("*/experiment.toml")), key=lambda n: (_number(folder / n), n)
    )


def _number(folder: Path) -> int:
    try:
        text = (folder / "experiment.toml").read_text(encoding="utf-8")
        number = tomllib.loads(text).get("number", 1_000)
    except (OSError, tomllib.TOMLDecodeError):
        return 1_000
    return number if isinstance(number, int) else 1_000


def load_experiment(name: str, root: Path | None = None) -> Experiment:
    """The experiment called ``name``; UsageError (with the list of names) when there is none."""
    folder = (root or default_root()) / name
    path = folder / "experiment.toml"
    names = experiment_names(root)
    if name not in names:
        listing = ", ".join(names) if names else "none (no experiments folder)"
        raise UsageError(f"unknown experiment {name!r}; the experiments are: {listing}")
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"{path}: cannot read the configuration ({error})") from None
    missing = [key for key in ("title", "claim", "essay", "kind") if key not in config]
    if missing:
        raise UsageError(f"{path}: missing key(s) {', '.join(missing)}")
    if config["kind"] not in KINDS:
        raise UsageError(f"{path}: kind must be one of {', '.join(KINDS)}, got {config['kind']!r}")
    return Experiment(name, folder, config)
