"""The ``train``, ``eval`` and ``predict`` subcommands: their arguments and handlers.

Importing this module imports no torch (the CLI builds every subcommand's parser on each call); the
handlers import the training package when they run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from archspec.arguments import load_from_args, parse_assignment, parse_shape
from archspec.train.config import AMP_MODES, DEVICES, OPTIMIZERS, SCHEDULES, TrainConfig

DEFAULTS = TrainConfig()


def add_train_parser(sub: Any, add_spec_options: Callable[[argparse.ArgumentParser], None]) -> Any:
    """``archspec train``'s arguments; every option defaults to None (= the configuration's default)."""
    p = sub.add_parser(
        "train",
        help="train a network on digits, synthetic data or an image folder",
        description="Train a spec's network. Writes a run folder (config.json, metrics.jsonl, last.pt, "
        "best.pt). Under `torchrun --nproc_per_node=N -m archspec train ...` it runs "
        "DistributedDataParallel.",
        epilog="example: archspec train lenet5 --data digits --epochs 12",
    )
    p.add_argument("spec", metavar="SPEC", nargs="?", help="spec file or zoo name (optional with --resume)")
    add_spec_options(p)
    d = DEFAULTS
    p.add_argument(
        "--data",
        help=f"digits (scikit-learn's 8x8 digits, resized to the input), synthetic, or folder:PATH "
        f"(one sub-folder per class) (default: {d.data})",
    )
    p.add_argument("--epochs", type=int, help=f"(default: {d.epochs})")
    p.add_argument("--batch-size", "-b", type=int, help=f"(default: {d.batch_size})")
    p.add_argument("--lr", type=float, help=f"peak learning rate (default: {d.lr})")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help=f"(default: {d.optimizer})")
    p.add_argument("--momentum", type=float, help=f"SGD momentum (default: {d.momentum})")
    p.add_argument("--weight-decay", type=float, help=f"(default: {d.weight_decay})")
    p.add_argument(
        "--schedule", choices=SCHEDULES, help=f"learning-rate schedule after warm-up (default: {d.schedule})"
    )
    p.add_argument(
        "--warmup",
        dest="warmup_epochs",
        type=float,
        help=f"warm-up epochs, linear (default: {d.warmup_epochs})",
    )
    p.add_argument(
        "--step-epochs", type=int, help=f"step schedule: epochs between decays (default: {d.step_epochs})"
    )
    p.add_argument("--step-gamma", type=float, help=f"step schedule: decay factor (default: {d.step_gamma})")
    p.add_argument("--label-smoothing", type=float, help=f"cross-entropy only (default: {d.label_smoothing})")
    p.add_argument("--seed", type=int, help=f"(default: {d.seed})")
    p.add_argument("--device", choices=DEVICES, help=f"(default: {d.device}: a GPU when there is one)")
    p.add_argument(
        "--amp", choices=AMP_MODES, help=f"mixed precision (default: {d.amp}; fp16 uses a gradient scaler)"
    )
    p.add_argument("--channels-last", action="store_const", const=True, help="channels_last memory format")
    p.add_argument("--compile", action="store_const", const=True, help="torch.compile the model")
    p.add_argument("--workers", type=int, help=f"data-loader worker processes (default: {d.workers})")
    p.add_argument(
        "--init-from",
        metavar="FILE",
        help="start from a state_dict file (torchvision's format), loaded strictly",
    )
    p.add_argument("--out", metavar="DIR", help="run folder (default: runs/NAME-N, N the next free number)")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last.pt")
    p.add_argument("--quiet", "-q", action="store_const", const=True, help="print only the final line")
    return p


def add_eval_parser(sub: Any) -> Any:
    """``archspec eval``'s arguments."""
    p = sub.add_parser(
        "eval",
        help="loss and accuracy of a checkpoint (no spec needed)",
        epilog="example: archspec eval runs/lenet5-1/best.pt --format json",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a last.pt or best.pt of a run")
    p.add_argument("--data", help="digits, synthetic or folder:PATH (default: the data it was trained on)")
    p.add_argument(
        "--device", choices=DEVICES, default="auto", help="auto (a GPU when there is one), cpu or cuda"
    )
    p.add_argument(
        "--format", "-f", choices=["text", "json"], default="text", help="output format (default: text)"
    )
    return p


def add_predict_parser(sub: Any) -> Any:
    """``archspec predict``'s arguments."""
    p = sub.add_parser(
        "predict",
        help="the top-k classes a checkpoint gives images",
        description="The top-k classes a checkpoint gives images, prepared as its test images were. "
        "A network trained on the digits (the default data) saw white ink on a black background: "
        "give it such images, or pass --invert for dark ink on light paper (a warning says when an "
        "image looks like that).",
        epilog="example: archspec predict runs/lenet5-1/best.pt digit.png --top-k 3",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a last.pt or best.pt of a run")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="image files (any mode PIL reads; converted)")
    p.add_argument("--top-k", "-k", type=int, default=3, help="classes shown per image (default: 3)")
    p.add_argument(
        "--invert",
        action="store_true",
        help="digits: the images are dark ink on light paper; invert them to the training data's white "
        "ink on black",
    )
    p.add_argument(
        "--device", choices=DEVICES, default="auto", help="auto (a GPU when there is one), cpu or cuda"
    )
    p.add_argument(
        "--format", "-f", choices=["text", "json"], default="text", help="output format (default: text)"
    )
    return p


OPTION_KEYS = (
    *("data", "epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay", "schedule"),
    *("warmup_epochs", "step_epochs", "step_gamma", "label_smoothing", "seed", "device", "amp"),
    *("channels_last", "compile", "workers", "init_from", "out", "quiet"),
)


def train(args: argparse.Namespace) -> int:
    """The handler of ``archspec train``: :func:`archspec.train.api.train` with the options given."""
    from archspec.train.api import train as train_network

    options: dict[str, Any] = {key: getattr(args, key) for key in OPTION_KEYS}
    if args.spec and (args.search_path or args.allow_absolute_imports):
        # The import options shape how the spec is read: load it here with them, and train that network
        # (its checkpoints record the text of every file read, so a resume needs neither option).
        train_network(load_from_args(args.spec, args), resume=args.resume, **options)
        return 0
    train_network(
        args.spec,
        variant=args.variant,
        params=dict(parse_assignment(a) for a in args.assignments) or None,
        input_shape=parse_shape(args.input_shape) if args.input_shape else None,
        resume=args.resume,
        **options,
    )
    return 0


def evaluate(args: argparse.Namespace) -> int:
    """The handler of ``archspec eval``: :func:`archspec.train.api.evaluate`, printed."""
    from archspec.train.api import evaluate as evaluate_checkpoint

    result = evaluate_checkpoint(args.checkpoint, args.data, args.device)
    if args.format == "json":
        print(json.dumps(result))
    else:
        print(f"accuracy {result['accuracy']:.2%}  loss {result['loss']:.4f}  samples {result['samples']}")
    return 0


def predict(args: argparse.Namespace) -> int:
    """The handler of ``archspec predict``: :func:`archspec.train.api.predict`, printed."""
    from archspec.train.api import predict as predict_images

    results = predict_images(args.checkpoint, args.images, args.top_k, args.device, args.invert)
    for result in results:  # the answer is then likely wrong, and nothing else would say so
        if result.get("dark_on_light"):
            print(
                f"warning: {result['image']} looks like dark ink on light paper (its border is brighter "
                "than its centre); the network learnt the digits' white ink on black: pass --invert",
                file=sys.stderr,
            )
    if args.format == "json":
        print(json.dumps(results, indent=2))
        return 0
    for result in results:
        top = ", ".join(f"{t['class']} ({t['probability']:.1%})" for t in result["top"])
        print(f"{result['image']}: {top}")
    return 0
