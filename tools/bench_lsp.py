"""Latency of the language server after an edit of specs/resnet.arch, in-process (docs/benchmarks.md).

    PYTHONPATH=$PWD .venv/bin/python tools/bench_lsp.py [--runs 15]

Each run edits the text (a new default for `num_classes`, so that no cached parse applies), then times
what the server does on `didChange` and on a hover, as ``archspec.lsp.server`` calls it:

- diagnostics: the file loaded and parsed, the static checks, the default variant lowered and analysed,
  and the diagnostics converted (what is published first);
- hover: the hover of `layer1: Stage(...)` from that snapshot;
- other variants: the remaining four variants lowered (published second, when they add anything).

Prints the median and the slowest run of each in wall time, and the median CPU time of the process (less
sensitive to a busy machine), in milliseconds. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archspec.lsp import features  # noqa: E402
from archspec.lsp.document import analyse, check_other_variants  # noqa: E402

RESNET = ROOT / "specs" / "resnet.arch"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    original = RESNET.read_text("utf-8")
    line = next(n for n, text in enumerate(original.splitlines()) if "layer1: Stage" in text)
    analyse(RESNET, original)  # imports and first-use costs, as a running server has paid them
    wall: dict[str, list[float]] = {"diagnostics": [], "hover": [], "other variants": []}
    cpu: dict[str, list[float]] = {name: [] for name in wall}
    for run in range(args.runs):
        text = original.replace("num_classes = 1000", f"num_classes = {1000 + run + 1}")
        marks = [(time.perf_counter(), time.process_time())]
        snapshot = analyse(RESNET, text)
        features.diagnostics(snapshot)
        marks.append((time.perf_counter(), time.process_time()))
        hover = features.hover(snapshot, line, 6)
        marks.append((time.perf_counter(), time.process_time()))
        check_other_variants(snapshot)
        marks.append((time.perf_counter(), time.process_time()))
        assert hover is not None and not snapshot.diagnostics
        for name, before, after in zip(wall, marks, marks[1:], strict=False):
            wall[name].append(after[0] - before[0])
            cpu[name].append(after[1] - before[1])
    print(f"{args.runs} runs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name in wall:
        print(
            f"{name:>15}: wall median {statistics.median(wall[name]) * 1e3:6.1f} ms "
            f"(slowest {max(wall[name]) * 1e3:6.1f}), CPU median {statistics.median(cpu[name]) * 1e3:6.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
