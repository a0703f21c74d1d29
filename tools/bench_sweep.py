"""Benchmark of the search loop: `archspec.load(spec, **params).analyze()` of ResNet-50 variants in-process,
a sweep's rate, and torchinfo's summary of torchvision's ResNet-50 in the same run (when installed).

    PYTHONPATH=$PWD .venv/bin/python tools/bench_sweep.py [--runs 30] [--profile] [--torch-threads N]
    PYTHONPATH=$PWD .venv/bin/python tools/bench_sweep.py --instructions [--calls 10] [--parts rows,lower]

Each figure is the median of ``--runs`` timings after one warm-up (the first load imports and parses);
the headline rows give the fastest run too, and the last line the ratio of torchinfo to archspec. Every
call of the search loop is a new variant (``num_classes`` 10, 11, 12, ...), so nothing is answered from
a cache of whole results; lowering's op cache (``archspec.elab.graph.created``) is what such a loop
reuses, with its block templates (``archspec.elab.replay``) and the analysis memos; the row "with the
caches emptied" shows a first variant without them.
``--profile`` prints cProfile's 25 most expensive functions of load + analyze instead. ``--instructions``
counts instructions per call of each part under ``valgrind --tool=cachegrind --cache-sim=no`` (a process
making ``--calls`` calls less one making none, divided by the calls, both after three warm-up variants and
the same set-up; independent of the machine's load). The numbers are for docs/benchmarks.md; no test times
anything.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import os
import platform
import pstats
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable


def median_ms(work: Callable[[int], object], runs: int) -> float:
    """The median wall time of ``work(i)`` over ``runs`` calls, in milliseconds (after one warm-up)."""
    return timings_ms(work, runs)[0]


def timings_ms(work: Callable[[int], object], runs: int) -> tuple[float, float, float]:
    """The median and the fastest wall time of ``work(i)`` for i = 1..runs, and the median CPU time of
    the process (all its threads), in milliseconds, after one warm-up call ``work(0)``. On a shared
    machine the fastest wall time is the least disturbed, and CPU time counts only this process's work."""
    work(0)
    times, cpu = [], []
    for i in range(1, runs + 1):
        began, began_cpu = time.perf_counter(), time.process_time()
        work(i)
        times.append((time.perf_counter() - began) * 1e3)
        cpu.append((time.process_time() - began_cpu) * 1e3)
    return statistics.median(times), min(times), statistics.median(cpu)


def _cold(i: int) -> object:
    """A load + analyze with lowering's op cache, its block templates and the analysis memos emptied
    first (a first variant, not a search loop)."""
    import importlib

    import archspec

    for module, names in _CACHES.items():
        try:
            found = importlib.import_module(module)
        except ModuleNotFoundError:  # (each absent before its change: the script measures those commits too)
            continue
        for name in names:
            getattr(found, name, {}).clear()
    return archspec.load("resnet50", num_classes=1000 + i).analyze()


# Every cache a search loop reuses, by module.
_CACHES = {
    "archspec.elab.graph": ("_CREATED",),
    "archspec.elab.replay": ("_TEMPLATES",),
    "archspec.elab.memo": ("_MADE", "_READS", "_INIT_READS"),
    "archspec.analysis.core": ("_DESCRIBED",),
    "archspec.analysis.counts": ("_COUNTED", "_BY_SHAPES", "_DEPTHS"),
    "archspec.analysis.receptive": ("_STEPS", "_TOKENS"),
    "archspec.analysis.memory": ("_SAVED", "_FACTS"),
}


def _uncached(path: object) -> object:
    from archspec import loader

    loader._parse.cache_clear()
    return loader.load_program(path)  # type: ignore[arg-type]


def _parts() -> dict[str, Callable[[int], object]]:
    """Each measured part as ``work(i)``, set up after three warm-up variants (``i`` numbers a new
    variant where the part takes one). The set-up is the same whichever part is measured, so that a
    process making no call is the baseline of all of them."""
    import archspec
    from archspec.analysis import analyze, core
    from archspec.analysis.counts import layer_depth, node_counts
    from archspec.analysis.memory import dtype_size, peak_activation, samples, saved_activations
    from archspec.analysis.receptive import network_fields, receptive_fields
    from archspec.loader import load_program, resolve_spec
    from archspec.lower import lower
    from archspec.ops import numel

    for i in range(3):
        archspec.load("resnet50", num_classes=10 + i).analyze()
    path, variant = resolve_spec("resnet50")
    program = load_program(path)
    graph = lower(program, variant, {"num_classes": 13})
    counts = node_counts(graph)
    rf = receptive_fields(graph)
    size = dtype_size("float32")
    out_bytes = {n.id: 0 if n.op.state else numel(n.shape) * size * samples(n, 1) for n in graph.nodes}
    saved = saved_activations(graph, "float32", 1).per_node

    parts: dict[str, Callable[[int], object]] = {
        "load + analyze": lambda i: archspec.load("resnet50", num_classes=20 + i).analyze(),
        "load + analyze + rows": lambda i: archspec.load("resnet50", num_classes=40 + i).analyze().rows,
        "lower": lambda i: lower(program, variant, {"num_classes": 60 + i}),
        "analyze": lambda i: analyze(graph),
        "analyze + rows": lambda i: analyze(graph).rows,
        "rows": lambda i: core._rows(graph, counts, rf, out_bytes, saved, "torchvision"),
        "saved activations": lambda i: saved_activations(graph, "float32", 1),
        "inference peak": lambda i: peak_activation(graph, "float32", 1),
        "receptive field": lambda i: network_fields(graph, receptive_fields(graph)),
        "node counts": lambda i: node_counts(graph),
        "depth": lambda i: layer_depth(graph),
    }
    return parts


def _instructions_child(part: str, calls: int) -> None:
    """Set up every part, then make ``calls`` calls of one (run under valgrind by ``_instructions``)."""
    work = _parts()[part]
    for i in range(calls):
        work(i)


def _count(part: str, calls: int) -> int:
    """Instructions of a child process making ``calls`` calls of ``part``, by cachegrind."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        os.path.abspath(__file__),
        "--instructions-child",
        part,
        "--calls",
        str(calls),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def _instructions(parts: list[str], calls: int) -> None:
    """Print the instructions per call of each part as Markdown lines (the baseline subtracted)."""
    base = _count("load + analyze", 0)
    for part in parts:
        per_call = (_count(part, calls) - base) / calls
        print(f"| {part} | {per_call / 1e6:.1f} M |", flush=True)


def main() -> None:
    """Print the timings (or the profile, or the instruction counts) as Markdown lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--instructions", action="store_true", help="instructions per call, by cachegrind")
    parser.add_argument("--calls", type=int, default=10, help="calls per measured process (--instructions)")
    parser.add_argument("--parts", default="", help="comma-separated parts to count (default: all)")
    parser.add_argument("--instructions-child", default="", help=argparse.SUPPRESS)
    parser.add_argument(
        "--torch-threads", type=int, default=0, help="torch's threads for torchinfo (0: torch's default)"
    )
    args = parser.parse_args()
    if args.instructions_child:
        _instructions_child(args.instructions_child, args.calls)
        return
    if args.instructions:
        names = ["load + analyze", "load + analyze + rows", "lower", "analyze", "analyze + rows", "rows"]
        names += ["saved activations"]
        names += ["inference peak", "receptive field", "node counts", "depth"]
        _instructions(args.parts.split(",") if args.parts else names, args.calls)
        return

    import archspec
    from archspec.analysis import analyze
    from archspec.loader import load_program, resolve_spec
    from archspec.lower import lower
    from archspec.sweeps import figures_of

    def load_analyze(i: int) -> object:
        # a new variant each time (no two calls alike): num_classes 10, 11, 12, ...
        return archspec.load("resnet50", num_classes=10 + i).analyze()

    def depth_search(i: int) -> object:
        # a search over the third stage's depth and the width of the classifier
        return archspec.load("resnet50", depths=[3, 4, 2 + i % 20, 3], num_classes=10 + i).analyze()

    if args.profile:
        load_analyze(0)
        profile = cProfile.Profile()
        profile.runcall(lambda: [load_analyze(i) for i in range(args.runs)])
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        return
    path, variant = resolve_spec("resnet50")
    program = load_program(path)
    graph = lower(program, variant)
    headline = timings_ms(load_analyze, args.runs)
    figures = {
        "load + analyze (archspec.load(...).analyze())": headline[0],
        "  the same, fastest run": headline[1],
        "  the same, CPU time (median)": headline[2],
        "load + analyze, depths=[3, 4, 2..21, 3] (a depth search)": median_ms(depth_search, args.runs),
        "load + analyze with the caches emptied (a first variant)": median_ms(_cold, args.runs),
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
    ratios = []
    if importlib.util.find_spec("torchinfo") is not None:
        import torch
        import torchvision
        from torchinfo import summary

        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)

        def torchinfo_summary(i: int) -> object:
            model = torchvision.models.resnet50()
            return summary(model, input_size=(1, 3, 224, 224), verbose=0)

        peer = timings_ms(torchinfo_summary, max(3, args.runs // 5))
        threads = torch.get_num_threads()
        name = f"torchinfo summary of torchvision resnet50 (construct + summary), {threads} threads"
        figures[name] = peer[0]
        figures["  torchinfo, fastest run"] = peer[1]
        figures["  torchinfo, CPU time (median)"] = peer[2]
        ratios = [
            f"torchinfo / archspec: {peer[0] / headline[0]:.0f}x (median wall), "
            f"{peer[1] / headline[1]:.0f}x (fastest wall), {peer[2] / headline[2]:.0f}x (median CPU)"
        ]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, ", end="")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average {load}; Python {platform.python_version()}")
    for name, value in figures.items():
        print(f"| {name} | {value:,.2f} ms |")
    for line in ratios:
        print(line)


if __name__ == "__main__":
    main()
