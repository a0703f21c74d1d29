"""Regenerate ``archspec/grammar.tables.json``: the parser of ``archspec/grammar.lark``, built ahead of time.

    PYTHONPATH=$PWD .venv/bin/python tools/gen_parser.py [--check] [--out FILE]

archspec never builds or caches its parser at run time in a shared place (Lark's ``cache=True`` unpickles a
file from the system temp folder, which anyone on the machine can plant). Instead this script serialises the
parser (Lark's ``memo_serialize``, the data its standalone generator embeds) as JSON in the package, with
the SHA-256 of the grammar text it was built from and the Lark release. ``archspec.syntax`` loads it
when both match and builds the parser in memory otherwise. ``--check`` exits 1 when the file is out
of date: not byte for byte what this script writes now (``tests/test_security.py`` checks the same). The
output is deterministic (``syntax.serialize_tables`` numbers Lark's states and tokens canonically), so a
regeneration from the same grammar and Lark release changes nothing. ``--out FILE`` writes elsewhere.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archspec.syntax import TABLES_FILE, build_parser, grammar_text, load_tables, serialize_tables  # noqa: E402


def main() -> int:
    """Write (or with --check, compare) the tables file."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--check", action="store_true", help="exit 1 when the file is out of date")
    options.add_argument("--out", metavar="FILE", help="write here instead of the package's tables file")
    args = options.parse_args()
    target = Path(args.out) if args.out else ROOT / "archspec" / TABLES_FILE
    grammar = grammar_text()
    text = serialize_tables(build_parser(grammar), grammar)
    if args.check:
        shipped = target.read_bytes() if target.is_file() else b""
        if load_tables(grammar) is None or shipped != text.encode("utf-8"):
            print(f"{target} is out of date: run tools/gen_parser.py", file=sys.stderr)
            return 1
        print(f"{target} is up to date")
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
