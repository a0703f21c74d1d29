"""The Pygments lexer for spec files, registered as ``archspec`` (the ``pygments.lexers`` entry point of
pyproject.toml): ``pygmentize -l archspec resnet.arch``, Markdown code blocks marked ``arch``.

It colours the token stream of ``archspec.tokens`` (the formatter's), so that the two never disagree on
where a token starts; what a name is (a keyword, an op, a block being defined, a label, a call) is told
from the token and its neighbours. A valid spec gives no error token.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import cache

from pygments.lexer import Lexer
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
    _TokenType,
)

from archspec.tokens import CONSTANTS, KEYWORDS, Token, tokenize

_MERGES = frozenset({"concat", "add", "mul"})
_DEFINERS = frozenset({"block", "network"})
_SIMPLE: dict[str, _TokenType] = {
    "SPACE": Whitespace,
    "NEWLINE": Whitespace,
    "CONTINUATION": Text,
    "COMMENT": Comment.Single,
    "STRING": String,
    "SHAPE": Number,
    "FLOAT": Number.Float,
    "INT": Number.Integer,
    "ERROR": Error,
}


@cache
def _op_names() -> frozenset[str]:
    from archspec.ops import OPS_BY_NAME  # imported once, when a name is first coloured

    return frozenset(OPS_BY_NAME)


class ArchspecLexer(Lexer):  # type: ignore[misc]  # Pygments ships no type hints
    """Pygments lexer for archspec ``.arch`` files."""

    name = "archspec"
    aliases = ["archspec", "arch"]  # noqa: RUF012 (Pygments reads these class attributes)
    filenames = ["*.arch"]  # noqa: RUF012
    mimetypes = ["text/x-archspec"]  # noqa: RUF012

    def get_tokens_unprocessed(self, text: str) -> Iterator[tuple[int, _TokenType, str]]:
        """(offset, token type, text) of every token of ``text``."""
        tokens = tokenize(text)
        code = [t for t in tokens if t.kind not in ("SPACE", "COMMENT", "NEWLINE", "CONTINUATION")]
        following = {id(a): b for a, b in itertools.pairwise(code)}
        preceding = {id(b): a for a, b in itertools.pairwise(code)}
        for token in tokens:
            yield (
                token.offset,
                self._type(token, preceding.get(id(token)), following.get(id(token))),
                token.text,
            )

    @staticmethod
    def _type(token: Token, before: Token | None, after: Token | None) -> _TokenType:
        if token.kind in _SIMPLE:
            return _SIMPLE[token.kind]
        if token.kind == "OP":
            return Punctuation if token.text in "()[],:." else Operator
        word, next_text = token.text, after.text if after is not None else ""
        if before is not None and before.text in _DEFINERS and before.line == token.line:
            return Name.Class
        if word in CONSTANTS:
            return Keyword.Constant
        if word in KEYWORDS and not (before is not None and before.text == "."):
            return Keyword
        if word in _MERGES and next_text == ":":
            return Keyword
        if (word, next_text) in (("init", ":"), ("when", "built"), ("built", ":")):
            return Keyword  # `init:` and `when built:`; names elsewhere
        starts_item = before is None or before.line != token.line or before.text in (">>", "(", "shortcut")
        if word in ("param", "buffer") and starts_item and after is not None and after.kind == "NAME":
            return Keyword  # `param scale: ...`, `buffer index: ...`: a declaration

        if next_text == ":" and starts_item:
            return Name.Label
        if word in _op_names():
            return Name.Builtin
        if next_text == "(":
            return Name.Function
        return Name
