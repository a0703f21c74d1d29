"""A block's ``order: [names]``: its layers registered (constructed, drawn, saved) in that order, run in the
body's order; in the built module and the generated source, against hand-written torch modules."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from oracles import build_generated_empty, load_source
from torch import nn

import archspec
from archspec.errors import SpecError
from archspec.fmt import format_text
from archspec.syntax import parse
from archspec.yaml_form.reader import read_yaml, text_of
from archspec.yaml_form.writer import to_yaml

SPEC = """\
block Pair(width, extra=false):
  label: "pair {width}"
  order: [b, scale, a, c]
  a: linear(width)
  param scale: [width], init=normal(std=0.5)
  relu
  b: linear(width)
  if extra: c: linear(width)

network pair_net:
  input: [4]
  init:
    linear: normal(std=0.1), bias=uniform
  layers:
    Pair(8)
    Pair(6, extra=true)
    head: linear(3)
"""


class Pair(nn.Module):
    """The oracle: torch's own modules, built in the order the spec lists."""

    def __init__(self, width_in: int, width: int, extra: bool) -> None:
        super().__init__()
        self.b = nn.Linear(width, width)
        self.scale = nn.Parameter(nn.init.normal_(torch.empty(width), std=0.5))
        self.a = nn.Linear(width_in, width)
        self.c = nn.Linear(width, width) if extra else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.b(torch.relu(self.a(x)))
        return self.c(x) if self.c is not None else x


def oracle() -> nn.Module:
    model = nn.Sequential()
    model.add_module("0", Pair(4, 8, False))
    model.add_module("1", Pair(8, 6, True))
    model.add_module("head", nn.Linear(6, 3))
    for module in model.modules():  # the network's `init:`, in module order
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.1)
            nn.init.uniform_(module.bias)
    return model


def spec_file(tmp_path: Path, text: str = SPEC) -> Path:
    path = tmp_path / "pair.arch"
    path.write_text(text, encoding="utf-8")
    return path


def assert_same(ours: nn.Module, theirs: nn.Module) -> None:
    mine, expected = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(expected)
    for key, tensor in expected.items():
        assert torch.equal(mine[key], tensor), key
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x))


def test_the_built_module_registers_and_draws_in_the_order_it_lists(tmp_path: Path) -> None:
    net = archspec.load(str(spec_file(tmp_path)))
    torch.manual_seed(0)
    ours = net.build()
    torch.manual_seed(0)
    assert_same(ours, oracle())
    assert list(ours.get_submodule("1")._modules)[:3] == ["b", "a", "c"]


def test_the_generated_source_registers_in_the_order_it_lists_and_runs_in_the_bodys(tmp_path: Path) -> None:
    net = archspec.load(str(spec_file(tmp_path)))
    source = net.to_source()
    init = source[source.index("class Pair") : source.index("def forward")]
    assert init.index("self.b = ") < init.index("self.scale = ") < init.index("self.a = ")
    forward = source[source.index("def forward") :]
    assert forward.index("self.a(") < forward.index("self.b(")
    generated = build_generated_empty(source, tmp_path)  # the generated classes, no initialisation
    assert [k for k, _ in generated.named_parameters()] == [k for k, _ in oracle().named_parameters()]
    torch.manual_seed(0)
    built = load_source(source, tmp_path).build()
    torch.manual_seed(0)
    assert_same(built, oracle())


def test_order_is_kept_by_fmt_and_the_yaml_form() -> None:
    assert format_text(SPEC) == SPEC
    written = to_yaml(parse(SPEC, "pair.arch"))
    assert "order: [b, scale, a, c]" in written
    assert "  order: [b, scale, a, c]\n" in text_of(written, "pair.yaml")
    assert [name.text for name in read_yaml(written, "pair.yaml").blocks[0].order] == ["b", "scale", "a", "c"]


def error(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse(text, "t.arch")
    return str(caught.value)


def test_order_errors_name_the_line_and_the_name() -> None:
    line = "  order: [b, scale, a, c]"
    assert error(SPEC.replace(line, "  order: [b, sclae, a]")) == (
        "t.arch:3:14: error: block Pair has no layer 'sclae' to put in its order\n"
        "   3 |   order: [b, sclae, a]\n"
        "                    ^^^^^\n"
        "  hint: did you mean 'scale'?"
    )
    assert error(SPEC.replace(line, "  order: [b, a, b]")) == (
        "t.arch:3:17: error: block Pair lists 'b' twice in its order\n"
        "   3 |   order: [b, a, b]\n"
        "                       ^"
    )
    assert error(SPEC.replace(line, "  order: [width, a]")) == (
        "t.arch:3:11: error: 'width' in the order of block Pair is a value, not a layer\n"
        "   3 |   order: [width, a]\n"
        "                 ^^^^^\n"
        "  hint: an order lists the layers, parameters and buffers the block's body names"
    )
    assert error(SPEC.replace(line, "  order: b, a")) == (
        "t.arch:3:11: error: unexpected ',' (expected '(', ')', '*', '>>', 'from', end of line)\n"
        "   3 |   order: b, a\n"
        "                 ^\n"
        "  hint: a block's order lists names in brackets, first in its body: `order: [qkv, proj]`"
    )
    assert error(SPEC.replace(line, '  order: "b"')) == (
        "t.arch:3:3: error: a block's order is a list of names\n"
        '   3 |   order: "b"\n'
        "         ^^^^^\n"
        "  hint: `order: [qkv, proj]`"
    )
