"""Memory passes: the bytes autograd saves for backward, the inference peak, and the training total.

Both activation figures are about storages, as torch allocates them. Every node's output is a storage of
its own, except for views (``flatten``, ``select_token``, an inactive ``dropout``: the op's ``is_view``)
and in-place ReLUs (``inplace_nodes``: the ReLUs the torch backend builds with ``inplace=True``), which
share their input's storage. ``docs/memory.md`` explains the model; ``archspec.backends.measure`` holds the
torch measurements that the tests compare it with.

Training activations: each op autograd records (``tracked``: one with parameters, or reading the output
of one) declares the tensors its backward keeps (``Op.saved``: its input, its output,
or tensors of its own such as max-pooling indices or batch-norm statistics). A storage that several ops
save (a ReLU's output, read again by the next conv) is counted once, at its full size (a token selected
from a sequence keeps the whole sequence).

Inference peak: a walk in execution order over a no-grad forward. A storage is allocated when its node
runs and freed when the module lets go of it: after the step that last reads it in the container that
holds it (a block or sequence called as a whole holds its inputs until it returns, as a Python call
does). The network's input and output live throughout. While a node runs, its inputs, its output and its
temporaries (``Op.scratch``) are live together.

Training total (per batch): parameters and buffers, one gradient per trainable parameter, the optimiser
state (SGD with momentum: one buffer per parameter; AdamW: two) and the saved activations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from archspec.dtypes import ACTIVATION_DTYPES, DTYPE_BYTES
from archspec.ir import Graph, Node
from archspec.ops import Op, Saved, Shape, numel
from archspec.records import FrozenRecord, set_field

OPTIMISER_STATES: Mapping[str, int] = {"sgd_momentum": 1, "adamw": 2}

# A ReLU (``Op.inplace``) may overwrite its input when that input is a fresh tensor nobody else reads (as
# torchvision's `nn.ReLU(inplace=True)` after conv/bn does), made by an op whose backward does not need its
# output (``Op.inplace_producer``: conv, batch norm, linear, add, concat).


def dtype_size(dtype: str) -> int:
    """Bytes per element of an activation dtype name."""
    if dtype not in ACTIVATION_DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(ACTIVATION_DTYPES)}")
    return DTYPE_BYTES[dtype]


def readers(graph: Graph) -> dict[int, list[int]]:
    """For each node id, the ids of the nodes that read its output, in order."""
    found: dict[int, list[int]] = {node.id: [] for node in graph.nodes}
    for node in graph.nodes:
        for source in node.inputs:
            found[source].append(node.id)
    return found


def inplace_nodes(graph: Graph) -> set[int]:
    """ReLUs that may overwrite their input: a fresh conv/bn/linear/add/concat output read by nobody else."""
    if _LAST_INPLACE[0] is graph:  # analyze asks three times (both storages and the saved bytes)
        return set(_LAST_INPLACE[1])
    reads = [0] * len(graph.nodes)  # how many times each output is read
    for node in graph.nodes:
        for i in node.inputs:
            reads[i] += 1
    chosen = set()
    for node in graph.nodes:
        if node.op.inplace and len(node.inputs) == 1:
            source = graph.nodes[node.inputs[0]]
            if source.op.inplace_producer and reads[source.id] == 1:  # read by this node alone
                chosen.add(node.id)
    _LAST_INPLACE[:] = [graph, frozenset(chosen)]
    return chosen


# The last graph ``inplace_nodes`` was asked about and its answer (graphs are frozen: identity is enough).
_LAST_INPLACE: list[Any] = [None, frozenset()]


def storages(graph: Graph, training: bool, inplace: set[int] | None = None) -> dict[int, int]:
    """For each node id, the id of the node whose output storage it uses (itself unless a view/in place);
    ``inplace``: ``inplace_nodes(graph)`` when the caller has it."""
    if inplace is None:
        inplace = inplace_nodes(graph)
    base: dict[int, int] = {}
    for node in graph.nodes:
        shares = node.inputs and (node.id in inplace or node.op.is_view(training))
        base[node.id] = base[node.inputs[0]] if shares else node.id
    return base


@dataclass(init=False, repr=False, eq=False)
class SavedBytes(FrozenRecord):
    """Training activations: the total, each node's share (a storage counted at its first saver)."""

    total: int
    per_node: Mapping[int, int]

    def __init__(self, total: int, per_node: Mapping[int, int]) -> None:
        set_field(self, "total", total)
        set_field(self, "per_node", per_node)


def tracked(graph: Graph) -> dict[int, bool]:
    """Whether autograd records each node in training: it has parameters, or an input it reads is
    recorded. The network's input needs no gradient, so the ops before the first parameter (a pool or a
    pad on the input) keep nothing for a backward that never runs."""
    found: dict[int, bool] = {}
    for node in graph.nodes:
        found[node.id] = node.op.param_count() > 0 or any(found[i] for i in node.inputs)
    return found


def _only_for_the_other(node: Node, index: int, recorded: Mapping[int, bool]) -> bool:
    """Whether input ``index`` is kept only for a gradient nobody needs (a gate on the network input
    keeps the input for the gate's gradient, not the gate for the input's)."""
    if not node.op.cross_saving or len(node.inputs) != 2:
        return False
    return not recorded[node.inputs[1 - index]]


def samples(node: Node, batch: int) -> int:
    """How many copies of a node's per-sample output a forward of ``batch`` samples makes: ``batch``, or 1
    for a tensor computed only from parameters and buffers (``Node.batched``)."""
    return batch if node.batched else 1


def saved_activations(graph: Graph, dtype: str, batch: int) -> SavedBytes:
    """Bytes autograd keeps for backward in one training forward (see the module docstring)."""
    size = dtype_size(dtype)
    inplace = inplace_nodes(graph)
    base = storages(graph, training=True, inplace=inplace)
    recorded = tracked(graph)
    counted: set[tuple[str, int, int]] = set()
    per_node: dict[int, int] = {}
    nodes = graph.nodes
    for node in nodes:
        share = 0
        if not recorded[node.id]:
            per_node[node.id] = 0
            continue
        inputs = tuple(nodes[i].shape for i in node.inputs)
        for index, saved in enumerate(_saved_by(node.op, inputs, node.shape)):
            itemsize = DTYPE_BYTES[saved.dtype] if saved.dtype else size
            if saved.copied_in_place and node.id in inplace:
                saved = Saved("new", saved.what, elements=numel(inputs[saved.index]))
            if saved.source == "new":
                key, elements = ("new", node.id, index), saved.elements
                count = elements * samples(node, batch) if saved.per_sample else elements
                share += count * itemsize
                counted.add(key)
                continue
            if saved.source == "input" and _only_for_the_other(node, saved.index, recorded):
                continue
            owner = base[node.inputs[saved.index] if saved.source == "input" else node.id]
            if ("storage", owner, 0) in counted or graph.nodes[owner].op.state:
                continue  # a param or buffer is counted with the weights
            counted.add(("storage", owner, 0))
            share += numel(graph.nodes[owner].shape) * samples(graph.nodes[owner], batch) * size
        per_node[node.id] = share
    return SavedBytes(sum(per_node.values()), per_node)


def _saved_by(op: Op, inputs: tuple[Shape, ...], output: Shape) -> tuple[Saved, ...]:
    """``op.saved(inputs, output)``, worked out once per op object and input shapes."""
    key = (id(op), inputs)
    known = _SAVED.get(key)
    if known is None or known[0] is not op:
        if len(_SAVED) >= _MEMO_LIMIT:
            _SAVED.clear()
        known = _SAVED[key] = (op, op.saved(inputs, output))
    return known[1]


# An op's saved tensors by the op's identity (kept beside the answer, so that its id is not reused) and its
# input shapes: lowering shares one op between alike layers and between the variants of a search loop
# (``elab.graph.created``). Bounded: cleared when full.
_SAVED: dict[tuple[int, tuple[Shape, ...]], tuple[Op, tuple[Saved, ...]]] = {}
_MEMO_LIMIT = 20_000


def _containers(graph: Graph) -> tuple[dict[int, tuple[str, ...]], dict[str, int]]:
    """Each node's chain of containers (outermost first, '' the network) and each container's last node."""
    names = {scope.name for scope in graph.scopes} | {""}
    chain_of: dict[int, tuple[str, ...]] = {}
    end: dict[str, int] = {}
    chains: dict[str, tuple[str, ...]] = {}  # by scope: many nodes share one
    for node in graph.nodes:
        chain = chains.get(node.scope)
        if chain is None:
            parts = node.scope.split(".") if node.scope else []
            prefixes = [".".join(parts[: i + 1]) for i in range(len(parts))]
            chain = chains[node.scope] = ("", *(p for p in prefixes if p in names))
        chain_of[node.id] = chain
        for name in chain:
            end[name] = node.id
    return chain_of, end


def release_points(graph: Graph) -> dict[int, int]:
    """For each node id, the node after which the module drops its output (see the module docstring).

    A value lives in the slot of the container that produced it, and of each container that returns it,
    up to the lowest container shared with a reader; there the step that reads it is the reader itself,
    or the child container holding the reader, which keeps the value until it returns.
    """
    chain_of, end = _containers(graph)
    release = {node.id: node.id for node in graph.nodes}
    for node in graph.nodes:
        for source in node.inputs:
            mine, theirs = chain_of[node.id], chain_of[source]
            shared = 0
            while shared < min(len(mine), len(theirs)) and mine[shared] == theirs[shared]:
                shared += 1
            step_end = end[mine[shared]] if shared < len(mine) else node.id
            release[source] = max(release[source], step_end)
    return release


@dataclass(init=False, repr=False, eq=False)
class PeakMemory(FrozenRecord):
    """Peak live activation bytes at inference and the node at which it occurs."""

    bytes: int
    at_node: int

    def __init__(self, bytes: int, at_node: int) -> None:
        set_field(self, "bytes", bytes)
        set_field(self, "at_node", at_node)


def peak_activation(graph: Graph, dtype: str, batch: int) -> PeakMemory:
    """Peak of live activation bytes over a no-grad forward (see the module docstring)."""
    size = dtype_size(dtype)
    base = storages(graph, training=False)
    release = release_points(graph)
    # A storage lives until the last release among the nodes that use it.
    until: dict[int, int] = {}
    for node in graph.nodes:
        owner = base[node.id]
        until[owner] = max(until.get(owner, owner), release[node.id])
    for owner in (base[0], base[graph.output]):
        until[owner] = len(graph.nodes)
    frees: dict[int, list[int]] = {}
    for owner, last in until.items():
        frees.setdefault(last, []).append(owner)
    live = peak = at = 0
    for node in graph.nodes:
        if base[node.id] == node.id and not node.op.state:  # a param or buffer: with the weights
            live += numel(node.shape) * samples(node, batch) * size
        scratch = node.op.scratch(graph.input_shapes(node), node.shape, size, samples(node, batch))
        if live + scratch > peak:
            peak, at = live + scratch, node.id
        for owner in frees.get(node.id, ()):
            if not graph.nodes[owner].op.state:
                live -= numel(graph.nodes[owner].shape) * samples(graph.nodes[owner], batch) * size
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
