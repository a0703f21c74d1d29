"""What training and prediction say when a user's run goes wrong silently (issue 22): a digit of dark ink
on light paper given to `predict`, a run stuck at chance or diverging.

Oracles: the same digits drawn white on black (what the network learnt), ln(number of classes) as the
loss of a uniform guess, scikit-learn's digits."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from archspec.cli import main

TINY = """\
network tiny:
  input: 1x8x8
  layers:
    conv(6, 3, pad=1) >> relu
    flatten
    fc: linear(10)
"""


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def one_thread() -> object:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_predict_warns_of_dark_ink_and_inverts_on_request(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    (tmp_path / "tiny.arch").write_text(TINY, encoding="utf-8")
    out = tmp_path / "run"
    assert cli(capsys, "train", str(tmp_path / "tiny.arch"), "--out", str(out), "--epochs", "2", "-q")[0] == 0
    digits = load_digits()
    white, dark = [], []
    for i in range(3):
        pixels = (digits.images[i] * 255 / 16).round().astype("uint8")
        Image.fromarray(pixels, mode="L").save(tmp_path / f"white{i}.png")
        Image.fromarray(255 - pixels, mode="L").save(tmp_path / f"dark{i}.png")
        white.append(str(tmp_path / f"white{i}.png"))
        dark.append(str(tmp_path / f"dark{i}.png"))
    checkpoint = str(out / "best.pt")
    code, stdout, stderr = cli(capsys, "predict", checkpoint, *white, "-f", "json")
    assert code == 0 and stderr == ""
    expected = [r["top"] for r in json.loads(stdout)]
    code, _, stderr = cli(capsys, "predict", checkpoint, *dark)
    assert code == 0
    assert stderr.splitlines() == [
        f"warning: {path} looks like dark ink on light paper (its border is brighter than its centre); "
        "the network learnt the digits' white ink on black: pass --invert"
        for path in dark
    ]
    code, stdout, stderr = cli(capsys, "predict", checkpoint, *dark, "--invert", "-f", "json")
    assert code == 0 and stderr == ""
    inverted = [r["top"] for r in json.loads(stdout)]
    for got, want in zip(inverted, expected, strict=True):
        assert [t["index"] for t in got] == [t["index"] for t in want]
        assert [t["probability"] for t in got] == pytest.approx([t["probability"] for t in want], rel=1e-5)


def test_predict_help_states_the_ink_convention(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "white ink on a black background" in text and "--invert" in text


# A network whose output cannot depend on its input (dropout(1.0) zeroes it while training): it can only
# learn the class frequencies, the loss of a uniform guess over the digits' 10 balanced classes.
DEAD = """\
network dead:
  input: 1x8x8
  layers:
    dropout(1.0)
    flatten
    linear(10)
"""


def test_a_run_stuck_at_chance_says_so_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "dead.arch").write_text(DEAD, encoding="utf-8")
    argv = ["train", str(tmp_path / "dead.arch"), "--out", str(tmp_path / "run"), "--epochs", "3", "-q"]
    code, _, stderr = cli(capsys, *argv)
    assert code == 0
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(abs(r["train_loss"] - math.log(10)) < 0.05 for r in rows)  # the oracle: ln(10)
    second = rows[1]
    assert stderr == (
        f"warning: training is stuck at chance: train loss {second['train_loss']:.4f} ≈ ln(10) = 2.3026, "
        f"the loss of a uniform guess, and train accuracy {second['train_acc']:.1%} for 2 epochs: the "
        "outputs no longer depend on the input. The likely cause is too high a learning rate; try --lr "
        "0.001 (or, if the loss never moved, a higher one)\n"
    )  # no ReLU, no tanh: the warning names no mechanism the network does not have


def test_a_stuck_tanh_network_is_not_told_its_relus_died(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = DEAD.replace("    linear(10)\n", "    linear(16)\n    tanh\n    linear(10)\n")
    (tmp_path / "dead.arch").write_text(spec, encoding="utf-8")
    argv = ["train", str(tmp_path / "dead.arch"), "--out", str(tmp_path / "run"), "--epochs", "2", "-q"]
    code, _, stderr = cli(capsys, *argv)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert code == 0 and abs(rows[1]["train_loss"] - math.log(10)) < 0.05  # the oracle: ln(10)
    assert stderr == (
        f"warning: training is stuck at chance: train loss {rows[1]['train_loss']:.4f} ≈ ln(10) = 2.3026, "
        f"the loss of a uniform guess, and train accuracy {rows[1]['train_acc']:.1%} for 2 epochs: the "
        "outputs no longer depend on the input. The likely cause is too high a learning rate (the first "
        "steps saturated the tanh units); try --lr 0.001 (or, if the loss never moved, a higher one)\n"
    )


def test_the_stuck_warning_names_the_mechanism_of_the_networks_activations() -> None:
    from archspec.train.health import run_warning

    at_chance = [{"train_loss": math.log(10), "train_acc": 0.1}] * 2
    head = (
        "training is stuck at chance: train loss 2.3026 ≈ ln(10) = 2.3026, the loss of a uniform guess, and "
        "train accuracy 10.0% for 2 epochs: the outputs no longer depend on the input. The likely cause is "
        "too high a learning rate"
    )
    tail = "; try --lr 0.01 (or, if the loss never moved, a higher one)"
    expected = {
        ("conv2d", "relu", "linear"): " (the first steps killed the ReLUs)",
        ("relu6", "sigmoid"): " (the first steps killed the ReLUs)",  # dead ReLUs are the likelier
        ("scaled_tanh", "linear"): " (the first steps saturated the tanh units)",
        ("tanh", "sigmoid"): " (the first steps saturated the tanh and sigmoid units)",
        ("hardsigmoid",): " (the first steps saturated the sigmoid units)",
        ("gelu", "linear"): "",
        (): "",
    }
    for kinds, mechanism in expected.items():
        assert run_warning(at_chance, 10, "cross_entropy", 0.1, set(kinds)) == head + mechanism + tail, kinds


def test_a_run_that_learns_is_not_warned(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "tiny.arch").write_text(TINY, encoding="utf-8")
    argv = ["train", str(tmp_path / "tiny.arch"), "--out", str(tmp_path / "run"), "--epochs", "3", "-q"]
    assert cli(capsys, *argv)[2] == ""


def test_a_rising_loss_is_called_diverging() -> None:
    from archspec.train.health import run_warning

    def history(losses: list[float]) -> list[dict[str, float]]:
        return [{"train_loss": loss, "train_acc": 0.5} for loss in losses]

    assert run_warning(history([1.0, 0.6, 0.9, 1.4]), 10, "cross_entropy", 0.1) is None  # rose twice
    assert run_warning(history([1.0, 0.6, 0.9, 1.1, 1.5]), 10, "cross_entropy", 0.1) == (
        "training is diverging: the train loss rose for 3 epochs in a row (0.6000, 0.9000, 1.1000, "
        "1.5000). The likely cause is too high a learning rate; try --lr 0.01"
    )
    assert run_warning(history([1.0, 0.6, 0.9, 1.1, 1.5, 1.7]), 10, "cross_entropy", 0.1) is None  # once
    # A converged run's loss that wobbles up is not diverging: three rises, but by little.
    assert run_warning(history([0.0009, 0.0007, 0.0008, 0.0009, 0.0015]), 10, "cross_entropy", 0.1) is None
    assert run_warning(history([1.0, 0.8, 0.85, 0.9, 0.95]), 10, "cross_entropy", 0.1) is None
    # LeNet-5's RBF loss has no ln(classes) chance level: only the divergence rule applies to it.
    at_chance = [{"train_loss": math.log(10), "train_acc": 0.1}] * 2
    assert run_warning(at_chance, 10, "rbf_map", 0.1) is None
    assert run_warning(at_chance, 10, "cross_entropy", 0.1) is not None
