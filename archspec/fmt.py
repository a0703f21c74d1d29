"""`archspec fmt`: one canonical layout for spec text, keeping every comment and every aligned table.

The layout, line by line over the token stream of ``archspec.tokens`` (the parser's AST drops comments
and spacing, which are what a formatter keeps):

- indentation: two spaces a level; a line continued inside brackets lines up after its open bracket (or
  four spaces further when the bracket ends its line); a line continued with a backslash, four further;
- spacing: one space around binary operators, ``>>`` and a binding's ``=``; none around a keyword
  argument's ``=``, inside brackets, before ``,`` and ``:``, after a unary sign and in dotted names;
- alignment: a token the author padded to line up with a token of the line above or below (a table's
  column, left- or right-aligned) keeps its column; a trailing comment keeps its column where it fits
  (two spaces after the code at least); comment lines take the indentation of the code they sit in;
- blank lines: at most one in a row, one before every top-level block or network (with the comment
  lines above it) and after every indented body that ends at the top level;
- line breaking: a line of code longer than 110 characters is broken before ``>>`` (with a backslash)
  or, without a chain, after the commas of its first bracket. Lines the author broke stay broken.

The result is checked, before it is returned, to parse to the same syntax tree as the input (spans
aside): a layout never changes what a spec means. Formatting is run to a fixed point, so that it is
idempotent by construction (the tests check that one pass suffices on the zoo).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from archspec import ast
from archspec.source import Span
from archspec.tokens import OPERAND_KEYWORDS, Token, tokenize

LINE_LENGTH = 110  # the project's line length (ruff's, for the Python code)
INDENT = 2
CONTINUATION = 4
_MAX_PASSES = 4


def format_text(text: str, path: str = "<string>") -> str:
    """``text`` in the canonical layout. Raises SpecError when ``text`` does not parse."""
    from archspec.syntax import parse

    original = _shape(parse(text, path))
    result = text
    for _ in range(_MAX_PASSES):
        formatted = _format_once(result)
        if formatted == result:
            break
        result = formatted
    if _shape(parse(result, path)) != original:  # a bug of the formatter: never write such a file
        raise AssertionError(f"formatting {path} would change what it means")
    return result


def _shape(node: Any) -> Any:
    """A syntax tree without its spans: what two layouts of one spec have in common."""
    if isinstance(node, Span):
        return None
    if isinstance(node, ast.Node):
        fields = (_shape(getattr(node, f)) for f in ast.fields(node))
        return (type(node).__name__, *fields)
    if isinstance(node, tuple | list):
        return tuple(_shape(item) for item in node)
    return node


# ---------------------------------------------------------------- physical lines


@dataclass
class _Physical:
    """A line of the file: its code tokens, its comment, and where it stands in a logical line."""

    index: int
    tokens: list[Token]
    comment: Token | None
    indent: int  # the column of its first token or comment
    depth: int  # brackets open at its start
    after_backslash: bool  # the line above ended with a backslash
    continued: bool = False  # it ends with a backslash
    statement: int = 0  # the number of the statement it belongs to

    @property
    def blank(self) -> bool:
        """Neither code nor a comment."""
        return not self.tokens and self.comment is None

    @property
    def starts_statement(self) -> bool:
        """The first line of a logical line (not inside brackets, not after a backslash)."""
        return self.depth == 0 and not self.after_backslash


def _physical_lines(text: str) -> list[_Physical]:
    lines: list[_Physical] = []
    depth, after_backslash, statement = 0, False, 0
    current = _Physical(0, [], None, 0, 0, False)
    for token in tokenize(text):
        if token.kind in ("NEWLINE", "CONTINUATION"):
            current.continued = token.kind == "CONTINUATION"
            lines.append(current)
            after_backslash = current.continued
            current = _Physical(len(lines), [], None, 0, depth, after_backslash)
            continue
        if token.kind == "SPACE":
            continue
        if not current.tokens and current.comment is None:
            current.indent = token.column
        if not current.tokens and token.kind != "COMMENT" and current.starts_statement:
            statement += 1
        current.statement = statement
        if token.kind == "COMMENT":
            current.comment = token
            continue
        current.tokens.append(token)
        if token.text in ("(", "[") and token.kind == "OP":
            depth += 1
        elif token.text in (")", "]") and token.kind == "OP":
            depth = max(0, depth - 1)
    if not current.blank:
        lines.append(current)
    return lines


# ---------------------------------------------------------------- spacing


def _ends_value(token: Token) -> bool:
    """Whether a token can end an operand (so that ``-`` after it is binary and ``(`` a call)."""
    if token.kind == "NAME":
        return token.text not in OPERAND_KEYWORDS
    if token.kind == "OP":
        return token.text in (")", "]")
    return True


def _space(previous: Token, token: Token, unary: bool, binding: bool) -> str:
    """The canonical space between two tokens of a line. ``unary``: ``previous`` is a unary sign;
    ``binding``: the ``=`` involved binds a name (``x = 1``), not a keyword argument."""
    text = token.text if token.kind == "OP" else ""
    before = previous.text if previous.kind == "OP" else ""
    if text in (")", "]", ",", ":", ".") or before in ("(", "[", "."):
        return ""
    if "=" in (text, before):
        return " " if binding else ""
    if text in ("(", "["):
        return "" if _ends_value(previous) else " "
    if unary:
        return ""
    return " "


def _paddable(previous: Token, token: Token) -> bool:
    """Whether an author's padding may stand between two tokens: not before a closing bracket or a
    separator, nor inside a dotted name or between a name and its call's bracket."""
    if (token.kind == "OP" and token.text in (")", "]", ",", ":", ".", "=")) or previous.text in (".", "="):
        return False
    return not (token.text in ("(", "[") and _ends_value(previous))


def _is_unary(token: Token, previous: Token | None) -> bool:
    return token.kind == "OP" and token.text in ("-", "+") and (previous is None or not _ends_value(previous))


# ---------------------------------------------------------------- the layout


class _Layout:
    """Lays out one file: the indentation levels, the lines of each statement, the blank lines."""

    def __init__(self, text: str) -> None:
        self.lines = _physical_lines(text)
        coded = [line for line in self.lines if line.tokens]
        # A table is the lines of one statement (a list's rows) or statements one under the other.
        self.neighbours: dict[int, list[_Physical]] = {}
        for above, below in itertools.pairwise(coded):
            if above.statement == below.statement or (
                above.starts_statement and below.starts_statement and above.indent == below.indent
            ):
                self.neighbours.setdefault(above.index, []).append(below)
                self.neighbours.setdefault(below.index, []).append(above)

    def render(self) -> str:
        """The formatted text."""
        entries: list[tuple[str, int, list[str]]] = []  # (kind, level, lines): kind is blank/comment/code/def
        levels = [0]
        position = 0
        while position < len(self.lines):
            line = self.lines[position]
            if line.blank:
                entries.append(("blank", 0, [""]))
                position += 1
            elif not line.tokens and line.starts_statement:
                level = self._comment_level(line.indent, levels, position)
                assert line.comment is not None
                entries.append(("comment", level, [" " * (INDENT * level) + line.comment.text.rstrip()]))
                position += 1
            else:
                end = position + 1
                while end < len(self.lines) and not self.lines[end].starts_statement:
                    end += 1
                statement = [p for p in self.lines[position:end] if not p.blank]
                if line.indent > levels[-1]:
                    levels.append(line.indent)
                while line.indent < levels[-1]:
                    levels.pop()
                level = len(levels) - 1
                kind = "def" if level == 0 and line.tokens[0].text in ("block", "network") else "code"
                entries.append((kind, level, self._statement(statement, level)))
                position = end
        return _join(entries)

    def _comment_level(self, column: int, levels: list[int], position: int) -> int:
        """A comment line's level: the deepest level, open or about to open, whose column it reaches."""
        following = next((p for p in self.lines[position:] if p.tokens), None)
        candidates = list(levels)
        if following is not None and following.indent > levels[-1]:
            candidates.append(following.indent)
        reached = [level for level, indent in enumerate(candidates) if indent <= column]
        return reached[-1] if reached else 0

    def _statement(self, lines: list[_Physical], level: int) -> list[str]:
        """The lines of one statement (a logical line, over one or more physical lines)."""
        base = INDENT * level
        first = lines[0].tokens
        # A statement `name = value` binds: its `=` is spaced (a keyword argument's is not).
        bind = first[1] if len(first) > 1 and first[0].kind == "NAME" and first[1].text == "=" else None
        out: list[str] = []
        brackets: list[tuple[int, bool, int]] = []  # open brackets: (column, ends its line, line's indent)
        previous: Token | None = None
        unary = False
        placed: list[tuple[Token, int, int]] = []  # (token, column, brackets open before it)
        for number, physical in enumerate(lines):
            indent = base if number == 0 else self._continuation(physical, brackets, base)
            text = " " * indent
            shift = indent - physical.indent
            for position, token in enumerate(physical.tokens):
                if position > 0 and previous is not None:
                    space = _space(previous, token, unary, bind is not None and bind in (token, previous))
                    target = token.column + shift
                    gap = token.column - physical.tokens[position - 1].end_column  # the author's
                    padded = gap > len(space) and target > len(text) + len(space)
                    if padded and _paddable(previous, token) and self._aligned(physical, position):
                        space = " " * (target - len(text))
                    text += space
                placed.append((token, len(text), len(brackets)))
                if token.kind == "OP" and token.text in ("(", "["):
                    brackets.append((len(text), position == len(physical.tokens) - 1, indent))
                elif token.kind == "OP" and token.text in (")", "]") and brackets:
                    brackets.pop()
                text += token.text
                unary = _is_unary(token, previous)
                previous = token
            if physical.continued:
                text += " \\"
            if physical.comment is not None:
                target = physical.comment.column + shift
                gap = 0 if not physical.tokens else max(2, target - len(text))
                text += " " * gap + physical.comment.text.rstrip()
            out.append(text.rstrip())
        code_end = placed[-1][1] + len(placed[-1][0].text)  # a trailing comment may run past the limit
        if len(lines) == 1 and code_end > LINE_LENGTH:
            broken = _break(out[0][:code_end], placed, base)
            if broken is not None:
                broken[-1] += out[0][code_end:]
                return broken
        return out

    def _continuation(self, physical: _Physical, brackets: list[tuple[int, bool, int]], base: int) -> int:
        """The indentation of a line that continues a statement."""
        if not brackets:
            return base + CONTINUATION
        column, hanging, indent = brackets[-1]
        closes = bool(physical.tokens) and physical.tokens[0].text in (")", "]")
        if hanging:
            return indent if closes else indent + CONTINUATION
        return column + 1

    def _aligned(self, physical: _Physical, position: int) -> bool:
        """Whether the author lined a token up with its like on the line above or below: a token of the
        same kind after the same token, starting or ending at the same column (a table's column)."""
        token, before = physical.tokens[position], physical.tokens[position - 1].text
        for neighbour in self.neighbours.get(physical.index, []):
            for other, previous in zip(neighbour.tokens[1:], neighbour.tokens, strict=False):
                same_place = other.column == token.column or other.end_column == token.end_column
                if same_place and other.kind == token.kind and previous.text == before:
                    return True
        return False


def _break(code: str, placed: list[tuple[Token, int, int]], base: int) -> list[str] | None:
    """A line of code too long, broken before its chain's ``>>`` or after its first bracket's commas."""
    chain = [column for token, column, depth in placed if depth == 0 and token.text == ">>"]
    if chain:
        return _fill(code, chain, " " * (base + CONTINUATION), " \\")
    opener = next(((i, c) for i, (t, c, d) in enumerate(placed) if d == 0 and t.text in ("(", "[")), None)
    if opener is None:
        return None
    commas = []
    for token, column, depth in placed[opener[0] + 1 :]:
        if depth == 0:
            break
        if depth == 1 and token.text == ",":
            commas.append(column + 1)
    if not commas:
        return None
    return _fill(code, commas, " " * (opener[1] + 1), "")


def _fill(code: str, cuts: list[int], indent: str, mark: str) -> list[str]:
    """``code`` cut at the given columns, as many pieces a line as fit."""
    bounds = [0, *cuts, len(code)]
    pieces = [code[a:b].strip() for a, b in itertools.pairwise(bounds)]
    lines: list[str] = []
    current = code[: cuts[0]].rstrip()
    for piece in pieces[1:]:
        if not piece:
            continue
        candidate = f"{current} {piece}"
        if len(candidate) + len(mark) <= LINE_LENGTH:
            current = candidate
        else:
            lines.append(current + mark)
            current = indent + piece
    lines.append(current)
    return lines


_BLANK = [""]


def _join(entries: list[tuple[str, int, list[str]]]) -> str:
    """The entries' lines with the canonical blank lines."""
    out: list[list[str]] = []  # each entry's lines; BLANK for a blank line
    kinds: list[tuple[str, int]] = []
    for kind, level, lines in entries:
        if kind == "blank":
            if out and out[-1] != _BLANK:
                out.append(_BLANK)
                kinds.append(("blank", 0))
            continue
        previous = next((k for k in reversed(kinds) if k[0] != "blank"), None)
        if level == 0 and previous is not None and previous[1] > 0 and out[-1] != _BLANK:
            out.append(_BLANK)
            kinds.append(("blank", 0))
        if kind == "def":
            start = len(out)
            while start > 0 and kinds[start - 1] == ("comment", 0):
                start -= 1
            if start > 0 and out[start - 1] != _BLANK:
                out.insert(start, _BLANK)
                kinds.insert(start, ("blank", 0))
        out.append(lines)
        kinds.append((kind, level))
    while out and out[-1] == _BLANK:
        out.pop()
    return "".join(line + "\n" for lines in out for line in lines) if out else ""


def _format_once(text: str) -> str:
    return _Layout(text).render()
