"""One generation places the network's parameters in the compiled source (backends/exposed.py).

The rule: a numeric parameter is an argument where the origins of the graph's numbers compute the graph
for other values of it (it decides nothing: no comparison that comes out otherwise, no buffer's values,
no loop or repeat count but one written as a loop over the parameter, whose copies are alike for every
count), and every number it changes is a constructor argument in a class's ``__init__`` that holds its
value, or a formula the spec computes from it. The oracle for what a
generated class builds with other values is the spec elaborated with them (archspec.load), compared on
torch's own modules (state_dict shapes, numel).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from oracles import load_source

import archspec
import archspec.api
from archspec.backends import class_recovery, codegen

ARITHMETIC = """\
network t:
  input: [4]
  params:
    width = 8
  layers:
    linear(width * 2)
"""

IN_A_BLOCK = """\
block Wide(dim):
  linear(dim * 4) >> relu >> linear(dim)

network t:
  input: [8]
  params:
    width = 6
  layers:
    linear(width)
    Wide(width)
    Wide(width)
    linear(2)
"""

COUNT = """\
network t:
  input: [4]
  params:
    depth = 3
    hidden = 6
  layers:
    linear(hidden) >> relu
    body: (linear(hidden) >> relu) * depth
    linear(2)
"""

# The loop's variable only names the copies: the count is an argument, `range(depth)`.
LOOP = """\
block Layer(dim):
  linear(dim) >> relu

network t:
  input: [4]
  params:
    depth = 3
    hidden = 6
  layers:
    linear(hidden)
    body:
      for i in range(depth):
        "layer_{i}": Layer(hidden)
    linear(2)
"""

# The body compares its loop variable: with 12 copies the last two would differ, though none does
# with 3. The count stays a literal.
LOOP_COMPARES = """\
network t:
  input: [4]
  params:
    depth = 3
  layers:
    linear(6)
    body:
      for i in range(depth):
        "layer_{i}": linear(6 if i < 10 else 7)
    linear(2)
"""

# Each copy shrinks the sequence (no padding): what follows depends on the count. It stays a literal.
SHRINKS = """\
network t:
  input: [2, 16, 16]
  params:
    depth = 3
  layers:
    body: conv(2, 3) * depth
    flatten
    linear(2)
"""

DEFAULT = """\
network t:
  input: [4]
  params:
    rate = 0.5
  layers:
    linear(4)
    drop: dropout(rate)
    linear(2)
"""

# The same dropout unnamed: written in forward, `F.dropout(x, 0.5, self.training)`.
IN_FORWARD = DEFAULT.replace("drop: dropout(rate)", "dropout(rate)")


def _shapes(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def _builds_what_the_spec_builds(text: str, values: dict[str, Any], tmp_path: Path) -> str:
    """The compiled source, after checking that its build() given ``values`` is the spec elaborated
    with them (state_dict shapes and torch's parameter count)."""
    source = archspec.load("t.arch", text=text).to_source()
    module = load_source(source, tmp_path)
    generated = module.build(**values)
    reference = archspec.load("t.arch", text=text, **values).build()
    assert _shapes(generated) == _shapes(reference)
    assert sum(p.numel() for p in generated.parameters()) == sum(p.numel() for p in reference.parameters())
    return source


def test_a_parameter_used_through_arithmetic_is_written_as_that_expression(tmp_path: Path) -> None:
    source = _builds_what_the_spec_builds(ARITHMETIC, {"width": 5}, tmp_path)
    assert "nn.Linear(4, width * 2)" in source
    assert "def build(width: int = 8) -> nn.Module:" in source


def test_a_parameter_reaching_a_block_through_arithmetic_and_shapes_is_written_as_expressions(
    tmp_path: Path,
) -> None:
    """The block's `dim * 4` is the caller's `width` times 4; the second layer's input width comes from
    the first one's output shape: both are written over the network's parameter."""
    source = _builds_what_the_spec_builds(IN_A_BLOCK, {"width": 5}, tmp_path)
    assert source.count("nn.Linear(width, width * 4)") == source.count("nn.Linear(width * 4, width)") == 2
    assert "def build(width: int = 6) -> nn.Module:" in source


def test_a_parameter_that_is_a_repeat_count_is_the_loops_count(tmp_path: Path) -> None:
    """`(...) * depth` is written `for _ in range(depth)`; other depths build what the spec builds."""
    source = _builds_what_the_spec_builds(COUNT, {"hidden": 5, "depth": 5}, tmp_path)
    _builds_what_the_spec_builds(COUNT, {"depth": 1}, tmp_path)
    assert "def build(depth: int = 3, hidden: int = 6) -> nn.Module:" in source
    assert "for _ in range(depth)" in source and "range(3)" not in source


def test_a_parameter_that_is_a_for_loops_count_is_the_loops_count(tmp_path: Path) -> None:
    source = _builds_what_the_spec_builds(LOOP, {"hidden": 5, "depth": 4}, tmp_path)
    assert "def build(depth: int = 3, hidden: int = 6) -> nn.Module:" in source
    assert "for i in range(depth)" in source and "range(3)" not in source


@pytest.mark.parametrize(
    ("text", "loop"), [(LOOP_COMPARES, "for i in range(3)"), (SHRINKS, "for _ in range(3)")]
)
def test_a_count_the_loops_body_or_what_follows_depends_on_stays_a_literal(
    text: str, loop: str, tmp_path: Path
) -> None:
    """A body that reads its loop variable (a comparison), copies that change the shape that flows on:
    another count would build otherwise than the file's loop, so the count stays a literal."""
    source = _builds_what_the_spec_builds(text, {}, tmp_path)
    assert loop in source
    assert "def build() -> nn.Module:" in source


def test_a_parameter_equal_to_its_arguments_default_is_still_an_argument(tmp_path: Path) -> None:
    source = _builds_what_the_spec_builds(DEFAULT, {"rate": 0.25}, tmp_path)
    assert "nn.Dropout(p=rate)" in source  # written although 0.5 is nn.Dropout's default
    module = load_source(source, tmp_path)
    dropouts = [m.p for m in module.build(rate=0.25).modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts == [0.25]


def test_a_parameter_written_in_forward_stays_a_literal(tmp_path: Path) -> None:
    source = _builds_what_the_spec_builds(IN_FORWARD, {}, tmp_path)
    assert "def build() -> nn.Module:" in source
    assert "F.dropout(x, 0.5, self.training)" in source


CLASHING = """\
block B(c):
  linear(c) >> relu

network t:
  input: [4]
  params:
    value = 6
    nn = 3
    i = 5
  layers:
    linear(value)
    b: B(value)
    c: B(7)
    d: B(i)
    linear(nn)
"""


def test_a_parameter_named_like_a_name_the_file_uses_stays_a_literal(tmp_path: Path) -> None:
    """`nn` is the file's import, `i` a loop variable its classes may use (found once the classes are
    recovered: they are recovered again without it); `value` is an argument."""
    source = _builds_what_the_spec_builds(CLASHING, {"value": 5}, tmp_path)
    assert "def build(value: int = 6) -> nn.Module:" in source
    assert "nn.Linear(7, 5)" in source and "nn.Linear(5, 3)" in source


@pytest.mark.parametrize("name", ["vit_b_16", "resnet18"])
def test_the_file_is_generated_once_and_the_spec_elaborated_once_more(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiling elaborates the spec once with its origins traced and describes, recovers and renders
    the classes once: no second file, whatever a parameter decides (ViT's depth)."""
    network = archspec.load(name)
    calls = {"lower": 0, "recovery": 0, "render": 0}

    def counted(key: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[key] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(archspec.api, "lower", counted("lower", archspec.api.lower))
    monkeypatch.setattr(codegen, "ClassRecovery", counted("recovery", class_recovery.ClassRecovery))
    monkeypatch.setattr(codegen._File, "render", counted("render", codegen._File.render))
    source = network.to_source()
    assert calls == {"lower": 1, "recovery": 1, "render": 1}
    assert "num_classes: int = 1000" in source
