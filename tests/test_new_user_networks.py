"""Two networks outside the zoo, written from their papers by a new user with the README and docs/ only
(tests/specs/squeezenet1_1.arch, tests/specs/shufflenet_v2.arch), against torchvision: parameters
(torch's numel), MACs (``FlopCounterMode``), the state dict's names and shapes in torchvision's order, the
outputs of the built module and of the compiled source after loading torchvision's randomised weights,
the receptive field of ShuffleNet's last map against torchvision's own input gradient, and, for ShuffleNet,
the same weights from the same seed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from oracles import assert_same_outputs, build_generated_empty, randomise
from test_crosscheck import counting
from torch import nn

import archspec
from archspec.analysis import ReceptiveField

torchvision = pytest.importorskip("torchvision")

SPECS = Path(__file__).parent / "specs"
# (spec file, variant): the variant is torchvision's builder of the same name.
NETWORKS = [
    ("squeezenet1_1.arch", "squeezenet1_1"),
    ("shufflenet_v2.arch", "shufflenet_v2_x0_5"),
    ("shufflenet_v2.arch", "shufflenet_v2_x1_0"),
    ("shufflenet_v2.arch", "shufflenet_v2_x1_5"),
    ("shufflenet_v2.arch", "shufflenet_v2_x2_0"),
]


def reference(variant: str, device: str = "cpu") -> nn.Module:
    with torch.device(device):
        model: nn.Module = getattr(torchvision.models, variant)(weights=None)
    return model.eval()


@pytest.mark.parametrize(("path", "variant"), NETWORKS)
def test_parameters_macs_and_state_dict_are_torchvisions(path: str, variant: str) -> None:
    network = archspec.load(str(SPECS / path), variant)
    theirs = reference(variant, "meta")
    assert network.params == sum(p.numel() for p in theirs.parameters())
    ours = network.build(device="meta").state_dict()
    assert [(k, tuple(v.shape)) for k, v in ours.items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    with counting() as counter:
        out = theirs(torch.empty(1, *network.graph.input_shape, device="meta"))
    assert counter.get_total_flops() == 2 * network.analyze().macs
    assert tuple(out.shape[1:]) == network.graph.output_shape


@pytest.mark.parametrize(("path", "variant"), NETWORKS[:3])
def test_outputs_are_torchvisions_built_and_compiled(path: str, variant: str, tmp_path: Path) -> None:
    network = archspec.load(str(SPECS / path), variant)
    theirs = randomise(reference(variant))
    weights = theirs.state_dict()
    built = network.build().eval()
    built.load_state_dict(weights)
    compiled = build_generated_empty(network.to_source(), tmp_path).eval()
    compiled.load_state_dict(weights)
    x = torch.randn(2, *network.graph.input_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = theirs(x)
        assert_same_outputs(built(x), expected, rtol=1e-5)
        assert_same_outputs(compiled(x), expected, rtol=1e-5)


def test_shufflenet_draws_torchvisions_weights_from_the_same_seed() -> None:
    network = archspec.load(str(SPECS / "shufflenet_v2.arch"), "shufflenet_v2_x1_0")
    torch.manual_seed(0)
    theirs = reference("shufflenet_v2_x1_0")
    torch.manual_seed(0)
    ours = network.build()
    for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


@pytest.mark.slow
def test_shufflenet_field_is_torchvisions_gradient_extent() -> None:
    """The field of conv5's map (527 /32 p263: the channel shuffles move no pixel) against the input
    gradient of one unit of torchvision's own conv5, with positive weights so that nothing cancels, the
    max pool an average pool of its geometry. The analysis once said "global" from the first shuffle on
    (a rearrange of the channels)."""
    network = archspec.load(str(SPECS / "shufflenet_v2.arch"), "shufflenet_v2_x0_5")
    field = network.analyze().row("conv5").receptive_field
    assert isinstance(field, ReceptiveField)
    model = reference("shufflenet_v2_x0_5")
    model.maxpool = nn.AvgPool2d(3, stride=2, padding=1)  # a max pool's gradient reaches one pixel only
    with torch.no_grad():
        for parameter in model.parameters():  # positive, and scaled so that activations keep their size
            parameter.uniform_(0.5, 1.0).div_(max(1, parameter[0].numel()) if parameter.dim() > 1 else 1)
    side = 704  # the field of a unit in the middle lies inside the image
    x = torch.ones(1, 3, side, side, requires_grad=True)
    features = model.conv5(model.stage4(model.stage3(model.stage2(model.maxpool(model.conv1(x))))))
    row, column = 10, 11
    features[0, :, row, column].sum().backward()
    assert x.grad is not None
    seen = x.grad[0].abs().sum(0) != 0
    rows = seen.any(1).nonzero().flatten().tolist()
    columns = seen.any(0).nonzero().flatten().tolist()
    for (first, last), at in (((rows[0], rows[-1]), row), ((columns[0], columns[-1]), column)):
        start = at * field.stride[0] - field.padding[0]
        assert start > 0 and start + field.size[0] < side
        assert (first, last) == (start, start + field.size[0] - 1)
