"""An op is one definition: tests/toy_op.py adds ``pointwise`` (a 1x1 convolution) in one file, and the
spec language, the analysis, the torch backend, the source compiler, the drawing and the init rules all
take it, with no registry edited. The oracles are torch's own ``F.conv2d`` and arithmetic on the spec."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import torch
import torch.nn.functional as F
from oracles import load_source

import archspec
from archspec.analysis.receptive import ReceptiveField
from archspec.backends.source_ops import SOURCE_OPS
from archspec.backends.torch_ops import TORCH_OPS
from archspec.errors import SpecError
from archspec.ops import OP_CLASSES, OPS_BY_KIND, OPS_BY_NAME

SPEC = (
    "network toy:\n"
    "  input: 3x8x8\n"
    "  init:\n"
    "    pointwise: weight=constant(0.5), bias=zeros\n"
    "  layers:\n"
    "    conv(4, 3, padding=1) >> relu >> pointwise(6) >> conv1x1(5, bias=false) >> flatten >> linear(10)\n"
)


@pytest.fixture(scope="module", autouse=True)
def toy_op() -> Iterator[ModuleType]:
    """The op's module, imported for this file's tests only: the registries are live, and other tests
    compare whole messages whose hints list the ops (`did you mean`, the ops with parameters)."""
    module = importlib.import_module("toy_op")
    yield module
    for table in (OPS_BY_KIND, TORCH_OPS, SOURCE_OPS):
        del table["pointwise"]
    for name in module.Pointwise.spec_names:
        del OPS_BY_NAME[name]
    del sys.modules["toy_op"]


def network() -> archspec.Network:
    return archspec.load("toy.arch", text=SPEC)


def test_the_op_registers_itself_and_is_not_a_library_op(toy_op: ModuleType) -> None:
    assert OPS_BY_KIND["pointwise"] is toy_op.Pointwise
    assert OPS_BY_NAME["pointwise"] is OPS_BY_NAME["conv1x1"] is toy_op.Pointwise
    assert toy_op.Pointwise not in OP_CLASSES  # the library's list (docs, IR schema) stays the library's


def test_the_op_is_checked_like_any_op() -> None:
    with pytest.raises(SpecError) as error:
        archspec.load("toy.arch", text=SPEC.replace("pointwise(6)", "pointwise(6, bias=1)"))
    assert "argument 'bias' of pointwise must be true or false, got 1" in str(error.value)
    with pytest.raises(SpecError) as error:
        archspec.load("toy.arch", text=SPEC.replace("pointwise(6)", "pointwise(-6)"))
    assert "argument 'out_channels' of pointwise must be greater than 0, got -6" in str(error.value)


def test_the_op_is_analysed_by_its_own_rules() -> None:
    net = network()
    analysis = net.analyze(count="all")
    layer = {row.name: row for row in analysis.rows}
    names = [node.name for node in net.graph.nodes if node.op.kind == "pointwise"]
    first, second = (layer[name] for name in names)
    assert first.output_shape == (6, 8, 8) and second.output_shape == (5, 8, 8)
    assert first.params == 4 * 6 + 6 and second.params == 6 * 5
    assert first.macs == 4 * 6 * 64 and second.macs == 6 * 5 * 64
    assert analysis.params == (3 * 9 * 4 + 4) + 30 + 30 + (5 * 64 * 10 + 10)
    assert analysis.depth == 4  # conv, pointwise, pointwise, linear: depth_weight 1 each
    # its receptive-field step (1x1, stride 1) keeps the 3x3 conv's field: size 3, stride 1, padding 1
    for row in (first, second):
        field = row.receptive_field
        assert isinstance(field, ReceptiveField)
        assert (field.size, field.stride, field.padding) == ((3, 3), (1, 1), (1, 1))
    # its backward keeps its input (6x8x8 float32 for the second; the first's input is the relu output,
    # which the relu keeps already and is counted there)
    assert (first.saved_bytes, second.saved_bytes) == (0, 6 * 8 * 8 * 4)


def test_the_op_is_built_compiled_and_initialised(tmp_path: Path) -> None:
    net = network()
    torch.manual_seed(0)
    model = net.build()
    state = model.state_dict()
    names = [node.name for node in net.graph.nodes if node.op.kind == "pointwise"]
    first = names[0]
    assert torch.equal(state[f"{first}.weight"], torch.full((6, 4, 1, 1), 0.5))  # the init rule
    assert torch.equal(state[f"{first}.bias"], torch.zeros(6))
    assert f"{names[1]}.bias" not in state and state[f"{names[1]}.weight"].shape == (5, 6, 1, 1)
    x = torch.randn(2, 3, 8, 8)
    # torch's own convolutions, from the state dict, are the oracle for what the network computes
    keys = list(state)
    h = F.relu(F.conv2d(x, state[keys[0]], state[keys[1]], padding=1))
    h = F.conv2d(h, state[f"{first}.weight"], state[f"{first}.bias"])
    h = F.conv2d(h, state[f"{names[1]}.weight"])
    expected = F.linear(h.flatten(1), state[keys[-2]], state[keys[-1]])
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x), expected)
    source = net.to_source()
    assert (
        "nn.Conv2d(4, 6, kernel_size=1)" in source and "nn.Conv2d(6, 5, kernel_size=1, bias=False)" in source
    )
    generated = load_source(source, tmp_path).build()
    assert list(generated.state_dict()) == keys
    assert torch.equal(generated.state_dict()[f"{first}.weight"], torch.full((6, 4, 1, 1), 0.5))
    generated.load_state_dict(state)
    generated.eval()
    with torch.no_grad():
        torch.testing.assert_close(generated(x), expected)


def test_the_op_is_drawn_with_its_label_and_family(tmp_path: Path) -> None:
    from archspec.backends.diagram.labels import FAMILIES

    path = network().draw(tmp_path / "toy.dot", depth=None)
    text = path.read_text(encoding="utf-8")
    assert "pointwise, 6" in text and "pointwise, 5" in text
    assert FAMILIES["conv"][0] in text
