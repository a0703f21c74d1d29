"""Shared pytest set-up: the ``--update-golden`` flag that rewrites the golden files under tests/golden/."""

from __future__ import annotations

import pytest


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
