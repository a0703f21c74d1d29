"""Differential testing: random valid specs (tests/difftest/generator.py), every figure against torch
(tests/difftest/check.py), and the specs it once failed on (tests/difftest_regressions/), replayed.

The fast step runs ``ARCHSPEC_DIFFTEST_EXAMPLES`` networks (default 60: each takes about a second, most of
it in the gradient checks and the generated source);
``make difftest N=...`` runs as many as asked and writes each failing spec, shrunk, into the regressions
folder (tools/difftest.py). docs/testing.md says what it covers and what it found.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from difftest.check import check_network
from difftest.generator import networks
from hypothesis import HealthCheck, given, settings

EXAMPLES = int(os.environ.get("ARCHSPEC_DIFFTEST_EXAMPLES", "60"))
REGRESSIONS = Path(__file__).parent / "difftest_regressions"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=networks())
def test_random_networks_agree_with_torch(text: str, tmp_path: Path) -> None:
    check_network(text, tmp_path)


def regressions() -> list[Any]:
    """Each kept spec; one whose header has an ``# open: REASON`` line is a known disagreement not yet
    resolved, expected to fail (strictly: once fixed, the line must go)."""
    cases = []
    for path in sorted(REGRESSIONS.glob("*.arch")):
        reasons = [
            line[7:] for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("# open: ")
        ]
        marks = [pytest.mark.xfail(reason=reasons[0], strict=True)] if reasons else []
        cases.append(pytest.param(path, marks=marks, id=path.stem))
    return cases


@pytest.mark.parametrize("path", regressions())
def test_a_spec_the_generator_once_failed_on_agrees_with_torch(path: Path, tmp_path: Path) -> None:
    check_network(path.read_text(encoding="utf-8"), tmp_path, strict=True)
