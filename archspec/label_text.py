"""How a block instance is named in drawings: its ``label:`` template filled in, or a default made from
its call, with numbers written as people write them (``0.0059``, not ``0.0058823529411764705``).

The lowering stores the text on the instance's scope (``Scope.label``); the drawing shows it. Nothing
here executes spec text: a template field is a name or a spec expression, evaluated as a layer name's
template fields are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from archspec import ast
from archspec.elab.blocks import shown_arguments
from archspec.errors import SpecError, did_you_mean, spec_repr
from archspec.expr import BlockRef, Value, evaluate
from archspec.ops.base import number_text

_FIELD = re.compile(r"\{([^{}]*)\}")


def value_text(value: Value) -> str:
    """A value in a label: a string as it is, a number as people write it, a list in brackets."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return spec_repr(value)
    if isinstance(value, int | float):
        return number_text(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, BlockRef):
        return value.name
    return spec_repr(value)


def block_label(block: ast.BlockDef, call: ast.Call, bound: Mapping[str, Value]) -> str:
    """The label of one instance of ``block``: its ``label:`` template filled in with the instance's
    parameters (and the file's names), or by default the block's name and its arguments."""
    if block.label is not None:
        return fill(block.label, bound)
    return default_label(block, call, bound)


def fill(template: ast.Label, env: Mapping[str, Value]) -> str:
    """The template with each ``{name}`` or ``{expression}`` replaced by its value's text."""
    text = template.text
    if "{" in _FIELD.sub("", text) or "}" in _FIELD.sub("", text):
        raise SpecError.at(template.span, f"unbalanced brace in the label template {spec_repr(text)}")

    def substitute(match: re.Match[str]) -> str:
        field = match.group(1).strip()
        if field.isidentifier():
            if field not in env:
                hint = did_you_mean(field, env)
                raise SpecError.at(template.span, f"unknown name '{field}' in the label template", hint)
            return value_text(env[field])
        from archspec.syntax import parse_expression  # Lark loads only when needed

        try:
            return value_text(evaluate(parse_expression(field), env))
        except SpecError as error:
            message = error.diagnostics[0].message
            raise SpecError.at(template.span, f"{message} in the label template {{{field}}}") from None

    return " ".join(_FIELD.sub(substitute, text).split())  # one line: a label never breaks a drawing


def default_label(block: ast.BlockDef, call: ast.Call, bound: Mapping[str, Value]) -> str:
    """``Bottleneck(128, stride=2)``, ``CNBlock(96, 1e-6, 0.0059)``: the block and the arguments of the
    call (required ones by position, others by name where they differ from the default). A list
    argument is left out (a table row is no label) and the others are then named."""
    shown = shown_arguments(block, call, bound)
    if any(isinstance(value, tuple) for _, value, _ in shown):
        parts = [f"{name}={_argument(v)}" for name, v, _ in shown if not isinstance(v, tuple)]
    else:
        parts = [f"{name}={_argument(v)}" if keyword else _argument(v) for name, v, keyword in shown]
    return f"{block.name}({', '.join(parts)})"


def _argument(value: Value) -> str:
    """An argument as it is written in a call: strings quoted, numbers as people write them."""
    return spec_repr(value) if isinstance(value, str) else value_text(value)
