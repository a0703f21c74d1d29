"""The CLI on a real terminal: run under a pseudo-terminal (the standard library's ``pty``), at several
widths, with and without ``NO_COLOR``.

Through a pipe no colour is written, so the tests elsewhere never saw the table header's and the
progress bar's escape sequences arrive as text (``┃\\u001b[1m layer``): the escaping of spec text was
applied to rich's own styling. The oracle here is the terminal's view: no escaped escape sequence in what
the terminal receives, real ones only where colour is allowed, every line within the terminal's width,
and a spec's own control characters still shown escaped.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from archspec import report

ROOT = Path(__file__).resolve().parents[1]
# SGR (colour) and the cursor codes rich's live display uses (hide/show cursor, erase line).
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_terminal(argv: list[str], columns: int, no_colour: bool, cwd: Path | None = None) -> str:
    """What a terminal ``columns`` wide receives from ``archspec ARGV`` (stdout and stderr)."""
    main, secondary = os.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", TERM="xterm-256color")
    if no_colour:
        env["NO_COLOR"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "archspec", *argv],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    os.close(secondary)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 1.0)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            data = os.read(main, 65536)
        except OSError as error:  # the other side closed: everything has been read
            if error.errno != errno.EIO:
                raise
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=60)
    os.close(main)
    assert process.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def visible_lines(text: str) -> list[str]:
    """The lines as the terminal shows them: escape sequences applied (removed); a carriage return
    starts the line over."""
    return [ANSI.sub("", line).rsplit("\r", 1)[-1] for line in text.split("\n")]


@pytest.mark.parametrize("columns", [60, 100, 160])
@pytest.mark.parametrize("no_colour", [False, True])
@pytest.mark.parametrize(
    "argv",
    [["analyze", "lenet5"], ["compare", "lenet5", "alexnet"], ["history"]],
    ids=["analyze", "compare", "history"],
)
def test_tables_on_a_terminal(argv: list[str], columns: int, no_colour: bool) -> None:
    text = run_in_terminal(argv, columns, no_colour)
    assert "\\u001b" not in text and "\\x1b" not in text
    codes = ANSI.findall(text)
    if no_colour:
        assert codes == []
    else:
        assert "\x1b[1m" in codes  # the bold header, as rich writes it
    lines = visible_lines(text)
    assert any(line.startswith("┃") for line in lines)  # the table header is there
    assert all(len(line) <= columns for line in lines), max(lines, key=len)
    if argv[0] == "analyze":  # the lines above the table break between clauses, not inside a figure
        above = lines[: next(i for i, line in enumerate(lines) if line.startswith("┏"))]
        assert not [line for line in above if re.match(r"\s*([\d.,]+\b|[KMG]iB|B\b|\()", line)], above
    if argv[0] == "compare":
        header = " ".join(line for line in lines if line.startswith("┃"))
        assert ("FLOPs" in header) == (columns >= 120)  # FLOPs (2 x MACs) go first on a narrow terminal
        rows = [line for line in lines if line.startswith("│")]
        if columns >= 100:  # no row folds onto a second line (at 60 columns, seven columns must)
            assert len(rows) == 2 and all(row.split("│")[1].strip() for row in rows), rows


@pytest.mark.parametrize("colour", [False, True])
def test_spec_text_in_a_table_is_escaped_before_styling(
    monkeypatch: pytest.MonkeyPatch, colour: bool
) -> None:
    """Text from a spec (a title, a name, a quoted string in a warning) keeps its escape sequences as
    text; the table's own bold header stays a real one."""
    monkeypatch.setattr(report, "use_colour", lambda: colour)
    row = {"network": "evil\x1b[2J\u202e", "params": 1}
    text = report.render_summary([row], ["network", "params"], "table", "title \x1b]0;pwned\x07")
    assert "\x1b[2J" not in text and "\u202e" not in text and "\x07" not in text
    assert "evil\\u001b[2J\\u202e" in text and "title \\u001b]0;pwned\\u0007" in text
    assert ("\x1b[1m" in text) is colour


TINY = """\
network tiny:
  input: 1x8x8
  layers:
    conv(4, 3, pad=1) >> relu
    flatten
    linear(10)
"""


@pytest.mark.parametrize("no_colour", [False, True])
def test_the_training_progress_bar_on_a_terminal(tmp_path: Path, no_colour: bool) -> None:
    (tmp_path / "tiny.arch").write_text(TINY, encoding="utf-8")
    argv = ["train", "tiny.arch", "--epochs", "1", "--device", "cpu", "--out", "run"]
    text = run_in_terminal(argv, 100, no_colour, cwd=tmp_path)
    assert "\\u001b" not in text and "\\u000d" not in text
    lines = visible_lines(text)
    assert any(line.startswith("epoch 1/1  train loss") for line in lines), lines
    assert any(line.startswith("best test accuracy") for line in lines), lines


# ---------------------------------------------------------------- analyze -o, compare's columns


def test_analyze_writes_a_file_as_a_pipe_gets_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archspec.cli import main

    monkeypatch.setenv("COLUMNS", "60")  # a narrow terminal does not narrow the file
    target = tmp_path / "lenet5.txt"
    assert main(["analyze", "lenet5", "-o", str(target)]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"wrote {target}\n")
    monkeypatch.delenv("COLUMNS")
    assert main(["analyze", "lenet5"]) == 0  # stdout is captured: a pipe's table
    assert target.read_text(encoding="utf-8") == capsys.readouterr().out
    for fmt in ("json", "csv", "markdown"):
        assert main(["analyze", "lenet5", "-f", fmt, "-o", str(target)]) == 0
        capsys.readouterr()
        assert main(["analyze", "lenet5", "-f", fmt]) == 0
        assert target.read_text(encoding="utf-8") == capsys.readouterr().out


def test_analyze_leaves_no_file_on_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from archspec.cli import main

    target = tmp_path / "out.txt"
    assert main(["analyze", "no_such_network", "-o", str(target)]) == 1
    assert not target.exists()


def test_compare_shows_each_input_and_says_macs_as_analyze_does(capsys: pytest.CaptureFixture[str]) -> None:
    from archspec.cli import main

    assert main(["compare", "lenet5", "alexnet", "-f", "markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split(" | ")[:5] == ["| network", "input", "params", "MACs", "FLOPs"]
    # The inputs as the specs declare them (LeNet-5: 32x32 grey; AlexNet: 224x224 colour).
    assert lines[4].startswith("| lenet5 | 1x32x32 |") and lines[5].startswith("| alexnet | 3x224x224 |")
    assert main(["compare", "lenet5", "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["input"] == [1, 32, 32]


HEADER = (
    "memory (float32, 4 bytes per element, batch 1): saved for backward 583.0 MiB, peak at inference "
    "9.6 MiB (at 4); training: SGD-momentum 824.9 MiB, AdamW 905.5 MiB"
)


@pytest.mark.parametrize("width", [200, 120, 100, 72, 60, 40])  # 120: one break, at the '; '
def test_a_header_line_breaks_after_its_clauses(width: int) -> None:
    pieces = report.clauses_fitted(HEADER, width)
    assert " ".join(piece.strip() for piece in pieces) == HEADER  # nothing lost, nothing added
    assert all(piece.startswith("  ") for piece in pieces[1:]) and not pieces[0].startswith(" ")
    assert all(len(piece) <= width for piece in pieces) or width < 50  # "memory (...):" alone is 48 wide
    assert all("583.0 MiB" in piece for piece in pieces if "583.0" in piece)  # a figure keeps its unit
    if width >= len(HEADER):
        assert pieces == [HEADER]
    elif width >= len(HEADER.split("; ")[0]) + 1:  # the clauses first: the line breaks at its '; '
        assert pieces == [HEADER.split("; ")[0] + ";", "  " + HEADER.split("; ")[1]]
