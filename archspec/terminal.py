"""What reaches the terminal: text from a spec can hold escape sequences; none of them gets through.

The CLI writes through :func:`escaping_output`, which replaces every control or format character except
line breaks and tabs (escape sequences, carriage returns, bidi overrides) with a ``\\uXXXX`` escape: the
terminal shows what the spec holds and obeys none of it, and JSON output stays valid JSON. Messages
already escape such characters where they quote a spec (``archspec.errors.printable``); this is the
last line, for everything else (titles, names in tables).

Styled output (rich's bold table headers, the training progress bar) cannot go through that stream: its
own escape sequences would be shown as text. Such output escapes the spec text it holds *before* styling
it (:func:`escape_controls`) and is written with :func:`write_styled`, or drawn by a console on
:func:`styled_stdout`, both of which reach the terminal unescaped.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


def escape_controls(text: str) -> str:
    """``text`` with control and format characters other than ``\\n`` and ``\\t`` as ``\\uXXXX``."""
    if text.isprintable() or text.replace("\n", "").replace("\t", "").isprintable():
        return text
    return "".join(c if c.isprintable() or c in "\n\t" else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # a JSON-style surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


class EscapingStream:
    """A text stream that escapes control characters on their way to ``target``."""

    def __init__(self, target: TextIO) -> None:
        self.target = target

    def write(self, text: str) -> int:
        """Write ``text`` escaped; returns the length of ``text`` (as print() expects)."""
        self.target.write(escape_controls(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding...
        return getattr(self.target, name)


def styled_stdout() -> TextIO:
    """The stream under the CLI's escaping one: for output whose spec text is already escaped and whose
    escape sequences are the program's own (a rich console's colour and cursor codes)."""
    stream = sys.stdout
    return stream.target if isinstance(stream, EscapingStream) else stream


def write_styled(text: str) -> None:
    """Write ``text``, whose spec-derived parts are already escaped, with its styling intact."""
    stream = styled_stdout()
    stream.write(text)
    stream.flush()


@contextmanager
def escaping_output() -> Iterator[None]:
    """Within the block, ``sys.stdout`` and ``sys.stderr`` escape control characters."""
    saved = sys.stdout, sys.stderr
    sys.stdout = EscapingStream(sys.stdout)
    sys.stderr = EscapingStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
