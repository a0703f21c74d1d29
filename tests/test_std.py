"""The standard library (``archspec/std/*.arch``): imported as ``std/...`` from anywhere, never from the
user's folders; each block against an independent torch oracle (torchvision's module, or a hand-written
torch module with the same names): strict load, outputs, ``numel``, ``FlopCounterMode``."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch
from oracles import assert_same_outputs, randomise
from pygments.token import Error
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import archspec
from archspec.errors import SpecError
from archspec.fmt import format_text
from archspec.highlight import ArchspecLexer
from archspec.loader import display_path, load_program, spec_files, std_dir, std_files

ROOT = Path(__file__).resolve().parents[1]
STD = spec_files(std_dir())


def network(tmp_path: Path, text: str, name: str = "net.arch") -> archspec.Network:
    """``text`` loaded as the file ``tmp_path/name`` (its imports resolved as a user's would be)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return archspec.load(path)


def error_text(path: Path) -> str:
    """The rendered error of loading ``path`` (as the command line prints it)."""
    with pytest.raises(SpecError) as caught:
        archspec.load(path)
    return caught.value.render()


def torch_macs(module: nn.Module, x: torch.Tensor) -> int:
    """MACs as torch's own counter counts them (FLOPs / 2)."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(x)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2


def prefixed(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """A module's state dict as it reads inside a container named ``prefix``."""
    return {f"{prefix}.{key}": value for key, value in state.items()}


def assert_matches_oracle(
    net: archspec.Network, oracle: nn.Module, prefix: str, x: torch.Tensor, rtol: float = 1e-6
) -> None:
    """``net`` (whose only parametrised layer is the container ``prefix``) is ``oracle``: the same
    parameter count (torch's ``numel``), state-dict keys and shapes (a strict load), MACs
    (``FlopCounterMode``) and outputs on ``x`` with every tensor perturbed."""
    oracle = randomise(oracle.eval())
    module = net.build().eval()
    expected_state = prefixed(oracle.state_dict(), prefix)
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == {
        k: tuple(v.shape) for k, v in expected_state.items()
    }
    module.load_state_dict(expected_state, strict=True)
    assert net.params == sum(p.numel() for p in oracle.parameters())
    assert net.analyze().macs == torch_macs(oracle, x[:1])  # per sample, as archspec counts
    with torch.no_grad():
        assert_same_outputs(module(x), oracle(x), rtol)


# ---------------------------------------------------------------- the mechanism


def test_a_std_import_needs_no_path_and_reads_the_package_file(tmp_path: Path) -> None:
    net = network(
        tmp_path,
        'from "std/mlp.arch" import MLP\n\nnetwork n:\n  input: 4x8\n  layers:\n    mlp: MLP(16)\n',
    )
    files = {Path(key).resolve() for key in net.program.files}
    assert (std_dir() / "mlp.arch").resolve() in files
    assert net.graph.output_shape == (4, 8)


def test_a_users_folder_called_std_does_not_shadow_the_library(tmp_path: Path) -> None:
    (tmp_path / "std").mkdir()
    (tmp_path / "std" / "mlp.arch").write_text("block MLP(hidden_features):\n  relu\n", encoding="utf-8")
    net = network(
        tmp_path,
        'from "std/mlp.arch" import MLP\n\nnetwork n:\n  input: 4x8\n  layers:\n    mlp: MLP(16)\n',
    )
    assert net.params == (8 + 1) * 16 + (16 + 1) * 8  # the library's two linears, not the user's relu
    # Written as a relative path of the user's own, the folder is theirs.
    net = network(
        tmp_path,
        'from "./std/mlp.arch" import MLP\n\nnetwork n:\n  input: 4x8\n  layers:\n    mlp: MLP(16)\n',
    )
    assert net.params == 0


def test_an_unknown_std_file_is_an_error_at_the_import_with_the_files_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "net.arch"
    path.write_text(
        'from "std/mpl.arch" import MLP\n\nnetwork n:\n  input: 4x8\n  layers:\n    MLP(16)\n', "utf-8"
    )
    assert error_text(path) == (
        f"{display_path(path)}:1:1: error: cannot import 'std/mpl.arch': the standard library has no such "
        "file\n"
        '   1 | from "std/mpl.arch" import MLP\n'
        "       ^\n"
        "  hint: did you mean 'std/mlp.arch'?"
    )
    path.write_text('import "std/nothing_like_it.arch"\n', "utf-8")
    assert error_text(path) == (
        f"{display_path(path)}:1:1: error: cannot import 'std/nothing_like_it.arch': the standard library "
        "has no such file\n"
        '   1 | import "std/nothing_like_it.arch"\n'
        "       ^\n"
        f"  hint: the standard library holds {', '.join(std_files())}"
    )


@pytest.mark.parametrize("written", ["std/../zoo/vgg.arch", "std//mlp.arch", "std/./mlp.arch"])
def test_a_std_path_cannot_leave_the_library(tmp_path: Path, written: str) -> None:
    path = tmp_path / "net.arch"
    path.write_text(f'import "{written}"\n', "utf-8")
    assert error_text(path) == (
        f"{display_path(path)}:1:1: error: cannot import '{written}': a standard-library path names a file "
        "below std/, without '.', '..' or '//'\n"
        f'   1 | import "{written}"\n'
        "       ^"
    )


def test_a_block_not_in_the_std_file_is_named_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "net.arch"
    path.write_text('from "std/se.arch" import SqueezeExcitaton\n', "utf-8")
    assert error_text(path) == (
        f"{display_path(path)}:1:27: error: 'std/se.arch' defines no block 'SqueezeExcitaton'\n"
        '   1 | from "std/se.arch" import SqueezeExcitaton\n'
        "                                 ^^^^^^^^^^^^^^^^\n"
        "  hint: did you mean 'SqueezeExcitation'?"
    )


def test_an_error_inside_a_std_block_points_into_the_std_file(tmp_path: Path) -> None:
    path = tmp_path / "net.arch"
    path.write_text(
        'from "std/se.arch" import SqueezeExcitation\n\nnetwork n:\n  input: 4x8\n  layers:\n'
        "    se: SqueezeExcitation(2)\n",
        "utf-8",
    )
    text = error_text(path)
    std = display_path(std_dir() / "se.arch")
    lines = (std_dir() / "se.arch").read_text("utf-8").splitlines()
    line = next(i for i, row in enumerate(lines, 1) if "global_avgpool" in row)
    assert text.startswith(
        f"{display_path(path)}:6:9: error: se.avgpool: global_avgpool expects an image CxHxW, got 4x8 "
        f"(line {line} of block SqueezeExcitation)\n"
    )
    column = lines[line - 1].index("global_avgpool") + 1
    assert text.endswith(
        f"{std}:{line}:{column}: note: in block SqueezeExcitation, line {line}\n"
        f"{line:4} | {lines[line - 1]}\n"
        f"{' ' * (6 + column)}{'^' * len('global_avgpool')}"
    )


def test_a_checkpoints_record_rebuilds_a_std_import_from_its_recorded_text(tmp_path: Path) -> None:
    net = network(
        tmp_path,
        'from "std/mlp.arch" import MLP\n\nnetwork n:\n  input: 4x8\n  layers:\n    mlp: MLP(16)\n',
    )
    sources = {str(Path(key).resolve()): text for key, text in net.program.sources.items()}
    root = str((tmp_path / "net.arch").resolve())
    # The record's text of the std file is read, not the installed file: an edited library would not
    # change a trained network.
    std_key = str((std_dir() / "mlp.arch").resolve())
    sources[std_key] = sources[std_key].replace("dropout(dropout)\n", "dropout(dropout) >> relu\n", 1)
    program = load_program(Path(root), memory=sources)
    assert program.files[display_path(Path(std_key))].text == sources[std_key]


def test_parsing_and_analysing_a_spec_that_imports_std_imports_no_torch(tmp_path: Path) -> None:
    path = tmp_path / "net.arch"
    path.write_text(
        'from "std/se.arch" import SqueezeExcitation\nfrom "std/mlp.arch" import MLP\n\nnetwork n:\n'
        "  input: 8x4x4\n  layers:\n    SqueezeExcitation(2)\n    flatten\n    MLP(32)\n",
        "utf-8",
    )
    code = (
        "import sys, archspec\n"
        f"net = archspec.load({str(path)!r})\n"
        "assert net.analyze().macs > 0\n"
        "loaded = sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'torchvision')))\n"
        "assert not loaded, loaded\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


@pytest.mark.parametrize("path", STD, ids=[p.stem for p in STD])
def test_each_std_file_is_formatted_lexes_cleanly_and_is_checked(path: Path) -> None:
    text = path.read_text("utf-8")
    assert format_text(text, str(path)) == text
    tokens = list(ArchspecLexer().get_tokens_unprocessed(text))
    assert [value for _, kind, value in tokens if kind is Error] == []


@pytest.mark.parametrize("path", STD, ids=[p.stem for p in STD])
def test_check_finds_nothing_in_any_std_block(tmp_path: Path, path: Path) -> None:
    """`check` walks every block of a file, used or not: a copy of the std file with a network."""
    from archspec.checks import check_specs

    copy = tmp_path / path.name
    copy.write_text(path.read_text("utf-8") + "\nnetwork n:\n  input: 3x8x8\n  layers:\n    relu\n", "utf-8")
    result = check_specs([str(copy)])
    assert (result.errors, result.warnings) == ([], [])


def test_the_wheel_ships_every_std_file() -> None:
    """pyproject's package data names a pattern that every std file matches (a built wheel was checked
    by hand to carry them: `pip wheel --no-deps --no-build-isolation .`)."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    patterns = settings["package-data"]
    package = Path(archspec.__file__).parent
    for path in STD:
        name = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns["archspec"]), name


def test_go_to_definition_reaches_into_the_std_file(tmp_path: Path) -> None:
    from archspec.lsp.document import analyse
    from archspec.lsp.features import definition

    path = tmp_path / "net.arch"
    text = 'from "std/mlp.arch" import MLP\n\nnetwork n:\n  input: 4x8\n  layers:\n    mlp: MLP(16)\n'
    path.write_text(text, "utf-8")
    found = definition(analyse(path, text), 5, 10)
    assert found is not None
    assert Path(found.uri.removeprefix("file://")) == (std_dir() / "mlp.arch").resolve()
    lines = (std_dir() / "mlp.arch").read_text("utf-8").splitlines()
    assert found.range.start.line == next(i for i, row in enumerate(lines) if row.startswith("block MLP("))


# ---------------------------------------------------------------- MLP


def mlp_network(tmp_path: Path, use: str, shape: str = "10x32") -> archspec.Network:
    return network(
        tmp_path,
        f'from "std/mlp.arch" import MLP\n\nnetwork n:\n  input: {shape}\n  layers:\n    mlp: {use}\n',
        name=f"mlp_{abs(hash(use))}.arch",
    )


def test_mlp_is_torchvisions_mlp_block(tmp_path: Path) -> None:
    from torchvision.models.vision_transformer import MLPBlock

    x = torch.randn(2, 10, 32)
    assert_matches_oracle(mlp_network(tmp_path, "MLP(64)"), MLPBlock(32, 64, 0.0), "mlp", x)


def test_mlp_with_another_output_width_is_torchvisions_two_layer_mlp(tmp_path: Path) -> None:
    from torchvision.ops import MLP

    x = torch.randn(2, 5, 6, 32)  # a channels-last map: the layers act on the last axis
    oracle = MLP(32, [48, 16], activation_layer=nn.GELU, dropout=0.0)
    assert_matches_oracle(mlp_network(tmp_path, "MLP(48, out_features=16)", "5x6x32"), oracle, "mlp", x)


def test_the_std_mlp_and_the_mlp_op_are_the_same_layer(tmp_path: Path) -> None:
    """The block and the op: the same parameters, MACs, FLOPs with every count, state-dict keys and
    outputs (bit for bit: the same kernels in the same order)."""
    block = mlp_network(tmp_path, "MLP(64, dropout=0.1)", "7x7x32")
    op = mlp_network(tmp_path, "mlp(64, dropout=0.1)", "7x7x32")
    assert block.params == op.params
    for count in ("torchvision", "all"):
        a, b = block.analyze(count=count), op.analyze(count=count)
        assert (a.macs, a.flops, a.params) == (b.macs, b.flops, b.params)
    torch.manual_seed(0)
    built = block.build().eval()
    torch.manual_seed(0)
    reference = op.build().eval()
    assert list(built.state_dict()) == list(reference.state_dict())
    pairs = zip(built.state_dict().items(), reference.state_dict().values(), strict=True)
    for (name, tensor), expected in pairs:
        assert torch.equal(tensor, expected), name  # the same seed draws the same weights
    x = torch.randn(2, 7, 7, 32)
    with torch.no_grad():
        assert_same_outputs(built(x), reference(x), exact=True)


# ---------------------------------------------------------------- squeeze-and-excitation


@pytest.mark.parametrize(
    ("call", "activation", "gate"),
    [
        ("SqueezeExcitation(4)", nn.ReLU, nn.Sigmoid),
        ('SqueezeExcitation(4, activation="silu")', nn.SiLU, nn.Sigmoid),
        ('SqueezeExcitation(4, gate="hardsigmoid")', nn.ReLU, nn.Hardsigmoid),
    ],
    ids=["relu_sigmoid", "silu_sigmoid_efficientnet", "relu_hardsigmoid_mobilenet_v3"],
)
def test_squeeze_excitation_is_torchvisions(
    tmp_path: Path, call: str, activation: type[nn.Module], gate: type[nn.Module]
) -> None:
    from torchvision.ops import SqueezeExcitation

    net = network(
        tmp_path,
        'from "std/se.arch" import SqueezeExcitation\n\nnetwork n:\n  input: 16x6x5\n  layers:\n'
        f"    se: {call}\n",
    )
    oracle = SqueezeExcitation(16, 4, activation=activation, scale_activation=gate)
    assert_matches_oracle(net, oracle, "se", torch.randn(2, 16, 6, 5))
