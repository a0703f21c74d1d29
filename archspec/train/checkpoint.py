"""Checkpoints: written atomically, read with ``weights_only=True``, loaded strictly with a readable diff.

A checkpoint is a plain dictionary of tensors, numbers, strings, lists and dicts (nothing torch's
``weights_only`` unpickler refuses): the model's ``state_dict``, the optimiser, scheduler and scaler
states, the random-number generators, the epoch, the configuration and everything needed to rebuild the
network without its spec file (every source file's text, the variant and the parameters).
"""

from __future__ import annotations

import errno
import os
import random
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from torch import nn

from archspec.errors import UsageError

FORMAT = "archspec-checkpoint"
VERSION = 1
SHOWN_KEYS = 12  # a mismatch lists this many keys per kind, then a count


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` through a temporary file and a rename: ``path`` is never half-written.

    On any failure (a full disk, a kill) the previous file at ``path`` is left as it was.
    """
    atomic_write(path, lambda stream: torch.save(payload, stream))


def write_text_atomically(path: Path, text: str) -> None:
    """``config.json``, ``metrics.jsonl``: written like the checkpoints."""
    atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write`` on a temporary file beside ``path``, flush it to disk, then rename it to ``path``."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise _save_error(path, error) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise _save_error(path, error) from None
        raise


def _save_error(path: Path, error: OSError) -> UsageError:
    why = "the disk is full" if error.errno == errno.ENOSPC else (error.strerror or str(error))
    kept = f"; the previous {path.name} is intact" if path.exists() else ""
    return UsageError(f"cannot save {path}: {why}{kept}")


RUN_FILES = frozenset({"config.json", "metrics.jsonl"})  # what a run writes before its first checkpoint


def check_new_run_folder(out: Path) -> None:
    """UsageError unless ``out`` may receive a new run: absent, empty, or a run that stopped before its
    first checkpoint (only archspec's config.json and metrics.jsonl). A user's files are never replaced."""
    if not out.exists():
        return
    if not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder; pick another --out")
    if (out / "last.pt").exists():
        raise UsageError(f"{out} already holds a run; continue it with --resume {out}, or pick another --out")
    try:
        names = {entry.name for entry in os.scandir(out)}
    except OSError as error:
        raise UsageError(f"--out {out}: cannot read it ({error.strerror or error})") from None
    if names and not (names <= RUN_FILES and "config.json" in names and _is_run_config(out / "config.json")):
        raise UsageError(
            f"--out {out}: the folder holds files archspec did not write; they are not replaced. "
            "Pick a new or empty folder"
        )


def _is_run_config(path: Path) -> bool:
    """Whether ``path`` is a config.json archspec wrote (it records the spec's digest)."""
    import json

    if not path.is_file():  # a FIFO named config.json would block the read
        return False
    try:
        with path.open("rb") as stream:
            values = json.loads(stream.read(2**20))
    except (OSError, ValueError):
        return False
    return isinstance(values, dict) and "spec_sha256" in values and "epochs" in values


def load_checkpoint(path: Path | str) -> dict[str, Any]:
    """A checkpoint written by ``save_checkpoint`` (UsageError when absent or not one)."""
    payload = _load(Path(path), "checkpoint")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UsageError(f"{path}: not an archspec checkpoint (a state_dict file loads with --init-from)")
    return _checked(payload, path)


def _checked(payload: dict[str, Any], path: Path | str) -> dict[str, Any]:
    from archspec.train.schema import check_checkpoint

    check_checkpoint(payload, str(path))  # a shared file: every key, type and size, before any is used
    return payload


def _load(path: Path, what: str) -> Any:
    if not path.is_file():
        raise UsageError(f"no such {what} file: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError... for bad files
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f"{path}: cannot read it as a torch file ({first})") from None


def read_state_dict(path: Path | str) -> dict[str, torch.Tensor]:
    """The weights of a ``state_dict`` file (torchvision's format) or of an archspec checkpoint (checked
    whole, as ``load_checkpoint`` does), read once."""
    payload = _load(Path(path), "weights")
    if isinstance(payload, dict) and payload.get("format") == FORMAT:
        payload = _checked(payload, path)["model"]
    if not isinstance(payload, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in payload.items()
    ):
        raise UsageError(f"{path}: not a state_dict (a mapping of parameter names to tensors)")
    return dict(payload)


def load_weights(module: nn.Module, state: Mapping[str, torch.Tensor], source: str, network: str) -> None:
    """Load ``state`` into ``module`` strictly; a mismatch raises a UsageError listing what differs."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or shapes:
        lines = [f"{source} does not fit {network} (keys and shapes must match exactly):"]
        lines += _listing("missing from the file", [f"{k} {_shape(expected[k])}" for k in missing])
        lines += _listing("not in the network", [f"{k} {_shape(state[k])}" for k in unexpected])
        lines += _listing(
            "shapes differ",
            [f"{k}: file {_shape(state[k])}, network {_shape(expected[k])}" for k in shapes],
        )
        raise UsageError("\n".join(lines))
    module.load_state_dict(state, strict=True)


def _shape(tensor: torch.Tensor) -> str:
    return "[" + ", ".join(str(d) for d in tensor.shape) + "]"


def _listing(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    shown = [f"    {item}" for item in items[:SHOWN_KEYS]]
    if len(items) > SHOWN_KEYS:
        shown.append(f"    … and {len(items) - SHOWN_KEYS} more")
    return [f"  {title} ({len(items)}):", *shown]


def rng_state() -> dict[str, Any]:
    """Every random-number generator a run draws from, as weights_only-loadable values."""
    kind, keys, position, has_gauss, gauss = np.random.get_state(legacy=True)
    return {
        "python": _listify(random.getstate()),
        "numpy": [kind, torch.from_numpy(np.asarray(keys).copy()), position, has_gauss, gauss],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what ``rng_state`` saved."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, position, has_gauss, gauss_value = state["numpy"]
    np.random.set_state((kind, keys.numpy(), position, has_gauss, gauss_value))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _listify(value: Any) -> Any:
    return [_listify(v) for v in value] if isinstance(value, tuple) else value
