"""The small language gaps of issue 21 (unpacking, slices, enumerate/zip, a shortcut written first, a
chain that ends in a merge) and the bugs met with them (layer_scale on a channels-last map, `check` and
`in_shapes`, a split's error along another dimension than the channels).

Values are compared with Python's own slicing, unpacking, enumerate and zip; modules with hand-written
torch modules (same seed, or the same weights); errors by their whole text.
"""

# ruff: noqa: E501 - the expected messages are verbatim, long lines included
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import archspec
from archspec.checks import check_specs
from archspec.errors import SpecError
from archspec.expr import evaluate
from archspec.syntax import parse, parse_expression


def dedent(text: str) -> str:
    return textwrap.dedent(text).removeprefix("\n")


def load_text(text: str, **params: Any) -> archspec.Network:
    return archspec.load("t.arch", text=dedent(text), **params)


def error_text(text: str) -> str:
    """The whole message of the error that loading ``text`` raises."""
    with pytest.raises(SpecError) as caught:
        load_text(text)
    return caught.value.render() + "\n"


# ---------------------------------------------------------------- values: Python is the oracle

INTS = st.integers(-8, 8)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 99), max_size=8),
    st.one_of(st.none(), INTS),
    st.one_of(st.none(), INTS),
    st.one_of(st.none(), INTS.filter(lambda n: n != 0)),
)
def test_a_slice_is_pythons_slice(
    values: list[int], start: int | None, stop: int | None, step: int | None
) -> None:
    def part(bound: int | None) -> str:
        return "" if bound is None else str(bound)

    text = f"{values}[{part(start)}:{part(stop)}" + ("" if step is None else f":{step}") + "]"
    assert evaluate(parse_expression(text), {}) == tuple(values[start:stop:step])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 9), max_size=6), st.integers(-3, 3))
def test_enumerate_and_zip_are_pythons(values: list[int], start: int) -> None:
    env = {"a": tuple(values), "b": tuple(v * 2 for v in values)}
    assert evaluate(parse_expression(f"enumerate(a, start={start})"), env) == tuple(
        enumerate(values, start=start)
    )
    assert evaluate(parse_expression("zip(a, b)"), env) == tuple(zip(env["a"], env["b"], strict=True))


def test_a_table_is_read_with_unpacking_slices_and_enumerate() -> None:
    settings_table = [[1, 16, 1, 1, "a"], [6, 24, 2, 2, "b"], [6, 32, 3, 2, "c"]]
    net = load_text(
        f"""
        network table:
          input: 3x32x32
          params:
            settings = {settings_table}
          layers:
            for i, row in enumerate(settings):
              t, c, n, s = row[:4]
              "conv{{i}}": conv(c * t, 3, stride=s, pad=1)
            for c, k in zip([8, 4], [3, 1]):
              conv(c, k, pad=k // 2)
        """
    )
    convs = [node.op for node in net.graph.nodes if node.op.kind == "conv2d"]
    expected = []
    for i, row in enumerate(settings_table):  # what Python's unpacking of the same rows gives
        t, c, _, s = row[:4]
        expected.append((f"conv{i}", c * t, (s, s)))
    names = [node.name for node in net.graph.nodes if node.op.kind == "conv2d"][:3]
    assert [(name, op.out_channels, op.stride) for name, op in zip(names, convs, strict=False)] == expected
    assert [(op.out_channels, op.kernel_size) for op in convs[3:]] == [(8, (3, 3)), (4, (1, 1))]


def test_unpacking_errors_name_the_list_and_the_names() -> None:
    assert error_text(
        """
        network n:
          input: 3x8x8
          layers:
            t, k = [1, 2, 3]
            relu
        """
    ) == dedent(
        """
        t.arch:4:12: error: cannot unpack [1, 2, 3] into 2 names (t, k)
           4 |     t, k = [1, 2, 3]
                          ^^^^^^^^^
        """
    )
    assert error_text(
        """
        network n:
          input: 3x8x8
          layers:
            for a, b in zip([1, 2], [3]):
              relu
        """
    ) == dedent(
        """
        t.arch:4:17: error: zip() takes lists of one length, got lengths 2, 1
           4 |     for a, b in zip([1, 2], [3]):
                               ^^^^^^^^^^^^^^^^
        """
    )
    assert error_text(
        """
        network n:
          input: 3x8x8
          layers:
            x = [1, 2][:1.5]
            relu
        """
    ) == dedent(
        """
        t.arch:4:17: error: a slice bound must be an integer, got 1.5
           4 |     x = [1, 2][:1.5]
                               ^^^
        """
    )


# ---------------------------------------------------------------- a shortcut written first


PRE_ACT = """
network pre:
  input: 8x8x8
  layers:
    residual:
      shortcut downsample: conv(16, 1, stride=2, bias=false) >> batchnorm
      conv1: conv(16, 3, stride=2, pad=1, bias=false)
      bn1: batchnorm
      relu
      conv2: conv(16, 3, pad=1, bias=false)
"""


class _ShortcutFirst(nn.Module):
    """The block as code that creates its shortcut before its convolutions writes it."""

    def __init__(self) -> None:
        super().__init__()
        self.downsample = nn.Sequential(nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16))
        self.conv1 = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(torch.relu(self.bn1(self.conv1(x)))) + self.downsample(x)


def test_a_shortcut_written_first_draws_its_weights_first() -> None:
    torch.manual_seed(3)
    theirs = _ShortcutFirst().eval()
    torch.manual_seed(3)
    ours = load_text(PRE_ACT).build().eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for name, tensor in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[name], tensor), name
    x = torch.randn(2, 8, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-6)
    # written after the body, the same shortcut comes last and draws other weights from the seed
    after = PRE_ACT.replace("      shortcut downsample: conv(16, 1, stride=2, bias=false) >> batchnorm\n", "")
    after += "    shortcut downsample: conv(16, 1, stride=2, bias=false) >> batchnorm\n"
    torch.manual_seed(3)
    other = load_text(after).build()
    assert next(iter(other.state_dict())).startswith("conv1")
    assert not torch.equal(
        other.state_dict()["downsample.0.weight"], theirs.state_dict()["downsample.0.weight"]
    )


def test_a_shortcut_written_first_cannot_be_auto() -> None:
    assert error_text(
        """
        network n:
          input: 8x8x8
          layers:
            residual:
              shortcut: auto
              conv(16, 3, stride=2, pad=1)
        """
    ) == dedent(
        """
        t.arch:5:17: error: `shortcut: auto` cannot come first in a residual: the projection follows from the body's output, which is not made yet
           5 |       shortcut: auto
                               ^^^^
          hint: write the projection (`shortcut: conv(out, 1, stride=s, bias=false) >> batchnorm`), or move `shortcut: auto` after the body
        """
    )


# ---------------------------------------------------------------- a chain that ends in a merge


def test_a_chain_that_ends_in_a_merge_inside_a_branch() -> None:
    net = load_text(
        """
        network e:
          input: 32x8x8
          layers:
            concat:
              b1: conv(16, 1)
              b3: conv(24, 1) >> concat:
                conv(24, (1, 3), pad=(0, 1))
                conv(24, (3, 1), pad=(1, 0))
        """
    )
    ours = net.build().eval()
    c1, c3 = nn.Conv2d(32, 16, 1), nn.Conv2d(32, 24, 1)
    c3a, c3b = nn.Conv2d(24, 24, (1, 3), padding=(0, 1)), nn.Conv2d(24, 24, (3, 1), padding=(1, 0))
    theirs = nn.ModuleList([c1, c3, c3a, c3b])
    for mine, their in zip(ours.parameters(), theirs.parameters(), strict=True):  # module order
        assert mine.shape == their.shape
        their.data.copy_(mine.data)
    x = torch.randn(2, 32, 8, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        y = c3(x)
        expected = torch.cat([c1(x), torch.cat([c3a(y), c3b(y)], dim=1)], dim=1)
        torch.testing.assert_close(ours(x), expected, rtol=1e-5, atol=1e-6)
    assert net.graph.output_shape == (64, 8, 8)


# ---------------------------------------------------------------- syntax errors: a hint on each

SYNTAX_ERRORS = [
    (
        "    t, k =\n",
        "4:11",
        "missing the value after '=' of an unpacking",
        "one name per element: `t, k, s = row`",
    ),
    (
        "    t, k [1, 2]\n",
        "4:10",
        "after the names 'a, b' comes '=' (an unpacking) or 'in' (a loop)",
        "`t, k, s = row` binds the elements of a list; `for t, k in rows:` binds those of each row",
    ),
    (
        "    t, 3 = row\n",
        "4:8",
        "an unpacking binds names: `t, k = row`",
        "one name per element, at least two (for one element write `t = row[0]`)",
    ),
    (
        "    (t, k) = row\n",
        "4:7",
        "items inside '( )' are joined by '>>', not ','",
        "an unpacking is written without parentheses: `t, k = row`",
    ),
    (
        "    for i, (a, b) in enumerate(rows):\n      relu\n",
        "4:12",
        "a loop unpacks into plain names: `for i, row in enumerate(rows):`",
        "unpack the row in the body: `a, b = row`",
    ),
    (
        "    x = r[1:2:3:4]\n",
        "4:16",
        "a slice has at most three parts: `row[start:stop:step]`",
        "each part may be left out: `row[:4]`, `row[::2]`",
    ),
    (
        "    x = r[1, 2]\n",
        "4:12",
        "an index is one integer, or a slice: `row[1:3]`",
        "index twice for a nested list: `rows[1][2]`",
    ),
    (
        "    x = 1, 2\n",
        "4:10",
        "a list or tuple is written in brackets: `[1, 2]` or `(1, 2)`",
        "to bind several names at once, put them left of '=': `a, b = row`",
    ),
    (
        "    relu >> concat: relu\n",
        "4:21",
        "the branches of a merge at the end of a chain go on the lines below it, indented",
        "`conv(48, 1) >> concat:`, then one branch a line, each starting from the chain's output",
    ),
    (
        "    relu >> concat\n      relu\n      relu\n",
        "5:7",
        "unexpected indentation: missing ':' after the merge at the end of the chain",
        "`conv(48, 1) >> concat:` opens the branches; `concat from a, b` merges named layers instead",
    ),
    (
        "    relu >> concat:\n      relu\n      relu\n    >> relu\n",
        "7:5",
        "a line cannot start with '>>'",
        "a chain goes on within its line; the next line already reads the previous one's output",
    ),
    (
        "    residual:\n      shortcut: relu\n    relu\n",
        "5:21",
        "a residual needs a body after its shortcut",
        "a shortcut written first is followed by the body, at the same indentation: "
        "`residual:` / `shortcut: conv(64, 1)` / `conv(64, 3, pad=1)`",
    ),
    (
        "    residual:\n      relu\n      shortcut: relu\n",
        "6:7",
        "a shortcut is written first in a residual's body or after the body, not among its layers",
        "move it to the top of the body (made first) or after the body, at the indentation of "
        "`residual:` (made last)",
    ),
    (
        "    residual:\n      shortcut: relu\n      relu\n    shortcut: relu\n",
        "7:5",
        "a residual has one shortcut, and this one has a shortcut in its body already",
        "keep the shortcut first in the body (made before the body) or after it (made after)",
    ),
]


@pytest.mark.parametrize(
    ("body", "place", "message", "hint"), SYNTAX_ERRORS, ids=[c[2] for c in SYNTAX_ERRORS]
)
def test_each_syntax_error_of_the_new_constructs_has_a_hint(
    body: str, place: str, message: str, hint: str
) -> None:
    text = "network n:\n  input: 3x8x8\n  layers:\n" + body
    with pytest.raises(SpecError) as caught:
        parse(text, "t.arch")
    first, *rest = caught.value.render().splitlines()
    assert first == f"t.arch:{place}: error: {message}"
    assert rest[-1] == f"  hint: {hint}"


@pytest.mark.parametrize("text", ["network n:\n  params:\n    a, b = row\n", "a, b = row\n"])
def test_unpacking_outside_a_layer_body_is_explained(text: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse(text, "t.arch")
    lines = caught.value.render().splitlines()
    assert lines[0].endswith("error: unpacking (`a, b = row`) is written in a layer body")
    assert lines[-1] == "  hint: in `params:` and at the top of a file, bind one name at a time: `a = row[0]`"


# ---------------------------------------------------------------- bugs


def test_layer_scale_on_a_channels_last_map_scales_the_channels_or_is_refused() -> None:
    permuted = "network n:\n  input: 64x8x8\n  layers:\n    permute([1, 2, 0])\n    s: layer_scale(0.5{})\n"
    assert error_text(permuted.format("")) == dedent(
        """
        t.arch:5:8: error: s: layer_scale on the 3-d map 8x8x64 needs `dim` (a CxHxW and an HxWxC map look alike)
           5 |     s: layer_scale(0.5)
                      ^^^^^^^^^^^^^^^^
          hint: layer_scale(dim=0) works on the channels of a CxHxW map; layer_scale(dim=-1) on the last dimension of a channels-last HxWxC map (after permute([1, 2, 0]))
        """
    )
    net = load_text(permuted.format(", dim=-1"))
    module = net.build()
    gamma = torch.rand(64)  # torch's own broadcasting of a per-channel scale over the last axis
    module.get_parameter("s").data.copy_(gamma)
    assert net.params == gamma.numel() == 64
    x = torch.randn(2, 64, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(module(x), x.permute(0, 2, 3, 1) * gamma)


def test_check_accepts_in_shapes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.arch").write_text(
        dedent(
            """
            block Join():
              conv(sum([shape[0] for shape in in_shapes]), 1) from inputs[0]

            network n:
              input: 3x8x8
              layers:
                a: conv(4, 1)
                b: conv(6, 1) from input
                Join() from a, b
            """
        ),
        encoding="utf-8",
    )
    found = check_specs(["t.arch"])
    assert [e.render() for e in found.errors] == []
    assert load_text((tmp_path / "t.arch").read_text()).graph.nodes[-1].op.out_channels == 10


def test_a_split_along_the_height_does_not_call_it_channels() -> None:
    assert error_text(
        """
        network n:
          input: 64x16x16
          layers:
            split([4, 4], 0, dim=1)
        """
    ) == dedent(
        """
        t.arch:4:11: error: 0: split: sizes [4, 4] add up to 8, not the size 16 of dimension 1 of 64x16x16
           4 |     split([4, 4], 0, dim=1)
                         ^^^^^^
        """
    )
