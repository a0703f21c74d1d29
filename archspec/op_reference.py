"""An op's reference entry, as docs/language.md shows it: tools/gen_op_table.py writes the document's
entries with it, and the language server's hover shows it."""

from __future__ import annotations

from typing import Any

from archspec.errors import spec_repr
from archspec.ops import OP_CLASSES, OPS_BY_NAME, Op

# What the reference says of the ops written as statements, not calls (``Op.statement``).
STATEMENT_FACTS = {
    "param": "a statement of a block's or network's body, not a call: NAME is the tensor's name in the "
    "module (its state-dict key); init takes a scheme of `init:` rules, as `trunc_normal(std=0.02)` "
    "(default `zeros`)",
    "buffer": "a statement of a block's or network's body, not a call: NAME is the tensor's name in the "
    "module; VALUE a nested list; dtype `int64`, `int32`, `float32`, `float64` or `bool` (default: "
    "`bool` for true and false, `int64` for integers, else `float32`); persistent=false leaves it out "
    "of the state dict",
}


def _spec_value(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:
        return _spec_value(value[0])
    if isinstance(value, float):
        return repr(value)
    return spec_repr(value)


def signature(op: type[Op]) -> str:
    """``conv(out_channels, kernel_size, stride=1, ...)``: positional order, defaults after ``=``; a
    statement's syntax for an op written as one (``param NAME: [d0, d1, ...], init=zeros``)."""
    from pydantic_core import PydanticUndefined

    if op.statement:
        return op.statement

    parts = []
    for name in op.spec_arguments():
        default = op.model_fields[name].default
        parts.append(name if default is PydanticUndefined else f"{name}={_spec_value(default)}")
    return f"{op.spec_names[0]}({', '.join(parts)})" if parts else op.spec_names[0]


def _inputs(op: type[Op]) -> str:
    if op.max_inputs is None:
        return f"{op.min_inputs} or more"
    if op.max_inputs == op.min_inputs:
        return str(op.min_inputs)
    return f"{op.min_inputs} to {op.max_inputs}"


def op_entry(name: str) -> str | None:
    """The Markdown entry of the op called ``name`` (any of its names) or written as the statement
    ``name`` (``param``, ``buffer``), or None for no op."""
    op = OPS_BY_NAME.get(name) or next(
        (op for op in OP_CLASSES if op.statement and name in op.spec_names), None
    )
    return None if op is None else entry(op)


def entry(op: type[Op]) -> str:
    """The Markdown entry of the op class ``op``: title, summary, signature and its rules."""
    first, *others = op.spec_names
    title = f"### `{first}`" + (f" (also {', '.join(f'`{n}`' for n in others)})" if others else "")
    lines = [title, "", f"{op.summary[0].upper()}{op.summary[1:]}.", "", f"    {signature(op)}", ""]
    facts = [f"IR kind: `{op.model_fields['kind'].default}`; inputs: {_inputs(op)}"]
    if op.statement:
        facts.insert(0, STATEMENT_FACTS.get(first, "a statement of a body, not a call"))
    if op.aliases:
        facts.append(
            "keyword aliases: " + ", ".join(f"`{a}` for `{f}`" for a, f in sorted(op.aliases.items()))
        )
    if op.inferred:
        facts.append("inferred from the input: " + ", ".join(f"`{f}`" for f in sorted(op.inferred)))
    facts.append(f"shape: {op.shape_rule}")
    facts.append(f"parameters: {op.param_rule}")
    facts.append(f"FLOPs: {op.flop_rule}")
    lines.extend(f"- {fact}" for fact in facts)
    return "\n".join(lines)
