"""The standard library (``archspec/std/*.arch``): imported as ``std/...`` from anywhere, never from the
user's folders; each block against an independent torch oracle (torchvision's module, or a hand-written
torch module with the same names): strict load, outputs, ``numel``, ``FlopCounterMode``."""

from __future__ import annotations

import fnmatch
import re
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
        'from "std/se.arch" import SqueezeExcitation\nfrom "std/mlp.arch" import MLP\n'
        'from "std/attention.arch" import MultiHeadAttention\nfrom "std/swin.arch" import WindowAttention\n\n'
        "network n:\n  input: 8x4x4\n  layers:\n    SqueezeExcitation(2)\n    permute([1, 2, 0])\n"
        '    WindowAttention(2, 2, 1)\n    rearrange("h w c -> (h w) c")\n    MultiHeadAttention(2)\n'
        "    MLP(32)\n",
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


def test_mlp_with_dropout_is_torchvisions_mlp_block_in_training_too(tmp_path: Path) -> None:
    """With dropout, on a channels-last map: torchvision's MLPBlock in eval mode (parameters, keys, MACs,
    outputs), and in training mode the same masks from the same seed (the dropouts in the same order)."""
    from torchvision.models.vision_transformer import MLPBlock

    net = mlp_network(tmp_path, "MLP(64, dropout=0.1)", "7x7x32")
    x = torch.randn(2, 7, 7, 32)
    oracle = randomise(MLPBlock(32, 64, 0.1))
    assert_matches_oracle(net, oracle, "mlp", x)
    module = net.build()
    module.load_state_dict(prefixed(oracle.state_dict(), "mlp"), strict=True)
    module.train()
    oracle.train()
    torch.manual_seed(0)
    built = module(x)
    torch.manual_seed(0)
    expected = oracle(x)
    assert_same_outputs(built, expected, exact=True)


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


# ---------------------------------------------------------------- multi-head attention


class TimmAttention(nn.Module):
    """timm's ``Attention`` (vision_transformer.py) as written there, with its names (``qkv``,
    ``attn_drop``, ``proj``, ``proj_drop``); ``fused=False`` has ``q``, ``k``, ``v`` instead of ``qkv``.
    The attention itself is torch's ``scaled_dot_product_attention``, not archspec's matmuls."""

    def __init__(self, dim: int, num_heads: int, fused: bool = True, qkv_bias: bool = True) -> None:
        super().__init__()
        self.num_heads, self.fused = num_heads, fused
        if fused:
            self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        else:
            self.q = nn.Linear(dim, dim, bias=qkv_bias)
            self.k = nn.Linear(dim, dim, bias=qkv_bias)
            self.v = nn.Linear(dim, dim, bias=qkv_bias)
        self.attn_drop = nn.Dropout(0.0)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(batch, tokens, self.num_heads, dim // self.num_heads).transpose(1, 2)

        if self.fused:
            qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, dim // self.num_heads)
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        else:
            q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        x = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        return self.proj_drop(self.proj(x.transpose(1, 2).reshape(batch, tokens, dim)))


def attention_macs(tokens: int, dim: int) -> int:
    """MACs of multi-head attention as torchvision counts them (its figures for ViT): the four D x D
    projections per token and the two N x N x D products, Q·Kᵀ and A·V."""
    return 4 * tokens * dim * dim + 2 * tokens * tokens * dim


@pytest.mark.parametrize("fused", [True, False], ids=["fused_qkv_timm", "separate_q_k_v"])
def test_multi_head_attention_is_timms_attention(tmp_path: Path, fused: bool) -> None:
    net = network(
        tmp_path,
        'from "std/attention.arch" import MultiHeadAttention\n\nnetwork n:\n  input: 10x32\n  layers:\n'
        f"    attn: MultiHeadAttention(4, fused={'true' if fused else 'false'})\n",
    )
    oracle = randomise(TimmAttention(32, 4, fused).eval())
    module = net.build().eval()
    module.load_state_dict(prefixed(oracle.state_dict(), "attn"), strict=True)
    assert net.params == sum(p.numel() for p in oracle.parameters()) == 4 * 32 * 32 + 4 * 32
    # torch's counter counts SDPA's math path as two batched matmuls: the oracle's MACs on meta.
    assert net.analyze().macs == attention_macs(10, 32)
    x = torch.randn(3, 10, 32)
    with torch.no_grad():
        assert_same_outputs(module(x), oracle(x), 1e-5)


def test_multi_head_attention_counts_as_torch_counts_it(tmp_path: Path) -> None:
    """FlopCounterMode on archspec's own module (its matmuls are torch.matmul): the static count."""
    net = network(
        tmp_path,
        'from "std/attention.arch" import MultiHeadAttention\n\nnetwork n:\n  input: 12x24\n  layers:\n'
        "    attn: MultiHeadAttention(3)\n",
    )
    assert net.analyze().macs == torch_macs(net.build().eval(), torch.randn(1, 12, 24))


# ---------------------------------------------------------------- Swin V1 window attention


def window_attention_network(tmp_path: Path, shape: str, call: str) -> archspec.Network:
    return network(
        tmp_path,
        f'from "std/swin.arch" import WindowAttention\n\nnetwork n:\n  input: {shape}\n  layers:\n'
        f"    attn: {call}\n",
    )


@pytest.mark.parametrize(
    ("shape", "window", "shift"),
    [((8, 8), 4, 0), ((8, 8), 4, 2), ((9, 10), 4, 2), ((3, 5), 4, 2)],
    ids=["plain", "shifted", "padded_and_shifted", "one_window_no_shift"],
)
def test_window_attention_is_torchvisions_shifted_window_attention(
    tmp_path: Path, shape: tuple[int, int], window: int, shift: int
) -> None:
    """Against torchvision's module itself: its buffer computed by the spec, strict load, numel, MACs
    (FlopCounterMode) and outputs; padding (9x10 with 4x4 windows), the mask and the roll included, and
    torchvision's rule that a window as large as the map is not shifted."""
    from torchvision.models.swin_transformer import ShiftedWindowAttention

    height, width = shape
    net = window_attention_network(tmp_path, f"{height}x{width}x16", f"WindowAttention(2, {window}, {shift})")
    oracle = ShiftedWindowAttention(16, [window, window], [shift, shift], 2).eval()
    module = net.build().eval()
    ours = module.state_dict()["attn.relative_position_index"]
    assert ours.dtype == torch.int64 and torch.equal(ours, oracle.relative_position_index)
    oracle = randomise(oracle)
    x = torch.randn(2, height, width, 16)
    assert_matches_oracle(net, oracle, "attn", x, rtol=1e-5)


def swin_t_with_std_attention(tmp_path: Path) -> archspec.Network:
    """The zoo's swin_t with `std/swin.arch`'s WindowAttention for the op (and without the op's init rule)."""
    text = (ROOT / "archspec" / "zoo" / "swin.arch").read_text("utf-8")
    replaced = text.replace(
        "attn: shifted_window_attention(heads, window, shift)", "attn: WindowAttention(heads, window, shift)"
    )
    lines = [line for line in replaced.splitlines(keepends=True) if "shifted_window_attention:" not in line]
    assert replaced != text and len(lines) == len(text.splitlines()) - 1
    return network(tmp_path, 'from "std/swin.arch" import WindowAttention\n\n' + "".join(lines), "swin.arch")


def test_swin_t_built_with_the_std_window_attention_is_torchvisions(tmp_path: Path) -> None:
    """THE PROOF (issue 21): the primitives suffice for Swin. torchvision's swin_t, every tensor
    perturbed, loads strictly into the zoo's swin_t built with the library's window attention and gives
    its outputs; parameters and MACs are torchvision's (numel, FlopCounterMode on its own module)."""
    from torchvision.models import swin_t

    net = swin_t_with_std_attention(tmp_path)
    torch.manual_seed(0)
    oracle = randomise(swin_t().eval())
    assert net.params == sum(p.numel() for p in oracle.parameters()) == 28_288_354
    with torch.device("meta"):
        counted = torch_macs(swin_t().eval(), torch.zeros(1, 3, 224, 224))
    assert net.analyze().macs == counted == 4_490_566_656
    module = net.build().eval()
    expected = oracle.state_dict()
    ours = module.state_dict()
    for key, value in ours.items():  # the spec's computed index buffers are torchvision's
        if key.endswith("relative_position_index"):
            assert torch.equal(value, expected[key]), key
    module.load_state_dict(expected, strict=True)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert_same_outputs(module(x), oracle(x), 1e-4)
    # the same module names as the zoo's swin_t built with the op
    assert sorted(ours) == sorted(archspec.load("swin_t").build(device="meta").state_dict())


# ---------------------------------------------------------------- the walkthrough's new attention variant


class TalkingHeadAttn(nn.Module):
    """timm's cait.TalkingHeadAttn, written out (qkv without bias; proj_l and proj_w mix the heads)."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.proj = nn.Linear(dim, dim)
        self.proj_l = nn.Linear(num_heads, num_heads)
        self.proj_w = nn.Linear(num_heads, num_heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, dim // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = self.proj_l(attn.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).softmax(dim=-1)
        attn = self.proj_w(attn.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.proj((attn @ v).transpose(1, 2).reshape(batch, tokens, dim))


def test_the_walkthroughs_talking_heads_attention_is_timms(tmp_path: Path) -> None:
    """docs/language.md's example, as written there: its table's counts, and timm's module."""
    fence = re.compile(r"^```arch\n(.*?)^```$", re.MULTILINE | re.DOTALL)
    document = (ROOT / "docs" / "language.md").read_text("utf-8")
    examples = [m.group(1) for m in fence.finditer(document) if "TalkingHeadAttention" in m.group(1)]
    assert len(examples) == 1
    net = network(tmp_path, examples[0])
    assert (net.params, net.analyze().macs) == (147_688, 8_412_800)
    assert_matches_oracle(net, TalkingHeadAttn(192, 4), "attn", torch.randn(2, 50, 192), rtol=1e-5)
