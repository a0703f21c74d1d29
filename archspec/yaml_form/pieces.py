"""The pieces of a YAML spec's text: keys, values and strings of the YAML file, as text-language code
with their positions (``positions.Generated``), and the structural checks every part of the reader shares.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

from archspec.errors import Diagnostic, SpecError, printable
from archspec.source import Span
from archspec.yaml_form.positions import Generated, Pos, Source, Where

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
RESERVED = frozenset(
    [
        "network",
        "block",
        "import",
        "from",
        "input",
        "for",
        "in",
        "if",
        "elif",
        "else",
        "residual",
        "shortcut",
        "and",
        "or",
        "not",
        "true",
        "false",
        "none",
    ]
)
MERGES = ("concat", "add", "mul")
CHAIN_MERGE = re.compile(r".*>>\s*(concat|add|mul)\s*\Z", re.DOTALL)
KEYWORD = re.compile(r"(for|if|elif|else|residual|shortcut)(?![A-Za-z0-9_])")
# `- param table: "[169, 3], init=trunc_normal(std=0.02)"`, `- buffer index: "..."`: a declaration.
STATE = re.compile(r"(param|buffer)\s+[A-Za-z_][A-Za-z0-9_]*\Z")
SECTIONS = ("input", "params", "variants", "init", "layers")
_LIST_BREAK = 80  # characters of a written list before its elements go on lines of their own


def kind_of(value: Any) -> str:
    """What a YAML value is, in words for an error message (``a mapping``, ``a list``, ``a number``)."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "nothing"
    return "a number"


def _pos(point: Any) -> Pos:
    return (point[0] + 1, point[1] + 1)


def items(mapping: Any, fallback: Pos) -> list[tuple[Any, Pos, Any, Pos]]:
    """A mapping's keys and values with their positions."""
    out = []
    for key, value in mapping.items():
        try:
            key_pos = _pos(mapping.lc.key(key))
        except (AttributeError, KeyError, TypeError):
            key_pos = fallback
        try:
            value_pos = _pos(mapping.lc.value(key))
        except (AttributeError, KeyError, TypeError):
            value_pos = key_pos
        out.append((key, key_pos, value, value_pos))
    return out


def entries(sequence: Any, fallback: Pos) -> list[tuple[Any, Pos]]:
    """A list's elements with their positions."""
    out = []
    for index, value in enumerate(sequence):
        try:
            position = _pos(sequence.lc.item(index))
        except (AttributeError, KeyError, TypeError):
            position = fallback
        out.append((value, position))
    return out


class Pieces:
    """What every part of the reader needs: the YAML file's characters, the text being written, errors."""

    def __init__(self, source: Source, out: Generated, path: str, text: str) -> None:
        self.source = source
        self.out = out
        self.path = path
        self.text = text

    def fail(self, where: Pos, message: str, hint: str | None = None, width: int = 1) -> NoReturn:
        """A SpecError at a YAML position."""
        span = Span(self.path, where[0], where[1], where[0], where[1] + max(1, width))
        raise SpecError([Diagnostic(message, span, hint)], {self.path: self.text})

    def chars(self, value: str, where: Pos) -> list[Pos]:
        """Positions of a scalar's characters."""
        return self.source.chars(value, where)

    def piece(self, value: str, where: Pos) -> tuple[str, Where]:
        """A string of the YAML file, as written into the text (one line), with its positions."""
        return value.replace("\r", " ").replace("\n", " "), self.chars(value, where)

    def key(self, key: Any, where: Pos, context: str) -> str:
        """A mapping key, which must be a string."""
        if not isinstance(key, str):
            self.fail(where, f"{context}: a key is a name, got {kind_of(key)} ({printable(str(key))})")
        return key

    def fragment(self, value: str, where: Pos, what: str) -> tuple[str, Where]:
        """A string holding text-language code (an expression, a chain): not empty, not continued."""
        if not value.strip():
            self.fail(where, f"{what} is empty")
        if value.rstrip().endswith("\\"):
            self.fail(
                where,
                f"{what} ends in a backslash",
                "a YAML value is one piece; there is nothing to continue",
            )
        return self.piece(value, where)

    def end(self, key: str, where: Pos) -> Pos:
        """The position just after a key, for the ':' the text puts there."""
        chars = self.chars(key, where)
        return chars[-1]

    def name(self, key: Any, where: Pos, what: str) -> str:
        """A key that must be a name (a parameter, a variant)."""
        name = self.key(key, where, what)
        if not NAME.match(name) or name in RESERVED:
            self.fail(where, f"{what}: '{printable(name)}' is not a name", width=len(name))
        return name

    def value(self, value: Any, where: Pos, what: str, meta: bool = False) -> list[tuple[str, Where]]:
        """An expression: a YAML number, boolean or null is that value, a string is an expression of the
        text language (in metadata, text, unless it starts with '='), a list is a list of such values."""
        if isinstance(value, bool):
            return [("true" if value else "false", where)]
        if value is None:
            return [("none", where)]
        if isinstance(value, int):
            return [(str(int(value)), where)]
        if isinstance(value, float):
            if not math.isfinite(value):
                self.fail(where, f"{what}: {value} is not a finite number")
            return [(repr(float(value)), where)]
        if isinstance(value, str):
            if meta and not value.startswith("="):
                return [(json.dumps(value, ensure_ascii=False), where)]
            if meta:  # `=expression`: the characters after the '='
                text, _ = self.fragment(value[1:], where, f"{what}: an expression")
                return [(text, self.chars(value, where)[1:])]
            return [self.fragment(value, where, f"{what}: an expression")]
        if isinstance(value, list):
            elements = [self.value(item, item_pos, what, meta) for item, item_pos in entries(value, where)]
            long = sum(len(text) for pieces in elements for text, _ in pieces) > _LIST_BREAK
            out: list[tuple[str, Where]] = [("[", where)]
            for index, pieces in enumerate(elements):
                if index:
                    out.append((",", where))
                    out.append(("\n" if long else " ", where))
                out.extend(pieces)
            out.append(("]", where))
            return out
        self.fail(
            where,
            f"{what}: expected a value (a number, an expression in a string, a list), got {kind_of(value)}",
        )

    # ------------------------------------------------------------ blocks and the network
    def header(self, key: str, where: Pos, depth: int, *rest: tuple[str, Where]) -> None:
        """``key:`` as written (a block's signature, ``for ...``), then ``rest`` on the same line."""
        self.out.line(depth, self.piece(key, where), (":", self.end(key, where)), *rest)

    def label(self, key: str, where: Pos) -> tuple[str, Where]:
        """A label or an init target: a name as it is, a quoted text-language string as it is, anything
        else (``conv{i}``, ``block1-0``, ``stage*.bn2``) as a quoted string (a template, a pattern)."""
        if NAME.match(key) or key[:1] in ("'", '"'):
            return self.piece(key, where)
        return json.dumps(key, ensure_ascii=False), where

    # ------------------------------------------------------------ bodies
