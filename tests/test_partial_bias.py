"""`linear(..., bias=[true, false, true])`: a linear layer that adds its bias to some chunks of its outputs.

Oracles: torch's ``nn.Linear`` (parameter count, state-dict names and shapes, a strict load), the output
written out here by hand (``x @ W.T + b`` with the left-out chunk of ``b`` zeroed), FlopCounterMode, and
torchvision's ``ShiftedWindowAttentionV2``, whose ``qkv`` is such a layer (same seed, same weights).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from oracles import load_source, randomise
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import archspec
from archspec.errors import SpecError
from archspec.fmt import format_text
from archspec.yaml_form.convert import convert

SPEC = """network partial_bias:
  input: 49x32
  init:
    linear: trunc_normal(std=0.02), bias=zeros
  layers:
    qkv: linear(96, bias=[true, false, true])
"""


def load(tmp_path: Path, text: str, name: str = "net.arch") -> archspec.Network:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return archspec.load(path)


def by_hand(linear: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """The layer's output written out: every output gets its bias but the middle third."""
    bias = linear.bias.detach().clone()
    bias[32:64] = 0
    return x @ linear.weight.detach().T + bias


def test_counts_as_torchs_linear_and_computes_without_the_left_out_bias(tmp_path: Path) -> None:
    net = load(tmp_path, SPEC)
    oracle = randomise(nn.Linear(32, 96))
    assert bool(oracle.bias[32:64].abs().min() > 0)  # the left-out chunk holds numbers, which must not count
    assert net.params == sum(p.numel() for p in oracle.parameters())
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        oracle(torch.zeros(1, 49, 32))
    assert net.analyze().macs == counter.get_total_flops() // 2
    x = torch.randn(2, 49, 32, generator=torch.Generator().manual_seed(1))
    for module in (net.build(), load_source(net.to_source(), tmp_path).build()):
        module.load_state_dict({f"qkv.{k}": v for k, v in oracle.state_dict().items()}, strict=True)
        with torch.no_grad():
            torch.testing.assert_close(module(x), by_hand(oracle, x), rtol=1e-5, atol=1e-6)


def test_the_same_seed_gives_torchvisions_swin_v2_qkv(tmp_path: Path) -> None:
    """Without init rules: nn.Linear's draws, the key's third of the bias zeroed, as torchvision's
    ShiftedWindowAttentionV2 constructs its qkv (its first module)."""
    swin = pytest.importorskip("torchvision.models.swin_transformer")
    net = load(tmp_path, SPEC.replace("  init:\n    linear: trunc_normal(std=0.02), bias=zeros\n", ""))
    torch.manual_seed(0)
    theirs = swin.ShiftedWindowAttentionV2(32, [7, 7], [0, 0], 2).qkv
    assert bool((theirs.bias[32:64] == 0).all()) and bool((theirs.bias[:32] != 0).all())
    for build in (net.build, load_source(net.to_source(), tmp_path).build):
        torch.manual_seed(0)
        ours = build().qkv
        assert torch.equal(ours.weight, theirs.weight) and torch.equal(ours.bias, theirs.bias)


def test_the_linear_rule_reaches_it_in_the_loop_over_the_modules(tmp_path: Path) -> None:
    net = load(tmp_path, SPEC)
    source = net.to_source()
    assert "if isinstance(module, PartialBiasLinear):" in source
    # beside torch's linear layers, one test meets both: it is an nn.Linear
    with_proj = load(tmp_path, SPEC + "    proj: linear(10)\n", "proj.arch").to_source()
    assert "if isinstance(module, nn.Linear):" in with_proj and "isinstance(module, (" not in with_proj
    torch.manual_seed(0)
    expected = nn.Linear(32, 96)
    nn.init.trunc_normal_(expected.weight, std=0.02)
    nn.init.zeros_(expected.bias)
    for build in (net.build, load_source(source, tmp_path).build):
        torch.manual_seed(0)
        ours = build().qkv
        assert isinstance(ours, nn.Linear)
        assert torch.equal(ours.weight, expected.weight) and torch.equal(ours.bias, expected.bias)


def test_meta_then_to_empty_needs_no_buffer(tmp_path: Path) -> None:
    """The left-out chunks are computed, not kept: a module built on meta and moved with ``to_empty``
    has nothing uninitialised but its parameters, which a checkpoint fills."""
    net = load(tmp_path, SPEC)
    module = net.build(device="meta").to_empty(device="cpu")
    assert list(module.state_dict()) == ["qkv.weight", "qkv.bias"]
    assert not list(module.buffers())
    oracle = randomise(nn.Linear(32, 96))
    module.load_state_dict({f"qkv.{k}": v for k, v in oracle.state_dict().items()}, strict=True)
    x = torch.randn(3, 49, 32)
    with torch.no_grad():
        torch.testing.assert_close(module(x), by_hand(oracle, x), rtol=1e-5, atol=1e-6)


def test_the_yaml_form_and_fmt_keep_the_flags(tmp_path: Path) -> None:
    assert format_text(SPEC) == SPEC
    (tmp_path / "net.arch").write_text(SPEC, encoding="utf-8")
    yaml_text = convert(tmp_path / "net.arch", "yaml")
    assert "bias=[true, false, true]" in yaml_text
    from_yaml, from_text = load(tmp_path, yaml_text, "net.yaml"), load(tmp_path, SPEC)
    assert [n.op for n in from_yaml.graph.nodes] == [n.op for n in from_text.graph.nodes]
    assert from_yaml.graph.nodes[-1].op.bias == (True, False, True)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            "[true, true]",
            "net.arch:6:21: error: qkv: argument 'bias' of linear: [true, true] gives every output a bias\n"
            "   6 |     qkv: linear(96, bias=[true, true])\n"
            "                           ^^^^^^^^^^^^^^^^^\n"
            "  hint: write bias=true; a list of flags marks the chunks of the outputs with a bias and those "
            "without",
        ),
        (
            "[false]",
            "net.arch:6:21: error: qkv: argument 'bias' of linear: [false] gives no output a bias\n"
            "   6 |     qkv: linear(96, bias=[false])\n"
            "                           ^^^^^^^^^^^^\n"
            "  hint: write bias=false; a list of flags marks the chunks of the outputs with a bias and those "
            "without",
        ),
        (
            "[true, false, true, false, true]",
            "net.arch:6:21: error: qkv: argument 'bias' of linear: 96 outputs do not split into 5 equal "
            "chunks, one per flag of [true, false, true, false, true]\n"
            "   6 |     qkv: linear(96, bias=[true, false, true, false, true])\n"
            "                           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
            "  hint: out_features must be a multiple of the number of flags",
        ),
        (
            "[1, 0, 1]",
            "net.arch:6:21: error: qkv: argument 'bias' of linear must be true, false or one flag per chunk "
            "of the outputs, got [1, 0, 1]\n"
            "   6 |     qkv: linear(96, bias=[1, 0, 1])\n"
            "                           ^^^^^^^^^^^^^^\n"
            "  hint: bias=true gives every output a bias, bias=false none, and a list of flags one per equal "
            "chunk of the outputs (bias=[true, false, true]: the first and last thirds)",
        ),
        (
            "[]",
            "net.arch:6:21: error: qkv: argument 'bias' of linear must be true, false or one flag per chunk "
            "of the outputs, got []\n"
            "   6 |     qkv: linear(96, bias=[])\n"
            "                           ^^^^^^^\n"
            "  hint: bias=true gives every output a bias, bias=false none, and a list of flags one per equal "
            "chunk of the outputs (bias=[true, false, true]: the first and last thirds)",
        ),
        (  # not a list: the same words as a list's, not the generic "false, true or a list"
            '"x"',
            "net.arch:6:21: error: qkv: argument 'bias' of linear must be true, false or one flag per chunk "
            'of the outputs, got "x"\n'
            '   6 |     qkv: linear(96, bias="x")\n'
            "                           ^^^^^^^^\n"
            "  hint: bias=true gives every output a bias, bias=false none, and a list of flags one per equal "
            "chunk of the outputs (bias=[true, false, true]: the first and last thirds)",
        ),
        (
            "1",
            "net.arch:6:21: error: qkv: argument 'bias' of linear must be true, false or one flag per chunk "
            "of the outputs, got 1\n"
            "   6 |     qkv: linear(96, bias=1)\n"
            "                           ^^^^^^\n"
            "  hint: bias=true gives every output a bias, bias=false none, and a list of flags one per equal "
            "chunk of the outputs (bias=[true, false, true]: the first and last thirds)",
        ),
    ],
)
def test_misused_flags_are_positioned_errors_with_hints(tmp_path: Path, flags: str, expected: str) -> None:
    path = tmp_path / "net.arch"
    path.write_text(SPEC.replace("[true, false, true]", flags), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        archspec.load(path)
    assert caught.value.render().replace(str(tmp_path) + "/", "") == expected


def test_a_string_for_convs_bias_gets_convs_own_words(tmp_path: Path) -> None:
    """The op's own validator answers a string too (not the generic words of the field's type)."""
    spec = 'network c:\n  input: 3x8x8\n  layers:\n    c: conv(6, 3, bias="x")\n'
    with pytest.raises(SpecError) as caught:
        load(tmp_path, spec)
    assert caught.value.render().replace(str(tmp_path) + "/", "") == (
        'net.arch:4:19: error: c: argument \'bias\' of conv must be true, false or "unshared", got "x"\n'
        '   4 |     c: conv(6, 3, bias="x")\n'
        "                         ^^^^^^^^"
    )
