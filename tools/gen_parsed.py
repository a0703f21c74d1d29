"""Regenerate ``archspec/parsed/``: the AST of every zoo spec and standard-library file, as
``archspec.parsed`` looks it up.

    PYTHONPATH=$PWD .venv/bin/python tools/gen_parsed.py [--check]

One JSON file per zoo spec and per file of the standard library (``archspec/std/``), named by the SHA-256
of its text; files of texts no longer shipped are removed. Run it after editing a zoo spec, a std file or
the parser (the grammar, ``syntax.py``, ``ast.py``,
``source.py``, ``limits.py``): until then those specs are parsed at load, correctly but slower.
``--check`` exits 1 when the folder is out of date (``tests/test_parsed.py`` checks the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archspec.loader import display_path, read_spec, spec_files, std_dir, zoo_dir  # noqa: E402
from archspec.parsed import PARSED_DIR, entry_text, text_digest  # noqa: E402
from archspec.syntax import parse  # noqa: E402


def expected_entries() -> dict[str, str]:
    """File name -> content of every entry the zoo and the standard library need."""
    entries = {}
    for path in [*spec_files(zoo_dir()), *spec_files(std_dir())]:
        text = read_spec(path, display_path(path))
        entries[f"{text_digest(text)}.json"] = entry_text(parse(text, display_path(path)))
    return entries


def main() -> int:
    """Write (or with --check, compare) the folder."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--check", action="store_true", help="exit 1 when the folder is out of date")
    args = options.parse_args()
    expected = expected_entries()
    present = {p.name: p.read_text(encoding="utf-8") for p in PARSED_DIR.glob("*.json")}
    folder = PARSED_DIR.relative_to(ROOT)
    if args.check:
        if present != expected:
            print(f"{folder} is out of date: run tools/gen_parsed.py", file=sys.stderr)
            return 1
        print(f"{folder} is up to date ({len(expected)} specs)")
        return 0
    PARSED_DIR.mkdir(exist_ok=True)
    for name in present.keys() - expected.keys():
        (PARSED_DIR / name).unlink()
    for name, text in expected.items():
        if present.get(name) != text:
            (PARSED_DIR / name).write_text(text, encoding="utf-8")
    size = sum(len(text) for text in expected.values())
    print(f"wrote {folder}: {len(expected)} specs, {size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
