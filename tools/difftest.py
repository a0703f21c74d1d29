"""Differential testing against torch, at length: ``make difftest N=1000`` (docs/testing.md).

Runs ``--examples`` random networks (tests/difftest/generator.py) through every check of
tests/difftest/check.py. Each failure Hypothesis finds is shrunk to a minimal spec and written to
tests/difftest_regressions/NAME.arch, with the error in its header, where tests/test_difftest.py replays it
in every test run; the run then goes on with a new seed until the examples are spent. Exit status 1 when
anything new failed.

A bug is kept once. Each file's header records the failure's signature: the exception type, the check
that raised it and the op kinds of the shrunk spec (no numbers and no layer order: another shrunk spec of
the same bug differs in those). A failure whose signature a kept file already has is reported as known,
with that file's name, and not written again (an ``# open:`` regression would otherwise be found again by
every long run until it is fixed). Two bugs in one check over the same ops share a signature: the report
names the kept file, whose replay shows whether it still fails that way.

Usage: PYTHONPATH=$PWD .venv/bin/python tools/difftest.py [--examples N] [--seed S] [--out DIR]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import re
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

import archspec  # noqa: E402

SIGNATURE = re.compile(r"^# signature: (.+)$", re.MULTILINE)


def signature(error: BaseException, text: str) -> str:
    """``Type in function; ops: a, b``: the innermost frame of the checks or of archspec (torch's own
    frames do not say which figure disagreed) and the sorted op kinds of the spec (``?`` when it does
    not load: then the loader's error is the bug)."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if _ours(frame.filename)]
    where = frames[-1].name if frames else "?"
    try:
        graph = archspec.load("difftest.arch", text=text).graph
        ops = ", ".join(sorted({node.op.kind for node in graph.nodes}))
    except Exception:
        ops = "?"
    return f"{type(error).__name__} in {where}; ops: {ops}"


def _ours(filename: str) -> bool:
    path = Path(filename).resolve()
    return path.is_relative_to(ROOT / "tests") or path.is_relative_to(ROOT / "archspec")


def kept_signatures(out: Path) -> dict[str, Path]:
    """The signature recorded in each kept regression file's header, and the file."""
    kept = {}
    for path in sorted(out.glob("*.arch")):
        found = SIGNATURE.search(path.read_text(encoding="utf-8"))
        if found:
            kept[found.group(1)] = path
    return kept


def one_round(examples: int, seed: int, counter: list[int]) -> tuple[str, str, str] | None:
    """Run up to ``examples`` networks; the shrunk failing spec, its error and its signature, or None."""
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
                failure["signature"] = signature(error, text)
                raise

    try:
        run()
    except Exception:
        return failure["text"], failure["error"], failure["signature"]
    return None


def write(text: str, error: str, key: str, seed: int, out: Path) -> Path | None:
    """The regression file for one shrunk spec (None when that spec is already kept)."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = out / f"found_{digest}.arch"
    if path.exists():
        return None
    day = datetime.date.today().isoformat()
    header = f"# Found by tools/difftest.py (seed {seed}) on {day}, shrunk by Hypothesis.\n# {error}\n"
    header += f"# signature: {key}\n"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(header + text, encoding="utf-8")
    return path


def main() -> int:
    """Rounds of random networks until ``--examples`` have run; each new bug kept (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="networks to run (default 1000)")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="the first round's seed")
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "difftest_regressions")
    args = parser.parse_args()
    counter, seed, failures, known = [0], args.seed, 0, 0
    kept = kept_signatures(args.out)
    start = time.monotonic()
    while counter[0] < args.examples:
        found = one_round(args.examples - counter[0], seed, counter)
        if found is not None:
            text, error, key = found
            if key in kept:
                known += 1
                print(f"known ({error}): the bug kept as {kept[key].name} ({key})")
            else:
                failures += 1
                path = write(text, error, key, seed, args.out)
                if path is not None:
                    kept[key] = path
                print(f"FAIL ({error}): " + (f"kept as {path}" if path else "that spec is already kept"))
        seed += 1
    print(
        f"{counter[0]} networks (shrinking included), {failures} new failures, {known} known, "
        f"{time.monotonic() - start:.0f} s"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
