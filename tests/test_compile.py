"""Every zoo variant goes through torch.compile(fullgraph=True) and torch.export.

Dynamo traces the module with fake tensors either way, so the modules are built on the meta device: the
checks cover graph capture (no graph break, no data-dependent Python in forward) at a fraction of the cost.
Inductor code generation on real tensors is exercised for representative networks in
test_torch_backend.py (slow step).
"""

from __future__ import annotations

import pytest
import torch

import archspec
from archspec.catalog import catalog

ZOO = [variant for entry in catalog() for variant in entry.variants]
# Seconds each even on meta; they run in the slow CI step.
SLOW = {"vit_l_16", "vit_l_32", "resnet101", "resnet152", "vgg19", "vgg19_bn"}


def variants() -> list[object]:
    return [pytest.param(v, marks=pytest.mark.slow) if v in SLOW else v for v in ZOO]


@pytest.mark.parametrize("variant", variants())
def test_compiles_as_one_graph_and_exports(variant: str) -> None:
    net = archspec.load(variant)
    model = net.build(device="meta").eval()
    x = torch.empty(2, *net.graph.input_shape, device="meta")
    expected = (2, *net.graph.output_shape)

    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, backend="eager")  # raises on any graph break
    assert tuple(compiled(x).shape) == expected

    exported = torch.export.export(model, (x,))
    assert tuple(exported.module()(x).shape) == expected
    # The exported program keeps the spec's names for every parameter and persistent buffer.
    assert set(exported.state_dict) == set(model.state_dict())
