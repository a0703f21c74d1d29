"""The resolved configuration of a training run: defaults, then the values given, or a resumed run's values.

The defaults are the ones ``archspec train lenet5 --data digits`` reaches its target with (see
docs/benchmarks.md for the measurements that chose them). No torch here: the CLI resolves a configuration
before anything heavy is imported.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from archspec.errors import UsageError

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "step", "none")
DEVICES = ("auto", "cpu", "cuda")
AMP_MODES = ("off", "bf16", "fp16")

# Counts (epochs, batch size, |seed|...) are held to this: a seed must fit torch's 64 bits, and no count
# larger is a run anyone means.
MAX_COUNT = 10**15

# What a resumed run may change: how long it runs and where, not what it computes.
RESUMABLE = frozenset({"epochs", "device", "workers", "quiet"})
# The model of a resumed run comes from the spec given, when one is: loading the checkpoint into it then
# checks, key by key, that it is the same network.
MODEL_KEYS = frozenset({"spec", "variant", "params", "input_shape"})


@dataclass
class TrainConfig:
    """Everything a run depends on. ``config.json`` of a run folder is this, plus the spec's source."""

    spec: str = ""
    variant: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # --set overrides of the spec's parameters
    input_shape: list[int] | None = None
    data: str = "digits"
    epochs: int = 12
    batch_size: int = 32
    lr: float = 0.01
    optimizer: str = "adamw"
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    warmup_epochs: float = 1.0
    step_epochs: int = 10  # `step` schedule: multiply the rate by `step_gamma` every this many epochs
    step_gamma: float = 0.1
    label_smoothing: float = 0.0
    seed: int = 0
    device: str = "auto"
    amp: str = "off"
    channels_last: bool = False
    compile: bool = False
    workers: int = 0
    quiet: bool = False
    init_from: str | None = None
    out: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (what ``config.json`` and the checkpoints hold)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """A configuration from ``to_dict``'s output (unknown keys ignored: config.json holds more)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def validate(self) -> None:
        """UsageError for values out of range (the CLI's choices catch the rest); numbers must be finite
        and counts within ``MAX_COUNT``, so that nothing overflows or allocates by a value's size."""
        from archspec.train.schema import check_config  # pydantic: loaded only when a run is set up

        check_config(self.to_dict(), "TrainConfig")  # types first: the checks compare
        numbers = ("lr", "momentum", "weight_decay", "warmup_epochs", "step_gamma", "label_smoothing")
        for name in numbers:
            if not math.isfinite(getattr(self, name)):
                raise UsageError(f"{_option(name)} must be a finite number, got {getattr(self, name)}")
        for name in ("epochs", "batch_size", "step_epochs", "workers"):
            if getattr(self, name) > MAX_COUNT:
                raise UsageError(f"{_option(name)} must be at most {MAX_COUNT:,}, got {getattr(self, name)}")
        if abs(self.seed) > MAX_COUNT:
            raise UsageError(f"--seed must be at most {MAX_COUNT:,} in magnitude, got {self.seed}")
        workers = max_workers()
        checks = [
            (self.epochs >= 1, f"--epochs must be at least 1, got {self.epochs}"),
            (self.batch_size >= 1, f"--batch-size must be at least 1, got {self.batch_size}"),
            (self.lr > 0, f"--lr must be positive, got {self.lr}"),
            (0 <= self.momentum <= 1, f"--momentum must be in [0, 1], got {self.momentum}"),
            (self.weight_decay >= 0, f"--weight-decay must be non-negative, got {self.weight_decay}"),
            (
                0 <= self.label_smoothing < 1,
                f"--label-smoothing must be in [0, 1), got {self.label_smoothing}",
            ),
            (self.warmup_epochs >= 0, f"--warmup must be non-negative, got {self.warmup_epochs}"),
            (self.step_epochs >= 1, f"--step-epochs must be at least 1, got {self.step_epochs}"),
            (self.step_gamma > 0, f"--step-gamma must be positive, got {self.step_gamma}"),
            (self.workers >= 0, f"--workers must be non-negative, got {self.workers}"),
            (
                self.workers <= workers,
                f"--workers must be at most {workers} (twice the CPUs, at least 8), got {self.workers}",
            ),
            (self.optimizer in OPTIMIZERS, f"unknown optimiser {self.optimizer!r}"),
            (self.schedule in SCHEDULES, f"unknown schedule {self.schedule!r}"),
            (self.device in DEVICES, f"unknown device {self.device!r}"),
            (self.amp in AMP_MODES, f"unknown --amp mode {self.amp!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)


def max_workers() -> int:
    """The most data-loader processes a run may start: twice the CPUs, at least 8."""
    return max(8, 2 * (os.cpu_count() or 1))


def _option(name: str) -> str:
    return "--" + {"warmup_epochs": "warmup"}.get(name, name).replace("_", "-")


def resolve(given: dict[str, Any], saved: dict[str, Any] | None = None) -> TrainConfig:
    """The configuration of a run from the values given on the command line (None: not given).

    A new run starts from the defaults. A resumed run starts from its saved configuration, and only
    ``RESUMABLE`` values may change (a different learning rate would not be the same run any more).
    """
    explicit = {k: v for k, v in given.items() if v is not None}
    if saved is None:
        config = TrainConfig(**explicit)
    else:
        free = RESUMABLE | MODEL_KEYS | {"out"}
        changed = sorted(k for k, v in explicit.items() if k not in free and saved.get(k) != v)
        if changed:
            names = ", ".join("--" + k.replace("_", "-") for k in changed)
            raise UsageError(
                f"cannot change {names} when resuming a run (only --epochs, --device, --workers and "
                "--quiet may change); start a new run with --init-from to reuse its weights"
            )
        # --quiet is how this invocation prints, not part of the run: it is never inherited.
        kept = {**saved, "quiet": False}
        config = TrainConfig.from_dict({**kept, **{k: v for k, v in explicit.items() if k in free}})
    config.validate()
    return config
