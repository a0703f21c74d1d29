"""Benchmark of the search loop: `archspec.load(spec, **params).analyze()` of ResNet-50 variants in-process,
a sweep's rate, and torchinfo's summary of torchvision's ResNet-50 in the same run (when installed).

    PYTHONPATH=$PWD .venv/bin/python tools/bench_sweep.py [--runs 30] [--profile]

Each figure is the median of ``--runs`` timings after one warm-up (the first load imports and parses).
``--profile`` prints cProfile's 25 most expensive functions of load + analyze instead. The numbers are for
docs/benchmarks.md; no test times anything.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import os
import platform
import pstats
import statistics
import time
from collections.abc import Callable


def median_ms(work: Callable[[int], object], runs: int) -> float:
    """The median wall time of ``work(i)`` over ``runs`` calls, in milliseconds (after one warm-up)."""
    work(0)
    times = []
    for i in range(runs):
        began = time.perf_counter()
        work(i)
        times.append((time.perf_counter() - began) * 1e3)
    return statistics.median(times)


def _uncached(path: object) -> object:
    from archspec import loader

    loader._parse.cache_clear()
    return loader.load_program(path)  # type: ignore[arg-type]


def main() -> None:
    """Print the timings (or the profile) as Markdown lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    import archspec
    from archspec.analysis import analyze
    from archspec.loader import load_program, resolve_spec
    from archspec.lower import lower
    from archspec.sweeps import figures_of

    def load_analyze(i: int) -> object:
        return archspec.load("resnet50", num_classes=10 + i % 5).analyze()

    if args.profile:
        load_analyze(0)
        profile = cProfile.Profile()
        profile.runcall(lambda: [load_analyze(i) for i in range(args.runs)])
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        return
    path, variant = resolve_spec("resnet50")
    program = load_program(path)
    graph = lower(program, variant)
    figures = {
        "load + analyze (archspec.load(...).analyze())": median_ms(load_analyze, args.runs),
        "  of which load_program (parse; cached AST)": median_ms(lambda i: load_program(path), args.runs),
        "  load_program without the cache (as before it)": median_ms(lambda i: _uncached(path), args.runs),
        "  of which lower": median_ms(lambda i: lower(program, variant, {"num_classes": 10 + i}), args.runs),
        "  of which analyze": median_ms(lambda i: analyze(graph), args.runs),
        "a sweep's figures (figures_of: analyze without its rows)": median_ms(
            lambda i: figures_of(graph), args.runs
        ),
    }
    grid = {"num_classes": list(range(10, 10 + args.runs))}
    began = time.perf_counter()
    archspec.sweep("resnet50", grid)
    figures[f"archspec.sweep, per row ({args.runs} rows)"] = (time.perf_counter() - began) * 1e3 / args.runs
    if importlib.util.find_spec("torchinfo") is not None:
        import torchvision
        from torchinfo import summary

        def torchinfo_summary(i: int) -> object:
            model = torchvision.models.resnet50()
            return summary(model, input_size=(1, 3, 224, 224), verbose=0)

        figures["torchinfo summary of torchvision resnet50 (construct + summary)"] = median_ms(
            torchinfo_summary, max(3, args.runs // 5)
        )
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, ", end="")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average {load}; Python {platform.python_version()}")
    for name, value in figures.items():
        print(f"| {name} | {value:,.1f} ms |")


if __name__ == "__main__":
    main()
