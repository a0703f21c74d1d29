"""The expression evaluator: operators, precedence, functions and limits, as the language reference states.

Expressions are parsed with ``archspec.syntax.parse_expression`` and evaluated with
``archspec.expr.evaluate``; nothing here runs spec text through Python's ``eval``. The property tests
build random expressions as text together with their value, computed with Python's operators on the
tree the text was printed from.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archspec.errors import SpecError
from archspec.expr import MAX_INT, BlockRef, a_type, evaluate, make_divisible, show, type_name
from archspec.syntax import parse_expression


def value_of(text: str, **env: Any) -> Any:
    return evaluate(parse_expression(text), env)


def error_of(text: str, **env: Any) -> str:
    with pytest.raises(SpecError) as raised:
        value_of(text, **env)
    return raised.value.diagnostics[0].message


# ---------------------------------------------------------------- literals


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        ("0", 0),
        ("1.5", 1.5),
        ("1.", 1.0),
        (".5", 0.5),
        ("1e-3", 0.001),
        ("2E3", 2000.0),
        ('"text"', "text"),
        ("'text'", "text"),
        ('"a\\"b"', 'a"b'),
        ("true", True),
        ("false", False),
        ("none", None),
        ("[]", ()),
        ("[1, 2, 3]", (1, 2, 3)),
        ("[1, 2,]", (1, 2)),
        ("[[1, 2], [3]]", ((1, 2), (3,))),
        ("(1, 2)", (1, 2)),
        ("(1,)", (1,)),
        ("(7)", 7),
    ],
)
def test_literals(text: str, expected: Any) -> None:
    value = value_of(text)
    assert value == expected and type(value) is type(expected)


def test_lists_are_tuples_and_may_span_lines() -> None:
    assert value_of("[1,\n 2,\n 3]") == (1, 2, 3)


# ---------------------------------------------------------------- operators and precedence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("10 - 4 - 3", 3),
        ("2 * 3 // 4", 1),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("-7 % 3", 2),
        ("7 / 2", 3.5),
        ("8 / 2", 4.0),
        ("2 ** 10", 1024),
        ("2 ** 3 ** 2", 512),  # right-associative
        ("-2 ** 2", -4),  # ** binds tighter than unary minus on its left
        ("(-2) ** 2", 4),
        ("2 ** -1", 0.5),
        ("- - 3", 3),
        ("+3", 3),
        ("2 * -3", -6),
        ("10 // 3 * 3 + 10 % 3", 10),
        ("1 + 2 < 4", True),
        ("2 * 3 == 6", True),
    ],
)
def test_arithmetic(text: str, expected: Any) -> None:
    value = value_of(text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 < 2", True),
        ("1 < 2 < 3", True),
        ("1 < 3 < 2", False),
        ("3 > 2 > 1", True),
        ("1 <= 1 >= 1", True),
        ("1 == 1 != 2", True),
        ("1 == 1.0", True),
        ('"a" == "a"', True),
        ('"a" != "b"', True),
        ("[1, 2] == [1, 2]", True),
        ("[1, 2] == [2, 1]", False),
        ("none == none", True),
        ('1 == "1"', False),
    ],
)
def test_comparisons_chain_like_python(text: str, expected: bool) -> None:
    assert value_of(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true and true", True),
        ("true and false", False),
        ("false or true", True),
        ("false or false", False),
        ("not true", False),
        ("not not true", True),
        ("not 1 == 2", True),  # not binds looser than a comparison
        ("true or false and false", True),  # and binds tighter than or
        ("(true or false) and false", False),
        ("false and nosuch", False),  # short-circuit: the right side is never evaluated
        ("true or 1 // 0 == 0", True),
    ],
)
def test_boolean_operators(text: str, expected: bool) -> None:
    assert value_of(text) is expected


def test_conditional_expression_evaluates_only_the_chosen_side() -> None:
    assert value_of("1 if true else 1 // 0") == 1
    assert value_of("1 // 0 if false else 2") == 2
    assert value_of("8 if wide else 4", wide=False) == 4
    assert value_of("1 if false else 2 if true else 3") == 2  # right-nested


def test_list_operations() -> None:
    assert value_of("[1, 2] + [3]") == (1, 2, 3)
    assert value_of("[0] * 3") == (0, 0, 0)
    assert value_of('"ab" + "cd"') == "abcd"
    assert value_of("xs[0] + xs[-1]", xs=(4, 5, 6)) == 10
    assert value_of("[[1, 2], [3, 4]][1][0]") == 3
    assert value_of('"abc"[1]') == "b"


def test_names_come_from_the_environment() -> None:
    assert value_of("width * 2", width=32) == 64
    assert value_of("unit", unit=BlockRef("Bottleneck")) == BlockRef("Bottleneck")


# ---------------------------------------------------------------- functions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("min(3, 1, 2)", 1),
        ("min([3, 1, 2])", 1),
        ("max(3, 1, 2)", 3),
        ("max([1.5, 2])", 2),
        ("min(1, 0.5)", 0.5),
        ("round(2.4)", 2),
        ("round(2.5)", 2),  # half to even, as Python
        ("round(3.5)", 4),
        ("round(-2.6)", -3),
        ("round(3.14159, 2)", 3.14),
        ("int(3.9)", 3),
        ("int(-3.9)", -3),
        ("float(3)", 3.0),
        ("ceil(2.1)", 3),
        ("ceil(-2.1)", -2),
        ("floor(2.9)", 2),
        ("floor(-2.1)", -3),
        ("abs(-3)", 3),
        ("abs(-1.5)", 1.5),
        ("len([1, 2, 3])", 3),
        ('len("abcd")', 4),
        ("len([])", 0),
        ("sum([1, 2, 3])", 6),
        ("sum([])", 0),
        ("range(3)", (0, 1, 2)),
        ("range(1, 4)", (1, 2, 3)),
        ("range(1, 7, 2)", (1, 3, 5)),
        ("range(3, 0, -1)", (3, 2, 1)),
        ("range(0)", ()),
        ("make_divisible(32 * 0.35, 8)", 16),
        ("make_divisible(value=10, divisor=8)", 16),
        ("make_divisible(3, 8, 16)", 16),
        ("make_divisible(3, 8, min_value=2)", 10),
    ],
)
def test_functions(text: str, expected: Any) -> None:
    value = value_of(text)
    assert value == expected and type(value) is type(expected)


def torchvision_make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision.models._utils._make_divisible, verbatim (the reference the spec function follows)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    # Make sure that round down does not go down by more than 10%.
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


# MobileNet width multipliers times MobileNet channel counts, and a few hand-checked values.
WIDTHS = (0.25, 0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
CHANNELS = (3, 8, 16, 24, 32, 40, 64, 80, 96, 112, 160, 320, 1280)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[c * 2 for c in [16, 24, 32]]", (32, 48, 64)),
        ("[a * b for a, b in [[1, 2], [3, 4]]]", (2, 12)),
        ("[i for i in range(10) if i % 3 == 0]", (0, 3, 6, 9)),
        ("sum([n for _, n in [[1, 2], [3, 4]]])", 6),
        ("[[j for j in range(i)] for i in range(3)]", ((), (0,), (0, 1))),
        ("[x if x > 1 else 0 for x in range(3)]", (0, 0, 2)),
        ("[]", ()),
    ],
)
def test_list_comprehensions(text: str, expected: Any) -> None:
    assert value_of(text) == expected


def test_comprehension_names_stay_inside() -> None:
    assert value_of("[c for c in [1]] + [c]", c=5) == (1, 5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("prod([2, 3, 4])", 24),  # hand calculation
        ("prod([])", 1),
        ("prod([0.5, 4])", 2.0),
        ("sqrt(16)", 4.0),
        ("log(8, 2)", 3.0),
        ("ceil(log(1000, 10))", 3),
    ],
)
def test_prod_sqrt_log(text: str, expected: Any) -> None:
    assert value_of(text) == pytest.approx(expected, rel=1e-12)


def test_log_is_natural_by_default() -> None:
    assert value_of("log(x)", x=math.e**2) == pytest.approx(2.0, rel=1e-12)


@pytest.mark.parametrize(
    ("value", "divisor", "expected"),
    [
        (32 * 0.35, 8, 16),  # rounds down to 8, more than 10% below 11.2: up by one divisor
        (16 * 0.5, 8, 8),
        (24 * 1.4, 8, 32),
        (96 * 1.3, 8, 128),
        (1280 * 0.75, 8, 960),
        (3, 8, 8),  # never below the divisor
        (12, 8, 16),  # 12 + 4 rounds to 16
        (11.9, 8, 16),  # 8 would be more than 10% below
        (100, 1, 100),
    ],
)
def test_make_divisible_table(value: float, divisor: int, expected: int) -> None:
    assert make_divisible(value, divisor) == expected
    assert torchvision_make_divisible(value, divisor) == expected
    assert value_of(f"make_divisible({value!r}, {divisor})") == expected


@pytest.mark.parametrize("alpha", WIDTHS)
@pytest.mark.parametrize("divisor", [4, 8])
def test_make_divisible_matches_torchvision(alpha: float, divisor: int) -> None:
    for channels in CHANNELS:
        expected = torchvision_make_divisible(channels * alpha, divisor)
        assert value_of("make_divisible(c * alpha, d)", c=channels, alpha=alpha, d=divisor) == expected


def test_make_divisible_matches_the_installed_torchvision() -> None:
    utils = pytest.importorskip("torchvision.models._utils")
    for alpha in WIDTHS:
        for channels in CHANNELS:
            assert make_divisible(channels * alpha, 8) == utils._make_divisible(channels * alpha, 8)


# ---------------------------------------------------------------- errors and limits


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nosuch", "unknown name 'nosuch'"),
        ("1 / 0", "division by zero"),
        ("1 // 0", "division by zero"),
        ("1 % 0", "division by zero"),
        ("1.5 / 0.0", "division by zero"),
        ("0 ** -1", "division by zero (0 to a negative power)"),
        ("(-8) ** 0.5", "a negative number to a fractional power is not a real number"),
        ("2 ** 65", "exponent too large"),
        ("10 ** 16", "integer 10000000000000000 is too large (the limit is 10**15)"),
        ("1e15 ** 64", "the result is not a finite number"),
        # Floats are held to the integers' bound: a whole float becomes a size (`linear(1e308)`).
        ("1e308 * 10", "number 1e+308 is too large (the limit is 10**15)"),
        ("1e15 * 1e15", "number 1e+30 is too large (the limit is 10**15)"),
        ("1e400", "the result is not a finite number"),
        ("[0] * 100001", "a list of 100001 elements is over the limit of 100000"),
        ("[1] + 2", "unsupported operand types for +: list [1] and integer 2"),
        ('"a" * 2', 'unsupported operand types for *: string "a" and integer 2'),
        ("true + 1", "unsupported operand types for +: boolean true and integer 1"),
        ('1 < "a"', 'cannot compare integer 1 with string "a"'),
        ("-[1]", "cannot negate a list"),
        ("not 1", "expected true or false, got the integer 1"),
        ("1 and true", "expected true or false, got the integer 1"),
        ("1 if none else 2", "expected true or false, got the none none"),
        ("3[0]", "cannot index an integer (3)"),
        ("[1][1]", "index 1 is out of range for a list of 1"),
        ("[1][-2]", "index -2 is out of range for a list of 1"),
        ('[1]["0"]', 'an index must be an integer, got "0"'),
        ("nosuch(1)", "unknown function 'nosuch'"),
        ("round(1, 2, 3)", "wrong arguments to round()"),
        ("max()", "max() takes numbers (or one list of numbers)"),
        ('min(1, "a")', "min() takes numbers (or one list of numbers)"),
        ('int("3")', "int() takes a number, got a string"),
        ("len(3)", "len() takes a list or a string, got an integer"),
        ("range(1.5)", "range() takes 1 to 3 integers"),
        ("range(0, 5, 0)", "range() takes a step that is not 0"),
        ("range(200000)", "range() makes 200000 elements, over the limit of 100000"),
        ("make_divisible(8, 0)", "make_divisible() takes a number and a positive integer divisor"),
        ("sqrt(-1)", "sqrt() takes a non-negative number, got -1"),
        ("log(0)", "log() takes a positive number, got 0"),
        ("log(8, 1)", "log() takes a positive base other than 1, got 1"),
        ("prod(3)", "prod() takes a list of numbers, got an integer"),
        ("[x for x in 3]", "a comprehension needs a list, got an integer 3"),
        ("[a for a, b in [1, 2]]", "cannot unpack 1 into 2 names (a, b)"),
        ("[x for x in range(3) if x]", "expected true or false, got the integer 0"),
        (
            "[[y for y in range(1000)] for x in range(1000)]",
            "a comprehension of over 100000 steps (nested ones included)",
        ),
    ],
)
def test_errors(text: str, message: str) -> None:
    assert error_of(text) == message


def test_unknown_name_hints_at_the_closest_name() -> None:
    with pytest.raises(SpecError) as raised:
        value_of("widht", width=3)
    assert raised.value.diagnostics[0].hint == "did you mean 'width'?"


def test_wrong_call_hints_at_the_signature() -> None:
    with pytest.raises(SpecError) as raised:
        value_of("make_divisible(8)")
    assert raised.value.diagnostics[0].hint == "call it as make_divisible(value, divisor, min_value=none)"


def test_error_span_is_the_failing_subexpression() -> None:
    with pytest.raises(SpecError) as raised:
        value_of("1 + (2 // 0)")
    span = raised.value.diagnostics[0].span
    assert span is not None and (span.column, span.end_column) == (6, 12)


def test_type_names_and_show() -> None:
    assert [type_name(v) for v in (True, 1, 1.5, "s", (1,), None, BlockRef("B"))] == [
        "boolean",
        "integer",
        "number",
        "string",
        "list",
        "none",
        "block",
    ]
    assert [a_type(v) for v in (1, "s", None)] == ["an integer", "a string", "none"]
    assert show((1, "a", True, None, (2.5,))) == '[1, "a", true, none, [2.5]]'


# ---------------------------------------------------------------- property: Python's arithmetic


@dataclass(frozen=True)
class Tree:
    """An arithmetic expression tree: a literal (op ""), a unary minus (op "neg") or a binary operator."""

    op: str
    left: Any = None
    right: Any = None


# Binding power of each kind of node, as in Python (and the spec grammar): higher binds tighter.
ADD, MUL, UNARY, POWER, ATOM = 1, 2, 3, 4, 5
LEVEL = {"+": ADD, "-": ADD, "*": MUL, "/": MUL, "//": MUL, "%": MUL, "**": POWER, "neg": UNARY, "": ATOM}
PYTHON: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "//": lambda a, b: a // b,
    "%": lambda a, b: a % b,
    "**": lambda a, b: a**b,
}


class Invalid(Exception):
    """The expression has no value in the spec language (division by zero, a value over the limits)."""


def reference(tree: Tree) -> Any:
    """The value with Python's operators, and the spec language's limits."""
    if tree.op == "":
        return tree.left
    if tree.op == "neg":
        return -reference(tree.left)
    left, right = reference(tree.left), reference(tree.right)
    if tree.op in ("/", "//", "%") and right == 0:
        raise Invalid
    if tree.op == "**" and (abs(right) > 64 or (isinstance(left, int) and abs(left) > 2**20 and right > 2)):
        raise Invalid
    if tree.op == "**" and left == 0 and right < 0:
        raise Invalid
    if tree.op == "**" and left < 0 and not float(right).is_integer():
        raise Invalid
    try:
        value = PYTHON[tree.op](left, right)
    except OverflowError:
        raise Invalid from None
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise Invalid
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid
    return value


def render(tree: Tree, redundant: tuple[bool, ...] = ()) -> str:
    """The tree as text with only the parentheses precedence requires (and some redundant ones)."""
    extra = iter(redundant)

    def wrap(child: Tree, needs: bool) -> str:
        text = go(child)
        return f"({text})" if needs or next(extra, False) else text

    def go(node: Tree) -> str:
        if node.op == "":
            return str(node.left)
        if node.op == "neg":
            return "-" + wrap(node.left, LEVEL[node.left.op] < UNARY)
        level = LEVEL[node.op]
        if node.op == "**":  # right-associative; its left operand is a primary, its right a factor
            left = wrap(node.left, LEVEL[node.left.op] <= POWER)
            right = wrap(node.right, LEVEL[node.right.op] < UNARY)
        else:  # left-associative
            left = wrap(node.left, LEVEL[node.left.op] < level)
            right = wrap(node.right, LEVEL[node.right.op] <= level)
        return f"{left} {node.op} {right}"

    return go(tree)


def trees() -> st.SearchStrategy[Tree]:
    literals = st.integers(min_value=0, max_value=50).map(lambda n: Tree("", n))
    exponents = st.integers(min_value=0, max_value=3).map(lambda n: Tree("", n))

    def extend(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
        return st.one_of(
            st.builds(Tree, st.sampled_from(["+", "-", "*", "/", "//", "%"]), children, children),
            st.builds(lambda base, power: Tree("**", base, power), children, exponents),
            children.map(lambda child: Tree("neg", child)),
        )

    return st.recursive(literals, extend, max_leaves=12)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees(), redundant=st.lists(st.booleans(), max_size=30).map(tuple))
def test_evaluator_agrees_with_python_arithmetic(tree: Tree, redundant: tuple[bool, ...]) -> None:
    text = render(tree, redundant)
    try:
        expected = reference(tree)
    except Invalid:
        with pytest.raises(SpecError):
            value_of(text)
        return
    value = value_of(text)
    assert value == expected, text
    assert type(value) is type(expected), text


@given(
    values=st.lists(st.integers(min_value=-100, max_value=100), min_size=2, max_size=5),
    ops=st.lists(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), min_size=4, max_size=4),
)
def test_comparison_chains_agree_with_python(values: list[int], ops: list[str]) -> None:
    text = str(values[0])
    expected = True
    for op, left, right in zip(ops, values, values[1:], strict=False):
        text += f" {op} {right}"
        expected = (
            expected
            and {
                "<": left < right,
                "<=": left <= right,
                ">": left > right,
                ">=": left >= right,
                "==": left == right,
                "!=": left != right,
            }[op]
        )
    assert value_of(text) is expected, text
