"""Lowering's op cache (``archspec.elab.graph.created``, issue 26): an op is made once per class, arguments
and input shapes, and reused by later layers and later variants. The oracle is lowering with the cache
bypassed (every op made by ``Op.create`` again): the IR and the analysis must not change, and an argument
equal in Python but not in a spec (``true`` for ``1``) must still be refused with the whole message."""

from __future__ import annotations

import textwrap

import pytest

import archspec
from archspec.analysis import analyze
from archspec.elab import graph as graph_module
from archspec.errors import SpecError
from archspec.loader import load_program, resolve_spec
from archspec.lower import lower


@pytest.mark.parametrize("spec", ["resnet50", "mobilenet_v3_large", "swin_t", "googlenet"])
def test_cached_ops_give_the_graph_of_fresh_ops(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path, variant = resolve_spec(spec)
    program = load_program(path)
    graph_module._CREATED.clear()
    cold = lower(program, variant, {})
    warm = lower(program, variant, {})  # every op from the cache now
    with monkeypatch.context() as patch:
        patch.setattr(graph_module, "created", lambda op_class, args, shapes: op_class.create(args, shapes))
        fresh = lower(program, variant, {})
    assert warm.to_json() == fresh.to_json() == cold.to_json()
    assert repr(analyze(warm).rows) == repr(analyze(fresh).rows)
    # the second lowering made no op (but the network's input, which the lowering makes itself)
    assert all(a.op is b.op for a, b in zip(warm.nodes[1:], cold.nodes[1:], strict=True))


def test_a_cached_op_does_not_hide_a_wrong_argument() -> None:
    text = textwrap.dedent(
        """\
        network n:
          input: 3x8x8
          layers:
            a: conv(4, 3, stride=1) >> relu
            b: conv(4, 3, stride=true)
        """
    )
    with pytest.raises(SpecError) as raised:
        archspec.load("n.arch", text=text)
    assert str(raised.value) == (
        "n.arch:5:19: error: b: argument 'stride' of conv must be an integer or a pair [h, w], got true\n"
        "   5 |     b: conv(4, 3, stride=true)\n"
        "                         ^^^^^^^^^^^"
    )


def test_equal_arguments_of_another_sign_are_kept_apart() -> None:
    # -0.0 == 0.0 in Python, but the op keeps the value written (and describes it so).
    layers = "    c: dropout(-0.0)\n    a: dropout(0)\n    b: dropout(0.0)\n"
    text = "network n:\n  input: [8]\n  layers:\n" + layers
    graph = archspec.load("n.arch", text=text).graph
    assert [repr(graph.node(name).op.p) for name in "cab"] == ["-0.0", "0.0", "0.0"]  # type: ignore[attr-defined]
    described = [graph.node(name).op.describe() for name in "cab"]
    assert described == ["dropout(p=-0)", "dropout(p=0)", "dropout(p=0)"]
