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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archspec.op_reference import entry  # noqa: E402 - after the path set-up, so the script runs anywhere
from archspec.ops import OP_CLASSES  # noqa: E402

DOC = ROOT / "docs" / "language.md"
GRAMMAR = ROOT / "archspec" / "grammar.lark"
OPS_START, OPS_END = "<!-- op-table:start -->", "<!-- op-table:end -->"
GRAMMAR_START, GRAMMAR_END = "<!-- grammar:start -->", "<!-- grammar:end -->"
MEMORY_DOC = ROOT / "docs" / "memory.md"
SAVED_START, SAVED_END = "<!-- saved-table:start -->", "<!-- saved-table:end -->"


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
