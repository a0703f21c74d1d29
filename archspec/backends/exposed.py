"""The network's parameters as constructor arguments of the generated classes: ``ResNet50(num_classes=10)``.

The code generator works from the elaborated graph, where every number is resolved; which numbers a
spec parameter decides is found by generating the file with that parameter changed and comparing the two
files token by token. The graph for the changed value comes from the origins of the graph's numbers
(``elab.origins.substitute``), or, where the parameter decided something (a repeat count), from
elaborating the spec again (``codegen.emit_source``). A parameter is exposed when

- its value is a number (not a bool, a list or a block);
- the two files have the same tokens except comments, strings (docstrings and shape comments describe
  the defaults) and numbers that went exactly from the parameter's value to the changed value;
- every such number is inside the ``__init__`` of a class (a number in a ``forward`` would need the
  value kept on the module; such a parameter stays a literal), or in the example run under
  ``if __name__ == "__main__":``, which keeps the default (ViT's input size).

Two changed values that the spec accepts must agree (multiples of an integer first, so that ViT's width
stays a multiple of its head count), so a number that only happens to equal the parameter's value is not
taken for it. The result is text: the file's numbers at those places become the argument; the network's
class and ``build()`` take it with the spec's value as default, and a block's class that uses it takes it
as an argument that each class constructing it passes down (ViT's ``EncoderBlock(hidden_dim=hidden_dim,
mlp_dim=mlp_dim)``), as torchvision's classes do.
"""

from __future__ import annotations

import builtins
import io
import itertools
import keyword
import math
import tokenize
from collections.abc import Callable
from dataclasses import dataclass

from archspec.errors import SpecError

_BUILTINS = frozenset(dir(builtins))
Position = tuple[int, int, int]  # (row, start column, end column) of a number token


@dataclass(frozen=True)
class Exposed:
    """A parameter of the network class: its name, default and the places of its value."""

    name: str
    default: int | float
    places: tuple[Position, ...]
    users: tuple[str, ...]  # the classes that take it (the network's class among them)

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
    parameter (see the module docstring) made an argument of the class ``root``, of ``build()`` and of
    the block classes that use it. ``emit_with(name, value)`` generates the file with one parameter
    changed (None when the spec refuses that value)."""
    tokens = _tokens(source)
    if tokens is None:
        return source
    classes = _classes(source.splitlines(), tokens)
    if root not in classes:
        return source
    taken = _module_names(tokens) | _BUILTINS
    example = next(  # the row of `if __name__ == "__main__":`, which the generator writes last
        (
            a.start[0]
            for a, b in itertools.pairwise(tokens)
            if a.start[1] == 0 and (a.string, b.string) == ("if", "__name__")
        ),
        math.inf,
    )
    numbers = {t.string for t in tokens if t.type == tokenize.NUMBER}
    exposed = []
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not _usable(name, taken):
            continue
        if repr(value) not in numbers:
            continue  # nowhere in the code (a default left out, a value only derived): nothing to expose
        # The example run under `if __name__ == "__main__":` keeps the default (what `build()` makes).
        found = tuple(p for p in _places(tokens, name, value, emit_with) if p[0] < example)
        users = _users(found, classes, root) if found else None
        if users is not None and not _clashes(name, users, classes, tokens):
            exposed.append(Exposed(name, value, found, users))
    return _rewrite(source, root, exposed, classes) if exposed else source


@dataclass(frozen=True)
class _ClassText:
    """Where a generated class's ``__init__`` is, and the classes it constructs there."""

    signature: int  # the row of ``def __init__(self...``
    first: int  # rows of its body (1-based, inclusive)
    last: int
    calls: tuple[tuple[str, int, int], ...]  # (class, row, column after its ``(``) in the body
    callers: frozenset[str]  # the classes whose ``__init__`` constructs this one


def _classes(lines: list[str], tokens: list[tokenize.TokenInfo]) -> dict[str, _ClassText]:
    """Every class of the file with an ``__init__`` on one line (the generator writes them so)."""
    found: dict[str, tuple[int, int, int]] = {}
    current = None
    for row, line in enumerate(lines, 1):
        if line.startswith("class ") and line.endswith(":"):
            current = line[len("class ") :].split("(")[0]
        elif current and line.startswith("    def __init__(self") and line.endswith(") -> None:"):
            end = next(
                (r for r in range(row + 1, len(lines) + 1) if lines[r - 1].startswith("    def ")), row
            )
            found[current] = (row, row + 1, end - 1)
            current = None
    calls: dict[str, list[tuple[str, int, int]]] = {name: [] for name in found}
    for token, following in itertools.pairwise(tokens):
        if token.type != tokenize.NAME or token.string not in found or following.string != "(":
            continue
        row = token.start[0]
        caller = next((n for n, (_, first, last) in found.items() if first <= row <= last), None)
        if caller is not None:
            calls[caller].append((token.string, row, following.end[1]))
    return {
        name: _ClassText(
            signature,
            first,
            last,
            tuple(calls[name]),
            frozenset(caller for caller, made in calls.items() if any(call[0] == name for call in made)),
        )
        for name, (signature, first, last) in found.items()
    }


def _users(places: tuple[Position, ...], classes: dict[str, _ClassText], root: str) -> tuple[str, ...] | None:
    """The classes that take the parameter: those whose ``__init__`` holds one of its places, and every
    class that constructs one of them; None when a place is elsewhere (a ``forward``, ``__main__``) or
    a class that needs it is constructed outside the ``__init__`` of another."""
    users = set()
    for row, _, _ in places:
        holder = next((n for n, c in classes.items() if c.first <= row <= c.last), None)
        if holder is None:
            return None
        users.add(holder)
    pending = list(users)
    while pending:
        name = pending.pop()
        if name != root and not classes[name].callers:
            return None  # constructed only outside the classes' __init__ (never, as generated)
        for caller in classes[name].callers - users:
            users.add(caller)
            pending.append(caller)
    return tuple(sorted(users)) if root in users else None


def _usable(name: str, taken: set[str]) -> bool:
    """A parameter name that can be a Python argument and shadows no module-level name or builtin."""
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        return False
    return name not in taken


def _module_names(tokens: list[tokenize.TokenInfo]) -> set[str]:
    """The names the file defines or imports at module level (classes, functions, ``torch``, ``nn``)."""
    names = set()
    for token, following in itertools.pairwise(tokens):
        if token.start[1] == 0 and token.string in ("class", "def") and following.type == tokenize.NAME:
            names.add(following.string)
        if token.start[1] == 0 and token.string in ("import", "from"):
            row = token.start[0]
            names.update(t.string for t in tokens if t.start[0] == row and t.type == tokenize.NAME)
    return names


def _clashes(
    name: str, users: tuple[str, ...], classes: dict[str, _ClassText], tokens: list[tokenize.TokenInfo]
) -> bool:
    """Whether ``name`` already means something in the ``__init__`` of a class that would take it (one
    of its parameters): attributes (``self.dropout``) and keyword arguments (``dropout=0.1``) do not
    count."""
    rows = [(classes[u].signature, classes[u].last) for u in users]
    for before, token, after in zip(tokens, tokens[1:], tokens[2:], strict=False):
        if token.type != tokenize.NAME or token.string != name:
            continue
        if not any(first <= token.start[0] <= last for first, last in rows):
            continue
        attribute = before.string == "."
        keyword_argument = before.string in ("(", ",") and after.string == "="
        if not attribute and not keyword_argument:
            return True
    return False


def _candidates(value: int | float) -> list[int | float]:
    """Values unlike the default and unlike each other, in the order tried (a float stays a probability
    below 1; an integer's multiples first, which keep what divides it dividing it; its halves last,
    which keep what it divides divisible: ViT-B/32's patch size, of which 224 is no multiple of 64 or
    96, is 16 or 8)."""
    if isinstance(value, int):
        tried = [value * 2, value * 3, value // 2, value * 2 + 3, value * 3 + 4, value // 4]
        return list(dict.fromkeys(v for v in tried if v != value and v > 0))
    return [round(value / (2 + attempt) + 0.0625 * (attempt + 1), 6) for attempt in range(2)]


def _places(
    tokens: list[tokenize.TokenInfo],
    name: str,
    value: int | float,
    emit_with: Callable[[str, int | float], str | None],
) -> tuple[Position, ...]:
    """Where the parameter's value is in the file: the places two accepted changed values agree on."""
    agreed: tuple[Position, ...] | None = None
    for changed in _candidates(value):
        try:
            other = emit_with(name, changed)
        except SpecError:
            continue  # a value the spec refuses (a width its head count does not divide): the next
        if other is None:
            continue
        places = _differences(tokens, other, value, changed)
        if not places or (agreed is not None and places != agreed):
            return ()
        if agreed is not None:
            return agreed
        agreed = places
    return ()


def _differences(
    ours: list[tokenize.TokenInfo], other: str, value: int | float, changed: int | float
) -> tuple[Position, ...] | None:
    """Where ``ours`` has ``value`` and ``other`` has ``changed``; None when they differ otherwise."""
    theirs = _tokens(other)
    if theirs is None or len(ours) != len(theirs):
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


def _rewrite(source: str, root: str, exposed: list[Exposed], classes: dict[str, _ClassText]) -> str:
    lines = source.splitlines()
    edits: dict[int, list[tuple[int, int, str]]] = {}  # row -> (start, end, text), original columns
    arguments_at: dict[tuple[int, int], list[str]] = {}  # (row, column after a call's `(`) -> names
    parameters_of: dict[str, list[str]] = {}  # a block's class -> its new parameters, in order
    for parameter in exposed:
        name = parameter.name
        for row, start, end in parameter.places:
            edits.setdefault(row, []).append((start, end, name))
        for user in parameter.users:
            for callee, row, column in classes[user].calls:
                if callee in parameter.users and callee != root:
                    arguments_at.setdefault((row, column), []).append(f"{name}={name}")
            if user != root:
                parameters_of.setdefault(user, []).append(f", {name}: {parameter.annotation}")
    for (row, column), names in arguments_at.items():  # before the call's own arguments, if any
        text = ", ".join(names) + ("" if lines[row - 1][column] == ")" else ", ")
        edits.setdefault(row, []).append((column, column, text))
    for user, parameters in parameters_of.items():  # right after `self`, before any with a default
        row = classes[user].signature
        column = lines[row - 1].index("(self") + len("(self")
        edits.setdefault(row, []).append((column, column, "".join(parameters)))
    for row, changes in edits.items():
        line = lines[row - 1]
        for start, end, text in sorted(changes, key=lambda c: (c[0], c[1]), reverse=True):
            line = line[:start] + text + line[end:]
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
