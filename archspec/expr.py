"""A safe evaluator for spec expressions: arithmetic, comparisons, lists and a few whitelisted functions.

No ``eval``: the AST from ``archspec.syntax`` is walked directly, and every operation checks its operand
types, so a spec can compute ``make_divisible(32 * alpha, 8)`` and nothing else.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from archspec import ast
from archspec.errors import SpecError, did_you_mean
from archspec.source import Span

# Guards against specs that would make the compiler itself run away.
MAX_INT = 10**15
MAX_LIST = 100_000


@dataclass(frozen=True)
class BlockRef:
    """A block used as a value (``unit = Bottleneck``), callable in a layer body."""

    name: str

    def __str__(self) -> str:
        return self.name


Value = Any  # int | float | bool | str | None | tuple[Value, ...] | BlockRef


def type_name(value: Value) -> str:
    """How a value's type is named in messages."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, tuple):
        return "list"
    if isinstance(value, BlockRef):
        return "block"
    return "none"


def show(value: Value) -> str:
    """A value as spec text (``true``, ``[1, 2]``, ``"M"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


def make_divisible(value: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision's ``_make_divisible``: round to a multiple of ``divisor``, never down by more than 10%."""
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


def _is_number(value: Value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _range(*args: Value) -> tuple[int, ...]:
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in args) or not 1 <= len(args) <= 3:
        raise ValueError("range takes 1 to 3 integers")
    values = range(*args)
    if len(values) > MAX_LIST:
        raise ValueError(f"range of {len(values)} elements is over the limit of {MAX_LIST}")
    return tuple(values)


def _numbers(name: str, args: tuple[Value, ...]) -> tuple[Value, ...]:
    items = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
    if not items or not all(_is_number(v) for v in items):
        raise ValueError(f"{name} takes numbers (or one list of numbers)")
    return items


def _round(value: Value, digits: Value = None) -> Value:
    if not _is_number(value):
        raise ValueError("round takes a number")
    return round(value) if digits is None else round(value, digits)


def _to_int(value: Value) -> int:
    if not _is_number(value):
        raise ValueError(f"int takes a number, got a {type_name(value)}")
    return int(value)


def _to_float(value: Value) -> float:
    if not _is_number(value):
        raise ValueError(f"float takes a number, got a {type_name(value)}")
    return float(value)


def _len(value: Value) -> int:
    if not isinstance(value, tuple | str):
        raise ValueError(f"len takes a list or a string, got a {type_name(value)}")
    return len(value)


def _make_divisible(value: Value, divisor: Value, min_value: Value = None) -> int:
    if not _is_number(value) or not isinstance(divisor, int) or isinstance(divisor, bool) or divisor <= 0:
        raise ValueError("make_divisible takes a number and a positive integer divisor")
    return make_divisible(value, divisor, min_value)


def _ceil(value: Value) -> int:
    if not _is_number(value):
        raise ValueError("ceil takes a number")
    return math.ceil(value)


def _floor(value: Value) -> int:
    if not _is_number(value):
        raise ValueError("floor takes a number")
    return math.floor(value)


def _abs(value: Value) -> Value:
    if not _is_number(value):
        raise ValueError("abs takes a number")
    return abs(value)


def _sum(value: Value) -> Value:
    return sum(_numbers("sum", (value,)))


def _min(*args: Value) -> Value:
    return min(_numbers("min", args))


def _max(*args: Value) -> Value:
    return max(_numbers("max", args))


FUNCTIONS: Mapping[str, Callable[..., Value]] = {
    "abs": _abs,
    "ceil": _ceil,
    "float": _to_float,
    "floor": _floor,
    "int": _to_int,
    "len": _len,
    "make_divisible": _make_divisible,
    "max": _max,
    "min": _min,
    "range": _range,
    "round": _round,
    "sum": _sum,
}

_ARITHMETIC: Mapping[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}

_COMPARISON: Mapping[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _check_size(value: Value, span: Span) -> Value:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise SpecError.at(span, f"integer {value} is too large (the limit is {MAX_INT:.0e})")
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError.at(span, "the result is not a finite number")
    if isinstance(value, tuple | str) and len(value) > MAX_LIST:
        raise SpecError.at(span, f"a list of {len(value)} elements is over the limit of {MAX_LIST}")
    return value


def evaluate(expr: ast.Expr, env: Mapping[str, Value]) -> Value:
    """The value of ``expr`` with names looked up in ``env``. Raises SpecError with the span."""
    if isinstance(expr, ast.Literal):
        return expr.value
    if isinstance(expr, ast.Name):
        if expr.id in env:
            return env[expr.id]
        raise SpecError.at(expr.span, f"unknown name '{expr.id}'", did_you_mean(expr.id, env))
    if isinstance(expr, ast.ListExpr):
        return tuple(evaluate(item, env) for item in expr.items)
    if isinstance(expr, ast.BinaryOp):
        return _binary(expr, evaluate(expr.left, env), evaluate(expr.right, env))
    if isinstance(expr, ast.UnaryOp):
        operand = evaluate(expr.operand, env)
        if expr.op == "not":
            return not _truth(operand, expr.operand.span)
        if not _is_number(operand):
            raise SpecError.at(expr.span, f"cannot negate a {type_name(operand)}")
        return -operand
    if isinstance(expr, ast.Compare):
        return _compare(expr, env)
    if isinstance(expr, ast.BoolOp):
        for value_expr in expr.values:
            truth = _truth(evaluate(value_expr, env), value_expr.span)
            if truth == (expr.op == "or"):
                return truth
        return expr.op == "and"
    if isinstance(expr, ast.Conditional):
        chosen = expr.then if _truth(evaluate(expr.condition, env), expr.condition.span) else expr.otherwise
        return evaluate(chosen, env)
    if isinstance(expr, ast.Subscript):
        return _subscript(expr, evaluate(expr.value, env), evaluate(expr.index, env))
    if isinstance(expr, ast.FuncCall):
        return _call(expr, env)
    raise TypeError(f"unknown expression node {expr!r}")  # pragma: no cover - the parser makes no others


def _truth(value: Value, span: Span) -> bool:
    if isinstance(value, bool):
        return value
    raise SpecError.at(span, f"expected true or false, got the {type_name(value)} {show(value)}")


def _binary(expr: ast.BinaryOp, left: Value, right: Value) -> Value:
    op = expr.op
    if _is_number(left) and _is_number(right):
        if op in ("/", "//", "%") and right == 0:
            raise SpecError.at(expr.span, "division by zero")
        if op == "**" and (abs(right) > 64 or (isinstance(left, int) and abs(left) > 2**20 and right > 2)):
            raise SpecError.at(expr.span, "exponent too large")
        return _check_size(_ARITHMETIC[op](left, right), expr.span)
    if op == "+" and isinstance(left, tuple) and isinstance(right, tuple):
        return _check_size(left + right, expr.span)
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return _check_size(left + right, expr.span)
    if op == "*" and isinstance(left, tuple) and isinstance(right, int) and not isinstance(right, bool):
        return _check_size(left * right, expr.span)
    raise SpecError.at(
        expr.span,
        f"unsupported operand types for {op}: {type_name(left)} {show(left)} and "
        f"{type_name(right)} {show(right)}",
    )


def _compare(expr: ast.Compare, env: Mapping[str, Value]) -> bool:
    left = evaluate(expr.first, env)
    for op, right_expr in expr.rest:
        right = evaluate(right_expr, env)
        if op not in ("==", "!=") and not (_is_number(left) and _is_number(right)):
            raise SpecError.at(
                expr.span, f"cannot compare {type_name(left)} {show(left)} with {type_name(right)} {show(right)}"
            )
        if not _COMPARISON[op](left, right):
            return False
        left = right
    return True


def _subscript(expr: ast.Subscript, value: Value, index: Value) -> Value:
    if not isinstance(value, tuple | str):
        raise SpecError.at(expr.span, f"cannot index a {type_name(value)} ({show(value)})")
    if not isinstance(index, int) or isinstance(index, bool):
        raise SpecError.at(expr.index.span, f"an index must be an integer, got {show(index)}")
    if not -len(value) <= index < len(value):
        raise SpecError.at(expr.index.span, f"index {index} is out of range for a list of {len(value)}")
    return value[index]


def _call(expr: ast.FuncCall, env: Mapping[str, Value]) -> Value:
    function = FUNCTIONS.get(expr.func)
    if function is None:
        raise SpecError.at(
            expr.span, f"unknown function '{expr.func}'", did_you_mean(expr.func, FUNCTIONS)
        )
    args = [evaluate(a, env) for a in expr.args]
    kwargs = {k.name: evaluate(k.value, env) for k in expr.kwargs}
    try:
        result = function(*args, **kwargs)
    except (ValueError, TypeError, OverflowError) as error:
        raise SpecError.at(expr.span, f"{expr.func}(): {error}") from None
    return _check_size(result, expr.span)
