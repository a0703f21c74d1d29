"""An op's reference entry, as docs/language.md shows it: tools/gen_op_table.py writes the document's
entries with it, and the language server's hover shows it."""

from __future__ import annotations

from typing import Any

from archspec.errors import spec_repr
from archspec.ops import OPS_BY_NAME, Op


def _spec_value(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:
        return _spec_value(value[0])
    if isinstance(value, float):
        return repr(value)
    return spec_repr(value)


def signature(op: type[Op]) -> str:
    """``conv(out_channels, kernel_size, stride=1, ...)``: positional order, defaults after ``=``."""
    from pydantic_core import PydanticUndefined

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
    """The Markdown entry of the op called ``name`` (any of its names), or None for no op."""
    op = OPS_BY_NAME.get(name)
    return None if op is None else entry(op)


def entry(op: type[Op]) -> str:
    """The Markdown entry of the op class ``op``: title, summary, signature and its rules."""
    first, *others = op.spec_names
    title = f"### `{first}`" + (f" (also {', '.join(f'`{n}`' for n in others)})" if others else "")
    lines = [title, "", f"{op.summary[0].upper()}{op.summary[1:]}.", "", f"    {signature(op)}", ""]
    facts = [f"IR kind: `{op.model_fields['kind'].default}`; inputs: {_inputs(op)}"]
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
