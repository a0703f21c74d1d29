"""Differential testing against torch, at length: ``make difftest N=1000`` (docs/testing.md).

Runs ``--examples`` random networks (tests/difftest/generator.py) through every check of
tests/difftest/check.py. Each failure Hypothesis finds is shrunk to a minimal spec and written to
tests/difftest_regressions/NAME.arch, with the error in its header, where tests/test_difftest.py replays it
in every test run; the run then goes on with a new seed until the examples are spent. A spec already
there (the same text) is not written twice. Exit status 1 when anything failed.

Usage: PYTHONPATH=$PWD .venv/bin/python tools/difftest.py [--examples N] [--seed S] [--out DIR]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the checks reuse the test suite's oracles

from difftest.check import check_network  # noqa: E402
from difftest.generator import networks  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as with_seed  # noqa: E402


def one_round(examples: int, seed: int, counter: list[int]) -> tuple[str, str] | None:
    """Run up to ``examples`` networks; the shrunk failing spec and its error, or None."""
    failure: dict[str, str] = {}

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        report_multiple_bugs=False,  # one bug a round: its minimal example is the last one run
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @with_seed(seed)
    @given(text=networks())
    def run(text: str) -> None:
        counter[0] += 1
        with tempfile.TemporaryDirectory() as directory:
            try:
                check_network(text, Path(directory))
            except Exception as error:
                frame = traceback.extract_tb(error.__traceback__)[-1]
                failure["text"] = text
                failure["error"] = f"{type(error).__name__} at {Path(frame.filename).name}:{frame.lineno}: "
                failure["error"] += " ".join(str(error).split())[:300]
                raise

    try:
        run()
    except Exception:
        return failure["text"], failure["error"]
    return None


def write(text: str, error: str, seed: int, out: Path) -> Path | None:
    """The regression file for one shrunk spec (None when that spec is already kept)."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = out / f"found_{digest}.arch"
    if path.exists():
        return None
    day = datetime.date.today().isoformat()
    header = f"# Found by tools/difftest.py (seed {seed}) on {day}, shrunk by Hypothesis.\n# {error}\n"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(header + text, encoding="utf-8")
    return path


def main() -> int:
    """Rounds of random networks until ``--examples`` have run; each failure kept (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="networks to run (default 1000)")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="the first round's seed")
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "difftest_regressions")
    args = parser.parse_args()
    counter, seed, failures = [0], args.seed, 0
    start = time.monotonic()
    while counter[0] < args.examples:
        found = one_round(args.examples - counter[0], seed, counter)
        if found is not None:
            failures += 1
            path = write(*found, seed, args.out)
            print(f"FAIL ({found[1]})" + (f": kept as {path}" if path else " (already kept)"))
        seed += 1
    print(
        f"{counter[0]} networks (shrinking included), {failures} failures, {time.monotonic() - start:.0f} s"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
