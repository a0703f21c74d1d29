"""Generated source tidied as a maintainer's tools would leave it: ruff's safe fixes, then ruff's formatter.

The code generator writes correct, readable Python; what a person would still change by hand (string
quotes, where a long call breaks, `if a: x elif b: x` as one branch, redundant parentheses from an init
formula) is ruff's job, which `archspec compile` runs on its output, with ruff's defaults, lines of 100
columns and Python 3.11, whatever configuration the user's folder has (``--isolated``). Only text goes
through ruff (on stdin, no shell); a file that ruff cannot parse would be the generator's bug, and is
reported as one.
"""

from __future__ import annotations

import subprocess

LINE_LENGTH = 100
_SETTINGS = ["--isolated", "--line-length", str(LINE_LENGTH), "--target-version", "py311"]


def tidy(source: str, name: str = "model.py") -> str:
    """``source`` after ``ruff check --fix`` (safe fixes only) and ``ruff format``."""
    fixed = _ruff(
        ["check", "--fix", "--exit-zero", "--quiet", *_SETTINGS, "--stdin-filename", name, "-"], source
    )
    return _ruff(["format", *_SETTINGS, "--stdin-filename", name, "-"], fixed)


def _ruff(arguments: list[str], source: str) -> str:
    from ruff.__main__ import find_ruff_bin  # the binary itself: no second Python start-up

    result = subprocess.run(
        [find_ruff_bin(), *arguments],
        input=source,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ruff {arguments[0]} failed on generated source: {result.stderr.strip()[:2000]}")
    return result.stdout
