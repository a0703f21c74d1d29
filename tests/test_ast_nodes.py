"""The AST's node classes are plain classes with written ``__init__`` methods (no ``@dataclass``, whose
generated methods are compiled at every import: docs/benchmarks.md, "Start-up against the floor"). What
the frozen dataclasses guaranteed, and the caches and the formatter rely on, is checked here."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from archspec import ast
from archspec.source import Span
from archspec.syntax import parse

ROOT = Path(__file__).resolve().parents[1]
NODE_CLASSES = [
    value
    for value in vars(ast).values()
    if isinstance(value, type) and issubclass(value, ast.Node) and value is not ast.Node
]
SPAN = Span("x.arch", 1, 1, 1, 2)


def test_every_class_is_a_node_and_none_a_dataclass() -> None:
    assert len(NODE_CLASSES) > 35
    assert [c.__name__ for c in NODE_CLASSES if dataclasses.is_dataclass(c)] == []


def test_importing_the_ast_creates_no_dataclass() -> None:
    """The module's import compiles nothing: no dataclass is processed while it loads."""
    script = (
        "import dataclasses, archspec.source\n"
        "made = []\noriginal = dataclasses._process_class\n"
        "def counting(cls, *args):\n    made.append(cls.__qualname__)\n    return original(cls, *args)\n"
        "dataclasses._process_class = counting\n"
        "import archspec.ast\nprint(made)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout == "[]\n"


@pytest.mark.parametrize("cls", NODE_CLASSES, ids=lambda c: c.__name__)
def test_init_takes_the_annotated_fields_in_order(cls: type[ast.Node]) -> None:
    """``__init__``'s parameters are the class's annotations (its fields), in order, and it sets each
    field to its argument, in that order (equality, hashing and the repr read them in that order)."""
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert tuple(p.name for p in parameters) == tuple(inspect.get_annotations(cls)) == cls._fields
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters)
    values = {p.name: f"value of {p.name}" for p in parameters}
    node = cls(**values)
    assert node.__dict__ == values and list(node.__dict__) == list(values)
    defaults = {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}
    required = {name: value for name, value in values.items() if name not in defaults}
    assert cls(**required).__dict__ == {**values, **defaults}


def test_nodes_are_frozen_values() -> None:
    name = ast.Name("x", SPAN)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'id'"):
        name.id = "y"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'span'"):
        del name.span
    assert name == ast.Name("x", SPAN) and hash(name) == hash(ast.Name("x", SPAN))
    assert name != ast.Name("y", SPAN) and name != ast.Literal("x", SPAN)
    assert len({name, ast.Name("x", SPAN), ast.Literal("x", SPAN)}) == 2
    assert repr(name) == f"Name(id='x', span={SPAN!r})"


def test_replace_is_dataclasses_replace() -> None:
    module = parse("network n:\n  input: 3x8x8\n  layers:\n    relu\n", "n.arch")
    network = module.networks[0]
    renamed = ast.replace(network, name="m")
    assert renamed.name == "m" and renamed.layers == network.layers and network.name == "n"
    assert ast.replace(network) == network and ast.replace(network) is not network
    with pytest.raises(TypeError, match="NetworkDef has no field 'nome'"):
        ast.replace(network, nome="m")
