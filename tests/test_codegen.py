"""Generated source: standalone, same state_dict and outputs as the in-memory build, safe for any spec."""

from __future__ import annotations

import ast
import importlib.util
import itertools
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archspec
from archspec.backends.torch_build import forward_shapes
from archspec.catalog import catalog
from archspec.cli import main
from archspec.ir import Metadata

ROOT = Path(__file__).resolve().parents[1]
ZOO = [variant for entry in catalog() for variant in entry.variants]
FAST = {"lenet5", "lecun1989", "resnet18", "googlenet", "mobilenet_v1", "mobilenet_v2", "vit_b_32"}


@pytest.fixture(autouse=True)
def _threads() -> None:
    torch.set_num_threads(2)


_COUNTER = itertools.count()


def load_source(source: str, directory: Path) -> ModuleType:
    """Import generated source from a file of its own (tests only; a fresh name defeats bytecode caches)."""
    name = f"generated_{next(_COUNTER)}"
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_same_as_in_memory(net: archspec.Network, directory: Path, batch: int = 2) -> None:
    generated = load_source(net.to_source(), directory).build()
    ours = net.build()
    a, b = ours.state_dict(), generated.state_dict()
    assert list(a) == list(b)
    assert all(a[key].shape == b[key].shape for key in a)
    generated.load_state_dict(a, strict=True)
    x = torch.randn(batch, *net.graph.input_shape)
    with torch.no_grad():
        assert torch.allclose(generated.eval()(x), ours.eval()(x), atol=1e-6)


@pytest.mark.parametrize(
    "variant", [v if v in FAST else pytest.param(v, marks=pytest.mark.slow) for v in ZOO]
)
def test_generated_source_matches_the_in_memory_module(variant: str, tmp_path: Path) -> None:
    assert_same_as_in_memory(archspec.load(variant), tmp_path)


def test_resnet50_source_reads_like_torchvision() -> None:
    source = archspec.load("resnet50").to_source()
    assert "class Bottleneck(nn.Module):" in source and "class Bottleneck_2(nn.Module):" in source
    assert "class Bottleneck_3" not in source
    assert "self.downsample = nn.Sequential(" in source
    assert "x = self.layer1(x)  # 256x56x56" in source
    assert "Parameters: 25,557,032." in source and "4,089,184,256" in source
    assert "def build() -> nn.Module:" in source and 'if __name__ == "__main__":' in source
    imports = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert {alias.name.split(".")[0] for n in imports for alias in n.names} | {
        n.module.split(".")[0] for n in imports if isinstance(n, ast.ImportFrom) and n.module
    } <= {"torch", "__future__", "collections", "annotations", "nn", "OrderedDict", "F"}


def test_lenet5_source_carries_its_custom_layers() -> None:
    source = archspec.load("lenet5").to_source()
    for name in (
        "class ConnectionTableConv2d(nn.Module):",
        "class Subsample(nn.Module):",
        "class RBF(nn.Module):",
    ):
        assert name in source
    assert "class PatchEmbed" not in source


def test_generated_file_runs_as_a_script(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    assert main(["compile", "lenet5", "-o", str(path)]) == 0
    result = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "60,000 parameters; output (1, 10)"


def test_compile_leaves_no_file_behind_on_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.py"
    assert main(["compile", "resnet18", "--set", "num_classes=-1", "-o", str(path)]) == 1
    assert list(tmp_path.iterdir()) == []
    assert main(["compile", "lenet5", "-o", str(tmp_path / "missing" / "model.py")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_compile_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", "resnet18", "--set", "num_classes=10", "--input", "3x64x64"]) == 0
    out = capsys.readouterr().out
    assert "self.fc = nn.Linear(512, 10)" in out and "torch.randn(1, 3, 64, 64)" in out


def test_spec_text_cannot_escape_docstrings(tmp_path: Path) -> None:
    net = archspec.load("lenet5")
    hostile = 'x"""\nimport os; os.system("echo pwned")  # \\ \'\'\' \x00'
    meta = Metadata(title=hostile, authors=(hostile,), paper=hostile)
    graph = net.graph.model_copy(update={"metadata": meta, "variant": hostile, "params": {hostile: hostile}})
    source = archspec.Network(graph, net.program).to_source()
    tree = ast.parse(source)
    assert ast.get_docstring(tree) is not None and "pwned" in ast.get_docstring(tree)  # text, not code
    assert not [
        n for n in ast.walk(tree) if isinstance(n, ast.Import) and any(a.name == "os" for a in n.names)
    ]
    load_source(source, tmp_path).build()


# ---------------------------------------------------------------- random specs


@st.composite
def specs(draw: Any) -> str:
    """A small valid spec: chains of conv/bn/relu/pool, residuals, concats, a block, named sequences."""
    size = draw(st.sampled_from([8, 12, 16]))
    channels = draw(st.integers(1, 4))
    lines = ["block Unit(width):", "  conv1: conv(width, 3, pad=1) >> bn: batchnorm >> relu", ""]
    lines += ["network random:", '  title: "random"', f"  input: {channels}x{size}x{size}", "  layers:"]
    width = channels
    for index in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["conv", "bn", "relu", "pool", "residual", "concat", "block", "named"]))
        label = f"l{index}: " if draw(st.booleans()) else ""
        if kind == "conv":
            width, kernel = draw(st.integers(1, 6)), draw(st.sampled_from([1, 3]))
            lines.append(
                f"    {label}conv({width}, {kernel}, pad={kernel // 2}, bias={draw(st.booleans())})".lower()
            )
        elif kind == "bn":
            lines.append(f"    {label}batchnorm")
        elif kind == "relu":
            lines.append(f"    {label}relu")
        elif kind == "pool" and size >= 4:
            size //= 2
            lines.append(f"    {label}{draw(st.sampled_from(['maxpool', 'avgpool']))}(2)")
        elif kind == "residual":
            lines += ["    residual:", f"      conv({width}, 3, pad=1) >> relu"]
            if draw(st.booleans()):
                lines.append(f"      conv({width}, 1)")
        elif kind == "concat":
            a, b = draw(st.integers(1, 4)), draw(st.integers(1, 4))
            lines += ["    concat:", f"      conv({a}, 1)", f"      conv({b}, 3, pad=1) >> relu"]
            width = a + b
        elif kind == "block":
            width = draw(st.integers(1, 5))
            lines.append(f"    u{index}: Unit({width})")
        elif kind == "named":
            width = draw(st.integers(1, 5))
            lines.append(f"    s{index}: (conv({width}, 1) >> relu)")
    lines += ["    global_avgpool >> flatten", "    fc: linear(3)", ""]
    return "\n".join(lines)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=specs())
def test_random_specs_build_and_generate_the_same_module(text: str, tmp_path: Path) -> None:
    net = archspec.load("random.arch", text=text)
    module = net.build().eval()
    shapes = forward_shapes(module, net.graph, torch.randn(2, *net.graph.input_shape))
    assert shapes == {node.id: node.shape for node in net.graph.nodes}
    assert sum(p.numel() for p in module.parameters()) == net.params
    assert_same_as_in_memory(net, tmp_path)


# ---------------------------------------------------------------- module names, as torchvision's


def randomise_statistics(model: torch.nn.Module) -> None:
    """Random batchnorm statistics and affine terms, and random biases: defaults would hide misplaced ones."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            bias = getattr(module, "bias", None)
            if isinstance(bias, torch.nn.Parameter):
                bias.copy_(torch.randn(bias.shape, generator=generator) * 0.1)


# torchvision's blocks call one `relu` module several times; a spec names each use (unnamed ones by
# position), so a block's shared `relu` is the one name torchvision has that archspec's modules lack.
SHARED_RELU = re.compile(r"^layer[1-4]\.[0-9]+\.relu$")

FEATURES = [
    ("resnet18", "layer3"),
    ("mobilenet_v2", "features.13"),
    ("vit_b_32", "encoder"),
    pytest.param("resnet50", "layer3", marks=pytest.mark.slow),
    pytest.param("vgg16", "features.13", marks=pytest.mark.slow),
    pytest.param("vit_b_16", "encoder", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("variant", "target"), FEATURES)
def test_feature_extractor_sees_torchvision_names(variant: str, target: str, tmp_path: Path) -> None:
    from torchvision import models
    from torchvision.models.feature_extraction import create_feature_extractor

    torch.manual_seed(0)
    theirs = getattr(models, variant)(weights=None).eval()
    randomise_statistics(theirs)
    net = archspec.load(variant)
    built = net.build().eval()
    compiled = load_source(net.to_source(), tmp_path).build().eval()
    for model in (built, compiled):
        model.load_state_dict(theirs.state_dict(), strict=True)

    names = {name for name, _ in theirs.named_modules()}
    for model in (built, compiled):
        missing = {n for n in names - {name for name, _ in model.named_modules()} if not SHARED_RELU.match(n)}
        assert missing == set()

    x = torch.randn(2, *net.graph.input_shape)
    with torch.no_grad():
        expected = create_feature_extractor(theirs, {target: "c"})(x)["c"]
        for model in (built, compiled):
            actual = create_feature_extractor(model, {target: "c"})(x)["c"]
            assert actual.shape == expected.shape
            scale = expected.abs().max()
            assert (actual - expected).abs().max() <= 1e-5 * scale


@pytest.mark.parametrize("variant", ZOO)
def test_source_has_type_hints_and_pep8_network_class(variant: str) -> None:
    tree = ast.parse(archspec.load(variant).to_source())
    methods = [
        f
        for c in tree.body
        if isinstance(c, ast.ClassDef)
        for f in c.body
        if isinstance(f, ast.FunctionDef) and f.name in ("__init__", "forward")
    ]
    assert methods
    for f in methods:
        assert f.returns is not None, f"{f.name} at line {f.lineno} has no return type"
        assert all(a.annotation is not None for a in [*f.args.args[1:], *f.args.kwonlyargs]), f.lineno
    network = [c.name for c in tree.body if isinstance(c, ast.ClassDef)][-1]
    assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", network), network
    assert "F.dropout(" not in ast.unparse(tree)  # dropout layers are nn.Dropout modules (a p=0.0 one too)


def test_network_class_names_by_hand() -> None:
    for variant, name in (("vit_b_16", "VitB16"), ("mobilenet_v2", "MobilenetV2"), ("resnet50", "Resnet50")):
        assert f"\nclass {name}(nn.Module):\n" in archspec.load(variant).to_source()


def test_every_variant_passes_pyflakes(tmp_path: Path) -> None:
    # One ruff run over every zoo variant's file: no unused import (`F` only where a functional call is
    # written), no undefined name. The rest of ruff's rules and its formatter are not met yet.
    for variant in ZOO:
        (tmp_path / f"{variant}.py").write_text(archspec.load(variant).to_source(), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F,E9", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
