"""Benchmark of `archspec analyze`: a whole process for vgg16, and in-process growth with network size.

    .venv/bin/python tools/bench_analyze.py [--runs 7] [--append docs/benchmarks.md]
    .venv/bin/python tools/bench_analyze.py --instructions     (valgrind: the same on a busy machine)
    .venv/bin/python tools/bench_analyze.py --startup [--runs 21]   (issue 26's floor and vgg16, timed)

With --instructions it counts each process's instructions side by side, the floor first: a process that
imports pydantic and validates one model (issue 26's floor: `analyze vgg16 --format json` within 1.5x of
it), and prints the ratio of each process to it.

Measures `archspec analyze vgg16 --format json` as a fresh process (wall time and peak RSS, from
resource.getrusage(RUSAGE_CHILDREN) per child), the median of N runs, beside a `python -c "import pydantic,
lark"` baseline and the peer tools when installed; then generated residual networks of 250/500/1,000 blocks
analysed in-process (load + analyze + JSON report), to show linear growth.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS = ("torchinfo", "fvcore", "ptflops")
# Children run as an installed package does: bytecode cached (here under a temp prefix, so the working tree
# stays clean), even where the environment sets PYTHONDONTWRITEBYTECODE.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CHILD_ENV["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "archspec-bench-pycache")
TARGETS = (
    "vgg16 ≤ 0.20 s (≥ 25x torchinfo) and ≤ 60 MB; 900 blocks < 1 s (the 5,000-layer limit); "
    "a 5,000-row table < 1 s"
)

# Each peer as a user runs it for the same figures: construct torchvision's VGG-16, then count.
PEER_SCRIPTS = {
    "torchinfo": (
        "import torchvision; from torchinfo import summary; "
        "s = summary(torchvision.models.vgg16(), input_size=(1, 3, 224, 224), verbose=0); "
        "print(s.total_params, s.total_mult_adds)"
    ),
    "fvcore": (
        "import torch, torchvision; from fvcore.nn import FlopCountAnalysis, parameter_count; "
        "m = torchvision.models.vgg16().eval(); f = FlopCountAnalysis(m, torch.randn(1, 3, 224, 224)); "
        "f.unsupported_ops_warnings(False); f.uncalled_modules_warnings(False); "
        "print(parameter_count(m)[''], f.total())"
    ),
    "ptflops": (
        "import torchvision; from ptflops import get_model_complexity_info; "
        "macs, params = get_model_complexity_info(torchvision.models.vgg16(), (3, 224, 224), "
        "as_strings=False, print_per_layer_stat=False); print(params, macs)"
    ),
}


# The least a process that validates one Pydantic model costs (issue 26's floor), and the same importing
# Lark (which `analyze` of a zoo network no longer does). `import pydantic` alone is lazy: BaseModel's
# machinery (and, on the first model built, its schema generator) load on first use.
PYDANTIC_FLOOR = "from pydantic import BaseModel\nclass M(BaseModel):\n    x: int\nM(x=1)"
FLOOR_SCRIPT = "import lark; " + PYDANTIC_FLOOR
# Issue 26: the whole `analyze vgg16 --format json` process within this factor of the pydantic floor.
FLOOR_TARGET = 1.5


def instruction_counts() -> list[tuple[str, int]]:
    """Instructions each process runs (valgrind's cachegrind, no cache simulation): unlike wall time, the
    same on a busy machine, so that two versions of the front end can be compared to the percent. The
    first is the floor the others are divided by."""
    python = sys.executable
    archspec = [python, "-m", "archspec"]
    commands = {
        "floor: one pydantic model defined and validated": [python, "-c", PYDANTIC_FLOOR],
        "`archspec analyze vgg16 --format json`": [*archspec, "analyze", "vgg16", "--format", "json"],
        "`archspec analyze resnet50 --format json`": [*archspec, "analyze", "resnet50", "--format", "json"],
        "the floor with lark imported": [python, "-c", FLOOR_SCRIPT],
        '`python -c "import pydantic, lark"`': [python, "-c", "import pydantic, lark"],
        '`python -c "pass"`': [python, "-c", "pass"],
    }
    counts = []
    for label, argv in commands.items():
        subprocess.run(argv, cwd=ROOT, env=CHILD_ENV, capture_output=True, check=True)  # bytecode cached
        out = subprocess.run(
            ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", *argv],
            cwd=ROOT, env=CHILD_ENV, capture_output=True, text=True, check=True,
        )  # fmt: skip
        refs = [line for line in out.stderr.splitlines() if "I   refs:" in line or "I refs:" in line]
        counts.append((label, int(refs[-1].split(":")[1].replace(",", ""))))
    return counts


def startup_times(runs: int) -> list[tuple[str, float, float]]:
    """Issue 26's pair timed side by side: the floor and `analyze vgg16 --format json`, each run ``runs``
    times, alternately (so that a change in the machine's load falls on both), after one warm-up each;
    the median wall time and the median CPU time (user + system, from getrusage) of each."""
    python = sys.executable
    commands = {
        "floor: one pydantic model defined and validated": [python, "-c", PYDANTIC_FLOOR],
        "`archspec analyze vgg16 --format json`": [
            python,
            "-m",
            "archspec",
            "analyze",
            "vgg16",
            "--format",
            "json",
        ],
    }
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
    for argv in commands.values():
        run_child(argv)  # bytecode cached, files in the page cache
    for _ in range(runs):
        for label, argv in commands.items():
            before = os.times()
            wall, _rss = run_child(argv)
            after = os.times()
            cpu = (after.children_user - before.children_user) + (
                after.children_system - before.children_system
            )
            samples[label].append((wall, cpu))
    return [
        (label, statistics.median(w for w, _ in got), statistics.median(c for _, c in got))
        for label, got in samples.items()
    ]


def peer_figures(peer: str) -> str:
    """The params and MACs a peer reports for VGG-16 (one extra run, output captured)."""
    out = subprocess.run(
        [sys.executable, "-c", PEER_SCRIPTS[peer]], cwd=ROOT, capture_output=True, text=True, env=CHILD_ENV
    )
    numbers = out.stdout.split()
    if out.returncode != 0 or len(numbers) < 2:
        return "failed"
    return f"params {int(float(numbers[0])):,}, MACs {int(float(numbers[1])):,}"


def run_child(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    pid_start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=CHILD_ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - pid_start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024  # Linux: KiB


def median_of(argv: list[str], runs: int) -> tuple[float, float]:
    run_child(argv)  # warm the file cache and the .pyc files
    results = [run_child(argv) for _ in range(runs)]
    return statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)


def residual_spec(blocks: int) -> str:
    return f"""
block Res(width):
  residual:
    conv(width, 3, pad=1) >> relu >> conv(width, 3, pad=1)
  relu

network deep:
  input: 16x16x16
  layers:
    stem: conv(16, 3, pad=1)
    blocks: Res(16) * {blocks}
    head: global_avgpool >> flatten >> linear(10)
"""


def in_process(blocks: int, runs: int) -> float:
    import archspec
    from archspec.report import render_analysis

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"deep{blocks}.arch"
        path.write_text(residual_spec(blocks))
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            render_analysis(archspec.load(path).analyze(), "json")
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def table_rendering(blocks: int, runs: int) -> tuple[int, float]:
    """Rows of the terminal table of the generated network, and the median time to render it (the
    analysis done beforehand: this is the table alone, at 200 columns)."""
    import archspec
    from archspec.report import render_analysis

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"deep{blocks}.arch"
        path.write_text(residual_spec(blocks))
        analysis = archspec.load(path).analyze()
    os.environ["COLUMNS"] = "200"
    times, text = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        text = render_analysis(analysis, "table")
        times.append(time.perf_counter() - start)
    rows = sum(1 for line in text.splitlines() if line.startswith("│"))
    return rows, statistics.median(times)


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--append", type=Path, help="append a Markdown section to this file")
    parser.add_argument(
        "--instructions", action="store_true", help="count each process's instructions (valgrind) instead"
    )
    parser.add_argument(
        "--startup", action="store_true", help="time the floor and `analyze vgg16` alone, alternately"
    )
    args = parser.parse_args()
    if args.startup:
        times = startup_times(args.runs)
        print(
            f"Machine: {os.cpu_count()} CPUs, {cpu_model()}; Python {platform.python_version()}; "
            f"load average {os.getloadavg()[0]:.1f}; median of {args.runs} alternate runs."
        )
        print("| process | wall | ratio | CPU (user + system) | ratio |\n|---|---|---|---|---|")
        floor_wall, floor_cpu = times[0][1], times[0][2]
        for label, wall, cpu in times:
            print(
                f"| {label} | {wall:.3f} s | {wall / floor_wall:.2f} | {cpu:.3f} s | {cpu / floor_cpu:.2f} |"
            )
        return
    if args.instructions:
        counts = instruction_counts()
        print(f"Machine: {os.cpu_count()} CPUs, {cpu_model()}; Python {platform.python_version()}.")
        print("| process | instructions | ratio to the floor |\n|---|---|---|")
        for label, count in counts:
            print(f"| {label} | {count / 1e6:,.0f} M | {count / counts[0][1]:.2f} |")
        ratio = counts[1][1] / counts[0][1]
        verdict = "met" if ratio <= FLOOR_TARGET else "not met"
        print(f"analyze vgg16 / floor: {ratio:.2f} (target ≤ {FLOOR_TARGET}: {verdict})")
        return
    python = sys.executable
    rows = []
    wall, rss = median_of([python, "-m", "archspec", "analyze", "vgg16", "--format", "json"], args.runs)
    ours = wall
    rows.append(("`archspec analyze vgg16 --format json`", f"{wall:.3f} s", f"{rss:.0f} MB"))
    wall, rss = median_of([python, "-c", "import pydantic, lark"], args.runs)
    rows.append(('baseline `python -c "import pydantic, lark"`', f"{wall:.3f} s", f"{rss:.0f} MB"))
    wall, rss = median_of([python, "-c", FLOOR_SCRIPT], args.runs)
    rows.append(
        ("floor: lark imported, one pydantic model validated (see below)", f"{wall:.3f} s", f"{rss:.0f} MB")
    )
    for peer in PEERS:
        if importlib.util.find_spec(peer) is None:
            rows.append((f"{peer}", "not installed", "-"))
            continue
        wall, rss = median_of([python, "-c", PEER_SCRIPTS[peer]], max(3, args.runs // 2))
        label = f"{peer} on torchvision's vgg16 ({peer_figures(peer)})"
        rows.append((label, f"{wall:.3f} s ({wall / ours:.1f}x archspec)", f"{rss:.0f} MB"))
    wall, rss = median_of([python, "-c", "import torch"], max(3, args.runs // 2))
    rows.append(('`python -c "import torch"`', f"{wall:.3f} s", f"{rss:.0f} MB"))
    growth = [(n, in_process(n, max(3, args.runs // 2))) for n in (250, 500, 900)]
    table_rows, table_time = table_rendering(900, max(3, args.runs // 2))
    lines = [
        "## Analysis",
        "",
        f"Machine: {os.cpu_count()} CPUs (`nproc`), {cpu_model()}; Python {platform.python_version()}.",
        f"Command: `.venv/bin/python tools/bench_analyze.py --runs {args.runs}`. Targets: {TARGETS}.",
        f"Whole process, median of {args.runs} runs after one warm-up (peak RSS from getrusage of each "
        "child; bytecode cached, PYTHONDONTWRITEBYTECODE unset for the children):",
        "",
        "| what | wall | peak RSS |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        "Generated residual network (two 3x3 convs per block), load + analyze + JSON report, "
        "in-process, median:",
        "",
        "| blocks | time | per block |",
        "|---|---|---|",
        *[f"| {n} | {t:.3f} s | {1000 * t / n:.2f} ms |" for n, t in growth],
        "",
        f"Terminal table of the 900-block network ({table_rows:,} rows, 200 columns), rendering alone, "
        f"median: {table_time:.3f} s ({1e6 * table_time / table_rows:.0f} µs a row).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.append:
        with args.append.open("a") as out:
            out.write("\n" + text)


if __name__ == "__main__":
    main()
