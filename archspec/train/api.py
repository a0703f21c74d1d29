"""Training from Python: ``archspec.train(...)``, ``archspec.evaluate(...)`` and ``archspec.predict(...)``.

These are what ``archspec train``, ``eval`` and ``predict`` run (the commands only parse their arguments
and print): the same configuration and its defaults, the same run folder, the same checkpoints. Importing
this module imports no torch; a call does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archspec.api import Network
from archspec.errors import UsageError
from archspec.train.config import resolve

if TYPE_CHECKING:  # pragma: no cover - torch stays unimported until a call
    from archspec.train.loop import Run


def train(
    spec_or_network: str | Path | Network | None = None,
    data: str | None = None,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    optimizer: str | None = None,
    momentum: float | None = None,
    weight_decay: float | None = None,
    schedule: str | None = None,
    warmup_epochs: float | None = None,
    step_epochs: int | None = None,
    step_gamma: float | None = None,
    label_smoothing: float | None = None,
    seed: int | None = None,
    device: str | None = None,
    amp: str | None = None,
    channels_last: bool | None = None,
    compile: bool | None = None,
    workers: int | None = None,
    init_from: str | Path | None = None,
    out: str | Path | None = None,
    quiet: bool | None = None,
    variant: str | None = None,
    params: Mapping[str, Any] | None = None,
    input_shape: Sequence[int] | None = None,
    resume: str | Path | None = None,
) -> Run:
    """Train a network as ``archspec train`` does and return the run.

    ``spec_or_network``: a zoo name, a ``.arch`` file, or a :class:`archspec.Network` from
    :func:`archspec.load` (its variant, parameters and input shape are the run's). ``data``: ``"digits"``
    (scikit-learn's, the default), ``"synthetic"`` or ``"folder:PATH"``. Every other option is the
    command's (``--batch-size`` is ``batch_size``, ``--warmup`` is ``warmup_epochs``, ``--set`` is
    ``params``, ``--input`` is ``input_shape``); None leaves the default, or a resumed run's value.
    ``resume``: continue the run in that folder (without a spec: with the network its checkpoint records).

    The progress bar is drawn on a terminal and in a Jupyter notebook (with ``ipywidgets``); elsewhere each
    epoch prints one line, and ``quiet=True`` prints only the final line. The run's ``history`` holds the
    metrics of every epoch, ``best_acc``/``best_epoch`` its best test accuracy, and ``best_checkpoint``,
    ``last_checkpoint``, ``metrics_file`` and ``out`` where it wrote them.
    Raises :class:`archspec.UsageError` (bad options, unusable data) or :class:`archspec.SpecError`.
    """
    given: dict[str, Any] = {
        "data": data,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "optimizer": optimizer,
        "momentum": momentum,
        "weight_decay": weight_decay,
        "schedule": schedule,
        "warmup_epochs": warmup_epochs,
        "step_epochs": step_epochs,
        "step_gamma": step_gamma,
        "label_smoothing": label_smoothing,
        "seed": seed,
        "device": device,
        "amp": amp,
        "channels_last": channels_last,
        "compile": compile,
        "workers": workers,
        "init_from": None if init_from is None else str(init_from),
        "out": None if out is None else str(out),
        "quiet": quiet,
    }
    network = spec_or_network if isinstance(spec_or_network, Network) else None
    if network is not None:
        if variant is not None or input_shape is not None:
            raise UsageError("a loaded network is one variant at one input shape: give them to archspec.load")
        overrides = {**network.overrides, **(params or {})}
        if params:
            from archspec.train.model import with_params

            network = with_params(network, overrides)
        shape = list(network.input_override) if network.input_override else None
        given.update(spec=network.graph.source, variant=network.graph.variant, input_shape=shape)
        given["params"] = overrides or None
    else:
        given["spec"] = None if spec_or_network is None else str(spec_or_network)
        given.update(variant=variant, params=dict(params) if params else None)
        given["input_shape"] = list(input_shape) if input_shape else None
    folder = None if resume is None else Path(resume)
    saved = None
    if folder is not None:
        saved = saved_config(folder)
        if out is not None and Path(out) != folder:
            raise UsageError("--resume continues the run in its own folder; drop --out")
        given["out"] = str(folder)
    elif spec_or_network is None:
        raise UsageError("train needs a SPEC (a .arch file or a zoo name), or --resume DIR")
    config = resolve(given, saved)
    from archspec.train.loop import run

    from_checkpoint = folder is not None and spec_or_network is None
    return run(config, folder, from_checkpoint=from_checkpoint, network=network)


def saved_config(folder: Path) -> dict[str, Any]:
    """The configuration of the run in ``folder``, which must hold a ``last.pt`` to resume from."""
    if not (folder / "last.pt").is_file():
        raise UsageError(f"--resume {folder}: no last.pt there (nothing to resume)")
    try:
        values: dict[str, Any] = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UsageError(f"--resume {folder}: cannot read config.json ({error})") from None
    from archspec.train.schema import check_config

    if not isinstance(values, dict):
        raise UsageError(f"--resume {folder}: config.json is not a run configuration (not an object)")
    check_config(values, f"--resume {folder}: config.json")
    return values


def evaluate(checkpoint: str | Path | Run, data: str | None = None, device: str = "auto") -> dict[str, Any]:
    """Loss, accuracy and sample count of a checkpoint (a run: its ``best.pt``), as ``archspec eval``.

    ``data``: default, the data it was trained on. The checkpoint alone rebuilds the network.
    """
    from archspec.train.inference import evaluate_checkpoint

    return evaluate_checkpoint(_checkpoint(checkpoint), data, device)


def predict(
    checkpoint: str | Path | Run,
    images: str | Path | Sequence[str | Path],
    top_k: int = 3,
    device: str = "auto",
    invert: bool = False,
) -> list[dict[str, Any]]:
    """The ``top_k`` classes a checkpoint (a run: its ``best.pt``) gives each image file, as ``archspec
    predict``: per image ``{"image": path, "top": [{"class", "index", "probability"}, ...]}``.

    Each image is prepared as the run's test images were (the digits: brought to 8x8, then resized);
    ``invert`` turns dark ink on light paper into the digits' white ink on black. For a network trained on
    the digits, an image that looks like dark ink on light paper is marked ``dark_on_light`` unless
    ``invert``.
    """
    if top_k < 1:
        raise UsageError(f"--top-k must be at least 1, got {top_k}")
    from archspec.train.inference import predict_images

    paths = [str(images)] if isinstance(images, str | Path) else [str(image) for image in images]
    return predict_images(_checkpoint(checkpoint), paths, top_k, device, invert)


def _checkpoint(source: str | Path | Run) -> Path:
    """A checkpoint's path: the one given, or a run's ``best.pt``."""
    if isinstance(source, str | Path):
        return Path(source)
    return source.best_checkpoint
