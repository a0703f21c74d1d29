"""Initialisation schemes: an untrained zoo network starts exactly where torchvision's does (same seed).

Every tensor is compared for exact equality, buffers included. That holds because the builder constructs
layers in torchvision's order (what construction draws from the RNG is what torchvision's constructors
draw, with the position embedding drawn where torchvision's Encoder draws it), runs each scheme's loop
over ``modules()`` in torchvision's order, and initialises ViT's MLP blocks as soon as they are built, as
torchvision's ``MLPBlock`` does. ResNet builds a stage's ``downsample`` before the unit's first conv while
archspec builds it after the unit's residual branch; that order does not matter: those convolutions are
drawn from ``kaiming_uniform_`` (one number per element, so the RNG ends in the same state whatever the
order) and drawn again by the scheme in ``modules()`` order, which is the same in both. So no statistical
fallback is needed.
"""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from typing import Any

import pytest
import torch

import archspec
from archspec.backends.init import SCHEMES
from archspec.errors import UsageError

torchvision = pytest.importorskip("torchvision")

FAST = [
    *("resnet18", "vgg11_bn", "mobilenet_v2", "googlenet", "vit_b_32", "alexnet"),
    *("mobilenet_v3_large", "efficientnet_v2_s"),
]
SLOW = [
    *("resnet34", "resnet50", "resnet101", "resnet152"),
    *("vgg11", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"),
    *("vit_b_16", "vit_l_16", "vit_l_32"),
]
OPTIONS: dict[str, dict[str, Any]] = {"googlenet": {"aux_logits": False, "init_weights": True}}
_COUNTER = itertools.count()


def theirs(name: str) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    state: dict[str, torch.Tensor] = torchvision.models.get_model(
        name, weights=None, **OPTIONS.get(name, {})
    ).state_dict()
    return state


def ours(name: str) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    state: dict[str, torch.Tensor] = archspec.load(name).build().state_dict()
    return state


def assert_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert list(a) == list(b)
    different = [key for key in a if a[key].dtype != b[key].dtype or not torch.equal(a[key], b[key])]
    assert not different, f"{len(different)} of {len(a)} tensors differ: {different[:5]}"


def generated_build(net: archspec.Network, directory: Path) -> Any:
    name = f"generated_init_{next(_COUNTER)}"
    path = directory / f"{name}.py"
    path.write_text(net.to_source(), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build


@pytest.mark.parametrize("name", [*FAST, *(pytest.param(name, marks=pytest.mark.slow) for name in SLOW)])
def test_untrained_weights_equal_torchvision_with_the_same_seed(name: str) -> None:
    assert_identical(ours(name), theirs(name))


def test_the_zoo_declares_torchvision_schemes() -> None:
    expected = {
        "resnet50": "torchvision_resnet",
        "vgg16_bn": "torchvision_vgg",
        "mobilenet_v2": "torchvision_mobilenet_v2",
        "mobilenet_v3_large": "torchvision_mobilenet_v3",
        "efficientnet_v2_s": "torchvision_efficientnet",
        "googlenet": "torchvision_googlenet",
        "vit_b_16": "torchvision_vit",
        "alexnet": "default",
    }
    for name, scheme in expected.items():
        assert archspec.load(name).graph.metadata.extra["init"] == scheme


def test_a_different_seed_gives_different_weights() -> None:
    torch.manual_seed(1)
    other = archspec.load("resnet18").build().state_dict()
    assert not torch.equal(other["conv1.weight"], ours("resnet18")["conv1.weight"])


@pytest.mark.parametrize("name", FAST)
def test_generated_source_initialises_as_the_in_memory_build(name: str, tmp_path: Path) -> None:
    net = archspec.load(name)
    build = generated_build(net, tmp_path)
    torch.manual_seed(0)
    generated = build().state_dict()
    assert_identical(generated, ours(name))


TINY = (
    'network tiny:\n  title: "t"\n  init: {init}\n  input: 3x8x8\n  layers:\n'
    "    conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)\n"
)


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_every_scheme_builds_and_generates_the_same_numbers(scheme: str, tmp_path: Path) -> None:
    net = archspec.load("tiny.arch", text=TINY.format(init=repr(scheme).replace("'", '"')))
    build = generated_build(net, tmp_path)
    torch.manual_seed(3)
    generated = build().state_dict()
    torch.manual_seed(3)
    assert_identical(net.build().state_dict(), generated)
    net.build(device="meta")  # nothing to initialise on meta, and no error


@pytest.mark.parametrize("value", ['"xavier"', "3", '["torchvision_vgg"]'])
def test_an_unknown_scheme_is_a_usage_error_naming_the_known_ones(value: str) -> None:
    net = archspec.load("tiny.arch", text=TINY.format(init=value))
    for action in (net.build, net.to_source):
        with pytest.raises(UsageError) as caught:
            action()
        message = str(caught.value)
        assert "init" in message and all(name in message for name in SCHEMES)
