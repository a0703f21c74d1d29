"""The network's parameters as constructor arguments of the generated class: ``ResNet50(num_classes=10)``.

The code generator works from the elaborated graph, where every number is resolved; which numbers a
spec parameter decides is found by elaborating the spec again with that parameter changed and comparing
the two generated files token by token. A parameter is exposed when

- its value is a number (not a bool, a list or a block);
- the two files have the same tokens except comments, strings (docstrings and shape comments describe
  the defaults) and numbers that went exactly from the parameter's value to the changed value;
- every such number is inside the network class's ``__init__`` (a number in a block's class, or in a
  ``forward``, would need the argument passed further down; such a parameter stays a literal).

Two changed values are tried (both must agree), so a number that only happens to equal the parameter's
value is not taken for it. The result is text: the file's numbers at those places become the argument,
the class's ``__init__`` and ``build()`` take it with the spec's value as default.
"""

from __future__ import annotations

import io
import keyword
import tokenize
from collections.abc import Callable
from dataclasses import dataclass

from archspec.errors import SpecError

Position = tuple[int, int, int]  # (row, start column, end column) of a number token


@dataclass(frozen=True)
class Exposed:
    """A parameter of the network class: its name, default and the places of its value."""

    name: str
    default: int | float
    places: tuple[Position, ...]

    @property
    def annotation(self) -> str:
        """``int`` or ``float``."""
        return "int" if isinstance(self.default, int) else "float"


def expose(
    source: str,
    root: str,
    params: dict[str, object],
    emit_with: Callable[[str, int | float], str | None],
) -> str:
    """``source`` (the generator's output for the default parameters, before tidying) with each exposable
    parameter (see the module docstring) made an argument of the class ``root`` and of ``build()``.
    ``emit_with(name, value)`` generates the file with one parameter changed (None when the spec refuses
    that value)."""
    span = _init_span(source, root)
    if span is None:
        return source
    exposed = []
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not _usable(name, source):
            continue
        found = _places(source, name, value, emit_with, span)
        if found:
            exposed.append(Exposed(name, value, found))
    return _rewrite(source, root, exposed) if exposed else source


def _usable(name: str, source: str) -> bool:
    """A parameter name that can be a Python argument and shadows nothing the file uses."""
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        return False
    tokens = _tokens(source) or []
    return not any(t.type == tokenize.NAME and t.string == name for t in tokens)


def _changed(value: int | float, attempt: int) -> int | float:
    """Values unlike the default and unlike each other (a float stays a probability below 1)."""
    if isinstance(value, int):
        return value * (2 + attempt) + 3 + attempt
    return round(value / (2 + attempt) + 0.0625 * (attempt + 1), 6)


def _places(
    source: str,
    name: str,
    value: int | float,
    emit_with: Callable[[str, int | float], str | None],
    span: tuple[int, int],
) -> tuple[Position, ...]:
    agreed: tuple[Position, ...] | None = None
    for attempt in range(2):
        changed = _changed(value, attempt)
        try:
            other = emit_with(name, changed)
        except SpecError:
            return ()
        if other is None:
            return ()
        places = _differences(source, other, value, changed)
        if not places or (agreed is not None and places != agreed):
            return ()
        agreed = places
    assert agreed is not None
    first, last = span
    return agreed if all(first <= row <= last for row, _, _ in agreed) else ()


def _differences(
    source: str, other: str, value: int | float, changed: int | float
) -> tuple[Position, ...] | None:
    """Where ``source`` has ``value`` and ``other`` has ``changed``; None when they differ otherwise."""
    ours, theirs = _tokens(source), _tokens(other)
    if ours is None or theirs is None or len(ours) != len(theirs):
        return None
    places = []
    for a, b in zip(ours, theirs, strict=True):
        if a.type != b.type:
            return None
        if a.string == b.string or a.type in (tokenize.COMMENT, tokenize.STRING):
            continue
        if a.type == tokenize.NUMBER and a.string == repr(value) and b.string == repr(changed):
            places.append((a.start[0], a.start[1], a.end[1]))
            continue
        return None
    return tuple(places)


def _tokens(source: str) -> list[tokenize.TokenInfo] | None:
    try:
        return list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return None


def _init_span(source: str, root: str) -> tuple[int, int] | None:
    """The rows (1-based, inclusive) of the body of ``root.__init__``."""
    lines = source.splitlines()
    try:
        start = lines.index(f"class {root}(nn.Module):")
        init = next(i for i in range(start, len(lines)) if lines[i].startswith("    def __init__(self)"))
    except (ValueError, StopIteration):
        return None
    end = next((i for i in range(init + 1, len(lines)) if lines[i].startswith("    def ")), len(lines))
    return init + 2, end


def _rewrite(source: str, root: str, exposed: list[Exposed]) -> str:
    lines = source.splitlines()
    by_row: dict[int, list[tuple[int, int, str]]] = {}
    for parameter in exposed:
        for row, start, end in parameter.places:
            by_row.setdefault(row, []).append((start, end, parameter.name))
    for row, edits in by_row.items():
        line = lines[row - 1]
        for start, end, name in sorted(edits, reverse=True):
            line = line[:start] + name + line[end:]
        lines[row - 1] = line
    arguments = ", ".join(f"{p.name}: {p.annotation} = {p.default!r}" for p in exposed)
    passed = ", ".join(f"{p.name}={p.name}" for p in exposed)
    text = "\n".join(lines) + ("\n" if source.endswith("\n") else "")
    head = f"class {root}(nn.Module):"
    at = text.index(head)
    text = text[:at] + text[at:].replace(
        "    def __init__(self) -> None:", f"    def __init__(self, {arguments}) -> None:", 1
    )
    text = text.replace("def build() -> nn.Module:", f"def build({arguments}) -> nn.Module:", 1)
    return text.replace(f"    model = {root}()", f"    model = {root}({passed})", 1)
