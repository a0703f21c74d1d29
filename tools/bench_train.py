"""Benchmark: `archspec train` on the digits, and its loop against a plain hand-written torch loop.

    .venv/bin/python tools/bench_train.py [--seeds 0 1 2] [--repeats 5] [--threads N]
                                          [--skip-accuracy] [--skip-loop]
    .venv/bin/python tools/bench_train.py --instructions [--epochs 2]

1. Accuracy and wall time: `archspec train lenet5 --data digits` and `archspec train lecun1989 --data
   digits` with the defaults, one whole process per seed (the wall time includes Python start-up and
   imports); best and final test accuracy, wall and CPU time, medians over the seeds (and min/max).
2. Loop throughput: one training epoch of the same model on the same data, archspec's loop
   (`archspec.train.loop.train_epoch`: its data loader, the non-finite check, the metric sums) against a
   plain loop a person would write (a permutation, slicing, forward, loss, backward, step, `loss.item()`).
   Both start from the same weights and optimiser; runs are interleaved (ours, plain, ours, ...), and the
   min/median/max images/s of each side are reported with the ratio of the medians, and the images per
   CPU-second of each (with `--threads 1`, a measure that the machine's other tenants barely move).

The machine is shared: the load average before and after is printed; quote numbers from a quiet machine.

3. ``--instructions``: instead of timing them, count the instructions of ``--epochs`` epochs of each loop
   with valgrind's callgrind (each loop in its own process, one torch thread, counting switched on only
   around the counted epochs): a figure the machine's other tenants do not move. About 15 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def accuracy_runs(spec: str, seeds: list[int]) -> dict[str, object]:
    """Train ``spec`` once per seed in a fresh process; accuracy and wall time of each."""
    rows = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "run"
            command = [
                sys.executable,
                "-m",
                "archspec",
                "train",
                spec,
                "--seed",
                str(seed),
                "--out",
                str(out),
            ]
            start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([*command, "--quiet"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
            # CPU seconds (user + system) say more than wall time on a shared machine.
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        best, final = max(r["test_acc"] for r in history), history[-1]["test_acc"]
        rows.append({"seed": seed, "best": best, "final": final, "wall": wall, "cpu": cpu})
        print(
            f"  {spec} seed {seed}: best {best:.2%}, final {final:.2%}, wall {wall:.1f} s, cpu {cpu:.1f} s",
            flush=True,
        )
    return {
        "spec": spec,
        "best": statistics.median(r["best"] for r in rows),
        "final": statistics.median(r["final"] for r in rows),
        "final_min": min(r["final"] for r in rows),
        "wall": statistics.median(r["wall"] for r in rows),
        "wall_max": max(r["wall"] for r in rows),
        "cpu": statistics.median(r["cpu"] for r in rows),
    }


def loop_sides(
    spec: str, device: torch.device | None = None
) -> tuple[dict[str, Callable[[], tuple[float, float]]], int]:
    """One training epoch of ``spec`` on the digits in each loop, from the same weights and optimiser,
    on ``device`` (the CPU unless given; tools/bench_gpu.py runs them on a GPU).

    Each callable runs an epoch and returns (images/s, images per CPU-second): ``ours`` is archspec's
    ``train_epoch``, ``plain`` the loop a person would write. Also returns the images in an epoch.
    """
    import archspec
    from archspec.train import distributed
    from archspec.train.config import TrainConfig
    from archspec.train.data import load_data
    from archspec.train.loop import Stepper, make_optimizer, schedule_factor, train_epoch, train_loader
    from archspec.train.losses import loss_name, make_loss
    from archspec.train.progress import Reporter

    network = archspec.load(spec)
    config = TrainConfig(spec=spec, quiet=True)
    data = load_data("digits", network.graph.input_shape, network.name, 10)
    criterion = make_loss(loss_name(network.graph), 0.0)
    context = distributed.Context(device or torch.device("cpu"))
    torch.manual_seed(0)
    start_weights = network.build().state_dict()

    def fresh() -> tuple[torch.nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
        model = network.build()
        model.load_state_dict(start_weights)
        model.to(context.device)
        optimizer = make_optimizer(model, config)
        steps = -(-len(data.train) // config.batch_size)  # type: ignore[arg-type]
        return model, optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule_factor(config, steps))

    def ours() -> tuple[float, float]:
        model, optimizer, scheduler = fresh()
        loader = train_loader(data.train, config, context, data.batched)
        loader.sampler.set_epoch(1)
        stepper = Stepper(model, criterion, optimizer, scheduler, None, config, context.device)
        cpu = time.process_time()
        metrics = train_epoch(stepper, loader, 1, context, Reporter(quiet=True))
        return metrics["images_per_s"], len(labels) / (time.process_time() - cpu)

    images = data.train.images.to(context.device)  # type: ignore[attr-defined]
    labels = data.train.labels.to(context.device)  # type: ignore[attr-defined]

    def plain() -> tuple[float, float]:
        model, optimizer, scheduler = fresh()
        model.train()
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(1)).to(context.device)
        if context.device.type == "cuda":
            torch.cuda.synchronize(context.device)
        start, cpu = time.perf_counter(), time.process_time()
        total = 0.0
        for first in range(0, len(order), config.batch_size):
            index = order[first : first + config.batch_size]
            x, y = images[index], labels[index]
            loss = criterion(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item()
        return len(order) / (time.perf_counter() - start), len(order) / (time.process_time() - cpu)

    return {"ours": ours, "plain": plain}, len(labels)


def loop_throughput(spec: str, repeats: int) -> dict[str, float]:
    """Images/s of one epoch: archspec's loop against a plain loop (interleaved; same start each time)."""
    sides, _ = loop_sides(spec)
    for run in sides.values():  # warm-up
        run()
    results: dict[str, list[tuple[float, float]]] = {"ours": [], "plain": []}
    for _ in range(repeats):
        for side, run in sides.items():
            results[side].append(run())
    summary = {}
    for side, pairs in results.items():
        values = [wall for wall, _ in pairs]
        summary[f"{side}_min"], summary[f"{side}_median"] = min(values), statistics.median(values)
        summary[f"{side}_max"] = max(values)
        # Images per CPU-second: with one torch thread, what the process itself spent, whatever the
        # machine's other tenants do to the wall clock.
        summary[f"{side}_cpu_median"] = statistics.median(cpu for _, cpu in pairs)
    summary["ratio"] = summary["ours_median"] / summary["plain_median"]
    summary["cpu_ratio"] = summary["ours_cpu_median"] / summary["plain_cpu_median"]
    return summary


def counted_epochs(side: str, spec: str, epochs: int) -> None:
    """Under callgrind: warm both loops up, then count the instructions of ``epochs`` epochs of ``side``.

    Instrumentation is off at the start (``--instr-atstart=no``) and switched on and off around the
    counted epochs with ``callgrind_control``, so imports and set-up are not counted.
    """
    torch.set_num_threads(1)
    sides, images = loop_sides(spec)
    for run in sides.values():
        run()
    print(f"images {images * epochs}")

    def instrument(state: str) -> None:
        subprocess.run(
            ["callgrind_control", "-i", state, str(os.getpid())], check=True, stdout=subprocess.DEVNULL
        )

    instrument("on")
    for _ in range(epochs):
        sides[side]()
    instrument("off")


def instruction_counts(epochs: int) -> None:
    """Instructions per image of each loop, counted by callgrind (a count, not a clock: repeatable)."""
    if shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (apt-get install valgrind)")
    print("| network | archspec loop, instructions per image | plain loop | ratio (plain / archspec) |")
    print("|---|---|---|---|")
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory() as folder:
        jobs = {}
        for spec in ("lenet5", "lecun1989"):
            for side in ("ours", "plain"):
                out = Path(folder) / f"{spec}-{side}.out"
                command = [
                    "valgrind",
                    "--tool=callgrind",
                    "--instr-atstart=no",
                    f"--callgrind-out-file={out}",
                    sys.executable,
                    __file__,
                    "--count",
                    side,
                    spec,
                    "--epochs",
                    str(epochs),
                ]
                log = (Path(folder) / f"{spec}-{side}.log").open("w")
                job = subprocess.Popen(
                    command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=log, text=True
                )
                jobs[spec, side] = (job, out)
        counts, images = {}, {}
        for key, (job, out) in jobs.items():
            printed, _ = job.communicate()
            if job.returncode:
                sys.exit(
                    f"the callgrind run {key} failed: {(Path(folder) / f'{key[0]}-{key[1]}.log').read_text()}"
                )
            totals = [
                line for line in out.read_text().splitlines() if line.startswith(("totals:", "summary:"))
            ]
            counts[key] = int(totals[-1].split()[1])
            images[key] = int(printed.split()[-1])
    for spec in ("lenet5", "lecun1989"):
        ours = counts[spec, "ours"] / images[spec, "ours"]
        plain = counts[spec, "plain"] / images[spec, "plain"]
        print(f"| {spec} | {ours:,.0f} | {plain:,.0f} | {plain / ours:.3f} |", flush=True)


def main() -> None:
    """Run the benchmarks and print the tables docs/benchmarks.md quotes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-loop", action="store_true")
    parser.add_argument("--threads", type=int, help="torch threads, here and in the training processes")
    parser.add_argument(
        "--instructions", action="store_true", help="count each loop's instructions with callgrind instead"
    )
    parser.add_argument("--epochs", type=int, default=2, help="epochs counted per loop (--instructions)")
    parser.add_argument("--count", nargs=2, metavar=("SIDE", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count:  # a child process of --instructions, running under callgrind
        counted_epochs(args.count[0], args.count[1], args.epochs)
        return
    if args.instructions:
        instruction_counts(args.epochs)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the `archspec train` processes inherit it
    threads = torch.get_num_threads()
    print(f"load average before: {os.getloadavg()}; torch {torch.__version__}, {threads} threads")
    if not args.skip_accuracy:
        print("| network | best test acc | final test acc (min) | wall (max) | CPU time |")
        rows = [accuracy_runs(spec, args.seeds) for spec in ("lenet5", "lecun1989")]
        for r in rows:
            print(
                f"| {r['spec']} | {r['best']:.2%} | {r['final']:.2%} ({r['final_min']:.2%}) | "
                f"{r['wall']:.1f} s ({r['wall_max']:.1f} s) | {r['cpu']:.1f} s |"
            )
    if not args.skip_loop:
        print(
            "| network | archspec loop img/s (min/median/max) | plain loop img/s (min/median/max) | ratio "
            "| img per CPU-s, archspec / plain (medians) | CPU ratio |"
        )
        for spec in ("lenet5", "lecun1989"):
            s = loop_throughput(spec, args.repeats)
            print(
                f"| {spec} | {s['ours_min']:.0f} / {s['ours_median']:.0f} / {s['ours_max']:.0f} | "
                f"{s['plain_min']:.0f} / {s['plain_median']:.0f} / {s['plain_max']:.0f} | {s['ratio']:.3f} | "
                f"{s['ours_cpu_median']:.0f} / {s['plain_cpu_median']:.0f} | {s['cpu_ratio']:.3f} |",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
