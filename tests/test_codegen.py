"""Generated source: standalone, same state_dict and outputs as the in-memory build, safe for any spec."""

from __future__ import annotations

import ast
import inspect
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracles import assert_same_outputs, load_source, randomise

import archspec
from archspec.backends.codegen import root_class_name
from archspec.backends.torch_build import forward_shapes
from archspec.catalog import catalog
from archspec.cli import main
from archspec.ir import Metadata

ROOT = Path(__file__).resolve().parents[1]
ZOO = [variant for entry in catalog() for variant in entry.variants]
FAST = {
    *("lenet5", "lecun1989", "resnet18", "googlenet", "mobilenet_v1", "mobilenet_v2", "vit_b_32"),
    "mobilenet_v3_large",
}


def assert_same_as_in_memory(net: archspec.Network, directory: Path, batch: int = 2) -> None:
    """Same state_dict keys and shapes; with the in-memory module's weights randomised (real numbers in
    every tensor) and loaded into the generated one, the same outputs bit for bit (the same kernels)."""
    generated = load_source(net.to_source(), directory).build()
    ours = randomise(net.build()).eval()
    a, b = ours.state_dict(), generated.state_dict()
    assert list(a) == list(b)
    assert all(a[key].shape == b[key].shape for key in a)
    generated.load_state_dict(a, strict=True)
    x = torch.randn(batch, *net.graph.input_shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert_same_outputs(generated.eval()(x), ours(x), exact=True)


@pytest.mark.parametrize(
    "variant", [v if v in FAST else pytest.param(v, marks=pytest.mark.slow) for v in ZOO]
)
def test_generated_source_matches_the_in_memory_module(variant: str, tmp_path: Path) -> None:
    assert_same_as_in_memory(archspec.load(variant), tmp_path)


def test_resnet50_source_reads_like_torchvision() -> None:
    source = archspec.load("resnet50").to_source()
    # One class for every Bottleneck, with torchvision's optional downsample and its arguments
    # (inplanes, planes, stride, downsample): the output width is four times the inner one in every
    # instance, so it is computed (torchvision's `planes * self.expansion`), not passed.
    assert "class Bottleneck(nn.Module):" in source and "class Bottleneck_2" not in source
    assert (
        "    def __init__(\n"
        "        self, in_channels: int, width: int, stride: int = 1, downsample: bool = False\n"
        "    ) -> None:\n"
        "        super().__init__()\n"
        "        out_channels = width * 4\n"
        "        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=1, bias=False)\n"
    ) in source
    assert "        self.conv3 = nn.Conv2d(width, out_channels, kernel_size=1, bias=False)\n" in source
    assert "        self.downsample = (\n            nn.Sequential(\n" in source
    assert "            if downsample\n            else None\n        )\n" in source
    assert "h1 = self.downsample(inp) if self.downsample is not None else inp  # 256x56x56" in source
    assert "Bottleneck(in_channels=64, width=64, downsample=True)," in source
    assert "Bottleneck(in_channels=256, width=128, stride=2, downsample=True)," in source
    assert "*[Bottleneck(in_channels=1024, width=256) for _ in range(5)]," in source
    assert "x = self.layer1(x)  # 256x56x56" in source
    assert "Parameters: 25,557,032." in source and "4,089,184,256" in source
    assert "def build(num_classes: int = 1000) -> nn.Module:" in source
    assert "self.fc = nn.Linear(2048, num_classes)" in source and 'if __name__ == "__main__":' in source
    # torchvision's `for m in self.modules(): if isinstance(m, nn.Conv2d): ...`, not a list of 106 names.
    assert (
        "    for module in model.modules():\n"
        "        if isinstance(module, nn.Conv2d):\n"
        '            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")\n'
        "        elif isinstance(module, nn.BatchNorm2d):\n"
        "            nn.init.ones_(module.weight)\n"
        "            nn.init.zeros_(module.bias)\n\n\n"
    ) in source
    assert "def init_" not in source.replace("def init_weights", "") and "parameters_of" not in source
    imports = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert {alias.name.split(".")[0] for n in imports for alias in n.names} | {
        n.module.split(".")[0] for n in imports if isinstance(n, ast.ImportFrom) and n.module
    } <= {"torch", "__future__", "collections", "annotations", "nn", "OrderedDict", "F"}


def test_mobilenet_v2_residual_is_a_flag_of_one_class() -> None:
    source = archspec.load("mobilenet_v2").to_source()
    # features.1 has no expansion layer (another structure); every other unit is one class.
    assert "class InvertedResidual(nn.Module):" in source and "class InvertedResidual_3" not in source
    assert "out_channels: int, stride: int = 1, residual: bool = False\n    ) -> None:\n" in source
    assert "        self.residual = residual\n" in source
    assert "        x = x + inp if self.residual else x  # 24x56x56\n" in source
    # Every unit of this class expands by 6 (Table 2's t): the hidden width is computed, not passed.
    assert "        width = in_channels * 6\n" in source
    assert "InvertedResidual_2(in_channels=16, out_channels=24, stride=2)," in source
    assert "InvertedResidual_2(in_channels=24, out_channels=24, residual=True)," in source


DERIVED = """
block CNBlock(dim):
  block: (conv(dim, 3, pad=1, groups=dim) >> permute([1, 2, 0])
          >> linear(4 * dim, dim=-1) >> relu >> linear(dim, dim=-1) >> permute([2, 0, 1]))
  layer_scale: layer_scale(1e-6, dim=0)
  add from input, layer_scale

network stages:
  input: 3x32x32
  layers:
    conv(8, 4, stride=4)
    for width in [{widths}]:
      conv(width, 1) >> CNBlock(width)
"""


@pytest.mark.parametrize(
    ("widths", "signature"),
    [
        ("8, 16, 32", "def __init__(self, width: int) -> None:"),
        # Two widths could agree on `* 4` by chance: too little to take the relation for the class's.
        ("8, 16, 16", "def __init__(self, width: int, out_features: int, shape: tuple[int, int, int])"),
    ],
)
def test_a_parameter_that_follows_from_another_is_computed(
    widths: str, signature: str, tmp_path: Path
) -> None:
    """A block's value that is a fixed multiple of another in every instance (the MLP's `4 * dim`, the
    layer scale's `dim x 1 x 1`) is computed in `__init__` once three distinct values show it, as
    torchvision's ConvNeXt writes `4 * dim`; the file builds what the spec builds."""
    net = archspec.load("t.arch", text=DERIVED.format(widths=widths))
    source = net.to_source()
    assert signature in source
    if widths == "8, 16, 32":
        assert "        out_features = width * 4\n" in source  # in the class of the block's `block:`
        assert "        shape = (width, 1, 1)\n" in source
        assert "CNBlock(width=16)" in source
    assert_same_as_in_memory(net, tmp_path)


OPTIONAL = """
block Unit(width, eps=0.0, p=0.0):
  residual:
    conv(width, 3, pad=1)
    if eps > 0:
      norm: batchnorm(eps=eps)
    if p > 0:
      dropout(p)
  relu

network units:
  input: 4x8x8
  layers:
    Unit(4) >> Unit(4, {first}) >> Unit(4, {second}) >> Unit(4)
"""


@pytest.mark.parametrize(
    ("first", "second", "classes", "lines"),
    [
        # The same norm layer in each unit that has it: one class, the layer behind a flag.
        (
            "eps=0.001",
            "eps=0.001",
            ["Unit"],
            [
                "    def __init__(self, norm: bool = False) -> None:",
                "        self.norm = nn.BatchNorm2d(4, eps=0.001) if norm else None",
                "        x = self.norm(x) if self.norm is not None else x  # 4x8x8",
                '        self.add_module("1", Unit(norm=True))',
                '        self.add_module("3", Unit())',
            ],
        ),
        # Its eps differs between the units that have it and is used nowhere else: the units without
        # it could not be given one, so they stay a class of their own.
        (
            "eps=0.001",
            "eps=0.01",
            ["Unit", "Unit_2"],
            [
                "    def __init__(self, eps: float = 1e-05) -> None:",
                '        self.add_module("2", Unit_2(eps=0.01))',
            ],
        ),
        # A functional step (dropout, written in forward) behind a flag the module keeps.
        (
            "p=0.5",
            "p=0.5",
            ["Unit"],
            [
                "    def __init__(self, with_dropout: bool = False) -> None:",
                "        self.with_dropout = with_dropout",
                "        x = F.dropout(x, 0.5, self.training) if self.with_dropout else x  # 4x8x8",
            ],
        ),
    ],
)
def test_an_optional_step_merges_only_when_every_argument_is_known(
    first: str, second: str, classes: list[str], lines: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "units.arch"
    path.write_text(OPTIONAL.format(first=first, second=second))
    net = archspec.load(path)
    source = net.to_source()
    defined = [n.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ClassDef)]
    assert defined == [*classes, "Units"]
    for line in lines:
        assert line in source.splitlines()
    assert_same_as_in_memory(net, tmp_path)


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
    assert "def build(num_classes: int = 10) -> nn.Module:" in out
    assert "self.fc = nn.Linear(512, num_classes)" in out and "torch.randn(1, 3, 64, 64)" in out


def test_parameters_become_arguments_only_for_the_graph_the_spec_elaborates() -> None:
    """An argument must build what the spec would with that value: a graph edited by hand (here only its
    title) is not what the spec elaborates, so its file keeps the values it was given."""
    net = archspec.load("lenet5")
    builds = [line for line in net.to_source().splitlines() if line.startswith("def build(")]
    assert builds == ["def build(num_classes: int = 10) -> nn.Module:"]
    edited = net.graph.model_copy(update={"metadata": net.graph.metadata.model_copy(update={"title": "x"})})
    source = archspec.Network(edited, net.program).to_source()
    assert [line for line in source.splitlines() if line.startswith("def build(")] == [
        "def build() -> nn.Module:"
    ]


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


MODERN = """
block Shuffle():
  x1: chunk(2, 0)
  x2: chunk(2, 1) from input
  b: conv(4, 3, pad=1) from x2
  concat from x1, b
  channel_shuffle(2)
  part: split([3, 5], 1)
  concat from part, part

block SE(squeeze):
  avgpool: global_avgpool
  fc1: conv(squeeze, 1) >> silu
  fc2: conv(in_channels, 1) >> hardsigmoid
  mul from input, fc2

block Block(drop):
  residual:
    conv(8, 3, pad=1) >> batchnorm >> hardswish
    se: SE(2)
    sd: stochastic_depth(drop)

network modern:
  input: 8x6x6
  layers:
    for i in range(3):
      Block(0.5 * i / 3)
    gated:
      mul:
        conv(8, 1) >> sigmoid
        silu
    shuffle: Shuffle()
    permute([1, 2, 0]) >> layernorm(dim=-1) >> linear(8, dim=-1) >> permute([2, 0, 1])
    norm: layernorm(dim=0) >> scale: layer_scale(0.5, dim=0)
    global_avgpool >> flatten
"""


def test_modern_ops_generate_the_same_module_in_training_too(tmp_path: Path) -> None:
    """silu, hardswish, hardsigmoid, mul (a broadcast gate), stochastic depth, chunk, split, channel
    shuffle, permute, per-pixel linear, layer norms and layer_scale: the generated file equals the in-memory
    module at inference, and in training with the same seed (the same rows are dropped)."""
    net = archspec.load("modern.arch", text=MODERN)
    assert_same_as_in_memory(net, tmp_path, batch=16)
    ours = randomise(net.build())
    generated = load_source(net.to_source(), tmp_path).build()
    generated.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(16, 8, 6, 6)
    torch.manual_seed(3)
    a = ours.train()(x)
    torch.manual_seed(3)
    b = generated.train()(x)
    assert_same_outputs(b, a, rtol=1e-5)
    torch.manual_seed(4)  # another seed drops other rows: the blocks' stochastic depth is live
    assert not torch.allclose(ours.train()(x), a)


def test_names_that_are_not_identifiers_generate_and_load(tmp_path: Path) -> None:
    """`"block1-0"` and `"class"` are module names torch accepts: the generated file registers them with
    add_module and has the in-memory module's state_dict and outputs."""
    net = archspec.load("names.arch", text=NAMES)
    assert_same_as_in_memory(net, tmp_path)
    keys = list(net.build().state_dict())
    assert keys[:2] == ["block1-0.weight", "block1-0.bias"] and "class.weight" in keys


NAMES = """
network names:
  input: 3x8x8
  layers:
    "block1-0": conv(8, 3, pad=1)
    "class": batchnorm
    "for": relu
    "with space": conv(4, 1)
"""


def test_a_block_with_two_inputs_generates_the_same_module(tmp_path: Path) -> None:
    text = """
block Fuse(width):
  a: conv(width, 1) from inputs[0]
  b: conv(width, 1) from inputs[1]
  add from a, b

network n:
  input: 4x6x6
  layers:
    x: conv(8, 3, pad=1)
    y: conv(8, 1) from input
    f: Fuse(8) from x, y
"""
    assert_same_as_in_memory(archspec.load("n.arch", text=text), tmp_path)


# ---------------------------------------------------------------- module names, as torchvision's


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
    theirs = randomise(getattr(models, variant)(weights=None)).eval()
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
            assert_same_outputs(actual, expected, rtol=1e-5)


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
    # A dropout of a literal probability is an nn.Dropout module (a p=0.0 one too), never `F.dropout(x, 0.0)`;
    # a layer copied in (Swin's window attention) may call F.dropout with its configured `p=self.…`.
    literal_dropouts = [
        call
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and ast.unparse(call.func) == "F.dropout"
        and any(isinstance(a, ast.Constant) for a in [*call.args[1:], *(k.value for k in call.keywords)])
    ]
    assert literal_dropouts == []


def test_network_class_names_by_hand() -> None:
    """The zoo's metadata `name` (as written in prose) spells the class; the variant adds its suffix."""
    expected = {
        "vit_b_16": "ViTB16",
        "mobilenet_v2": "MobileNetV2",
        "mobilenet_v1": "MobileNetV1",
        "resnet50": "ResNet50",
        "vgg16_bn": "VGG16Bn",
        "lenet5": "LeNet5",
        "googlenet": "GoogLeNet",
        "lecun1989": "Lecun1989",  # no written name: CapWords of the spec name
    }
    for variant, name in expected.items():
        assert f"\nclass {name}(nn.Module):\n" in archspec.load(variant).to_source()


def test_written_names_that_do_not_begin_the_spec_name_are_not_used() -> None:
    cases = {
        ("resnet50", "ResNet"): "ResNet50",
        ("resnet_50", "ResNet"): "ResNet50",
        ("vit_b_16", None): "VitB16",
        ("vit_b_16", "Swin"): "VitB16",  # another network's name
        ("res", "ResNet"): "Res",  # shorter than the written name
        ("lenet5", "LeNet-5"): "LeNet5",  # punctuation dropped
        ("alexnet_paper", "AlexNet"): "AlexNetPaper",
    }
    assert {key: root_class_name(*key) for key in cases} == cases


# ---------------------------------------------------------------- compile needs no torch


def test_compile_never_imports_torch_and_writes_ruff_clean_source_within_100_columns(tmp_path: Path) -> None:
    """`archspec compile` writes text: every variant of the zoo (custom layers and init helpers copied in
    included) compiles in a process that never imports torch. And the files are what a maintainer would
    commit: `ruff check` (its defaults and the common extra rule sets) and `ruff format --check` find
    nothing in any of them, whatever the folder's own ruff configuration. (One test: compiling the zoo
    is the slow part, so it is done once for both.)"""
    code = (
        "import sys, io, contextlib\n"
        "from archspec.cli import main\n"
        f"for variant in {ZOO!r}:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        f"        assert main(['compile', variant, '-o', {str(tmp_path)!r} + '/' + variant + '.py']) == 0\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    assert "class RBF(nn.Module):" in (tmp_path / "lenet5.py").read_text()
    files = sorted(str(p) for p in tmp_path.glob("*.py"))
    assert len(files) == len(ZOO)
    settings = ["--isolated", "--line-length", "100", "--target-version", "py311"]
    # ruff's defaults, and pycodestyle (E, W: lines of at most 100 columns), isort, pyupgrade, bugbear.
    rules = ["--extend-select", "E,W,I,UP,B"]
    check = [sys.executable, "-m", "ruff", "check", *settings, *rules, *files]
    checked = subprocess.run(check, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout[-3000:]
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *settings, *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert formatted.returncode == 0, formatted.stdout[-3000:]
    assert all(len(line) <= 100 for f in files for line in Path(f).read_text().splitlines())


def test_source_and_torch_tables_cover_the_same_ops() -> None:
    """Every op has both halves, and they agree on its kind: a module with its constructor source, a
    functional op with its inline expression, a parameter with its source, a special call both ways."""
    from archspec.backends import source_ops, torch_ops
    from archspec.backends.source_ops import SOURCE_OPS
    from archspec.backends.torch_ops import TORCH_OPS
    from archspec.ops import OP_CLASSES, OPS_BY_KIND

    assert source_ops.missing() == torch_ops.missing() == []
    assert set(SOURCE_OPS) == set(TORCH_OPS) == set(OPS_BY_KIND) - {"input"}
    assert {op.op_kind() for op in OP_CLASSES} <= set(OPS_BY_KIND)
    for kind, written in SOURCE_OPS.items():
        run = TORCH_OPS[kind]
        assert written.is_module == (run.module is not None), kind
        assert (written.inline is not None) or written.is_module, kind
        assert (written.parameter_source is not None) == (run.parameter is not None), kind
        assert (not written.called_plainly) == (run.wrap is not None), kind


def test_the_layers_init_weights_tests_by_class_are_torchs_leaf_modules() -> None:
    """What the generator takes for a module without submodules (so that ``init_weights`` may find it
    with ``isinstance``) is, in the module torch builds, a module of that class with no children, with
    the parameters the generator sets in place; and the custom layers it reads as holding submodules
    do hold some."""
    from torch import nn

    from archspec.backends import torch_layers
    from archspec.backends.init_plan import TORCH_LEAVES, direct_parameters, leaf_class
    from archspec.backends.torch_ops import TORCH_OPS, build_module
    from archspec.backends.torch_source import layer_bases, leaf_classes
    from archspec.ops.activation import GELU, Identity, Softmax, Tanh
    from archspec.ops.norm import BatchNorm
    from archspec.ops.pool import AvgPool2d

    seen = set()
    for variant in ZOO:
        net = archspec.load(variant)
        model = net.build(device="meta")
        modules = dict(model.named_modules())
        for node in net.graph.nodes:
            claimed = leaf_class(node.op)
            if claimed is None or node.name not in modules:
                continue
            module = modules[node.name]
            owner = nn if claimed.startswith("nn.") else torch_layers
            assert type(module) is getattr(owner, claimed.removeprefix("nn.")), (variant, node.name)
            assert not list(module.children()), (variant, node.name)
            if node.op.init_parameters:  # what init_weights sets in place, in torch's order
                held = tuple(name for name, _ in module.named_parameters(recurse=False))
                assert direct_parameters(node.op) == held, (variant, node.name)
            seen.add(claimed)
        for node in net.graph.nodes:  # each torch module an op builds (inlined or not) is a leaf or not
            if node.op.kind in TORCH_OPS and TORCH_OPS[node.op.kind].module is not None:
                module = build_module(node.op)
                leaf = type(module).__module__.startswith("torch.nn") and not list(module.children())
                assert (leaf_class(node.op) == f"nn.{type(module).__name__}") == leaf, (variant, node.name)
                seen.add(f"nn.{type(module).__name__}")
    assert {"nn.Conv2d", "nn.BatchNorm2d", "nn.Linear", "PatchEmbed", "RBF", "ConnectionTableConv2d"} <= seen
    others = [
        GELU(),
        Tanh(),
        Identity(),
        Softmax(),
        AvgPool2d(kernel_size=2),
        BatchNorm(num_features=3, spatial=False),
    ]
    for op in others:  # the ops of torch leaf classes no zoo network builds as a module
        module = build_module(op)
        assert not list(module.children()) and leaf_class(op) == f"nn.{type(module).__name__}"
        seen.add(f"nn.{type(module).__name__}")
    assert seen >= TORCH_LEAVES
    for name, bases in layer_bases("torch_layers.py").items():
        layer = getattr(torch_layers, name)
        assert [f"nn.{b.__name__}" for b in layer.__bases__] == list(bases)
        if name not in leaf_classes("torch_layers.py"):
            assert name in {"ShiftedWindowAttention", "PatchMerging"}  # each holds linear layers
    window = torch_layers.ShiftedWindowAttention(8, 2, 1, 2)
    assert list(window.children()) and list(torch_layers.PatchMerging(8).children())


def test_the_modules_inside_compound_layers_are_torchs() -> None:
    """What the generator takes to be inside window attention, patch merging and multi-head
    attention (so that `init_weights`' loop may meet them) is what torch builds: every module without
    submodules that holds parameters, in module order, with its class and its parameters; and the
    parameters the compound module holds itself."""
    from torch import nn

    from archspec.backends.init_plan import inner_leaves, leaf_class, own_parameters

    seen = set()
    for net in (archspec.load(variant) for variant in ZOO):
        modules = dict(net.build(device="meta").named_modules())
        for node in net.graph.nodes:
            leaves = inner_leaves(node.op)
            if leaves is None or leaf_class(node.op) is not None or node.name not in modules:
                continue
            module = modules[node.name]
            holding = [
                (path, sub)
                for path, sub in module.named_modules()
                if path and not list(sub.children()) and list(sub.parameters(recurse=False))
            ]
            assert [leaf.path for leaf in leaves] == [path for path, _ in holding], (net.name, node.name)
            for leaf, (_, sub) in zip(leaves, holding, strict=True):
                assert all(isinstance(sub, getattr(nn, c.removeprefix("nn."))) for c in leaf.classes)
                assert leaf.parameters == tuple(n for n, _ in sub.named_parameters(recurse=False))
            own = tuple(n for n, _ in module.named_parameters(recurse=False))
            assert own == own_parameters(node.op), (net.name, node.name)
            seen.add(node.op.kind)
    assert seen == {"attention", "shifted_window_attention", "patch_merging"}


def test_copied_definitions_are_the_modules_own_source() -> None:
    """The text read without importing equals what ``inspect`` finds in the imported modules, and the
    names a layer may not take are those of the installed torch's ``nn.Module``."""
    import inspect

    from torch import nn

    from archspec.backends import init, torch_layers
    from archspec.backends.torch_source import NN_MODULE_ATTRIBUTES, class_names, definitions

    classes = sorted(name for name, _ in inspect.getmembers(torch_layers, inspect.isclass))
    assert class_names("torch_layers.py") == classes
    for name in classes:
        assert definitions("torch_layers.py")[name] == inspect.getsource(getattr(torch_layers, name)).rstrip()
    for name in ("matches", "parameters_of", "fans", "layer_of"):
        assert definitions("init.py")[name] == inspect.getsource(getattr(init, name)).rstrip()
    assert set(dir(nn.Module())) == NN_MODULE_ATTRIBUTES


# ---------------------------------------------------------------- the network's parameters as arguments


@pytest.mark.parametrize("variant", ZOO)
def test_build_takes_num_classes_like_torchvision(variant: str, tmp_path: Path) -> None:
    """`build(num_classes=10)` and the network class take the spec's parameter, as torchvision's
    `resnet50(num_classes=10)` does: the module has the state_dict keys and shapes archspec builds from
    the spec with `num_classes=10` (built on meta: shapes only)."""
    source = archspec.load(variant).to_source()
    module = load_source(source, tmp_path)
    assert (
        inspect.signature(module.build).parameters["num_classes"].default
        == (archspec.load(variant).graph.params["num_classes"])
    )
    with torch.device("meta"):
        generated = module.build(num_classes=10)
    expected = archspec.load(variant, num_classes=10).build(device="meta")
    shapes = {k: tuple(v.shape) for k, v in generated.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in expected.state_dict().items()}


def test_exposed_parameters_compute_what_the_spec_computes(tmp_path: Path) -> None:
    """A changed argument gives the same module, bit for bit, as the spec elaborated with that value:
    MobileNetV2 with 10 classes and dropout 0.3, same weights, same outputs in training mode (the
    dropout draws the same mask under the same seed)."""
    module = load_source(archspec.load("mobilenet_v2").to_source(), tmp_path)
    generated = module.MobileNetV2(num_classes=10, dropout=0.3)
    reference = archspec.load("mobilenet_v2", num_classes=10, dropout=0.3, input_shape=(3, 64, 64)).build()
    generated.load_state_dict(randomise(reference).state_dict())
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    outputs = []
    for model in (generated.train(), reference.train()):
        torch.manual_seed(1)
        outputs.append(model(x))
    assert outputs[0].shape == (2, 10)
    assert_same_outputs(outputs[0], outputs[1], exact=True)


def test_vit_takes_image_and_patch_size_like_torchvision(tmp_path: Path) -> None:
    """ViT's token count is the spec's formula over `image_size` and `patch_size`, so both are
    arguments, as they are of torchvision's `VisionTransformer`: a small ViT for 64x64 images and 8x8
    patches loads torchvision's weights strictly and computes its outputs."""
    from torchvision.models.vision_transformer import VisionTransformer

    module = load_source(archspec.load("vit_b_16").to_source(), tmp_path)
    sizes = {"image_size": 64, "patch_size": 8, "num_layers": 2, "num_heads": 4, "hidden_dim": 96}
    torch.manual_seed(0)
    reference = randomise(VisionTransformer(**sizes, mlp_dim=192, num_classes=7)).eval()
    generated = module.ViTB16(**sizes, mlp_dim=192, num_classes=7).eval()
    assert generated.encoder.pos_embedding.shape == (1, (64 // 8) ** 2 + 1, 96)
    generated.load_state_dict(reference.state_dict())  # strict: the same names and shapes
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert_same_outputs(generated(x), reference(x), exact=True)  # the same kernels


def test_a_formula_over_a_negative_parameter_computes_the_specs_value(tmp_path: Path) -> None:
    """A formula is written over the parameters' values, a negative one in parentheses: `(-3) ** 2` is
    9, where `-3 ** 2` would be -9 in Python. The file builds what the spec builds."""
    net = archspec.load(
        "t.arch",
        text="network t:\n  input: [4]\n  params:\n    shift = -3\n"
        "  layers:\n    linear(shift ** 2 + 1) >> dropout(1 / (2 - shift))\n    linear(-shift * 2)\n",
    )
    assert net.graph.node("0").op.out_features == 10  # type: ignore[attr-defined]
    assert_same_as_in_memory(net, tmp_path)


def test_vit_parameters_pass_down_to_the_block_classes(tmp_path: Path) -> None:
    """ViT's width, MLP size, heads and dropouts are used inside the encoder's block classes: they are
    arguments of every class down to `EncoderBlock`, as in torchvision, with no 768 or 3072 left in the
    code but the defaults; the depth is the count of the encoder's loop, `range(num_layers)`, and an
    argument of the encoder's class; a small ViT built from them is the spec elaborated with the same
    values, bit for bit."""
    source = archspec.load("vit_b_16").to_source()
    module = load_source(source, tmp_path)
    assert list(inspect.signature(module.build).parameters) == [
        "num_classes",
        "image_size",
        "patch_size",
        "num_layers",
        "hidden_dim",
        "mlp_dim",
        "num_heads",
        "dropout",
        "attention_dropout",
    ]
    assert "        attention_dropout: float,\n    ) -> None:" in source  # EncoderBlock's last
    assert "torch.empty(1, (image_size // patch_size) ** 2 + 1, hidden_dim)" in source
    assert 'f"encoder_layer_{i}",' in source and "for i in range(num_layers)" in source
    code = [
        t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.NUMBER
    ]
    assert code.count("768") == code.count("3072") == 2  # the defaults of the class and of build()
    assert "197" not in code and code.count("16") == 2  # the token count is the spec's formula
    assert code.count("12") == 4  # the depth's and the heads' defaults
    small = {
        "num_classes": 7,
        "num_layers": 2,
        "hidden_dim": 96,
        "mlp_dim": 192,
        "num_heads": 4,
        "attention_dropout": 0.125,
    }
    generated = module.ViTB16(**small, dropout=0.25)
    reference = archspec.load("vit_b_16", **small, dropout=0.25).build()
    assert generated.state_dict().keys() == reference.state_dict().keys()
    generated.load_state_dict(randomise(reference).state_dict())
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    outputs = []
    for model in (generated.train(), reference.train()):
        torch.manual_seed(1)  # the same dropout masks
        outputs.append(model(x))
    assert outputs[0].shape == (2, 7)
    assert_same_outputs(outputs[0], outputs[1], exact=True)


def test_a_spec_without_a_paper_has_one_blank_line_in_the_docstring() -> None:
    """The first line, one blank line, then the figures (no paper lines to separate)."""
    text = "network bare:\n  input: 3x8x8\n  layers:\n    fc: flatten >> linear(2)\n"
    lines = archspec.load("bare.arch", text=text).to_source().splitlines()
    assert lines[:3] == [
        '"""bare, generated by archspec from bare.arch.',
        "",
        "Input: 3x8x8 per sample; output: 2.",
    ]


def test_the_docstring_names_every_package_the_file_imports() -> None:
    """A spec with ``rearrange`` gives a file that imports einops: its docstring said "this file needs only
    PyTorch" all the same (met compiling ShuffleNetV2's channel shuffle written as a rearrange)."""
    head = "network shuffle:\n  input: 4x8x8\n  layers:\n    conv(4, 1)\n"
    plain = archspec.load("p.arch", text=head).to_source()
    shuffle = '    rearrange("(g c) h w -> (c g) h w", g=2)\n'
    shuffled = archspec.load("s.arch", text=head + shuffle).to_source()
    assert "State-dict keys follow the spec's layer names; this file needs only PyTorch.\n" in plain
    assert "einops" not in plain
    assert "State-dict keys follow the spec's layer names; this file needs PyTorch and einops.\n" in shuffled
    imported = {line.split()[1] for line in shuffled.splitlines() if line.startswith(("import ", "from "))}
    assert imported == {"__future__", "torch", "einops"}
