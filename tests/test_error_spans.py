"""An error whose span covers several lines shows them, with carets under what it covers (before, a
one-character caret on its first line). Whole messages, written by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from archspec.cli import main
from archspec.errors import Diagnostic
from archspec.source import Span

RESIDUAL = """\
network r:
  input: 3x8x8
  layers:
    residual:
      conv(4, 3, pad=1)

      relu
    flatten
"""


def test_a_residual_whose_body_does_not_match_shows_the_whole_body(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("r.arch").write_text(RESIDUAL, "utf-8")
    assert main(["check", "r.arch"]) == 1
    # the blank line is left out; the statement's span ends where `flatten` begins: that line is not
    # part of it
    assert capsys.readouterr().err == (
        "r.arch:4:5: error: 2: residual: the body's output 4x8x8 does not match the shortcut's 3x8x8\n"
        "   4 |     residual:\n"
        "           ^^^^^^^^^\n"
        "   5 |       conv(4, 3, pad=1)\n"
        "             ^^^^^^^^^^^^^^^^^\n"
        "   7 |       relu\n"
        "             ^^^^\n"
        "  hint: add `shortcut: auto` for a 1x1 projection, or write the projection\n"
    )


SOURCE = "block B():\n  a >> b\n  c\n    d\n  e\n  f\n  g\n"


def render(span: Span) -> str:
    return Diagnostic("message", span, "a hint").render({"f.arch": SOURCE})


def test_a_long_span_leaves_out_its_middle() -> None:
    assert render(Span("f.arch", 1, 7, 7, 4)) == (
        "f.arch:1:7: error: message\n"
        "   1 | block B():\n"
        "             ^^^^\n"
        "   2 |   a >> b\n"
        "         ^^^^^^\n"
        "   3 |   c\n"
        "         ^\n"
        "     | ... (4 more lines, to line 7)\n"
        "  hint: a hint"
    )


def test_a_span_ending_inside_its_last_line() -> None:
    assert render(Span("f.arch", 2, 8, 4, 6)) == (
        "f.arch:2:8: error: message\n"
        "   2 |   a >> b\n"
        "              ^\n"
        "   3 |   c\n"
        "         ^\n"
        "   4 |     d\n"
        "           ^\n"
        "  hint: a hint"
    )


def test_four_lines_are_shown_five_are_cut() -> None:
    assert render(Span("f.arch", 2, 3, 6, 4)).splitlines()[7:] == [
        "     | ... (2 more lines, to line 6)",
        "  hint: a hint",
    ]
    assert render(Span("f.arch", 3, 3, 6, 4)).splitlines()[7:] == [
        "   6 |   f",
        "         ^",
        "  hint: a hint",
    ]


def test_a_span_that_only_enters_its_second_line_is_one_line() -> None:
    """A statement's span ends at the column where the next statement begins: a line it covers nothing
    of is not shown; what is left is one line, shown as before (a caret at the start: messages about
    an import statement keep their form)."""
    assert render(Span("f.arch", 3, 3, 4, 3)) == (
        "f.arch:3:3: error: message\n   3 |   c\n         ^\n  hint: a hint"
    )


def test_one_line_spans_are_as_before() -> None:
    assert render(Span("f.arch", 2, 3, 2, 9)) == (
        "f.arch:2:3: error: message\n   2 |   a >> b\n         ^^^^^^\n  hint: a hint"
    )
