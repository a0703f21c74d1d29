"""Generate the parts of the docs that are read from the code: docs/language.md's op reference and
grammar, and docs/memory.md's table of what each op saves for backward.

Each op's entry comes from its class in ``archspec.ops``: the spec names, the positional order and
defaults of its arguments (``spec_arguments()`` and the model fields), its keyword aliases, the fields
inferred from the input, how many inputs it takes, and its ``summary``, ``shape_rule``, ``param_rule``
and ``flop_rule``. The grammar is ``archspec/grammar.lark`` verbatim. The memory table is each op's
``saved_rule`` (ops in a row that save alike share a line).

    .venv/bin/python tools/gen_op_table.py            # print the op reference
    .venv/bin/python tools/gen_op_table.py --write    # refresh the generated sections of both documents

tests/test_docs.py fails when a document and this script's output differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archspec.errors import spec_repr  # noqa: E402 - after the path set-up
from archspec.ops import OP_CLASSES, Op  # noqa: E402 - after the path set-up, so the script runs anywhere

DOC = ROOT / "docs" / "language.md"
GRAMMAR = ROOT / "archspec" / "grammar.lark"
OPS_START, OPS_END = "<!-- op-table:start -->", "<!-- op-table:end -->"
GRAMMAR_START, GRAMMAR_END = "<!-- grammar:start -->", "<!-- grammar:end -->"
MEMORY_DOC = ROOT / "docs" / "memory.md"
SAVED_START, SAVED_END = "<!-- saved-table:start -->", "<!-- saved-table:end -->"


def spec_value(value: Any) -> str:
    """A default as it is written in a spec (a pair of equal sizes as one number)."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:
        return spec_value(value[0])
    if isinstance(value, float):
        return repr(value)
    return spec_repr(value)


def signature(op: type[Op]) -> str:
    """``conv(out_channels, kernel_size, stride=1, ...)``: positional order, defaults after ``=``."""
    parts = []
    for name in op.spec_arguments():
        default = op.model_fields[name].default
        parts.append(name if default is PydanticUndefined else f"{name}={spec_value(default)}")
    return f"{op.spec_names[0]}({', '.join(parts)})" if parts else op.spec_names[0]


def inputs(op: type[Op]) -> str:
    if op.max_inputs is None:
        return f"{op.min_inputs} or more"
    if op.max_inputs == op.min_inputs:
        return str(op.min_inputs)
    return f"{op.min_inputs} to {op.max_inputs}"


def entry(op: type[Op]) -> str:
    name, *others = op.spec_names
    title = f"### `{name}`" + (f" (also {', '.join(f'`{n}`' for n in others)})" if others else "")
    lines = [title, "", f"{op.summary[0].upper()}{op.summary[1:]}.", "", f"    {signature(op)}", ""]
    facts = [f"IR kind: `{op.model_fields['kind'].default}`; inputs: {inputs(op)}"]
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


def op_table() -> str:
    """The op reference: an index, then one entry per op the spec language can call."""
    ops = [op for op in OP_CLASSES if op.spec_names and op.spec_names[0] != "input"]
    index = ["| op | what it is |", "| --- | --- |"]
    index.extend(f"| `{op.spec_names[0]}` | {op.summary} |" for op in ops)
    return "\n".join(index) + "\n\n" + "\n\n".join(entry(op) for op in ops) + "\n"


def saved_table() -> str:
    """docs/memory.md's table: what each op keeps for backward (``Op.saved_rule``, which ``saved`` is)."""
    rows: list[tuple[list[str], str]] = []
    for op in OP_CLASSES:
        if rows and rows[-1][1] == op.saved_rule:
            rows[-1][0].append(op.spec_names[0])
        else:
            rows.append(([op.spec_names[0]], op.saved_rule))
    lines = ["| op | saved for backward |", "| --- | --- |"]
    lines.extend(f"| {', '.join(f'`{n}`' for n in names)} | {rule} |" for names, rule in rows)
    return "\n".join(lines) + "\n"


def grammar_block() -> str:
    """``archspec/grammar.lark`` verbatim, fenced."""
    return "```lark\n" + GRAMMAR.read_text(encoding="utf-8") + "```\n"


def between(text: str, start: str, end: str) -> str:
    """The text between two marker lines (excluding the blank lines right inside them)."""
    _, rest = text.split(start + "\n", 1)
    body, _ = rest.split(end, 1)
    return body.strip("\n") + "\n"


def replace_between(text: str, start: str, end: str, body: str) -> str:
    head, rest = text.split(start + "\n", 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n\n{body.rstrip()}\n\n{end}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"refresh the generated sections of {DOC}")
    args = parser.parse_args(argv)
    if not args.write:
        print(op_table(), end="")
        return 0
    text = DOC.read_text(encoding="utf-8")
    text = replace_between(text, OPS_START, OPS_END, op_table())
    text = replace_between(text, GRAMMAR_START, GRAMMAR_END, grammar_block())
    DOC.write_text(text, encoding="utf-8")
    memory = MEMORY_DOC.read_text(encoding="utf-8")
    MEMORY_DOC.write_text(replace_between(memory, SAVED_START, SAVED_END, saved_table()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
