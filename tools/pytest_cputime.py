"""A pytest plugin that prints the CPU seconds (this process and its children, e.g. ruff) and the wall
seconds of each test call: on a shared machine the CPU time is the figure that compares (docs/testing.md,
"Cost of the random networks").

Usage: PYTHONPATH=$PWD:$PWD/tools .venv/bin/python -m pytest -s -p pytest_cputime TESTS
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator

import pytest


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Time one test call."""
    cpu, wall = _cpu(), time.perf_counter()
    yield
    print(f"\nCPUTIME {item.nodeid}: cpu {_cpu() - cpu:.1f} s, wall {time.perf_counter() - wall:.1f} s")
