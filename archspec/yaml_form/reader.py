"""Reading a YAML spec: YAML (bounded, positioned) to the text-language spec it means, to ``archspec.ast``.

The YAML structure gives the layout (a mapping's key and its value, a list of statements); the strings
hold the text language's own pieces: expressions, layer chains (``conv(64, 7, stride=2) >> relu``), the
headers of structural statements (``for i in range(3)``, ``residual if stride == 1``). The reader writes
the equivalent text, piece by piece, with a map back to the YAML file (``positions.Generated``), and parses
it with the text parser: one parser, one AST, one meaning. docs/yaml.md describes the form.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from archspec import ast
from archspec.errors import Diagnostic, SpecError, closest, printable
from archspec.limits import MAX_NESTING
from archspec.source import Span
from archspec.yaml_form.pieces import NAME, RESERVED, entries, items, kind_of
from archspec.yaml_form.positions import Generated, Pos, Source, Where
from archspec.yaml_form.statements import Statements


def read_yaml(text: str, path: str) -> ast.Module:
    """The AST of a YAML spec; every span points into the YAML file. Raises SpecError."""
    module, generated = _parsed(text, path)
    moved: ast.Module = generated.move(module, path)
    return moved


def text_of(text: str, path: str) -> str:
    """The text-language spec a YAML spec means (as generated: one line a statement, not formatted).
    Raises SpecError, positioned in the YAML file, when it does not parse."""
    return _parsed(text, path)[1].text()


def _parsed(text: str, path: str) -> tuple[ast.Module, Generated]:
    from archspec.syntax import parse  # Lark loads only when a spec is parsed

    document = load_document(text, path)
    generated = Generated()
    _Reader(Source(text), generated, path, text).file(document)
    try:
        return parse(generated.text(), path), generated
    except SpecError as error:
        raise generated.error(error, path, text) from None


def is_spec_document(text: str, path: str) -> bool:
    """Whether ``text`` is YAML whose top level is a spec's (its keys ``imports``, ``lets``, ``block ...``
    and ``network ...``): checked before an imported YAML file is shown in any message."""
    try:
        document = load_document(text, path)
    except SpecError:
        return False
    return isinstance(document, dict) and all(
        isinstance(key, str) and (key in ("imports", "lets") or key.startswith(("block ", "network ")))
        for key in document
    )


_TOP_WORDS = ("imports", "lets", "block", "network")


def meant_as_spec(text: str, path: str) -> bool:
    """Whether a YAML file found in a folder was meant as a spec: a top-level key whose first word is a
    spec's (``network``, ``block``, ``imports``, ``lets``) or a near miss of one (``netwrok resnet``), so
    that a misspelt spec is reported rather than passed over like a CI workflow. A file that this reader
    refuses (YAML anchors, tags: a GitLab CI file) is not. Imports stay strict (``is_spec_document``)."""
    try:
        document = load_document(text, path)
    except SpecError:
        return False
    if not isinstance(document, dict):
        return False
    words = [key.split()[0] for key in document if isinstance(key, str) and key.split()]
    return any(word in _TOP_WORDS or closest(word, _TOP_WORDS) is not None for word in words)


def _misspelt_top_key(key: str) -> str | None:
    """``did you mean 'network tiny'?`` for ``netwrok tiny`` (the first word a near miss of a top-level
    word; the rest kept), ``did you mean 'imports'?`` for ``improts``."""
    first, _, rest = key.partition(" ")
    word = closest(first, _TOP_WORDS)
    if word is None:
        return None
    return f"did you mean '{printable(word + (' ' + rest if rest else ''))}'?"


def load_document(text: str, path: str) -> Any:
    """The YAML document of ``text`` (ruamel's round-trip types, with positions), after bounding it: one
    document, no anchors, aliases or tags (a billion-laughs file is refused before anything is built),
    collections nested at most ``MAX_NESTING`` deep. Raises SpecError at the YAML position."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        CollectionStartEvent,
        DocumentStartEvent,
        MappingStartEvent,
        ScalarEvent,
    )

    def fail(mark: Any, message: str, hint: str | None = None) -> NoReturn:
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        span = Span(path, line, column, line, column + 1)
        raise SpecError([Diagnostic(message, span, hint)], {path: text})

    yaml = YAML(typ="rt")
    documents = 0
    # Per open collection: None for a list, else whether a mapping's next node is a key.
    frames: list[list[bool] | None] = []
    try:
        for event in yaml.parse(text):
            if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                fail(
                    event.start_mark,
                    "YAML anchors and aliases are not allowed in a spec",
                    "write the value out",
                )
            if getattr(event, "tag", None) is not None:
                fail(event.start_mark, f"YAML tags are not allowed in a spec ({printable(event.tag)})")
            if isinstance(event, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    fail(event.start_mark, "a YAML spec is one document", "remove the `---` line")
            if isinstance(event, ScalarEvent | CollectionStartEvent) and frames and frames[-1] is not None:
                if frames[-1][0] and isinstance(event, CollectionStartEvent):
                    fail(
                        event.start_mark, "a key of a YAML spec is a name or a text, not a list or a mapping"
                    )
                frames[-1][0] = not frames[-1][0]
            if isinstance(event, CollectionStartEvent):
                frames.append([True] if isinstance(event, MappingStartEvent) else None)
                if len(frames) > MAX_NESTING:
                    fail(
                        event.start_mark,
                        f"nested too deeply: more than {MAX_NESTING} levels of YAML lists and mappings",
                        "split the layers into blocks",
                    )
            elif isinstance(event, CollectionEndEvent):
                frames.pop()
        return yaml.load(text)
    except MarkedYAMLError as error:
        problem = str(error.problem or error.context or "not valid YAML").strip()
        fail(error.problem_mark or error.context_mark, f"invalid YAML: {problem}")
    except YAMLError as error:
        fail(None, f"invalid YAML: {printable(str(error).strip())}")


class _Reader(Statements):
    """Writes the text-language spec of a YAML document into ``out``, checking its structure."""

    def file(self, document: Any) -> None:
        """The top-level mapping: imports, lets, blocks and the network, in the file's order."""
        if not isinstance(document, dict):
            self.fail(
                (1, 1),
                f"a YAML spec is a mapping, got {kind_of(document)}",
                "its keys are `imports`, `lets`, `block Name(params)` and `network name` (docs/yaml.md)",
            )
        for key, key_pos, value, value_pos in items(document, (1, 1)):
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
                    _misspelt_top_key(key)
                    or "the keys are `imports`, `lets`, `block Name(params)` and `network name`",
                    len(key),
                )

    def imports(self, value: Any, where: Pos, key_pos: Pos) -> None:
        """``imports:``: a list of paths (every block) and ``path: [Name, ...]`` (those blocks)."""
        if not isinstance(value, list):
            self.fail(key_pos, f"imports: expected a list of files, got {kind_of(value)}")
        for entry, entry_pos in entries(value, where):
            if isinstance(entry, str):
                self.out.line(0, ("import ", entry_pos), (json.dumps(entry), entry_pos))
                continue
            if not isinstance(entry, dict) or len(entry) != 1:
                self.fail(
                    entry_pos,
                    f"imports: an entry is a file name or `file: [Name, ...]`, got {kind_of(entry)}",
                    "for example `- units.arch` (every block) or `- units.arch: [Unit]`",
                )
            ((file, file_pos, names, names_pos),) = items(entry, entry_pos)
            file = self.key(file, file_pos, "imports")
            listed = entries(names, names_pos) if isinstance(names, list) else [(names, names_pos)]
            pieces: list[tuple[str, Where]] = [
                ("from ", file_pos),
                (json.dumps(file), file_pos),
                (" import ", file_pos),
            ]
            for index, (name, name_pos) in enumerate(listed):
                if not isinstance(name, str) or not NAME.match(name):
                    self.fail(name_pos, f"imports: '{printable(str(name))}' is not a block's name")
                pieces.extend([(", " if index else "", name_pos), self.piece(name, name_pos)])
            if not listed:
                self.fail(
                    names_pos, "imports: name at least one block, or write the file alone to import all"
                )
            self.out.line(0, *pieces)

    def bindings(self, value: Any, where: Pos, key_pos: Pos, depth: int, what: str) -> None:
        """``name: value`` entries written as ``name = value`` lines (top-level lets and params)."""
        if not isinstance(value, dict):
            self.fail(key_pos, f"{what}: expected a mapping of name: value, got {kind_of(value)}")
        for name, name_pos, item, item_pos in items(value, where):
            name = self.name(name, name_pos, what)
            self.out.line(
                depth, self.piece(name, name_pos), (" = ", name_pos), *self.value(item, item_pos, what)
            )

    def block(self, key: str, where: Pos, value: Any, value_pos: Pos) -> None:
        """``block Name(params)``: a list (the body) or a mapping with ``label``, ``order`` and ``layers``."""
        self.header(key, where, 0)
        if isinstance(value, dict):
            found = {k: (kp, v, vp) for k, kp, v, vp in items(value, value_pos)}
            for name in found:
                if name not in ("label", "order", "layers"):
                    kp = found[name][0]
                    self.fail(
                        kp,
                        f"unknown key '{printable(str(name))}' in a block",
                        "a block has `label`, `order` and `layers`",
                    )
            if "layers" not in found:
                self.fail(where, "a block written as a mapping needs `layers:` (its body)", width=len(key))
            if "label" in found:
                label_pos, label, label_value_pos = found["label"]
                if not isinstance(label, str):
                    self.fail(label_value_pos, f"a block's label is a string, got {kind_of(label)}")
                self.out.line(
                    1, ("label: ", label_pos), (json.dumps(label, ensure_ascii=False), label_value_pos)
                )
            if "order" in found:
                self.order(*found["order"])
            layers_pos, body, body_pos = found["layers"]
            self.body(body, body_pos, layers_pos, 1)
            return
        self.body(value, value_pos, where, 1)

    def order(self, order_pos: Pos, names: Any, names_pos: Pos) -> None:
        """A block's ``order: [qkv, proj]``: a list of names, written as the text form's setting."""
        if not isinstance(names, list) or not names:
            self.fail(names_pos, f"a block's order is a list of names, got {kind_of(names)}")
        pieces: list[tuple[str, Pos]] = [("order: [", order_pos)]
        for index, (name, name_pos) in enumerate(entries(names, names_pos)):
            pieces += [(", ", name_pos)] if index else []
            pieces.append((self.name(name, name_pos, "a block's order"), name_pos))
        self.out.line(1, *pieces, ("]", names_pos))

    def network(self, key: str, where: Pos, value: Any, value_pos: Pos) -> None:
        """``network name``: metadata, ``input``, ``params``, ``variants``, ``init``, ``layers``."""
        if not isinstance(value, dict):
            self.fail(
                where, f"a network is a mapping (input, params, variants, layers, ...), got {kind_of(value)}"
            )
        self.header(key, where, 0)
        for name, name_pos, item, item_pos in items(value, value_pos):
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
        if not NAME.match(name) or name in RESERVED:
            self.fail(where, f"metadata: '{printable(name)}' is not a name", width=len(name))
        if isinstance(value, dict):
            self.out.line(depth, self.piece(name, where), (":", where))
            if not value:
                self.fail(value_pos, f"metadata: the group '{name}' is empty")
            for key, key_pos, item, item_pos in items(value, value_pos):
                self.meta(self.key(key, key_pos, "metadata"), key_pos, item, item_pos, depth + 1)
            return
        pieces = self.value(value, value_pos, f"metadata '{name}'", meta=True)
        self.out.line(depth, self.piece(name, where), (": ", where), *pieces)

    def variants(self, value: Any, where: Pos, key_pos: Pos) -> None:
        """Rows ``name: {param: value, ...}`` (or the row's text ``param=value, ...``, or nothing)."""
        if not isinstance(value, dict):
            self.fail(key_pos, f"variants: expected a mapping of name: overrides, got {kind_of(value)}")
        self.out.line(1, ("variants:", key_pos))
        for name, name_pos, row, row_pos in items(value, where):
            name = self.name(name, name_pos, "variants")
            pieces: list[tuple[str, Where]] = [self.piece(name, name_pos), (":", name_pos)]
            if isinstance(row, str):
                pieces.extend([(" ", row_pos), self.fragment(row, row_pos, f"variant '{name}'")])
            elif isinstance(row, dict):
                for index, (param, param_pos, item, item_pos) in enumerate(items(row, row_pos)):
                    param = self.name(param, param_pos, f"variant '{name}'")
                    pieces.extend(
                        [("," if index else "", param_pos), (" ", param_pos), self.piece(param, param_pos)]
                    )
                    pieces.extend([("=", param_pos), *self.value(item, item_pos, f"variant '{name}'")])
            elif row is not None:
                self.fail(
                    row_pos, f"variant '{name}': expected a mapping of param: value, got {kind_of(row)}"
                )
            self.out.line(2, *pieces)

    def init(self, value: Any, where: Pos, key_pos: Pos, depth: int) -> None:
        """``init:`` rules ``target: clauses`` (target an op, or a quoted name pattern) and ``when built``."""
        if not isinstance(value, dict) or not value:
            self.fail(key_pos, f"init: expected a mapping of rules (op: clauses), got {kind_of(value)}")
        for target, target_pos, clauses, clauses_pos in items(value, where):
            target = self.key(target, target_pos, "init")
            if target == "when built" and depth == 2:
                self.out.line(depth, ("when built:", target_pos))
                self.init(clauses, clauses_pos, target_pos, depth + 1)
                continue
            if not isinstance(clauses, str):
                self.fail(
                    clauses_pos,
                    f"init: a rule's clauses are a string, got {kind_of(clauses)}",
                    'for example `conv: kaiming_normal(mode="fan_out"), bias=zeros`',
                )
            self.out.line(
                depth,
                self.label(target, target_pos),
                (": ", target_pos),
                self.fragment(clauses, clauses_pos, "init"),
            )
