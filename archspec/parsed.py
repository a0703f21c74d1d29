"""The zoo's specs, shipped parsed: loading a zoo network needs neither Lark nor the parser's tables.

Parsing is a function of the spec's text and of the parser's own files (the grammar, the transformer in
``syntax.py``, the AST classes, the source positions and the limits the parser checks). For each zoo
spec, ``tools/gen_parsed.py`` writes its AST as JSON into ``archspec/parsed/``, named by the SHA-256 of
the text, with a fingerprint of those files. ``loader`` looks a text up here before parsing it: a hit
gives the same AST the parser would (``tests/test_parsed.py`` compares every entry with a fresh parse),
and anything else (another text, an edited parser, a damaged file) parses as usual. Importing Lark and
loading its tables is about a third of what ``archspec analyze vgg16`` costs (docs/benchmarks.md).

The files are read from the package itself, never from a shared or user-writable place, and they are
JSON, never unpickled: a file names its node classes, which must be classes of ``archspec.ast``.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from archspec import ast
from archspec.source import Span

PACKAGE = Path(__file__).parent
PARSED_DIR = PACKAGE / "parsed"
# The files the parse of a text depends on, besides the text: an edit to any makes every entry stale.
# They are every archspec module the transformer imports, directly or not (tests/test_parsed.py reads
# the imports), but ``errors`` (message text: an entry is made only for a text that parses without
# one), ``records`` (the base class of plain records) and this module.
PARSER_FILES = (
    "grammar.lark",
    "syntax.py",
    "ast.py",
    "source.py",
    "limits.py",
    "block_order.py",  # the check of a block's `order:`, run while parsing
    "elab/walk.py",  # the walk block_order's check goes over a body with
    "elab/__init__.py",
)

# Fields that hold the file's own path, like every span: not stored, given at load.
_PATH_FIELDS = {"Module": "path", "BlockDef": "path"}
_CLASSES: dict[str, type[Any]] = {
    name: value
    for name, value in vars(ast).items()
    if isinstance(value, type) and issubclass(value, ast.Node) and value is not ast.Node
}


@cache
def fingerprint() -> str:
    """SHA-256 of the parser's own files (``PARSER_FILES``), as installed; '' when one is unreadable
    (nothing then matches)."""
    digest = hashlib.sha256()
    try:
        for name in PARSER_FILES:
            digest.update(name.encode() + b"\0" + (PACKAGE / name).read_bytes() + b"\0")
    except OSError:
        return ""
    return digest.hexdigest()


def text_digest(text: str) -> str:
    """The name of a text's entry: the SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def lookup(text: str, path: str) -> ast.Module | None:
    """The shipped AST of ``text`` with its spans in ``path``, or None when there is no entry for it, or
    the entry was made by other parser files, or cannot be read."""
    entry = PARSED_DIR / f"{text_digest(text)}.json"
    try:
        document = json.loads(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("fingerprint") != fingerprint() or not fingerprint():
        return None
    try:
        module = _load(document["module"], path)
    except (KeyError, TypeError, ValueError):
        return None
    return module if isinstance(module, ast.Module) else None


def entry_text(module: ast.Module) -> str:
    """The JSON document of one entry (what ``tools/gen_parsed.py`` writes)."""
    document = {"fingerprint": fingerprint(), "module": _dump(module)}
    return json.dumps(document, separators=(",", ":"), allow_nan=False) + "\n"


def _dump(value: Any) -> Any:
    """A node as ``{"_": class, field: value...}``, a span as ``{"@": [line, column, end_line,
    end_column]}``, a tuple as a list. The file's path (of spans, of the module, of a block) is not
    stored: it is given at load."""
    if isinstance(value, Span):
        return {"@": [value.line, value.column, value.end_line, value.end_column]}
    name = type(value).__name__
    if isinstance(value, ast.Node) and name in _CLASSES:
        fields = ast.fields(value)
        stored = {f: _dump(getattr(value, f)) for f in fields if f != _PATH_FIELDS.get(name)}
        return {"_": name, **stored}
    if isinstance(value, tuple):
        return [_dump(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in a parsed entry")


def _load(value: Any, path: str) -> Any:
    if isinstance(value, list):
        return tuple(_load(item, path) for item in value)
    if isinstance(value, dict):
        if "@" in value:
            line, column, end_line, end_column = value["@"]
            return Span(path, line, column, end_line, end_column)
        name = value["_"]
        fields = {field: _load(item, path) for field, item in value.items() if field != "_"}
        if name in _PATH_FIELDS:
            fields[_PATH_FIELDS[name]] = path
        return _CLASSES[name](**fields)
    return value
