"""Differential testing: random valid specs (tests/difftest/generator.py), every figure against torch
(tests/difftest/check.py), and the specs it once failed on (tests/difftest_regressions/), replayed.

The fast step runs ``ARCHSPEC_DIFFTEST_EXAMPLES`` networks (default 300, in groups of five: under 0.1 s of
CPU each; the time came from tests that repeated work, docs/testing.md has the measurements);
``make difftest N=...`` runs as many as asked and writes each failing spec, shrunk, into the regressions
folder (tools/difftest.py). docs/testing.md says what it covers and what it found.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from difftest.check import check_network, check_networks, tidy_together
from difftest.generator import networks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archspec
from archspec.backends import codegen

EXAMPLES = int(os.environ.get("ARCHSPEC_DIFFTEST_EXAMPLES", "300"))  # networks
GROUP = 5  # networks an example checks together (check_networks)
REGRESSIONS = Path(__file__).parent / "difftest_regressions"
ROOT = Path(__file__).parents[1]


@settings(
    max_examples=max(1, EXAMPLES // GROUP),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(texts=st.lists(networks(), min_size=GROUP, max_size=GROUP))
def test_random_networks_agree_with_torch(texts: list[str], tmp_path: Path) -> None:
    check_networks(texts, tmp_path)


def test_sources_tidied_together_are_tidied_as_one_by_one(tmp_path: Path) -> None:
    """The fast step's shortcut (``check.tidy_together``) gives what ``archspec compile`` writes: a zoo
    network with exposed parameters and blocks, and the generator's kept specs."""
    paths = [ROOT / "specs" / "mobilenet_v1.arch", *sorted(REGRESSIONS.glob("*.arch"))]
    texts = [path.read_text(encoding="utf-8") for path in paths]
    loaded = [archspec.load("n.arch", text=text) for text in texts]
    with mock.patch.object(codegen, "tidy", lambda source: source):
        untidied = [network.to_source() for network in loaded]
    assert tidy_together(untidied) == [network.to_source() for network in loaded]


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


# ---------------------------------------------------------------- tools/difftest.py keeps each bug once


def _tool() -> Any:
    spec = importlib.util.spec_from_file_location("difftest_tool", ROOT / "tools" / "difftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _saved_mismatch(text: str) -> None:
    """A stand-in for a failing check (a function of the test tree, as the checks are)."""
    raise AssertionError(f"saved for backward: {len(text)} bytes analysed, {2 * len(text)} by torch")


SMALL = "network n:\n  input: 1x{side}x{side}\n  layers:\n    conv({width}, {k})\n    {tail}\n"


def _failure(tool: Any, text: str) -> tuple[str, str, str]:
    try:
        _saved_mismatch(text)
    except AssertionError as error:
        return text, f"AssertionError: {error}", tool.signature(error, text)
    raise AssertionError("unreachable")


def test_the_tool_reports_a_kept_bug_as_known_and_keeps_a_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()
    first = _failure(tool, SMALL.format(side=8, width=2, k=3, tail="relu"))
    # the same bug in another shrunk spec: other numbers, the same ops
    again = _failure(tool, SMALL.format(side=11, width=3, k=5, tail="relu"))
    other = _failure(tool, SMALL.format(side=8, width=2, k=3, tail="sigmoid"))  # other ops
    assert first[2] == again[2] == "AssertionError in _saved_mismatch; ops: conv2d, input, relu"
    assert other[2] != first[2]
    rounds = iter([first, again, other, None])

    def one_round(examples: int, seed: int, counter: list[int]) -> tuple[str, str, str] | None:
        found = next(rounds)
        counter[0] += 1 if found else examples  # a round without a failure spends what is left
        return found

    monkeypatch.setattr(tool, "one_round", one_round)
    monkeypatch.setattr(
        sys, "argv", ["difftest.py", "--examples", "4", "--seed", "1", "--out", str(tmp_path)]
    )
    assert tool.main() == 1
    kept = sorted(tmp_path.glob("*.arch"))
    assert len(kept) == 2  # the first and the other; the same bug again is not kept twice
    assert {tool.SIGNATURE.search(p.read_text()).group(1) for p in kept} == {first[2], other[2]}
    out = capsys.readouterr().out
    assert "known (" in out and "2 new failures, 1 known" in out
    # a later run finds it again: known, not written, and exit status 0 when nothing new failed
    rounds = iter([again, None])
    assert tool.main() == 0
    assert sorted(tmp_path.glob("*.arch")) == kept
