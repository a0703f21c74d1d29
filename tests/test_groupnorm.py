"""``groupnorm(groups)`` (issue 21, item 1): torch's ``nn.GroupNorm`` is the oracle for its outputs (by
``F.group_norm`` on the state dict), parameters (``numel``), state-dict keys and saved tensors."""

# ruff: noqa: E501 - the expected messages are verbatim, long lines included

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from oracles import load_source

import archspec
from archspec.backends.measure import saved_activation_bytes
from archspec.checks import check_specs

SPEC = (
    "network g:\n  input: 6x8x8\n  layers:\n    c: conv(12, 3, padding=1)\n    n: groupnorm(4)\n"
    "    r: relu\n    one: groupnorm(1, eps=1e-3)\n    bare: groupnorm(12, affine=false)\n"
)


def test_groupnorm_is_torchs(tmp_path: Path) -> None:
    net = archspec.load("g.arch", text=SPEC)
    torch.manual_seed(0)
    model = net.build().eval()
    with torch.no_grad():  # torch's init makes weight 1 and bias 0: perturb them so that they matter
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    state = model.state_dict()
    assert [k for k in state if not k.startswith("c.")] == ["n.weight", "n.bias", "one.weight", "one.bias"]
    analysis = net.analyze(count="all")
    assert analysis.params == sum(p.numel() for p in model.parameters()) == 6 * 9 * 12 + 12 + 2 * 12 + 2 * 12
    x = torch.randn(2, 6, 8, 8)
    h = F.conv2d(x, state["c.weight"], state["c.bias"], padding=1)
    h = F.relu(F.group_norm(h, 4, state["n.weight"], state["n.bias"]))
    # one group: statistics over C x H x W, as a layer norm over the whole sample computes them
    whole = F.layer_norm(h, h.shape[1:], eps=1e-3)
    h = F.group_norm(h, 1, state["one.weight"], state["one.bias"], eps=1e-3)
    torch.testing.assert_close(
        h, whole * state["one.weight"][:, None, None] + state["one.bias"][:, None, None]
    )
    expected = F.group_norm(h, 12)
    with torch.no_grad():
        torch.testing.assert_close(model(x), expected)
        generated = load_source(net.to_source(), tmp_path).build().eval()
        generated.load_state_dict(state, strict=True)
        torch.testing.assert_close(generated(x), expected)
    rows = {row.name: row for row in analysis.rows}
    assert rows["n"].flops == 5 * 12 * 64 and rows["n"].macs == 0
    assert analysis.activation_bytes == saved_activation_bytes(net.build(), x[:1].clone())


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "groupnorm(5)",
            "t.arch:5:15: error: 1: groupnorm: 5 groups do not divide the 12 channels of 12x6x6\n"
            "   5 |     groupnorm(5)\n"
            "                     ^\n"
            "  hint: the number of groups must divide the channels (1 group: statistics over C x H x W)\n",
        ),
        (
            "flatten >> groupnorm(2)",
            "t.arch:5:16: error: 2: groupnorm expects a CxHxW map, got 432\n"
            "   5 |     flatten >> groupnorm(2)\n"
            "                      ^^^^^^^^^^^^\n"
            "  hint: on a token sequence, layernorm normalises each token\n",
        ),
    ],
)
def test_misuse_is_an_error(line: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.arch").write_text(
        f"network t:\n  input: 4x8x8\n  layers:\n    conv(12, 3)\n    {line}\n", encoding="utf-8"
    )
    assert "".join(e.render() + "\n" for e in check_specs(["t.arch"]).errors) == message


def test_an_init_rule_sets_its_parameters(tmp_path: Path) -> None:
    text = "network g:\n  input: 6x8x8\n  init:\n    groupnorm: weight=constant(2.0)\n  layers:\n    conv(12, 3)\n    n: groupnorm(4)\n"
    net = archspec.load("g.arch", text=text)
    generated = load_source(net.to_source(), tmp_path).build()
    for model in (net.build(), generated):
        assert torch.equal(model.state_dict()["n.weight"], torch.full((12,), 2.0))
        assert torch.equal(model.state_dict()["n.bias"], torch.zeros(12))  # torch's own init
