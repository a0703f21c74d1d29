"""Reading a YAML spec: YAML (bounded, positioned) to the text-language spec it means, to ``archspec.ast``.

The YAML structure gives the layout (a mapping's key and its value, a list of statements); the strings
hold the text language's own pieces: expressions, layer chains (``conv(64, 7, stride=2) >> relu``), the
headers of structural statements (``for i in range(3)``, ``residual if stride == 1``). The reader writes
the equivalent text, piece by piece, with a map back to the YAML file (``positions.Generated``), and parses
it with the text parser: one parser, one AST, one meaning. docs/yaml.md describes the form.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

from archspec import ast
from archspec.errors import Diagnostic, SpecError, did_you_mean, printable
from archspec.limits import MAX_NESTING
from archspec.source import Span
from archspec.yaml_form.positions import Generated, Pos, Source, Where

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = frozenset(
    "network block import from input for in if elif else residual shortcut and or not true false none".split()
)
_MERGES = ("concat", "add", "mul")
_CHAIN_MERGE = re.compile(r".*>>\s*(concat|add|mul)\s*\Z", re.DOTALL)
_KEYWORD = re.compile(r"(for|if|elif|else|residual|shortcut)(?![A-Za-z0-9_])")
SECTIONS = ("input", "params", "variants", "init", "layers")
TOP_KEYS = ("imports", "lets", "block Name(params)", "network name")
_LIST_BREAK = 80  # characters of a written list before its elements go on lines of their own


def read_yaml(text: str, path: str) -> ast.Module:
    """The AST of a YAML spec; every span points into the YAML file. Raises SpecError."""
    from archspec.syntax import parse  # Lark loads only when a spec is parsed

    document = load_document(text, path)
    generated = Generated()
    _Reader(Source(text), generated, path, text).file(document)
    try:
        module = parse(generated.text(), path)
    except SpecError as error:
        raise generated.error(error, path, text) from None
    moved: ast.Module = generated.move(module, path)
    return moved


def load_document(text: str, path: str) -> Any:
    """The YAML document of ``text`` (ruamel's round-trip types, with positions), after bounding it: one
    document, no anchors, aliases or tags (a billion-laughs file is refused before anything is built),
    collections nested at most ``MAX_NESTING`` deep. Raises SpecError at the YAML position."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, DocumentStartEvent

    def fail(mark: Any, message: str, hint: str | None = None) -> NoReturn:
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        span = Span(path, line, column, line, column + 1)
        raise SpecError([Diagnostic(message, span, hint)], {path: text})

    yaml = YAML(typ="rt")
    depth = documents = 0
    try:
        for event in yaml.parse(text):
            if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                fail(event.start_mark, "YAML anchors and aliases are not allowed in a spec", "write the value out")
            if getattr(event, "tag", None) is not None:
                fail(event.start_mark, f"YAML tags are not allowed in a spec ({printable(event.tag)})")
            if isinstance(event, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    fail(event.start_mark, "a YAML spec is one document", "remove the `---` line")
            elif isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_NESTING:
                    fail(
                        event.start_mark,
                        f"nested too deeply: more than {MAX_NESTING} levels of YAML lists and mappings",
                        "split the layers into blocks",
                    )
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
        return yaml.load(text)
    except MarkedYAMLError as error:
        problem = str(error.problem or error.context or "not valid YAML").strip()
        fail(error.problem_mark or error.context_mark, f"invalid YAML: {problem}")
    except YAMLError as error:
        fail(None, f"invalid YAML: {printable(str(error).strip())}")


def _kind(value: Any) -> str:
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


def _items(mapping: Any, fallback: Pos) -> list[tuple[Any, Pos, Any, Pos]]:
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


def _entries(sequence: Any, fallback: Pos) -> list[tuple[Any, Pos]]:
    """A list's elements with their positions."""
    out = []
    for index, value in enumerate(sequence):
        try:
            position = _pos(sequence.lc.item(index))
        except (AttributeError, KeyError, TypeError):
            position = fallback
        out.append((value, position))
    return out


class _Reader:
    """Writes the text-language spec of a YAML document into ``out``, checking its structure."""

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
            self.fail(where, f"{context}: a key is a name, got {_kind(key)} ({printable(str(key))})")
        return key

    def fragment(self, value: str, where: Pos, what: str) -> tuple[str, Where]:
        """A string holding text-language code (an expression, a chain): not empty, not continued."""
        if not value.strip():
            self.fail(where, f"{what} is empty")
        if value.rstrip().endswith("\\"):
            self.fail(where, f"{what} ends in a backslash", "a YAML value is one piece; there is nothing to continue")
        return self.piece(value, where)

    def end(self, key: str, where: Pos) -> Pos:
        """The position just after a key, for the ':' the text puts there."""
        chars = self.chars(key, where)
        return chars[-1]

    # ------------------------------------------------------------ the file
    def file(self, document: Any) -> None:
        """The top-level mapping: imports, lets, blocks and the network, in the file's order."""
        if not isinstance(document, dict):
            self.fail(
                (1, 1),
                f"a YAML spec is a mapping, got {_kind(document)}",
                "its keys are `imports`, `lets`, `block Name(params)` and `network name` (docs/yaml.md)",
            )
        for key, key_pos, value, value_pos in _items(document, (1, 1)):
            key = self.key(key, key_pos, "the top of the spec")
            if key == "imports":
                self.imports(value, value_pos, key_pos)
            elif key == "lets":
                self.bindings(value, value_pos, key_pos, 0, "lets")
            elif key.startswith("block ") or key == "block":
                self.block(key, key_pos, value, value_pos)
            elif key.startswith("network ") or key == "network":
                self.network(key, key_pos, value, value_pos)
            else:
                self.fail(
                    key_pos,
                    f"unknown key '{printable(key)}' at the top of a YAML spec",
                    did_you_mean(key, ["imports", "lets"])
                    or "the keys are `imports`, `lets`, `block Name(params)` and `network name`",
                    len(key),
                )

    def imports(self, value: Any, where: Pos, key_pos: Pos) -> None:
        """``imports:``: a list of paths (every block) and ``path: [Name, ...]`` (those blocks)."""
        if not isinstance(value, list):
            self.fail(key_pos, f"imports: expected a list of files, got {_kind(value)}")
        for entry, entry_pos in _entries(value, where):
            if isinstance(entry, str):
                self.out.line(0, ("import ", entry_pos), (json.dumps(entry), entry_pos))
                continue
            if not isinstance(entry, dict) or len(entry) != 1:
                self.fail(
                    entry_pos,
                    f"imports: an entry is a file name or `file: [Name, ...]`, got {_kind(entry)}",
                    "for example `- units.arch` (every block) or `- units.arch: [Unit]`",
                )
            ((file, file_pos, names, names_pos),) = _items(entry, entry_pos)
            file = self.key(file, file_pos, "imports")
            listed = _entries(names, names_pos) if isinstance(names, list) else [(names, names_pos)]
            pieces: list[tuple[str, Where]] = [("from ", file_pos), (json.dumps(file), file_pos), (" import ", file_pos)]
            for index, (name, name_pos) in enumerate(listed):
                if not isinstance(name, str) or not _NAME.match(name):
                    self.fail(name_pos, f"imports: '{printable(str(name))}' is not a block's name")
                pieces.extend([(", " if index else "", name_pos), self.piece(name, name_pos)])
            if not listed:
                self.fail(names_pos, "imports: name at least one block, or write the file alone to import all")
            self.out.line(0, *pieces)

    def bindings(self, value: Any, where: Pos, key_pos: Pos, depth: int, what: str) -> None:
        """``name: value`` entries written as ``name = value`` lines (top-level lets and params)."""
        if not isinstance(value, dict):
            self.fail(key_pos, f"{what}: expected a mapping of name: value, got {_kind(value)}")
        for name, name_pos, item, item_pos in _items(value, where):
            name = self.name(name, name_pos, what)
            self.out.line(depth, self.piece(name, name_pos), (" = ", name_pos), *self.value(item, item_pos, what))

    def name(self, name: Any, where: Pos, what: str) -> str:
        """A key that must be a name (a parameter, a variant)."""
        name = self.key(name, where, what)
        if not _NAME.match(name) or name in _RESERVED:
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
            elements = [self.value(item, item_pos, what, meta) for item, item_pos in _entries(value, where)]
            long = sum(len(text) for pieces in elements for text, _ in pieces) > _LIST_BREAK
            out: list[tuple[str, Where]] = [("[", where)]
            for index, pieces in enumerate(elements):
                if index:
                    out.append((",", where))
                    out.append(("\n" if long else " ", where))
                out.extend(pieces)
            out.append(("]", where))
            return out
        self.fail(where, f"{what}: expected a value (a number, an expression in a string, a list), got {_kind(value)}")

    # ------------------------------------------------------------ blocks and the network
    def header(self, key: str, where: Pos, depth: int, *rest: tuple[str, Where]) -> None:
        """``key:`` as written (a block's signature, ``for ...``), then ``rest`` on the same line."""
        self.out.line(depth, self.piece(key, where), (":", self.end(key, where)), *rest)

    def block(self, key: str, where: Pos, value: Any, value_pos: Pos) -> None:
        """``block Name(params)``: a list (the body) or a mapping with ``label`` and ``layers``."""
        self.header(key, where, 0)
        if isinstance(value, dict):
            found = {k: (kp, v, vp) for k, kp, v, vp in _items(value, value_pos)}
            for name in found:
                if name not in ("label", "layers"):
                    kp = found[name][0]
                    self.fail(kp, f"unknown key '{printable(str(name))}' in a block", "a block has `label` and `layers`")
            if "layers" not in found:
                self.fail(where, "a block written as a mapping needs `layers:` (its body)", width=len(key))
            if "label" in found:
                label_pos, label, label_value_pos = found["label"]
                if not isinstance(label, str):
                    self.fail(label_value_pos, f"a block's label is a string, got {_kind(label)}")
                self.out.line(1, ("label: ", label_pos), (json.dumps(label, ensure_ascii=False), label_value_pos))
            layers_pos, body, body_pos = found["layers"]
            self.body(body, body_pos, layers_pos, 1)
            return
        self.body(value, value_pos, where, 1)

    def network(self, key: str, where: Pos, value: Any, value_pos: Pos) -> None:
        """``network name``: metadata, ``input``, ``params``, ``variants``, ``init``, ``layers``."""
        if not isinstance(value, dict):
            self.fail(where, f"a network is a mapping (input, params, variants, layers, ...), got {_kind(value)}")
        self.header(key, where, 0)
        for name, name_pos, item, item_pos in _items(value, value_pos):
            name = self.key(name, name_pos, "a network")
            if name == "input":
                pieces = [self.fragment(item, item_pos, "input")] if isinstance(item, str) else None
                self.out.line(1, ("input: ", name_pos), *(pieces or self.value(item, item_pos, "input")))
            elif name == "params":
                self.out.line(1, ("params:", name_pos))
                self.bindings(item, item_pos, name_pos, 2, "params")
            elif name == "variants":
                self.variants(item, item_pos, name_pos)
            elif name == "init":
                self.out.line(1, ("init:", name_pos))
                self.init(item, item_pos, name_pos, 2)
            elif name == "layers":
                self.out.line(1, ("layers:", name_pos))
                self.body(item, item_pos, name_pos, 2)
            else:
                self.meta(name, name_pos, item, item_pos, 1)

    def meta(self, name: str, where: Pos, value: Any, value_pos: Pos, depth: int) -> None:
        """A metadata entry: a value, or a mapping (a group)."""
        if not _NAME.match(name) or name in _RESERVED:
            self.fail(where, f"metadata: '{printable(name)}' is not a name", width=len(name))
        if isinstance(value, dict):
            self.out.line(depth, self.piece(name, where), (":", where))
            if not value:
                self.fail(value_pos, f"metadata: the group '{name}' is empty")
            for key, key_pos, item, item_pos in _items(value, value_pos):
                self.meta(self.key(key, key_pos, "metadata"), key_pos, item, item_pos, depth + 1)
            return
        pieces = self.value(value, value_pos, f"metadata '{name}'", meta=True)
        self.out.line(depth, self.piece(name, where), (": ", where), *pieces)

    def variants(self, value: Any, where: Pos, key_pos: Pos) -> None:
        """Rows ``name: {param: value, ...}`` (or the row's text ``param=value, ...``, or nothing)."""
        if not isinstance(value, dict):
            self.fail(key_pos, f"variants: expected a mapping of name: overrides, got {_kind(value)}")
        self.out.line(1, ("variants:", key_pos))
        for name, name_pos, row, row_pos in _items(value, where):
            name = self.name(name, name_pos, "variants")
            pieces: list[tuple[str, Where]] = [self.piece(name, name_pos), (":", name_pos)]
            if isinstance(row, str):
                pieces.extend([(" ", row_pos), self.fragment(row, row_pos, f"variant '{name}'")])
            elif isinstance(row, dict):
                for index, (param, param_pos, item, item_pos) in enumerate(_items(row, row_pos)):
                    param = self.name(param, param_pos, f"variant '{name}'")
                    pieces.extend([("," if index else "", param_pos), (" ", param_pos), self.piece(param, param_pos)])
                    pieces.extend([("=", param_pos), *self.value(item, item_pos, f"variant '{name}'")])
            elif row is not None:
                self.fail(row_pos, f"variant '{name}': expected a mapping of param: value, got {_kind(row)}")
            self.out.line(2, *pieces)

    def init(self, value: Any, where: Pos, key_pos: Pos, depth: int) -> None:
        """``init:`` rules ``target: clauses`` (target an op, or a quoted name pattern) and ``when built``."""
        if not isinstance(value, dict) or not value:
            self.fail(key_pos, f"init: expected a mapping of rules (op: clauses), got {_kind(value)}")
        for target, target_pos, clauses, clauses_pos in _items(value, where):
            target = self.key(target, target_pos, "init")
            if target == "when built" and depth == 2:
                self.out.line(depth, ("when built:", target_pos))
                self.init(clauses, clauses_pos, target_pos, depth + 1)
                continue
            if not isinstance(clauses, str):
                self.fail(clauses_pos, f"init: a rule's clauses are a string (`kaiming_normal(mode=\"fan_out\"), bias=zeros`), got {_kind(clauses)}")
            self.out.line(depth, self.label(target, target_pos), (": ", target_pos), self.fragment(clauses, clauses_pos, "init"))

    def label(self, key: str, where: Pos) -> tuple[str, Where]:
        """A label or an init target: a name as it is, a quoted text-language string as it is, anything
        else (``conv{i}``, ``block1-0``, ``stage*.bn2``) as a quoted string (a template, a pattern)."""
        if (_NAME.match(key) and key not in _RESERVED) or key[:1] in ("'", '"'):
            return self.piece(key, where)
        return json.dumps(key, ensure_ascii=False), where

    # ------------------------------------------------------------ bodies
    def body(self, value: Any, where: Pos, key_pos: Pos, depth: int) -> None:
        """A list of statements."""
        if not isinstance(value, list):
            self.fail(
                key_pos,
                f"expected a list of layers and statements, got {_kind(value)}",
                "write each statement on a line of its own, starting with `- `",
            )
        if not value:
            self.fail(key_pos, "the list of layers is empty")
        for statement, statement_pos in _entries(value, where):
            self.statement(statement, statement_pos, depth)

    def statement(self, value: Any, where: Pos, depth: int) -> None:
        """One statement: a string (a chain, a binding) or a mapping (a named layer, a group, a
        structural statement)."""
        if isinstance(value, str):
            self.out.line(depth, self.fragment(value, where, "a statement"))
            return
        if not isinstance(value, dict) or not value:
            self.fail(
                where,
                f"a statement is a string (a layer, a binding) or a mapping (a named layer or group, for, if, "
                f"residual, concat, ...), got {_kind(value)}",
                "a named group is `- name:` followed by its list of layers",
            )
        entries = [(self.key(k, kp, "a statement"), kp, v, vp) for k, kp, v, vp in _items(value, where)]
        kinds = [self.kind(key) for key, *_ in entries]
        if kinds[0] == "if":
            self.conditional(entries, kinds, depth)
        elif "residual" in kinds:
            self.residual(entries, kinds, depth)
        elif len(entries) > 1:
            key, key_pos = entries[1][0], entries[1][1]
            self.fail(
                key_pos,
                f"one statement a list entry: '{printable(entries[0][0])}' and '{printable(key)}' are two",
                "start the second one on a line of its own with `- `",
                len(key),
            )
        else:
            key, key_pos, item, item_pos = entries[0]
            kind = kinds[0]
            if kind in ("elif", "else"):
                self.fail(key_pos, f"`{kind}` follows an `if` in the same mapping", width=len(key))
            if kind == "shortcut":
                self.fail(
                    key_pos,
                    "a shortcut goes with a residual, in the same mapping",
                    "write `- residual: [...]` and, below it at the same indentation, `shortcut: auto`",
                    len(key),
                )
            if kind == "label":
                self.labelled(key, key_pos, item, item_pos, depth)
            elif kind == "merge":
                self.header(key, key_pos, depth)
                self.body(item, item_pos, key_pos, depth + 1)
            else:
                self.suite(key, key_pos, item, item_pos, depth)

    def kind(self, key: str) -> str:
        """What a statement's key opens: for, if, elif, else, residual, shortcut, merge or a label."""
        words = key.strip()
        match = _KEYWORD.match(words)
        if match and (match.group(1) != "else" or words == "else"):
            return match.group(1)
        if words in _MERGES or _CHAIN_MERGE.match(words):
            return "merge"
        return "label"

    def labelled(self, key: str, where: Pos, value: Any, value_pos: Pos, depth: int) -> None:
        """``name: chain`` (a named layer) or ``name:`` and a list (a named group)."""
        if isinstance(value, str):
            label = self.label(key, where)
            self.out.line(depth, label, (": ", where), self.fragment(value, value_pos, f"layer '{key}'"))
        elif isinstance(value, list):
            self.out.line(depth, self.label(key, where), (":", where))
            self.body(value, value_pos, where, depth + 1)
        else:
            self.fail(
                value_pos if value is not None else where,
                f"'{printable(key)}': a named layer is `name: layer` and a named group `name:` and a list, "
                f"got {_kind(value)}",
            )

    def suite(self, key: str, where: Pos, value: Any, value_pos: Pos, depth: int) -> None:
        """``for ...``, ``if ...``, ``shortcut ...``: a one-line chain, or a list below."""
        if isinstance(value, str):
            self.header(key, where, depth, (" ", value_pos), self.fragment(value, value_pos, f"'{key}'"))
            return
        self.header(key, where, depth)
        self.body(value, value_pos, where, depth + 1)

    def conditional(self, entries: list[tuple[str, Pos, Any, Pos]], kinds: list[str], depth: int) -> None:
        """``if``, then ``elif``s and an ``else``, as keys of one mapping."""
        seen_else = False
        for index, ((key, key_pos, value, value_pos), kind) in enumerate(zip(entries, kinds, strict=True)):
            if index and (kind not in ("elif", "else") or seen_else):
                self.fail(
                    key_pos,
                    f"'{printable(key)}' cannot follow an `if`'s branches in the same mapping",
                    "an `if` mapping holds `if ...`, `elif ...` and a last `else`; start a new statement with `- `",
                    len(key),
                )
            seen_else = kind == "else"
            self.suite(key, key_pos, value, value_pos, depth)

    def residual(self, entries: list[tuple[str, Pos, Any, Pos]], kinds: list[str], depth: int) -> None:
        """``residual [if ...]`` with an optional ``shortcut [name]`` key before it (made first) or after it."""
        if len(entries) > 2 or any(kind not in ("residual", "shortcut") for kind in kinds) or kinds.count("residual") > 1:
            extra = next(
                entry for entry, kind in zip(entries, kinds, strict=True) if kind not in ("residual", "shortcut")
            ) if any(kind not in ("residual", "shortcut") for kind in kinds) else entries[-1]
            self.fail(
                extra[1],
                f"'{printable(extra[0])}' cannot go with a residual in one mapping",
                "a residual's mapping holds `residual` and at most one `shortcut`",
                len(extra[0]),
            )
        residual = entries[kinds.index("residual")]
        shortcut = entries[kinds.index("shortcut")] if "shortcut" in kinds else None
        key, key_pos, body, body_pos = residual
        self.header(key, key_pos, depth)
        if shortcut is not None and kinds[0] == "shortcut":
            self.suite(*shortcut, depth=depth + 1)
            shortcut = None
        if not isinstance(body, list):
            self.fail(key_pos, f"a residual's body is a list of layers, got {_kind(body)}", width=len(key))
        self.body(body, body_pos, key_pos, depth + 1)
        if shortcut is not None:
            self.suite(*shortcut, depth=depth)
