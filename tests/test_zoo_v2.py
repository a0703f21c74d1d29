"""Swin V2 and MaxViT, written from tensor primitives and the standard library, against torchvision.

The oracles are independent of archspec: the published figures (``shared/reference/figures.md``, "After the
chapter"; and torchvision's weights metadata), ``torch.utils.flop_counter.FlopCounterMode`` run on
torchvision's own modules, ``numel`` of torchvision's parameters and buffers, and torchvision's outputs.

- Counting: FlopCounterMode counts every matmul a forward pass runs, at batch 1 the figures' convention.
  Swin V2's continuous position bias (the ``cpb_mlp`` over the fixed coordinate table) is computed once per
  forward pass whatever the batch, so it is in the figure once (18,662,400 MACs for swin_v2_t) and a batch of
  two costs twice the rest plus it once; MaxViT has no such part and a batch of two costs exactly twice.
- Outputs: torchvision's model with every parameter and every buffer perturbed (the index buffers too, to
  other valid indices: a spec that recomputed them instead of reading the checkpoint would differ) is loaded
  strictly into ours; outputs agree within a relative tolerance (different kernels: einsum vs matmul).
- The fast tests use reduced configurations of both networks (the figures' constructors with smaller
  widths, depths and inputs, shifted windows and both partitions included); the full networks are slow.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import torch
from oracles import assert_same_outputs, build_generated_empty, load_source, randomise
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import archspec
from archspec.analysis import Analysis

# One worker runs this file under `make test` (`--dist loadgroup`), so that the networks and counts its
# tests share (`network_of`, `their_macs`...) are made once, not once per worker.
pytestmark = pytest.mark.xdist_group("zoo_v2")

models = pytest.importorskip("torchvision.models")
swin = pytest.importorskip("torchvision.models.swin_transformer")
maxvit = pytest.importorskip("torchvision.models.maxvit")

# figures.md, "After the chapter: Swin V2 and MaxViT (torchvision 0.29.1, exact)": input, params, MACs.
FIGURES: dict[str, tuple[tuple[int, int, int], int, int]] = {
    "swin_v2_t": ((3, 256, 256), 28_351_570, 5_939_690_496),
    "maxvit_t": ((3, 224, 224), 30_919_624, 5_558_046_720),
}
# torchvision's swin_v2_t: the cpb MLP (Linear 2->512, Linear 512->heads) over the 15x15 table, per block.
SWIN_V2_T_DEPTHS, SWIN_V2_T_HEADS = [2, 2, 6, 2], [3, 6, 12, 24]
SWIN_V2_T_CPB_MACS = sum(
    d * (225 * 2 * 512 + 225 * 512 * h) for d, h in zip(SWIN_V2_T_DEPTHS, SWIN_V2_T_HEADS, strict=True)
)

# Reduced configurations: (our overrides, input shape, torchvision's constructor).
SMALL_SWIN_V2 = {"embed_dim": 16, "depths": [2, 2], "num_heads": [2, 4], "window_size": 4, "num_classes": 10}
SMALL_MAXVIT = {
    "stem_channels": 16,
    "block_channels": [16, 32],
    "block_layers": [2, 1],
    "head_dim": 8,
    "partition_size": 2,
    "num_classes": 10,
}


def small_swin_v2() -> nn.Module:
    """64x64 input: a 16x16 map in 4x4 windows (16 windows, shifted), merged to 8x8 (4 windows, shifted)."""
    return swin.SwinTransformer(
        patch_size=[4, 4],
        embed_dim=16,
        depths=[2, 2],
        num_heads=[2, 4],
        window_size=[4, 4],
        stochastic_depth_prob=0.2,
        num_classes=10,
        block=swin.SwinTransformerBlockV2,
        downsample_layer=swin.PatchMergingV2,
    )


def small_maxvit() -> nn.Module:
    """64x64 input: stem to 32x32, blocks at 16x16 (two layers) and 8x8, partitions of 2x2."""
    return maxvit.MaxVit(
        input_size=(64, 64),
        stem_channels=16,
        partition_size=2,
        block_channels=[16, 32],
        block_layers=[2, 1],
        head_dim=8,
        stochastic_depth_prob=0.2,
        num_classes=10,
    )


# name -> (our network, torchvision's constructor, input shape)
SMALL: dict[str, tuple[Callable[[], archspec.Network], Callable[[], nn.Module], tuple[int, ...]]] = {
    "swin_v2": (
        partial(archspec.load, "swin_v2_t", input_shape=(3, 64, 64), **SMALL_SWIN_V2),
        small_swin_v2,
        (3, 64, 64),
    ),
    "maxvit": (
        partial(archspec.load, "maxvit_t", input_shape=(3, 64, 64), **SMALL_MAXVIT),
        small_maxvit,
        (3, 64, 64),
    ),
}
FULL: dict[str, tuple[Callable[[], archspec.Network], Callable[[], nn.Module], tuple[int, ...]]] = {
    name: (partial(archspec.load, name), partial(models.get_model, name, weights=None), shape)
    for name, (shape, _, _) in FIGURES.items()
}
CASES = [*SMALL, *(pytest.param(name, marks=pytest.mark.slow) for name in FULL)]


def case(name: str) -> tuple[archspec.Network, Callable[[], nn.Module], tuple[int, ...]]:
    _, theirs, shape = {**SMALL, **FULL}[name]
    return network_of(name), theirs, shape


# Loading, analysing and building a full-size network, and counting torchvision's, take seconds each; several
# tests read the same ones (none changes them), so each is made once per session (docs/testing.md, "Cost").
@functools.cache
def network_of(name: str) -> archspec.Network:
    """The network of a case or a figures variant (the full-size case's name is the variant's)."""
    return {**SMALL, **FULL}[name][0]()


@functools.cache
def analysis_of(name: str) -> Analysis:
    return network_of(name).analyze()


@functools.cache
def theirs_on_meta(name: str) -> nn.Module:
    return on_meta({**SMALL, **FULL}[name][1])


@functools.cache
def their_macs(name: str, batch: int) -> int:
    """MACs the counter counts on torchvision's module (meta device) at ``batch``."""
    shape = {**SMALL, **FULL}[name][2]
    return flops(theirs_on_meta(name), torch.empty(batch, *shape, device="meta"))


def flops(model: nn.Module, x: torch.Tensor) -> int:
    """MACs of one forward pass as torch's counter sees them (FLOPs / 2)."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return int(counter.get_total_flops()) // 2


def on_meta(build: Callable[[], nn.Module]) -> nn.Module:
    with torch.device("meta"):
        return build().eval()


def persistent_buffers(model: nn.Module) -> dict[str, torch.Tensor]:
    parameters = {name for name, _ in model.named_parameters()}
    return {name: t for name, t in model.state_dict().items() if name not in parameters}


def perturb_everything(model: nn.Module, seed: int = 1) -> nn.Module:
    """``randomise`` (every parameter, running statistics), then every other buffer: float buffers (Swin
    V2's coordinate table) scaled and shifted, index buffers replaced by other valid indices."""
    randomise(model, seed)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, buffer in persistent_buffers(model).items():
            if name.endswith(("running_mean", "running_var", "num_batches_tracked")):
                continue
            if buffer.is_floating_point():
                scale, shift = (torch.randn(buffer.shape, generator=generator) for _ in range(2))
                buffer.copy_(buffer * (1 + 0.1 * scale) + 0.05 * shift)
            else:
                high = int(buffer.max()) + 1
                fresh = torch.randint(0, high, buffer.shape, generator=generator, dtype=buffer.dtype)
                assert not torch.equal(fresh, buffer)
                buffer.copy_(fresh)
    return model


# ---------------------------------------------------------------- the figures


@pytest.mark.parametrize("variant", FIGURES)
def test_params_and_macs_equal_the_figures(variant: str) -> None:
    shape, params, macs = FIGURES[variant]
    network, analysis = network_of(variant), analysis_of(variant)
    assert network.graph.input_shape == shape
    assert network.graph.output_shape == (1000,)
    assert (analysis.params, analysis.macs) == (params, macs)


@pytest.mark.parametrize("variant", FIGURES)
def test_weights_metadata(variant: str) -> None:
    """Against torchvision's weights metadata: exact parameters, GMACs to its printed digits, crop size."""
    weights = models.get_model_weights(variant).IMAGENET1K_V1
    network, analysis = network_of(variant), analysis_of(variant)
    assert analysis.params == weights.meta["num_params"]
    assert round(analysis.macs / 1e9, 3) == weights.meta["_ops"]
    crop = weights.transforms().crop_size[0]
    assert network.graph.input_shape == (3, crop, crop)


@pytest.mark.parametrize("variant", FIGURES)
def test_figures_are_what_the_flop_counter_counts_on_torchvision(variant: str) -> None:
    """The figures' convention, checked on torchvision's module itself (meta device, batch 1 and 2)."""
    _, params, macs = FIGURES[variant]
    theirs = theirs_on_meta(variant)
    assert sum(p.numel() for p in theirs.parameters()) == params
    assert their_macs(variant, 1) == macs
    twice = their_macs(variant, 2)
    assert twice == 2 * macs - (SWIN_V2_T_CPB_MACS if variant == "swin_v2_t" else 0)


# ---------------------------------------------------------------- the module against torchvision's


@pytest.mark.parametrize("name", [*SMALL, *FULL])
def test_state_dict_names_shapes_and_dtypes_equal_torchvision(name: str) -> None:
    network = network_of(name)
    ours, theirs = network.build(device="meta"), theirs_on_meta(name)
    expected = {k: (tuple(v.shape), v.dtype) for k, v in theirs.state_dict().items()}
    actual = {k: (tuple(v.shape), v.dtype) for k, v in ours.state_dict().items()}
    assert sorted(set(actual) ^ set(expected)) == []
    assert {k: v for k, v in actual.items() if expected[k] != v} == {}
    # the analysis counts every buffer held (torch's `buffers()`), the non-persistent ones too (Swin V2's
    # shift regions, which torchvision computes in `forward`): not in the checkpoint
    analysis = analysis_of(name)
    assert analysis.params == sum(p.numel() for p in theirs.parameters())
    assert analysis.buffers == sum(t.numel() for t in persistent_buffers(ours).values())


@pytest.mark.parametrize("name", [*SMALL, *FULL])
def test_macs_equal_the_flop_counter_on_both_modules(name: str) -> None:
    """The analysis against the counter run on torchvision's module and on ours, at batch 1 and 2."""
    network, _, shape = case(name)
    ours = network.build(device="meta").eval()
    one, two = torch.empty(1, *shape, device="meta"), torch.empty(2, *shape, device="meta")
    assert their_macs(name, 1) == analysis_of(name).macs
    assert flops(ours, one) == their_macs(name, 1)
    assert flops(ours, two) == their_macs(name, 2)


@pytest.mark.parametrize("name", CASES)
def test_outputs_equal_torchvision_with_every_tensor_perturbed(name: str) -> None:
    network, theirs_fn, shape = case(name)
    theirs = perturb_everything(theirs_fn()).eval()
    ours = network.build().eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = theirs(x)
        assert_same_outputs(ours(x), expected, rtol=1e-4)


def assert_same_start(ours: nn.Module, theirs: nn.Module) -> None:
    """Every tensor equal; Swin V2's coordinate table (a computed constant, log2 in float32 in torchvision,
    in float64 then rounded in the spec) within one float32 unit."""
    mine = ours.state_dict()
    assert list(mine) == list(theirs.state_dict())  # the blocks' `order:` follows torchvision's __init__
    for key, tensor in theirs.state_dict().items():
        if key.endswith("relative_coords_table"):
            torch.testing.assert_close(mine[key], tensor, rtol=0, atol=2 * torch.finfo(torch.float32).eps)
        else:
            assert torch.equal(mine[key], tensor), key


# The std blocks' `order:` registers their layers in torchvision's `__init__` order (Swin V2's attention:
# qkv, proj, ..., cpb_mlp; its block: norm1, attn, norm2, mlp; MaxViT's attention: to_qkv, merge, then the
# bias table), so construction and the final init loop draw in torchvision's order. Swin V2's `qkv` is a
# `linear` with a bias per chunk (the key's left out), so the `linear:` rule reaches it as torchvision's
# final loop does.
@pytest.mark.parametrize("name", CASES)
def test_same_seed_gives_torchvision_starting_weights(name: str) -> None:
    network, theirs_fn, _ = case(name)
    torch.manual_seed(0)
    theirs = theirs_fn()
    torch.manual_seed(0)
    ours = network.build()
    assert_same_start(ours, theirs)


@pytest.mark.parametrize("name", SMALL)
def test_generated_source_same_seed_gives_torchvision_starting_weights(name: str, tmp_path: Path) -> None:
    """The generated ``__init__`` constructs in the blocks' `order:` (torchvision's), its ``forward`` runs
    in data-flow order: the same seed gives torchvision's weights, in its order."""
    network, theirs_fn, _ = case(name)
    generated = load_source(network.to_source(), tmp_path)
    torch.manual_seed(0)
    theirs = theirs_fn()
    torch.manual_seed(0)
    assert_same_start(generated.build(), theirs)


@pytest.mark.parametrize("name", SMALL)
def test_generated_source_outputs_equal_torchvision_perturbed(name: str, tmp_path: Path) -> None:
    network, theirs_fn, shape = case(name)
    theirs = perturb_everything(theirs_fn()).eval()
    # built on the CPU (the meta-device path, with its shift regions set again by the load, has a test of
    # its own below)
    generated = load_source(network.to_source(), tmp_path).build().eval()
    generated.load_state_dict(theirs.state_dict(), strict=True)
    assert list(generated.state_dict()) == list(theirs.state_dict())
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert_same_outputs(generated(x), theirs(x), rtol=1e-4)


# ---------------------------------------------------------------- counts by hand


def test_swin_v2_t_counts_the_position_bias_mlp_once() -> None:
    """Per block: the cpb MLP over the 15x15 coordinate table (225 x 2 x 512 + 225 x 512 x heads), the four
    projections (4 x tokens x C²), the cosine logits and A·V (2 x tokens x 64 x C) and the MLP."""
    analysis = analysis_of("swin_v2_t")
    tokens = [64 * 64, 32 * 32, 16 * 16, 8 * 8]
    dims = [96, 192, 384, 768]
    per_token = [4 * c * c + 2 * 64 * c + 8 * c * c for c in dims]
    blocks = sum(d * t * m for d, t, m in zip(SWIN_V2_T_DEPTHS, tokens, per_token, strict=True))
    merging = sum(t // 4 * 4 * c * 2 * c for t, c in zip(tokens[:3], dims[:3], strict=True))
    stem, head = 64 * 64 * 96 * 3 * 16, 768 * 1000
    assert analysis.macs == blocks + merging + stem + head + SWIN_V2_T_CPB_MACS
    assert math.isclose(analysis.macs / 1e9, 5.94, abs_tol=5e-3)


@pytest.mark.parametrize("generated", [False, True], ids=["build", "generated"])
def test_swin_v2_on_meta_computes_right_after_to_empty_and_a_load(generated: bool, tmp_path: Path) -> None:
    """Built on meta, moved with ``to_empty`` and loaded with a checkpoint, the module computes what the
    module built on the CPU and torchvision (which computes its shift mask in ``forward``) compute: the
    shift regions, a buffer kept out of the state dict, are set again by the load, not left as garbage."""
    network, theirs_fn, shape = case("swin_v2")
    theirs = perturb_everything(theirs_fn()).eval()
    if generated:
        empty = build_generated_empty(network.to_source(), tmp_path)
    else:
        empty = network.build(device="meta").to_empty(device="cpu")
    with torch.no_grad():  # what to_empty may leave: make the garbage certain rather than likely zeros
        for buffer in empty.buffers():
            buffer.fill_(float("nan") if buffer.is_floating_point() else -1)
    normal = network.build()
    for module in (empty, normal):
        module.load_state_dict(theirs.state_dict(), strict=True)
        module.eval()
    assert any(True for name, _ in empty.named_buffers() if name not in empty.state_dict())  # the regions
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = theirs(x)
        assert_same_outputs(normal(x), expected, rtol=1e-4)
        assert_same_outputs(empty(x), expected, rtol=1e-4)
