"""The receptive field follows image rows and columns through the axes of one sample (issue 28): an op that
reads an axis whole mixes positions where that axis holds them, and a conv or pool on a map whose H and W
were swapped steps along the image's other axis. The oracle is the input gradient of one output unit
(random float64 weights and input, activations as the identity), against the window the analysis gives
that unit, clipped to the image: ``global`` must reach every input row and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from textwrap import dedent
from typing import Any

import pytest
import torch
from difftest.check import linearise
from test_crosscheck import capture

import archspec
from archspec.analysis import RF, ReceptiveField
from archspec.analysis.explain import explain

Extent = list[tuple[int, int]]


def _node(network: archspec.Network, name: str) -> int:
    return next(n.id for n in network.graph.nodes if n.name == name)


def footprint(network: archspec.Network, name: str, unit: Sequence[Any]) -> Extent:
    """The first and last input row and column that ``unit`` (an index into one sample of node ``name``)
    depends on, by the input gradient; its elements weighted at random (a layer norm's outputs sum to its
    bias, whose gradient is 0)."""
    torch.manual_seed(0)
    module = network.build(dtype=torch.float64).eval()
    linearise(module)
    shape = network.graph.input_shape
    generator = torch.Generator().manual_seed(1)
    x = (torch.rand(1, *shape, dtype=torch.float64, generator=generator) + 0.5).requires_grad_(True)
    value = capture(module, network.graph, x, _node(network, name))[0][tuple(unit)]
    weights = torch.rand(value.shape, dtype=value.dtype, generator=torch.Generator().manual_seed(2)) + 0.5
    (grad,) = torch.autograd.grad((value * weights).sum(), x)
    seen = grad[0].abs().sum(0) != 0
    hits = [seen.any(1 - axis).nonzero().flatten().tolist() for axis in (0, 1)]
    assert all(hits), f"{name}{list(unit)} depends on no pixel"
    return [(h[0], h[-1]) for h in hits]


def window(field: RF, position: tuple[int, int], side: tuple[int, int]) -> Extent:
    """The input rows and columns the analysis says the unit at ``position`` (image coordinates) sees,
    clipped to an image of ``side``: all of it for ``global``."""
    if field == "global":
        return [(0, side[0] - 1), (0, side[1] - 1)]
    assert isinstance(field, ReceptiveField)
    found = []
    for a in (0, 1):
        start = position[a] * field.stride[a] - field.padding[a]
        found.append((max(start, 0), min(start + field.size[a] - 1, side[a] - 1)))
    return found


def fields(network: archspec.Network, name: str) -> tuple[RF, RF]:
    """The node's whole field and its spatial path's."""
    row = network.analyze().row(name)
    return row.receptive_field, row.spatial_receptive_field


def assert_gradient_matches(
    network: archspec.Network, name: str, unit: Sequence[Any], at: tuple[int, int]
) -> RF:
    """The node's field (whole and spatial path, equal here) against the input gradient of ``unit``, the
    unit at image position ``at``. Returns the field."""
    whole, spatial = fields(network, name)
    assert whole == spatial  # no gate: the two passes agree
    side = (network.graph.input_shape[1], network.graph.input_shape[2])
    assert footprint(network, name, unit) == window(whole, at, side), (name, whole)
    return whole


# MLP-Mixer (Tolstikhin et al., 2021) as /work's Mixer-B/16 is written, small: 32x32, patches of 4, two
# blocks. The token-mixing MLP runs along the tokens (after "n c -> c n"): every output sees every patch.
MIXER = dedent(
    """
    from "std/mlp.arch" import MLP

    block MixerBlock(tokens_mlp_dim, channels_mlp_dim):
      residual:
        norm1: layernorm(eps=1e-6)
        swap: rearrange("n c -> c n")
        mlp_tokens: MLP(tokens_mlp_dim)
        back: rearrange("c n -> n c")
      residual:
        norm2: layernorm(eps=1e-6)
        mlp_channels: MLP(channels_mlp_dim)

    network mixer:
      input: 3x32x32
      layers:
        stem: patch_embed(16, 4)
        blocks:
          for i in range(2):
            "{i}": MixerBlock(8, 32)
        norm: layernorm(eps=1e-6)
        pooled: mean(dim=0)
        head: linear(10)
    """
)


def test_mlp_mixer_is_global_from_the_token_mlp_on_as_the_gradient_shows() -> None:
    network = archspec.load("mixer.arch", text=MIXER)
    token = 9  # row 1, column 1 of the 8x8 grid of patches
    patch = ReceptiveField((4, 4), (4, 4), (0, 0))
    assert assert_gradient_matches(network, "stem", [token], (1, 1)) == patch
    assert assert_gradient_matches(network, "blocks.0.norm1", [token], (1, 1)) == patch
    # the permuted sequence: the same tokens along the other axis, the same field
    assert assert_gradient_matches(network, "blocks.0.swap", [slice(None), token], (1, 1)) == patch
    # the MLP is a block: its output is its last layer's (the dropout, 4)
    assert assert_gradient_matches(network, "blocks.0.mlp_tokens.4", [slice(None), token], (1, 1)) == "global"
    assert assert_gradient_matches(network, "blocks.0.back", [token], (1, 1)) == "global"
    assert assert_gradient_matches(network, "blocks.1.mlp_channels.4", [token], (1, 1)) == "global"
    analysis = network.analyze()
    assert analysis.receptive_field == analysis.spatial_receptive_field == "global"


def test_the_example_mixer_b16_is_global_from_block_0_s_token_mlp() -> None:
    network = archspec.load(
        "mixer.arch", text=MIXER.replace("32x32", "224x224").replace("(16, 4)", "(768, 16)")
    )
    rows = {row.name: row for row in network.analyze().rows}
    assert rows["blocks.0.swap"].receptive_field == ReceptiveField((16, 16), (16, 16), (0, 0))
    for name in ("blocks.0.mlp_tokens", "blocks.0", "blocks.1", "norm"):
        assert rows[name].receptive_field == rows[name].spatial_receptive_field == "global", name


# A 1x5 conv on a map whose H and W were swapped is a 5x1 conv of the image (its stride too).
SWAPPED = """
network t:
  input: 2x12x16
  layers:
    swap: {swap}
    conv1: conv(3, [1, 5], stride=[1, 2], padding=[0, 2])
    back: {back}
    conv2: conv(3, 3, padding=1)
"""
PLAIN = """
network t:
  input: 2x12x16
  layers:
    conv1: conv(3, [5, 1], stride=[2, 1], padding=[2, 0])
    conv2: conv(3, 3, padding=1)
"""
SWAPS = {
    "rearrange": ('rearrange("c h w -> c w h")', 'rearrange("c w h -> c h w")'),
    "permute": ("permute([0, 2, 1])", "permute([0, 2, 1])"),
}


@pytest.mark.parametrize("how", sorted(SWAPS))
def test_a_conv_after_swapping_h_and_w_steps_along_the_other_image_axis(how: str) -> None:
    swap, back = SWAPS[how]
    network = archspec.load("t.arch", text=SWAPPED.format(swap=swap, back=back))
    plain = archspec.load("p.arch", text=PLAIN)
    expected = ReceptiveField((5, 1), (2, 1), (2, 0))
    assert fields(plain, "conv1")[0] == expected
    # conv1's output is C x W' x H': the unit at image row 2, column 5 is [:, 5, 2]
    assert assert_gradient_matches(network, "conv1", [slice(None), 5, 2], (2, 5)) == expected
    assert assert_gradient_matches(network, "back", [slice(None), 2, 5], (2, 5)) == expected
    field = assert_gradient_matches(network, "conv2", [slice(None), 2, 5], (2, 5))
    assert field == fields(plain, "conv2")[0] == ReceptiveField((9, 3), (2, 1), (4, 1))
    assert assert_gradient_matches(plain, "conv2", [slice(None), 2, 5], (2, 5)) == field
    # `explain` writes the step in image coordinates too: the kernel's 5 and the stride's 2 on the height
    text = explain(network.analyze(), "conv1")
    assert "height: r = r_in + (k-1)·d·j_in = 1 + 4·1·1 = 5" in text
    assert "height: j = j_in·s = 1·2 = 2" in text


# Ops along the tokens of a 4x4 grid of patches (16 tokens of 8 features) mix every patch; the same ops
# along the features keep one patch's field. The unit is token 5 (row 1, column 1), or all of a vector.
TOKENS = """
network t:
  input: 3x16x16
  layers:
    stem: patch_embed(8, 4)
    {layers}
"""
TOKEN_OPS = [
    ('rearrange("n d -> d n") >> out: layernorm', [slice(None), 5], "global"),
    ("out: softmax(dim=0)", [5], "global"),
    ("out: normalize(dim=0)", [5], "global"),
    ("out: mean(0, keepdim=true)", [0], "global"),
    ("out: sum(0)", [slice(None)], "global"),
    # a parameter contracting the tokens
    ("param w: [16, 16], init=normal\n    out: matmul from w, stem", [5], "global"),
    ('param w: [4, 16], init=normal\n    out: einsum("m n, n d -> m d") from w, stem', [0], "global"),
    ('rearrange("n d -> d n") >> out: linear(16)', [slice(None), 5], "global"),
    ("out: layernorm", [5], "patch"),  # along the features: one patch
    ("out: softmax", [5], "patch"),
    ("out: linear(4)", [5], "patch"),
    ("param w: [8, 8], init=normal\n    out: matmul from stem, w", [5], "patch"),
]


@pytest.mark.parametrize(("layers", "unit", "expected"), TOKEN_OPS, ids=[t[0] for t in TOKEN_OPS])
def test_an_op_along_the_tokens_makes_the_field_global(layers: str, unit: list[Any], expected: str) -> None:
    network = archspec.load("t.arch", text=TOKENS.format(layers=layers))
    whole, spatial = fields(network, "out")
    if expected == "patch":
        assert assert_gradient_matches(network, "out", unit, (1, 1)) == ReceptiveField((4, 4), (4, 4), (0, 0))
        return
    assert whole == "global" and spatial == "global"
    assert footprint(network, "out", unit) == [(0, 15), (0, 15)]


# A ConvNeXt block works channels-last: linear(dim=-1) and layernorm(dim=-1) along C stay per position.
CHANNELS_LAST = """
network t:
  input: 3x12x12
  layers:
    dw: conv(3, 7, padding=3, groups=3)
    last: permute([1, 2, 0])
    norm: layernorm(dim=-1)
    fc1: linear(12, dim=-1) >> gelu
    fc2: linear(3, dim=-1)
    first: permute([2, 0, 1])
    conv(4, 3, padding=1)
"""


def test_a_channels_last_linear_along_c_stays_per_position() -> None:
    network = archspec.load("t.arch", text=CHANNELS_LAST)
    seven = ReceptiveField((7, 7), (1, 1), (3, 3))
    for name in ("last", "norm", "fc1", "fc2"):  # HxWxC: the unit at row 4, column 6 is [4, 6]
        assert assert_gradient_matches(network, name, [4, 6], (4, 6)) == seven, name
    assert assert_gradient_matches(network, "first", [slice(None), 4, 6], (4, 6)) == seven
    assert network.analyze().receptive_field == ReceptiveField((9, 9), (1, 1), (4, 4))


# Along one image axis of a map: reduced to one unit the field spans that axis exactly (a mean over H,
# a product contracting the columns into features); kept, every unit would share one window, which a
# field cannot say: global (the gradient reaches every row).
ONE_AXIS = """
network t:
  input: 2x10x12
  layers:
    c: conv(3, 3, padding=1)
    {layers}
"""


def test_an_axis_read_whole_spans_it_or_makes_the_field_global() -> None:
    mean = archspec.load("t.arch", text=ONE_AXIS.format(layers="out: mean(1, keepdim=true)"))
    assert assert_gradient_matches(mean, "out", [slice(None), 0, 5], (0, 5)) == ReceptiveField(
        (3 + 9, 3), (1, 1), (1, 1)
    )
    contracted = "param w: [12, 4], init=normal\n    out: matmul from c, w"
    product = archspec.load("t.arch", text=ONE_AXIS.format(layers=contracted))
    assert assert_gradient_matches(product, "out", [slice(None), 4, 0], (4, 0)) == ReceptiveField(
        (3, 3 + 11), (1, 1), (1, 1)
    )
    along = {  # the whole axis read, the other as wide as the conv's 3
        "out: softmax(dim=1)": [(0, 9), (2, 4)],
        "out: layernorm(dim=-1)": [(3, 5), (0, 11)],
        "out: linear(5, dim=-1)": [(3, 5), (0, 11)],
    }
    for layers, extent in along.items():
        network = archspec.load("t.arch", text=ONE_AXIS.format(layers=layers))
        assert fields(network, "out") == ("global", "global"), layers
        assert footprint(network, "out", [slice(None), 4, 3]) == extent, layers


def test_group_norm_statistics_span_every_position() -> None:
    network = archspec.load("t.arch", text=ONE_AXIS.format(layers="out: groupnorm(1)"))
    assert assert_gradient_matches(network, "out", [slice(None), 4, 3], (4, 3)) == "global"
