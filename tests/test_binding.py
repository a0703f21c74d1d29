"""One call binder for lowering and ``check`` (archspec/elab/binding.py): ``check`` reports every mistake
in how a call's arguments are written, in a block that is never lowered too, with the messages lowering
stops at; lowering gives the first of them. Messages compared whole."""

# ruff: noqa: E501 - the expected messages are verbatim, long lines included
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from archspec.checks import check_specs
from archspec.errors import SpecError
from archspec.loader import load_program
from archspec.lower import lower

SPEC = """
block B(w):
  conv(w, 3, 1, 1, 1, 1, 1, 1, 1, bogus=2, kernel_size=3)
  B2(1, 2, w=1)

block B2(w):
  relu

network n:
  input: 3x8x8
  layers:
    conv(4, 3, out_channels=4)
"""

EXPECTED = """
t.arch:2:32: error: conv takes at most 8 positional arguments (out_channels, kernel_size, stride, padding, dilation, groups, bias, table), got 9
   2 |   conv(w, 3, 1, 1, 1, 1, 1, 1, 1, bogus=2, kernel_size=3)
                                      ^
t.arch:2:35: error: conv has no argument 'bogus'
   2 |   conv(w, 3, 1, 1, 1, 1, 1, 1, 1, bogus=2, kernel_size=3)
                                         ^^^^^^^
  hint: its arguments: out_channels, kernel_size, stride, padding, dilation, groups, bias, table
t.arch:2:44: error: conv got argument 'kernel_size' twice
   2 |   conv(w, 3, 1, 1, 1, 1, 1, 1, 1, bogus=2, kernel_size=3)
                                                  ^^^^^^^^^^^^^
t.arch:3:3: error: block B2 takes 1 argument (w), got 2
   3 |   B2(1, 2, w=1)
         ^^^^^^^^^^^^^
t.arch:3:12: error: block B2 got parameter 'w' twice
   3 |   B2(1, 2, w=1)
                  ^^^
t.arch:11:16: error: conv got argument 'out_channels' twice
  11 |     conv(4, 3, out_channels=4)
                      ^^^^^^^^^^^^^^
"""


def test_check_reports_every_binding_mistake_and_lowering_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = textwrap.dedent(SPEC).removeprefix("\n")
    (tmp_path / "t.arch").write_text(spec, encoding="utf-8")
    found = check_specs(["t.arch"])
    expected = textwrap.dedent(EXPECTED).removeprefix("\n")
    assert "".join(e.render() + "\n" for e in found.errors) == expected
    with pytest.raises(SpecError) as caught:
        lower(load_program(Path("t.arch")))
    network_error = expected[expected.index("t.arch:11:") :]
    assert caught.value.render() + "\n" == network_error
