"""Spec arithmetic written as Python source, with the parentheses Python needs to read it as parsed.

Two things the code generator writes come from spec expressions: init formulas over ``fan_in`` and
``fan_out`` (``-1 / math.sqrt(fan_out)``), and layer arguments the spec computes from the network's
parameters (ViT's ``(image_size // patch_size) ** 2 + 1`` tokens). Both are rebuilt from the parse, not
copied from the spec's text: what reaches the generated file is numbers, names chosen by the caller and
the operators below, whatever the spec's spelling.
"""

from collections.abc import Callable

from archspec import ast

# How tightly Python binds each operator (an atom: a name, a number or a call, binds tightest).
_BINDING = {"+": 1, "-": 1, "*": 2, "/": 2, "//": 2, "%": 2, "**": 4}
_UNARY, _ATOM = 3, 5


def python_expression(
    expr: ast.Expr,
    name: Callable[[ast.Name], str | None],
    call: Callable[[ast.FuncCall, list[str]], str | None] = lambda expr, args: None,
) -> str | None:
    """``expr`` as Python source, or None when it holds something else than numbers, ``+ - * / // %
    **``, unary minus, the names ``name`` writes and the calls ``call`` writes (each returns None for
    one it refuses; ``call`` gets the arguments already written)."""

    def python(expr: ast.Expr) -> tuple[str, int] | None:  # the text, and how tightly it binds
        if isinstance(expr, ast.Name):
            text = name(expr)
            return None if text is None else (text, _ATOM)
        if isinstance(expr, ast.Literal):
            if isinstance(expr.value, bool) or not isinstance(expr.value, int | float):
                return None
            return repr(expr.value), (_UNARY if expr.value < 0 else _ATOM)
        if isinstance(expr, ast.BinaryOp) and expr.op in _BINDING:
            left_written, right_written = python(expr.left), python(expr.right)
            if left_written is None or right_written is None:
                return None
            (left, left_binding), (right, right_binding) = left_written, right_written
            binding = _BINDING[expr.op]
            if expr.op == "**":  # right-associative, and `-x ** y` is `-(x ** y)`: `2 ** -1` is fine
                left = left if left_binding == _ATOM else f"({left})"
                right = right if right_binding >= _UNARY else f"({right})"
            else:  # left-associative: `a - (b - c)` keeps its parentheses
                left = left if left_binding >= binding else f"({left})"
                right = right if right_binding > binding else f"({right})"
            return f"{left} {expr.op} {right}", binding
        if isinstance(expr, ast.UnaryOp) and expr.op == "-":
            operand = python(expr.operand)
            if operand is None:
                return None
            text, binding = operand
            return "-" + (text if binding > _UNARY else f"({text})"), _UNARY
        if isinstance(expr, ast.FuncCall) and not expr.kwargs:
            args = [python(a) for a in expr.args]
            if any(a is None for a in args):
                return None
            text = call(expr, [a[0] for a in args if a is not None])
            return None if text is None else (text, _ATOM)
        return None

    written = python(expr)
    return None if written is None else written[0]
