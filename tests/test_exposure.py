"""The network's parameters as arguments of the generated classes build what the spec builds.

``archspec compile`` writes a spec's numeric parameters as constructor arguments (``ResNet50(num_classes=
10)``, ViT's ``EncoderBlock(hidden_dim=hidden_dim, ...)``). Whatever finds which numbers a parameter
decides, the promise is the same: the generated class, given other values, is the network archspec
elaborates from the spec with those values. These tests check that promise against torch itself: the
modules' state_dict keys and shapes and torch's parameter count (numel), each dropout's probability,
and, with the same (randomised) weights, the same outputs bit for bit (both sides run the same kernels).
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any

import pytest
import torch
from oracles import assert_same_outputs, load_source, randomise
from torch import nn

import archspec
from archspec.errors import SpecError

INCEPTION = str(Path(__file__).parent / "specs" / "inception_v3.arch")

# (network, values of its parameters other than the defaults): several at once, so that a value passed
# down to the wrong class or mixed up with another shows.
# Compiling is the slow part (the parameters' places are found by substituting other values in the
# graph): the fast step keeps
# one network of each kind (a CNN with its head's width, a ViT with every parameter), the slow step the
# rest. (AlexNet, VGG and MobileNetV2 take num_classes and dropout as those below do.)
CHANGED: list[tuple[str, dict[str, Any]]] = [
    ("lenet5", {"num_classes": 4}),
    ("resnet18", {"num_classes": 10}),
    ("googlenet", {"num_classes": 10, "dropout": 0.3}),
    ("mobilenet_v3_large", {"num_classes": 10, "dropout": 0.3}),
    ("swin_t", {"num_classes": 10, "patch_size": 2, "embed_dim": 48}),  # its stages' widths: embed_dim * 2...
    (
        "vit_b_16",
        {"image_size": 64, "patch_size": 8, "num_layers": 3, "hidden_dim": 96, "mlp_dim": 160}
        | {"num_heads": 3, "num_classes": 5, "dropout": 0.125, "attention_dropout": 0.25},
    ),
    (  # 224 is no multiple of 64 or 96: the patch size is found with 16 and 8
        "vit_b_32",
        {"image_size": 64, "patch_size": 16, "num_layers": 2, "hidden_dim": 64, "mlp_dim": 128}
        | {"num_heads": 2},
    ),
    (INCEPTION, {"num_classes": 10}),
    # A parameter whose value is its torch argument's default (nn.Dropout's 0.5) is an argument too,
    # as torchvision's AlexNet(dropout=0.5); MaxViT's stem width reaches the first block's layer.
    ("alexnet", {"num_classes": 10, "dropout": 0.25}),
    ("maxvit_t", {"num_classes": 10, "stem_channels": 32}),
]
SLOW = {"googlenet", "mobilenet_v3_large", "swin_t", "vit_b_16", INCEPTION, "alexnet", "maxvit_t"}


def _label(name: str) -> str:
    return Path(name).stem


def _cases() -> list[Any]:
    return [
        pytest.param(name, values, id=_label(name), marks=[pytest.mark.slow] if name in SLOW else [])
        for name, values in CHANGED
    ]


@functools.cache
def _source(name: str) -> str:
    """The compiled source for the defaults (both tests read it; compiling is the slow part)."""
    return archspec.load(name).to_source()


def _dropouts(model: nn.Module) -> dict[str, float]:
    """Each module's dropout probability, by module name (``nn.Dropout``'s ``p``, attention's
    ``dropout``), as torch keeps them."""
    found = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.dropout._DropoutNd):
            found[name] = module.p
        elif isinstance(module, nn.MultiheadAttention):
            found[name] = module.dropout
    return found


def _shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def _numel(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(("name", "values"), _cases())
def test_the_generated_class_given_other_values_is_the_spec_elaborated_with_them(
    name: str, values: dict[str, Any], tmp_path: Path
) -> None:
    """The class compiled for the defaults, constructed with other values, against archspec's build of
    the spec at those values: same keys, shapes, parameter count, dropout probabilities, and outputs."""
    default = archspec.load(name)
    module = load_source(_source(name), tmp_path)
    taken = inspect.signature(module.build).parameters
    assert set(values) <= set(taken), f"not arguments: {sorted(set(values) - set(taken))}"
    for parameter, value in values.items():
        assert taken[parameter].default == default.graph.params[parameter] != value
    spec = archspec.load(name, **values)
    reference = randomise(spec.build()).eval()
    torch.manual_seed(0)
    generated = module.build(**values).eval()
    assert _shapes(generated) == _shapes(reference)
    assert _numel(generated) == _numel(reference) == spec.params
    assert _dropouts(generated) == _dropouts(reference)
    generated.load_state_dict(reference.state_dict())
    x = torch.randn(2, *spec.graph.input_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert_same_outputs(generated(x), reference(x), exact=True)


def _other_values(value: int | float) -> list[int | float]:
    """Values unlike the default to try, in order (an integer's multiples first, which keep what it
    divides dividing it; a float stays a probability)."""
    if isinstance(value, int):
        return [v for v in (value * 2, value * 3, value // 2, value + 1) if v > 0 and v != value]
    return [value / 2 + 0.0625, value / 3 + 0.125]


@pytest.mark.parametrize(("name", "values"), _cases())
def test_each_argument_alone_builds_what_the_spec_builds(
    name: str, values: dict[str, Any], tmp_path: Path
) -> None:
    """Every parameter the generated ``build()`` takes, changed alone to the first other value the spec
    accepts: the same state_dict shapes and dropout probabilities as archspec's build (on meta)."""
    default = archspec.load(name)
    module = load_source(_source(name), tmp_path)
    taken = inspect.signature(module.build).parameters
    assert taken, "no parameter is an argument"
    for parameter in taken:
        for value in _other_values(default.graph.params[parameter]):
            try:
                spec = archspec.load(name, **{parameter: value})
            except SpecError:
                continue  # a value the spec refuses (a width its head count does not divide)
            with torch.device("meta"):
                generated = module.build(**{parameter: value})
            reference = spec.build(device="meta")
            assert _shapes(generated) == _shapes(reference), (parameter, value)
            assert _dropouts(generated) == _dropouts(reference), (parameter, value)
            break
        else:
            pytest.fail(f"the spec accepts no other value of {parameter}")
