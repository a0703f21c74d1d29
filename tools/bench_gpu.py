"""Benchmark on a CUDA GPU: archspec's ResNet-50 against torchvision's in archspec's training loop.

    python tools/bench_gpu.py [--batch 256] [--steps 40] [--rounds 5] [--skip-cli]

1. Model throughput: ``archspec.load("resnet50").build()`` and ``torchvision.models.resnet50()``, each
   with bf16 autocast and channels_last (``--amp bf16 --channels-last``), SGD, trained in archspec's own
   loop (``train_epoch`` and its step, synthetic images held on the GPU as ``archspec train --data
   synthetic`` holds them). After a warm-up epoch each, epochs of ``--steps`` steps alternate between the
   two (ours, theirs, ours, ...); the table gives min/median/max images/s of each and the spread of the
   per-pair ratios, so that a difference can be told from noise.
2. The loop: lenet5 on the digits on the GPU, archspec's loop against a plain hand-written loop (the
   data on the GPU, forward, loss, backward, step, ``loss.item()``), interleaved the same way.
3. Unless ``--skip-cli``: whole ``archspec train`` processes on the GPU (resnet50 ``--amp bf16
   --channels-last`` on synthetic data; lenet5 on the digits, eager and ``--compile``), each with its
   final line and last metrics.

Needs a CUDA device and torchvision. Every figure comes from this run: nothing is copied in.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
DEVICE = torch.device("cuda")  # `--device cpu`: a quick check of the script itself, not a benchmark


def spread(values: list[float]) -> str:
    """``min / median / max`` of ``values``."""
    return f"{min(values):.0f} / {statistics.median(values):.0f} / {max(values):.0f}"


def ratio_spread(ours: list[float], theirs: list[float]) -> str:
    """The ratio of medians, and min/median/max of the pairwise ratios (pair i: round i of each)."""
    pairs = [a / b for a, b in zip(ours, theirs, strict=True)]
    median = statistics.median(ours) / statistics.median(theirs)
    return f"{median:.3f} (pairs {min(pairs):.3f} / {statistics.median(pairs):.3f} / {max(pairs):.3f})"


def interleaved(runs: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run each callable once to warm up, then ``rounds`` times in turn; images/s of each round."""
    for run in runs.values():
        run()
    results: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            results[name].append(run())
    return results


def resnet50_in_our_loop(batch: int, steps: int, rounds: int) -> None:
    """Images/s of archspec's resnet50 and torchvision's in the same loop, bf16 and channels_last."""
    import torchvision

    import archspec
    from archspec.train import distributed
    from archspec.train.config import TrainConfig
    from archspec.train.data import TensorData
    from archspec.train.loop import Stepper, make_optimizer, schedule_factor, train_epoch, train_loader
    from archspec.train.losses import make_loss
    from archspec.train.progress import Reporter

    device = DEVICE
    torch.backends.cudnn.benchmark = True  # as `archspec train` sets it on a GPU
    config = TrainConfig(
        spec="resnet50",
        optimizer="sgd",
        lr=0.1,
        batch_size=batch,
        amp="bf16",
        channels_last=True,
        quiet=True,
        epochs=1000,
    )
    context = distributed.Context(device)
    generator = torch.Generator().manual_seed(0)
    pool = torch.randn((64, 3, 224, 224), generator=generator)
    labels = torch.randint(0, 1000, (batch * steps,), generator=generator)
    data = TensorData(pool, labels, pool=64)  # as `--data synthetic`, with `steps` batches
    criterion = make_loss("cross_entropy", 0.0)

    def trainer(model: torch.nn.Module) -> Callable[[], float]:
        model.to(device).to(memory_format=torch.channels_last)
        optimizer = make_optimizer(model, config)
        loader = train_loader(data, config, context, True)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule_factor(config, len(loader)))
        stepper = Stepper(model, criterion, optimizer, scheduler, None, config, device)
        epochs = iter(range(1, 10_000))

        def one_epoch() -> float:
            epoch = next(epochs)
            loader.sampler.set_epoch(epoch)
            return train_epoch(stepper, loader, epoch, context, Reporter(quiet=True))["images_per_s"]

        return one_epoch

    torch.manual_seed(0)
    ours = trainer(archspec.load("resnet50").build())
    theirs = trainer(torchvision.models.resnet50())
    results = interleaved({"archspec": ours, "torchvision": theirs}, rounds)
    print(
        f"| resnet50, batch {batch}, bf16, channels_last, {steps} steps x {rounds} rounds | "
        f"{spread(results['archspec'])} | {spread(results['torchvision'])} | "
        f"{ratio_spread(results['archspec'], results['torchvision'])} |",
        flush=True,
    )


def lenet5_loops(rounds: int) -> None:
    """Images/s of archspec's loop and a plain loop on lenet5 and the digits, on the GPU (the loops of
    tools/bench_train.py, run on this device)."""
    from bench_train import loop_sides

    sides, _ = loop_sides("lenet5", DEVICE)
    images_per_s = {name: (lambda run=run: run()[0]) for name, run in sides.items()}
    results = interleaved({"archspec": images_per_s["ours"], "plain": images_per_s["plain"]}, rounds)
    print(
        f"| lenet5 on the digits, one epoch x {rounds} rounds | {spread(results['archspec'])} | "
        f"{spread(results['plain'])} | {ratio_spread(results['archspec'], results['plain'])} |",
        flush=True,
    )


def cli_runs() -> None:
    """Whole `archspec train` processes on the GPU; prints each one's command, final line and time."""
    commands = [
        ["resnet50", "--data", "synthetic", "--amp", "bf16", "--channels-last", "-b", "256", "--epochs", "3"],
        ["lenet5", "--data", "digits"],
        ["lenet5", "--data", "digits", "--compile"],
    ]
    with tempfile.TemporaryDirectory() as folder:
        runs = [([sys.executable, "-m", "archspec", "train", *c], c) for c in commands]
        for number, (command, shown) in enumerate(runs):
            out = Path(folder) / f"run{number}"
            began = time.perf_counter()
            done = subprocess.run(
                [*command, "--device", DEVICE.type, "--quiet", "--out", str(out)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"},
            )
            last = (done.stdout.strip().splitlines() or [""])[-1]
            print(
                f"$ archspec train {' '.join(shown)} --device {DEVICE.type}: exit {done.returncode}, "
                f"{time.perf_counter() - began:.1f} s; {last}",
                flush=True,
            )
            if done.returncode:
                print(done.stderr[-3000:], flush=True)
            metrics = out / "metrics.jsonl"
            if metrics.exists():
                print("  " + metrics.read_text().strip().splitlines()[-1], flush=True)


def main() -> None:
    """Print the tables docs/benchmarks.md quotes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    if DEVICE.type == "cuda" and not torch.cuda.is_available():
        sys.exit("bench_gpu.py needs a CUDA device (or --device cpu to check the script)")
    name = torch.cuda.get_device_name() if DEVICE.type == "cuda" else "CPU"
    print(
        f"torch {torch.__version__}, {name}, CUDA {torch.version.cuda}, "
        f"cuDNN {torch.backends.cudnn.version()}",
        flush=True,
    )
    print("| benchmark | archspec img/s (min/median/max) | reference img/s | ratio of medians (pairs) |")
    print("|---|---|---|---|")
    resnet50_in_our_loop(args.batch, args.steps, args.rounds)
    lenet5_loops(args.rounds)
    if not args.skip_cli:
        cli_runs()


if __name__ == "__main__":
    main()
