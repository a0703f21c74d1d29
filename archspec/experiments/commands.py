"""The ``experiment`` subcommand: its arguments and handler (no torch until a trained experiment runs)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from archspec.errors import UsageError


def add_experiment_parser(sub: Any) -> Any:
    """``archspec experiment``'s arguments. Building them reads nothing from disk (every command builds
    every subcommand's parser): ``--list`` names the experiments."""
    p = sub.add_parser(
        "experiment",
        help="rerun the essay's claims as experiments (docs/claims.md)",
        description="Run experiments (folders of specs and an experiment.toml under experiments/): each "
        "writes result.json, plot.svg and plot.png to OUT/NAME and prints its table and verdict. "
        "`archspec experiment --list` names them, with their claims.",
        epilog="example: archspec experiment stacked_3x3 residual_depth --smoke",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="experiments to run (see --list)")
    p.add_argument("--all", action="store_true", help="run every experiment")
    p.add_argument("--list", action="store_true", help="list the experiments and their claims, and exit")
    p.add_argument(
        "--smoke", action="store_true", help="trained ones: one epoch, one seed, fewer points (a quick check)"
    )
    p.add_argument(
        "--no-settings",
        action="store_true",
        help="trained ones: judge the main configuration only, not each setting of [settings]",
    )
    p.add_argument(
        "--record",
        action="store_true",
        help="trained ones: also write the result (without per-epoch histories) and plot.svg into the "
        "experiment's folder: the committed record the site's claims page shows",
    )
    p.add_argument(
        "--out", metavar="DIR", default="runs/experiments", help="run folder (default: runs/experiments)"
    )
    p.add_argument(
        "--dir",
        metavar="DIR",
        help="folder of the experiments (default: the experiments/ folder beside the archspec package)",
        dest="root",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="print only the tables, no progress lines")
    return p


def experiment(args: argparse.Namespace) -> int:
    """The handler of ``archspec experiment``."""
    from archspec.experiments.config import experiment_names, load_experiment
    from archspec.experiments.runner import format_table, record, run_experiment

    root = Path(args.root) if args.root else None
    available = experiment_names(root)
    if args.list:
        for name in available:
            loaded = load_experiment(name, root)
            print(f"{name:22} {loaded.kind:8} {loaded.config['claim']}")
        return 0
    if args.all and args.names:
        raise UsageError("give experiment names or --all, not both")
    names = available if args.all else list(args.names)
    if args.record and args.smoke:
        raise UsageError("a smoke run is not a measurement: --record needs a full run (no --smoke)")
    if not names:
        raise UsageError(f"name an experiment or give --all; the experiments are: {', '.join(available)}")
    for name in names:
        if name not in available:
            load_experiment(name, root)  # raises the UsageError that lists the names
    began = time.perf_counter()
    for name in names:
        log = (lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
        settings = not args.no_settings
        result = run_experiment(name, root, Path(args.out), smoke=args.smoke, log=log, settings=settings)
        print(format_table(result))
        print(f"  {result['seconds']:.1f} s; wrote {Path(args.out) / name}/result.json and plot.svg/.png")
        if args.record and result["kind"] == "trained":
            path = record(result, Path(args.out) / name, load_experiment(name, root))
            print(f"  recorded in {path} and plot.svg beside it")
        elif args.record:  # exact figures of the specs: the site computes them when it is built
            print("  not recorded: a static claim is computed when the site is built")
        print()
    if len(names) > 1:
        print(f"{len(names)} experiments in {time.perf_counter() - began:.1f} s")
    return 0
