"""Shared pytest set-up: the ``--update-golden`` flag that rewrites the golden files under tests/golden/."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings


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


# `tools/mutate.sh` runs the tests once per mutant: the same examples every time (derandomize), so that
# a mutant's verdict does not depend on the draw.
settings.register_profile("mutate", derandomize=True, deadline=None, print_blob=False)
if os.environ.get("ARCHSPEC_HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["ARCHSPEC_HYPOTHESIS_PROFILE"])
