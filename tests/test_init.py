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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import archspec
from archspec.backends.init import SCHEMES
from archspec.errors import UsageError

torchvision = pytest.importorskip("torchvision")

FAST = ["resnet18", "vgg11_bn", "mobilenet_v2", "googlenet", "vit_b_32", "alexnet"]
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
def test_generated_source_initialises_as_torchvision(name: str, tmp_path: Path) -> None:
    build = generated_build(archspec.load(name), tmp_path)
    torch.manual_seed(0)
    generated = build().state_dict()
    assert_identical(generated, theirs(name))


# A network with every layer kind the schemes treat: a conv with a bias and a non-square kernel (fan-in
# 3*3*2 = 18, fan-out 4*3*2 = 24, so the two modes differ), 2-d and 1-d batch norm, linear layers with
# and without a bias.
TINY = (
    'network tiny:\n  title: "t"\n  init: {init}\n  input: 3x8x10\n  layers:\n'
    "    conv(4, [3, 2]) >> batchnorm >> relu >> flatten >> linear(16) >> batchnorm >> relu\n"
    "    linear(10, bias=false)\n"
)


def tiny_reference() -> nn.Sequential:
    """TINY written directly in torch (the output is 4x6x9), constructed in the spec's order."""
    return nn.Sequential(
        nn.Conv2d(3, 4, (3, 2)), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 9, 16),
        nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 10, bias=False),
    )  # fmt: skip


def _norms_one_zero(m: nn.Module) -> None:
    if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


def _reference_resnet(model: nn.Module) -> None:
    for m in model.modules():  # torchvision.models.resnet.ResNet.__init__
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        _norms_one_zero(m)


def _reference_vgg_like(model: nn.Module, nonlinearity: str) -> None:
    for m in model.modules():  # torchvision's VGG and MobileNetV2, and the generic kaiming_fan_out
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity=nonlinearity)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        _norms_one_zero(m)


def _reference_googlenet(model: nn.Module) -> None:
    for m in model.modules():  # torchvision.models.googlenet.GoogLeNet.__init__ (init_weights=True)
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
        _norms_one_zero(m)


def _reference_vit(model: nn.Module) -> None:
    conv, last = model[0], model[-1]  # torchvision.models.vision_transformer: conv_proj and the head
    nn.init.trunc_normal_(conv.weight, std=(1 / (3 * 3 * 2)) ** 0.5)  # fan-in 18
    nn.init.zeros_(conv.bias)
    nn.init.zeros_(last.weight)


REFERENCES: dict[str, Callable[[nn.Module], None]] = {
    "default": lambda model: None,
    "torchvision_resnet": _reference_resnet,
    "torchvision_vgg": lambda model: _reference_vgg_like(model, "relu"),
    "torchvision_mobilenet_v2": lambda model: _reference_vgg_like(model, "leaky_relu"),  # torch's default
    "torchvision_googlenet": _reference_googlenet,
    "torchvision_vit": _reference_vit,
    "kaiming_fan_out": lambda model: _reference_vgg_like(model, "relu"),
}


def test_every_scheme_has_a_reference() -> None:
    assert set(REFERENCES) == set(SCHEMES)


def reference_state(scheme: str, seed: int) -> list[torch.Tensor]:
    torch.manual_seed(seed)
    model = tiny_reference()
    REFERENCES[scheme](model)
    return list(model.state_dict().values())


def assert_same_values(ours: dict[str, torch.Tensor], reference: list[torch.Tensor]) -> None:
    """The same tensors in module order (the names differ: the reference is an nn.Sequential)."""
    assert len(ours) == len(reference)
    for (key, a), b in zip(ours.items(), reference, strict=True):
        assert a.shape == b.shape and torch.equal(a, b), key


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_every_scheme_equals_a_direct_nn_init_reference(scheme: str, tmp_path: Path) -> None:
    net = archspec.load("tiny.arch", text=TINY.format(init=repr(scheme).replace("'", '"')))
    torch.manual_seed(3)
    assert_same_values(net.build().state_dict(), reference_state(scheme, 3))
    build = generated_build(net, tmp_path)
    torch.manual_seed(3)
    assert_same_values(build().state_dict(), reference_state(scheme, 3))
    net.build(device="meta")  # nothing to initialise on meta, and no error


@pytest.mark.parametrize("value", ['"xavier"', "3", '["torchvision_vgg"]'])
def test_an_unknown_scheme_is_a_usage_error_naming_the_known_ones(value: str) -> None:
    net = archspec.load("tiny.arch", text=TINY.format(init=value))
    for action in (net.build, net.to_source):
        with pytest.raises(UsageError) as caught:
            action()
        message = str(caught.value)
        assert "init" in message and all(name in message for name in SCHEMES)
