"""Benchmark: archspec-built modules against torchvision's (and a hand-written LeNet-5) on the CPU.

    .venv/bin/python tools/bench_torch.py [--quick] [--pairs N] [--profile]

Forward+backward throughput (images/s) for resnet50 (batch 16), mobilenet_v2 and vit_b_16 (batch 8), and
batch-1 forward latency of LeNet-5 against an ``nn.Sequential`` of the same layers. Both sides get the same
weights. Runs come in interleaved pairs (ours then theirs, theirs then ours, ...) so that drift and other
jobs on the machine hit both sides of a pair alike; each pair gives one speed ratio, and the table reports
the median throughput and the min / median / max of the ratios, so a regression can be told from noise.
The load average at the start and the end is printed: numbers from a loaded machine are not comparable.

``--profile`` counts the aten ops of one resnet50 training step on each side (torch.profiler) and prints
those whose counts differ, with their CPU time: a difference there is real whatever the machine's load.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torchvision
from torch import nn

import archspec
from archspec.backends import torch_layers as L


def train_step(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """One training step (forward, backward) of ``model`` on ``x``."""

    def run() -> None:
        model.zero_grad(set_to_none=True)
        model(x).sum().backward()

    return run


@dataclass(frozen=True)
class Pairs:
    """Seconds per call of each side, one entry per interleaved pair."""

    ours: list[float]
    theirs: list[float]

    @property
    def ratios(self) -> list[float]:
        """Speed ratio of each pair: archspec's speed over the reference's (> 1: archspec faster)."""
        return [t / o for o, t in zip(self.ours, self.theirs, strict=True)]

    def spread(self) -> str:
        """``median (min-max, n pairs)`` of the ratios."""
        r = self.ratios
        return f"{statistics.median(r):.3f} ({min(r):.3f}-{max(r):.3f}, {len(r)} pairs)"


def interleaved(
    ours: Callable[[], None], theirs: Callable[[], None], pairs: int, warmup: int = 1, inner: int = 1
) -> Pairs:
    """Time ``pairs`` interleaved pairs; the side that goes first alternates (a warm cache favours none)."""
    for run in (ours, theirs):
        for _ in range(warmup):
            run()

    def timed(run: Callable[[], None]) -> float:
        start = time.perf_counter()
        for _ in range(inner):
            run()
        return (time.perf_counter() - start) / inner

    times: dict[str, list[float]] = {"ours": [], "theirs": []}
    for index in range(pairs):
        order = (("ours", ours), ("theirs", theirs))
        for name, run in order if index % 2 == 0 else order[::-1]:
            times[name].append(timed(run))
    return Pairs(times["ours"], times["theirs"])


def models(variant: str) -> tuple[nn.Module, nn.Module, torch.Size]:
    """archspec's and torchvision's ``variant`` in training mode with the same weights, and its input."""
    net = archspec.load(variant)
    theirs = getattr(torchvision.models, variant)(weights=None).train()
    ours = net.build().train()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs, torch.Size(net.graph.input_shape)


def throughput(variant: str, batch: int, pairs: int) -> Pairs:
    """Training-step times of ``variant`` at ``batch``, archspec against torchvision."""
    ours, theirs, shape = models(variant)
    x = torch.randn(batch, *shape)
    return interleaved(train_step(ours, x), train_step(theirs, x), pairs)


def aten_ops(model: nn.Module, x: torch.Tensor) -> dict[str, tuple[int, float]]:
    """Count and self CPU time (ms) of each aten op in one training step (after a warm-up step)."""
    from torch.profiler import ProfilerActivity, profile

    step = train_step(model, x)
    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    found: dict[str, tuple[int, float]] = collections.defaultdict(lambda: (0, 0.0))
    for event in prof.events():
        if event.name.startswith("aten::"):
            count, ms = found[event.name]
            found[event.name] = (count + 1, ms + event.self_cpu_time_total / 1e3)
    return dict(found)


def memory_format(model: nn.Module) -> str:
    """``channels_last``, ``contiguous`` or ``mixed``: the layout of the model's 4-d weights."""
    last = {p.is_contiguous(memory_format=torch.channels_last) for p in model.parameters() if p.dim() == 4}
    first = {p.is_contiguous() for p in model.parameters() if p.dim() == 4}
    return "contiguous" if first == {True} else "channels_last" if last == {True} else "mixed"


def profile_difference(variant: str, batch: int) -> None:
    """Print the aten ops whose counts differ between archspec's and torchvision's training step."""
    ours, theirs, shape = models(variant)
    x = torch.randn(batch, *shape)
    a, b = aten_ops(ours, x), aten_ops(theirs, x)
    print(
        f"{variant}, batch {batch}: {sum(c for c, _ in a.values())} aten ops (archspec), "
        f"{sum(c for c, _ in b.values())} (torchvision); memory format of the conv weights: "
        f"{memory_format(ours)} (archspec), {memory_format(theirs)} (torchvision)"
    )
    total = sum(ms for _, ms in a.values())
    print("| aten op | archspec count | torchvision count | archspec self CPU ms (share) |")
    print("|---|---|---|---|")
    for name in sorted(set(a) | set(b)):
        (ca, ma), (cb, _) = a.get(name, (0, 0.0)), b.get(name, (0, 0.0))
        if ca != cb:
            print(f"| {name} | {ca} | {cb} | {ma:.1f} ({ma / total:.1%}) |")


def hand_written_lenet5(ours: nn.Module) -> nn.Module:
    """LeNet-5 as a person would write it: an nn.Sequential of the same layers."""
    table = ours.get_submodule("C3").table
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5),
        L.ScaledTanh(),
        L.Subsample(6, 2),
        L.ScaledTanh(),
        L.ConnectionTableConv2d(6, 16, 5, table),
        L.ScaledTanh(),
        L.Subsample(16, 2),
        L.ScaledTanh(),
        nn.Conv2d(16, 120, 5),
        L.ScaledTanh(),
        nn.Flatten(),
        nn.Linear(120, 84),
        L.ScaledTanh(),
        L.RBF(84, 10),
    )
    model.load_state_dict(dict(zip(model.state_dict(), ours.state_dict().values(), strict=True)))
    return model


def latency_lenet5(pairs: int) -> Pairs:
    """Batch-1 inference times of LeNet-5, archspec against the hand-written ``nn.Sequential``."""
    ours = archspec.load("lenet5").build().eval()
    theirs = hand_written_lenet5(ours).eval()
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(ours(x), theirs(x))
        return interleaved(lambda: ours(x), lambda: theirs(x), pairs, warmup=50, inner=200)


def load() -> str:
    """The 1-minute load average and the core count, as printed next to the numbers."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def main() -> None:
    """Run the benchmarks and print a Markdown table (or, with ``--profile``, the op-count difference)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 pairs per network (a smoke test)")
    parser.add_argument("--pairs", type=int, default=7, help="interleaved pairs per network (default 7)")
    parser.add_argument(
        "--profile", action="store_true", help="only compare aten op counts of a resnet50 training step"
    )
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    started = time.perf_counter()
    print(f"start: {load()}", flush=True)
    if args.profile:
        profile_difference("resnet50", 16)
        print(f"end: {load()}")
        return
    pairs = 3 if args.quick else args.pairs
    rows = []
    for variant, batch in (("resnet50", 16), ("mobilenet_v2", 8), ("vit_b_16", 8)):
        t = throughput(variant, batch, pairs)
        rows.append(
            (
                f"{variant} fwd+bwd, batch {batch}",
                f"{batch / statistics.median(t.ours):.2f} img/s",
                f"{batch / statistics.median(t.theirs):.2f} img/s",
                t.spread(),
            )
        )
        print(rows[-1], flush=True)
    t = latency_lenet5(10 * pairs)
    rows.append(
        (
            "lenet5 forward, batch 1",
            f"{statistics.median(t.ours) * 1e6:.1f} µs",
            f"{statistics.median(t.theirs) * 1e6:.1f} µs",
            t.spread(),
        )
    )
    print()
    print(
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, "
        f"{torch.get_num_threads()} threads; end: {load()}; {time.perf_counter() - started:.0f} s"
    )
    print("| benchmark | archspec (median) | reference (median) | speed ratio: median (min-max, pairs) |")
    print("|---|---|---|---|")
    for name, ours_text, theirs_text, spread in rows:
        print(f"| {name} | {ours_text} | {theirs_text} | {spread} |")


if __name__ == "__main__":
    main()
