"""Origins: the graph for other parameter values, computed from a traced elaboration's origins
(``elab.origins.substitute``), is the graph the spec elaborates to with those values.

The oracle is the elaboration itself (``archspec.load`` with the values): same nodes (ops with every
field, shapes) and init rules. A parameter that decides something (a repeat count, a loop over a
range) gives no substituted graph: the code generator keeps it a literal; one that changes how a
buffer's values are computed raises ``BufferChanged`` (never an argument: the file writes those values).
"""

from __future__ import annotations

from typing import Any

import pytest

import archspec
from archspec.api import overrides_from_mapping
from archspec.elab.origins import BufferChanged, Tracer, substitute
from archspec.errors import SpecError
from archspec.ir import Graph
from archspec.lower import lower

# (network, the parameters whose other values are substituted, those that decide something, those that
# change a buffer's computation)
CASES = [
    ("lenet5", {"num_classes"}, set(), set()),
    ("resnet18", {"num_classes"}, set(), set()),
    (
        "vit_b_16",
        {"num_classes", "image_size", "patch_size", "hidden_dim", "mlp_dim", "num_heads", "dropout"},
        {"num_layers"},
        set(),
    ),
    (
        "swin_t",
        {"num_classes", "patch_size", "embed_dim", "window_size", "stochastic_depth_prob"},
        set(),
        set(),
    ),
    ("mobilenet_v3_large", {"num_classes", "dropout"}, set(), set()),
    (
        "maxvit_t",
        {"num_classes", "stem_channels", "head_dim", "stochastic_depth_prob"},
        set(),
        {"partition_size"},
    ),
]


def _traced(name: str) -> tuple[Graph, Tracer]:
    network = archspec.load(name)
    tracer = Tracer()
    overrides = overrides_from_mapping(network.graph.params)
    graph = lower(network.program, network.graph.variant, overrides, None, tracer)
    assert graph == network.graph  # tracing changes nothing in the graph
    return graph, tracer


def _other(value: Any) -> Any:
    return value * 2 if isinstance(value, int) else value / 2 + 0.0625


@pytest.mark.parametrize(("name", "substituted", "decided", "buffers"), CASES, ids=[c[0] for c in CASES])
def test_the_substituted_graph_is_the_elaborated_one(
    name: str, substituted: set[str], decided: set[str], buffers: set[str]
) -> None:
    """Each parameter changed alone: the substituted graph's nodes and init rules are those of the
    spec elaborated with the value; a deciding parameter gives None, a buffer's raises."""
    graph, tracer = _traced(name)
    for parameter in sorted(buffers):
        with pytest.raises(BufferChanged):
            substitute(graph, tracer, {parameter: _other(graph.params[parameter])})
    for parameter in sorted(substituted | decided):
        value = _other(graph.params[parameter])
        changed = substitute(graph, tracer, {parameter: value})
        if parameter in decided:
            assert changed is None, parameter
            continue
        assert changed is not None, parameter
        try:
            reference = archspec.load(name, **{parameter: value}).graph
        except SpecError:
            continue  # a value the spec refuses: nothing to compare
        assert changed.nodes == reference.nodes, parameter
        assert changed.init == reference.init, parameter
        assert changed.params == reference.params, parameter


def test_a_width_through_an_input_shape_and_a_block_argument_keeps_its_origin() -> None:
    """ViT's hidden_dim reaches linear's in_features only through the previous layer's output shape,
    and the encoder blocks only as an argument: changed, every such layer follows it."""
    graph, tracer = _traced("vit_b_32")
    changed = substitute(graph, tracer, {"hidden_dim": 96})
    assert changed is not None
    linears = [n.op for n in changed.nodes if n.op.kind == "linear"]
    assert linears and all(96 in (op.in_features, op.out_features) for op in linears)
    assert changed.nodes[-1].shape == graph.nodes[-1].shape  # the head's output: num_classes
