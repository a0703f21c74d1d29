"""The training run: set-up, the epoch loop, evaluation, the run folder and its checkpoints.

Determinism: the weights come from ``--seed``; each epoch's shuffle comes from ``seed + epoch`` alone
(``DistributedSampler``'s rule, used for one process too), and every random-number generator is saved
at the end of each epoch. A run resumed from an epoch's checkpoint therefore continues exactly as the
uninterrupted run did: on a CPU it ends with bitwise the same weights.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, DistributedSampler, RandomSampler, Subset

from archspec.api import Network, load
from archspec.errors import UsageError
from archspec.train import distributed
from archspec.train.checkpoint import (
    FORMAT,
    VERSION,
    check_new_run_folder,
    load_checkpoint,
    load_weights,
    read_state_dict,
    rng_state,
    save_checkpoint,
    set_rng_state,
    write_text_atomically,
)
from archspec.train.config import TrainConfig
from archspec.train.data import DataSets, TensorData, batch_as_is, load_data
from archspec.train.health import run_warning
from archspec.train.losses import Loss, loss_name, make_loss
from archspec.train.model import rebuild, spec_record, with_params
from archspec.train.progress import REFRESH_STEPS, Reporter

EVAL_BATCH = 256
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class Run:
    """A finished run: its folder, its metrics per epoch (``metrics.jsonl``'s rows) and its best epoch."""

    out: Path
    best_acc: float
    best_epoch: int
    seconds: float
    history: list[dict[str, Any]]
    config: TrainConfig

    @property
    def best_checkpoint(self) -> Path:
        """``best.pt``: the weights of the epoch with the best test accuracy (the earliest of a tie)."""
        return self.out / "best.pt"

    @property
    def last_checkpoint(self) -> Path:
        """``last.pt``: the last epoch's weights and everything ``--resume`` continues from."""
        return self.out / "last.pt"

    @property
    def metrics_file(self) -> Path:
        """``metrics.jsonl``: one JSON line per epoch."""
        return self.out / "metrics.jsonl"


# ---------------------------------------------------------------- set-up


def load_network(config: TrainConfig, record: dict[str, Any] | None = None) -> Network:
    """The spec of the run, or (``record``: resuming without a spec argument) the checkpoint's."""
    if record is not None:
        return rebuild(record)
    shape = tuple(config.input_shape) if config.input_shape else None
    return load(config.spec, config.variant, input_shape=shape, **config.params)


def fit_classes(network: Network, config: TrainConfig, data: DataSets) -> tuple[Network, dict[str, Any]]:
    """The network with ``num_classes`` set to the data's classes unless ``--set num_classes`` was given.

    Returns the network and the parameter overrides it was loaded with.
    """
    overrides = dict(config.params)
    graph = network.graph
    settable = "num_classes" in graph.params and "num_classes" not in overrides
    if settable and graph.params["num_classes"] != data.num_classes:
        overrides["num_classes"] = data.num_classes
        network = with_params(network, overrides)
    outputs = network.graph.output_shape
    if len(outputs) != 1 or outputs[0] < data.num_classes:
        given = "x".join(str(d) for d in outputs)
        hint = (
            "set --set num_classes=N to match"
            if "num_classes" in network.graph.params
            else "the spec has no num_classes parameter to set"
        )
        raise UsageError(
            f"{network.name} outputs {given} values, but the data has {data.num_classes} classes; {hint}"
        )
    return network, overrides


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD with momentum or AdamW over every trainable parameter."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


def schedule_factor(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """The learning-rate multiplier at each step: linear warm-up, then cosine, step or constant."""
    total = config.epochs * steps_per_epoch
    warmup = min(round(config.warmup_epochs * steps_per_epoch), total)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if config.schedule == "cosine":
            progress = (step - warmup) / max(1, total - warmup)
            return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        if config.schedule == "step":
            return float(config.step_gamma ** ((step // steps_per_epoch) // config.step_epochs))
        return 1.0

    return factor


def seed_everything(seed: int) -> None:
    """One seed for python, numpy and torch (every device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def next_run_folder(name: str, root: Path = Path("runs")) -> Path:
    """``runs/NAME-N`` with N the next free number."""
    number = 1
    while (root / f"{name}-{number}").exists():
        number += 1
    return root / f"{name}-{number}"


# ---------------------------------------------------------------- the loops


def train_loader(data: Dataset[Any], config: TrainConfig, context: distributed.Context, batched: bool) -> Any:
    """Shuffled batches; ``set_epoch`` reseeds the shuffle (the sampler's ``seed + epoch``)."""
    sampler: Any
    if context.distributed:
        sampler = DistributedSampler(data, context.world, context.rank, shuffle=True, seed=config.seed)
    else:
        sampler = _EpochSampler(data, config.seed)
    if isinstance(data, TensorData) and config.workers == 0:
        # In-memory data (the digits, synthetic images) is small: held on the training device, each
        # batch is one gather there, with neither the loader's per-batch work nor a host-to-device copy.
        return InMemoryBatches(data.to(context.device), sampler, config.batch_size)
    return DataLoader(
        data,
        batch_size=config.batch_size,
        sampler=sampler,
        num_workers=config.workers,
        collate_fn=batch_as_is if batched else None,
        pin_memory=context.device.type == "cuda",
        generator=torch.Generator().manual_seed(config.seed),  # workers' seeds: not the global generator
    )


class InMemoryBatches:
    """The batches ``DataLoader(num_workers=0)`` would give for a data set that hands out whole batches
    (``__getitems__``), in the same order, without the loader's per-batch bookkeeping (a profiler record,
    the fetcher): on the CPU that bookkeeping was a few per cent of an epoch of the digits networks."""

    def __init__(self, data: Any, sampler: Any, batch_size: int) -> None:
        self.data, self.sampler, self.batch_size = data, sampler, batch_size

    def __len__(self) -> int:
        return -(-len(self.sampler) // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        for indices in BatchSampler(self.sampler, self.batch_size, drop_last=False):
            yield self.data.__getitems__(indices)


class _EpochSampler(RandomSampler):
    """A random permutation per epoch drawn from ``seed + epoch`` alone (as ``DistributedSampler`` does)."""

    def __init__(self, data: Dataset[Any], seed: int) -> None:
        super().__init__(data, generator=torch.Generator())  # type: ignore[arg-type]
        self.seed = seed

    def set_epoch(self, epoch: int) -> None:
        """Reseed the permutation for ``epoch``."""
        assert self.generator is not None
        self.generator.manual_seed(self.seed + epoch)


def eval_loader(data: Dataset[Any], context: distributed.Context, batched: bool, workers: int) -> Any:
    """This rank's share of the test set (every ``world``-th image, none twice), in order."""
    if context.distributed:
        data = Subset(data, range(context.rank, len(data), context.world))  # type: ignore[arg-type]
    return DataLoader(
        data,
        batch_size=EVAL_BATCH,
        shuffle=False,
        num_workers=workers,
        collate_fn=batch_as_is if batched else None,
        pin_memory=context.device.type == "cuda",
    )


def autocast(device: torch.device, amp: str) -> AbstractContextManager[Any]:
    """Mixed precision for ``--amp bf16|fp16`` (a no-op context when off)."""
    if amp == "off":
        return nullcontext()
    return torch.autocast(device.type, dtype=AMP_DTYPES[amp])


def _to(device: torch.device, channels_last: bool, x: torch.Tensor, y: torch.Tensor) -> tuple[Any, Any]:
    x = x.to(device, non_blocking=True)
    if channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y.to(device, non_blocking=True)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Any,
    criterion: Loss,
    context: distributed.Context,
    amp: str,
    channels_last: bool,
) -> dict[str, float]:
    """Loss, accuracy and sample count over a loader, summed over every rank."""
    model.eval()
    sums = torch.zeros(3, dtype=torch.float64, device=context.device)
    for x, y in loader:
        x, y = _to(context.device, channels_last, x, y)
        with autocast(context.device, amp):
            out = model(x)
            loss = criterion(out, y)
        sums += torch.stack(
            [loss.double() * len(y), (out.argmax(1) == y).sum().double(), sums.new_tensor(len(y))]
        )
    loss_sum, correct, count = distributed.sum_over_ranks(sums, context).tolist()
    return {"loss": loss_sum / max(count, 1), "accuracy": correct / max(count, 1), "samples": int(count)}


class Stepper:
    """One optimisation step, with the gradient scaler for fp16."""

    def __init__(
        self,
        model: nn.Module,
        criterion: Loss,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        scaler: torch.amp.GradScaler | None,
        config: TrainConfig,
        device: torch.device,
    ) -> None:
        self.model, self.criterion, self.optimizer = model, criterion, optimizer
        self.scheduler, self.scaler, self.config, self.device = scheduler, scaler, config, device

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward, backward and update on one batch; the batch's loss and outputs, detached."""
        with autocast(self.device, self.config.amp):
            out = self.model(x)
            loss = self.criterion(out, y)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()  # type: ignore[no-untyped-call]
            self.optimizer.step()
        self.scheduler.step()
        return loss.detach(), out.detach()


class EpochSums:
    """The epoch's loss and accuracy sums, and the check that every loss is finite.

    Each step's loss and correct count stay on the device until ``fold`` reads a window of them back in
    one transfer, every ``REFRESH_STEPS`` steps and at the end of the epoch: reading them back at every
    step (``.item()``) would make the host wait for a GPU at every step. A non-finite loss stops the run
    with the first such step, before the epoch's checkpoint is written.
    """

    def __init__(self, epoch: int, peak_lr: float) -> None:
        self.epoch, self.peak_lr = epoch, peak_lr  # the message suggests a tenth of the peak rate
        self.loss, self.correct, self.count = 0.0, 0.0, 0
        self._pending: list[tuple[int, float, int, torch.Tensor, torch.Tensor]] = []

    def add(self, step: int, rate: float, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        """Record one step (its learning rate, loss and outputs) without waiting for the device."""
        self._pending.append((step, rate, len(y), loss, (out.argmax(1) == y).sum()))

    def fold(self) -> None:
        """Read the pending steps back and add them to the sums; stop at a non-finite loss."""
        if not self._pending:
            return
        losses = torch.stack([p[3].float() for p in self._pending]).tolist()
        corrects = torch.stack([p[4] for p in self._pending]).tolist()
        for (step, rate, size, _, _), loss, correct in zip(self._pending, losses, corrects, strict=True):
            if not math.isfinite(loss):
                raise UsageError(
                    f"training stopped: the loss is {loss} at epoch {self.epoch}, step {step} "
                    f"(learning rate {rate:.3g}); try a lower learning rate, e.g. "
                    f"--lr {self.peak_lr / 10:g}"
                )
            self.loss, self.correct, self.count = (
                self.loss + loss * size,
                self.correct + correct,
                self.count + size,
            )
        self._pending.clear()


def train_epoch(
    stepper: Stepper, loader: Any, epoch: int, context: distributed.Context, reporter: Reporter
) -> dict[str, float]:
    """One pass over this rank's share of the training set; loss and accuracy summed over ranks."""
    stepper.model.train()
    device, channels_last = context.device, stepper.config.channels_last
    sums = EpochSums(epoch, stepper.config.lr)
    reporter.start_epoch(epoch, stepper.config.epochs, len(loader))
    start = time.perf_counter()
    for step, (x, y) in enumerate(loader, 1):
        x, y = _to(device, channels_last, x, y)
        rate = stepper.optimizer.param_groups[0]["lr"]
        loss, out = stepper(x, y)
        sums.add(step, rate, loss, out, y)
        if step % REFRESH_STEPS == 0:
            sums.fold()
            if reporter.bar is not None:
                elapsed = time.perf_counter() - start
                reporter.step(step, sums.loss / sums.count, sums.correct / sums.count, sums.count / elapsed)
    sums.fold()  # waits for the device: the epoch's time includes all of its work
    seconds = time.perf_counter() - start
    totals = torch.tensor([sums.loss, sums.correct, sums.count], dtype=torch.float64, device=device)
    loss_sum, correct, count = distributed.sum_over_ranks(totals, context).tolist()
    return {
        "train_loss": loss_sum / max(count, 1),
        "train_acc": correct / max(count, 1),
        "images_per_s": count / seconds,  # every rank's images over the wall time of the epoch's steps
    }


# ---------------------------------------------------------------- the run


def run(
    config: TrainConfig,
    resume: Path | None = None,
    from_checkpoint: bool = False,
    network: Network | None = None,
) -> Run:
    """Train as ``config`` says; returns the run.

    ``resume``: continue the run in that folder from its ``last.pt``; ``from_checkpoint``: with the network
    recorded there (else the spec of ``config``, which must then match the checkpoint key by key).
    ``network``: the network to train, already loaded (``config`` then only records its spec).
    """
    context = distributed.setup(config.device)
    try:
        return _run(config, resume, from_checkpoint, context, network)
    finally:
        distributed.teardown(context)


def _run(
    config: TrainConfig,
    resume: Path | None,
    from_checkpoint: bool,
    context: distributed.Context,
    given: Network | None,
) -> Run:
    wall = time.perf_counter()
    reporter = Reporter(config.quiet, enabled=context.main)
    checkpoint = load_checkpoint(resume / "last.pt") if resume is not None else None
    if given is not None and not from_checkpoint:
        network = given
    else:
        network = load_network(config, checkpoint["spec"] if checkpoint and from_checkpoint else None)
    data = load_data(
        config.data, network.graph.input_shape, network.name, _output_units(network), config.batch_size
    )
    if from_checkpoint:  # rebuilt from the checkpoint: it already has the run's classes
        assert checkpoint is not None
        overrides = checkpoint["spec"]["overrides"]
    else:
        network, overrides = fit_classes(network, config, data)
    criterion = make_loss(loss_name(network.graph), config.label_smoothing)
    seed_everything(config.seed)
    if context.device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # input shapes are fixed: let cuDNN pick its fastest kernels
    model = network.build()
    if config.init_from and checkpoint is None:
        load_weights(model, read_state_dict(config.init_from), config.init_from, network.name)
    model.to(context.device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    runner: nn.Module = model
    if context.distributed:
        ids = [context.device.index] if context.device.type == "cuda" else None
        runner = nn.parallel.DistributedDataParallel(model, device_ids=ids)
    if config.compile:
        runner = torch.compile(runner)  # type: ignore[assignment]

    loader = train_loader(data.train, config, context, data.batched)
    test_loader = eval_loader(data.test, context, data.batched, config.workers)
    optimizer = make_optimizer(model, config)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule_factor(config, len(loader)))
    scaler = torch.amp.GradScaler(context.device.type) if config.amp == "fp16" else None

    out = Path(config.out) if config.out else next_run_folder(network.name)
    out = Path(distributed.from_main(str(out), context))
    config.out = str(out)
    history: list[dict[str, Any]] = []
    start_epoch, best_acc, best_epoch = 0, -1.0, 0
    if checkpoint is not None:
        load_weights(model, checkpoint["model"], str(resume / "last.pt"), network.name)  # type: ignore[operator]
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        scheduler.lr_lambdas = [schedule_factor(config, len(loader))]  # --epochs may have changed
        if scaler is not None and checkpoint["scaler"]:
            scaler.load_state_dict(checkpoint["scaler"])
        set_rng_state(checkpoint["rng"])
        start_epoch, history = checkpoint["epoch"], checkpoint["history"]
        best_acc, best_epoch = checkpoint["best_acc"], checkpoint["best_epoch"]
        reporter.message(f"resuming {out} after epoch {start_epoch}")
    elif context.main:
        check_new_run_folder(out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"cannot create the run folder {out}: {error.strerror or error}") from None
    spec = spec_record(network, overrides, config.input_shape)
    if context.main:
        write_text_atomically(out / "config.json", _config_json(config, spec, data, network, context))
        reporter.message(
            f"training {network.name} on {config.data} ({context.device}, {context.world} process(es)) "
            f"-> {out}"
        )
    distributed.barrier(context)

    stepper = Stepper(runner, criterion, optimizer, scheduler, scaler, config, context.device)
    for epoch in range(start_epoch + 1, config.epochs + 1):
        began = time.perf_counter()
        loader.sampler.set_epoch(epoch)
        if isinstance(loader, DataLoader):  # the workers' seeds: also a function of the epoch
            loader.generator.manual_seed(config.seed + epoch)
        metrics: dict[str, Any] = {"epoch": epoch}
        metrics.update(train_epoch(stepper, loader, epoch, context, reporter))
        tested = evaluate(runner, test_loader, criterion, context, config.amp, config.channels_last)
        metrics.update(test_loss=tested["loss"], test_acc=tested["accuracy"])
        metrics.update(lr=optimizer.param_groups[0]["lr"], seconds=time.perf_counter() - began)
        history.append(metrics)
        improved = metrics["test_acc"] > best_acc
        if improved:
            best_acc, best_epoch = metrics["test_acc"], epoch
        if context.main:
            payload = {
                "format": FORMAT,
                "version": VERSION,
                "spec": spec,
                "config": config.to_dict(),
                "classes": data.classes,
                "preprocess": data.preprocess,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else None,
                "rng": rng_state(),
                "epoch": epoch,
                "best_acc": best_acc,
                "best_epoch": best_epoch,
                "history": history,
            }
            if improved:
                save_checkpoint(out / "best.pt", payload)
            save_checkpoint(out / "last.pt", payload)
            write_text_atomically(out / "metrics.jsonl", "".join(json.dumps(row) + "\n" for row in history))
        reporter.end_epoch(metrics, config.epochs)
        kinds = {node.op.kind for node in network.graph.nodes}
        warning = run_warning(history, data.num_classes, loss_name(network.graph), config.lr, kinds)
        if warning is not None:
            reporter.warn(warning)
        distributed.barrier(context)
    seconds = time.perf_counter() - wall
    reporter.final(
        f"best test accuracy {best_acc:.2%} (epoch {best_epoch}/{config.epochs}); wall time {seconds:.1f} s; "
        f"run folder {out}"
    )
    return Run(out, best_acc, best_epoch, seconds, history, config)


def _output_units(network: Network) -> int | None:
    """The class count synthetic data takes: the network's output size."""
    outputs = network.graph.output_shape
    return outputs[0] if len(outputs) == 1 else None


def _config_json(
    config: TrainConfig, spec: dict[str, Any], data: DataSets, network: Network, context: distributed.Context
) -> str:
    resolved = {
        **config.to_dict(),
        "network": network.name,
        "loss": loss_name(network.graph),
        "num_classes": data.num_classes,
        "classes": data.classes,
        "train_samples": len(data.train),  # type: ignore[arg-type]
        "test_samples": len(data.test),  # type: ignore[arg-type]
        "world_size": context.world,
        "device_used": str(context.device),
        "torch": torch.__version__,
        "spec_path": spec["root"],
        "spec_sha256": spec["sha256"],
        "spec_source": spec["sources"][spec["root"]],
        "spec_overrides": spec["overrides"],
    }
    return json.dumps(resolved, indent=2) + "\n"


__all__ = ["Run", "evaluate", "run", "schedule_factor"]
