"""A true division feeding an integer argument is warned about (issue 22), in `check` and `compile`;
`//`, `int(...)` and a float argument are not. The whole message is compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from archspec.catalog import catalog
from archspec.checks import check_specs
from archspec.cli import main
from archspec.division import division_warnings
from archspec.loader import load_program

SPEC = """\
network tv:
  input: 1x28x28
  params:
    image_size = 28
    patch = 7
    length = (image_size / patch) ** 2 + 1
    hidden = 32
  layers:
    patch_embed(hidden, patch)
    class_token
    position_embedding(length=length)
    dropout(0.1 / 2)
    select_token(0)
    linear(int(hidden / 2)) >> linear(hidden / 4) >> linear(10)
"""

WARNING = """\
tv.arch:{line}:{column}: warning: argument '{field}' of {op} takes an integer, and this value is computed \
with a true division `/` (a float: 32 / 8 is 4.0)
{gutter} | {text}
{caret}
  hint: write `//` for integer division: a float is taken only when it is whole, and the compiled file \
then writes the value, not the formula"""


def expected(line: int, column: int, width: int, field: str, op: str) -> str:
    text = SPEC.splitlines()[line - 1]
    caret = " " * (len(f"{line:>4} | ") + column - 1) + "^" * width
    return WARNING.format(
        line=line, column=column, field=field, op=op, gutter=f"{line:>4}", text=text, caret=caret
    )


def test_check_warns_where_a_true_division_feeds_an_integer(tmp_path: Path) -> None:
    (tmp_path / "tv.arch").write_text(SPEC, encoding="utf-8")
    result = check_specs([str(tmp_path / "tv.arch")])
    assert not result.errors
    rendered = [w.render().replace(str(tmp_path) + "/", "") for w in result.warnings]
    assert rendered == [
        expected(11, 31, 6, "length", "position_embedding"),
        expected(14, 39, 10, "out_features", "linear"),
    ]


def test_compile_says_it_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tv.arch").write_text(SPEC, encoding="utf-8")
    assert main(["compile", "tv.arch", "-o", "tv.py"]) == 0
    assert capsys.readouterr().err == (
        expected(11, 31, 6, "length", "position_embedding")
        + "\n"
        + expected(14, 39, 10, "out_features", "linear")
        + "\nwrote tv.py\n"
    )


def test_integer_division_is_not_warned(tmp_path: Path) -> None:
    fixed = SPEC.replace("image_size / patch", "image_size // patch").replace("hidden / 4", "hidden // 4")
    program = load_program(tmp_path / "tv.arch", text=fixed)
    assert division_warnings(program) == []


def test_no_zoo_spec_is_warned() -> None:
    for entry in catalog():
        assert division_warnings(load_program(entry.path)) == [], entry.path


def test_a_division_in_every_kind_of_nested_body_is_warned(tmp_path: Path) -> None:
    """The warning looks into every body a statement holds (``elab.walk.statements``, the one walk over
    nested bodies): a chain's merge branches, a residual's shortcut, an ``if``'s branches, a group."""
    spec = """\
network nested:
  input: 8x16x16
  params:
    width = 16
  layers:
    conv(8, 1) >> concat:
      conv(width / 2, 1)
      conv(8, 1)
    residual:
      conv(24, 1)
    shortcut: conv(width / 16 * 24, 1)
    if width > 8:
      conv(width / 2, 1)
    else:
      conv(8, 1)
    head:
      linear(width / 4)
"""
    program = load_program(tmp_path / "nested.arch", text=spec)
    warned = [(w.span.line, w.span.column) for w in division_warnings(program)]
    assert warned == [(7, 12), (11, 20), (13, 12), (17, 14)]
