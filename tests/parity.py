"""Output parity that can fail: random biases, norm weights and statistics, and a relative tolerance.

A freshly initialised network has zero biases, unit norm weights and zero/one batch-norm statistics, and
its outputs can be near 1e-9 (torchvision's MobileNetV3 at initialisation); an absolute tolerance then
passes anything, and a missing bias or a norm over the wrong axis goes unseen. ``randomise`` fills every
1-d floating tensor (biases, norm weights, running statistics) with random values of a safe scale, and
``assert_close_relative`` compares with a tolerance relative to the reference's largest value.
"""

from __future__ import annotations

import torch
from torch import nn


def randomise(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random biases, norm weights and batch-norm statistics (weights of 2 or more dims stay as they are:
    their scale keeps a deep network's activations finite)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
            if not tensor.is_floating_point() or tensor.dim() != 1:
                continue
            leaf = name.rpartition(".")[2]
            if leaf in ("weight", "running_var"):  # positive, around 1
                values = 0.5 + torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype)
            else:  # biases and running means
                values = 0.2 * torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype)
            tensor.copy_(values.to(tensor.device))
    return module


def assert_close_relative(ours: torch.Tensor, theirs: torch.Tensor, rtol: float = 1e-5) -> None:
    """Equal within ``rtol`` times the reference's largest magnitude (which must not be tiny)."""
    scale = theirs.abs().max().item()
    assert scale > 1e-2, f"the reference output is too small to compare ({scale:.3g})"
    error = (ours - theirs).abs().max().item()
    assert error <= rtol * scale, f"max difference {error:.3g} over a scale of {scale:.3g}"
