"""A short run of tools/fuzz.py over every kind of input (specs, --set values, checkpoints, images, data
folders, command lines): no traceback, no internal error, no input over the time limit.

The long run (100,000 inputs, 2 s each) is recorded in docs/security.md; this one keeps each kind
exercised on every test run, with a generous time limit because the test machine may be loaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_short_fuzz_run_finds_nothing() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(ROOT / "tools" / "fuzz.py"), "--count", "108", "--seed", "23"]
    result = subprocess.run(
        [*command, "--time-limit", "20"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "inputs: 108 (bytes 12, checkpoint 12, folder 12, image 12, mutation 12, options 12, set 12, "
        "structural 12, tokens 12); seed 23"
    )
    assert lines[1] == "failures (tracebacks or over 20.0 s): 0"
