"""Formulas: the op arguments a spec computes from the network's parameters, as Python text.

ViT's ``length=(image_size // patch_size) ** 2 + 1``: the compiled source writes the formula, so that
those parameters can be arguments of the network's class (``Node.formulas``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archspec import ast
from archspec.elab.traced import plain
from archspec.expr import Value
from archspec.ops import Op
from archspec.python_text import python_expression


def formulas(
    op: Op,
    written: Mapping[str, ast.Expr],
    values: Mapping[str, Any],
    env: Mapping[str, Value],
    network_params: Mapping[str, Value],
) -> dict[str, str]:
    """The op's arguments that the spec computes from ``network_params`` by arithmetic, as Python text
    over the parameters' names. ``written`` and ``values``: each argument's expression and its value, by
    field; ``env``: the names where the call is written (outside blocks: a block sees its own
    parameters, not the network's, and its caller passes no formulas)."""
    found = {}
    for field_name, expr in written.items():
        if isinstance(expr, ast.Name | ast.Literal):
            continue  # a bare parameter is its value in the generated file; a number is a number
        value = getattr(op, field_name, None)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        text = network_formula(expr, env, network_params)
        # The same value of the same type: `size / 2` is 16.0, which the op took as its 16 (a traced
        # elaboration's numbers compared as the numbers they are).
        given = plain(values[field_name])
        if text is not None and type(given) is type(value) and given == value:
            found[field_name] = text
    return found


def network_formula(
    expr: ast.Expr, env: Mapping[str, Value], network_params: Mapping[str, Value]
) -> str | None:
    """``expr`` as Python text when it is arithmetic over numbers and at least one numeric parameter
    of the network (not a loop variable or a binding that shadows one); else None."""
    names: list[str] = []

    def parameter(name: ast.Name) -> str | None:
        value = env.get(name.id)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if name.id not in network_params or network_params[name.id] != value:
            return None
        names.append(name.id)
        return name.id

    text = python_expression(expr, parameter)
    return text if names else None  # `-1` is a number
