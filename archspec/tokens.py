"""Spec text as a flat stream of tokens that keeps what the parser drops: comments, newlines, line
continuations and the columns of everything.

The formatter (``archspec.fmt``) lays lines out from it and the Pygments lexer colours it. It follows
the terminals of ``grammar.lark``; where Lark's contextual lexer decides by the parser's state (a dotted
reference such as ``layer1.0.conv``), the rule here decides by the previous token. It never fails: a
character no terminal takes is an ``ERROR`` token (the formatter parses the file first, so it sees none).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words the grammar reserves ("true", "false" and "none" are values and listed apart). `init`, `when`
# and `built` are keywords only where the grammar expects them (`init:`, `when built:`): names elsewhere.
KEYWORDS = frozenset(
    {
        "and", "block", "elif", "else", "for", "from", "if", "import", "in", "input", "layers", "network",
        "not", "or", "params", "residual", "shortcut", "variants",
    }
)  # fmt: skip
CONTEXTUAL_KEYWORDS = frozenset({"init", "when", "built"})
CONSTANTS = frozenset({"true", "false", "none"})
# Keywords after which an operand follows (so `-` is unary and `(` opens a group, not a call).
OPERAND_KEYWORDS = frozenset({"and", "elif", "else", "for", "from", "if", "import", "in", "not", "or"})

_TERMINALS = [
    ("SPACE", r"[ \t]+"),
    ("COMMENT", r"#[^\n]*"),
    ("CONTINUATION", r"\\[ \t]*\r?\n"),
    ("NEWLINE", r"\r?\n"),
    ("STRING", r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'"""),
    ("SHAPE", r"[0-9]+(?:x[0-9]+)+(?![A-Za-z0-9_])"),
    ("FLOAT", r"[0-9]+\.[0-9]*(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+|\.[0-9]+(?:[eE][-+]?[0-9]+)?"),
    ("INT", r"[0-9]+"),
    ("NAME", r"[A-Za-z_][A-Za-z0-9_]*"),
    ("OP", r"\*\*|//|>>|==|!=|<=|>=|[-+*/%<>=:,.()\[\]]"),
    ("ERROR", r"."),
]
_TOKEN = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _TERMINALS))
# After the dot of a reference only a name or an index follows (`layer1.0.conv`, never the float `0.`).
_REF_PART = re.compile(r"(?P<INT>[0-9]+)|(?P<NAME>[A-Za-z_][A-Za-z0-9_]*)")
_REF_DOT = re.compile(r"(?P<OP>\.)")


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind (a key of ``_TERMINALS``), its text, its 1-based line, 0-based column and
    offset in the text."""

    kind: str
    text: str
    line: int
    column: int
    offset: int

    @property
    def end_column(self) -> int:
        """The column just after the token (on its line; a multi-line token is only a continuation)."""
        return self.column + len(self.text)


def tokenize(text: str) -> list[Token]:
    """Every token of ``text``, spaces included, in order: concatenated, their texts give ``text`` back."""
    tokens: list[Token] = []
    offset, line, line_start = 0, 1, 0
    previous: Token | None = None  # the last token other than a space
    while offset < len(text):
        match = _next_match(text, offset, previous)
        kind = match.lastgroup or "ERROR"
        token = Token(kind, match.group(), line, offset - line_start, offset)
        tokens.append(token)
        offset = match.end()
        if kind in ("NEWLINE", "CONTINUATION"):
            line, line_start = line + 1, offset
        if kind != "SPACE":
            previous = token
    return tokens


def _next_match(text: str, offset: int, previous: Token | None) -> re.Match[str]:
    adjacent = previous is not None and previous.offset + len(previous.text) == offset
    if adjacent and previous is not None and previous.text == "." and previous.kind == "OP":
        part = _REF_PART.match(text, offset)
        if part is not None:
            return part
    if adjacent and previous is not None and previous.kind in ("NAME", "INT") and text[offset] == ".":
        dot = _REF_DOT.match(text, offset)
        assert dot is not None
        return dot
    match = _TOKEN.match(text, offset)
    assert match is not None  # ERROR takes any character
    return match
