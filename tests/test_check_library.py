"""`archspec check` of a library of blocks (no `network`): its blocks are checked statically (syntax,
names, references, arguments) and the command says that their shapes were not; and the op reference
shows `param` and `buffer` as the statements they are. Oracles: hand-written whole messages, and the
statement syntax the parser accepts (a network written with the reference's own line)."""

from __future__ import annotations

from pathlib import Path

import pytest

import archspec
from archspec.cli import main
from archspec.op_reference import op_entry

STD = Path(archspec.__file__).parent / "std"

LIBRARY = """\
width = 16

block Unit(c):
  conv(c, 3, pad=1, strid=2)
  relux

block Pair(c):
  Unit(c, d)
  Missing(c)
  param table: [c, 3], init=zeros
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def note(spec: str) -> str:
    return (
        f"  {spec}: a library of blocks (no network): checked statically (syntax, names, references, "
        "arguments), not its shapes, which need a network that uses the blocks\n"
    )


@pytest.mark.parametrize("name", sorted(p.name for p in STD.glob("*.arch")))
def test_the_standard_library_s_files_check(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(STD / name)
    assert run(capsys, "check", spec) == (0, f"ok: 1 spec(s) valid\n{note(spec)}", "")


def test_every_mistake_of_a_library_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lib.arch"
    path.write_text(LIBRARY, "utf-8")
    code, out, err = run(capsys, "check", str(path))
    assert (code, out) == (1, "")
    assert err == (
        f"{path}:4:21: error: conv has no argument 'strid'\n"
        "   4 |   conv(c, 3, pad=1, strid=2)\n"
        "                           ^^^^^^^\n"
        "  hint: did you mean 'stride'?\n"
        f"{path}:5:3: error: unknown op or block 'relux'\n"
        "   5 |   relux\n"
        "         ^^^^^\n"
        "  hint: did you mean 'relu'?\n"
        f"{path}:8:3: error: block Unit takes 1 argument (c), got 2\n"
        "   8 |   Unit(c, d)\n"
        "         ^^^^^^^^^^\n"
        f"{path}:8:11: error: unknown name 'd'\n"
        "   8 |   Unit(c, d)\n"
        "                 ^\n"
        f"{path}:9:3: error: there is no op or block named 'Missing'\n"
        "   9 |   Missing(c)\n"
        "         ^^^^^^^^^^\n"
        "  hint: the ops are listed in docs/language.md#ops; a block must be defined in this file or "
        "imported\n"
    )


def test_a_library_with_a_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lib.arch"
    path.write_text("block Unit(c):\n  conv(c, 3\n", "utf-8")
    code, out, err = run(capsys, "check", str(path))
    assert (code, out) == (1, "")
    assert err == f"{path}:2:7: error: '(' was never closed\n   2 |   conv(c, 3\n             ^\n"


def test_a_library_has_no_variant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lib.arch"
    path.write_text("block Unit(c):\n  conv(c, 3)\n", "utf-8")
    code, out, err = run(capsys, "check", str(path), "--variant", "big")
    assert (code, out) == (1, "")
    assert err == f"archspec: error: --variant big: {path} defines no network, only blocks to import\n"


def test_a_library_and_a_network_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lib.arch"
    path.write_text("block Unit(c):\n  conv(c, 3)\n", "utf-8")
    code, out, err = run(capsys, "check", str(path), "lenet5")
    assert (code, out, err) == (0, f"ok: 2 spec(s) valid\n{note(str(path))}", "")


def test_an_empty_file_is_still_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.arch"
    path.write_text("# nothing yet\n", "utf-8")
    code, out, err = run(capsys, "check", str(path))
    assert (code, out) == (1, "")
    assert err == (
        f"{path}:1:1: error: empty spec: a file needs a `network name:` section\n"
        "   1 | # nothing yet\n"
        "       ^\n"
    )


# ---------------------------------------------------------------- the op reference


def test_the_reference_shows_param_and_buffer_as_statements() -> None:
    param, buffer = op_entry("param"), op_entry("buffer")
    assert param is not None and buffer is not None
    assert "\n    param NAME: [d0, d1, ...], init=SCHEME\n" in param
    assert "\n    buffer NAME: VALUE, persistent=true, dtype=DTYPE\n" in buffer
    assert "param(" not in param and "buffer(" not in buffer


def test_the_reference_s_statement_lines_parse() -> None:
    """The reference's lines with their placeholders filled in are statements the language accepts."""
    spec = (
        "network n:\n  input: 2x3\n  layers:\n"
        "    param w: [2, 3], init=trunc_normal(std=0.02)\n"
        "    buffer b: [[1, 2, 3], [4, 5, 6]], persistent=true, dtype=float32\n"
        "    add from w, b\n"
    )
    graph = archspec.load("n.arch", text=spec).graph
    assert sorted(node.op.kind for node in graph.nodes) == ["add", "buffer", "input", "param"]
