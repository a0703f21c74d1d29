"""A warning where a true division (``/``) feeds an op's integer argument.

``length = (image_size / patch) ** 2 + 1`` gives 17.0; ``position_embedding(length=length)`` takes it as
17, since a whole float is taken as its integer. It works, but it was probably meant as ``//``: the value
is a float, a size that does not divide becomes an error only for some parameter values, and the compiled
file writes 17 instead of the formula over ``image_size``. The check is static (on the syntax tree):
within a network or a block, a name bound (a parameter or ``let``) to an expression with a ``/`` is a
float, and an op argument whose field takes integers and whose expression holds a ``/`` or such a name
gets a warning at the argument.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from archspec import ast
from archspec.elab.walk import statements
from archspec.errors import Diagnostic
from archspec.loader import Program
from archspec.ops import OPS_BY_NAME

# Functions whose result is an integer whatever their argument (`int(size / 2)` is meant).
_TO_INTEGER = {"int", "round", "floor", "ceil", "len", "make_divisible"}


def division_warnings(program: Program) -> list[Diagnostic]:
    """Every op argument of the program's files that takes integers and is computed with ``/``."""
    found: list[Diagnostic] = []
    for file in program.files.values():
        for block in file.module.blocks:
            _scope(block.body, (), found)
        for network in file.module.networks:
            _scope(network.layers or (), network.params, found)
    return found


def _scope(body: Sequence[ast.Stmt], params: Sequence[ast.Let], found: list[Diagnostic]) -> None:
    lets = [*params, *(stmt for stmt in statements(body) if isinstance(stmt, ast.Let))]
    floats: set[str] = set()
    for _ in range(len(lets) + 1):  # a float through a chain of bindings: a = x / 2; b = a + 1
        grown = {let.name for let in lets if _divides(let.value, floats)}
        if grown == floats:
            break
        floats = grown
    for stmt in statements(body):
        if isinstance(stmt, ast.ChainStmt):
            for call in _calls(stmt.items):
                _check_call(call, floats, found)


def _check_call(call: ast.Call, floats: set[str], found: list[Diagnostic]) -> None:
    op_class = OPS_BY_NAME.get(call.name)
    if op_class is None:
        return  # a block's parameters have no declared types
    written = list(zip(op_class.spec_arguments(), call.args, strict=False))
    written += [(op_class.aliases.get(kw.name, kw.name), kw.value) for kw in call.kwargs]
    for field, expr in written:
        info = op_class.model_fields.get(field)
        if info is None or not _takes_integers(repr(info.annotation)) or not _divides(expr, floats):
            continue
        message = (
            f"argument '{field}' of {call.name} takes an integer, and this value is computed with a true "
            "division `/` (a float: 32 / 8 is 4.0)"
        )
        hint = (
            "write `//` for integer division: a float is taken only when it is whole, and the compiled "
            "file then writes the value, not the formula"
        )
        found.append(Diagnostic(message, expr.span, hint, severity="warning"))


def _takes_integers(annotation: str) -> bool:
    return "int" in annotation and "float" not in annotation


def _divides(expr: ast.Expr, floats: set[str]) -> bool:
    """Whether ``expr`` holds a true division, or a name bound to one, outside a function that makes
    an integer of it."""
    if isinstance(expr, ast.BinaryOp):
        return expr.op == "/" or _divides(expr.left, floats) or _divides(expr.right, floats)
    if isinstance(expr, ast.Name):
        return expr.id in floats
    if isinstance(expr, ast.UnaryOp):
        return _divides(expr.operand, floats)
    if isinstance(expr, ast.Conditional):
        return _divides(expr.then, floats) or _divides(expr.otherwise, floats)
    if isinstance(expr, ast.ListExpr):
        return any(_divides(item, floats) for item in expr.items)
    if isinstance(expr, ast.FuncCall):
        return expr.func not in _TO_INTEGER and any(_divides(arg, floats) for arg in expr.args)
    return False


def _calls(items: Sequence[ast.Item]) -> Iterator[ast.Call]:
    for item in items:
        if isinstance(item.atom, ast.InlineGroup):
            yield from _calls(item.atom.items)
        else:
            yield item.atom
