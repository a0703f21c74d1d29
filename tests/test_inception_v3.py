"""Inception-v3 written from torchvision's source (tests/specs/inception_v3.arch), against torchvision:
the spec is the network (parameters, MACs, state dict loaded strictly, outputs, same-seed weights), and
its receptive field, 1311 (issue 28: the analysis once said 1247, taking one branch's field at the
merges of 1x7 and 7x1 kernels), is the extent of the input gradient of torchvision's own forward pass.

The gradient oracle runs torchvision's ``Inception3`` code itself, with every ``BasicConv2d`` replaced by
a geometry-only block (the mean over the input channels, then one conv of the same kernel, stride and
padding with equal positive weights), max pools as average pools of the same geometry and no ReLU (the
issue's recipe). A unit's footprint depends only on that geometry, and one channel per conv makes the
1400-pixel input the measure needs cheap.
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from oracles import assert_same_outputs, build_generated_empty, randomise
from test_crosscheck import counting
from torch import nn

import archspec
from archspec.analysis import ReceptiveField

torchvision = pytest.importorskip("torchvision")
inception = pytest.importorskip("torchvision.models.inception")

SPEC = Path(__file__).parent / "specs" / "inception_v3.arch"
OPTIONS = {"aux_logits": False, "transform_input": False}


def spec() -> archspec.Network:
    return archspec.load(str(SPEC))


def reference(device: str = "cpu", init_weights: bool = False) -> nn.Module:
    """torchvision's Inception3 without the auxiliary classifier (the spec leaves it out)."""
    with torch.device(device):
        model: nn.Module = torchvision.models.inception_v3(weights=None, init_weights=init_weights, **OPTIONS)
    return model


def test_parameters_macs_and_state_dict_are_torchvisions() -> None:
    network = spec()
    analysis = network.analyze()
    theirs = reference("meta")
    assert network.params == sum(p.numel() for p in theirs.parameters())
    ours = network.build(device="meta").state_dict()
    assert {k: tuple(v.shape) for k, v in ours.items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    assert list(ours) == list(theirs.state_dict())  # the same names in the same order
    with counting() as counter:
        out = theirs.eval()(torch.empty(1, *network.graph.input_shape, device="meta"))
    assert counter.get_total_flops() == 2 * analysis.macs
    assert tuple(out.shape[1:]) == network.graph.nodes[-1].shape


# ---------------------------------------------------------- the receptive field, by torchvision's gradient


class _Reached(Exception):
    """Mixed_7c has run: the rest of the forward pass is not needed."""


class GeometryOnly(nn.Module):
    """``BasicConv2d``'s geometry with one channel: the mean over the input's channels (positive, so no
    pixel's contribution cancels), then a conv of equal positive weights; no batch norm, no ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs: object) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, bias=False, dtype=torch.float64, **kwargs)  # type: ignore[arg-type]
        with torch.no_grad():
            self.conv.weight.fill_(1.0 / self.conv.weight.numel())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x.mean(1, keepdim=True))


def _average_pool(x: torch.Tensor, kernel_size: int, stride: int, padding: int = 0) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size, stride, padding)


def footprints(
    monkeypatch: pytest.MonkeyPatch, side: int, units: tuple[int, ...]
) -> list[list[tuple[int, int]]]:
    """For each unit (i, i) of Mixed_7c's output on a ``side``-pixel input: the first and last input row
    and column its gradient reaches, measured on torchvision's forward pass (module docstring)."""
    # InceptionB and D call F.max_pool2d, A, C and E F.avg_pool2d: the module's F, as average pools
    functional = types.SimpleNamespace(max_pool2d=_average_pool, avg_pool2d=F.avg_pool2d, relu=F.relu)
    monkeypatch.setattr(inception, "F", functional)
    names = ("InceptionA", "InceptionB", "InceptionC", "InceptionD", "InceptionE")
    blocks = [GeometryOnly, *(_with_conv_block(getattr(inception, n)) for n in names), inception.InceptionAux]
    model = inception.Inception3(inception_blocks=blocks, init_weights=False, **OPTIONS).eval()
    model.maxpool1 = model.maxpool2 = nn.AvgPool2d(3, stride=2)
    x = torch.ones(1, 3, side, side, dtype=torch.float64, requires_grad=True)
    captured: list[torch.Tensor] = []

    def stop(_module: nn.Module, _inputs: object, out: torch.Tensor) -> None:
        captured.append(out)
        raise _Reached  # the head's linear layer expects 2048 channels, not these few

    model.Mixed_7c.register_forward_hook(stop)
    with pytest.raises(_Reached):
        model(x)
    result = []
    for i in units:
        (grad,) = torch.autograd.grad(captured[0][0, :, i, i].sum(), x, retain_graph=True)
        seen = grad[0].sum(0) != 0
        extents = []
        for axis in (0, 1):
            hits = seen.any(1 - axis).nonzero().flatten().tolist()
            extents.append((hits[0], hits[-1]))
        result.append(extents)
    return result


def _with_conv_block(block: type[nn.Module]) -> type[nn.Module]:
    """An Inception block class that builds its convs as ``GeometryOnly``."""

    class Geometric(block):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, conv_block=GeometryOnly, **kwargs)

    return Geometric


def test_receptive_field_is_1311_the_extent_of_torchvisions_input_gradient(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    field = spec().analyze().spatial_receptive_field
    assert spec().analyze().receptive_field == field  # no gate: the whole field is the spatial one
    # units 20 and 21 of the last 8x8-at-299 map: their windows start at 20·32 - 618 >= 0 and end
    # inside a 1400-pixel input (21·32 - 618 + 1310 = 1364)
    (first, second) = footprints(monkeypatch, 1400, (20, 21))
    size = [b - a + 1 for a, b in first]
    stride = [s[0] - f[0] for f, s in zip(first, second, strict=True)]
    padding = [20 * j - f[0] for j, f in zip(stride, first, strict=True)]
    assert [b - a + 1 for a, b in second] == size
    assert size == [1311, 1311]  # the measure
    assert field == ReceptiveField((size[0], size[1]), (stride[0], stride[1]), (padding[0], padding[1]))


# ---------------------------------------------------------- outputs and initialisation (the full network)


@pytest.mark.slow
def test_outputs_equal_torchvision_with_its_randomised_weights(tmp_path: Path) -> None:
    """build() and the compiled source, loaded strictly with torchvision's randomised weights, compute its
    outputs bit for bit (the same kernels in the same order)."""
    network = spec()
    theirs = randomise(reference("meta").to_empty(device="cpu")).eval()
    ours = network.build(device="meta").to_empty(device="cpu")
    ours.load_state_dict(theirs.state_dict(), strict=True)
    generated = build_generated_empty(network.to_source(), tmp_path)
    generated.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(1, *network.graph.input_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = theirs(x)
        assert_same_outputs(ours.eval()(x), expected, exact=True)
        assert_same_outputs(generated.eval()(x), expected, exact=True)


@pytest.mark.slow
def test_untrained_weights_equal_torchvision_with_the_same_seed() -> None:
    torch.manual_seed(0)
    theirs = reference(init_weights=True).state_dict()
    torch.manual_seed(0)
    ours = spec().build().state_dict()
    assert list(ours) == list(theirs)
    different = [key for key in ours if not torch.equal(ours[key], theirs[key])]
    assert not different, different[:5]
