"""``param`` and ``buffer`` declarations (issue 21, item 1): learned tensors and constant tensors of the
enclosing module, under the names the spec gives. Oracles: a hand-written torch module with the same
names (strict ``load_state_dict`` both ways, same-seed construction), torch's ``numel`` for the counts,
``backends.measure`` for the memory of a tensor computed once for the whole batch, and the generated
source (which must build the same module)."""

# ruff: noqa: E501 - the expected messages are verbatim, long lines included

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
from oracles import load_source, persistent_buffers
from torch import nn

import archspec
from archspec.backends.measure import saved_activation_bytes
from archspec.checks import check_specs
from archspec.errors import SpecError


def dedent(text: str) -> str:
    return textwrap.dedent(text).removeprefix("\n")


# A block holding a parameter, a persistent and a non-persistent buffer, between two linear layers.
HOLDER = dedent(
    """
    block Holder(dim):
      qkv: linear(dim * 3)
      param logit_scale: [2, 1, 1], init=constant(0.5)
      param table: [9, 2], init=trunc_normal(std=0.02)
      buffer index: [[i + j for j in range(3)] for i in range(3)]
      buffer coords: [[0.5 * i, -0.5 * i] for i in range(5)], persistent=false
      proj: linear(dim) from qkv

    network holder:
      input: 4x6
      layers:
        attn: Holder(6)
    """
)


class TorchHolder(nn.Module):
    """HOLDER's block written in torch, in the same construction order."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.qkv = nn.Linear(dim, dim * 3)
        self.logit_scale = nn.Parameter(torch.full((2, 1, 1), 0.5))
        self.table = nn.Parameter(nn.init.trunc_normal_(torch.empty(9, 2), std=0.02))
        self.register_buffer("index", torch.tensor([[i + j for j in range(3)] for i in range(3)]))
        coords = torch.tensor([[0.5 * i, -0.5 * i] for i in range(5)])
        self.register_buffer("coords", coords, persistent=False)
        self.proj = nn.Linear(dim * 3, dim)


class TorchNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = TorchHolder(6)


def test_names_load_strictly_and_the_same_seed_draws_the_same_numbers() -> None:
    net = archspec.load("t.arch", text=HOLDER)
    torch.manual_seed(3)
    built = net.build()
    torch.manual_seed(3)
    reference = TorchNet()
    ours, theirs = built.state_dict(), reference.state_dict()
    assert list(ours) == list(theirs)  # the same keys, in torch's registration order
    for key, value in theirs.items():
        assert torch.equal(ours[key], value), key
        assert ours[key].dtype == value.dtype, key
    reference.load_state_dict(ours, strict=True)
    built.load_state_dict(theirs, strict=True)
    # the non-persistent buffer is held, with its value and dtype, but not in the state dict
    assert torch.equal(dict(built.named_buffers())["attn.coords"], reference.attn.coords)


def test_counts_follow_torch() -> None:
    net = archspec.load("t.arch", text=HOLDER)
    analysis = net.analyze()
    reference = TorchNet()
    assert analysis.params == sum(p.numel() for p in reference.parameters())
    assert analysis.buffers == persistent_buffers(reference)
    rows = {row.name: row for row in analysis.rows}
    assert rows["attn.table"].params == 18 and rows["attn.index"].params == 0


def test_the_generated_source_builds_the_same_module(tmp_path: Path) -> None:
    net = archspec.load("t.arch", text=HOLDER)
    source = net.to_source()
    assert "self.logit_scale = nn.Parameter(torch.full(" in source or "nn.init.constant_(" in source
    assert "self.table = nn.Parameter(nn.init.trunc_normal_(torch.empty(9, 2), std=0.02))" in source
    assert 'self.register_buffer("index", torch.tensor([[0, 1, 2], [1, 2, 3], [2, 3, 4]]))' in source
    assert '"coords",' in source and "persistent=False" in source
    assert "self.table  #" not in source  # read where it is used, not copied to a local first
    torch.manual_seed(5)
    built = net.build()
    torch.manual_seed(5)
    generated = load_source(source, tmp_path).build()
    ours, theirs = built.state_dict(), generated.state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key


def test_a_large_buffer_is_written_as_its_computation(tmp_path: Path) -> None:
    text = dedent(
        """
        network t:
          input: 8x8
          layers:
            buffer index: [[(i // 4 - j // 4 + 3) * 7 + i % 4 - j % 4 + 3 for j in range(16)] for i in range(16)]
            param table: [49, 8], init=normal(std=0.1)
            bias: gather from table, index
            add from bias, input
        """
    )
    text = text.replace("input: 8x8", "input: 16x16x8")
    net = archspec.load("t.arch", text=text)
    source = net.to_source()
    assert "* 7 + i % 4 - j % 4 + 3 for j in range(16)]" in source and "for i in range(16)" in source
    assert source.count(",") < 200  # not 256 numbers
    torch.manual_seed(0)
    built = net.build()
    generated = load_source(source, tmp_path).build()
    generated.load_state_dict(built.state_dict())
    x = torch.randn(2, 16, 16, 8)
    expected = built.state_dict()["table"][built.index] + x
    torch.testing.assert_close(built(x), expected)
    torch.testing.assert_close(generated(x), expected)


def test_an_init_rule_targets_a_param_by_name() -> None:
    text = HOLDER + '  init:\n    "*.table": constant(3.0)\n'
    net = archspec.load("t.arch", text=text)
    model = net.build()
    assert torch.equal(model.state_dict()["attn.table"], torch.full((9, 2), 3.0))


# Tensors computed from parameters and buffers alone have no batch axis: computed once per forward.
ONCE = dedent(
    """
    network once:
      input: 4x6
      layers:
        param table: [9, 4]
        buffer index: [[i + j for j in range(4)] for i in range(4)]
        bias: gather from table, index
        scores: einsum("n d, m d -> n m") from input, input
        lin: linear(4) from input
        w: einsum("n m, m k c -> n k c") from lin, bias
        wm: mean(2)
        add from wm, scores
    """
)


def test_a_tensor_computed_from_params_has_no_batch_axis() -> None:
    net = archspec.load("t.arch", text=ONCE)
    batched = {node.name: node.batched for node in net.graph.nodes}
    assert batched["table"] is batched["index"] is batched["bias"] is False
    assert batched["input"] is batched["lin"] is batched["w"] is True


@pytest.mark.parametrize("batch", [1, 3])
def test_memory_counts_an_unbatched_tensor_once(batch: int) -> None:
    net = archspec.load("t.arch", text=ONCE)
    analysis = net.analyze(batch=batch)
    torch.manual_seed(0)
    model = net.build()
    with torch.no_grad():
        model.table.normal_()
    assert analysis.activation_bytes == saved_activation_bytes(model, torch.randn(batch, 4, 6))
    rows = {row.name: row for row in analysis.rows}
    assert rows["bias"].activation_bytes == 4 * 4 * 4 * 4  # 4x4x4 float32, whatever the batch
    assert rows["table"].activation_bytes == 0  # the parameter itself: counted with the weights


def rendered(spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.arch").write_text(dedent(spec), encoding="utf-8")
    return "".join(e.render() + "\n" for e in check_specs(["t.arch"]).errors)


MISUSE = [
    (
        "param w: [4, 0]",
        """
        t.arch:5:14: error: param 'w': every size must be a positive integer, got 0 in [4, 0]
           5 |     param w: [4, 0]
                            ^^^^^^
          hint: a param's shape is a list of sizes: `param table: [169, 3]`
        """,
    ),
    (
        "param w: 4",
        """
        t.arch:5:14: error: param 'w': the shape must be a list of sizes, got 4
           5 |     param w: 4
                            ^
          hint: a param's shape is a list of sizes: `param table: [169, 3]`
        """,
    ),
    (
        "param w: [4], init=trunc_normal(sd=0.02)",
        """
        t.arch:5:37: error: trunc_normal has no argument 'sd'
           5 |     param w: [4], init=trunc_normal(sd=0.02)
                                                   ^^^^^^^
          hint: did you mean 'std'?
        """,
    ),
    (
        "param w: [4], init=3",
        """
        t.arch:5:24: error: param 'w': init takes an init scheme, such as zeros or trunc_normal(std=0.02)
           5 |     param w: [4], init=3
                                      ^
          hint: the schemes are those of `init:` rules (docs/language.md#initialisation)
        """,
    ),
    (
        "param w: [4], bias=true",
        """
        t.arch:5:19: error: param 'w' has no setting 'bias'
           5 |     param w: [4], bias=true
                                 ^^^^^^^^^
          hint: its settings: init
        """,
    ),
    (
        "param a: [3]",
        """
        t.arch:5:11: error: duplicate layer name 'a' in the network
           5 |     param a: [3]
                         ^
        """,
    ),
    (
        "buffer b: [[1, 2], [3]]",
        """
        t.arch:5:15: error: buffer 'b': the value is not rectangular: at depth 2 a list of 2 beside a list of 1
           5 |     buffer b: [[1, 2], [3]]
                             ^^^^^^^^^^^^^
          hint: every list at one depth must have the same length
        """,
    ),
    (
        "buffer b: [1, 2], dtype=int8",
        """
        t.arch:5:29: error: buffer 'b': unknown dtype int8
           5 |     buffer b: [1, 2], dtype=int8
                                           ^^^^
          hint: the dtypes: int64, int32, float32, float64, bool
        """,
    ),
    (
        "buffer b: [1.5, 2], dtype=int64",
        """
        t.arch:5:15: error: buffer 'b': the int64 value holds the fraction 1.5
           5 |     buffer b: [1.5, 2], dtype=int64
                             ^^^^^^^^
        """,
    ),
    (
        "buffer b: [1, 2], persistent=1",
        """
        t.arch:5:34: error: buffer 'b': persistent must be true or false, got 1
           5 |     buffer b: [1, 2], persistent=1
                                                ^
        """,
    ),
    (
        "param w: [6, 2]\n    g: gather from w, a",
        """
        t.arch:6:8: error: g: gather: the index 'a' is not an integer tensor
           6 |     g: gather from w, a
                      ^^^^^^
          hint: the index is an integer buffer (`buffer index: [...]`), or a view of one
        """,
    ),
    (
        "g: gather from a, input",
        """
        t.arch:5:8: error: g: gather: both the table and the index have a batch axis
           5 |     g: gather from a, input
                      ^^^^^^
          hint: gather picks rows of a table computed once (a param, or from params and buffers)
        """,
    ),
    (
        "param w: [3, 4]\n    s: split([1, 2], 0, dim=0) from w",
        """
        t.arch:6:8: error: s: split: dim=0 on a tensor without a batch axis (computed from parameters and buffers alone); count the axis from the end
           6 |     s: split([1, 2], 0, dim=0) from w
                      ^^^^^^^^^^^^^^^^^^^^^^^
          hint: dim=-2 names the same axis
        """,
    ),
    (
        "param w: [6, 2]\n    g: gather from w, idx",
        """
        t.arch:6:23: error: unknown layer 'idx' (a reference names an earlier named layer of this network)
           6 |     g: gather from w, idx
                                     ^^^
        """,
    ),
]


@pytest.mark.parametrize(("line", "message"), MISUSE)
def test_misuse_is_an_error(line: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = f"network t:\n  input: 4x8x8\n  layers:\n    a: conv(6, 3)\n    {line}\n"
    assert rendered(spec, tmp_path, monkeypatch) == dedent(message)


def test_a_declaration_is_not_a_position_and_the_flow_goes_past_it() -> None:
    text = "network t:\n  input: 4x6\n  layers:\n    linear(5)\n    param p: [2]\n    linear(3)\n"
    net = archspec.load("t.arch", text=text)
    assert [node.name for node in net.graph.nodes] == ["input", "0", "p", "1"]
    assert net.graph.nodes[3].inputs == (1,)


@pytest.mark.parametrize(
    ("line", "column", "message", "hint"),
    [
        (
            "param scale [3]",
            17,
            "unexpected '[' (expected ':', end of line)",
            "a parameter is declared `param NAME: [sizes], init=SCHEME`, e.g. `param scale: [96], init=ones`",
        ),
        (
            "param scale: [3] init=ones",
            22,
            "unexpected 'init'",
            "a parameter is declared `param NAME: [sizes], init=SCHEME`, e.g. `param scale: [96], init=ones`",
        ),
        (
            "buffer idx = [1, 2]",
            16,
            "unexpected '=' (expected ':', end of line)",
            "a buffer is declared `buffer NAME: VALUE` with optional `, persistent=false` and `, dtype=int64`; "
            "the value is a list the spec computes, e.g. `buffer index: [i % 7 for i in range(49)]`",
        ),
        (
            "param: [3]",
            10,
            "unexpected ':' (expected a name, end of line)",
            '`param` starts a declaration; a layer of that name takes a quoted label: `"param": ...`',
        ),
    ],
)
def test_each_syntax_error_of_a_declaration_has_a_hint(
    line: str, column: int, message: str, hint: str
) -> None:
    text = f"network n:\n  input: 3x4x4\n  layers:\n    {line}\n    conv(3, 1)\n"
    with pytest.raises(SpecError) as raised:
        archspec.load("t.arch", text=text)
    (diagnostic,) = raised.value.diagnostics
    assert (diagnostic.span.line, diagnostic.span.column, diagnostic.message, diagnostic.hint) == (
        4,
        column,
        message,
        hint,
    )
