"""Devices and processes: one process, or one per device under ``torchrun`` (DistributedDataParallel).

torchrun sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; with more than one process the group uses NCCL
on GPUs and gloo on CPUs. Only rank 0 writes the run folder; metrics are summed over ranks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from archspec.errors import UsageError


@dataclass(frozen=True)
class Context:
    """Where this process runs and which part of the work is its own."""

    device: torch.device
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        """True in the process that prints and writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when several processes train together."""
        return self.world > 1


def pick_device(choice: str, local_rank: int = 0) -> torch.device:
    """``auto``: the GPU when there is one, else the CPU; ``cuda`` without a GPU is a UsageError."""
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA device is available (use --device cpu or auto)")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def setup(choice: str) -> Context:
    """The context of this process; joins the process group when torchrun started several."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(choice, local_rank)
    if world <= 1:
        return Context(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Context(device, dist.get_rank(), dist.get_world_size())


def teardown(context: Context) -> None:
    """Leave the process group (a no-op for one process)."""
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()


def sum_over_ranks(values: torch.Tensor, context: Context) -> torch.Tensor:
    """``values`` summed over every process (the tensor itself for one process)."""
    if context.distributed:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def from_main(value: Any, context: Context) -> Any:
    """Rank 0's ``value`` in every process (the run folder's name, for instance)."""
    if not context.distributed:
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def barrier(context: Context) -> None:
    """Wait for every process (a no-op for one)."""
    if context.distributed:
        dist.barrier()
