"""The statements of a body in YAML: a list whose entries are strings (a chain, a binding) or mappings (a
named layer or group, ``for``, ``if``/``elif``/``else``, ``residual`` with its ``shortcut``, a merge)."""

from __future__ import annotations

from typing import Any

from archspec.errors import printable
from archspec.yaml_form.pieces import CHAIN_MERGE, KEYWORD, MERGES, STATE, Pieces, entries, items, kind_of
from archspec.yaml_form.positions import Pos


class Statements(Pieces):
    """Bodies: each statement written as its text-language lines."""

    def body(self, value: Any, where: Pos, key_pos: Pos, depth: int) -> None:
        """A list of statements."""
        if not isinstance(value, list):
            self.fail(
                key_pos,
                f"expected a list of layers and statements, got {kind_of(value)}",
                "write each statement on a line of its own, starting with `- `",
            )
        if not value:
            self.fail(key_pos, "the list of layers is empty")
        for statement, statement_pos in entries(value, where):
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
                "a statement is a string (a layer, a binding) or a mapping (a named layer or group, for, "
                f"if, "
                f"residual, concat, ...), got {kind_of(value)}",
                "a named group is `- name:` followed by its list of layers",
            )
        entries = [(self.key(k, kp, "a statement"), kp, v, vp) for k, kp, v, vp in items(value, where)]
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
            elif kind == "state":
                self.state(key, key_pos, item, item_pos, depth)
            elif kind == "merge":
                self.header(key, key_pos, depth)
                self.body(item, item_pos, key_pos, depth + 1)
            else:
                self.suite(key, key_pos, item, item_pos, depth)

    def kind(self, key: str) -> str:
        """What a statement's key opens: for, if, elif, else, residual, shortcut, merge or a label."""
        words = key.strip()
        match = KEYWORD.match(words)
        if match and (match.group(1) != "else" or words == "else"):
            return match.group(1)
        if words in MERGES or CHAIN_MERGE.match(words):
            return "merge"
        if STATE.match(words):
            return "state"
        return "label"

    def state(self, key: str, where: Pos, value: Any, value_pos: Pos, depth: int) -> None:
        """``param name: "[d0, d1], init=..."`` or ``buffer name: "value, persistent=false"``."""
        if not isinstance(value, str):
            self.fail(
                value_pos if value is not None else where,
                f"'{printable(key)}': a declaration's value is a string, got {kind_of(value)}",
                'write it as in a .arch file: `- param scale: "[96], init=ones"`',
            )
        self.header(key, where, depth, (" ", value_pos), self.fragment(value, value_pos, f"'{key}'"))

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
                f"got {kind_of(value)}",
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
                    "an `if` mapping holds `if ...`, `elif ...` and a last `else`; "
                    "start a new statement with `- `",
                    len(key),
                )
            seen_else = kind == "else"
            self.suite(key, key_pos, value, value_pos, depth)

    def residual(self, entries: list[tuple[str, Pos, Any, Pos]], kinds: list[str], depth: int) -> None:
        """``residual [if ...]`` with an optional ``shortcut [name]`` key before it (made first) or after
        it (made last)."""
        if (
            len(entries) > 2
            or any(kind not in ("residual", "shortcut") for kind in kinds)
            or kinds.count("residual") > 1
        ):
            extra = (
                next(
                    entry
                    for entry, kind in zip(entries, kinds, strict=True)
                    if kind not in ("residual", "shortcut")
                )
                if any(kind not in ("residual", "shortcut") for kind in kinds)
                else entries[-1]
            )
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
            self.fail(key_pos, f"a residual's body is a list of layers, got {kind_of(body)}", width=len(key))
        self.body(body, body_pos, key_pos, depth + 1)
        if shortcut is not None:
            self.suite(*shortcut, depth=depth)
