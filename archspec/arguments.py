"""The values of command-line options that the CLI and the training commands share (``--set``, ``--input``).

Its own module, so that the training commands parse them without importing the CLI (which imports them).
"""

from __future__ import annotations

from typing import Any

from archspec.errors import SpecError, UsageError


def parse_assignment(text: str) -> tuple[str, Any]:
    """``--set name=value``: the value is a spec expression (``0.75``, ``[2, 2]``, ``true``, a block name)."""
    from archspec.expr import evaluate
    from archspec.syntax import parse_expression

    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise UsageError(f"--set expects name=value, got {text!r}")
    try:
        expression = parse_expression(value.strip(), f"--set {name}")
        result = evaluate(expression, {})
    except SpecError as error:
        # A bare word (`unit=BasicBlock`) is taken as a string: it names a block.
        if value.strip().isidentifier():
            return name, value.strip()
        raise UsageError(f"--set {name}: {error.diagnostics[0].message}") from None
    return name, result


def parse_shape(text: str) -> tuple[int, ...]:
    """``--input 3x224x224``."""
    try:
        dims = tuple(int(d) for d in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--input expects a shape like 3x224x224, got {text!r}") from None
    if not dims or any(d <= 0 for d in dims):
        raise UsageError(f"--input expects positive sizes, got {text!r}")
    return dims
