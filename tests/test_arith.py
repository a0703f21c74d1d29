"""Tensor arithmetic in a spec (issue 21, item 1): ``sub``, ``average``, ``scale``, ``neg``, and ``mean``/``sum``
over axes. torch is the oracle: the built network's output against the torch expression written from its
state dict, parameters by ``numel``, shapes by a forward pass, saved tensors by ``backends.measure``, FLOPs
by ``torch.utils.flop_counter`` (which counts no elementwise op or reduction: 0 MACs, as ours)."""

# ruff: noqa: E501 - the expected messages are verbatim, long lines included

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from oracles import load_source
from torch.utils.flop_counter import FlopCounterMode

import archspec
from archspec.analysis.receptive import ReceptiveField
from archspec.backends.measure import saved_activation_bytes
from archspec.checks import check_specs


def dedent(text: str) -> str:
    return textwrap.dedent(text).removeprefix("\n")


ARITH = dedent(
    """
    network arith:
      input: 4x8x8
      layers:
        a: conv(6, 3, padding=1)
        p: avgpool(3, stride=1, padding=1)
        d: sub from p, a
        g: global_avgpool from a
        s: sub from d, g
        m: average from s, a, d
        halved: scale(0.5)
        flip: neg
        two: average from flip, a
    """
)


def outputs_against_torch(text: str, expected_of: object, tmp_path: Path, shape: tuple[int, ...]) -> None:
    """build() and the generated source both compute what ``expected_of(x, state)`` computes."""
    net = archspec.load("t.arch", text=text)
    torch.manual_seed(0)
    model = net.build().eval()
    state = model.state_dict()
    x = torch.randn(2, *shape)
    expected = expected_of(x, state)  # type: ignore[operator]
    with torch.no_grad():
        out = model(x)
        assert out.shape[1:] == net.graph.nodes[-1].shape == expected.shape[1:]
        torch.testing.assert_close(out, expected)
        generated = load_source(net.to_source(), tmp_path).build().eval()
        generated.load_state_dict(state)
        torch.testing.assert_close(generated(x), expected)


def test_arithmetic_computes_the_torch_expression(tmp_path: Path) -> None:
    def expected(x: torch.Tensor, state: dict[str, torch.Tensor]) -> torch.Tensor:
        a = F.conv2d(x, state["a.weight"], state["a.bias"], padding=1)
        p = F.avg_pool2d(a, 3, stride=1, padding=1)
        d = p - a
        s = d - a.mean((2, 3), keepdim=True)
        m = torch.stack([s, a, d]).mean(0)
        flip = -(m * 0.5)
        return (flip + a) / 2

    outputs_against_torch(ARITH, expected, tmp_path, (4, 8, 8))


def test_arithmetic_counts_and_memory_against_torch() -> None:
    net = archspec.load("t.arch", text=ARITH)
    analysis = net.analyze(count="all")
    rows = {row.name: row for row in analysis.rows}
    torch.manual_seed(0)
    model = net.build()
    assert analysis.params == sum(p.numel() for p in model.parameters()) == 4 * 9 * 6 + 6
    x = torch.randn(1, 4, 8, 8)
    with FlopCounterMode(display=False) as counter:
        model(x)
    # flop_counter counts the convolution only: the arithmetic is 0 MACs under its convention and ours
    assert counter.get_total_flops() == 2 * analysis.macs
    assert all(rows[name].macs == 0 for name in ("d", "s", "m", "halved", "flip", "two"))
    n = 6 * 8 * 8  # every output here is 6x8x8
    assert (rows["d"].flops, rows["s"].flops, rows["m"].flops) == (n, n, 3 * n)
    assert (rows["halved"].flops, rows["flip"].flops, rows["two"].flops) == (n, n, 2 * n)
    # autograd keeps nothing for the arithmetic: the conv's and the pools' tensors only
    assert analysis.activation_bytes == saved_activation_bytes(model, x)
    assert rows["s"].receptive_field == "global" and rows["d"].receptive_field != "global"


def test_generated_source_is_readable(tmp_path: Path) -> None:
    source = archspec.load("t.arch", text=ARITH).to_source()
    assert " - " in source and "* 0.5" in source and " / 3" in source and "= -" in source


REDUCE = dedent(
    """
    network reduce:
      input: 5x16
      layers:
        tokens: linear(8)
        pooled: mean(0)
        total: sum(-1, keepdim=true) from tokens
        both: mean([0, 1], keepdim=true) from tokens
        add from total, both
    """
)


def test_mean_over_tokens_and_sum_with_keepdim(tmp_path: Path) -> None:
    def expected(x: torch.Tensor, state: dict[str, torch.Tensor]) -> torch.Tensor:
        tokens = F.linear(x, state["tokens.weight"], state["tokens.bias"])
        return tokens.sum(-1, keepdim=True) + tokens.mean((1, 2), keepdim=True)

    outputs_against_torch(REDUCE, expected, tmp_path, (5, 16))
    net = archspec.load("t.arch", text=REDUCE)
    rows = {row.name: row for row in net.analyze(count="all").rows}
    assert rows["pooled"].output_shape == (8,) and rows["total"].output_shape == (5, 1)
    assert rows["both"].output_shape == (1, 1)
    assert rows["pooled"].flops == 5 * 8 and rows["total"].flops == 5 * 8 - 5
    assert rows["pooled"].receptive_field == "global"  # every token


def test_mean_over_one_spatial_axis_makes_the_field_global_along_it() -> None:
    text = "network r:\n  input: 3x16x12\n  layers:\n    conv(4, 3, padding=1)\n    h: mean(1, keepdim=true)\n    c: mean(0) from input\n"
    net = archspec.load("t.arch", text=text)
    rows = {row.name: row for row in net.analyze().rows}
    field = rows["h"].receptive_field
    assert isinstance(field, ReceptiveField)
    assert field.size == (3 + 15, 3)  # the whole height of the 16-high map, the conv's 3 along W
    assert rows["c"].receptive_field is None  # channels only: no position mixed
    model = net.build()
    assert model(torch.randn(1, 3, 16, 12)).shape[1:] == (16, 12)


def rendered(spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.arch").write_text(dedent(spec), encoding="utf-8")
    return "".join(e.render() + "\n" for e in check_specs(["t.arch"]).errors)


MISUSE = [
    (
        "d: sub from input, a",
        """
        t.arch:5:8: error: d: sub: input shapes do not broadcast: 4x8x8 vs 6x6x6
           5 |     d: sub from input, a
                      ^^^
          hint: aligned from the last axis, each size must agree or be 1 (e.g. 64x56x56 and 64x1x1)
        """,
    ),
    (
        "m: mean(3) from input",
        """
        t.arch:5:13: error: m: mean: dim 3 is out of range for 4x8x8 (a sample's axes are 0 to 2, or -3 to -1)
           5 |     m: mean(3) from input
                           ^
          hint: axes count within one sample: the batch is not one of them
        """,
    ),
    (
        "s: sum([1, -2]) from input",
        """
        t.arch:5:12: error: s: sum: dim -2 names an axis twice in [1, -2]
           5 |     s: sum([1, -2]) from input
                          ^^^^^^^
        """,
    ),
    (
        "m: mean([]) from input",
        """
        t.arch:5:13: error: m: mean: dim names no axis
           5 |     m: mean([]) from input
                           ^^
          hint: e.g. mean(0) or mean([1, 2])
        """,
    ),
    (
        "s: sub from a, a, input",
        """
        t.arch:5:8: error: sub takes 2 inputs, got 3
           5 |     s: sub from a, a, input
                      ^^^
        """,
    ),
]


@pytest.mark.parametrize(("line", "message"), MISUSE)
def test_misuse_is_an_error(line: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = f"network t:\n  input: 4x8x8\n  layers:\n    a: conv(6, 3)\n    {line}\n"
    assert rendered(spec, tmp_path, monkeypatch) == dedent(message)


def test_the_ops_are_drawn_with_their_labels(tmp_path: Path) -> None:
    text = (
        archspec.load("t.arch", text=ARITH).draw(tmp_path / "a.dot", depth=None).read_text(encoding="utf-8")
    )
    assert "subtract" in text and "average" in text and "× 0.5" in text and "negate" in text
