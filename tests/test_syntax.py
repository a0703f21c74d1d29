"""Text to AST: each construct of the language parses into the AST node the lowering expects.

Every spec here is a few lines; the assertions look at the AST (``archspec.ast``), not at the lowered
graph (that is tests/test_lower.py).
"""

from __future__ import annotations

import textwrap

import pytest

from archspec import ast
from archspec.errors import SpecError
from archspec.syntax import parse, parse_expression


def dedent(text: str) -> str:
    return textwrap.dedent(text).removeprefix("\n")


def layers_of(*lines: str) -> tuple[ast.Stmt, ...]:
    """The parsed ``layers:`` body of a network whose layers are ``lines``."""
    body = "".join(f"    {line}\n" for line in lines)
    module = parse(f"network n:\n  input: 3x8x8\n  layers:\n{body}")
    layers = module.networks[0].layers
    assert layers is not None
    return layers


def chain_of(line: str) -> tuple[ast.Item, ...]:
    (stmt,) = layers_of(line)
    assert isinstance(stmt, ast.ChainStmt)
    return stmt.items


def only_item(line: str) -> ast.Item:
    (item,) = chain_of(line)
    return item


def call_of(item: ast.Item) -> ast.Call:
    assert isinstance(item.atom, ast.Call)
    return item.atom


def literal(expr: ast.Expr) -> object:
    assert isinstance(expr, ast.Literal)
    return expr.value


# ---------------------------------------------------------------- files


def test_a_minimal_network() -> None:
    module = parse("network lenet:\n  input: 1x32x32\n  layers:\n    relu\n", "lenet.arch")
    (network,) = module.networks
    assert network.name == "lenet"
    assert isinstance(network.input, ast.ListExpr)
    assert [literal(d) for d in network.input.items] == [1, 32, 32]
    assert network.params == () and network.variants == () and network.meta == ()
    assert module.path == "lenet.arch"


def test_input_may_be_an_expression() -> None:
    module = parse("network n:\n  input: [3, size, size]\n  layers:\n    relu\n")
    network_input = module.networks[0].input
    assert isinstance(network_input, ast.ListExpr)
    assert isinstance(network_input.items[1], ast.Name)


def test_the_last_line_needs_no_line_break() -> None:
    assert parse("network n:\n  input: 3x8x8\n  layers:\n    relu").networks[0].layers is not None


def test_windows_line_breaks() -> None:
    assert (
        len(
            parse("network n:\r\n  input: 3x8x8\r\n  layers:\r\n    relu\r\n    tanh\r\n").networks[0].layers
            or ()
        )
        == 2
    )


def test_comments_and_blank_lines_are_ignored() -> None:
    text = dedent(
        """
        # A network.

        network n:   # trailing comment
          input: 3x8x8

          # between sections
          layers:
            relu     # after a layer

            # between layers
            tanh
        # at the end
        """
    )
    layers = parse(text).networks[0].layers
    assert layers is not None and len(layers) == 2


def test_line_continuation_and_brackets_join_lines() -> None:
    (stmt, second) = layers_of(
        "conv(4,",
        "     3) >> \\",
        "  relu",
        "x = [1,",
        "  2]",
    )
    assert isinstance(stmt, ast.ChainStmt) and len(stmt.items) == 2
    assert isinstance(second, ast.Let) and isinstance(second.value, ast.ListExpr)


def test_top_level_lets_blocks_and_imports() -> None:
    module = parse(
        dedent(
            """
            from "blocks.arch" import Basic, Bottleneck
            import "more.arch"
            base = 64
            block Stem(width=base, act=true,):
              conv(width, 3)
            block Empty():
              identity
            network n:
              input: 3x8x8
              layers:
                Stem()
            """
        )
    )
    assert [(i.path, i.names and [name for name, _ in i.names]) for i in module.imports] == [
        ("blocks.arch", ["Basic", "Bottleneck"]),
        ("more.arch", None),
    ]
    assert [let.name for let in module.lets] == ["base"]
    stem, empty = module.blocks
    assert (stem.name, [p.name for p in stem.params]) == ("Stem", ["width", "act"])
    assert isinstance(stem.params[0].default, ast.Name) and literal(stem.params[1].default) is True
    assert empty.params == ()
    assert stem.path == "<string>"


def test_metadata_params_and_variants() -> None:
    module = parse(
        dedent(
            """
            network net:
              title: "A paper"
              year: 2020
              reported:
                top1: 76.1
                imagenet:
                  top5: 92.9
              input: 3x8x8
              params:
                width = 4
                depth = 2
              variants:
                base:
                wide: width=8, depth=3
              layers:
                relu
            """
        )
    )
    network = module.networks[0]
    assert [entry.key for entry in network.meta] == ["title", "year", "reported"]
    reported = network.meta[2].value
    assert isinstance(reported, tuple) and [e.key for e in reported] == ["top1", "imagenet"]
    assert isinstance(reported[1].value, tuple) and reported[1].value[0].key == "top5"
    assert [(let.name, literal(let.value)) for let in network.params] == [("width", 4), ("depth", 2)]
    assert [v.name for v in network.variants] == ["base", "wide"]
    assert network.variants[0].overrides == ()
    assert [(kw.name, literal(kw.value)) for kw in network.variants[1].overrides] == [
        ("width", 8),
        ("depth", 3),
    ]


def test_a_file_may_hold_only_blocks() -> None:
    module = parse("block Unit(w):\n  conv(w, 3)\n")
    assert module.networks == () and [b.name for b in module.blocks] == ["Unit"]


def test_an_empty_file_parses_to_an_empty_module() -> None:
    assert parse("") == ast.Module("<string>")


# ---------------------------------------------------------------- items and chains


def test_a_call_without_parentheses() -> None:
    item = only_item("relu")
    assert (item.label, item.repeat, item.sources) == (None, None, ())
    assert call_of(item) == ast.Call("relu", (), (), call_of(item).span)


def test_arguments_positional_and_keyword() -> None:
    call = call_of(only_item("conv(64, 3, stride=2, pad=1,)"))
    assert call.name == "conv"
    assert [literal(a) for a in call.args] == [64, 3]
    assert [(k.name, literal(k.value)) for k in call.kwargs] == [("stride", 2), ("pad", 1)]


def test_empty_parentheses() -> None:
    assert call_of(only_item("Stem()")).args == ()


def test_positional_after_keyword_is_an_error() -> None:
    with pytest.raises(SpecError, match="positional argument after a keyword argument"):
        layers_of("conv(stride=2, 64)")


def test_chain_with_shift() -> None:
    items = chain_of("conv(4, 3) >> bn1: batchnorm >> relu")
    assert [call_of(i).name for i in items] == ["conv", "batchnorm", "relu"]
    assert [i.label and i.label.text for i in items] == [None, "bn1", None]


def test_labels_identifier_string_and_keyword() -> None:
    def label(line: str) -> tuple[str, bool]:
        found = only_item(line).label
        assert found is not None
        return found.text, found.template

    assert label("conv1: conv(4, 3)") == ("conv1", False)
    assert label('"layer{i}": relu') == ("layer{i}", True)
    assert label("'single': relu") == ("single", True)
    # `layers`, `params` and `variants` are keywords, yet torchvision names modules so (ViT's encoder.layers).
    assert [label(f"{word}: relu") for word in ("layers", "params", "variants")] == [
        ("layers", False),
        ("params", False),
        ("variants", False),
    ]


def test_inline_group() -> None:
    item = only_item("head: (gap >> flatten >> fc: linear(10))")
    assert item.label is not None and item.label.text == "head"
    assert isinstance(item.atom, ast.InlineGroup)
    assert [call_of(i).name for i in item.atom.items] == ["gap", "flatten", "linear"]


def test_repeat_counts() -> None:
    assert literal(only_item("conv(4, 3) * 2").repeat) == 2  # type: ignore[arg-type]
    assert isinstance(only_item("Unit(4) * depth").repeat, ast.Name)
    assert isinstance(only_item("Unit(4) * (depth - 1)").repeat, ast.BinaryOp)
    assert isinstance(only_item("Unit(4) * depths[0]").repeat, ast.Subscript)
    assert isinstance(only_item("Unit(4) * len(xs)").repeat, ast.FuncCall)
    item = only_item("blocks: (conv(4, 3) >> relu) * 3")
    assert isinstance(item.atom, ast.InlineGroup) and literal(item.repeat) == 3  # type: ignore[arg-type]


def test_sources() -> None:
    item = only_item("cat: concat from a, b.conv, c.0")
    assert call_of(item).name == "concat"
    assert [ref.path for ref in item.sources] == [("a",), ("b", "conv"), ("c", "0")]
    assert only_item("conv(4, 1) from input").sources[0].path == ("input",)
    assert only_item("relu * 2 from stem").sources[0].path == ("stem",)


def test_merge_names_as_items_and_words_that_begin_with_them() -> None:
    assert call_of(only_item("add from a, b")).name == "add"
    assert call_of(only_item("concat(dim=0) from a, b")).name == "concat"
    label = only_item("concatenated: relu").label
    assert label is not None and label.text == "concatenated"
    (let,) = layers_of("address = 3")
    assert isinstance(let, ast.Let) and let.name == "address"


# ---------------------------------------------------------------- statements


def test_let_in_a_body() -> None:
    (let, _) = layers_of("mid = width // 2", "conv(mid, 1)")
    assert isinstance(let, ast.Let) and let.name == "mid" and isinstance(let.value, ast.BinaryOp)


def test_named_group() -> None:
    (group,) = layers_of("stem:", "  conv(4, 3)", "  relu", "  pool:", "    maxpool(2)")
    assert isinstance(group, ast.GroupStmt) and group.label.text == "stem"
    assert len(group.body) == 3 and isinstance(group.body[2], ast.GroupStmt)


def test_for_loop_with_unpacking_and_inline_form() -> None:
    loop, inline = layers_of(
        "for c, s in [[4, 1], [8, 2]]:", "  conv(c, 3, stride=s)", "for i in range(2): relu"
    )
    assert isinstance(loop, ast.ForStmt) and loop.targets == ("c", "s")
    assert isinstance(loop.iterable, ast.ListExpr) and len(loop.body) == 1
    assert isinstance(inline, ast.ForStmt) and inline.targets == ("i",)
    assert isinstance(inline.body[0], ast.ChainStmt)


def test_if_elif_else() -> None:
    (stmt,) = layers_of("if a:", "  relu", "elif b:", "  tanh", "elif c: sigmoid", "else:", "  identity")
    assert isinstance(stmt, ast.IfStmt)
    assert [type(cond).__name__ for cond, _ in stmt.branches] == ["Name", "Name", "Name"]
    assert stmt.otherwise is not None and len(stmt.otherwise) == 1


def test_if_inline_without_else() -> None:
    (stmt,) = layers_of("if x > 1: relu >> tanh")
    assert isinstance(stmt, ast.IfStmt) and stmt.otherwise is None
    (body,) = stmt.branches[0][1]
    assert isinstance(body, ast.ChainStmt) and len(body.items) == 2


def test_residual_forms() -> None:
    plain, conditional, auto, named, explicit = layers_of(
        "residual:",
        "  conv(4, 3, pad=1)",
        "residual if stride == 1:",
        "  conv(4, 3, pad=1)",
        "residual:",
        "  conv(8, 3, stride=2, pad=1)",
        "shortcut: auto",
        "residual:",
        "  conv(8, 3, pad=1)",
        "shortcut downsample: auto",
        "residual:",
        "  conv(8, 1)",
        "shortcut:",
        "  conv(8, 1)",
        "  batchnorm",
    )
    assert isinstance(plain, ast.ResidualStmt) and plain.condition is None and plain.shortcut is None
    assert isinstance(conditional, ast.ResidualStmt) and isinstance(conditional.condition, ast.Compare)
    assert isinstance(auto, ast.ResidualStmt) and auto.shortcut is not None and auto.shortcut.label is None
    assert isinstance(named, ast.ResidualStmt) and named.shortcut is not None
    assert named.shortcut.label is not None and named.shortcut.label.text == "downsample"
    assert isinstance(explicit, ast.ResidualStmt) and explicit.shortcut is not None
    assert len(explicit.shortcut.body) == 2


def test_merge_statements() -> None:
    cat, add = layers_of("concat:", "  conv(4, 1)", "  conv(4, 3, pad=1)", "add:", "  relu", "  identity")
    assert isinstance(cat, ast.MergeStmt) and cat.op == "concat" and len(cat.body) == 2
    assert isinstance(add, ast.MergeStmt) and add.op == "add" and len(add.body) == 2


# ---------------------------------------------------------------- expressions


def test_precedence_in_the_tree() -> None:
    expr = parse_expression("1 + 2 * 3")
    assert isinstance(expr, ast.BinaryOp) and expr.op == "+"
    assert isinstance(expr.right, ast.BinaryOp) and expr.right.op == "*"
    power = parse_expression("2 ** 3 ** 2")
    assert isinstance(power, ast.BinaryOp) and isinstance(power.right, ast.BinaryOp)  # right-associative
    negated = parse_expression("-2 ** 2")
    assert isinstance(negated, ast.UnaryOp) and isinstance(negated.operand, ast.BinaryOp)
    left = parse_expression("8 // 2 // 2")
    assert isinstance(left, ast.BinaryOp) and isinstance(left.left, ast.BinaryOp)  # left-associative


def test_comparison_chain_boolean_and_conditional_nodes() -> None:
    chain = parse_expression("a < b <= c")
    assert isinstance(chain, ast.Compare) and [op for op, _ in chain.rest] == ["<", "<="]
    boolean = parse_expression("a and b and not c or d")
    assert isinstance(boolean, ast.BoolOp) and boolean.op == "or"
    assert isinstance(boolean.values[0], ast.BoolOp) and len(boolean.values[0].values) == 3
    conditional = parse_expression("x if c else y")
    assert isinstance(conditional, ast.Conditional) and isinstance(conditional.condition, ast.Name)


def test_function_calls_and_subscripts() -> None:
    call = parse_expression("make_divisible(c * alpha, 8, min_value=16)")
    assert isinstance(call, ast.FuncCall) and call.func == "make_divisible"
    assert len(call.args) == 2 and call.kwargs[0].name == "min_value"
    sub = parse_expression("cfg[i][0]")
    assert isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Subscript)


def test_spans_point_at_the_source() -> None:
    (stmt,) = layers_of("conv(4, 3) >> relu")
    assert isinstance(stmt, ast.ChainStmt)
    relu = stmt.items[1]
    assert (relu.span.line, relu.span.column, relu.span.end_column) == (4, 19, 23)
    expr = parse_expression("1 + width")
    assert isinstance(expr, ast.BinaryOp) and (expr.right.span.column, expr.right.span.end_column) == (5, 10)


@pytest.mark.parametrize(
    "text",
    ["1 +", "(1", "1 2", "a b", "x = 1", "1 ** ** 2"],
)
def test_a_bad_expression_is_a_spec_error(text: str) -> None:
    with pytest.raises(SpecError):
        parse_expression(text)
