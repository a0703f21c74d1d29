"""``rearrange("pattern", **sizes)`` (issue 21, item 1): einops' notation on one sample. The oracle is
einops itself on a batched tensor (the pattern with an explicit batch axis ``b``): the output shape, the
built network's output, the generated source's, the realisation on a tensor without a batch axis, and
whether torch returns a view; the receptive field against the input gradient; mistakes as whole
positioned messages."""

# ruff: noqa: E501 - the expected messages are verbatim, long lines included

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import einops
import pytest
import torch
from oracles import load_source
from test_arith import dedent, rendered

import archspec
from archspec.analysis.receptive import ReceptiveField
from archspec.backends.torch_ops import TORCH_OPS
from archspec.ops.rearrange import Rearrange

ROOT = Path(__file__).resolve().parents[1]

# (input shape, pattern, sizes): heads, windows, grids, patches, token/channel transposes, unit axes.
PATTERNS = [
    ((6, 4, 5), "c h w -> h w c", {}),
    ((20, 6), "(h w) c -> c h w", {"h": 4}),
    ((6, 4, 5), "c h w -> (h w) c", {}),
    ((10, 24), "n (three heads d) -> three heads n d", {"three": 3, "heads": 2}),
    ((2, 10, 4), "heads n d -> n (heads d)", {}),
    ((8, 6, 3), "(h wh) (w ww) c -> (h w) (wh ww) c", {"wh": 2, "ww": 3}),
    ((8, 6, 3), "(wh h) (ww w) c -> (h w) (wh ww) c", {"wh": 2, "ww": 3}),
    ((4, 6, 3), "(h wh w ww) n c -> (h wh) (w ww) n c", {"h": 1, "wh": 2, "w": 2}),
    ((3, 8, 6), "c (h p) (w q) -> (h w) (p q c)", {"p": 2, "q": 3}),
    ((6, 1, 1), "c 1 1 -> c", {}),
    ((6, 4), "c n -> c () n 1", {}),
    ((12, 5), "(g c) n -> c g n", {"g": 3}),
]


def batched(pattern: str) -> str:
    left, right = pattern.split("->")
    return f"b {left.strip()} -> b {right.strip()}"


def network(shape: tuple[int, ...], pattern: str, sizes: dict[str, int]) -> str:
    arguments = "".join(f", {name}={value}" for name, value in sizes.items())
    return (
        f"network r:\n  input: {'x'.join(map(str, shape))}\n  layers:\n"
        f'    x: identity\n    t: rearrange("{pattern}"{arguments})\n'
    )


@pytest.mark.parametrize(("shape", "pattern", "sizes"), PATTERNS)
def test_rearrange_is_einops_on_each_sample(
    shape: tuple[int, ...], pattern: str, sizes: dict[str, int], tmp_path: Path
) -> None:
    net = archspec.load("t.arch", text=network(shape, pattern, sizes))
    x = torch.randn(2, *shape)
    expected = einops.rearrange(x, batched(pattern), **sizes)
    assert net.graph.nodes[-1].shape == tuple(expected.shape[1:])
    model = net.build().eval()
    assert torch.equal(model(x), expected)
    generated = load_source(net.to_source(), tmp_path).build().eval()
    assert torch.equal(generated(x), expected)
    # the same realisation on a tensor without a batch axis (one made from parameters alone)
    function = TORCH_OPS["rearrange"].function
    assert function is not None
    assert torch.equal(function(net.graph.nodes[-1].op, model, "t")(x[0]), expected[0])


@pytest.mark.parametrize(("shape", "pattern", "sizes"), PATTERNS)
def test_view_or_copy_as_torch_returns_it(
    shape: tuple[int, ...], pattern: str, sizes: dict[str, int]
) -> None:
    op = archspec.load("t.arch", text=network(shape, pattern, sizes)).graph.nodes[-1].op
    x = torch.randn(2, *shape)
    out = einops.rearrange(x, batched(pattern), **sizes)
    shares = out.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    assert op.is_view(training=True) == shares


def test_counts_and_saved_bytes_against_torch() -> None:
    text = dedent(
        """
        network heads:
          input: 16x8
          layers:
            qkv: linear(24)
            h: rearrange("n (three heads d) -> three heads n d", three=3, heads=2)
            p: softmax
            m: rearrange("three heads n d -> n (three heads d)")
            linear(4)
        """
    )
    net = archspec.load("t.arch", text=text)
    analysis = net.analyze(count="all", batch=2)
    rows = {row.name: row for row in analysis.rows}
    assert (rows["h"].output_shape, rows["m"].output_shape) == ((3, 2, 16, 4), (16, 24))
    assert rows["h"].macs == rows["h"].flops == rows["m"].flops == 0
    torch.manual_seed(0)
    model = net.build()
    x = torch.randn(2, 16, 8)
    from torch.utils.flop_counter import FlopCounterMode

    from archspec.backends.measure import inference_peak_bytes, saved_activation_bytes

    with FlopCounterMode(display=False) as counter:
        model(x)
    assert counter.get_total_flops() == 2 * 2 * analysis.macs  # the linear layers, for the batch of 2
    assert analysis.activation_bytes == saved_activation_bytes(model, x)
    assert analysis.peak_activation_bytes == inference_peak_bytes(model, x)


def gradient_rows_and_columns(
    model: torch.nn.Module, shape: tuple[int, ...], unit: tuple[int, ...]
) -> set[tuple[int, int]]:
    """The input positions (h, w) of a CxHxW input whose gradient is non-zero for one output element."""
    x = torch.randn(1, *shape, requires_grad=True)
    model.eval()(x)[(0, *unit)].backward()
    assert x.grad is not None
    return {(h, w) for h, w in x.grad[0].abs().sum(0).nonzero().tolist()}


def test_a_permutation_keeps_the_field_and_a_regrouping_makes_it_global() -> None:
    permuted = dedent(
        """
        network p:
          input: 2x8x8
          layers:
            conv(4, 3, pad=1)
            rearrange("c h w -> h w c")
            layernorm(dim=-1)
            rearrange("h w c -> c h w")
        """
    )
    net = archspec.load("t.arch", text=permuted)
    field = net.analyze().rows[-1].receptive_field
    assert isinstance(field, ReceptiveField) and field.size == (3, 3)
    torch.manual_seed(0)
    seen = gradient_rows_and_columns(net.build(), (2, 8, 8), (0, 4, 4))
    assert seen == {(h, w) for h in (3, 4, 5) for w in (3, 4, 5)}  # the conv's 3x3, nothing more
    tokens = dedent(
        """
        network t:
          input: 2x8x8
          layers:
            conv(4, 3, pad=1)
            rearrange("c h w -> (h w) c")
            softmax(dim=0)
            rearrange("(h w) c -> c h w", h=8)
        """
    )
    net = archspec.load("t.arch", text=tokens)
    assert net.analyze().rows[2].receptive_field == "global"
    torch.manual_seed(0)
    seen = gradient_rows_and_columns(net.build(), (2, 8, 8), (0, 4, 4))
    assert len(seen) == 64  # a softmax over the tokens reaches every position


@pytest.mark.parametrize(
    "shuffle",
    ['rearrange("(g c) h w -> (c g) h w", g=2)', "channel_shuffle(2)", 'rearrange("c h w -> c h w")'],
)
def test_a_regrouping_of_the_channels_alone_keeps_the_field(shuffle: str) -> None:
    # ShuffleNet's channel shuffle written as a rearrange moves no pixel: the field once became global
    # at the first shuffle, so a whole ShuffleNetV2 had a global field where torch's gradient has 7x7.
    text = dedent(
        f"""
        network s:
          input: 4x12x12
          layers:
            conv(8, 3, pad=1)
            {shuffle}
            conv(8, 5, pad=2)
        """
    )
    net = archspec.load("t.arch", text=text)
    field = net.analyze().rows[-1].receptive_field
    assert isinstance(field, ReceptiveField) and field.size == (7, 7)
    torch.manual_seed(0)
    seen = gradient_rows_and_columns(net.build(), (4, 12, 12), (3, 6, 6))
    assert seen == {(h, w) for h in range(3, 10) for w in range(3, 10)}


def test_the_pattern_is_read_without_torch() -> None:
    """einops' parser imports no tensor library: checking a rearrange leaves torch unloaded."""
    code = (
        "import sys\nfrom archspec.ops.rearrange import Rearrange\n"
        "Rearrange.create({'pattern': 'c (h w) -> h w c', 'h': 2}, [(3, 4)])\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(result.stdout.split())
    assert "einops.parsing" in loaded and not {m for m in loaded if m.split(".")[0] in {"torch", "numpy"}}


def test_description_and_label() -> None:
    op = Rearrange.create({"pattern": "c (h  w) -> h w c", "h": 2}, [(3, 4)])
    assert op.describe() == 'rearrange("c (h  w) -> h w c", h=2)'
    assert op.label() == "c (h w) -> h w c"
    assert isinstance(op, Rearrange) and op.torch_pattern() == "... c (h w) -> ... h w c"


MISUSE = [
    (
        'r: rearrange("c h w")',
        """
        t.arch:5:18: error: r: rearrange: the pattern "c h w" needs one '->' between its two sides
           5 |     r: rearrange("c h w")
                                ^^^^^^^
          hint: e.g. rearrange("(h w) c -> c h w", h=7)
        """,
    ),
    (
        'r: rearrange("c (h w -> c h w")',
        """
        t.arch:5:18: error: r: rearrange: cannot read the pattern "c (h w -> c h w": Imbalanced parentheses in expression: "c (h w "
           5 |     r: rearrange("c (h w -> c h w")
                                ^^^^^^^^^^^^^^^^^
        """,
    ),
    (
        'r: rearrange("c h+w -> c h w")',
        """
        t.arch:5:18: error: r: rearrange: cannot read the pattern "c h+w -> c h w": Unknown character '+'
           5 |     r: rearrange("c h+w -> c h w")
                                ^^^^^^^^^^^^^^^^
        """,
    ),
    (
        'r: rearrange("... h w -> ... w h")',
        """
        t.arch:5:18: error: r: rearrange: the pattern "... h w -> ... w h" uses '...'
           5 |     r: rearrange("... h w -> ... w h")
                                ^^^^^^^^^^^^^^^^^^^^
          hint: the pattern names every axis of one sample; the batch axis is added by archspec
        """,
    ),
    (
        'r: rearrange("c (h 2) w -> c h 2 w")',
        """
        t.arch:5:18: error: r: rearrange: the pattern "c (h 2) w -> c h 2 w" writes a size as an axis; only 1 may be written
           5 |     r: rearrange("c (h 2) w -> c h 2 w")
                                ^^^^^^^^^^^^^^^^^^^^^^
          hint: name the axis and give its size: rearrange("(h p) w -> h p w", p=2)
        """,
    ),
    (
        'r: rearrange("c h w -> c h")',
        """
        t.arch:5:18: error: r: rearrange: axis w is on one side of "c h w -> c h" only
           5 |     r: rearrange("c h w -> c h")
                                ^^^^^^^^^^^^^^
          hint: rearrange moves axes: each axis appears on both sides
        """,
    ),
    (
        'r: rearrange("(h w) c -> c h w", h=2)',
        """
        t.arch:5:18: error: r: rearrange: the left side of "(h w) c -> c h w" has 2 axes, the input 6x6x6 3
           5 |     r: rearrange("(h w) c -> c h w", h=2)
                                ^^^^^^^^^^^^^^^^^^
          hint: the pattern describes one sample (batch excluded): one axis or group per input axis
        """,
    ),
    (
        'r: rearrange("c h w -> c w h", p=2)',
        """
        t.arch:5:36: error: r: rearrange: p= names no axis of "c h w -> c w h"
           5 |     r: rearrange("c h w -> c w h", p=2)
                                                  ^^^
        """,
    ),
    (
        'r: rearrange("c (h p) w -> c h p w", p=4)',
        """
        t.arch:5:42: error: r: rearrange: axis (h p) has size 6, which p=4 does not divide
           5 |     r: rearrange("c (h p) w -> c h p w", p=4)
                                                        ^^^
        """,
    ),
    (
        'r: rearrange("c (h p) w -> c h p w", h=2, p=2)',
        """
        t.arch:5:42: error: r: rearrange: axis (h p) has size 6, not h * p = 2 * 2 = 4
           5 |     r: rearrange("c (h p) w -> c h p w", h=2, p=2)
                                                        ^^^
        """,
    ),
    (
        'r: rearrange("c h w -> c h w", w=5)',
        """
        t.arch:5:36: error: r: rearrange: axis w has size 6, not 5
           5 |     r: rearrange("c h w -> c h w", w=5)
                                                  ^^^
        """,
    ),
    (
        'r: rearrange("c (h p) w -> c h p w")',
        """
        t.arch:5:18: error: r: rearrange: cannot infer the sizes of h and p from axis (h p) (size 6)
           5 |     r: rearrange("c (h p) w -> c h p w")
                                ^^^^^^^^^^^^^^^^^^^^^^
          hint: give all but one by keyword: rearrange(..., h=...)
        """,
    ),
    (
        'r: rearrange("c (h p) w -> c h p w", p=0)',
        """
        t.arch:5:42: error: r: rearrange: the size of axis 'p' must be a positive integer, got 0
           5 |     r: rearrange("c (h p) w -> c h p w", p=0)
                                                        ^^^
        """,
    ),
    (
        'r: rearrange("c h w -> c w h", pattern="c h w -> w h c")',
        """
        t.arch:5:36: error: rearrange got argument 'pattern' twice
           5 |     r: rearrange("c h w -> c w h", pattern="c h w -> w h c")
                                                  ^^^^^^^^^^^^^^^^^^^^^^^^
        """,
    ),
]


@pytest.mark.parametrize(("line", "message"), MISUSE)
def test_misuse_is_an_error(line: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = f"network t:\n  input: 4x8x8\n  layers:\n    a: conv(6, 3)\n    {line}\n"
    assert rendered(spec, tmp_path, monkeypatch) == dedent(message)
