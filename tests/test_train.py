"""archspec train / eval / predict: resume, kill, DDP, checkpoints, weights from torchvision, bad input.

Mechanics run on a tiny network over scikit-learn's 8x8 digits (a fraction of a second per epoch); the
full accuracy runs live in `make train-demo` and tools/bench_train.py, with one accuracy test marked slow.
Oracles: bitwise equality with an uninterrupted run, torchvision's resnet18 outputs, the digits' size
(1,797 images, scikit-learn's documentation), hand-written expected messages.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from archspec.cli import main

TINY = """\
network tiny:
  input: 1x8x8
  params:
    num_classes = 10
  layers:
    conv(6, 3, pad=1) >> relu
    maxpool(2)
    flatten
    dropout(0.1)
    fc: linear(num_classes)
"""
# The same layers, one more channel: a checkpoint of `tiny` does not fit it.
WIDER = TINY.replace("network tiny", "network wider").replace("conv(6,", "conv(7,")
VECTOR = """\
network vector:
  input: [64]
  layers:
    fc: linear(10)
"""
TWO_CHANNELS = TINY.replace("network tiny", "network two").replace("1x8x8", "2x8x8")

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}
DIGITS_TEST = 359  # round(0.2 * 1,797) images held out


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny networks run fastest on one thread, and the machine is shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    for name, text in {"tiny": TINY, "wider": WIDER, "vector": VECTOR, "two": TWO_CHANNELS}.items():
        (tmp_path / f"{name}.arch").write_text(text, encoding="utf-8")
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def weights(path: Path) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = torch.load(path, weights_only=True)["model"]
    return state


def metrics(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def train_tiny(
    capsys: pytest.CaptureFixture[str], specs: Path, out: Path, *extra: str
) -> tuple[int, str, str]:
    return cli(capsys, "train", str(specs / "tiny.arch"), "--out", str(out), "--quiet", *extra)


# ---------------------------------------------------------------- runs, resume, eval


def test_run_folder_and_eval_of_best(capsys: pytest.CaptureFixture[str], specs: Path) -> None:
    out = specs / "run"
    code, stdout, _ = train_tiny(capsys, specs, out, "--epochs", "3")
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "config.json", "last.pt", "metrics.jsonl"]
    rows = metrics(out)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    for row in rows:
        assert {"epoch", "train_loss", "test_loss", "test_acc", "images_per_s", "seconds"} <= row.keys()
        assert 0 <= row["test_acc"] <= 1
        assert round(row["test_acc"] * DIGITS_TEST, 6).is_integer()  # a fraction of the 359 test images
    config = json.loads((out / "config.json").read_text())
    assert config["spec_source"] == TINY
    import hashlib

    assert config["spec_sha256"] == hashlib.sha256(TINY.encode()).hexdigest()
    assert (config["epochs"], config["num_classes"], config["train_samples"], config["test_samples"]) == (
        3,
        10,
        1797 - DIGITS_TEST,
        DIGITS_TEST,
    )
    best = max(r["test_acc"] for r in rows)
    assert stdout.splitlines()[-1].startswith(f"best test accuracy {best:.2%} (epoch ")
    # eval needs no spec: the checkpoint rebuilds the network; it reproduces the best epoch's accuracy.
    (specs / "tiny.arch").unlink()
    code, stdout, _ = cli(capsys, "eval", str(out / "best.pt"), "--format", "json")
    assert code == 0
    result = json.loads(stdout)
    assert list(result) == ["accuracy", "loss", "samples"]
    assert result["accuracy"] == best
    assert result["samples"] == DIGITS_TEST
    best_row = next(r for r in rows if r["test_acc"] == best)
    assert result["loss"] == pytest.approx(best_row["test_loss"], rel=1e-9)


def test_resume_gives_the_same_weights(
    capsys: pytest.CaptureFixture[str], specs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole, cut = specs / "whole", specs / "cut"
    assert train_tiny(capsys, specs, whole, "--epochs", "4")[0] == 0
    # Interrupt the same run after the checkpoint of epoch 2 (Ctrl-C: exit 130).
    from archspec.train.progress import Reporter

    def interrupt(self: Reporter, row: dict[str, Any], epochs: int) -> None:
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(Reporter, "end_epoch", interrupt)
        assert train_tiny(capsys, specs, cut, "--epochs", "4")[0] == 130
    assert torch.load(cut / "last.pt", weights_only=True)["epoch"] == 2
    code, stdout, _ = cli(capsys, "train", "--resume", str(cut))
    assert code == 0, stdout
    assert stdout.splitlines()[0] == f"resuming {cut} after epoch 2"
    assert_same_weights(weights(whole / "last.pt"), weights(cut / "last.pt"))
    timeless = [
        {k: v for k, v in row.items() if k not in ("seconds", "images_per_s")} for row in metrics(whole)
    ]
    assert [
        {k: v for k, v in row.items() if k not in ("seconds", "images_per_s")} for row in metrics(cut)
    ] == timeless


def test_kill_then_resume(capsys: pytest.CaptureFixture[str], specs: Path) -> None:
    killed, whole = specs / "killed", specs / "whole"
    command = [sys.executable, "-m", "archspec", "train", str(specs / "tiny.arch"), "--out", str(killed)]
    command += ["--epochs", "100", "--schedule", "none", "--device", "cpu", "--quiet"]
    process = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (killed / "last.pt").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read() if process.stderr else ""
    done = torch.load(killed / "last.pt", weights_only=True)["epoch"]
    assert done >= 1
    # Resume to two epochs past the checkpoint, and compare with a run that was never killed.
    assert cli(capsys, "train", "--resume", str(killed), "--epochs", str(done + 2), "--quiet")[0] == 0
    assert [r["epoch"] for r in metrics(killed)] == list(range(1, done + 3))
    assert train_tiny(capsys, specs, whole, "--epochs", str(done + 2), "--schedule", "none")[0] == 0
    assert_same_weights(weights(whole / "last.pt"), weights(killed / "last.pt"))


def test_two_processes_with_gloo(capsys: pytest.CaptureFixture[str], specs: Path) -> None:
    out = specs / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    command += ["-m", "archspec", "train", str(specs / "tiny.arch"), "--epochs", "1", "--device", "cpu"]
    command += ["--out", str(out), "--batch-size", "64"]
    result = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    final = [line for line in result.stdout.splitlines() if line.startswith("best test accuracy")]
    assert len(final) == 1  # only rank 0 prints
    config = json.loads((out / "config.json").read_text())
    assert config["world_size"] == 2
    [row] = metrics(out)
    # The test accuracy summed over both ranks' halves equals one process's evaluation of all 359 images.
    code, stdout, _ = cli(capsys, "eval", str(out / "last.pt"), "--format", "json")
    assert code == 0
    assert json.loads(stdout)["accuracy"] == row["test_acc"]
    assert json.loads(stdout)["loss"] == pytest.approx(row["test_loss"], rel=1e-6)


def test_predict_top_k(capsys: pytest.CaptureFixture[str], specs: Path) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    out = specs / "run"
    assert train_tiny(capsys, specs, out, "--epochs", "2")[0] == 0
    digits = load_digits()
    paths = []
    for i in range(4):
        path = specs / f"digit{i}.png"
        pixels = (digits.images[i] * 255 / 16).round().astype("uint8")
        Image.fromarray(pixels, mode="L").save(path)
        paths.append(str(path))
    code, stdout, _ = cli(capsys, "predict", str(out / "best.pt"), *paths, "--top-k", "2", "--format", "json")
    assert code == 0
    results = json.loads(stdout)
    # The oracle: the saved model run on the same digits scaled to [-1, 1] by hand.
    from archspec.train.inference import restore

    model = restore(out / "best.pt", torch.device("cpu")).model
    x = torch.tensor(digits.images[:4], dtype=torch.float32).unsqueeze(1)
    x = (torch.round(x * 255 / 16) / 255) * 2 - 1
    expected = torch.softmax(model(x), dim=1).topk(2, dim=1)
    for result, path, values, indices in zip(results, paths, expected.values, expected.indices, strict=True):
        assert result["image"] == path
        assert [t["index"] for t in result["top"]] == indices.tolist()
        assert [t["class"] for t in result["top"]] == [str(i) for i in indices.tolist()]
        assert [t["probability"] for t in result["top"]] == pytest.approx(values.tolist(), rel=1e-5)
    code, stdout, _ = cli(capsys, "predict", str(out / "best.pt"), paths[0], "-k", "1")
    assert (
        stdout == f"{paths[0]}: {results[0]['top'][0]['class']} ({results[0]['top'][0]['probability']:.1%})\n"
    )


def test_folder_data_converts_modes(capsys: pytest.CaptureFixture[str], specs: Path) -> None:
    from PIL import Image

    root = specs / "images"
    modes = ["L", "RGB", "RGBA", "P", "1", "LA"]
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for i, mode in enumerate(modes):
            colour = 40 * i if label == "a" else 255 - 40 * i
            Image.new("L", (12, 10), colour).convert(mode).save(root / label / f"{i}.png")
    code, stdout, err = train_tiny(capsys, specs, specs / "run", "--data", f"folder:{root}", "--epochs", "1")
    assert code == 0, err
    config = json.loads((specs / "run" / "config.json").read_text())
    assert (config["classes"], config["num_classes"]) == (["a", "b"], 2)
    assert (config["train_samples"], config["test_samples"]) == (10, 2)  # 80/20 of 12 images
    code, stdout, _ = cli(
        capsys, "predict", str(specs / "run" / "last.pt"), str(root / "a" / "0.png"), "-k", "2"
    )
    assert code == 0 and stdout.startswith(f"{root / 'a' / '0.png'}: ")


# ---------------------------------------------------------------- weights from elsewhere


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    reference = torchvision.models.resnet18().eval()
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    return path, reference


def test_build_with_torchvision_weights(resnet18_file: tuple[Path, Any]) -> None:
    import archspec

    path, reference = resnet18_file
    model = archspec.load("resnet18").build(weights=path).eval()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(model(x), reference(x))


def test_wrong_weights_list_the_keys(
    capsys: pytest.CaptureFixture[str], resnet18_file: tuple[Path, Any], tmp_path: Path
) -> None:
    import archspec
    from archspec.errors import UsageError

    state = torch.load(resnet18_file[0], weights_only=True)
    del state["fc.bias"]
    state["head.weight"] = torch.zeros(10, 512)
    state["conv1.weight"] = torch.zeros(64, 1, 7, 7)
    wrong = tmp_path / "wrong.pth"
    torch.save(state, wrong)
    expected = (
        f"{wrong} does not fit resnet18 (keys and shapes must match exactly):\n"
        "  missing from the file (1):\n"
        "    fc.bias [1000]\n"
        "  not in the network (1):\n"
        "    head.weight [10, 512]\n"
        "  shapes differ (1):\n"
        "    conv1.weight: file [64, 1, 7, 7], network [64, 3, 7, 7]"
    )
    with pytest.raises(UsageError) as raised:
        archspec.load("resnet18").build(weights=wrong)
    assert str(raised.value) == expected
    code, _, err = cli(
        capsys,
        "train",
        "resnet18",
        "--init-from",
        str(wrong),
        "--data",
        "synthetic",
        "--set",
        "num_classes=1000",
        "--out",
        str(tmp_path / "run"),
    )
    assert (code, err) == (2, f"archspec: error: {expected}\n")


def test_resume_with_another_spec_lists_the_keys(capsys: pytest.CaptureFixture[str], specs: Path) -> None:
    out = specs / "run"
    assert train_tiny(capsys, specs, out, "--epochs", "1")[0] == 0
    code, _, err = cli(capsys, "train", str(specs / "wider.arch"), "--resume", str(out), "--epochs", "2")
    assert code == 2
    assert err == (
        f"archspec: error: {out / 'last.pt'} does not fit wider (keys and shapes must match exactly):\n"
        "  shapes differ (3):\n"
        "    0.weight: file [6, 1, 3, 3], network [7, 1, 3, 3]\n"
        "    0.bias: file [6], network [7]\n"
        "    fc.weight: file [10, 96], network [10, 112]\n"
    )


# ---------------------------------------------------------------- bad input


def test_missing_data_folder(capsys: pytest.CaptureFixture[str], specs: Path) -> None:
    code, _, err = train_tiny(capsys, specs, specs / "run", "--data", f"folder:{specs / 'nowhere'}")
    assert (code, err) == (2, f"archspec: error: --data folder:{specs / 'nowhere'}: no such directory\n")
    assert not (specs / "run").exists()


@pytest.mark.parametrize("layout", ["no class folders", "empty class folders"])
def test_empty_data_folder(capsys: pytest.CaptureFixture[str], specs: Path, layout: str) -> None:
    root = specs / "images"
    root.mkdir()
    if layout == "empty class folders":
        (root / "cat").mkdir()
        (root / "dog").mkdir()
        (root / "dog" / "notes.txt").write_text("not an image")
    code, _, err = train_tiny(capsys, specs, specs / "run", "--data", f"folder:{root}")
    assert (code, err) == (
        2,
        f"archspec: error: --data folder:{root}: no images in {root} (expected one sub-folder of images "
        "per class, with extensions .jpg, .jpeg, .png, .ppm, …)\n",
    )


def test_image_of_a_mode_without_conversion(capsys: pytest.CaptureFixture[str], specs: Path) -> None:
    from PIL import Image

    root = specs / "images"
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        Image.new("L", (8, 8), 0).save(root / label / "0.png")
        Image.new("L", (8, 8), 9).save(root / label / "1.png")
    bad = root / "b" / "2.tif"
    Image.new("F", (8, 8), 0.5).save(bad)  # 32-bit floating point: no defined range
    code, _, err = train_tiny(capsys, specs, specs / "run", "--data", f"folder:{root}")
    assert (code, err) == (
        2,
        f"archspec: error: {bad}: image mode 'F' has no defined conversion to grey levels (L) (16-bit or "
        "floating-point data); convert it to an 8-bit image first\n",
    )


def test_unreadable_image(capsys: pytest.CaptureFixture[str], specs: Path) -> None:
    root = specs / "images"
    (root / "a").mkdir(parents=True)
    (root / "a" / "0.png").write_bytes(b"not a png")
    code, _, err = train_tiny(capsys, specs, specs / "run", "--data", f"folder:{root}")
    assert code == 2
    assert err.startswith(f"archspec: error: {root / 'a' / '0.png'}: cannot read this image (")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "vector",
            "the digits are images, but vector takes input 64, not channels x height x width; train it with "
            "--data synthetic, or give it an image input (--input CxHxW)",
        ),
        (
            "two",
            "the digits are grey or RGB images, but two takes 2 input channels; give it 1 or 3 "
            "(--input 1xHxW or 3xHxW)",
        ),
    ],
)
def test_input_the_data_cannot_feed(
    capsys: pytest.CaptureFixture[str], specs: Path, spec: str, message: str
) -> None:
    code, _, err = cli(capsys, "train", str(specs / f"{spec}.arch"), "--out", str(specs / "run"))
    assert (code, err) == (2, f"archspec: error: {message}\n")


def test_non_finite_loss_stops_with_the_step(capsys: pytest.CaptureFixture[str], specs: Path) -> None:
    out = specs / "run"
    code, _, err = train_tiny(capsys, specs, out, "--lr", "1e30", "--warmup", "0", "--momentum", "0")
    assert code == 2
    # Step 1 runs on the initial weights (a finite loss); its update makes every weight ~1e30.
    assert err == (
        "archspec: error: training stopped: the loss is nan at epoch 1, step 2 (learning rate 1e+30); "
        "try a lower learning rate, e.g. --lr 1e+29\n"
    )
    assert not (out / "last.pt").exists()


def test_epoch_sums_fold_windows_and_stop_at_the_first_non_finite_step() -> None:
    # The loop keeps each step's loss on the device and reads a window of them back at once: the sums
    # must be those of every step, and the step reported the first bad one of its window.
    from archspec.errors import UsageError
    from archspec.train.loop import EpochSums

    sums = EpochSums(epoch=3, peak_lr=0.1)
    out, y = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 2.0]]), torch.tensor([1, 1, 1])
    for step, loss in enumerate([0.5, 0.25], 1):
        sums.add(step, 0.1, torch.tensor(loss), out, y)
    sums.fold()
    assert (sums.loss, sums.correct, sums.count) == (0.5 * 3 + 0.25 * 3, 4, 6)
    for step, loss in enumerate([1.0, float("inf"), float("nan")], 3):
        sums.add(step, 0.01 * step, torch.tensor(loss), out[:2], y[:2])
    with pytest.raises(UsageError) as error:
        sums.fold()
    assert str(error.value) == (
        "training stopped: the loss is inf at epoch 3, step 4 (learning rate 0.04); "
        "try a lower learning rate, e.g. --lr 0.01"
    )


@pytest.mark.parametrize("failure", ["disk full", "killed"])
def test_failed_save_keeps_the_previous_checkpoint(
    capsys: pytest.CaptureFixture[str], specs: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    out = specs / "run"
    assert train_tiny(capsys, specs, out, "--epochs", "1")[0] == 0
    before = {name: (out / name).read_bytes() for name in ("last.pt", "best.pt")}
    real_save = torch.save

    def half_then_fail(payload: Any, stream: Any) -> None:
        buffer = io.BytesIO()
        real_save(payload, buffer)
        stream.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        if failure == "killed":
            raise KeyboardInterrupt
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", half_then_fail)
    code, _, err = cli(capsys, "train", "--resume", str(out), "--epochs", "2", "--quiet")
    monkeypatch.undo()
    if failure == "killed":
        assert (code, err) == (130, "")
    else:
        assert code == 2
        assert err in {
            f"archspec: error: cannot save {out / name}: the disk is full; the previous {name} is intact\n"
            for name in ("best.pt", "last.pt")
        }
    assert {name: (out / name).read_bytes() for name in before} == before
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "config.json", "last.pt", "metrics.jsonl"]
    assert torch.load(out / "last.pt", weights_only=True)["epoch"] == 1


def test_usage_errors(capsys: pytest.CaptureFixture[str], specs: Path) -> None:
    out = specs / "run"
    assert train_tiny(capsys, specs, out, "--epochs", "1")[0] == 0
    cases = {
        ("train", "--resume", str(out), "--lr", "0.5"): "cannot change --lr when resuming a run (only "
        "--epochs, --device, --workers and --quiet may change); start a new run with --init-from to reuse "
        "its weights",
        ("train", str(specs / "tiny.arch"), "--out", str(out)): f"{out} already holds a run; continue it "
        f"with --resume {out}, or pick another --out",
        ("train", "--resume", str(specs)): f"--resume {specs}: no last.pt there (nothing to resume)",
        ("train",): "train needs a SPEC (a .arch file or a zoo name), or --resume DIR",
        ("train", str(specs / "tiny.arch"), "--data", "mnist"): "unknown --data 'mnist': use digits, "
        "synthetic or folder:PATH",
        ("train", str(specs / "tiny.arch"), "--epochs", "0"): "--epochs must be at least 1, got 0",
        ("eval", str(specs / "missing.pt")): f"no such checkpoint file: {specs / 'missing.pt'}",
        ("eval", str(specs / "tiny.arch")): f"{specs / 'tiny.arch'}: cannot read it as a torch file (",
        ("train", "lenet5", "--label-smoothing", "0.1", "--out", str(specs / "r2")): "--label-smoothing "
        "applies to cross-entropy, not to the RBF (rbf_map) loss",
    }
    for argv, message in cases.items():
        code, _, err = cli(capsys, *argv)
        assert code == 2, argv
        if message.endswith("("):
            assert err.startswith(f"archspec: error: {message}"), argv
        else:
            assert err == f"archspec: error: {message}\n", argv


# ---------------------------------------------------------------- losses and isolation


def test_rbf_loss_is_equation_9() -> None:
    from archspec.train.losses import rbf_map_loss

    # Two samples, three units. y are the squared distances; the layer outputs -y. j = 1.
    y = torch.tensor([[1.0, 4.0, 9.0], [0.5, 0.25, 2.0]])
    targets = torch.tensor([0, 2])
    import math

    by_hand = [
        1.0 + math.log(math.exp(-1) + math.exp(-1.0) + math.exp(-4.0) + math.exp(-9.0)),
        2.0 + math.log(math.exp(-1) + math.exp(-0.5) + math.exp(-0.25) + math.exp(-2.0)),
    ]
    assert rbf_map_loss(-y, targets).item() == pytest.approx(sum(by_hand) / 2, rel=1e-6)


def test_loss_follows_the_spec(specs: Path) -> None:
    import archspec
    from archspec.train.losses import loss_name

    assert loss_name(archspec.load("lenet5").graph) == "rbf_map"
    assert loss_name(archspec.load("lecun1989").graph) == "cross_entropy"
    declared = TINY.replace("  input:", '  loss: "rbf_map"\n  input:')
    assert loss_name(archspec.load("x.arch", text=declared).graph) == "rbf_map"


def test_parsing_and_analysis_do_not_import_torch() -> None:
    code = (
        "import sys, archspec, archspec.cli\n"
        "archspec.cli.build_parser()\n"
        "archspec.load('lenet5').analyze()\n"
        "import archspec.train.config, archspec.train.commands\n"
        "archspec.train, archspec.evaluate, archspec.predict\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"


@pytest.mark.slow
def test_lenet5_reaches_98_percent_with_the_defaults(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, _ = cli(capsys, "train", "lenet5", "--out", str(tmp_path / "run"), "--quiet")
    assert code == 0
    assert max(r["test_acc"] for r in metrics(tmp_path / "run")) >= 0.98


# ---------------------------------------------------------------- the mutation audit's holes (issue 28)
# Each test below fails on a mutant that survived the suite: label smoothing dropped, the digits
# transposed, the warm-up starting at rate 0, a best checkpoint written on the last epoch.


def test_cross_entropy_is_torch_functional_with_the_smoothing_given() -> None:
    import torch.nn.functional as F

    from archspec.train.losses import make_loss

    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(16, 10, generator=generator) * 3
    targets = torch.randint(0, 10, (16,), generator=generator)
    for smoothing in (0.0, 0.1, 0.3):
        ours = make_loss("cross_entropy", smoothing)(logits, targets)
        oracle = F.cross_entropy(logits, targets, label_smoothing=smoothing)
        assert ours.item() == pytest.approx(oracle.item(), rel=1e-6)
    smoothed = F.cross_entropy(logits, targets, label_smoothing=0.3).item()
    assert smoothed != pytest.approx(F.cross_entropy(logits, targets).item(), rel=1e-3)  # it matters here


def _digits_test_set(shape: tuple[int, int, int]) -> Any:
    from archspec.train.data import digits

    return digits(shape).test


def test_a_run_with_label_smoothing_measures_its_loss_with_it(
    capsys: pytest.CaptureFixture[str], specs: Path
) -> None:
    import torch.nn.functional as F

    from archspec.train.inference import restore

    out = specs / "run"
    assert train_tiny(capsys, specs, out, "--epochs", "1", "--label-smoothing", "0.2")[0] == 0
    [row] = metrics(out)
    model = restore(out / "last.pt", torch.device("cpu")).model
    test = _digits_test_set((1, 8, 8))
    with torch.no_grad():
        logits = model(test.images)
    smoothed = F.cross_entropy(logits, test.labels, label_smoothing=0.2).item()
    plain = F.cross_entropy(logits, test.labels).item()
    assert row["test_loss"] == pytest.approx(smoothed, rel=1e-6)
    assert abs(smoothed - plain) > 0.05 * plain  # far apart: a run that ignored the option would fail
    code, stdout, _ = cli(capsys, "eval", str(out / "last.pt"), "--format", "json")
    assert code == 0 and json.loads(stdout)["loss"] == pytest.approx(smoothed, rel=1e-6)


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 16, 16)])
def test_digits_are_scikit_learns_images_upright(shape: tuple[int, int, int]) -> None:
    from collections import Counter

    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    from archspec.train.data import digits

    bunch = load_digits()
    # The oracle: scikit-learn's (N, 8, 8) array (rows top to bottom), grey levels 0..16 to [-1, 1],
    # resized by torch's bilinear interpolation, channels repeated.
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if shape[1:] != (8, 8):
        images = F.interpolate(images, size=shape[1:], mode="bilinear", align_corners=False)
    expected = (images * 2 - 1).repeat(1, shape[0], 1, 1)

    def pairs(x: torch.Tensor, y: torch.Tensor) -> Counter[tuple[bytes, int]]:
        return Counter((image.numpy().tobytes(), int(label)) for image, label in zip(x, y, strict=True))

    data = digits(shape)
    train, test = data.train, data.test
    assert train.images.shape[1:] == test.images.shape[1:] == shape
    assert len(test) == DIGITS_TEST and len(train) + len(test) == len(bunch.images)
    # Every image with its own label, each exactly once over the two sets.
    assert pairs(train.images, train.labels) + pairs(test.images, test.labels) == pairs(
        expected, torch.tensor(bunch.target)
    )


def test_predict_prepares_an_image_as_the_data_set_did(
    capsys: pytest.CaptureFixture[str], specs: Path
) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    from archspec.train.data import predict_input
    from archspec.train.inference import restore

    out = specs / "run"
    assert train_tiny(capsys, specs, out, "--epochs", "2")[0] == 0
    test = _digits_test_set((1, 8, 8))
    bunch = load_digits()
    sources = torch.tensor(bunch.images, dtype=torch.float32) / 16 * 2 - 1
    paths, rows = [], []
    for row in range(6):
        # The test image's own scikit-learn array, written as an 8-bit PNG (the quantisation is at most
        # half a grey level of 255: 1/255 on the [-1, 1] scale).
        [index] = [i for i in range(len(sources)) if torch.equal(sources[i], test.images[row, 0])][:1]
        pixels = (bunch.images[index] * 255 / 16).round().astype("uint8")
        path = specs / f"test{row}.png"
        Image.fromarray(pixels, mode="L").save(path)
        paths.append(str(path))
        rows.append(row)
        prepared = predict_input(path, {"kind": "digits", "shape": [1, 8, 8]})
        assert (prepared - test.images[row]).abs().max().item() <= 1 / 255 + 1e-6
    code, stdout, _ = cli(
        capsys, "predict", str(out / "last.pt"), *paths, "--top-k", "10", "--format", "json"
    )
    assert code == 0
    model = restore(out / "last.pt", torch.device("cpu")).model
    with torch.no_grad():
        expected = torch.softmax(model(test.images[rows]), dim=1)
    for result, probabilities in zip(json.loads(stdout), expected, strict=True):
        given = torch.zeros(10)
        for top in result["top"]:
            given[top["index"]] = top["probability"]
        assert (given - probabilities).abs().max().item() < 0.02  # the quantisation moves little
        assert result["top"][0]["index"] == int(probabilities.argmax())


def _torch_schedule(
    kind: str, warmup: int, total: int, steps_per_epoch: int, step_epochs: int
) -> list[float]:
    """The multipliers torch's own schedulers give, step by step (the oracle of schedule_factor)."""
    from torch.optim import lr_scheduler

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    after: Any
    if kind == "cosine":
        after = lr_scheduler.CosineAnnealingLR(optimizer, T_max=total - warmup)
    elif kind == "step":
        after = lr_scheduler.StepLR(optimizer, step_size=steps_per_epoch * step_epochs, gamma=0.1)
    else:
        after = lr_scheduler.ConstantLR(optimizer, factor=1.0)
    scheduler: Any = after
    if warmup:
        ramp = lr_scheduler.LinearLR(optimizer, start_factor=1 / warmup, total_iters=warmup - 1)
        scheduler = lr_scheduler.SequentialLR(optimizer, [ramp, after], milestones=[warmup])
    rates = []
    for _ in range(total):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize(
    ("kind", "warmup_epochs"),
    [("cosine", 1.0), ("cosine", 0.5), ("cosine", 0.0), ("none", 2.0), ("step", 0.0)],
)
def test_schedules_by_value_against_torchs_schedulers(kind: str, warmup_epochs: float) -> None:
    from archspec.train.config import TrainConfig
    from archspec.train.loop import schedule_factor

    steps, epochs = 10, 6
    config = TrainConfig(epochs=epochs, schedule=kind, warmup_epochs=warmup_epochs, step_epochs=2)
    factor = schedule_factor(config, steps)
    warmup = round(warmup_epochs * steps)
    ours = [factor(step) for step in range(epochs * steps)]
    assert ours == pytest.approx(_torch_schedule(kind, warmup, epochs * steps, steps, 2), abs=1e-12)
    if warmup:
        assert ours[0] == pytest.approx(1 / warmup)  # the first step already learns: never at rate 0
        assert ours[warmup - 1] == pytest.approx(1.0)


def test_the_rate_of_every_step_of_a_run(
    capsys: pytest.CaptureFixture[str], specs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archspec.train.loop import EpochSums

    rates: list[float] = []
    add = EpochSums.add

    def record(self: EpochSums, step: int, rate: float, *rest: Any) -> None:
        rates.append(rate)
        add(self, step, rate, *rest)

    monkeypatch.setattr(EpochSums, "add", record)
    assert train_tiny(capsys, specs, specs / "run", "--epochs", "2", "--lr", "0.02", "--warmup", "1")[0] == 0
    steps = -(-(1797 - DIGITS_TEST) // 32)  # 45 batches of at most 32 of the 1,438 training images
    expected = [0.02 * f for f in _torch_schedule("cosine", steps, 2 * steps, steps, 10)]
    assert rates == pytest.approx(expected, rel=1e-9)
    assert rates[0] == pytest.approx(0.02 / steps)


def test_best_checkpoint_is_the_best_epochs_not_the_last(
    capsys: pytest.CaptureFixture[str], specs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archspec.train.loop as loop

    accuracies = iter([0.5, 0.75, 0.75, 0.25])  # a tie at epoch 3 does not replace epoch 2
    evaluate = loop.evaluate

    def scripted(*args: Any, **kwargs: Any) -> dict[str, float]:
        # The real evaluation runs (its loader draws from the global generator, as dropout does), then
        # its accuracy is replaced by the script's.
        return {**evaluate(*args, **kwargs), "accuracy": next(accuracies)}

    monkeypatch.setattr(loop, "evaluate", scripted)
    out, two = specs / "run", specs / "two"
    assert train_tiny(capsys, specs, out, "--epochs", "4", "--schedule", "none")[0] == 0
    monkeypatch.undo()
    best = torch.load(out / "best.pt", weights_only=True)
    last = torch.load(out / "last.pt", weights_only=True)
    assert (best["epoch"], best["best_epoch"], best["best_acc"]) == (2, 2, 0.75)
    assert (last["epoch"], last["best_epoch"], last["best_acc"]) == (4, 2, 0.75)
    # best.pt holds the weights after epoch 2: those of the same run stopped after two epochs.
    assert train_tiny(capsys, specs, two, "--epochs", "2", "--schedule", "none")[0] == 0
    assert_same_weights(best["model"], weights(two / "last.pt"))
    assert not torch.equal(best["model"]["fc.weight"], last["model"]["fc.weight"])


# ---------------------------------------------------------------- training from Python (issue 25)


def test_train_from_python_is_the_command(capsys: pytest.CaptureFixture[str], specs: Path) -> None:
    import archspec

    run = archspec.train(specs / "tiny.arch", epochs=2, out=specs / "python", quiet=True, lr=0.02)
    capsys.readouterr()
    assert train_tiny(capsys, specs, specs / "cli", "--epochs", "2", "--lr", "0.02")[0] == 0
    assert_same_weights(weights(run.last_checkpoint), weights(specs / "cli" / "last.pt"))
    assert run.history == metrics(specs / "python")  # the metrics of every epoch, as written
    timeless = [{k: v for k, v in r.items() if k not in ("seconds", "images_per_s")} for r in run.history]
    assert timeless == [
        {k: v for k, v in r.items() if k not in ("seconds", "images_per_s")} for r in metrics(specs / "cli")
    ]
    best = max(r["test_acc"] for r in run.history)
    assert (run.best_acc, run.history[run.best_epoch - 1]["test_acc"]) == (best, best)
    assert (run.out, run.best_checkpoint, run.metrics_file) == (
        specs / "python",
        specs / "python" / "best.pt",
        specs / "python" / "metrics.jsonl",
    )
    assert run.config.lr == 0.02 and run.config.epochs == 2
    # evaluate and predict: what eval and predict print, from the run or from a checkpoint's path.
    code, stdout, _ = cli(capsys, "eval", str(specs / "python" / "best.pt"), "--format", "json")
    assert code == 0 and archspec.evaluate(run) == json.loads(stdout)
    from PIL import Image

    image = specs / "zero.png"
    Image.new("L", (8, 8), 0).save(image)
    code, stdout, _ = cli(capsys, "predict", str(run.best_checkpoint), str(image), "-k", "2", "-f", "json")
    assert code == 0 and archspec.predict(run, image, top_k=2) == json.loads(stdout)
    assert archspec.predict(str(run.last_checkpoint), [image, image], top_k=1)[1]["image"] == str(image)


def test_train_a_loaded_network(capsys: pytest.CaptureFixture[str], specs: Path) -> None:
    import archspec
    from archspec.errors import UsageError

    # A network loaded from text has no file: the run trains it, and its checkpoint rebuilds it.
    network = archspec.load(specs / "nowhere" / "tiny.arch", text=TINY, num_classes=12)
    run = archspec.train(network, "digits", epochs=1, out=specs / "text", quiet=True)
    capsys.readouterr()
    config = json.loads((run.out / "config.json").read_text())
    assert (config["spec_source"], config["spec_overrides"], config["num_classes"]) == (
        TINY,
        {"num_classes": 12},
        10,
    )
    assert weights(run.last_checkpoint)["fc.weight"].shape == (12, 96)  # the parameter given stands
    assert archspec.evaluate(run.last_checkpoint)["accuracy"] == run.history[-1]["test_acc"]
    # The same network from its file gives the same run.
    same = archspec.train(
        specs / "tiny.arch", epochs=1, out=specs / "file", params={"num_classes": 12}, quiet=True
    )
    assert_same_weights(weights(run.last_checkpoint), weights(same.last_checkpoint))
    with pytest.raises(UsageError) as error:
        archspec.train(network, variant="big")
    assert (
        str(error.value) == "a loaded network is one variant at one input shape: give them to archspec.load"
    )
    with pytest.raises(UsageError) as error:
        archspec.predict(run, [], top_k=0)
    assert str(error.value) == "--top-k must be at least 1, got 0"


def test_the_bar_is_drawn_in_a_notebook_with_ipywidgets(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    import rich.console

    from archspec.train import progress

    assert progress.bar_console() is None  # pytest's captured output is no terminal: plain lines
    assert progress.Reporter(quiet=False).bar is None
    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)  # what rich sees in a notebook kernel
    real = importlib.util.find_spec
    for widgets in (True, False):
        monkeypatch.setattr(
            importlib.util,
            "find_spec",
            lambda name, *a, w=widgets: (
                (real("json") if w else None) if name == "ipywidgets" else real(name, *a)
            ),
        )
        console = progress.bar_console()
        assert (console is not None and console.is_jupyter) is widgets
        reporter = progress.Reporter(quiet=False)
        assert (reporter.bar is not None) is widgets
        assert progress.Reporter(quiet=True).bar is None


def test_no_module_imports_the_command_line() -> None:
    # The CLI is a layer over the package: nothing under archspec/ imports archspec.cli (which imports
    # the subcommands' modules), so no import cycle goes through it.
    import ast

    root = Path(__file__).resolve().parents[1] / "archspec"
    importers = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if "archspec.cli" in names:
                importers.append(path.relative_to(root).as_posix())
    assert importers == ["__main__.py"]


def test_train_reads_imports_through_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # `--path` names a folder the spec's imports are searched in; train used to accept it and ignore it.
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "parts.arch").write_text(
        "block Head(classes):\n  flatten\n  fc: linear(classes)\n", encoding="utf-8"
    )
    (tmp_path / "net").mkdir()
    spec = tmp_path / "net" / "net.arch"
    spec.write_text(
        'from "parts.arch" import Head\nnetwork net:\n  input: 1x8x8\n  layers:\n'
        "    conv(4, 3, pad=1) >> relu\n    Head(10)\n",
        encoding="utf-8",
    )
    out = tmp_path / "run"
    argv = ["train", str(spec), "--data", "synthetic", "--epochs", "1", "--out", str(out), "--quiet"]
    code, _, err = cli(capsys, *argv)
    assert (code, err) == (
        1,
        f"{spec}:1:1: error: cannot import 'parts.arch': no such file {spec.parent / 'parts.arch'}\n"
        '   1 | from "parts.arch" import Head\n'
        "       ^\n",
    )
    code, _, err = cli(capsys, *argv, "--path", str(tmp_path / "lib"))
    assert (code, err) == (0, "")
    assert sorted(weights(out / "last.pt")) == ["0.bias", "0.weight", "2.fc.bias", "2.fc.weight"]
    # The checkpoint holds both files' text: a resume needs no --path.
    code, _, err = cli(capsys, "train", "--resume", str(out), "--epochs", "2", "--quiet")
    assert (code, err) == (0, "")
