"""Benchmark: archspec-built modules against torchvision's (and a hand-written LeNet-5) on the CPU.

    .venv/bin/python tools/bench_torch.py [--quick]

Forward+backward throughput (images/s) for resnet50 (batch 16), mobilenet_v2 and vit_b_16 (batch 8), and
batch-1 forward latency of LeNet-5 against an ``nn.Sequential`` of the same layers. Both sides get the same
weights; runs are interleaved (ours, theirs, ours, ...) so drift hits both, and the median is reported.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torchvision
from torch import nn

import archspec
from archspec.backends import torch_layers as L


def train_step(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        model.zero_grad(set_to_none=True)
        model(x).sum().backward()

    return run


def interleaved(
    runs: dict[str, Callable[[], None]], repeats: int, warmup: int = 1, inner: int = 1
) -> dict[str, float]:
    """Median seconds per call of each run, alternating between them."""
    for run in runs.values():
        for _ in range(warmup):
            run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            for _ in range(inner):
                run()
            times[name].append((time.perf_counter() - start) / inner)
    return {name: statistics.median(values) for name, values in times.items()}


def throughput(variant: str, batch: int, repeats: int) -> tuple[float, float]:
    net = archspec.load(variant)
    theirs = getattr(torchvision.models, variant)(weights=None).train()
    ours = net.build().train()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(batch, *net.graph.input_shape)
    t = interleaved({"ours": train_step(ours, x), "theirs": train_step(theirs, x)}, repeats)
    return batch / t["ours"], batch / t["theirs"]


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


def latency_lenet5(repeats: int) -> tuple[float, float]:
    ours = archspec.load("lenet5").build().eval()
    theirs = hand_written_lenet5(ours).eval()
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(ours(x), theirs(x))
        t = interleaved({"ours": lambda: ours(x), "theirs": lambda: theirs(x)}, repeats, warmup=50, inner=200)
    return t["ours"], t["theirs"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke test)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    scale = 1 if args.quick else 2
    rows = []
    for variant, batch, repeats in (
        ("resnet50", 16, 2 * scale),
        ("mobilenet_v2", 8, 4 * scale),
        ("vit_b_16", 8, 2 * scale),
    ):
        ours, theirs = throughput(variant, batch, repeats)
        rows.append(
            (f"{variant} fwd+bwd, batch {batch}", f"{ours:.2f} img/s", f"{theirs:.2f} img/s", ours / theirs)
        )
        print(rows[-1], flush=True)
    ours_s, theirs_s = latency_lenet5(10 * scale)
    rows.append(
        ("lenet5 forward, batch 1", f"{ours_s * 1e6:.1f} µs", f"{theirs_s * 1e6:.1f} µs", theirs_s / ours_s)
    )
    print()
    print(
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, {torch.get_num_threads()} threads"
    )
    print("| benchmark | archspec | reference | speed ratio (archspec / reference) |")
    print("|---|---|---|---|")
    for name, ours_text, theirs_text, ratio in rows:
        print(f"| {name} | {ours_text} | {theirs_text} | {ratio:.3f} |")


if __name__ == "__main__":
    main()
