"""What torch actually keeps: the oracles of the memory estimates, measured on a built module (CPU).

- ``saved_activation_bytes``: the bytes autograd saves for backward during one training-mode forward,
  seen through ``torch.autograd.graph.saved_tensors_hooks``; storages are counted once (by address), and
  parameters and buffers are left out (they are counted as weights, not activations).
- ``inference_peak_bytes``: the peak of live tensor bytes during one ``torch.no_grad()`` eval-mode
  forward, tracked by a ``TorchDispatchMode`` that counts each storage an op returns when it first appears
  and uncounts it when the last tensor on it is freed (weakref finalizers). The input is live throughout
  (the caller holds it); parameters and buffers are not counted. Scratch memory that a kernel allocates
  and frees inside itself is invisible at this level.

Both import torch; the static estimates in ``archspec.analysis.memory`` never do.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


def _weight_storages(module: nn.Module) -> set[int]:
    tensors = [*module.parameters(), *module.buffers()]
    return {t.untyped_storage().data_ptr() for t in tensors}


def saved_activation_bytes(module: nn.Module, x: torch.Tensor) -> int:
    """Bytes of the distinct storages autograd saves for backward in one forward (train mode)."""
    weights = _weight_storages(module)
    sizes: dict[int, int] = {}
    # Every saved tensor is held until the end, so that no address is reused during the forward. The graph
    # gets the address, not the tensor: a saved tensor that holds its own grad_fn would make a reference
    # cycle through the autograd graph that Python's collector cannot see (a leak of the whole module).
    keep: list[torch.Tensor] = []

    def pack(tensor: torch.Tensor) -> int:
        storage = tensor.untyped_storage()
        address = storage.data_ptr()
        if address not in weights and address not in sizes:
            sizes[address] = storage.nbytes()
        keep.append(tensor)
        return address

    def unpack(address: int) -> torch.Tensor:
        raise RuntimeError("measurement only: this graph cannot run backward")

    module.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        output = module(x)
    del output
    keep.clear()
    return sum(sizes.values())


class _LiveBytes(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Counts the bytes of live storages that ops return (see the module docstring)."""

    def __init__(self, ignore: set[int]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.ignore = ignore
        self.refs: dict[int, int] = {}  # storage address -> live tensors on it
        self.sizes: dict[int, int] = {}
        self.live = 0
        self.peak = 0

    def track(self, tensor: torch.Tensor) -> None:
        storage = tensor.untyped_storage()
        address = storage.data_ptr()
        if address in self.ignore or storage.nbytes() == 0:
            return
        if address not in self.refs:
            self.refs[address] = 0
            self.sizes[address] = storage.nbytes()
            self.live += storage.nbytes()
            self.peak = max(self.peak, self.live)
        self.refs[address] += 1
        weakref.finalize(tensor, self._release, address)

    def _release(self, address: int) -> None:
        self.refs[address] -= 1
        if self.refs[address] == 0:
            del self.refs[address]
            self.live -= self.sizes.pop(address)

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        result = func(*args, **(kwargs or {}))
        for leaf in tree_leaves(result):
            if isinstance(leaf, torch.Tensor):
                self.track(leaf)
        return result


def inference_peak_bytes(module: nn.Module, x: torch.Tensor) -> int:
    """Peak live tensor bytes (input included, weights excluded) of one no-grad eval-mode forward."""
    module.eval()
    mode = _LiveBytes(_weight_storages(module))
    mode.track(x)
    with torch.no_grad(), mode:
        output = module(x)
    del output
    return mode.peak
