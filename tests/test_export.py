"""archspec export: ONNX and pt2 files that compute what the network computes.

Oracles: torchvision's resnet18 (its own module and state_dict, random-initialised, no download) run on
the same input as the exported ONNX file under onnxruntime; the PyTorch module archspec builds, run on a
batch size the file was not traced with (the dynamic axis); onnx's own graph reader for the input's axes
and node names; hand-written expected messages. Small models and inputs in the fast step (both
formats); each zoo spec's default variant in ONNX at its own input size in the slow step, and every
variant in both formats with ARCHSPEC_EXPORT_ALL=1 (`make export-check`: about 50 exports, too long for
CI on 2 cores).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import archspec
from archspec import export as export_module
from archspec.api import variants_of
from archspec.cli import main

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

ZOO = Path(archspec.__file__).parent / "zoo"
SMALL = ["lenet5", "lecun1989"]  # exported at their own input size in the fast step
# Large networks exported at a small input in the fast step (their pooling adapts to the size).
SMALL_INPUT = {"resnet18": "3x64x64", "mobilenet_v2": "3x64x64", "mobilenet_v1": "3x64x64"}
TINY = """\
network tiny:
  input: 1x8x8
  layers:
    conv1: conv(4, 3, pad=1) >> relu
    maxpool(2)
    flatten
    fc: linear(10)
"""


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # two shared cores: an export check is no benchmark
    yield
    torch.set_num_threads(before)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_onnx(path: Path, x: torch.Tensor) -> torch.Tensor:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (name,) = [i.name for i in session.get_inputs()]
    return torch.from_numpy(session.run(None, {name: x.numpy()})[0])


def assert_close(actual: torch.Tensor, expected: torch.Tensor, rtol: float = 1e-4) -> None:
    scale = float(expected.abs().max())
    assert scale > 0
    assert float((actual - expected).abs().max()) <= rtol * scale


def module_with_weights(
    name: str, weights: Path, input_shape: tuple[int, ...] | None = None
) -> torch.nn.Module:
    return archspec.load(name, input_shape=input_shape).build(weights=weights).eval()


def saved_state(module: torch.nn.Module, path: Path) -> Path:
    torch.save(module.state_dict(), path)
    return path


@pytest.mark.parametrize("name", SMALL)
def test_small_zoo_onnx_matches_the_module_on_another_batch(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = archspec.load(name).build()  # any weights: they go in through --weights
    weights = saved_state(reference, tmp_path / "w.pt")
    out = tmp_path / f"{name}.onnx"
    code, stdout, err = cli(
        capsys, "export", name, "--format", "onnx", "-o", str(out), "--weights", str(weights)
    )
    assert code == 0, err
    assert stdout == ""
    assert re.fullmatch(
        rf"wrote {re.escape(str(out))} \(onnx, batch dynamic\); checked with onnxruntime: largest difference "
        r"\S+ \(output scale \S+\)\n",
        err,
    )
    graph = onnx.load(str(out)).graph
    batch_axis = graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_axis.dim_param == "batch" and not batch_axis.HasField("dim_value")
    x = torch.randn(5, *archspec.load(name).graph.input_shape)
    with torch.no_grad():
        assert_close(run_onnx(out, x), module_with_weights(name, weights)(x))


def test_lenet5_node_names_follow_the_spec_layers(tmp_path: Path) -> None:
    out = tmp_path / "lenet5.onnx"
    archspec.load("lenet5").export(out)
    names = [node.name for node in onnx.load(str(out)).graph.node]
    for layer in ("C1", "S2", "C3", "S4", "C5", "F6"):  # LeNet-5's names, as the spec writes them
        assert any(name.startswith(f"/{layer}/") for name in names), layer


@pytest.mark.parametrize("name", SMALL)
def test_small_zoo_pt2_matches_the_module_on_another_batch(name: str, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.pt2"
    result = archspec.load(name).export(out, "pt2", seed=3)
    assert result.path == out and result.batch is None
    torch.manual_seed(3)  # the fresh initialisation --seed 3 gives
    module = archspec.load(name).build().eval()
    x = torch.randn(4, *archspec.load(name).graph.input_shape)
    loaded = torch.export.load(str(out)).module()
    with torch.no_grad():
        assert_close(loaded(x), module(x))


def test_torchvision_resnet18_weights_give_torchvisions_outputs(tmp_path: Path) -> None:
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    reference = torchvision.models.resnet18().eval()  # random weights: torchvision's format, no download
    weights = saved_state(reference, tmp_path / "resnet18.pth")
    out = tmp_path / "resnet18.onnx"
    assert (
        main(
            [
                "export",
                "resnet18",
                "--input",
                "3x64x64",
                "-f",
                "onnx",
                "-o",
                str(out),
                "--weights",
                str(weights),
            ]
        )
        == 0
    )
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert_close(run_onnx(out, x), reference(x))
    names = [node.name for node in onnx.load(str(out)).graph.node]
    assert any(name.startswith("/layer1/layer1.0/conv1/") for name in names)


@pytest.mark.parametrize("name", sorted(SMALL_INPUT))
def test_larger_zoo_at_a_small_input(name: str, tmp_path: Path) -> None:
    shape = tuple(int(d) for d in SMALL_INPUT[name].split("x"))
    network = archspec.load(name, input_shape=shape)
    out = tmp_path / f"{name}.onnx"
    network.export(out, batch=2)
    torch.manual_seed(0)
    module = network.build().eval()
    x = torch.randn(2, *shape)
    with torch.no_grad():
        assert_close(run_onnx(out, x), module(x))
    dims = onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [2, *shape]  # --batch 2: a fixed axis


def test_archspec_checkpoint_weights(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.arch"
    spec.write_text(TINY, encoding="utf-8")
    run = archspec.train(spec, "digits", epochs=1, out=tmp_path / "run", quiet=True)
    out = tmp_path / "tiny.onnx"
    archspec.load(spec).export(out, weights=run.last_checkpoint)
    module = archspec.load(spec).build(weights=run.last_checkpoint).eval()
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        assert_close(run_onnx(out, x), module(x))


def test_a_file_that_computes_otherwise_is_an_error_and_not_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "tiny.arch"
    spec.write_text(TINY, encoding="utf-8")
    out = tmp_path / "tiny.onnx"
    out.write_bytes(b"kept")
    monkeypatch.setattr(export_module, "RTOL", -1.0)  # no difference is small enough
    code, _, err = cli(capsys, "export", str(spec), "--format", "onnx", "-o", str(out))
    assert code == 2
    assert re.fullmatch(
        r"archspec: error: the exported onnx file does not compute what tiny computes: its output differs "
        r"by up to \S+ \(the output's scale is \S+; at most -1 of it is allowed\); "
        rf"{re.escape(str(out))} was not written\n",
        err,
    )
    assert out.read_bytes() == b"kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.arch", "tiny.onnx"]  # no temporary left


def test_bad_format(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = cli(capsys, "export", "lenet5", "--format", "tflite", "-o", str(tmp_path / "x"))
    assert code == 2
    assert err == (
        "archspec: error: argument --format/-f: invalid choice: 'tflite' (choose from 'onnx', 'pt2')\n"
        "(see `archspec export --help`)\n"
    )


def test_missing_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "export", "lenet5", "--format", "onnx")
    assert code == 2
    assert err == (
        "archspec: error: the following arguments are required: --output/-o\n(see `archspec export --help`)\n"
    )


def test_bad_batch(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = cli(capsys, "export", "lenet5", "-f", "onnx", "-o", str(tmp_path / "x"), "--batch", "0")
    assert code == 2
    assert err == "archspec: error: --batch: expected 'dynamic' or a positive integer, got '0'\n"


def test_weights_that_are_not_a_state_dict(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    weights = tmp_path / "w.pt"
    torch.save({"epoch": 3}, weights)
    out = tmp_path / "x.onnx"
    code, _, err = cli(capsys, "export", "lenet5", "-f", "onnx", "-o", str(out), "--weights", str(weights))
    assert code == 2
    assert err == f"archspec: error: {weights}: not a state_dict (a mapping of parameter names to tensors)\n"
    assert not out.exists()


def test_weights_that_do_not_fit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    state = archspec.load("lenet5").build().state_dict()
    del state["C1.bias"]
    weights = tmp_path / "w.pt"
    torch.save(state, weights)
    out = tmp_path / "x.pt2"
    code, _, err = cli(capsys, "export", "lenet5", "-f", "pt2", "-o", str(out), "--weights", str(weights))
    assert code == 2
    assert err == (
        f"archspec: error: {weights} does not fit lenet5 (keys and shapes must match exactly):\n"
        "  missing from the file (1):\n"
        "    C1.bias [6]\n"
    )
    assert not out.exists()


def test_missing_weights_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "none.pt"
    code, _, err = cli(
        capsys, "export", "lenet5", "-f", "onnx", "-o", str(tmp_path / "x"), "--weights", str(missing)
    )
    assert code == 2
    assert err == f"archspec: error: no such weights file: {missing}\n"


# Exported at full size with torchvision's weights and compared with torchvision in the slow step
# (test_torchvision_weights_at_full_size): one large network (vit_b_16) among them.
FULL_SIZE = ["resnet18", "vit_b_16", "swin_t"]


def zoo_variants() -> list[str]:
    """Every zoo variant with ARCHSPEC_EXPORT_ALL=1, else each spec's default (first) variant but those of
    ``FULL_SIZE``, which the slow step exports already (ONNX, against torchvision: the stronger check;
    exporting them twice cost a third of this file's slow step)."""
    every = os.environ.get("ARCHSPEC_EXPORT_ALL") == "1"
    chosen = [v for spec in sorted(ZOO.glob("*.arch")) for v in variants_of(spec)[: None if every else 1]]
    return chosen if every else [v for v in chosen if v not in FULL_SIZE]


# pt2 of the large variants only with ARCHSPEC_EXPORT_ALL=1: the fast step checks pt2 on the small ones.
EXPORT_FORMATS = ["onnx", "pt2"] if os.environ.get("ARCHSPEC_EXPORT_ALL") == "1" else ["onnx"]


@pytest.mark.slow
@pytest.mark.parametrize("variant", zoo_variants())
@pytest.mark.parametrize("format", EXPORT_FORMATS)
def test_every_zoo_variant_exports(variant: str, format: str, tmp_path: Path) -> None:
    """The export's own check runs the file on another batch size and compares with the module."""
    result = archspec.load(variant).export(tmp_path / f"{variant}.{format}", format)
    assert result.max_difference <= export_module.RTOL * result.output_scale


@pytest.mark.slow
@pytest.mark.parametrize("name", FULL_SIZE)
def test_torchvision_weights_at_full_size(name: str, tmp_path: Path) -> None:
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)().eval()
    with torch.no_grad():  # vit's head starts at zero: its outputs would all be 0 and compare nothing
        for parameter in reference.parameters():
            if not parameter.any():
                parameter.normal_(std=0.02)
    weights = saved_state(reference, tmp_path / f"{name}.pth")
    out = tmp_path / f"{name}.onnx"
    archspec.load(name).export(out, weights=weights)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        expected = reference(x)
    assert_close(run_onnx(out, x), expected, rtol=1e-3)
    assert np.isfinite(expected.numpy()).all()


def test_onnx_without_onnxruntime(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "onnxruntime" else real(name)
    )
    code, _, err = cli(capsys, "export", "lenet5", "-f", "onnx", "-o", str(tmp_path / "x.onnx"))
    assert code == 2
    assert err == (
        "archspec: error: --format onnx needs onnxruntime: pip install 'archspec[export]' "
        "(--format pt2 needs only torch)\n"
    )
    assert not (tmp_path / "x.onnx").exists()


PARTIAL_BIAS = """\
network partial_bias:
  input: 3x8x8
  layers:
    flatten
    qkv: linear(48, bias=[true, false, true])
    relu
    fc: linear(10)
"""


def test_partial_bias_linear_exports_to_onnx_without_the_left_out_bias(tmp_path: Path) -> None:
    """``linear(bias=[true, false, true])`` (PartialBiasLinear, computed with ``torch.cat`` of the bias
    chunks) under ONNX: onnxruntime computes the module's outputs and the layer written out by hand, with
    a middle third of the bias that holds numbers but is not added."""
    spec = tmp_path / "partial_bias.arch"
    spec.write_text(PARTIAL_BIAS, encoding="utf-8")
    torch.manual_seed(0)
    module = archspec.load(spec).build().eval()
    with torch.no_grad():
        module.qkv.bias.uniform_(1.0, 2.0)  # the left-out chunk too: were it added, the outputs would differ
    weights = saved_state(module, tmp_path / "w.pt")
    out = tmp_path / "partial_bias.onnx"
    archspec.load(spec).export(out, weights=weights)
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    bias = module.qkv.bias.detach().clone()
    bias[16:32] = 0
    hidden = torch.relu(x.flatten(1) @ module.qkv.weight.detach().T + bias)
    by_hand = hidden @ module.fc.weight.detach().T + module.fc.bias.detach()
    with torch.no_grad():
        assert_close(run_onnx(out, x), module(x))
        assert_close(run_onnx(out, x), by_hand)
