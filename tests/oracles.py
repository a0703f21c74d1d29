"""Shared oracles for the torch tests: models with real numbers in them, and output comparisons.

A freshly initialised network is a poor witness: torchvision's ViT has a zero head (every output 0),
MobileNetV2's outputs are about 3e-9, and batch norm starts as the identity, so an absolute tolerance
lets any bug before the head pass. ``randomise`` gives every bias, norm weight and bias, running
statistic and every linear layer's weight a realistic, distinct value; ``assert_same_outputs`` then
compares outputs exactly where both sides run the same kernels and relative to the output's scale
otherwise.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

# Outputs smaller than this are too close to 0 to witness anything.
MIN_SCALE = 1e-2


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Fill ``model`` in place (and return it) with values that make every layer matter.

    Weights get N(0, 1/fan_in) (a realistic scale: activations neither vanish nor explode), biases
    N(0, 0.1), norm weights and other 1-d weights N(1, 0.1), ViT's class token and position embedding
    N(0, 0.5) (large enough that dropping one shows), running means N(0, 0.1) and running variances
    U(0.5, 1.5). A generator of its own keeps the global RNG untouched.
    """
    generator = torch.Generator().manual_seed(seed)

    def normal(tensor: torch.Tensor, mean: float, std: float) -> None:
        values = torch.randn(tensor.shape, generator=generator, dtype=torch.float64) * std + mean
        tensor.copy_(values.to(tensor.dtype))

    with torch.no_grad():
        for layer in model.modules():
            norm = isinstance(layer, nn.modules.batchnorm._NormBase | nn.LayerNorm | nn.GroupNorm)
            for name, parameter in layer.named_parameters(recurse=False):
                if "bias" in name:
                    normal(parameter, 0.0, 0.1)
                elif norm or parameter.dim() < 2:  # norm weights, LeNet's subsampling coefficients
                    normal(parameter, 1.0, 0.1)
                elif (
                    parameter.dim() == 3 and parameter.shape[0] == 1
                ):  # ViT's class token and position embedding
                    normal(parameter, 0.0, 0.5)
                else:  # conv, linear, attention projections: N(0, 1/fan_in)
                    normal(parameter, 0.0, 1.0 / math.sqrt(math.prod(parameter.shape[1:])))
            for name, buffer in layer.named_buffers(recurse=False):
                if name == "running_mean":
                    normal(buffer, 0.0, 0.1)
                elif name == "running_var":
                    buffer.copy_(torch.rand(buffer.shape, generator=generator, dtype=torch.float64) + 0.5)
                elif name == "num_batches_tracked":  # garbage after to_empty; unused at inference
                    buffer.zero_()
    return model


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """``max |a - b| / max |b|``: the error relative to the expected output's scale."""
    scale = expected.abs().max().item()
    assert scale > MIN_SCALE, f"the expected output is too small to witness anything (max |b| = {scale:.3g})"
    return (actual - expected).abs().max().item() / scale


def assert_same_outputs(
    actual: torch.Tensor, expected: torch.Tensor, rtol: float | None = None, *, exact: bool = False
) -> None:
    """``actual`` equals ``expected``: bit for bit when ``exact`` (both sides run the same kernels),
    else within ``rtol`` of the expected output's scale (``max |a - b| <= rtol * max |b|``), which must not
    be tiny. Shapes and dtypes must agree either way."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    scale = expected.abs().max().item()
    assert scale > MIN_SCALE, f"the expected output is too small to witness anything (max |b| = {scale:.3g})"
    if exact:
        error = (actual - expected).abs().max().item()
        assert torch.equal(actual, expected), f"not identical: max |a - b| = {error:.3g} at scale {scale:.3g}"
        return
    assert rtol is not None, "say rtol, or exact=True"
    error = relative_error(actual, expected)
    assert error <= rtol, f"max |a - b| / max |b| = {error:.3g} > {rtol:g}"


_COUNTER = itertools.count()


def load_source(source: str, directory: Path) -> ModuleType:
    """Import generated source from a file of its own (a fresh name defeats bytecode caches)."""
    name = f"generated_{next(_COUNTER)}"
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_generated_empty(source: str, directory: Path) -> nn.Module:
    """The generated file's ``build()``, constructed on meta and moved to the CPU uninitialised (cheap:
    the caller loads a state_dict into it)."""
    with torch.device("meta"):
        model: nn.Module = load_source(source, directory).build()
    return model.to_empty(device="cpu")


def persistent_buffers(module: nn.Module) -> int:
    """Elements of the buffers in the state dict (not those a module recomputes: LeNet-5's tables)."""
    parameters = {name for name, _ in module.named_parameters()}
    return sum(t.numel() for name, t in module.state_dict().items() if name not in parameters)
