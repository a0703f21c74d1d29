"""Golden files: generated source, reports and IR text, compared in full and reviewed in diffs.

Regenerate with `.venv/bin/python -m pytest tests/test_golden.py --update-golden`, then read the diff: a
golden file changes only when the output was meant to change.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import archspec
from archspec.report import render_analysis

CASES: dict[str, Callable[[], str]] = {
    "lenet5.py": lambda: archspec.load("lenet5").to_source(),
    "resnet18.py": lambda: archspec.load("resnet18").to_source(),
    "mobilenet_v2.py": lambda: archspec.load("mobilenet_v2").to_source(),
    "lenet5.analysis.md": lambda: render_analysis(archspec.load("lenet5").analyze(), "markdown"),
    "resnet50.depth2.analysis.md": lambda: render_analysis(
        archspec.load("resnet50").analyze(), "markdown", 2
    ),
    "googlenet.analysis.csv": lambda: render_analysis(archspec.load("googlenet").analyze(), "csv"),
    "lecun1989.analysis.all.md": lambda: render_analysis(
        archspec.load("lecun1989").analyze(count="all"), "markdown"
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str, golden: Callable[[str, str], None]) -> None:
    golden(name, CASES[name]())
