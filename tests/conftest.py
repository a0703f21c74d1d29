"""Shared pytest set-up: the ``--update-golden`` flag that rewrites the golden files under tests/golden/."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

GOLDEN = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/* from the current output (review the diff before committing)",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to rewrite golden files instead of comparing with them."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def golden(update_golden: bool) -> Callable[[str, str], None]:
    """``golden(name, actual)``: ``actual`` equals ``tests/golden/<name>``, or with ``--update-golden``
    rewrites that file (review the diff before committing)."""

    def check(name: str, actual: str) -> None:
        path = GOLDEN / name
        if update_golden:
            path.write_text(actual, encoding="utf-8")
            return
        assert path.exists(), f"no golden file {path.name}: run pytest with --update-golden and review it"
        assert actual == path.read_text(encoding="utf-8"), (
            f"{path.name} differs (review, then --update-golden)"
        )

    return check


# `tools/mutate.sh` runs the tests once per mutant: the same examples every time (derandomize), so that
# a mutant's verdict does not depend on the draw.
settings.register_profile("mutate", derandomize=True, deadline=None, print_blob=False)
if os.environ.get("ARCHSPEC_HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["ARCHSPEC_HYPOTHESIS_PROFILE"])
