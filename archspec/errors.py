"""User-facing errors: every problem a user can cause becomes a Diagnostic with a span and a message.

A Diagnostic renders as ``path:line:col: error: message``, the source line and a caret under the
offending text, and an optional hint. Passes collect every diagnostic they find and raise once.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archspec.records import FrozenRecord, set_field
from archspec.source import Span


@dataclass(init=False, repr=False, eq=False)
class Diagnostic(FrozenRecord):
    """One message about one place in a spec."""

    message: str
    span: Span | None = None
    hint: str | None = None
    severity: str = "error"
    # Secondary places, each shown after the message with its own line and caret (``note:``): the
    # definition of the block whose use the caret marks.
    notes: tuple[Diagnostic, ...] = ()

    def __init__(
        self,
        message: str,
        span: Span | None = None,
        hint: str | None = None,
        severity: str = "error",
        notes: tuple[Diagnostic, ...] = (),
    ) -> None:
        set_field(self, "message", message)
        set_field(self, "span", span)
        set_field(self, "hint", hint)
        set_field(self, "severity", severity)
        set_field(self, "notes", notes)

    def render(self, sources: dict[str, str] | None = None) -> str:
        """Format as the compiler-style text a user sees (location, message, source line, caret, hint),
        then each note."""
        text = self._render_one(sources)
        return "\n".join([text, *(note.render(sources) for note in self.notes)])

    def _render_one(self, sources: dict[str, str] | None) -> str:
        # Everything from a spec is shown with its control characters escaped: a spec cannot send
        # escape sequences to the terminal, and what is shown is what the file holds.
        message = truncate(printable(self.message, keep="\n"), MAX_MESSAGE)
        hint = None if self.hint is None else truncate(printable(self.hint, keep="\n"), MAX_MESSAGE)
        if self.span is None:
            head = f"archspec: {self.severity}: {message}"
            return head if hint is None else f"{head}\n  hint: {hint}"
        lines = [f"{printable(str(self.span))}: {self.severity}: {message}"]
        file_lines = _source_lines(self.span, sources)
        text = _line(file_lines, self.span.line)
        marks = _marks(self.span, file_lines)
        if len(marks) > 1 and marks[0][3] > marks[0][2]:  # a span with text on several lines
            lines.extend(_render_lines(marks))
        elif text is not None and self.span.column <= MAX_SOURCE_LINE:
            width = self.span.end_column - self.span.column if self.span.end_line == self.span.line else 1
            width = max(1, min(width, len(text) - self.span.column + 1, MAX_SOURCE_LINE))
            before = printable(text[: self.span.column - 1])
            marked = printable(text[self.span.column - 1 : self.span.column - 1 + width])
            after = printable(text[self.span.column - 1 + width :])
            gutter = f"{self.span.line:>4} | "
            shown = before + marked + after
            lines.append(gutter + truncate(shown, max(MAX_SOURCE_LINE, len(before) + len(marked) + 80)))
            beyond = max(0, self.span.column - 1 - len(text))  # a caret just past the end of the line
            lines.append(" " * (len(gutter) + len(before) + beyond) + "^" * max(1, len(marked)))
        elif text is not None:  # a position far along a very long line: the line itself would be noise
            lines.append(f"{self.span.line:>4} | (a line of {len(text):,} characters)")
        if hint is not None:
            lines.append(f"  hint: {hint}")
        return "\n".join(lines)


MAX_MESSAGE = 2_000  # characters of a message or hint shown (values in messages are shortened before)
MAX_SOURCE_LINE = 1_000  # a caret further along a line than this is not drawn


def printable(text: str, keep: str = "") -> str:
    """``text`` with control and format characters (escape sequences, bidi overrides, NUL...) written
    as Python escapes (``\\x1b``), except those in ``keep``."""
    if text.isprintable() and not keep:
        return text
    return "".join(c if c.isprintable() or c in keep else repr(c)[1:-1] for c in text)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with a note saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def _source_lines(span: Span, sources: dict[str, str] | None) -> list[str] | None:
    """The lines of the spec file ``span`` is in (tabs as one space each, as columns count them)."""
    text = (sources or {}).get(span.path)
    if text is None:
        if not span.path.endswith((".arch", ".yaml", ".yml")):  # only a spec file is ever shown in a message
            return None
        try:
            text = Path(span.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    return [line.expandtabs(1) for line in text.splitlines()]


def _line(file_lines: list[str] | None, number: int) -> str | None:
    if file_lines is not None and 1 <= number <= len(file_lines):
        return file_lines[number - 1]
    return None


# A span over more lines than this (a whole block) shows its first lines and says on which it ends.
MAX_SPAN_LINES = 4


def _marks(span: Span, file_lines: list[str] | None) -> list[tuple[int, str, int, int]]:
    """For a span over several lines: each line it covers as (number, text, start, end), the part
    marked being ``text[start:end]``: from the span's column on its first line, from the indentation
    on the others, to the span's end on the last; trailing blanks, blank lines and a last line the span
    only enters (a statement's span ends where the next statement begins) are left out, so one line
    may be left (then the one-line rendering, its caret at the start, stays as it was).
    Empty for a one-line span, a line out of the file, or a position too far along a line to draw."""
    if file_lines is None or span.end_line <= span.line or span.end_line > len(file_lines) + 1:
        return []
    marks = []
    for number in range(span.line, min(span.end_line, len(file_lines)) + 1):
        text = file_lines[number - 1]
        start = span.column - 1 if number == span.line else len(text) - len(text.lstrip())
        end = span.end_column - 1 if number == span.end_line else len(text)
        end = min(end, len(text.rstrip()))
        if number == span.line or end > start:
            marks.append((number, text, start, end))
    if any(max(start, end) > MAX_SOURCE_LINE for _, _, start, end in marks):
        return []
    return marks


def _render_lines(marks: list[tuple[int, str, int, int]]) -> list[str]:
    """Each line of a span over several lines with carets under its marked part; of a span over more
    than ``MAX_SPAN_LINES`` lines (a whole block or network), its first lines and how far it goes."""
    shown = marks if len(marks) <= MAX_SPAN_LINES else marks[: MAX_SPAN_LINES - 1]
    lines = []
    for number, text, start, end in shown:
        gutter = f"{number:>4} | "
        lines.append(gutter + truncate(printable(text), MAX_SOURCE_LINE + 80))
        if end > start:
            indent = len(gutter) + len(printable(text[:start]))
            lines.append(" " * indent + "^" * len(printable(text[start:end])))
    if len(shown) < len(marks):
        left_out = len(marks) - len(shown)
        lines.append(
            f"     | ... ({left_out} more line{'s' if left_out > 1 else ''}, to line {marks[-1][0]})"
        )
    return lines


@dataclass
class SpecError(Exception):
    """One or more diagnostics about a spec. The CLI prints them and exits 1."""

    diagnostics: list[Diagnostic]
    sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.render())

    @classmethod
    def at(cls, span: Span | None, message: str, hint: str | None = None) -> SpecError:
        """A single-diagnostic error."""
        return cls([Diagnostic(message, span, hint)])

    def render(self) -> str:
        """All diagnostics, one block each."""
        return "\n".join(d.render(self.sources) for d in self.diagnostics)

    def __str__(self) -> str:
        return self.render()


def used_at(error: SpecError, call: Span, block: str, definition: Span, instance: str) -> SpecError:
    """``error`` raised inside a block's body, as seen from the line that uses the block.

    A diagnostic about a layer of this use (its message begins with the layer's name, under the
    instance's path ``instance``: ``1.2: maxpool: kernel 2x2 does not fit ...``) depends on the
    arguments and the input of this use: it points at ``call`` instead of the line of the definition
    (``definition``: the block's span), says which line of which block the layer is (the innermost
    block, once), and keeps that line as a note; blocks nested deeper have added their notes already,
    which follow. A diagnostic about the definition itself (an unknown name) stays where it is."""
    moved = []
    for diagnostic in error.diagnostics:
        span = diagnostic.span
        if (
            span is None
            or not diagnostic.message.startswith(f"{instance}.")
            or span.path != definition.path
            or not definition.line <= span.line <= definition.end_line
        ):
            moved.append(diagnostic)
            continue
        message = diagnostic.message
        if not diagnostic.notes:
            message += f" (line {span.line} of block {block})"
        note = Diagnostic(f"in block {block}, line {span.line}", span, severity="note")
        moved.append(
            Diagnostic(message, call, diagnostic.hint, diagnostic.severity, (note, *diagnostic.notes))
        )
    return SpecError(moved, error.sources)


def header(span: Span, words: str) -> Span:
    """The header of a definition whose span covers its whole body (``network n``, ``block Unit``): an
    error about the definition as a whole marks that, not every line of the body."""
    return Span(span.path, span.line, span.column, span.line, span.column + len(words))


class UsageError(Exception):
    """A bad command-line argument or API argument that is not about spec text (exit 2)."""


class InternalError(Exception):
    """A broken invariant inside archspec: a bug, never the user's doing. It is no UsageError, so that the
    command line reports it as an internal error (exit 3, with the hint to report it), not as a misuse."""


class Collector:
    """Collects diagnostics during a pass; ``raise_if_any`` raises them together."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []

    def add(self, span: Span | None, message: str, hint: str | None = None) -> None:
        """Record one error."""
        self.diagnostics.append(Diagnostic(message, span, hint))

    def extend(self, error: SpecError) -> None:
        """Record every diagnostic of an already raised error."""
        self.diagnostics.extend(error.diagnostics)

    def raise_if_any(self) -> None:
        """Raise a SpecError holding everything collected so far."""
        if self.diagnostics:
            raise SpecError(list(self.diagnostics))


def spec_repr(value: Any) -> str:
    """A value as it is written in a spec (``true``, ``none``, ``"same"``, ``[1, 2]``), for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(spec_repr(v) for v in value) + "]"
    return str(value)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate when it is a near miss (a typo), or None.

    A near miss is at most one edit away for words of up to 4 letters, two up to 8, three beyond (an
    edit: a letter inserted, deleted, replaced, or two neighbours swapped; case is ignored): `relux`,
    `linaer`, `batchnrom`, but not `attn` for `flatten` nor `mul` for `mlp`, which only look alike.
    """
    candidate = closest(word, candidates)
    return None if candidate is None else f"did you mean '{candidate}'?"


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``word`` is a near miss of (see ``did_you_mean``), or None."""
    ranked = difflib.get_close_matches(word, list(candidates), n=5, cutoff=0.5)
    allowed = 1 if len(word) <= 4 else 2 if len(word) <= 8 else 3
    for candidate in ranked:
        if _edits(word.lower(), candidate.lower()) <= allowed:
            return candidate
    return None


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def quoted_list(words: Sequence[str]) -> str:
    """`'a', 'b' or 'c'` for messages."""
    quoted = [f"'{w}'" for w in words]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]
