"""``matmul``, ``einsum`` and ``gather`` (issue 21, item 1), and attention written from them. Oracles:
the torch expression computed from the built network's state dict, ``FlopCounterMode`` for MACs (with
and without a batch, where a product of parameters is computed once), ``backends.measure`` for the
tensors autograd saves, the generated source for parity, and a hand-written torch module of Swin's
relative-position attention (strict load both ways, outputs with a relative tolerance)."""

# ruff: noqa: E501 - the expected messages are verbatim, long lines included

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from oracles import load_source
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import archspec
from archspec.analysis import ReceptiveField
from archspec.backends.measure import saved_activation_bytes
from archspec.checks import check_specs


def dedent(text: str) -> str:
    return textwrap.dedent(text).removeprefix("\n")


ATTENTION = dedent(
    """
    network products:
      input: 5x6
      layers:
        q: linear(4)
        k: linear(4) from input
        v: linear(4) from input
        kt: permute([1, 0]) from k
        scores: matmul from q, kt
        attn: softmax
        o: matmul from attn, v
        param w: [4, 3], init=normal(std=0.5)
        param heads: [2, 3, 3], init=normal(std=0.5)
        p: matmul from o, w
        e: einsum("n d, m d -> n m") from q, k
        mixed: matmul from heads, heads
        pe: matmul from e, p
        out: einsum("n c, h c d -> h n d") from pe, mixed
    """
)


def expected(x: torch.Tensor, s: dict[str, torch.Tensor]) -> torch.Tensor:
    q = F.linear(x, s["q.weight"], s["q.bias"])
    k = F.linear(x, s["k.weight"], s["k.bias"])
    v = F.linear(x, s["v.weight"], s["v.bias"])
    attn = torch.softmax(q @ k.transpose(1, 2), dim=-1)
    p = (attn @ v) @ s["w"]
    e = torch.einsum("bnd,bmd->bnm", q, k)
    mixed = s["heads"] @ s["heads"]
    return torch.einsum("bnc,hcd->bhnd", e @ p, mixed)


def test_products_compute_the_torch_expression(tmp_path: Path) -> None:
    net = archspec.load("t.arch", text=ATTENTION)
    torch.manual_seed(0)
    model = net.build().eval()
    state = model.state_dict()
    x = torch.randn(2, 5, 6)
    with torch.no_grad():
        out = model(x)
        assert out.shape[1:] == net.graph.output_shape == (2, 5, 3)
        torch.testing.assert_close(out, expected(x, state))
        generated = load_source(net.to_source(), tmp_path).build().eval()
        generated.load_state_dict(state)
        torch.testing.assert_close(generated(x), out)


def test_a_product_of_parameters_has_no_batch_axis() -> None:
    net = archspec.load("t.arch", text=ATTENTION)
    batched = {node.name: node.batched for node in net.graph.nodes}
    assert batched["mixed"] is False and batched["p"] is True and batched["out"] is True


def torch_macs(model: nn.Module, x: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    total: int = counter.get_total_flops()
    return total // 2


@pytest.mark.parametrize("batch", [1, 3])
def test_macs_are_what_flop_counter_counts(batch: int) -> None:
    net = archspec.load("t.arch", text=ATTENTION)
    analysis = net.analyze()
    model = net.build()
    measured = torch_macs(model, torch.randn(batch, 5, 6))
    # per sample: what the analysis reports; with a batch, a product of parameters is computed once
    by_node = {row.name: row.macs for row in analysis.rows if row.kind == "layer"}
    once = sum(by_node[node.name] for node in net.graph.nodes if not node.batched)
    assert analysis.macs * batch - once * (batch - 1) == measured
    assert by_node["mixed"] == 2 * 3 * 3 * 3 and by_node["scores"] == 5 * 4 * 5


def test_saved_tensors_are_what_torch_saves() -> None:
    net = archspec.load("t.arch", text=ATTENTION)
    model = net.build()
    for batch in (1, 2):
        analysis = net.analyze(batch=batch)
        assert analysis.activation_bytes == saved_activation_bytes(model, torch.randn(batch, 5, 6))


EINSUMS = [
    ("n d, m d -> n m", (5, 4), (6, 4)),
    ("h n d, h m d -> h n m", (2, 5, 4), (2, 6, 4)),
    ("n d, d -> n", (5, 4), (4,)),
    ("n d, n d -> n", (5, 4), (5, 4)),
    ("n d, m e -> n m d e", (3, 4), (2, 5)),  # nothing summed: an elementwise product, no mm
    ("c h w, w k -> c h k", (3, 4, 5), (5, 2)),
    ("a b, b c -> c a", (3, 4), (4, 2)),
    ("n d, m d -> n m", (5, 1), (6, 1)),  # summed over a size-1 index only: torch multiplies, no mm
    ("n d e, m d e -> n m", (2, 1, 3), (4, 1, 3)),  # a size-1 index beside a real one: an mm
]


@pytest.mark.parametrize(("pattern", "left", "right"), EINSUMS, ids=[p for p, _, _ in EINSUMS])
def test_einsum_counts_as_flop_counter(pattern: str, left: tuple[int, ...], right: tuple[int, ...]) -> None:
    shape = "x".join(map(str, left))
    text = (
        f"network t:\n  input: {shape}\n  layers:\n    param w: {list(right)}, init=normal\n"
        f'    e: einsum("{pattern}") from input, w\n'
    )
    net = archspec.load("t.arch", text=text)
    model = net.build()
    x = torch.randn(2, *left)
    letters = pattern.replace(" ", "").split("->")
    inputs, output = letters[0].split(","), letters[1]
    reference = torch.einsum(f"...{inputs[0]},{inputs[1]}->...{output}", x, model.state_dict()["w"])
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference)
    assert net.graph.output_shape == tuple(reference.shape[1:])
    assert net.analyze().macs * 2 == torch_macs(model, x)  # a batch of 2: every MAC here is per sample


def test_receptive_field_of_products() -> None:
    text = dedent(
        """
        network t:
          input: 3x8x8
          layers:
            c: conv(4, 3, padding=1)
            last: permute([1, 2, 0])
            param w: [4, 4]
            mixw: matmul from last, w
            param w8: [8, 8]
            columns: matmul from c, w8
            keep: conv(4, 1)
            t: permute([0, 2, 1]) from c
            mixes: matmul from c, t
        """
    )
    text += "    param table: [4, 8, 8]\n    tt: permute([0, 2, 1]) from table\n    add from mixes, tt\n"
    net = archspec.load("t.arch", text=text)
    analysis = net.analyze()
    fields = {row.name: row.receptive_field for row in analysis.rows}
    spatial = {row.name: row.spatial_receptive_field for row in analysis.rows}
    # a product with a parameter over the channels mixes the features at a position (like a 1x1 conv);
    # over a map's last axis, every column (tests/test_receptive_axes.py checks it by the input gradient)
    assert str(fields["mixw"]) == str(fields["c"]) and fields["c"] != "global"
    assert isinstance(fields["columns"], ReceptiveField) and fields["columns"].size == (3, 3 + 7)
    assert fields["mixes"] == "global"
    # on the spatial path too: a product across positions is not a pooled gate input
    assert spatial["mixes"] == "global" and analysis.spatial_receptive_field == "global"
    # a tensor computed from parameters alone sees no input position
    assert fields["table"] is fields["tt"] is spatial["tt"] is None


def rendered(spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.arch").write_text(dedent(spec), encoding="utf-8")
    return "".join(e.render() + "\n" for e in check_specs(["t.arch"]).errors)


MISUSE = [
    (
        'e: einsum("c h w, c h w") from input, input',
        """
        t.arch:5:15: error: e: einsum: the pattern "c h w, c h w" needs one "->" before the output's indices
           5 |     e: einsum("c h w, c h w") from input, input
                             ^^^^^^^^^^^^^^
          hint: e.g. einsum("n d, m d -> n m"): index names separated by spaces, operands by commas
        """,
    ),
    (
        'e: einsum("c h w -> c q") from input',
        """
        t.arch:5:15: error: e: einsum: the output index "q" of "c h w -> c q" is in no input
           5 |     e: einsum("c h w -> c q") from input
                             ^^^^^^^^^^^^^^
          hint: e.g. einsum("n d, m d -> n m"): index names separated by spaces, operands by commas
        """,
    ),
    (
        'e: einsum("c h, c h w -> c") from input, input',
        """
        t.arch:5:15: error: e: einsum: operand 1 of "c h, c h w -> c" names 2 indices (c h) for a 4x8x8 input of 3 axes
           5 |     e: einsum("c h, c h w -> c") from input, input
                             ^^^^^^^^^^^^^^^^^
          hint: one index per axis of one sample (the batch is not one of them)
        """,
    ),
    (
        'e: einsum("c h w, c w w -> c") from input, input',
        """
        t.arch:5:15: error: e: einsum: index "w" appears twice in operand 2 of "c h w, c w w -> c"
           5 |     e: einsum("c h w, c w w -> c") from input, input
                             ^^^^^^^^^^^^^^^^^^^
          hint: an index names one axis of each tensor (diagonals are not supported)
        """,
    ),
    (
        'e: einsum("c h w, h c w -> c") from input, input',
        """
        t.arch:5:15: error: e: einsum: index "h" of "c h w, h c w -> c" is 8 in one place and 4 in another
           5 |     e: einsum("c h w, h c w -> c") from input, input
                             ^^^^^^^^^^^^^^^^^^^
        """,
    ),
    (
        'e: einsum("c h w, c h 1 -> c") from input, input',
        """
        t.arch:5:15: error: e: einsum: "1" in "c h w, c h 1 -> c" is not an index name (a letter, then letters, digits or _)
           5 |     e: einsum("c h w, c h 1 -> c") from input, input
                             ^^^^^^^^^^^^^^^^^^^
          hint: e.g. einsum("n d, m d -> n m"): index names separated by spaces, operands by commas
        """,
    ),
    (
        'e: einsum("c h -> c") from input, input',
        """
        t.arch:5:15: error: e: einsum: the pattern "c h -> c" has 1 operand, but 2 inputs are given
           5 |     e: einsum("c h -> c") from input, input
                             ^^^^^^^^^^
          hint: one comma-separated group of indices per input of `from`
        """,
    ),
    (
        "param w: [6, 8]\n    m: matmul from w, a",
        """
        t.arch:6:8: error: m: matmul: cannot multiply 6x8 by 6x6x6: the inner sizes differ: 8 (the first's last axis) and 6 (the second's second last)
           6 |     m: matmul from w, a
                      ^^^^^^
          hint: matmul takes (..., n, k) and (..., k, m); `permute` or `rearrange` an input to match
        """,
    ),
    (
        "param w: [2, 6, 6, 6]\n    m: matmul from a, w",
        """
        t.arch:6:8: error: m: matmul: 'a' has a batch axis and fewer axes than the other input; torch would align its batch axis with the other's leading axes
           6 |     m: matmul from a, w
                      ^^^^^^
          hint: give it the other's leading axes (`rearrange` with a size-1 axis)
        """,
    ),
    (
        'e: einsum("c h w, c h v -> c") from input, input',
        """
        t.arch:5:15: error: e: einsum: index "w" of "c h w, c h v -> c" is summed over operand 1 alone
           5 |     e: einsum("c h w, c h v -> c") from input, input
                             ^^^^^^^^^^^^^^^^^^^
          hint: sum that axis first (`sum(dim)`), or keep it in the output
        """,
    ),
    (
        'e: einsum("c h w, c h w, c h w -> c") from input, input, input',
        """
        t.arch:5:8: error: einsum takes 1 to 2 inputs, got 3
           5 |     e: einsum("c h w, c h w, c h w -> c") from input, input, input
                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
        """,
    ),
    (
        "m: matmul from a, b",
        """
        t.arch:5:23: error: unknown layer 'b' (a reference names an earlier named layer of this network)
           5 |     m: matmul from a, b
                                     ^
        """,
    ),
]


@pytest.mark.parametrize(("line", "message"), MISUSE)
def test_misuse_is_an_error(line: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = f"network t:\n  input: 4x8x8\n  layers:\n    a: conv(6, 3)\n    {line}\n"
    assert rendered(spec, tmp_path, monkeypatch) == dedent(message)


# Swin's window attention for one window (torchvision's ShiftedWindowAttention without a shift), from
# linear, split, scale, einsum, gather, add, softmax, matmul and concat, with a learned relative-position
# table indexed by a buffer the spec computes. Two heads, written out (one `split` per head's q, k, v).
SWIN = dedent(
    """
    block WindowAttention(dim, window):
      n = window * window
      hd = dim // 2
      parts = [hd, hd, hd, hd, hd, hd]
      qkv: linear(dim * 3)
      param relative_position_bias_table: [(2 * window - 1) * (2 * window - 1), 2]
      buffer relative_position_index: [[(i // window - j // window + window - 1) * (2 * window - 1) + i % window - j % window + window - 1 for j in range(n)] for i in range(n)]
      bias: gather from relative_position_bias_table, relative_position_index
      for h in [0, 1]:
        "q{h}": split(parts, h, dim=-1) from qkv
        "qs{h}": scale(hd ** -0.5)
        "k{h}": split(parts, 2 + h, dim=-1) from qkv
        "v{h}": split(parts, 4 + h, dim=-1) from qkv
        "b{h}": split([1, 1], h, dim=-1) from bias
        "bh{h}": einsum("n m o -> n m")
        "a{h}": einsum("n d, m d -> n m") from "qs{h}", "k{h}"
        "s{h}": add from "a{h}", "bh{h}"
        "p{h}": softmax
        "o{h}": matmul from "p{h}", "v{h}"
      heads: concat(dim=-1) from o0, o1
      proj: linear(dim)

    network window:
      input: 9x8
      layers:
        attn: WindowAttention(8, 3)
      init:
        "*.relative_position_bias_table": trunc_normal(std=0.02)
    """
)


class TorchWindowAttention(nn.Module):
    """SWIN's block by hand: torchvision's computation for one window, with the index kept n x n."""

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij"))
        flat = coords.flatten(1)
        relative = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0) + (window - 1)
        index = relative[:, :, 0] * (2 * window - 1) + relative[:, :, 1]
        self.register_buffer("relative_position_index", index)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, n, dim = x.shape
        qkv = self.qkv(x).reshape(batch, n, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * (dim // self.heads) ** -0.5, qkv[1], qkv[2]
        index: torch.Tensor = self.relative_position_index  # type: ignore[assignment]
        bias = self.relative_position_bias_table[index].permute(2, 0, 1)
        attn = torch.softmax(q @ k.transpose(-2, -1) + bias, dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(batch, n, dim))


class TorchWindow(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = TorchWindowAttention(8, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.attn(x)
        return out


def test_swin_window_attention_from_primitives(tmp_path: Path) -> None:
    net = archspec.load("t.arch", text=SWIN)
    torch.manual_seed(7)
    model = net.build().eval()
    torch.manual_seed(7)
    reference = TorchWindow().eval()
    ours, theirs = model.state_dict(), reference.state_dict()
    assert sorted(ours) == sorted(theirs)
    for key in theirs:  # same seed, same draws: torchvision's order (qkv, proj, then the table)
        assert torch.equal(ours[key], theirs[key]), key
    reference.load_state_dict(ours, strict=True)
    with torch.no_grad():  # every tensor perturbed, so that no term hides behind a zero
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(torch.randn_like(tensor) * 0.5)
        reference.load_state_dict(model.state_dict(), strict=True)
        x = torch.randn(4, 9, 8)
        out = model(x)
        torch.testing.assert_close(out, reference(x), rtol=1e-5, atol=1e-6)
        # torchvision's own module, whose index is the same table flattened
        from torchvision.models.swin_transformer import ShiftedWindowAttention

        vision = ShiftedWindowAttention(8, [3, 3], [0, 0], 2).eval()
        state = {k.removeprefix("attn."): v for k, v in model.state_dict().items()}
        state["relative_position_index"] = state["relative_position_index"].flatten()
        vision.load_state_dict(state, strict=True)
        torch.testing.assert_close(out, vision(x.view(4, 3, 3, 8)).view(4, 9, 8), rtol=1e-5, atol=1e-6)
        generated = load_source(net.to_source(), tmp_path).build().eval()
        generated.load_state_dict(model.state_dict(), strict=True)
        torch.testing.assert_close(generated(x), out)
    # torchvision counts attention's two products: n*n*dim each, as FlopCounterMode does
    analysis = net.analyze()
    assert analysis.params == sum(p.numel() for p in reference.parameters())
    assert analysis.macs == torch_macs(model, torch.randn(1, 9, 8))
    rows = {row.name: row for row in analysis.rows}
    assert rows["attn.a0"].macs == 9 * 9 * 4 and rows["attn.o1"].macs == 9 * 9 * 4
