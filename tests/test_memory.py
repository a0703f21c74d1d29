"""The memory estimates against torch: what autograd saves, and the live bytes of a no-grad forward.

The oracle is torch itself (``archspec.backends.measure``): saved tensors seen through
``saved_tensors_hooks`` on the built module in train mode (storages counted once, parameters and buffers
left out), and live tensor bytes tracked by a ``TorchDispatchMode`` during a ``torch.no_grad()`` forward.
Every zoo variant is measured at batch 1 and 8, float32 and bfloat16, at a small input where the spec
allows one (the estimate is for that same input); a representative subset again at full size (slow).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import torch

import archspec
from archspec.api import Network
from archspec.backends.measure import inference_peak_bytes, saved_activation_bytes
from archspec.catalog import catalog

VARIANTS = [variant for entry in catalog() for variant in entry.variants]
FIXED_INPUT = {"lecun1989", "lenet5", "alexnet_paper"}  # a classifier sized for one input
# Small enough to be cheap; large enough that batch norm sees more than one value per channel at batch 1
# (ResNet at 32x32 ends in 1x1 maps) and AlexNet's three max pools fit.
SMALL = 64


def small(variant: str) -> Network:
    """The variant at a small input (its own size when the spec fixes it)."""
    size = SMALL
    if variant in FIXED_INPUT:
        return archspec.load(variant)
    if variant.startswith("vit"):
        return archspec.load(variant, image_size=size)
    if variant.startswith("mobilenet_v1"):
        return archspec.load(variant, resolution=size)
    # Windows and partitions must divide the last maps (2x2 at 64 pixels): the same layers, smaller windows.
    if variant == "swin_v2_t":
        return archspec.load(variant, input_shape=(3, size, size), window_size=2)
    if variant == "maxvit_t":
        return archspec.load(variant, input_shape=(3, size, size), partition_size=2)
    return archspec.load(variant, input_shape=(3, size, size))


# Local response normalisation runs avg_pool3d, which has no bfloat16 kernel on the CPU.
TORCH_LACKS = {("alexnet_paper", "bfloat16")}


def _check(network: Network, cases: Sequence[tuple[str, int]]) -> None:
    """Estimate against measurement for each (dtype, batch), on one built module (converted per dtype)."""
    torch.manual_seed(0)
    module = network.build()
    for dtype, batch in cases:
        if (network.name, dtype) in TORCH_LACKS:
            continue
        torch_dtype = getattr(torch, dtype)
        module = module.to(torch_dtype)
        x = torch.randn(batch, *network.graph.input_shape, dtype=torch_dtype)
        analysis = network.analyze(dtype=dtype, batch=batch)
        saved = saved_activation_bytes(module, x)
        assert analysis.activation_bytes == pytest.approx(saved, rel=0.05), (dtype, batch)
        peak = inference_peak_bytes(module, x)
        assert analysis.peak_activation_bytes == pytest.approx(peak, rel=0.10), (dtype, batch)


# The fast step covers both dtypes and both batch sizes on every variant; the slow step the other two
# combinations, and a representative subset at full size. VGG-13 and VGG-19 (with and without batch norm)
# leave bfloat16 at batch 8 to VGG-11 and VGG-16, which hold the same layers at the same sizes: a VGG's
# 138M-parameter classifier in bfloat16 made each of them a minute of the fast step.
DEEPER_VGG = {"vgg13", "vgg13_bn", "vgg19", "vgg19_bn"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_memory_matches_torch_on_every_variant(variant: str) -> None:
    cases = [("float32", 1)] if variant in DEEPER_VGG else [("float32", 1), ("bfloat16", 8)]
    _check(small(variant), cases)


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_memory_matches_torch_on_every_variant_other_cases(variant: str) -> None:
    _check(small(variant), [("float32", 8), ("bfloat16", 1)])


# bfloat16 convolutions run on the CPU at about a tenth of float32's speed: VGG-16-BN at 224x224 and batch
# 8 took 11 minutes in bfloat16. The full-size check of VGG is float32 only; bfloat16 batch scaling is
# checked at 64x64 on every variant above.
FULL_SIZE = {
    "alexnet": [("float32", 8), ("bfloat16", 2)],
    "googlenet": [("float32", 8), ("bfloat16", 2)],
    "vgg16_bn": [("float32", 8)],
    "resnet50": [("float32", 8), ("bfloat16", 2)],
    "mobilenet_v2": [("float32", 8), ("bfloat16", 2)],
    "vit_b_16": [("float32", 8), ("bfloat16", 2)],
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", FULL_SIZE)
def test_memory_matches_torch_at_full_size(variant: str) -> None:
    _check(archspec.load(variant), FULL_SIZE[variant])


def test_training_total_follows_from_its_terms() -> None:
    # resnet18 by hand: 11,689,512 parameters, 9,600 BN running statistics + 20 batch counters.
    analysis = archspec.load("resnet18").analyze(batch=2)
    memory: dict[str, Any] = dict(analysis.training_memory)
    weights, grads = (11_689_512 + 9_600 + 20) * 4, 11_689_512 * 4
    assert memory["parameters_bytes"] == weights
    assert memory["gradients_bytes"] == grads
    assert memory["adamw"]["total_bytes"] == weights + grads + 2 * grads + analysis.activation_bytes
    assert memory["sgd_momentum"]["total_bytes"] == weights + grads + grads + analysis.activation_bytes


def test_saved_bytes_of_a_small_chain_by_hand() -> None:
    # conv keeps its input (3x8x8), batchnorm its input (4x8x8) and 2 x 4 statistics, the in-place ReLU
    # its output (the batchnorm's output storage, 4x8x8), max pooling that same storage (counted once) and
    # int64 indices (4x4x4), the linear its input (a view of the pooled 4x4x4).
    text = (
        "network tiny:\n  input: 3x8x8\n  layers:\n"
        "    conv(4, 3, pad=1) >> batchnorm >> relu >> maxpool(2) >> flatten >> linear(2)\n"
    )
    analysis = archspec.load("tiny.arch", text=text).analyze(batch=2)
    elements = 2 * (3 * 64 + 4 * 64 + 4 * 64 + 4 * 16) + 8
    assert analysis.activation_bytes == elements * 4 + 2 * 4 * 16 * 8


# One tiny network per op rule, estimate == torch exactly (both figures, batch 2, float32). Each op sits
# between a conv (so its input is a fresh storage) and a flatten/linear (which saves what the op returns).
OP_RULES = {
    "silu": "conv(4, 3, pad=1) >> silu >> flatten >> linear(2)",
    "hardswish": "conv(4, 3, pad=1) >> hardswish >> flatten >> linear(2)",
    "hardsigmoid": "conv(4, 3, pad=1) >> hardsigmoid >> flatten >> linear(2)",
    "stochastic_depth_row": "conv(4, 3, pad=1) >> stochastic_depth(0.2) >> flatten >> linear(2)",
    "stochastic_depth_batch": (
        'conv(4, 3, pad=1) >> stochastic_depth(0.2, mode="batch") >> flatten >> linear(2)'
    ),
    "layer_scale": "conv(4, 3, pad=1) >> layer_scale(dim=0) >> flatten >> linear(2)",
    "layernorm_dim0": "conv(4, 3, pad=1) >> layernorm(dim=0) >> flatten >> linear(2)",
    "permute_layernorm": (
        "conv(4, 3, pad=1) >> permute([1, 2, 0]) >> layernorm(dim=-1) >> flatten >> linear(2)"
    ),
    "layernorm_linear_dim": (
        "conv(4, 3, pad=1) >> permute([1, 2, 0]) >> layernorm(dim=-1) >> linear(6, dim=-1) >> flatten"
        " >> linear(2)"
    ),
    "chunk": "conv(4, 3, pad=1) >> chunk(2, 1) >> conv(4, 1) >> flatten >> linear(2)",
    "split": "conv(4, 3, pad=1) >> split([1, 3], 1) >> conv(4, 1) >> flatten >> linear(2)",
    "patch_merging": (
        "conv(8, 1) >> permute([1, 2, 0]) >> layernorm(dim=-1) >> patch_merging >> flatten >> linear(2)"
    ),
    "channel_shuffle": "conv(4, 3, pad=1) >> channel_shuffle(2) >> conv(4, 1) >> flatten >> linear(2)",
    "mul_gate": (
        "c: conv(4, 3, pad=1)\n    g: global_avgpool\n    s: sigmoid\n    mul from c, s\n"
        "    flatten\n    linear(2)"
    ),
    "mul_same_shape": "c: conv(4, 3, pad=1)\n    s: sigmoid\n    mul from c, s\n    flatten\n    linear(2)",
    "add_broadcast": "c: conv(4, 3, pad=1)\n    g: global_avgpool\n    s: sigmoid\n    add from c, s\n"
    "    flatten\n    linear(2)",
}


@pytest.mark.parametrize("name", sorted(OP_RULES))
def test_op_rule_matches_torch_exactly(name: str) -> None:
    text = "network t:\n  input: 3x8x8\n  layers:\n    " + OP_RULES[name] + "\n"
    network = archspec.load("t.arch", text=text)
    torch.manual_seed(0)
    module = network.build()
    x = torch.randn(2, *network.graph.input_shape)
    analysis = network.analyze(dtype="float32", batch=2)
    assert analysis.activation_bytes == saved_activation_bytes(module, x)
    assert analysis.peak_activation_bytes == inference_peak_bytes(module, x)


@pytest.mark.parametrize("shift", [0, 2])
def test_window_attention_peak_is_close_to_torch(shift: int) -> None:
    # The scratch rule counts the live set at the softmax; the shift's mask and the matmuls' smaller copies
    # move the true peak by a few per cent (batch 1 without a shift is exact).
    text = (
        "network t:\n  input: 3x8x8\n  layers:\n    conv(8, 1) >> permute([1, 2, 0]) >> layernorm(dim=-1)"
        f" >> shifted_window_attention(2, 4, {shift}) >> flatten >> linear(2)\n"
    )
    network = archspec.load("t.arch", text=text)
    torch.manual_seed(0)
    module = network.build()
    for batch in (1, 2):
        x = torch.randn(batch, *network.graph.input_shape)
        analysis = network.analyze(dtype="float32", batch=batch)
        assert analysis.activation_bytes == saved_activation_bytes(module, x)
        assert analysis.peak_activation_bytes == pytest.approx(inference_peak_bytes(module, x), rel=0.1)
