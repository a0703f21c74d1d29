"""Memory passes: peak activation memory at inference, and a training-memory estimate.

Inference: walk the topological order; each node's output is allocated when the node runs and freed once
its last consumer has run (the network's output lives to the end; the input is counted). Every output is
counted as its own buffer, views and in-place ops included, so the figure is an upper bound of what an
allocator needs.

Training (per batch): parameters and buffers, one gradient per trainable parameter, the optimiser state
(SGD with momentum: one buffer per parameter; AdamW: two) and every node's output kept for backward.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from archspec.ir import Graph

DTYPE_BYTES: Mapping[str, int] = {"float32": 4, "bfloat16": 2, "float16": 2, "float64": 8}
OPTIMISER_STATES: Mapping[str, int] = {"sgd_momentum": 1, "adamw": 2}


def dtype_size(dtype: str) -> int:
    """Bytes per element of a dtype name."""
    try:
        return DTYPE_BYTES[dtype]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPE_BYTES)}") from None


def last_consumers(graph: Graph) -> dict[int, int]:
    """For each node id, the id of the last node that reads its output (itself when none does)."""
    last = {node.id: node.id for node in graph.nodes}
    for node in graph.nodes:
        for i in node.inputs:
            last[i] = max(last[i], node.id)
    return last


@dataclass(frozen=True)
class PeakMemory:
    """Peak live activation bytes and the node at which it occurs."""

    bytes: int
    at_node: int


def peak_activation(graph: Graph, output_bytes: Mapping[int, int]) -> PeakMemory:
    """Peak of live activation bytes over the walk (see the module docstring)."""
    last = last_consumers(graph)
    frees: dict[int, list[int]] = {}
    for producer, consumer in last.items():
        if producer != graph.output:
            frees.setdefault(consumer, []).append(producer)
    live = peak = 0
    at = 0
    for node in graph.nodes:
        live += output_bytes[node.id]
        if live > peak:
            peak, at = live, node.id
        for freed in frees.get(node.id, ()):
            live -= output_bytes[freed]
    return PeakMemory(peak, at)


def training_memory(
    params: int, trainable: int, buffers: int, activation_bytes: int, dtype: str, batch: int
) -> dict[str, object]:
    """The training estimate for both optimisers, every term in bytes."""
    size = dtype_size(dtype)
    weights = (params + buffers) * size
    gradients = trainable * size
    result: dict[str, object] = {
        "batch": batch,
        "dtype": dtype,
        "parameters_bytes": weights,
        "gradients_bytes": gradients,
        "activations_bytes": activation_bytes,
    }
    for name, states in OPTIMISER_STATES.items():
        state = states * trainable * size
        result[name] = {
            "optimizer_state_bytes": state,
            "total_bytes": weights + gradients + state + activation_bytes,
        }
    return result
