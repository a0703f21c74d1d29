"""Issue 23: checkpoints, images, data folders, options, Graphviz and the site cannot hurt the user.

One test (or a parametrised group) per finding, each message compared whole. See docs/security.md.
"""

# ruff: noqa: E501 - the expected messages are verbatim, long lines included

from __future__ import annotations

import hashlib
import importlib
import json
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import archspec
from archspec.cli import main

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
LIB = "block Body():\n  conv(4, 3, pad=1) >> relu\n"
MAIN = """\
from "lib.arch" import Body
network tiny:
  input: 1x8x8
  params:
    num_classes = 10
  layers:
    Body()
    maxpool(2)
    flatten
    fc: linear(num_classes)
"""


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny networks run fastest on one thread, and the machine is shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The whole standard error of a command that must fail with a usage error (exit 2)."""
    code, _, err = run_cli(capsys, *argv)
    assert code == 2, err
    return err


# ---------------------------------------------------------------- 1, 2: checkpoints


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A two-file spec (main.arch imports lib.arch)."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "lib.arch").write_text(LIB, encoding="utf-8")
    (folder / "main.arch").write_text(MAIN, encoding="utf-8")
    return folder


def checkpoint_of(spec: Path) -> dict[str, Any]:
    """A checkpoint as the training loop writes it, of the untrained network of ``spec``."""
    from archspec.train.checkpoint import FORMAT, VERSION, rng_state
    from archspec.train.config import TrainConfig
    from archspec.train.model import spec_record

    network = archspec.load(spec)
    model = network.build()
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return {
        "format": FORMAT,
        "version": VERSION,
        "spec": spec_record(network, {}, None),
        "config": TrainConfig(spec=str(spec)).to_dict(),
        "classes": [str(d) for d in range(10)],
        "preprocess": {"kind": "digits", "shape": [1, 8, 8]},
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": None,
        "rng": rng_state(),
        "epoch": 1,
        "best_acc": 0.1,
        "best_epoch": 1,
        "history": [],
    }


def test_a_checkpoint_is_rebuilt_in_memory(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    payload = checkpoint_of(project / "main.arch")
    torch.save(payload, project.parent / "run.pt")
    for file in project.iterdir():
        file.unlink()  # the checkpoint needs neither file any more
    project.rmdir()
    code, out, err = run_cli(capsys, "eval", str(project.parent / "run.pt"), "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["samples"] == 359  # the digits' test set
    assert sorted(p.name for p in project.parent.iterdir()) == ["run.pt"]  # nothing laid out on disk


def test_a_recorded_path_cannot_write_anywhere(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    victim = project.parent / "home"
    victim.mkdir()
    payload = checkpoint_of(project / "main.arch")
    sources = payload["spec"]["sources"]
    escaping = f"{project}/../home/.bashrc"  # the old loader laid this file out beside the others
    sources[escaping] = "echo pwned\n"
    path = project.parent / "evil.pt"
    torch.save(payload, path)
    run = project.parent / "run"
    run.mkdir()
    torch.save(payload, run / "last.pt")
    (run / "config.json").write_text(json.dumps(payload["config"]), encoding="utf-8")
    commands = {
        path: [["eval", str(path)], ["predict", str(path), str(path)]],
        run / "last.pt": [["train", "--resume", str(run)]],
    }
    for shown, argvs in commands.items():
        for argv in argvs:
            assert error(capsys, *argv) == (
                f"archspec: error: {shown}: not a valid archspec checkpoint (spec.sources.{escaping}.[key]: "
                f"Value error, a recorded path must be absolute and plain (no '..', '.', '//'): '{escaping}')\n"
            )
    assert list(victim.iterdir()) == []


def test_plain_recorded_paths_are_read_from_memory_only(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    """Recorded files under a folder of this machine are neither written nor read there."""
    payload = checkpoint_of(project / "main.arch")
    elsewhere = project.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "lib.arch").write_text("block Body():\n  conv(5, 3, pad=1) >> relu\n", encoding="utf-8")
    spec = payload["spec"]
    spec["sources"] = {str(elsewhere / Path(p).name): t for p, t in spec["sources"].items()}
    spec["root"] = str(elsewhere / "main.arch")
    torch.save(payload, project.parent / "moved.pt")
    code, _, err = run_cli(capsys, "eval", str(project.parent / "moved.pt"))
    assert (code, err) == (
        0,
        "",
    )  # the recorded lib (4 channels) fits the weights, the one on disk (5) would not
    assert sorted(p.name for p in elsewhere.iterdir()) == ["lib.arch"]


def _without(key: str) -> Any:
    def change(payload: dict[str, Any]) -> None:
        del payload[key]

    return change


def _set(*keys: str, value: Any) -> Any:
    def change(payload: dict[str, Any]) -> None:
        target = payload
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_without("spec"), "spec: Field required"),
        (
            _set("spec", "sources", value={}),
            "spec.sources: Dictionary should have at least 1 item after validation, not 0",
        ),
        (
            _set("spec", "root", value="main.arch"),
            "spec.root: Value error, a recorded path must be absolute and plain (no '..', '.', '//'): 'main.arch'",
        ),
        (
            _set("spec", "root", value="/a/\x1b[2Jmain.arch"),
            "spec.root: Value error, a recorded path holds a control character",
        ),
        (
            _set("spec", "sources", value={"/a/main.arch": 3}),
            "spec.sources./a/main.arch: Input should be a valid string",
        ),
        (
            _set("spec", "sources", value={"/a/main.arch": "x" * 20_000}),
            "spec.sources./a/main.arch: String should have at most 16384 characters",
        ),
        (
            _set("spec", "overrides", value={"num_classes": 1e308}),
            "spec.overrides.num_classes: Value error, a parameter's number is not finite or over 10**15",
        ),
        (
            _set("spec", "input_shape", value=[3, 10**20]),
            "spec.input_shape.1: Input should be less than or equal to 1000000000000000",
        ),
        (_set("config", "epochs", value="many"), "config.epochs: Input should be a valid integer"),
        (
            _set("preprocess", "kind", value="folder:/proc/self/root"),
            "preprocess.kind: Input should be 'digits', 'synthetic' or 'folder'",
        ),
        (_set("model", value=[1, 2]), "model: Input should be a valid dictionary"),
        (_set("model", "fc.bias", value="weights"), "model.fc.bias: Value error, expected a tensor, got str"),
        (_set("version", value=2), "version: Input should be 1"),
    ],
)
def test_a_malformed_checkpoint_is_refused_whole(
    capsys: pytest.CaptureFixture[str], project: Path, change: Any, message: str
) -> None:
    payload = checkpoint_of(project / "main.arch")
    change(payload)
    path = project / "bad.pt"
    torch.save(payload, path)
    assert error(capsys, "eval", str(path)) == (
        f"archspec: error: {path}: not a valid archspec checkpoint ({message})\n"
    )


def test_weights_from_a_malformed_checkpoint_are_refused_whole(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    # `export --weights` and `train --init-from` take a checkpoint's weights: the whole checkpoint is
    # checked first, as `eval` checks it, though only its `model` is used.
    payload = checkpoint_of(project / "main.arch")
    _set("config", "epochs", value="many")(payload)
    path = project / "bad.pt"
    torch.save(payload, path)
    expected = (
        f"archspec: error: {path}: not a valid archspec checkpoint (config.epochs: Input should be a valid "
        "integer)\n"
    )
    spec = str(project / "main.arch")
    out = project / "out"
    assert (
        error(capsys, "export", spec, "-f", "pt2", "-o", str(out / "m.pt2"), "--weights", str(path))
        == expected
    )
    assert error(
        capsys, "train", spec, "--data", "synthetic", "--init-from", str(path), "--out", str(out)
    ) == (expected)
    assert not out.exists()


def test_a_recorded_input_too_large_for_memory(
    capsys: pytest.CaptureFixture[str], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archspec.backends.torch_build as torch_build

    monkeypatch.setattr(torch_build, "default_budget", lambda: 10**9)
    big = project / "big.arch"
    big.write_text(
        "network big:\n  input: 1x200000x200000\n  layers:\n    conv(2, 3)\n    global_avgpool\n    flatten\n    fc: linear(10)\n",
        encoding="utf-8",
    )
    payload = checkpoint_of(big)
    payload["preprocess"]["shape"] = [1, 200000, 200000]
    path = project / "big.pt"
    torch.save(payload, path)
    image = project / "digit.png"
    from PIL import Image

    Image.new("L", (8, 8), 0).save(image)
    assert error(capsys, "predict", str(path), str(image)) == (
        f"archspec: error: {image}: 4 image(s) of 1x200000x200000 need 640.00 GB, more than the 1.00 GB of "
        "memory available; give the network a smaller input (--input)\n"
    )
    assert error(capsys, "eval", str(path)) == (
        "archspec: error: the digits: 7,188 image(s) of 1x200000x200000 need 1,150,080.00 GB, more than the "
        "1.00 GB of memory available; give the network a smaller input (--input)\n"
    )
    payload["preprocess"]["shape"] = [1, 9, 9]
    torch.save(payload, path)
    assert error(capsys, "predict", str(path), str(image)) == (
        f"archspec: error: {path}: its images are prepared for another input than its network's\n"
    )


def test_a_recorded_data_folder_is_walked_within_bounds(
    capsys: pytest.CaptureFixture[str], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`folder:/proc/self/root` recorded in a checkpoint walks at most MAX_DATA_FOLDERS folders."""
    import archspec.train.data as data

    monkeypatch.setattr(data, "MAX_DATA_FOLDERS", 3)
    tree = project.parent / "tree"
    for name in ("a/x/y/z", "b"):
        (tree / name).mkdir(parents=True)
    payload = checkpoint_of(project / "main.arch")
    payload["config"]["data"] = f"folder:{tree}"
    torch.save(payload, project / "walk.pt")
    assert error(capsys, "eval", str(project / "walk.pt")) == (
        f"archspec: error: {tree}: more than 3 folders or 10,000,000 files; give the folder of the data set\n"
    )


def test_a_run_configuration_of_the_wrong_type(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.pt").write_bytes(b"")
    from archspec.train.config import TrainConfig

    values = {**TrainConfig(spec="lenet5").to_dict(), "epochs": "many"}
    (run / "config.json").write_text(json.dumps(values), encoding="utf-8")
    assert error(capsys, "train", "--resume", str(run)) == (
        f"archspec: error: --resume {run}: config.json: not a valid run configuration (epochs: Input should "
        "be a valid integer)\n"
    )


# ---------------------------------------------------------------- 3, 4: floats, NUL


@pytest.mark.parametrize("command", ["check", "analyze", "draw", "compile", "ir"])
def test_a_float_literal_is_held_to_the_integer_bound(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    spec = tmp_path / "f.arch"
    spec.write_text(
        "network n:\n  input: 3x8x8\n  layers:\n    flatten\n    linear(1e308)\n", encoding="utf-8"
    )
    code, out, err = run_cli(capsys, command, str(spec))
    assert (code, out) == (1, "")
    assert err == (
        f"{spec}:5:12: error: number 1e+308 is too large (the limit is 10**15)\n"
        "   5 |     linear(1e308)\n"
        "                  ^^^^^\n"
    )


def test_a_float_set_value_is_held_to_the_integer_bound(capsys: pytest.CaptureFixture[str]) -> None:
    assert error(capsys, "analyze", "lenet5", "--set", "num_classes=1e308") == (
        "archspec: error: --set num_classes: number 1e+308 is too large (the limit is 10**15)\n"
    )


def test_a_nul_byte_in_an_import_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = tmp_path / "nul.arch"
    spec.write_text(
        r'import "a\x00b.arch"' + "\nnetwork n:\n  input: 3x8x8\n  layers:\n    relu\n", encoding="utf-8"
    )
    code, _, err = run_cli(capsys, "check", str(spec))
    assert code == 1
    assert err == (
        f"{spec}:1:1: error: cannot import 'a\\x00b.arch': a file name cannot contain a NUL character\n"
        '   1 | import "a\\x00b.arch"\n'
        "       ^\n"
    )


# ---------------------------------------------------------------- 5: Graphviz

ADDS = "network n:\n  input: 4x4x4\n  layers:\n    a: relu\n    b: relu\n    for i in range(1500):\n      add from a, b\n"


def test_a_drawing_too_large_for_dot_is_simplified(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = tmp_path / "adds.arch"
    spec.write_text(ADDS, encoding="utf-8")
    out = tmp_path / "adds.svg"
    code, _, err = run_cli(capsys, "draw", str(spec), "-o", str(out))
    note = (
        "simplified drawing (only the edges to the next layer): 1,503 nodes and 3,002 edges are more than "
        "Graphviz lays out in bounded time"
    )
    assert (code, err) == (0, f"archspec: warning: {note}\nwrote {out}\n")
    svg = out.read_text(encoding="utf-8")
    first, second = note.split(": ", 1)  # the note is two lines in the drawing
    assert f">{first}:</text>" in svg and f">{second}</text>" in svg
    assert svg.count('class="node"') == 1505  # every layer, the legend and the note


def test_dot_is_killed_on_its_time_limit() -> None:
    from archspec.backends.diagram.render import DotTimeout, render
    from archspec.backends.diagram.writer import to_dot

    source = to_dot(archspec.load("resnet152").graph)
    before = _children()
    with pytest.raises(DotTimeout, match=r"^Graphviz's `dot` did not finish in 0.001 s$"):
        render(source, "svg", seconds=0.001)
    assert _children() == before  # no `dot` left running


@pytest.mark.parametrize(
    ("suffix", "advice"),
    [
        (".png", "a PNG's pixels take much of the time: write .svg or .pdf, or give a lower --dpi"),
        (".svg", "draw less of it (a smaller --depth, fewer --expand)"),
    ],
)
def test_a_drawing_that_times_out_even_simplified_says_what_helps(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
    advice: str,
) -> None:
    """A new user's ShuffleNet at --depth all as a 192-dpi PNG on a loaded machine: `dot` ran past its
    time twice and the message said only that."""
    rendering = importlib.import_module(
        "archspec.backends.diagram.render"
    )  # the package's `render` is a function
    monkeypatch.setattr(rendering.render, "__defaults__", (0.001,))
    out = tmp_path / f"resnet18{suffix}"
    code, _, err = run_cli(capsys, "draw", "resnet18", "-o", str(out))
    assert (code, err) == (
        2,
        "archspec: warning: simplified drawing (only the edges to the next layer): Graphviz's `dot` did not "
        "finish in 0.001 s\n"
        f"archspec: error: Graphviz's `dot` did not finish in 0.001 s, simplified or not; {advice}\n",
    )
    assert not out.exists()


def _children() -> set[int]:
    """This process's child processes (Linux: their parent id in /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.add(int(entry.name))
    return found


def test_a_terminated_report_leaves_no_staging_folder(tmp_path: Path) -> None:
    spec = tmp_path / "adds.arch"
    spec.write_text(ADDS, encoding="utf-8")
    out = tmp_path / "site"
    process = subprocess.Popen(
        [sys.executable, "-m", "archspec", "report", str(spec), "-o", str(out)],
        env=ENV,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    staging = False
    try:
        for _ in range(1200):  # the staging folder appears once the network is analysed
            staging = any(p.name.startswith(".site.") for p in tmp_path.iterdir())
            if staging or process.poll() is not None:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)  # while it draws (two simplified drawings, over a second each)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert staging
    assert process.returncode == 128 + signal.SIGTERM
    # nothing but the progress lines it had printed when the signal came ("  charts", "  adds"): no
    # traceback, no message (how far it got depends on the machine's load)
    assert all(line.startswith(b"  ") and len(line.split()) == 1 for line in err.splitlines()), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adds.arch"]


# ---------------------------------------------------------------- 6: images and data folders


def _png_header(width: int, height: int) -> bytes:
    """A PNG of one IHDR chunk announcing ``width`` x ``height`` pixels, and no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.fixture
def digits_checkpoint(project: Path) -> Path:
    path = project / "run.pt"
    torch.save(checkpoint_of(project / "main.arch"), path)
    return path


def test_images_that_announce_billions_of_pixels(
    capsys: pytest.CaptureFixture[str], digits_checkpoint: Path, tmp_path: Path
) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header(100_000, 100_000))
    assert len(bomb.read_bytes()) < 100
    assert error(capsys, "predict", str(digits_checkpoint), str(bomb)) == (
        f"archspec: error: {bomb}: cannot read this image (Image size (10000000000 pixels) exceeds limit of "
        "178956970 pixels, could be decompression bomb DOS attack.)\n"
    )
    large = tmp_path / "large.png"
    large.write_bytes(_png_header(10_000, 6_000))  # under PIL's limit, over ours
    assert error(capsys, "predict", str(digits_checkpoint), str(large)) == (
        f"archspec: error: {large}: 10,000x6,000 pixels is over the limit of 50,000,000; reduce the image first\n"
    )


def test_a_fifo_given_as_an_image(
    capsys: pytest.CaptureFixture[str], digits_checkpoint: Path, tmp_path: Path
) -> None:
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    assert error(capsys, "predict", str(digits_checkpoint), str(fifo)) == (
        f"archspec: error: {fifo}: cannot read this image (not a regular file)\n"
    )


def test_a_data_folder_with_a_fifo_and_a_link_loop(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from PIL import Image

    root = tmp_path / "images"
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for index in range(3):
            Image.new("L", (8, 8), index * 40).save(root / label / f"{index}.png")
        os.mkfifo(root / label / "fifo.png")
        (root / label / "loop").symlink_to(root / label)  # a link to its own folder
    spec = tmp_path / "tiny.arch"
    spec.write_text(
        MAIN.replace('from "lib.arch" import Body\n', "").replace("Body()", "conv(4, 3, pad=1)"),
        encoding="utf-8",
    )
    code, _, err = run_cli(
        capsys,
        "train",
        str(spec),
        "--data",
        f"folder:{root}",
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "run"),
        "-q",
    )
    assert (code, err) == (0, "")
    config = json.loads((tmp_path / "run" / "config.json").read_text(encoding="utf-8"))
    assert (config["train_samples"], config["test_samples"]) == (
        5,
        1,
    )  # 6 images: the FIFOs and the loop are skipped


# ---------------------------------------------------------------- 7: training options


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--step-epochs", "0"], "--step-epochs must be at least 1, got 0"),
        (["--momentum", "-5"], "--momentum must be in [0, 1], got -5.0"),
        (
            ["--seed", "99999999999999999999999"],
            "--seed must be at most 1,000,000,000,000,000 in magnitude, got 99999999999999999999999",
        ),
        (
            ["--seed", "-99999999999999999999999"],
            "--seed must be at most 1,000,000,000,000,000 in magnitude, got -99999999999999999999999",
        ),
        (
            ["--epochs", "99999999999999999999999"],
            "--epochs must be at most 1,000,000,000,000,000, got 99999999999999999999999",
        ),
        (
            ["--workers", "100000"],
            f"--workers must be at most {max(8, 2 * (os.cpu_count() or 1))} (twice the CPUs, at least 8), got 100000",
        ),
        (["--lr", "inf"], "--lr must be a finite number, got inf"),
        (["--lr", "nan"], "--lr must be a finite number, got nan"),
        (["--weight-decay", "inf"], "--weight-decay must be a finite number, got inf"),
        (["--step-gamma", "0"], "--step-gamma must be positive, got 0.0"),
        (["--warmup", "inf"], "--warmup must be a finite number, got inf"),
    ],
)
def test_training_options_out_of_range(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: list[str], message: str
) -> None:
    assert (
        error(capsys, "train", "lenet5", "--out", str(tmp_path / "run"), *option)
        == f"archspec: error: {message}\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_an_input_the_data_cannot_hold_in_memory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archspec.backends.torch_build as torch_build

    monkeypatch.setattr(torch_build, "default_budget", lambda: 8 * 10**9)
    out = str(tmp_path / "run")
    assert error(capsys, "train", "lenet5", "--input", "3x20000x20000", "--out", out) == (
        "archspec: error: the digits: 7,188 image(s) of 3x20000x20000 need 34,502.40 GB, more than the 8.00 GB "
        "of memory available; give the network a smaller input (--input)\n"
    )
    assert error(
        capsys, "train", "lenet5", "--input", "1x20000x20000", "--data", "synthetic", "--out", out
    ) == (
        "archspec: error: synthetic data: 64 image(s) of 1x20000x20000 need 102.40 GB, more than the 8.00 GB "
        "of memory available; give the network a smaller input (--input)\n"
    )


# ---------------------------------------------------------------- 8: --out never clobbers


def test_out_never_replaces_a_users_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "config.json").write_text('{"my": "settings"}\n', encoding="utf-8")
    (folder / "metrics.jsonl").write_text("mine\n", encoding="utf-8")
    assert error(capsys, "train", "lenet5", "--epochs", "1", "--out", str(folder)) == (
        f"archspec: error: --out {folder}: the folder holds files archspec did not write; they are not "
        "replaced. Pick a new or empty folder\n"
    )
    assert (folder / "config.json").read_text(encoding="utf-8") == '{"my": "settings"}\n'
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "metrics.jsonl"]


def test_a_run_that_stopped_before_its_first_checkpoint_may_be_replaced(tmp_path: Path) -> None:
    from archspec.errors import UsageError
    from archspec.train.checkpoint import check_new_run_folder

    run = tmp_path / "run"
    run.mkdir()
    check_new_run_folder(run)  # empty
    (run / "config.json").write_text(json.dumps({"epochs": 3, "spec_sha256": "0" * 64}), encoding="utf-8")
    check_new_run_folder(run)  # archspec's own, no checkpoint yet
    (run / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError):
        check_new_run_folder(run)
    with pytest.raises(UsageError, match="is not a folder"):
        check_new_run_folder(run / "notes.txt")


# ---------------------------------------------------------------- 9: list


def test_list_is_bounded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archspec.loader as loader

    monkeypatch.setattr(loader, "MAX_WALK_FOLDERS", 5)
    for index in range(6):
        (tmp_path / f"d{index}").mkdir()
    code, out, err = run_cli(capsys, "list", str(tmp_path))
    assert (code, out) == (1, "")
    assert (
        err
        == f"archspec: error: cannot list {tmp_path}: it holds more than 5 folders\n  hint: give the folder that holds the specs\n"
    )


def test_list_of_a_vanishing_tree(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """/proc/self changes while it is walked (threads, fds); nothing there is a spec."""
    (tmp_path / "loop").symlink_to(tmp_path)
    (tmp_path / "dangling.arch").symlink_to(tmp_path / "nowhere.arch")
    os.mkfifo(tmp_path / "fifo.arch")
    assert run_cli(capsys, "list", str(tmp_path)) == (0, "", "")
    code, _, err = run_cli(capsys, "list", "/proc/self")
    assert (code, err) == (0, "")


# ---------------------------------------------------------------- 10: a bare name is the zoo's


def test_a_file_does_not_replace_a_zoo_network(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("lenet5").write_text("network mine:\n  input: 3x8x8\n  layers:\n    relu\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "analyze", "lenet5", "--format", "json")
    assert code == 0
    assert (
        err
        == "archspec: warning: 'lenet5' is the zoo's network; to read the file of that name, write ./lenet5\n"
    )
    assert json.loads(out)["network"] == "lenet5"
    code, out, err = run_cli(capsys, "analyze", "./lenet5", "--format", "json")
    assert (code, err, json.loads(out)["network"]) == (0, "", "mine")


# ---------------------------------------------------------------- 11: the site


def test_a_network_named_claims_keeps_its_page(tmp_path: Path) -> None:
    """`claims` is the zoo site's claims page: a network of that name never takes it (a site of one's own
    specs has no claims page, and the slug stays reserved)."""
    from archspec.site.build import build_site

    spec = tmp_path / "claims.arch"
    spec.write_text("network claims:\n  input: 3x8x8\n  layers:\n    relu\n", encoding="utf-8")
    out = tmp_path / "site"
    build_site([str(spec)], out, results=tmp_path / "none")
    assert not (out / "claims.html").exists()
    assert "<h1>claims</h1>" in (out / "claims-2.html").read_text(encoding="utf-8")
    assert 'href="claims-2.html"' in (out / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"rows": [[1]], "command": "x"}', "columns: Field required"),
        ("[1, 2]", "the file: Input should be an object"),
        ("{", "the file: Invalid JSON: EOF while parsing an object at line 1 column 1"),
        (
            '{"command": "x", "columns": ["a"], "rows": [[{"a": 1}]], "reproduced": true, "verdict": "v", "seconds": 1, "machine": {}, "finished": "now"}',
            "rows.0.0.bool: Input should be a valid boolean",
        ),
    ],
)
def test_a_malformed_result_is_shown_as_such(tmp_path: Path, text: str, problem: str) -> None:
    from archspec.site.claims import collect_claims

    # A static claim: no committed record to fall back on (tests/test_experiments.py has a trained one's).
    (tmp_path / "stacked_3x3").mkdir()
    path = tmp_path / "stacked_3x3" / "result.json"
    path.write_text(text, encoding="utf-8")
    claims = {claim.name: claim for claim in collect_claims(tmp_path)}
    assert claims["stacked_3x3"].result is None
    assert claims["stacked_3x3"].problem == f"{path} could not be read ({problem})"


def test_the_digest_of_a_recorded_root_is_checked_as_text() -> None:
    """A record's sha256 is 64 hex digits (the loop writes hashlib's hexdigest)."""
    from archspec.train.schema import SpecRecord

    digest = hashlib.sha256(b"x").hexdigest()
    SpecRecord.model_validate(
        {
            "network": "n",
            "variant": None,
            "root": "/a.arch",
            "sources": {"/a.arch": "x"},
            "sha256": digest,
            "overrides": {},
            "input_shape": None,
        }
    )
