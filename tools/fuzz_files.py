"""The fuzzer's inputs other than spec text: checkpoints, images, data folders and command-line options.

Each kind has a generator (a random case, made from a ``Workspace``: a temporary folder with a valid
two-file checkpoint to mutate and a ``victim`` folder that must stay empty) and a runner that feeds the
case to archspec as a user's command would; a UsageError or SpecError is the expected failure. Used by
``tools/fuzz.py``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import random
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOSTILE_TEXT = [
    *("", "..", "/", "x", "\x00", "\x1b[2J", "\u202e", "a" * 5000, "folder:/proc/self/root", "digits"),
]
HOSTILE_NUMBERS: list[Any] = [
    *(0, -1, 1, 2**63, -(2**63), 10**30, 1e308, float("inf"), float("nan"), -5.0, 0.5, True),
]
MAIN = (
    'from "lib.arch" import Body\nnetwork tiny:\n  input: 1x8x8\n  params:\n    num_classes = 10\n'
    "  layers:\n    Body()\n    maxpool(2)\n    flatten\n    fc: linear(num_classes)\n"
)
LIB = "block Body():\n  conv(4, 3, pad=1) >> relu\n"


@dataclass
class Workspace:
    """Where the file inputs are made, and a valid checkpoint to start each mutation from."""

    root: Path
    victim: Path
    payload: dict[str, Any]


def workspace(root: Path) -> Workspace:
    """A workspace under ``root``: the two-file spec's checkpoint, and the victim folder."""
    import torch
    import torchvision.transforms  # noqa: F401 - imported once here, not in the first image case
    from sklearn.datasets import load_digits

    import archspec
    from archspec.train.checkpoint import FORMAT, VERSION, rng_state
    from archspec.train.config import TrainConfig
    from archspec.train.model import spec_record

    load_digits()  # imported once here: the first `train` case would otherwise spend seconds on it
    (root / "spec").mkdir()
    (root / "spec" / "lib.arch").write_text(LIB, encoding="utf-8")
    (root / "spec" / "main.arch").write_text(MAIN, encoding="utf-8")
    (root / "victim").mkdir()
    network = archspec.load(root / "spec" / "main.arch")
    model = network.build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "spec": spec_record(network, {}, None),
        "config": TrainConfig(spec="main.arch").to_dict(),
        "classes": [str(d) for d in range(10)],
        "preprocess": {"kind": "digits", "shape": [1, 8, 8]},
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": {},
        "scaler": None,
        "rng": rng_state(),
        "epoch": 1,
        "best_acc": 0.5,
        "best_epoch": 1,
        "history": [],
    }
    return Workspace(root, root / "victim", payload)


# ---------------------------------------------------------------- checkpoints


def _hostile_value(rng: random.Random, ws: Workspace) -> Any:
    choice = rng.randrange(6)
    if choice == 0:
        return rng.choice(HOSTILE_TEXT)
    if choice == 1:
        return rng.choice(HOSTILE_NUMBERS)
    if choice == 2:
        return [rng.choice(HOSTILE_NUMBERS) for _ in range(rng.choice([0, 1, 3, 8, 9]))]
    if choice == 3:
        return {rng.choice(HOSTILE_TEXT): rng.choice(HOSTILE_NUMBERS)}
    if choice == 4:
        return _hostile_path(rng, ws)
    return None


def _hostile_path(rng: random.Random, ws: Workspace) -> str:
    spec = str(ws.root / "spec")
    return rng.choice(
        [
            f"{spec}/../victim/.bashrc",
            f"{spec}/../victim/x.arch",
            f"{ws.victim}/x.arch",
            "victim.arch",
            f"{spec}/./main.arch",
            f"{spec}//lib.arch",
            f"{spec}/\x00.arch",
            f"{spec}/\n.arch",
            "/proc/self/root/etc/passwd",
            "",
        ]
    )


def checkpoint_case(rng: random.Random, ws: Workspace) -> dict[str, Any]:
    """The workspace's checkpoint with one to three hostile edits: a key removed, a value replaced, a
    recorded path that climbs out, a huge recorded size."""
    payload = copy.deepcopy(ws.payload)
    for _ in range(rng.randint(1, 3)):
        edit = rng.randrange(7)
        spec = payload.get("spec") if isinstance(payload.get("spec"), dict) else None
        if edit == 0 and payload:
            del payload[rng.choice(sorted(payload))]
        elif edit == 1 and payload:
            payload[rng.choice(sorted(payload))] = _hostile_value(rng, ws)
        elif edit == 2 and spec is not None and isinstance(spec.get("sources"), dict):
            spec["sources"][_hostile_path(rng, ws)] = "echo pwned\n"
        elif edit == 3 and spec is not None:
            spec[rng.choice(["root", "network", "variant", "sha256", "overrides", "input_shape"])] = (
                _hostile_value(rng, ws)
            )
        elif edit == 4 and spec is not None:
            spec["input_shape"] = rng.choice([[1, 10**9, 10**9], [1, 8, 8], [10**15] * 8, [0], [1] * 9])
        elif edit == 5 and isinstance(payload.get("preprocess"), dict):
            payload["preprocess"]["shape"] = rng.choice([[1, 10**9, 10**9], [3, 8, 8], [1, 200000, 200000]])
        elif edit == 6 and isinstance(payload.get("config"), dict):
            payload["config"][rng.choice(sorted(payload["config"]))] = _hostile_value(rng, ws)
    return payload


def run_checkpoint(payload: dict[str, Any], ws: Workspace) -> None:
    """Save the case and restore it as ``eval`` and ``predict`` do; the victim folder must stay empty."""
    import torch

    from archspec.train.inference import restore

    path = ws.root / "case.pt"
    torch.save(payload, path)
    try:
        restore(path, torch.device("cpu"))
    finally:
        if any(ws.victim.iterdir()):
            raise AssertionError(f"a checkpoint wrote into {ws.victim}: {sorted(os.listdir(ws.victim))}")


# ---------------------------------------------------------------- images and data folders


def png_header(width: int, height: int, mode: int = 0) -> bytes:
    """A PNG that announces ``width`` x ``height`` pixels and holds no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def _image_bytes(rng: random.Random) -> bytes:
    from PIL import Image

    choice = rng.randrange(4)
    if choice == 0:
        side = rng.choice([1, 2**14, 2**16, 2**31 - 1, 0])
        return png_header(side, rng.choice([1, side, 2**16]), rng.choice([0, 2, 3, 6, 7]))
    if choice == 1:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
    buffer = io.BytesIO()
    mode = rng.choice(["L", "RGB", "RGBA", "P", "I", "F", "1", "CMYK", "I;16"])
    fmt = rng.choice(["PNG", "TIFF"]) if mode in ("L", "RGB", "RGBA", "P", "1") else "TIFF"
    Image.new(mode, (rng.randint(1, 40), rng.randint(1, 40))).save(buffer, fmt)
    data = buffer.getvalue()
    if choice == 3:  # truncated or with a flipped byte
        cut = rng.randrange(len(data))
        data = data[:cut] if rng.random() < 0.5 else data[:cut] + bytes([data[cut] ^ 0xFF]) + data[cut + 1 :]
    return data


def _make_file(rng: random.Random, path: Path) -> None:
    """A file, a FIFO, a link (dangling, to a folder, to itself) or a folder at ``path``."""
    choice = rng.randrange(10)
    if choice == 0:
        os.mkfifo(path)
    elif choice == 1:
        path.symlink_to(path.parent)  # a loop
    elif choice == 2:
        path.symlink_to(path.parent / "nowhere.png")
    elif choice == 3:
        path.mkdir()
    else:
        path.write_bytes(_image_bytes(rng))


def image_case(rng: random.Random, ws: Workspace, index: int) -> Path:
    """One image path for ``predict``."""
    folder = ws.root / "images" / str(index)
    folder.mkdir(parents=True)
    path = folder / rng.choice(["x.png", "x.tif", "x.jpg", "x"])
    _make_file(rng, path)
    return path


def run_image(path: Path) -> None:
    """Prepare the image as ``predict`` does for a digits run and a folder run."""
    from archspec.train.data import predict_input

    predict_input(path, {"kind": "digits", "shape": [1, 8, 8]})
    predict_input(path, {"kind": "folder", "shape": [3, 8, 8], "mean": [0.5] * 3, "std": [0.5] * 3})


def folder_case(rng: random.Random, ws: Workspace, index: int) -> Path:
    """A data-folder tree: class folders (some nested, some links) of images, FIFOs, links and junk."""
    root = ws.root / "trees" / str(index)
    root.mkdir(parents=True)
    for c in range(rng.randint(0, 3)):
        folder = root / rng.choice(["train", "val", "test", f"c{c}", f"c{c}/deep"])
        folder.mkdir(parents=True, exist_ok=True)
        for f in range(rng.randint(0, 4)):
            with contextlib.suppress(OSError):  # a name made twice
                _make_file(rng, folder / f"{f}{rng.choice(['.png', '.jpg', '.txt', '.tif'])}")
    if rng.random() < 0.2:
        (root / "loop").symlink_to(root)
    return root


def run_folder(root: Path) -> None:
    """Load the tree as ``--data folder:`` does, and read one sample of each set."""
    from archspec.train.data import folder

    sets = folder(root, (1, 8, 8))
    for part in (sets.train, sets.test):
        if len(part):  # type: ignore[arg-type]
            part[0]


# ---------------------------------------------------------------- command-line options

OPTION_VALUES = [
    *("0", "-1", "1", "3", "99999999999999999999999", "-5", "inf", "nan", "-inf", "1e308", "0.5", "1.0"),
    *("", "x", "\x1b[2J", "../../etc", "3x8x8", "3x20000x20000", "0x1", "1x" + "9" * 30, "all"),
]
TRAIN_OPTIONS = [
    *("--epochs", "--batch-size", "--lr", "--momentum", "--weight-decay", "--warmup", "--step-epochs"),
    *("--step-gamma", "--label-smoothing", "--seed", "--workers", "--input", "--schedule", "--optimizer"),
    *("--data", "--set", "--amp", "--device"),
]
ANALYZE_OPTIONS = ["--batch", "--count", "--dtype", "--depth", "--input", "--set", "--format", "--variant"]
DRAW_OPTIONS = ["--depth", "--style", "--rankdir", "--expand", "--input", "--set", "--variant"]


def _value(rng: random.Random, option: str) -> str:
    if option == "--set":
        return rng.choice(["num_classes", "x", "input", ""]) + "=" + rng.choice(OPTION_VALUES)
    if option == "--data":
        return rng.choice(["digits", "synthetic", "folder:/nonexistent", "folder:", "mnist", "folder:."])
    return rng.choice(OPTION_VALUES)


def options_case(rng: random.Random, ws: Workspace) -> list[str]:
    """A command line of ``train``, ``analyze``, ``draw`` or ``list`` with random option values."""
    spec = rng.choice(["lenet5", "lecun1989", str(ws.root / "spec" / "main.arch")])
    command = rng.choice(["train", "analyze", "draw", "list"])
    if command == "list":
        return ["list", rng.choice([str(ws.root), "/proc/self", "lenet", "x/y", ""])]
    options = {"train": TRAIN_OPTIONS, "analyze": ANALYZE_OPTIONS, "draw": DRAW_OPTIONS}[command]
    argv = [command, spec]
    for _ in range(rng.randint(1, 4)):
        option = rng.choice(options)
        argv += [option, _value(rng, option)]
    if command == "draw":
        argv += ["-o", str(ws.root / rng.choice(["x.dot", "x.svg", "x.txt"]))]
    if command == "train":
        argv += ["--out", str(ws.root / "runs" / "x")]
    return argv


def run_options(argv: list[str]) -> None:
    """Run the command line in-process; training stops once its data is loaded (nothing is trained).
    An internal error (exit 3) is a failure."""
    import archspec.train.loop as loop
    from archspec.cli import main

    def set_up_only(
        config: Any, resume: Any = None, from_checkpoint: bool = False, network: Any = None
    ) -> None:
        network = network or loop.load_network(config)
        loop.load_data(config.data, network.graph.input_shape, network.name, 10, config.batch_size)

    original = loop.run
    loop.run = set_up_only  # type: ignore[assignment]
    stream = io.StringIO()
    try:
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
            code = main(argv)
    finally:
        loop.run = original
    if code == 3:
        raise AssertionError(stream.getvalue().strip()[:300])
