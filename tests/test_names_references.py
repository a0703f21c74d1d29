"""Names and references of issue 21: module lists written interleaved (``convs.0``, ``bns.0``, ``convs.1``...,
a dotted label puts a layer into a module list of its container) and merges of a list of references made by
a loop (``concat from input, ["denselayer{k}" for k in range(1, i)]``).

Oracles: hand-written torch modules and torchvision's own DenseNet (the names and order of the
``state_dict``, a strict load, the numbers the same seed draws, the outputs), in memory and through the
generated source; errors by their whole text.
"""

# ruff: noqa: E501 - the expected messages are verbatim, long lines included
from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn
from torchvision.models.densenet import DenseNet

import archspec
from archspec.backends.codegen import emit_source
from archspec.errors import SpecError
from archspec.syntax import parse


def dedent(text: str) -> str:
    return textwrap.dedent(text).removeprefix("\n")


def load_text(text: str, **params: Any) -> archspec.Network:
    return archspec.load("t.arch", text=dedent(text), **params)


def error_text(text: str) -> str:
    """The whole message of the error that loading ``text`` raises."""
    with pytest.raises(SpecError) as caught:
        load_text(text)
    return caught.value.render() + "\n"


def generated(net: archspec.Network) -> Callable[[], nn.Module]:
    """The ``build`` function of the network's generated source."""
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(emit_source(net.graph), "generated.py", "exec"), namespace)
    build: Callable[[], nn.Module] = namespace["build"]
    return build


def assert_same_module(
    make_ours: Callable[[], nn.Module], make_theirs: Callable[[], nn.Module], x: torch.Tensor
) -> None:
    """The same state-dict names in the same order, the same numbers from the same seed, and, after a
    strict load of their weights, the same outputs."""
    torch.manual_seed(7)
    theirs = make_theirs().eval()
    torch.manual_seed(7)
    ours = make_ours().eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for name, tensor in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[name], tensor), name
    for tensor in theirs.state_dict().values():  # other numbers than the seed gave, in every tensor
        if tensor.is_floating_point():
            tensor.copy_(torch.randn_like(tensor).abs() + 0.5)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- module lists written interleaved

INTERLEAVED = """
network interleaved:
  input: 3x16x16
  layers:
    stem: conv(8, 3, pad=1)
    for i in range(3):
      "convs.{i}": conv(8, 3, pad=1)
      "bns.{i}": batchnorm
      "acts.{i}": relu
      "mixes.{i}": conv(8, 1) from "convs.{i}"
      add from "acts.{i}", "mixes.{i}"
    pool: global_avgpool
    flatten
    fc: linear(10)
"""


class Interleaved(nn.Module):
    """Module lists made first and filled in one loop: the seed draws conv 0, mix 0, conv 1, ...; the
    state dict holds every conv, then every norm, then every mix."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.convs = nn.ModuleList()
        self.bns = nn.ModuleList()
        self.acts = nn.ModuleList()
        self.mixes = nn.ModuleList()
        for _ in range(3):
            self.convs.append(nn.Conv2d(8, 8, 3, padding=1))
            self.bns.append(nn.BatchNorm2d(8))
            self.acts.append(nn.ReLU())
            self.mixes.append(nn.Conv2d(8, 8, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for conv, bn, act, mix in zip(self.convs, self.bns, self.acts, self.mixes, strict=True):
            y = conv(x)
            x = act(bn(y)) + mix(y)
        return self.fc(torch.flatten(self.pool(x), 1))


def test_interleaved_module_lists_are_torchs() -> None:
    net = load_text(INTERLEAVED)
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert_same_module(net.build, Interleaved, x)
    assert_same_module(generated(net), Interleaved, x)
    source = emit_source(net.graph)
    assert "self.convs = nn.ModuleList()" in source
    assert "self.convs.append(nn.Conv2d(8, 8, kernel_size=3, padding=1))" in source
    assert "self.convs[2](x)" in source
    assert isinstance(net.build().get_submodule("convs"), nn.ModuleList)
    assert net.params == sum(p.numel() for p in Interleaved().parameters())


def test_a_module_list_is_registered_where_its_first_layer_is_written() -> None:
    # the order of the state dict follows the first layer of each list; the seed, the layers' order
    net = load_text(
        """
        network n:
          input: 4x8x8
          layers:
            heads.1: conv(4, 1)
            heads.0: conv(4, 1)
            convs.0: conv(4, 3, pad=1)
            heads.extra: conv(4, 1)
        """
    )

    class Theirs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.heads = nn.ModuleDict()
            self.heads["1"] = nn.Conv2d(4, 4, 1)
            self.heads["0"] = nn.Conv2d(4, 4, 1)
            self.convs = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1)])
            self.heads["extra"] = nn.Conv2d(4, 4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.heads["extra"](self.convs[0](self.heads["0"](self.heads["1"](x))))

    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    assert_same_module(net.build, Theirs, x)
    assert_same_module(generated(net), Theirs, x)
    assert isinstance(net.build().get_submodule("heads"), nn.ModuleDict)  # not 0, 1, 2... in order


def test_blocks_and_groups_in_a_module_list_and_their_positions() -> None:
    net = load_text(
        """
        block Unit(w):
          conv(w, 3, pad=1) >> relu

        network n:
          input: 4x8x8
          layers:
            relu
            for i in range(2):
              "stages.{i}": Unit(4)
              "heads.{i}":
                conv(4, 1)
            relu
        """
    )
    names = [n.name for n in net.graph.nodes]
    # the lists take one position each, where they are made: relu 0, stages 1, heads 2, relu 3
    assert names == [
        "input", "0", "stages.0.0", "stages.0.1", "heads.0.0", "stages.1.0", "stages.1.1", "heads.1.0", "3",
    ]  # fmt: skip
    module = net.build()
    assert list(module.state_dict()) == [
        "stages.0.0.weight", "stages.0.0.bias", "stages.1.0.weight", "stages.1.0.bias",
        "heads.0.0.weight", "heads.0.0.bias", "heads.1.0.weight", "heads.1.0.bias",
    ]  # fmt: skip
    # the analysis table: a list is no row of its own; its layers sit in the rows of their container
    rows = {row.name: (row.depth, row.parent) for row in net.analyze().rows}
    assert rows["stages.0"] == (1, "") and rows["stages.0.0"] == (2, "stages.0")
    assert rows["heads.1.0"] == (2, "heads.1") and rows["3"] == (1, "")
    x = torch.randn(1, 4, 8, 8)
    rebuilt = generated(net)()
    rebuilt.load_state_dict(module.state_dict(), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), module(x))


def test_a_list_of_lists_and_a_repeat_in_a_list() -> None:
    net = load_text(
        """
        network n:
          input: 4x8x8
          layers:
            for i in range(2):
              for j in range(2):
                "towers.{i}.{j}": conv(4, 1)
              "towers.{i}.out": relu
            "rep.0": conv(4, 1) * 2
        """
    )

    class Theirs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.towers = nn.ModuleList()
            for _ in range(2):
                tower = nn.ModuleDict({"0": nn.Conv2d(4, 4, 1), "1": nn.Conv2d(4, 4, 1), "out": nn.ReLU()})
                self.towers.append(tower)
            self.rep = nn.ModuleList([nn.Sequential(nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 1))])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for tower in self.towers:
                x = tower["out"](tower["1"](tower["0"](x)))
            return self.rep[0](x)

    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(4))
    assert_same_module(net.build, Theirs, x)
    assert_same_module(generated(net), Theirs, x)


# ---------------------------------------------------------------- merges of a list of references: DenseNet

DENSENET = """
block DenseLayer(growth, bn_size):
  norm1: batchnorm
  relu1: relu
  conv1: conv(bn_size * growth, 1, bias=false)
  norm2: batchnorm
  relu2: relu
  conv2: conv(growth, 3, pad=1, bias=false)

block DenseBlock(layers, growth, bn_size):
  for i in range(1, layers + 1):
    concat from input, ["denselayer{k}" for k in range(1, i)]
    "denselayer{i}": DenseLayer(growth, bn_size)
  concat from input, ["denselayer{k}" for k in range(1, layers + 1)]

block Transition(out):
  norm: batchnorm
  relu: relu
  conv: conv(out, 1, bias=false)
  pool: avgpool(2, stride=2)

network densenet_small:
  input: 3x32x32
  init:
    conv: kaiming_normal
    batchnorm: weight=ones, bias=zeros
    linear: bias=zeros
  layers:
    features:
      conv0: conv(16, 7, stride=2, pad=3, bias=false)
      norm0: batchnorm
      relu0: relu
      pool0: maxpool(3, stride=2, pad=1)
      denseblock1: DenseBlock(2, 8, 2)
      transition1: Transition(16)
      denseblock2: DenseBlock(3, 8, 2)
      norm5: batchnorm
    relu
    global_avgpool
    flatten
    classifier: linear(10)
"""


def test_densenet_concatenates_every_earlier_layer_as_torchvision() -> None:
    net = load_text(DENSENET)

    def theirs() -> nn.Module:
        return DenseNet(growth_rate=8, block_config=(2, 3), num_init_features=16, bn_size=2, num_classes=10)

    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    assert_same_module(net.build, theirs, x)
    assert_same_module(generated(net), theirs, x)
    assert net.params == sum(p.numel() for p in theirs().parameters())
    # the first layer of a block reads its input alone: a concat of one, as torch.cat([x]) is
    first = net.graph.node("features.denseblock1.0")
    assert first.op.kind == "concat" and first.inputs == (net.graph.node("features.pool0").id,)


def test_a_dense_block_is_drawn_top_down_and_a_list_layer_by_its_name() -> None:
    import re

    from archspec.backends.diagram import DrawOptions, to_dot

    text = DENSENET.replace(
        "      norm5: batchnorm\n", '      for i in range(2):\n        "convs.{i}": conv(8, 1)\n'
    )
    source = to_dot(load_text(text).graph, DrawOptions(depth=3))
    # the concats read layers that read one another: no rank puts them side by side (edges would go up)
    same_rank = re.findall(r"\{ rank=same; ([^}]*)\}", source)
    assert same_rank and all(re.match(r"k\d+;", line) for line in same_rank), same_rank  # captions only
    assert "<B>convs.0</B>" in source and "<B>convs.1</B>" in source


def test_a_list_of_references_loops_as_a_comprehension() -> None:
    net = load_text(
        """
        network n:
          input: 2x4x4
          layers:
            for i in range(4):
              "b{i}": conv(i + 1, 1) from input
            cat: concat from ["b{i}" for i in range(4) if i % 2 == 0], ["b{j}" for j, _ in [[3, 0]]]
        """
    )
    cat = net.graph.node("cat")
    assert [net.graph.nodes[i].name for i in cat.inputs] == ["b0", "b2", "b3"]
    assert cat.shape == (1 + 3 + 4, 4, 4)


# ---------------------------------------------------------------- errors


def test_errors_of_module_lists_and_lists_of_references() -> None:
    assert error_text(
        """
        network n:
          input: 3x8x8
          layers:
            convs: conv(4, 1)
            convs.0: conv(4, 1)
        """
    ) == dedent(
        """
        t.arch:5:5: error: 'convs' in the network is a layer, not a module list: 'convs.0' cannot be put in it
           5 |     convs.0: conv(4, 1)
                   ^^^^^^^
          hint: a dotted label (`convs.0: ...`) makes a module list of its own; name the layer 'convs' otherwise
        """
    )
    assert error_text(
        """
        network n:
          input: 3x8x8
          layers:
            convs.0: conv(4, 1)
            convs: relu
        """
    ) == dedent(
        """
        t.arch:5:5: error: duplicate module list 'convs' in the network
           5 |     convs: relu
                   ^^^^^
        """
    )
    assert error_text(
        """
        network n:
          input: 3x8x8
          layers:
            convs.0: conv(4, 1)
            relu from convs
        """
    ) == dedent(
        """
        t.arch:5:15: error: 'convs' is a module list, not a layer: a reference names one of its layers
           5 |     relu from convs
                             ^^^^^
          hint: name the layer: `from convs.0`
        """
    )
    assert error_text(
        """
        network n:
          input: 3x8x8
          layers:
            convs.0: conv(4, 1)
            relu from convs[0]
        """
    ) == dedent(
        """
        t.arch:5:15: error: 'convs[0]': only a block's `inputs` can be indexed in a reference
           5 |     relu from convs[0]
                             ^^^^^^^^
          hint: a layer of a module list is named with a dot: `from convs.0`
        """
    )
    assert error_text(
        """
        network n:
          input: 3x8x8
          layers:
            convs.0: conv(4, 1)
            relu from convs.1
        """
    ) == dedent(
        """
        t.arch:5:15: error: unknown layer 'convs.1' (a reference names an earlier named layer of this network)
           5 |     relu from convs.1
                             ^^^^^^^
          hint: did you mean 'convs.0'?
        """
    )
    assert error_text(
        """
        network n:
          input: 3x8x8
          layers:
            for i in range(2):
              "convs.{i}.": conv(4, 1)
        """
    ) == dedent(
        """
        t.arch:5:7: error: the dotted name "convs.{i}." has an empty level
           5 |       "convs.{i}.": conv(4, 1)
                     ^^^^^^^^^^^^
        """
    )
    assert error_text(
        """
        network n:
          input: 3x8x8
          layers:
            concat from ["b{i}" for i in range(0)]
        """
    ) == dedent(
        """
        t.arch:4:17: error: the list of references names no layer: its loop has no values
           4 |     concat from ["b{i}" for i in range(0)]
                               ^^^^^^^^^^^^^^^^^^^^^^^^^^
          hint: a layer reads at least one input: add one before the list, `from input, [...]`
        """
    )
    assert error_text(
        """
        network n:
          input: 3x8x8
          layers:
            b0: relu
            add from ["b{i}" for i in range(1)]
        """
    ) == dedent(
        """
        t.arch:5:5: error: add takes at least 2 inputs, got 1
           5 |     add from ["b{i}" for i in range(1)]
                   ^^^
        """
    )
    assert error_text(
        """
        network n:
          input: 3x8x8
          layers:
            b0: relu
            concat from ["b{i}" for i in range(2)]
        """
    ) == dedent(
        """
        t.arch:5:18: error: unknown layer 'b1' (a reference names an earlier named layer of this network)
           5 |     concat from ["b{i}" for i in range(2)]
                                ^^^^^^
          hint: did you mean 'b0'?
        """
    )


SYNTAX_ERRORS = [
    (
        '    concat from ["d{k}"]\n',
        "4:24",
        'a list of references is a loop in brackets: `["d{k}" for k in range(n)]`',
        "layers named one by one need no brackets: `concat from d1, d2`",
    ),
    (
        "    concat from [d1, d2]\n",
        "4:18",
        'a list of references starts with a quoted name template: `["d{k}" for k in range(n)]`',
        "the template is filled in as a label's is, without an f prefix; layers named one by one need no brackets: `concat from d1, d2`",
    ),
    (
        '    concat from [f"d{k}" for k in range(3)]\n',
        "4:18",
        'a list of references starts with a quoted name template: `["d{k}" for k in range(n)]`',
        "the template is filled in as a label's is, without an f prefix; layers named one by one need no brackets: `concat from d1, d2`",
    ),
    (
        '    concat from input, "d{k}" for k in range(3)\n',
        "4:31",
        'references made by a loop go in brackets: `from ["d{k}" for k in range(n)]`',
        "the brackets hold the template and its loop, as a list comprehension does",
    ),
    (
        '    concat from ["d{k}" for k range(3)]\n',
        "4:31",
        "missing 'in' in the loop of a list of references",
        '`["d{k}" for k in range(n)]`; several names unpack each value: `["b{i}_{j}" for i, j in pairs]`',
    ),
    (
        '    concat from ["d{k}" for (a, b) in rows]\n',
        "4:29",
        "the loop of a list of references binds plain names",
        'one name a value, or several to unpack it: `["b{i}_{j}" for i, j in pairs]`',
    ),
    (
        "    convs.: conv(8, 1)\n",
        "4:11",
        "after '.' in a name comes its next level, a name or a number: `convs.0`",
        'a dotted name is a layer of a module list (`convs.0: conv(64, 3)`, `from convs.0`); in a loop, quote it as a template: `"convs.{i}"`',
    ),
    (
        "    relu from convs.\n",
        "4:21",
        "after '.' in a name comes its next level, a name or a number: `convs.0`",
        'a dotted name is a layer of a module list (`convs.0: conv(64, 3)`, `from convs.0`); in a loop, quote it as a template: `"convs.{i}"`',
    ),
    (
        "    convs.{i}: conv(8, 1)\n",
        "4:11",
        'a name template is quoted, dots and all: `"convs.{i}": conv(64, 3)`',
        "a dotted label is a layer of a module list; its fields are filled in as any template's",
    ),
    (
        "    convs[0]: conv(8, 1)\n",
        "4:10",
        "a layer of a module list is labelled with a dot: `convs.0: conv(64, 3)`",
        'in a loop, quote the label as a template: `"convs.{i}": conv(64, 3)`',
    ),
    (
        "    relu from convs[i]\n",
        "4:21",
        "only a block's inputs are indexed in a reference, by a number: `from inputs[1]`",
        'a layer of a module list is `from convs.0`; in a loop, quote it as a template, `from "convs.{i}"`, or name several: `from ["convs.{k}" for k in range(i)]`',
    ),
    (
        "    convs.0 conv(8, 1)\n",
        "4:13",
        "a layer name must be followed by ':'",
        "`conv1: conv(64, 3)` names a layer, `convs.0: conv(64, 3)` one of a module list; two layers in a row are joined by `>>`",
    ),
]


@pytest.mark.parametrize(
    ("body", "place", "message", "hint"), SYNTAX_ERRORS, ids=[c[0].strip() for c in SYNTAX_ERRORS]
)
def test_each_syntax_error_of_names_and_reference_lists_has_a_hint(
    body: str, place: str, message: str, hint: str | None
) -> None:
    text = "network n:\n  input: 3x8x8\n  layers:\n" + body
    with pytest.raises(SpecError) as caught:
        parse(text, "t.arch")
    first, *rest = caught.value.render().splitlines()
    assert first == f"t.arch:{place}: error: {message}"
    if hint is not None:
        assert rest[-1] == f"  hint: {hint}"
