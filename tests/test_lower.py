"""AST to IR: names, shapes, blocks, repeats, control flow, references, imports, variants and metadata.

Each test lowers a tiny inline spec and looks at the graph: node names (the module paths torch will
use), op kinds, inputs, output shapes, scopes and repeat groups.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archspec.errors import SpecError
from archspec.ir import Graph, Node, Repeat
from archspec.loader import load_program
from archspec.lower import lower, variant_names
from archspec.ops.conv import conv_output_size

ROOT = Path(__file__).resolve().parents[1]


def dedent(text: str) -> str:
    return textwrap.dedent(text).removeprefix("\n")


def build(text: str, path: str = "t.arch", **options: Any) -> Graph:
    return lower(load_program(Path(path), text=dedent(text)), **options)


def net(*lines: str, input: str = "3x8x8", head: str = "") -> Graph:
    """A network ``n`` with ``lines`` as its layers (and ``head`` before the network, for blocks)."""
    body = "".join(f"    {line}\n" for line in lines)
    return lower(load_program(Path("t.arch"), text=f"{head}network n:\n  input: {input}\n  layers:\n{body}"))


def names(graph: Graph) -> list[str]:
    return [node.name for node in graph.nodes[1:]]  # without the input node


def table(graph: Graph) -> list[tuple[str, str, tuple[int, ...]]]:
    return [(node.name, node.op.kind, node.shape) for node in graph.nodes[1:]]


def by_name(graph: Graph) -> dict[str, Node]:
    return {node.name: node for node in graph.nodes}


def repeats(graph: Graph) -> dict[str, tuple[int, int, int] | None]:
    def key(repeat: Repeat | None) -> tuple[int, int, int] | None:
        return None if repeat is None else (repeat.group, repeat.index, repeat.count)

    return {node.name: key(node.repeat) for node in graph.nodes[1:]}


# ---------------------------------------------------------------- the graph record


def test_graph_record() -> None:
    graph = build(
        """
        network tiny:
          input: 1x8x8
          layers:
            conv(4, 3) >> relu
        """
    )
    assert (graph.network, graph.variant, graph.source) == ("tiny", None, "t.arch")
    assert graph.input_shape == (1, 8, 8)
    assert graph.nodes[0].name == "input" and graph.nodes[0].op.kind == "input"
    assert graph.output == len(graph.nodes) - 1 and graph.output_shape == (4, 6, 6)
    assert [node.id for node in graph.nodes] == list(range(len(graph.nodes)))
    assert all(max(node.inputs, default=-1) < node.id for node in graph.nodes)  # topological order


def test_nodes_carry_their_spans() -> None:
    graph = net("conv(4, 3)", "relu")
    conv, relu = graph.nodes[1:]
    assert conv.span is not None and (conv.span.line, conv.span.column) == (4, 5)
    assert relu.span is not None and relu.span.line == 5


def test_input_override() -> None:
    graph = lower(
        load_program(Path("t.arch"), text="network n:\n  input: 3x8x8\n  layers:\n    conv(4, 3)\n"),
        input_override=(3, 16, 16),
    )
    assert graph.input_shape == (3, 16, 16) and graph.output_shape == (4, 14, 14)


def test_lowering_is_deterministic() -> None:
    text = (ROOT / "specs" / "resnet.arch").read_text()
    first = lower(load_program(Path("resnet.arch"), text=text), variant="resnet18")
    second = lower(load_program(Path("resnet.arch"), text=text), variant="resnet18")
    assert first.to_json() == second.to_json()
    assert json.loads(first.to_json())["network"] == "resnet"


# ---------------------------------------------------------------- names


def test_chains_and_lines_are_the_same_sequence() -> None:
    chained = net("conv(4, 3) >> relu >> conv(8, 1)")
    lined = net("conv(4, 3)", "relu", "conv(8, 1)")
    assert (
        table(chained)
        == table(lined)
        == [
            ("0", "conv2d", (4, 6, 6)),
            ("1", "relu", (4, 6, 6)),
            ("2", "conv2d", (8, 6, 6)),
        ]
    )
    assert [node.inputs for node in chained.nodes[1:]] == [(0,), (1,), (2,)]


def test_positional_numbering_counts_named_items_like_nn_sequential() -> None:
    graph = net("conv(4, 3)", "act: relu", "conv(8, 1)", "fc: flatten")
    assert names(graph) == ["0", "act", "2", "fc"]


def test_named_group() -> None:
    graph = net("stem:", "  conv(4, 3)", "  relu", "  pool: maxpool(2)", "head: flatten")
    assert names(graph) == ["stem.0", "stem.1", "stem.pool", "head"]
    scope = next(s for s in graph.scopes if s.name == "stem")
    assert (scope.kind, scope.block) == ("sequence", None)
    assert by_name(graph)["stem.0"].scope == "stem"


def test_nested_groups() -> None:
    graph = net("features:", "  block1:", "    conv(4, 1)", "  block2:", "    conv(4, 1)", "    relu")
    assert names(graph) == ["features.block1.0", "features.block2.0", "features.block2.1"]


def test_inline_group_named_and_anonymous() -> None:
    graph = net("head: (gap >> flatten)", "(relu >> tanh)")
    assert names(graph) == ["head.0", "head.1", "1", "2"]  # an anonymous group adds no level


def test_name_templates() -> None:
    graph = net(
        "for i in range(1, 3):",
        '  "conv{i}": conv(4, 1)',
        'for s in ["a", "b"]:',
        '  "act_{s}": relu',
        "k = 7",
        '"pool{k}x{k}": maxpool(1)',
        '"p{ k }": relu',
        "relu",
    )
    assert names(graph) == ["conv1", "conv2", "act_a", "act_b", "pool7x7", "p7", "6"]


def test_structural_statements_add_no_level() -> None:
    graph = net(
        "for i in [1, 2]:",
        "  conv(3, 1)",
        "if true:",
        "  relu",
        "residual:",
        "  conv(3, 1)",
        "concat:",
        "  relu",
        "  tanh",
    )
    assert names(graph) == ["0", "1", "2", "3", "4", "5", "6", "7"]


# ---------------------------------------------------------------- repeats


def test_labelled_repeat_is_a_container() -> None:
    graph = net("blocks: conv(3, 1) * 3", "relu")
    assert names(graph) == ["blocks.0", "blocks.1", "blocks.2", "1"]
    assert [repeats(graph)[f"blocks.{i}"] for i in range(3)] == [(1, 0, 3), (1, 1, 3), (1, 2, 3)]
    assert any(s.name == "blocks" and s.kind == "sequence" for s in graph.scopes)


def test_unlabelled_repeat_is_spliced() -> None:
    graph = net("conv(3, 1)", "relu * 2", "tanh")
    assert names(graph) == ["0", "1", "2", "3"]
    assert repeats(graph) == {"0": None, "1": (1, 0, 2), "2": (1, 1, 2), "3": None}


def test_repeat_of_a_group_and_of_a_block() -> None:
    head = "block Unit(w):\n  conv(w, 1)\n  relu\n"
    graph = net("x: (conv(3, 1) >> relu) * 2", "layer: Unit(3) * 2", head=head)
    assert names(graph) == [
        "x.0.0",
        "x.0.1",
        "x.1.0",
        "x.1.1",
        "layer.0.0",
        "layer.0.1",
        "layer.1.0",
        "layer.1.1",
    ]
    scopes = {s.name: s for s in graph.scopes}
    assert scopes["x.0"].repeat == Repeat(group=1, index=0, count=2)
    assert scopes["layer.1"].kind == "block" and scopes["layer.1"].block == "Unit"
    assert scopes["layer.1"].repeat == Repeat(group=2, index=1, count=2)


def test_loops_record_repeats_on_the_scopes_they_make() -> None:
    head = "block Unit(w):\n  conv(w, 1)\n"
    graph = net("for i, w in [[1, 4], [2, 8]]:", '  "unit{i}": Unit(w)', '  "g{i}":', "    relu", head=head)
    scopes = {s.name: s for s in graph.scopes}
    assert scopes["unit1"].repeat == Repeat(group=1, index=0, count=2)
    assert scopes["unit2"].repeat == Repeat(group=1, index=1, count=2)
    assert scopes["unit2"].block == "Unit"
    assert scopes["g2"].repeat == Repeat(group=1, index=1, count=2) and scopes["g2"].kind == "sequence"


def test_repeat_count_zero_and_expressions() -> None:
    graph = net("depth = 3", "relu * 0", "tanh * (depth - 1)")
    assert names(graph) == ["0", "1"]


def test_repeat_copies_follow_each_other() -> None:
    graph = net("conv(4, 3) * 2")
    first, second = graph.nodes[1:]
    assert (first.shape, second.shape) == ((4, 6, 6), (4, 4, 4))
    assert second.inputs == (first.id,)


def test_each_repeat_and_loop_is_its_own_group() -> None:
    graph = net("relu * 2", "for i in [1, 2]:", "  tanh", "sigmoid * 2")
    groups = {name: r[0] for name, r in repeats(graph).items() if r is not None}
    assert groups == {"0": 1, "1": 1, "2": 2, "3": 2, "4": 3, "5": 3}


# ---------------------------------------------------------------- for and if


def test_for_loop_with_unpacking() -> None:
    graph = net("for c, s in [[4, 1], [8, 2]]:", "  conv(c, 3, stride=s, pad=1)", "  relu")
    assert table(graph) == [
        ("0", "conv2d", (4, 8, 8)),
        ("1", "relu", (4, 8, 8)),
        ("2", "conv2d", (8, 4, 4)),
        ("3", "relu", (8, 4, 4)),
    ]
    assert repeats(graph) == {"0": (1, 0, 2), "1": (1, 0, 2), "2": (1, 1, 2), "3": (1, 1, 2)}


def test_for_loop_over_a_parameter_table_like_torchvision_cfg() -> None:
    graph = build(
        """
        network vggish:
          input: 3x8x8
          params:
            cfg = [4, "M", 8, "M"]
          layers:
            features:
              for v in cfg:
                if v == "M": maxpool(2)
                else: conv(v, 3, pad=1) >> relu
        """
    )
    assert table(graph) == [
        ("features.0", "conv2d", (4, 8, 8)),
        ("features.1", "relu", (4, 8, 8)),
        ("features.2", "maxpool2d", (4, 4, 4)),
        ("features.3", "conv2d", (8, 4, 4)),
        ("features.4", "relu", (8, 4, 4)),
        ("features.5", "maxpool2d", (8, 2, 2)),
    ]


def test_loop_variables_do_not_leak() -> None:
    with pytest.raises(SpecError, match="unknown name 'i'"):
        net("for i in [1]:", "  relu", "conv(i, 1)")


def test_if_elif_else_takes_the_first_true_branch() -> None:
    def kinds(depth: int) -> list[str]:
        graph = net(f"d = {depth}", "if d == 0: relu", "elif d == 1:", "  tanh", "else: sigmoid >> relu")
        return [node.op.kind for node in graph.nodes[1:]]

    assert (kinds(0), kinds(1), kinds(2)) == (["relu"], ["tanh"], ["sigmoid", "relu"])


def test_if_without_a_true_branch_adds_nothing() -> None:
    assert names(net("if false: relu", "tanh")) == ["0"]


def test_lets_bind_in_order() -> None:
    graph = net("w = 4", "conv(w, 1)", "w = w * 2", "conv(w, 1)")
    assert [node.shape[0] for node in graph.nodes[1:]] == [4, 8]


# ---------------------------------------------------------------- residual and merges


def test_residual_adds_the_input() -> None:
    graph = net("residual:", "  conv(3, 3, pad=1)", "  relu", input="3x8x8")
    _, relu, add = graph.nodes[1:]
    assert (add.name, add.op.kind) == ("2", "add")
    assert add.inputs == (relu.id, 0)


def test_residual_condition() -> None:
    on = net("residual if 1 == 1:", "  conv(3, 1)")
    off = net("residual if 1 == 2:", "  conv(3, 1)")
    assert [n.op.kind for n in on.nodes[1:]] == ["conv2d", "add"]
    assert [n.op.kind for n in off.nodes[1:]] == ["conv2d"]


def test_shortcut_auto_is_the_identity_when_shapes_match() -> None:
    graph = net("residual:", "  conv(3, 3, pad=1)", "shortcut downsample: auto")
    assert names(graph) == ["0", "1"]  # no projection, no position: like nn.Sequential, only modules count
    assert graph.nodes[-1].inputs == (1, 0)


def test_shortcut_auto_projects_with_the_body_stride() -> None:
    graph = net("residual:", "  conv(8, 3, stride=2, pad=1)", "shortcut downsample: auto")
    assert table(graph) == [
        ("0", "conv2d", (8, 4, 4)),
        ("downsample.0", "conv2d", (8, 4, 4)),
        ("downsample.1", "batchnorm", (8, 4, 4)),
        ("2", "add", (8, 4, 4)),
    ]
    projection = by_name(graph)["downsample.0"].op
    assert (projection.kernel_size, projection.stride, projection.bias) == ((1, 1), (2, 2), False)  # type: ignore[union-attr]
    assert by_name(graph)["downsample.0"].inputs == (0,)


def test_shortcut_auto_without_a_name_is_numbered() -> None:
    graph = net("residual:", "  conv(8, 1)", "shortcut: auto")
    assert names(graph) == ["0", "1.0", "1.1", "2"]


def test_explicit_shortcut_spliced_or_named() -> None:
    spliced = net("residual:", "  conv(8, 1)", "shortcut: conv(8, 1) >> batchnorm")
    assert names(spliced) == ["0", "1", "2", "3"]
    assert by_name(spliced)["1"].inputs == (0,)  # the shortcut starts from the residual's input
    named = net("residual:", "  conv(8, 1)", "shortcut proj:", "  conv(8, 1)", "  batchnorm")
    assert names(named) == ["0", "proj.0", "proj.1", "2"]


def test_concat_statement_runs_each_branch_from_the_same_input() -> None:
    graph = net("stem: conv(4, 1)", "concat:", "  conv(2, 1)", "  conv(3, 3, pad=1) >> relu", "  identity")
    branch_inputs = [by_name(graph)[name].inputs for name in ("1", "2", "4")]
    assert branch_inputs == [(1,), (1,), (1,)]
    cat = graph.nodes[-1]
    assert (cat.name, cat.op.kind, cat.shape) == ("5", "concat", (9, 8, 8))
    assert cat.inputs == (2, 4, 5)


def test_add_statement() -> None:
    graph = net("add:", "  conv(4, 1)", "  conv(4, 3, pad=1)")
    assert graph.nodes[-1].op.kind == "add" and graph.nodes[-1].shape == (4, 8, 8)


def test_merge_with_from() -> None:
    graph = net("a: conv(4, 1)", "b: conv(6, 1) from input", "cat: concat from a, b", "s: add from a, a")
    nodes = by_name(graph)
    assert nodes["b"].inputs == (0,)
    assert nodes["cat"].inputs == (nodes["a"].id, nodes["b"].id) and nodes["cat"].shape == (10, 8, 8)
    assert nodes["s"].inputs == (nodes["a"].id, nodes["a"].id)


def test_lets_inside_merges_bind_for_the_following_branches() -> None:
    graph = net("concat:", "  w = 2", "  conv(w, 1)", "  conv(w * 2, 1)")
    assert graph.output_shape == (6, 8, 8)


# ---------------------------------------------------------------- references


def test_references_to_earlier_layers() -> None:
    graph = net("stem: conv(4, 1)", "relu", "tanh from stem", "sigmoid from input")
    nodes = by_name(graph)
    assert nodes["2"].inputs == (nodes["stem"].id,)
    assert nodes["3"].inputs == (0,)


def test_references_see_enclosing_sequences_and_groups_by_name() -> None:
    graph = net(
        "stem: conv(4, 1)", "body:", "  relu", "  tanh from stem", "pool: maxpool(2)", "flatten from body"
    )
    nodes = by_name(graph)
    assert nodes["body.1"].inputs == (nodes["stem"].id,)
    assert nodes["3"].inputs == (nodes["body.1"].id,)  # a group's name is its output


def test_a_repeat_label_names_its_last_copy() -> None:
    graph = net("blocks: relu * 2", "tanh", "sigmoid from blocks")
    nodes = by_name(graph)
    assert nodes["2"].inputs == (nodes["blocks.1"].id,)


def test_from_input_inside_a_block_is_the_block_input() -> None:
    head = "block Unit():\n  conv(2, 1)\n  inner:\n    relu\n    tanh from input\n"
    graph = net("stem: conv(4, 1)", "u: Unit()", head=head)
    nodes = by_name(graph)
    assert nodes["u.inner.1"].inputs == (nodes["stem"].id,)
    assert nodes["u.inner.1"].shape == (4, 8, 8)


def test_references_do_not_cross_a_block_boundary() -> None:
    with pytest.raises(SpecError, match="unknown layer 'stem'"):
        net("stem: conv(4, 1)", "Unit()", head="block Unit():\n  relu from stem\n")


# ---------------------------------------------------------------- blocks


def test_block_parameters_and_defaults() -> None:
    head = "block Unit(w, k=3, act=true):\n  conv(w, k, pad=k // 2)\n  if act: relu\n"
    graph = net("a: Unit(4)", "b: Unit(8, k=1, act=false)", head=head)
    assert table(graph) == [
        ("a.0", "conv2d", (4, 8, 8)),
        ("a.1", "relu", (4, 8, 8)),
        ("b.0", "conv2d", (8, 8, 8)),
    ]
    assert next(s for s in graph.scopes if s.name == "b").block == "Unit"


def test_in_channels_and_in_shape_inside_blocks() -> None:
    head = "block Keep(w=in_channels):\n  conv(w, 3, pad=1)\n  s = in_shape\n  conv(s[0] * 2, 1)\n"
    graph = net("conv(5, 1)", "k: Keep()", head=head)
    assert [node.shape for node in graph.nodes[2:]] == [(5, 8, 8), (10, 8, 8)]


def test_defaults_see_the_file_and_earlier_parameters() -> None:
    head = "base = 6\nblock Unit(w=base, mid=w // 2):\n  conv(mid, 1)\n"
    assert net("Unit()", head=head).output_shape == (3, 8, 8)
    assert net("Unit(w=10)", head=head).output_shape == (5, 8, 8)


def test_blocks_see_their_parameters_not_the_network_parameters() -> None:
    with pytest.raises(SpecError, match="unknown name 'width'"):
        build(
            """
            block Unit():
              conv(width, 1)
            network n:
              input: 3x8x8
              params:
                width = 4
              layers:
                Unit()
            """
        )


def test_block_valued_parameters() -> None:
    text = """
        block Plain(w):
          conv(w, 1)
        block Double(w):
          conv(w, 1) >> conv(w, 1)
        block Stage(unit, w, n):
          unit(w) * n
        network n:
          input: 3x8x8
          params:
            unit = Plain
          variants:
            plain:
            double: unit=Double
          layers:
            s: Stage(unit, 4, 2)
            last: Stage(Plain, 2, 1)
        """
    assert names(build(text)) == ["s.0.0", "s.1.0", "last.0.0"]
    assert names(build(text, variant="double")) == ["s.0.0", "s.0.1", "s.1.0", "s.1.1", "last.0.0"]
    overridden = build(text, overrides={"unit": "Double"})
    assert len(names(overridden)) == 5 and overridden.params["unit"] == "Double"
    scopes = {s.name: s.block for s in build(text, variant="double").scopes}
    assert scopes["s"] == "Stage" and scopes["s.0"] == "Double"


def test_blocks_nest_and_name_hierarchically() -> None:
    head = "block Inner():\n  conv1: conv(4, 1)\nblock Outer():\n  first: Inner()\n  Inner()\n"
    assert names(net("layer1: Outer()", head=head)) == ["layer1.first.conv1", "layer1.1.conv1"]


def test_a_block_may_be_defined_after_the_network() -> None:
    graph = build("network n:\n  input: 3x8x8\n  layers:\n    Unit()\nblock Unit():\n  relu\n")
    assert names(graph) == ["0.0"]


# ---------------------------------------------------------------- imports


def write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(dedent(text), encoding="utf-8")


def test_imports_by_name_and_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        {
            "lib/units.arch": """
                width = 6
                block Unit(w=width):
                  conv(w, 1)
                block Other():
                  relu
                """,
            "lib/more.arch": """
                from "units.arch" import Unit
                block Pair():
                  Unit() >> Unit(2)
                """,
            "main.arch": """
                from "lib/units.arch" import Unit
                import "lib/more.arch"
                network n:
                  input: 3x8x8
                  layers:
                    a: Unit()
                    b: Pair()
                """,
        },
    )
    graph = lower(load_program(Path("main.arch")))
    assert table(graph) == [
        ("a.0", "conv2d", (6, 8, 8)),  # the imported block sees its own file's `width`
        ("b.0.0", "conv2d", (6, 8, 8)),
        ("b.1.0", "conv2d", (2, 8, 8)),
    ]
    assert set(load_program(Path("main.arch")).files) == {"main.arch", "lib/units.arch", "lib/more.arch"}


def test_import_all_does_not_bring_names_not_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"a.arch": "block A():\n  relu\nblock B():\n  tanh\n"})
    text = 'from "a.arch" import A\nnetwork n:\n  input: 3x8x8\n  layers:\n    B()\n'
    with pytest.raises(SpecError, match="there is no op or block named 'B'"):
        lower(load_program(Path("main.arch"), text=text))


def test_a_file_imported_twice_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        {
            "base.arch": "block Base():\n  relu\n",
            "left.arch": 'import "base.arch"\nblock Left():\n  Base()\n',
            "right.arch": 'import "base.arch"\nblock Right():\n  Base()\n',
        },
    )
    text = 'import "left.arch"\nimport "right.arch"\n'
    text += "network n:\n  input: 3x8x8\n  layers:\n    Left() >> Right()\n"
    graph = lower(load_program(Path("main.arch"), text=text))
    assert names(graph) == ["0.0.0", "1.0.0"]


# ---------------------------------------------------------------- parameters, variants, metadata


VARIANTS = """
    network family:
      input: 3x8x8
      params:
        width = 4
        depth = 1
        wide = width * 2
      variants:
        small: depth=1
        large: width=8, depth=2
      layers:
        conv(width, 1) * depth
        conv(wide, 1)
    """


def test_the_first_variant_is_the_default() -> None:
    graph = build(VARIANTS)
    assert graph.variant == "small" and graph.params == {"width": 4, "depth": 1, "wide": 8}
    assert build(VARIANTS, variant="family").variant == "small"  # the network's own name


def test_a_variant_row_overrides_defaults_and_later_params_follow() -> None:
    graph = build(VARIANTS, variant="large")
    assert graph.params == {"width": 8, "depth": 2, "wide": 16}
    assert [node.shape[0] for node in graph.nodes[1:]] == [8, 8, 16]


def test_overrides_win_over_the_variant_row() -> None:
    graph = build(VARIANTS, variant="large", overrides={"depth": 3})
    assert graph.params == {"width": 8, "depth": 3, "wide": 16}
    assert len(graph.nodes) == 1 + 4


def test_variant_names() -> None:
    program = load_program(Path("t.arch"), text=dedent(VARIANTS))
    assert variant_names(program.root.module.networks[0]) == ["small", "large"]
    plain = load_program(Path("t.arch"), text="network solo:\n  input: 3x8x8\n  layers:\n    relu\n")
    assert variant_names(plain.root.module.networks[0]) == ["solo"]


def test_metadata() -> None:
    graph = build(
        """
        network n:
          title: "A network"
          authors: "A. Author"
          year: 2020
          venue: "NeurIPS"
          paper: "https://example.org"
          notes: "n" + "otes"
          reported:
            top1: 76.1
            imagenet:
              top5: 92.9
          dataset: "ImageNet"
          sizes: [1, 2]
          input: 3x8x8
          layers:
            relu
        """
    )
    meta = graph.metadata
    assert (meta.title, meta.authors, meta.year, meta.venue, meta.paper, meta.notes) == (
        "A network",
        ("A. Author",),
        2020,
        "NeurIPS",
        "https://example.org",
        "notes",
    )
    assert meta.reported == {"top1": 76.1, "imagenet": {"top5": 92.9}}
    assert meta.extra == {"dataset": "ImageNet", "sizes": [1, 2]}


def test_metadata_may_use_parameters() -> None:
    graph = build(
        """
        network n:
          notes: "width " + str_width
          input: 3x8x8
          params:
            str_width = "four"
          layers:
            relu
        """
    )
    assert graph.metadata.notes == "width four"


# ---------------------------------------------------------------- shapes


def torch_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, ceil: bool, width: int | None = None
) -> tuple[int, int] | None:
    """The (H, W) torch's max pooling gives for an HxW input (W = ``width``, default H), asked of torch on
    the meta device (no data); None when torch refuses the geometry. Convolution follows the floor rule."""
    import torch
    import torch.nn.functional as F

    x = torch.empty(1, 1, size, width or size, device="meta")
    try:
        out = F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode=ceil)
    except RuntimeError:
        return None
    return out.shape[2], out.shape[3]


def torch_conv_size(size: int, width: int, kernel: int, stride: int, padding: int, dilation: int) -> Any:
    """The (H, W) torch's conv2d gives for an HxW input, or None when it refuses (kernel too large)."""
    import torch
    import torch.nn.functional as F

    x, w = torch.empty(1, 1, size, width, device="meta"), torch.empty(2, 1, kernel, kernel, device="meta")
    try:
        out = F.conv2d(x, w, None, stride, padding, dilation)
    except RuntimeError:
        return None
    return out.shape[2], out.shape[3]


@settings(deadline=None)  # the first example imports torch
@given(
    size=st.integers(min_value=1, max_value=40),
    kernel=st.integers(min_value=1, max_value=7),
    stride=st.integers(min_value=1, max_value=4),
    padding=st.integers(min_value=0, max_value=3),
    dilation=st.integers(min_value=1, max_value=3),
)
def test_conv_output_size_rule(size: int, kernel: int, stride: int, padding: int, dilation: int) -> None:
    expected = torch_conv_size(size, size + 1, kernel, stride, padding, dilation)
    spec = f"conv(2, {kernel}, stride={stride}, padding={padding}, dilation={dilation})"
    if expected is not None:
        assert conv_output_size(size, kernel, stride, padding, dilation, ceil=False) == expected[0]
        assert net(spec, input=f"1x{size}x{size + 1}").output_shape == (2, *expected)
    else:
        with pytest.raises(SpecError, match="does not fit the input"):
            net(spec, input=f"1x{size}x{size}")


@settings(deadline=None)  # the first example imports torch
@given(
    size=st.integers(min_value=1, max_value=40),
    kernel=st.integers(min_value=1, max_value=5),
    stride=st.integers(min_value=1, max_value=4),
    padding=st.integers(min_value=0, max_value=2),
    dilation=st.integers(min_value=1, max_value=2),
    ceil=st.booleans(),
)
def test_pool_output_size_rule_is_torchs(
    size: int, kernel: int, stride: int, padding: int, dilation: int, ceil: bool
) -> None:
    if 2 * padding > kernel:
        return
    expected = torch_output_size(size, kernel, stride, padding, dilation, ceil, width=size + 3)
    spec = (
        f"maxpool({kernel}, stride={stride}, padding={padding}, dilation={dilation}, "
        f"ceil_mode={str(ceil).lower()})"
    )
    if expected is None or min(expected) < 1:
        with pytest.raises(SpecError):
            net(spec, input=f"1x{size}x{size + 3}")
        return
    assert conv_output_size(size, kernel, stride, padding, dilation, ceil) == expected[0]
    assert net(spec, input=f"1x{size}x{size + 3}").output_shape == (1, *expected)


def test_same_padding_keeps_the_size() -> None:
    graph = net(
        'conv(4, 5, padding="same")',
        'conv(4, 3, dilation=2, padding="same")',
        'conv(4, [3, 5], dilation=[1, 2], padding="same")',
        'conv(4, 3, padding="valid")',
    )
    assert [node.shape for node in graph.nodes[1:]] == [(4, 8, 8), (4, 8, 8), (4, 8, 8), (4, 6, 6)]


def test_per_pixel_linear_and_unshared_biases_count_by_hand() -> None:
    """A linear layer with dim=-1 on a CxHxW map works on its last axis; an unshared bias holds one
    value per output position (a 5x7 map here); with and without biases."""
    per_pixel = net("a: linear(5, dim=-1)", "b: linear(4, dim=-1, bias=false)", input="2x7x9")
    assert [node.shape for node in per_pixel.nodes[1:]] == [(2, 7, 5), (2, 7, 4)]
    assert [node.op.param_count() for node in per_pixel.nodes[1:]] == [9 * 5 + 5, 5 * 4]
    unshared = net('c: conv(6, 3, bias="unshared")', input="2x7x9")
    assert unshared.nodes[1].op.param_count() == 2 * 3 * 3 * 6 + 6 * 5 * 7


def test_the_std_mlp_takes_the_width_it_is_given_or_its_inputs() -> None:
    head = 'from "std/mlp.arch" import MLP\n\n'
    given = net("m: MLP(8, out_features=3)", input="5x4", head=head)
    assert given.output_shape == (5, 3)
    assert sum(n.op.param_count() for n in given.nodes) == (4 * 8 + 8) + (8 * 3 + 3)
    assert net("m: MLP(8)", input="5x4", head=head).output_shape == (5, 4)


def test_linear_infers_in_features_and_works_on_tokens() -> None:
    graph = net("flatten", "linear(10)", input="2x3x4")
    assert graph.nodes[-1].op.in_features == 24 and graph.output_shape == (10,)  # type: ignore[union-attr]
    tokens = net("patch_embed(6, 4)", "class_token", "linear(5)", input="3x8x8")
    assert tokens.output_shape == (5, 5)


# ---------------------------------------------------------------- torch is never imported


def test_parsing_and_lowering_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "import archspec, archspec.syntax, archspec.lower, archspec.ops, archspec.ir, archspec.expr\n"
        "from archspec.loader import load_program\n"
        "from archspec.lower import lower\n"
        f"graph = lower(load_program(Path({str(ROOT / 'specs' / 'resnet.arch')!r})), variant='resnet50')\n"
        "assert graph.output_shape == (1000,), graph.output_shape\n"
        "loaded = sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'torchvision')))\n"
        "assert not loaded, loaded\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


DENSE = """
block DenseLayer(growth):
  norm1: batchnorm >> relu1: relu >> conv1: conv(4 * growth, 1, bias=false)
  norm2: batchnorm >> relu2: relu >> conv2: conv(growth, 3, pad=1, bias=false)

network dense:
  input: 8x8x8
  layers:
    "block1-0": conv(8, 1)
    "class": relu
    "denselayer0": identity
    for j in range(1, 4):
      "denselayer{j}": DenseLayer(4) from "denselayer{j - 1}"
    out: concat from "block1-0", denselayer1, "denselayer2", denselayer3
"""


def test_quoted_labels_take_any_name_without_a_dot_and_template_references_find_them() -> None:
    graph = build(DENSE)
    names = [n.name for n in graph.nodes]
    assert names[:4] == ["input", "block1-0", "class", "denselayer0"]
    assert "denselayer3.conv2" in names
    # each dense layer reads the previous one, whose name the template reference computes
    layer2 = graph.node("denselayer2.norm1")
    assert graph.nodes[layer2.inputs[0]].name == "denselayer1.conv2"
    out = graph.node("out")
    assert [graph.nodes[i].name for i in out.inputs] == [
        "block1-0",
        "denselayer1.conv2",
        "denselayer2.conv2",
        "denselayer3.conv2",
    ]
    assert out.shape == (8 + 4 + 4 + 4, 8, 8)


# ---------------------------------------------------------------- ops name themselves in shape errors


@pytest.mark.parametrize(
    ("shape", "layer", "message"),
    [
        ("3x4x4", "flatten >> x: subsample(2)", "4:19: error: x: subsample expects an image CxHxW, got 48"),
        (
            "3x4x4",
            "x: layernorm(dim=5)",
            "4:18: error: x: layernorm: dim 5 is not supported on 3x4x4 "
            "(dim is 0 or -1; 0 only on a CxHxW map)",
        ),
        ("3x4x4", "x: class_token", "4:8: error: x: class_token expects a token sequence NxD, got 3x4x4"),
        (
            "3x4x4",
            "x: position_embedding",
            "4:8: error: x: position_embedding expects a token sequence NxD, got 3x4x4",
        ),
        ("3x4x4", "x: rbf(10)", "4:8: error: x: rbf expects a vector or a token sequence, got 3x4x4"),
        ("5x4", "x: rbf(10)", "4:8: error: x: rbf expects a vector, got 5x4"),
        ("4x6", "x: patch_embed(4, 2)", "4:8: error: x: patch_embed expects an image CxHxW, got 4x6"),
        (
            "3x8x8",
            "x: patch_embed(4, 3)",
            "4:23: error: x: patch_embed: input 3x8x8 is not divisible into 3x3 patches",
        ),
        (
            "3x8x8",
            "x: patch_embed(4, 0)",
            "4:23: error: x: argument 'patch_size' of patch_embed must be greater than 0, got 0",
        ),
        (
            "3x8x8",
            "flatten >> x: adaptive_avgpool(2)",
            "4:19: error: x: adaptive_avgpool expects an image CxHxW, got 192",
        ),
        ("5x4", "x: batchnorm", "4:8: error: x: batchnorm expects CxHxW or a vector, got 5x4"),
        ("3x8x8", 'x: conv(4, padding="same")', "4:8: error: x: conv needs 'kernel_size'"),
    ],
)
def test_ops_name_themselves_in_shape_errors(shape: str, layer: str, message: str) -> None:
    """A shape an op cannot take is reported with the op's own name, the input and where (the
    argument's column when an argument is at fault): the whole first line of the message."""
    with pytest.raises(SpecError) as error:
        net(layer, input=shape)
    assert str(error.value).splitlines()[0] == f"t.arch:{message}"


def test_arguments_computed_from_network_parameters_keep_their_formula() -> None:
    """An op argument the spec computes by arithmetic from the network's parameters keeps its formula in
    the IR (the compiled source writes it, so that those parameters can be arguments): outside blocks,
    over parameters not shadowed, and only where a parameter appears."""
    graph = build(
        textwrap.dedent(
            """\
                block B(c):
                  conv(c * 2, 1)

                network t:
                  input: [3, size, size]
                  params:
                    size = 32
                    patch = 8
                    width = 16
                  layers:
                    conv(width * 2, patch, stride=patch)
                    B(width + 0)
                    for width in [4]:
                      conv(width * 2, 1)
                    conv(2 * 5, 1)
                    flatten
                    linear(size / patch)
                    linear(out_features=size // patch + -(width - 17) * 3)
                """
        )
    )
    formulas = {node.name: node.formulas for node in graph.nodes if node.formulas}
    assert formulas == {
        "0": {"out_channels": "width * 2"},
        "6": {"out_features": "size // patch + -(width - 17) * 3"},  # not "5": 4.0 is no integer
    }
    assert graph.node("6").op.out_features == 32 // 8 + 1 * 3  # type: ignore[attr-defined]
    assert '"formulas": {\n        "out_channels": "width * 2"\n      }' in graph.to_json()
