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

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, compress, repeat
from math import prod
from operator import add, is_, itemgetter, mul, sub
from typing import Any

from archspec.analysis.columns import columns
from archspec.dtypes import ACTIVATION_DTYPES, DTYPE_BYTES
from archspec.ir import Graph, Node
from archspec.ops import Op, Shape, numel
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
    return set(_structure(graph).inplace)


def storages(graph: Graph, training: bool, inplace: set[int] | None = None) -> dict[int, int]:
    """For each node id, the id of the node whose output storage it uses (itself unless a view/in place);
    ``inplace``: the in-place nodes to assume, ``inplace_nodes(graph)`` when None."""
    if inplace is None:
        found = _structure(graph)
        return dict(enumerate(found.base_training if training else found.base))
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
    return dict(enumerate(_structure(graph).recorded))


def samples(node: Node, batch: int) -> int:
    """How many copies of a node's per-sample output a forward of ``batch`` samples makes: ``batch``, or 1
    for a tensor computed only from parameters and buffers (``Node.batched``)."""
    return batch if node.batched else 1


def saved_activations(graph: Graph, dtype: str, batch: int) -> SavedBytes:
    """Bytes autograd keeps for backward in one training forward (see the module docstring)."""
    size = dtype_size(dtype)
    own, shared, fixed, fixed_shared = _structure(graph).saved
    each = list(map(add, _scaled(own, size * batch, shared, size), _scaled(fixed, batch, fixed_shared, 1)))
    return SavedBytes(sum(each), dict(zip(range(len(each)), each, strict=True)))


def _scaled(a: Sequence[int], times_a: int, b: Sequence[int], times_b: int) -> list[int]:
    """``a[k] * times_a + b[k] * times_b`` for each k (a C-level loop: a list of every node's bytes)."""
    return list(map(add, map(mul, a, repeat(times_a)), map(mul, b, repeat(times_b))))


def release_points(graph: Graph) -> dict[int, int]:
    """For each node id, the node after which the module drops its output (see the module docstring).

    A value lives in the slot of the container that produced it, and of each container that returns it,
    up to the lowest container shared with a reader; there the step that reads it is the reader itself,
    or the child container holding the reader, which keeps the value until it returns.
    """
    return dict(enumerate(_release(graph)))


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
    found = _structure(graph)
    # The bytes live while each node runs (its output allocated, nothing after it freed yet), then its
    # temporaries on top: the first node where that is largest.
    live = _scaled(found.live, size * batch, found.live_shared, size)
    ops, inputs, shapes, batched, _ = columns(graph)
    for k in found.scratching:
        live[k] += ops[k].scratch([shapes[i] for i in inputs[k]], shapes[k], size, batch if batched[k] else 1)
    peak = max(live)
    return PeakMemory(peak, live.index(peak))


class _Structure:
    """What the memory passes need of one graph, whatever the dtype and batch (a plain class: nothing on
    analyze's path compiles dataclass methods, tests/test_records.py). Lists by node id:

    - ``inplace``: the in-place nodes; ``base`` / ``base_training``: the node whose storage each uses at
      inference / in training; ``recorded``: whether autograd records it (``tracked``);
    - ``saved``: the bytes each node's backward keeps, counted at their first saver, as four lists (own,
      shared, fixed, fixed_shared): size x (own x batch + shared) + fixed x batch + fixed_shared;
    - ``live`` / ``live_shared``: the elements live while a node runs at inference, as size x (live x batch
      + live_shared), before its temporaries; ``scratching``: the nodes whose op has temporaries.

    Each is worked out over integer ids and the graph's columns (``analysis.columns``), walking only the
    nodes that matter where that is few (in-place ops, views): every read of a node's field and every
    step of a Python loop costs hundreds of instructions, and a search loop analyses each variant once.
    """

    __slots__ = ("base", "base_training", "inplace", "live", "live_shared", "recorded", "saved", "scratching")

    def __init__(self, graph: Graph) -> None:
        ops, inputs, shapes, batched, _ = columns(graph)
        n = len(ops)
        facts = _facts(ops)
        _, params, state, view, view_training, may, producer, _, scratch = zip(*facts, strict=True)
        reads = Counter(chain.from_iterable(inputs))  # how many times each output is read
        inplace = frozenset(
            k
            for k in compress(range(n), may)
            if len(inputs[k]) == 1 and producer[inputs[k][0]] and reads[inputs[k][0]] == 1
        )
        base, base_training = list(range(n)), list(range(n))
        sharing = sorted(inplace.union(compress(range(n), view)))  # in order: input 0's storage is settled
        for k in sharing:
            if inputs[k]:
                base[k] = base[inputs[k][0]]
        for k in sorted(inplace.union(compress(range(n), view_training))):
            if inputs[k]:
                base_training[k] = base_training[inputs[k][0]]
        recorded = list(params)
        for k in range(n):
            if not recorded[k]:
                for i in inputs[k]:
                    if recorded[i]:
                        recorded[k] = True
                        break
        elements = list(map(prod, shapes))
        self.inplace, self.base, self.base_training, self.recorded = inplace, base, base_training, recorded
        own, shared, fixed, fixed_shared = zip(
            *_saved(graph, facts, elements, inplace, base_training, recorded), strict=True
        )
        self.saved = (own, shared, fixed, fixed_shared)
        release = _release(graph)
        self.live, self.live_shared = _live(release, sharing, base, state, batched, elements, graph.output)
        self.scratching = list(compress(range(n), scratch))


def _structure(graph: Graph) -> _Structure:
    """The memory passes' facts of ``graph``: kept for the last graph asked about (analyze asks for both
    activation figures of one graph; graphs are frozen, so identity is enough)."""
    if _LAST[0] is not graph:
        _LAST[:] = [graph, _Structure(graph)]
    found: _Structure = _LAST[1]
    return found


_LAST: list[Any] = [None, None]


def _saved(
    graph: Graph,
    facts: Sequence[_Facts],
    elements: Sequence[int],
    inplace: frozenset[int],
    base: Sequence[int],
    recorded: Sequence[bool],
) -> list[tuple[int, int, int, int]]:
    """Each node's saved bytes as (own, shared, fixed, fixed_shared) (see ``_Structure``)."""
    ops, inputs, shapes, batched, _ = columns(graph)
    counted: set[int] = set()  # the storages saved so far (each is counted at its first saver)
    found = [(0, 0, 0, 0)] * len(ops)
    for k in compress(range(len(ops)), recorded):
        op, ins = ops[k], inputs[k]
        in_place = k in inplace
        # (the key tells one input's shape from several inputs' by its length)
        if len(ins) == 1:
            key: tuple[object, ...] = (id(op), shapes[ins[0]], in_place)
        else:
            key = (id(op), tuple([shapes[i] for i in ins]), in_place, None)
        known = _SAVED.get(key)
        if known is None or known[0] is not op:
            if len(_SAVED) >= _MEMO_LIMIT:
                _SAVED.clear()
            known = _SAVED[key] = _compiled(op, tuple([shapes[i] for i in ins]), shapes[k], in_place)
        _, per_sample, in_all, fixed_per_sample, fixed_in_all, kept = known
        if batched[k]:
            own, shared, fixed, fixed_shared = per_sample, in_all, fixed_per_sample, fixed_in_all
        else:
            own, shared, fixed, fixed_shared = 0, in_all + per_sample, 0, fixed_in_all + fixed_per_sample
        for index in kept:
            if index < 0:  # its output
                owner = base[k]
            elif facts[k][_CROSS] and len(ins) == 2 and not recorded[ins[1 - index]]:
                continue  # kept only for a gradient nobody needs (a gate on the network input)
            else:
                owner = base[ins[index]]
            if owner in counted or facts[owner][_STATE]:
                continue  # a param or buffer is counted with the weights
            counted.add(owner)
            if batched[owner]:
                own += elements[owner]
            else:
                shared += elements[owner]
        found[k] = (own, shared, fixed, fixed_shared)
    return found


# What ``op.saved`` says for one op and input shapes, as (op, activation elements per sample, in all; bytes
# in a dtype of its own per sample, in all; the storages it keeps: the index of an input, or -1 for its
# output).
_Compiled = tuple[Op, int, int, int, int, tuple[int, ...]]


def _compiled(op: Op, inputs: tuple[Shape, ...], output: Shape, in_place: bool) -> _Compiled:
    """``op.saved(inputs, output)`` as ``_Compiled``; ``in_place``: the op overwrites its input."""
    new = [0, 0, 0, 0]  # per sample, in all; fixed per sample, fixed in all
    kept: list[int] = []
    for saved in op.saved(inputs, output):
        itemsize = DTYPE_BYTES[saved.dtype] if saved.dtype else 0  # 0: the activations' dtype
        source, elements, per_sample = saved.source, saved.elements, saved.per_sample
        if saved.copied_in_place and in_place:  # an input it overwrites: kept as a copy, made anew
            source, elements, per_sample = "new", numel(inputs[saved.index]), True
        if source == "new":
            new[(2 if itemsize else 0) + (0 if per_sample else 1)] += elements * (itemsize or 1)
        else:
            kept.append(saved.index if source == "input" else -1)
    return (op, new[0], new[1], new[2], new[3], tuple(kept))


# ``_compiled`` by the op's identity (kept beside the answer, so that its id is not reused), its input
# shapes and whether it works in place: lowering shares one op between alike layers and between the
# variants of a search loop (``elab.graph.created``). Bounded: cleared when full.
_SAVED: dict[tuple[object, ...], _Compiled] = {}
_MEMO_LIMIT = 20_000

# What the passes ask an op (``_facts``): the op, then whether it has parameters, is a parameter or buffer
# (``Op.state``), is a view at inference, in training, may work in place, is an in-place producer, saves
# each of two inputs for the other's gradient only (``Op.cross_saving``), has temporaries.
_Facts = tuple[Op, bool, bool, bool, bool, bool, bool, bool, bool]
_STATE, _CROSS = 2, 7


def _facts(ops: Sequence[Op]) -> list[_Facts]:
    """Each op's ``_Facts``, worked out once per op object (an op's reads of its class's flags go through
    pydantic's attribute hook, and ``param_count`` may compute)."""
    found: list[_Facts | None] = list(map(_FACTS.get, map(id, ops)))
    if None in found or not all(map(is_, map(itemgetter(0), found), ops)):  # type: ignore[arg-type]
        for k, op in enumerate(ops):
            known = found[k]
            if known is None or known[0] is not op:
                if len(_FACTS) >= _MEMO_LIMIT:
                    _FACTS.clear()
                found[k] = _FACTS[id(op)] = (
                    op,
                    op.param_count() > 0,
                    op.state,
                    op.is_view(False),
                    op.is_view(True),
                    op.inplace,
                    op.inplace_producer,
                    op.cross_saving,
                    type(op).scratch is not Op.scratch,  # the default has none
                )
    return found  # type: ignore[return-value]


_FACTS: dict[int, _Facts] = {}


def _live(
    release: Sequence[int],
    sharing: Sequence[int],
    base: Sequence[int],
    state: Sequence[bool],
    batched: Sequence[bool],
    elements: Sequence[int],
    output: int,
) -> tuple[list[int], list[int]]:
    """The elements live while each node runs at inference, before its temporaries, as (per sample, in
    all) lists by node id: each storage from its node until the release of the last node using it
    (``sharing``: the nodes using another's storage)."""
    n = len(release)
    until = list(release)  # a storage lives until the last release among the nodes that use it
    for k in sharing:
        owner = base[k]
        if release[k] > until[owner]:
            until[owner] = release[k]
    until[base[0]] = until[base[output]] = n  # the network's input and output live throughout
    added, added_shared = [0] * n, [0] * n
    freed, freed_shared = [0] * (n + 1), [0] * (n + 1)  # freed after node k (n: never)
    for k in range(n):
        if base[k] == k and not state[k]:  # a param or buffer: with the weights
            if batched[k]:
                added[k] = elements[k]
                freed[until[k]] += elements[k]
            else:
                added_shared[k] = elements[k]
                freed_shared[until[k]] += elements[k]
    return _running(added, freed), _running(added_shared, freed_shared)


def _running(added: list[int], freed: list[int]) -> list[int]:
    """At each node, what was added up to and including it less what was freed before it."""
    return list(map(sub, accumulate(added), accumulate(freed, initial=0)))


def _release(graph: Graph) -> list[int]:
    """``release_points`` as a list by node id."""
    _, inputs, _, _, scope_of = columns(graph)
    n = len(inputs)
    names = {scope.name for scope in graph.scopes}
    # Each container's last node: the last node of each scope string, then each container around it.
    end: dict[str, int] = {}
    chains: dict[str, tuple[str, ...]] = {}  # by scope string: the containers holding it, outermost first
    for scope, last in dict(zip(scope_of, range(n), strict=True)).items():
        parts = scope.split(".") if scope else []
        prefixes = [".".join(parts[: i + 1]) for i in range(len(parts))]
        chains[scope] = chain = ("", *(p for p in prefixes if p in names))
        for name in chain:
            if end.get(name, -1) < last:
                end[name] = last
    release = list(range(n))
    steps: dict[tuple[str, str], str | None] = {}  # by (reader's scope, source's scope): see below
    for k, sources in enumerate(inputs):
        mine = scope_of[k]
        for source in sources:
            theirs = scope_of[source]
            if theirs == mine:
                step_end = k
            else:
                key = (mine, theirs)
                if key not in steps:
                    # the child container of the lowest shared one that holds the reader (None: the reader)
                    a, b = chains[mine], chains[theirs]
                    shared = 0
                    while shared < min(len(a), len(b)) and a[shared] == b[shared]:
                        shared += 1
                    steps[key] = a[shared] if shared < len(a) else None
                child = steps[key]
                step_end = k if child is None else end[child]
            if step_end > release[source]:
                release[source] = step_end
    return release


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
