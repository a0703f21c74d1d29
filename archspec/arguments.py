"""The values of command-line options that the CLI and the training commands share (``--set``, ``--input``,
the import options), and the loading of a network with them.

Its own module, so that the training commands use them without importing the CLI (which imports them).
"""

from __future__ import annotations

import argparse
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


def load_from_args(spec: str, args: argparse.Namespace) -> Any:
    """Load a network with the --variant/--set/--input options of a subcommand."""
    from archspec.api import load

    overrides = dict(parse_assignment(a) for a in args.assignments)
    shape = parse_shape(args.input_shape) if args.input_shape else None
    options: dict[str, Any] = {
        "search_path": args.search_path,
        "allow_absolute_imports": args.allow_absolute_imports,
    }
    if shape is None:
        return load(spec, args.variant, **options, **overrides)
    try:
        return load(spec, args.variant, input_shape=shape, **options, **overrides)
    except SpecError as error:
        raise _input_error(spec, args, shape, {**options, **overrides}) or error from None


def _input_error(
    spec: str, args: argparse.Namespace, shape: tuple[int, ...], overrides: dict[str, Any]
) -> UsageError | None:
    """A usage error with a hint when ``--input`` has a batch dimension or the spec sizes its input
    through a parameter; None when neither explains the failure."""
    from archspec.api import load
    from archspec.hints import batch_dimension_hint, input_parameters

    expected = load(spec, args.variant, **overrides).graph.input_shape
    hint = batch_dimension_hint(shape, len(expected))
    if hint is None:
        names = input_parameters(spec)
        if not names:
            return None
        sets = " ".join(f"--set {name}=..." for name in names)
        hint = f"the spec computes its input from {', '.join(names)}: change it with {sets}"
    given = "x".join(map(str, shape))
    return UsageError(f"--input {given} does not fit this network; {hint}")
