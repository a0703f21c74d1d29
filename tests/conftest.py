"""Shared pytest set-up: the ``--update-golden`` flag that rewrites the golden files under tests/golden/."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

GOLDEN = Path(__file__).parent / "golden"

# Under pytest-xdist (`make test` runs `-n 2` on this 2-core machine) each worker gets one core: torch's
# default of one thread per core in every worker would oversubscribe the machine and run slower than one
# process. The variable is read when torch is imported, and is inherited by the CLI subprocesses.
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
TORCH_THREADS = max(1, (os.cpu_count() or 1) // WORKERS)
os.environ.setdefault("OMP_NUM_THREADS", str(TORCH_THREADS))


@pytest.fixture(autouse=True)
def _same_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the same state, whoever runs it:

    - no ``COLUMNS`` (xdist's workers set it to 80, a user's shell may export it): output to a pipe is
      ``report.PIPE_WIDTH`` wide unless a test sets a width itself;
    - the same torch thread count, so that a test that changes it (training with one thread, say) cannot
      slow the tests after it.
    """
    monkeypatch.delenv("COLUMNS", raising=False)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(TORCH_THREADS)


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
