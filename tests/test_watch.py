"""`archspec watch`: the command runs again when the spec or a file it imports changes, and an error is
reported without ending the watch. Run as a user runs it: a process, files edited beside it."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
WAIT_S = 60  # a guard against a hang on a busy machine, not a timing

BLOCKS = "block Unit(w):\n  conv(w, 3, pad=1) >> relu\n"
SPEC = 'from "blocks.arch" import Unit\n\nnetwork small:\n  input: 1x8x8\n  layers:\n    Unit(4)\n'


class Watched:
    """A watching archspec process and the lines it prints (standard output and error together)."""

    def __init__(self, folder: Path, *command: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "archspec", *command],
            cwd=folder,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Ctrl-C as at a terminal: a job started in the background of a script inherits SIGINT ignored.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def until(self, text: str, wait_s: float = WAIT_S) -> list[str]:
        """The lines printed up to the first that contains ``text``."""
        seen: list[str] = []
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(line)
            if text in line:
                return seen
        raise AssertionError(f"no line with {text!r} in {seen}")

    def ready(self) -> None:
        self.until("Ctrl-C to stop")

    def edit(self, path: Path, text: str) -> list[str]:
        """Write ``text`` to ``path`` until the watch sees the change (it says it watches just before its
        watcher starts: on a busy machine a first write can come before), then the lines up to the end
        of the run it makes."""
        seen: list[str] = []
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            path.write_text(text, "utf-8")
            try:
                seen += self.until(f"{path.name} changed", 5)
                return seen + self.until("Ctrl-C to stop")
            except AssertionError:
                continue
        raise AssertionError(f"the watch never saw {path.name} change")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "blocks.arch").write_text(BLOCKS, "utf-8")
    (tmp_path / "small.arch").write_text(SPEC, "utf-8")
    return tmp_path


def test_draw_again_on_a_change_of_an_import_and_report_errors_without_exiting(folder: Path) -> None:
    watched = Watched(folder, "watch", "draw", "small.arch", "-o", "small.dot")
    try:
        assert watched.until("wrote small.dot")[-1] == "wrote small.dot"
        watched.ready()
        first = (folder / "small.dot").read_text("utf-8")
        lines = watched.edit(folder / "blocks.arch", BLOCKS.replace("3, pad=1", "5, pad=2"))
        command = "`archspec draw small.arch -o small.dot`"
        assert f"archspec watch: blocks.arch changed: running {command} again" in lines
        assert "wrote small.dot" in lines
        assert (folder / "small.dot").read_text("utf-8") != first
        lines = watched.edit(folder / "blocks.arch", BLOCKS.replace("relu", "relux"))
        assert "blocks.arch:2:24: error: unknown op or block 'relux'" in lines
        assert watched.process.poll() is None  # still watching
        watched.edit(folder / "small.arch", SPEC.replace("Unit(4)", "Unit(4) >> Unit(6)"))
        lines = watched.edit(folder / "blocks.arch", BLOCKS)
        assert "wrote small.dot" in lines
        assert "Unit(6)" in (folder / "small.dot").read_text("utf-8")
    finally:
        watched.process.send_signal(signal.SIGINT)
        watched.process.wait(WAIT_S)
    # Ctrl-C ends the watch as it ends any command: exit 130, no traceback.
    assert watched.process.returncode == 130
    rest = []
    while not watched.lines.empty():
        rest.append(watched.lines.get())
    assert not any("Traceback" in line for line in rest)


def test_draw_watch_redraws_on_a_change_of_the_spec(folder: Path) -> None:
    watched = Watched(folder, "draw", "small.arch", "-o", "small.dot", "--watch")
    try:
        watched.until("wrote small.dot")
        watched.ready()
        lines = watched.edit(folder / "small.arch", SPEC.replace("Unit(4)", "Unit(4)\n    linea(3)"))
        assert "archspec watch: small.arch changed: running `archspec draw` again" in lines
        assert "small.arch:7:5: error: unknown op or block 'linea'" in lines
        lines = watched.edit(
            folder / "small.arch", SPEC.replace("Unit(4)", "Unit(4)\n    flatten >> linear(3)")
        )
        assert "wrote small.dot" in lines
        assert "linear" in (folder / "small.dot").read_text("utf-8")
        assert watched.process.poll() is None
    finally:
        watched.process.send_signal(signal.SIGINT)
        watched.process.wait(WAIT_S)


def test_a_command_without_a_spec_file_to_watch_is_told(folder: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "archspec", "watch"], cwd=folder, env=ENV, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "watch needs a command to run" in result.stderr
