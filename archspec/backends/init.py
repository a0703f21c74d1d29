"""Initialisation schemes: how a freshly built network's parameters start.

A spec picks one by name in its metadata (``init: "torchvision_resnet"``; absent means ``"default"``).
Each scheme is one small function over the built network, written as torchvision writes the
``for m in self.modules()`` loop at the end of its constructor, and run in the same module order, so
that with the same seed an untrained archspec network starts from the same numbers as torchvision's
(where the layers are constructed in the same order: construction draws random numbers too).

A scheme may also have ``on_build`` functions, keyed by op kind, run on that op's module right after it
is constructed: torchvision's ``MLPBlock`` initialises its linear layers inside its own constructor,
before the next encoder layer is built, and only doing the same at the same moment gives the same
random numbers.

The functions use only ``torch``, ``nn`` and ``math``: the code generator copies their source into
standalone files, whose ``build()`` calls them as the in-memory builder does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from archspec.errors import UsageError
from archspec.ir import Graph

# ---------------------------------------------------------------- the schemes (copied into generated files)


def torchvision_resnet(model: nn.Module) -> None:
    """torchvision's ResNet (zero_init_residual=False): conv kaiming-normal (fan-out, ReLU), norms 1/0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d | nn.GroupNorm) and m.weight is not None:
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


def torchvision_vgg(model: nn.Module) -> None:
    """torchvision's VGG: conv kaiming-normal (fan-out, ReLU), bias 0; batch norm 1/0; linear N(0, 0.01)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.BatchNorm2d) and m.weight is not None:
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)


def torchvision_mobilenet_v2(model: nn.Module) -> None:
    """torchvision's MobileNetV2: conv kaiming-normal (fan-out) and bias 0, norms 1/0, linear N(0, 0.01)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.GroupNorm) and m.weight is not None:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def torchvision_efficientnet(model: nn.Module) -> None:
    """torchvision's EfficientNet: conv kaiming-normal (fan-out) and bias 0, norms 1/0, linear
    uniform(±1/sqrt(out_features)) and bias 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.GroupNorm) and m.weight is not None:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            init_range = 1.0 / math.sqrt(m.out_features)
            nn.init.uniform_(m.weight, -init_range, init_range)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def torchvision_googlenet(model: nn.Module) -> None:
    """torchvision's GoogLeNet (init_weights): conv and linear weights truncated N(0, 0.01); norms 1/0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
        elif isinstance(m, nn.BatchNorm2d) and m.weight is not None:
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


def torchvision_vit(model: nn.Module) -> None:
    """torchvision's ViT: the patch projection truncated N(0, 1/fan-in) with bias 0, the head (last linear) 0.

    The class token (zeros) and the position embedding (N(0, 0.02)) start so when they are built; the
    MLP blocks are initialised as they are built (``torchvision_vit_mlp``).
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            nn.init.trunc_normal_(m.weight, std=math.sqrt(1 / fan_in))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if linears:
        nn.init.zeros_(linears[-1].weight)
        if linears[-1].bias is not None:
            nn.init.zeros_(linears[-1].bias)


def torchvision_vit_mlp(mlp: nn.Module) -> nn.Module:
    """torchvision's MLPBlock, as it is built: linear weights xavier-uniform, biases N(0, 1e-6)."""
    for m in mlp.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.normal_(m.bias, std=1e-6)
    return mlp


def kaiming_fan_out(model: nn.Module) -> None:
    """Generic: conv kaiming-normal (fan-out, ReLU), bias 0; norms 1/0 (1-d too); linear N(0, 0.01), 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d | nn.GroupNorm) and m.weight is not None:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


# ---------------------------------------------------------------- the registry


@dataclass(frozen=True)
class InitScheme:
    """A named scheme: ``model`` runs on the built network, ``on_build[kind]`` on each such op's module."""

    name: str
    model: Callable[[nn.Module], None] | None = None
    on_build: Mapping[str, Callable[[nn.Module], nn.Module]] = field(default_factory=dict)

    def functions(self) -> list[Callable[..., Any]]:
        """Every function of the scheme (what a generated file must carry)."""
        return [*self.on_build.values(), *([self.model] if self.model is not None else [])]


SCHEMES: dict[str, InitScheme] = {
    scheme.name: scheme
    for scheme in (
        InitScheme("default"),  # torch's own initialisation of every layer (torchvision's AlexNet)
        InitScheme("torchvision_resnet", torchvision_resnet),
        InitScheme("torchvision_vgg", torchvision_vgg),
        InitScheme("torchvision_mobilenet_v2", torchvision_mobilenet_v2),
        # MobileNetV3's constructor ends with the same loop as MobileNetV2's
        InitScheme("torchvision_mobilenet_v3", torchvision_mobilenet_v2),
        InitScheme("torchvision_googlenet", torchvision_googlenet),
        InitScheme("torchvision_efficientnet", torchvision_efficientnet),
        InitScheme("torchvision_vit", torchvision_vit, {"mlp": torchvision_vit_mlp}),
        InitScheme("kaiming_fan_out", kaiming_fan_out),
    )
}

FUNCTION_NAMES = frozenset(f.__name__ for scheme in SCHEMES.values() for f in scheme.functions())


def scheme_named(name: Any) -> InitScheme:
    """The scheme of this name; a UsageError that lists the known ones otherwise."""
    if isinstance(name, str) and name in SCHEMES:
        return SCHEMES[name]
    raise UsageError(
        f"unknown init scheme {name!r} in the spec's metadata (`init:`); known schemes: {', '.join(SCHEMES)}"
    )


def scheme_of(graph: Graph) -> InitScheme:
    """The scheme a graph's metadata asks for (``init``; ``"default"`` when absent)."""
    return scheme_named(graph.metadata.extra.get("init", "default"))


__all__ = [
    "SCHEMES",
    "InitScheme",
    "kaiming_fan_out",
    "scheme_named",
    "scheme_of",
    "torchvision_efficientnet",
    "torchvision_googlenet",
    "torchvision_mobilenet_v2",
    "torchvision_resnet",
    "torchvision_vgg",
    "torchvision_vit",
    "torchvision_vit_mlp",
]
