"""docs/tutorial.md is run as a reader would: in an empty folder, in the order of the page, its specs
written to the files they name, its shell commands run as the `archspec` command, its Python run there.

Training is cut to ``TEST_EPOCHS`` epochs (the page's ``--epochs 3`` would take minutes on a shared
machine); everything else runs as written. An output block (info string ``text output``) after a shell
block lists lines that command's output must contain.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
FILE_HEADER = re.compile(r"^# file: (\S+)\n")
TEST_EPOCHS = 1
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Step:
    """A fenced block of the tutorial: its info string, its text and the line it starts on."""

    info: str
    text: str
    line: int


def steps() -> list[Step]:
    """The tutorial's fenced blocks, in the order of the page."""
    text = TUTORIAL.read_text(encoding="utf-8")
    return [
        Step(m.group(1).strip(), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)
    ]


def commands(text: str) -> list[list[str]]:
    """The command lines of a shell block, as words, with training cut to TEST_EPOCHS epochs."""
    found = []
    for line in text.splitlines():
        code = line.split(" # ", 1)[0].strip()
        if code:
            words = shlex.split(code)
            if "--epochs" in words:
                words[words.index("--epochs") + 1] = str(TEST_EPOCHS)
            found.append(words)
    return found


def run_archspec(words: list[str], folder: Path) -> str:
    """One command of the page, run as the reader's shell would (a process), in ``folder``; its output."""
    assert words[0] == "archspec", f"the tutorial runs only archspec: {shlex.join(words)}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "archspec", *words[1:]],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"{shlex.join(words)}\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def test_the_tutorial_has_every_kind_of_step() -> None:
    kinds = [s.info for s in steps()]
    assert kinds.count("arch") == 2 and kinds.count("python") == 1
    assert kinds.count("sh") >= 6 and kinds.count("text output") >= 2
    assert all(FILE_HEADER.match(s.text) for s in steps() if s.info == "arch"), "each spec names its file"


def test_every_step_of_the_tutorial_runs_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output = ""
    for step in steps():
        where = f"docs/tutorial.md:{step.line}"
        if step.info == "arch":
            match = FILE_HEADER.match(step.text)
            assert match, where
            (tmp_path / match.group(1)).write_text(step.text, encoding="utf-8")
        elif step.info == "sh":
            output = "".join(run_archspec(words, tmp_path) for words in commands(step.text))
        elif step.info == "text output":
            for line in step.text.splitlines():
                assert line in output, f"{where}: {line!r} is not in the output:\n{output}"
        elif step.info == "python":
            monkeypatch.chdir(tmp_path)
            monkeypatch.syspath_prepend(str(tmp_path))
            monkeypatch.delitem(sys.modules, "resdigits_small", raising=False)  # gone again after the test
            exec(compile(step.text, where, "exec"), {"__name__": "__tutorial__"})
    # What the steps made: the drawings, the run folder, the compiled file.
    for drawing in ("tiny.png", "deep.png", "deep_layer2.png"):
        assert (tmp_path / drawing).read_bytes().startswith(PNG), drawing
    metrics = (tmp_path / "runs" / "small" / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(metrics) == TEST_EPOCHS
    # The compiled file's parameter count, by torch, is the figure the page gives for the variant.
    from resdigits_small import build  # type: ignore[import-not-found]

    params = sum(p.numel() for p in build().parameters())
    assert params == 5_122
    assert "`small` has 5,122 parameters" in TUTORIAL.read_text(encoding="utf-8")


def test_the_readme_links_the_tutorial() -> None:
    assert "(docs/tutorial.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
