"""Estimate against measurement of activation memory for the zoo: the Markdown table of docs/benchmarks.md.

For each variant: the bytes autograd saves for backward (training) and the peak of live tensor bytes of a
no-grad forward (inference), as archspec estimates them without torch, and as torch measures them on the
built module (``archspec.backends.measure``). Run from the repository root:

    PYTHONPATH=$PWD .venv/bin/python tools/bench_memory.py --batch 8 --size 64 [--dtype bfloat16] [VARIANT...]

``--size`` sets the input resolution where the spec allows it (ViT: image_size; MobileNet v1: resolution;
the fixed-size networks keep theirs); without it every network runs at its own size (slow on a laptop).
"""

from __future__ import annotations

import argparse
import sys

import torch

import archspec
from archspec.api import Network
from archspec.backends.measure import inference_peak_bytes, saved_activation_bytes
from archspec.catalog import catalog

FIXED_INPUT = {"lecun1989", "lenet5", "alexnet_paper"}


def network_at(variant: str, size: int | None) -> Network:
    """The variant at ``size`` x ``size`` where the spec allows another input, else at its own size."""
    if size is None or variant in FIXED_INPUT:
        return archspec.load(variant)
    if variant.startswith("vit"):
        return archspec.load(variant, image_size=size)
    if variant.startswith("mobilenet_v1"):
        return archspec.load(variant, resolution=size)
    return archspec.load(variant, input_shape=(3, size, size))


def mib(value: int) -> str:
    """Bytes as MiB with two decimals."""
    return f"{value / 2**20:.2f}"


def main(argv: list[str] | None = None) -> int:
    """Print the Markdown table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("variants", nargs="*", help="variants to measure (default: the whole zoo)")
    parser.add_argument("--batch", type=int, default=8, help="batch size (default: 8)")
    parser.add_argument("--size", type=int, default=None, help="input resolution where the spec allows it")
    parser.add_argument(
        "--dtype", choices=["float32", "bfloat16"], default="float32", help="activation dtype"
    )
    args = parser.parse_args(argv)
    variants = args.variants or [v for entry in catalog() for v in entry.variants]
    dtype = getattr(torch, args.dtype)
    print(
        f"batch {args.batch}, {args.dtype}, input {args.size or 'as specified'}; "
        "MiB; error = estimate / torch - 1"
    )
    print()
    print(
        "| variant | input | saved (archspec) | saved (torch) | error "
        "| peak (archspec) | peak (torch) | error |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for variant in variants:
        network = network_at(variant, args.size)
        torch.manual_seed(0)
        module = network.build(dtype=dtype)
        x = torch.randn(args.batch, *network.graph.input_shape, dtype=dtype)
        analysis = network.analyze(dtype=args.dtype, batch=args.batch)
        saved, peak = saved_activation_bytes(module, x), inference_peak_bytes(module, x)
        shape = "x".join(map(str, network.graph.input_shape))
        print(
            f"| {variant} | {shape} | {mib(analysis.activation_bytes)} | {mib(saved)} | "
            f"{100 * (analysis.activation_bytes / saved - 1):+.1f}% | "
            f"{mib(analysis.peak_activation_bytes)} | "
            f"{mib(peak)} | {100 * (analysis.peak_activation_bytes / peak - 1):+.1f}% |",
            flush=True,
        )
        del module
    return 0


if __name__ == "__main__":
    sys.exit(main())
