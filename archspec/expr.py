"""A safe evaluator for spec expressions: arithmetic, comparisons, lists and a few whitelisted functions.

No ``eval``: the AST from ``archspec.syntax`` is walked directly, and every operation checks its operand
types, so a spec can compute ``make_divisible(32 * alpha, 8)`` and nothing else.
"""

from __future__ import annotations

import inspect
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from archspec import ast
from archspec.elab.traced import called, compared, decide
from archspec.errors import SpecError, did_you_mean, spec_repr

# Guards against specs that would make the compiler itself run away (archspec.limits has them all).
from archspec.limits import MAX_INT, MAX_LIST, MAX_ROUND_DIGITS, MAX_SHOWN, MAX_VALUE_DEPTH, charge
from archspec.records import FrozenRecord, set_field
from archspec.source import Span


@dataclass(init=False, repr=False, eq=False)
class BlockRef(FrozenRecord):
    """A block used as a value (``unit = Bottleneck``), callable in a layer body."""

    name: str

    def __init__(self, name: str) -> None:
        set_field(self, "name", name)

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


def a_type(value: Value) -> str:
    """The type name with its article, for messages: ``an integer``, ``a list``, ``none``."""
    name = type_name(value)
    if name == "none":
        return name
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def show(value: Value, limit: int = MAX_SHOWN) -> str:
    """A value as spec text (``true``, ``[1, 2]``, ``"M"``); blocks by name. At most about ``limit``
    characters: a long list or string is cut with ``…`` (a message never renders a huge value)."""
    if isinstance(value, str):
        text = spec_repr(value)
        return text if len(text) <= limit else text[: limit - 2] + '…"'
    if not isinstance(value, tuple):
        return spec_repr(value)
    parts: list[str] = []
    used = 2
    for item in value:
        if used > limit:
            parts.append(f"… {len(value) - len(parts)} more")
            break
        part = show(item, max(8, limit - used))
        parts.append(part)
        used += len(part) + 2
    return "[" + ", ".join(parts) + "]"


# Copying a list element costs about a hundredth of an elaboration step: this many count as one.
ELEMENTS_PER_STEP = 256


def size_of(value: Value, span: Span | None = None) -> tuple[int, int]:
    """(elements, depth) of a value: a list's elements with those of nested lists counted in full (a
    list repeated inside another counts each time), and how deep lists nest. Shared lists are measured
    once, so this is quick even for ``[[0] * 1000] * 1000``."""
    if not isinstance(value, tuple | str):
        return 1, 0
    if isinstance(value, str):
        return len(value), 0
    measured: dict[int, tuple[int, int]] = {}
    # Iterative post-order walk (a value may nest deeper than the stack allows before it is refused).
    stack: list[tuple[tuple[Any, ...], bool]] = [(value, False)]
    steps = 0
    while stack:
        current, expanded = stack.pop()
        if id(current) in measured:
            continue
        if not expanded:
            stack.append((current, True))
            stack.extend((item, False) for item in current if isinstance(item, tuple))
            steps += len(current)
            continue
        elements, depth = len(current), 1
        for item in current:
            if isinstance(item, tuple):
                inner, inner_depth = measured[id(item)]
                elements += inner
                depth = max(depth, inner_depth + 1)
        measured[id(current)] = (elements, depth)
    charge(steps // ELEMENTS_PER_STEP, span)
    return measured[id(value)]


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
        raise ValueError("takes 1 to 3 integers")
    if args[-1] == 0 and len(args) == 3:
        raise ValueError("takes a step that is not 0")
    values = range(*args)
    if len(values) > MAX_LIST:
        raise ValueError(f"makes {len(values)} elements, over the limit of {MAX_LIST}")
    return tuple(values)


def _enumerate(values: Value, start: Value = 0) -> tuple[tuple[Value, ...], ...]:
    if not isinstance(values, tuple):
        raise ValueError(f"takes a list, got {a_type(values)}")
    if not isinstance(start, int) or isinstance(start, bool):
        raise ValueError(f"takes an integer start, got {a_type(start)}")
    return tuple((start + index, value) for index, value in enumerate(values))


def _zip(*lists: Value) -> tuple[tuple[Value, ...], ...]:
    if not lists or not all(isinstance(values, tuple) for values in lists):
        raise ValueError("takes one or more lists")
    lengths = [len(values) for values in lists]
    if len(set(lengths)) > 1:  # Python stops at the shortest; a spec that drops rows is a mistake
        raise ValueError(f"takes lists of one length, got lengths {', '.join(map(str, lengths))}")
    return tuple(zip(*lists, strict=True))


def _numbers(name: str, args: tuple[Value, ...]) -> tuple[Value, ...]:
    items = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
    if not items or not all(_is_number(v) for v in items):
        raise ValueError("takes numbers (or one list of numbers)")
    return items


def _round(value: Value, digits: Value = None) -> Value:
    if not _is_number(value):
        raise ValueError(f"takes a number, got {a_type(value)}")
    if digits is not None and (not isinstance(digits, int) or isinstance(digits, bool)):
        raise ValueError(f"takes an integer number of digits, got {a_type(digits)}")
    if digits is not None and abs(digits) > MAX_ROUND_DIGITS:
        raise ValueError(f"takes digits from -{MAX_ROUND_DIGITS} to {MAX_ROUND_DIGITS}, got {digits}")
    return round(value) if digits is None else round(value, digits)


def _to_int(value: Value) -> int:
    if not _is_number(value):
        raise ValueError(f"takes a number, got {a_type(value)}")
    return int(value)


def _to_float(value: Value) -> float:
    if not _is_number(value):
        raise ValueError(f"takes a number, got {a_type(value)}")
    return float(value)


def _len(value: Value) -> int:
    if not isinstance(value, tuple | str):
        raise ValueError(f"takes a list or a string, got {a_type(value)}")
    return len(value)


def _make_divisible(value: Value, divisor: Value, min_value: Value = None) -> int:
    if not _is_number(value) or not isinstance(divisor, int) or isinstance(divisor, bool) or divisor <= 0:
        raise ValueError("takes a number and a positive integer divisor")
    if min_value is not None and not _is_number(min_value):
        raise ValueError(f"takes a number or none as min_value, got {a_type(min_value)}")
    return make_divisible(value, divisor, min_value)


def _ceil(value: Value) -> int:
    if not _is_number(value):
        raise ValueError(f"takes a number, got {a_type(value)}")
    return int(math.ceil(value))  # noqa: RUF046 - the cast tells mypy the type


def _floor(value: Value) -> int:
    if not _is_number(value):
        raise ValueError(f"takes a number, got {a_type(value)}")
    return int(math.floor(value))  # noqa: RUF046


def _abs(value: Value) -> Value:
    if not _is_number(value):
        raise ValueError(f"takes a number, got {a_type(value)}")
    return abs(value)


def _sum(value: Value) -> Value:
    if not isinstance(value, tuple):
        raise ValueError(f"takes a list of numbers, got {a_type(value)}")
    return sum(_numbers("sum", (value,))) if value else 0


def _prod(value: Value) -> Value:
    if not isinstance(value, tuple):
        raise ValueError(f"takes a list of numbers, got {a_type(value)}")
    return math.prod(_numbers("prod", (value,))) if value else 1


def _sqrt(value: Value) -> float:
    if not _is_number(value) or value < 0:
        raise ValueError(f"takes a non-negative number, got {show(value)}")
    return math.sqrt(value)


def _log(value: Value, base: Value = None) -> float:
    if not _is_number(value) or value <= 0:
        raise ValueError(f"takes a positive number, got {show(value)}")
    if base is None:
        return math.log(value)
    if not _is_number(base) or base <= 0 or base == 1:
        raise ValueError(f"takes a positive base other than 1, got {show(base)}")
    return math.log(value, base)


def _min(*args: Value) -> Value:
    return min(_numbers("min", args))


def _max(*args: Value) -> Value:
    return max(_numbers("max", args))


FUNCTIONS: Mapping[str, Callable[..., Value]] = {
    "abs": _abs,
    "ceil": _ceil,
    "enumerate": _enumerate,
    "float": _to_float,
    "floor": _floor,
    "int": _to_int,
    "len": _len,
    "log": _log,
    "make_divisible": _make_divisible,
    "max": _max,
    "min": _min,
    "prod": _prod,
    "range": _range,
    "round": _round,
    "sqrt": _sqrt,
    "sum": _sum,
    "zip": _zip,
}

# How each function is called, for docs and for messages about a wrong call.
SIGNATURES: Mapping[str, str] = {
    "abs": "abs(value)",
    "ceil": "ceil(value)",
    "enumerate": "enumerate(list, start=0)",
    "float": "float(value)",
    "floor": "floor(value)",
    "int": "int(value)",
    "len": "len(value)",
    "log": "log(value, base=e)",
    "make_divisible": "make_divisible(value, divisor, min_value=none)",
    "max": "max(a, b, ...) or max(list)",
    "min": "min(a, b, ...) or min(list)",
    "prod": "prod(list)",
    "range": "range(stop), range(start, stop) or range(start, stop, step)",
    "round": "round(value, digits=none)",
    "sqrt": "sqrt(value)",
    "sum": "sum(list)",
    "zip": "zip(list, list, ...)",
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
        bits = value.bit_length()  # str() of a huge integer is slow, and refused past 4,300 digits
        digits = len(str(abs(value))) if bits < 10_000 else int(bits * 0.30103) + 1
        shown = str(value) if abs(value) < 10**30 else f"of {digits} digits"
        raise SpecError.at(span, f"integer {shown} is too large (the limit is 10**15)")
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError.at(span, "the result is not a finite number")
    if isinstance(value, float) and abs(value) > MAX_INT:
        # A float becomes a size where it is whole (`linear(1e308)`): it is held to the integers' bound.
        raise SpecError.at(span, f"number {value!r} is too large (the limit is 10**15)")
    if isinstance(value, str) and len(value) > MAX_LIST:
        raise SpecError.at(span, f"a string of {len(value)} characters is over the limit of {MAX_LIST}")
    if isinstance(value, tuple):
        _check_list_size(*size_of(value, span), span)
    return value


def _check_list_size(elements: int, depth: int, span: Span) -> None:
    """The bounds of a list value, checked before it is built wherever its size is known in advance."""
    if elements > MAX_LIST:
        raise SpecError.at(
            span,
            f"a list of {elements} elements is over the limit of {MAX_LIST}"
            + (" (the elements of nested lists count in full)" if depth > 1 else ""),
        )
    if depth > MAX_VALUE_DEPTH:
        raise SpecError.at(span, f"lists nest more than {MAX_VALUE_DEPTH} deep")


def evaluate(expr: ast.Expr, env: Mapping[str, Value]) -> Value:
    """The value of ``expr`` with names looked up in ``env``. Raises SpecError with the span."""
    charge(1, expr.span)
    if isinstance(expr, ast.Literal):
        return _check_size(expr.value, expr.span)
    if isinstance(expr, ast.Name):
        if expr.id in env:
            return env[expr.id]
        raise SpecError.at(expr.span, f"unknown name '{expr.id}'", did_you_mean(expr.id, env))
    if isinstance(expr, ast.ListExpr):
        return _check_size(tuple(evaluate(item, env) for item in expr.items), expr.span)
    if isinstance(expr, ast.ListComp):
        return _check_size(_comprehension(expr, env), expr.span)
    if isinstance(expr, ast.BinaryOp):
        return _binary(expr, evaluate(expr.left, env), evaluate(expr.right, env))
    if isinstance(expr, ast.UnaryOp):
        operand = evaluate(expr.operand, env)
        if expr.op == "not":
            return not _truth(operand, expr.operand.span)
        if not _is_number(operand):
            raise SpecError.at(expr.span, f"cannot negate {a_type(operand)}")
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
    if isinstance(expr, ast.Slice):
        return _slice(expr, env)
    if isinstance(expr, ast.FuncCall):
        return _call(expr, env)
    raise TypeError(f"unknown expression node {expr!r}")  # pragma: no cover - the parser makes no others


_comprehension_steps = [0]  # elements made by the comprehension being evaluated, nested ones included


def _comprehension(expr: ast.ListComp, env: Mapping[str, Value]) -> Value:
    """``[element for targets in iterable if condition]``, each element in a scope of its own. Nested
    comprehensions share one budget of MAX_LIST steps, so that they cannot multiply past the limit."""
    outermost = _comprehension_steps[0] == 0
    try:
        return _comprehend(expr, env)
    finally:
        if outermost:
            _comprehension_steps[0] = 0


def _comprehend(expr: ast.ListComp, env: Mapping[str, Value]) -> Value:
    values = evaluate(expr.iterable, env)
    if not isinstance(values, tuple):
        raise SpecError.at(
            expr.iterable.span, f"a comprehension needs a list, got {a_type(values)} {show(values)}"
        )
    out = []
    for value in values:
        _comprehension_steps[0] += 1
        if _comprehension_steps[0] > MAX_LIST:
            raise SpecError.at(expr.span, f"a comprehension of over {MAX_LIST} steps (nested ones included)")
        inner = dict(env)
        if len(expr.targets) == 1:
            inner[expr.targets[0]] = value
        elif isinstance(value, tuple) and len(value) == len(expr.targets):
            inner.update(zip(expr.targets, value, strict=True))
        else:
            raise SpecError.at(
                expr.iterable.span,
                f"cannot unpack {show(value)} into {len(expr.targets)} names ({', '.join(expr.targets)})",
            )
        if expr.condition is not None and not _truth(evaluate(expr.condition, inner), expr.condition.span):
            continue
        out.append(evaluate(expr.element, inner))
    return _check_size(tuple(out), expr.span)


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
        if op == "**" and left == 0 and right < 0:
            raise SpecError.at(expr.span, "division by zero (0 to a negative power)")
        if op == "**" and left < 0 and not float(right).is_integer():
            raise SpecError.at(expr.span, "a negative number to a fractional power is not a real number")
        try:
            result = _ARITHMETIC[op](left, right)
        except OverflowError:
            raise SpecError.at(expr.span, "the result is not a finite number") from None
        return _check_size(result, expr.span)
    # Sizes are checked before the value is built: `[1] * 10**8` must not allocate first.
    if op == "+" and isinstance(left, tuple) and isinstance(right, tuple):
        (left_size, left_depth), (right_size, right_depth) = (
            size_of(left, expr.span),
            size_of(right, expr.span),
        )
        _check_list_size(left_size + right_size, max(left_depth, right_depth), expr.span)
        charge((len(left) + len(right)) // ELEMENTS_PER_STEP, expr.span)
        return left + right
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return _check_size(left[: MAX_LIST + 1] + right[: MAX_LIST + 1], expr.span)
    if op == "*" and isinstance(left, tuple) and isinstance(right, int) and not isinstance(right, bool):
        elements, depth = size_of(left, expr.span)
        _check_list_size(elements * max(right, 0), depth, expr.span)
        charge(len(left) * max(right, 0) // ELEMENTS_PER_STEP, expr.span)
        decide(right)  # how many elements: found by elaborating again
        return left * right
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
                expr.span,
                f"cannot compare {type_name(left)} {show(left)} with {type_name(right)} {show(right)}",
            )
        outcome = _COMPARISON[op](left, right)
        compared(_COMPARISON[op], left, right, outcome)
        if not outcome:
            return False
        left = right
    return True


def _subscript(expr: ast.Subscript, value: Value, index: Value) -> Value:
    if not isinstance(value, tuple | str):
        raise SpecError.at(expr.span, f"cannot index {a_type(value)} ({show(value)})")
    if not isinstance(index, int) or isinstance(index, bool):
        raise SpecError.at(expr.index.span, f"an index must be an integer, got {show(index)}")
    if not -len(value) <= index < len(value):
        raise SpecError.at(expr.index.span, f"index {index} is out of range for a list of {len(value)}")
    decide(index)  # which element: found by elaborating again
    return value[index]


def _slice(expr: ast.Slice, env: Mapping[str, Value]) -> Value:
    """``value[start:stop:step]`` as Python slices a list or a string (bounds clipped to its length)."""
    value = evaluate(expr.value, env)
    if not isinstance(value, tuple | str):
        raise SpecError.at(expr.span, f"cannot slice {a_type(value)} ({show(value)})")
    bounds = []
    for bound in (expr.start, expr.stop, expr.step):
        number = None if bound is None else evaluate(bound, env)
        if bound is not None and (not isinstance(number, int) or isinstance(number, bool)):
            raise SpecError.at(bound.span, f"a slice bound must be an integer, got {show(number)}")
        bounds.append(number)
    decide(bounds)
    if bounds[2] == 0 and expr.step is not None:
        raise SpecError.at(expr.step.span, "a slice step cannot be 0")
    return value[slice(*bounds)]


def _call(expr: ast.FuncCall, env: Mapping[str, Value]) -> Value:
    function = FUNCTIONS.get(expr.func)
    if function is None:
        raise SpecError.at(expr.span, f"unknown function '{expr.func}'", did_you_mean(expr.func, FUNCTIONS))
    args = [evaluate(a, env) for a in expr.args]
    kwargs = {k.name: evaluate(k.value, env) for k in expr.kwargs}
    try:
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError:
        raise SpecError.at(
            expr.span, f"wrong arguments to {expr.func}()", f"call it as {SIGNATURES[expr.func]}"
        ) from None
    try:
        result = function(*args, **kwargs)
    except (ValueError, TypeError, OverflowError) as error:
        raise SpecError.at(expr.span, f"{expr.func}() {error}") from None
    return _check_size(called(function, args, kwargs, result), expr.span)
