"""``analyze``: every pass over one graph, gathered into per-layer rows and per-container aggregates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from archspec.analysis.counts import COUNT_CONVENTIONS, NodeCounts, flops, tally
from archspec.analysis.memory import (
    dtype_size,
    peak_activation,
    samples,
    saved_activations,
    training_memory,
)
from archspec.analysis.receptive import RF, RFResult, network_fields, receptive_fields
from archspec.ir import Graph, Repeat
from archspec.ops import OPS_BY_KIND, Op, Shape, numel
from archspec.records import FrozenRecord, set_field

RowKind = Literal["layer", "block", "sequence"]


@dataclass(init=False, repr=False, eq=False)
class Row(FrozenRecord):
    """One named layer or one container, with its (summed) figures."""

    name: str
    op: str
    description: str
    kind: RowKind
    depth: int
    output_shape: Shape
    params: int
    trainable_params: int
    buffers: int
    macs: int
    flops: int
    extra_flops: int
    activation_bytes: int
    saved_bytes: int
    receptive_field: RF
    spatial_receptive_field: RF = None
    block: str | None = None
    repeat: Repeat | None = None
    node_ids: tuple[int, ...] = ()
    parent: str = ""

    def __init__(
        self,
        name: str,
        op: str,
        description: str,
        kind: RowKind,
        depth: int,
        output_shape: Shape,
        params: int,
        trainable_params: int,
        buffers: int,
        macs: int,
        flops: int,
        extra_flops: int,
        activation_bytes: int,
        saved_bytes: int,
        receptive_field: RF,
        spatial_receptive_field: RF = None,
        block: str | None = None,
        repeat: Repeat | None = None,
        node_ids: tuple[int, ...] = (),
        parent: str = "",
    ) -> None:
        set_field(self, "name", name)
        set_field(self, "op", op)
        set_field(self, "description", description)
        set_field(self, "kind", kind)
        set_field(self, "depth", depth)
        set_field(self, "output_shape", output_shape)
        set_field(self, "params", params)
        set_field(self, "trainable_params", trainable_params)
        set_field(self, "buffers", buffers)
        set_field(self, "macs", macs)
        set_field(self, "flops", flops)
        set_field(self, "extra_flops", extra_flops)
        set_field(self, "activation_bytes", activation_bytes)
        set_field(self, "saved_bytes", saved_bytes)
        set_field(self, "receptive_field", receptive_field)
        set_field(self, "spatial_receptive_field", spatial_receptive_field)
        set_field(self, "block", block)
        set_field(self, "repeat", repeat)
        set_field(self, "node_ids", node_ids)
        set_field(self, "parent", parent)


@dataclass(init=False, repr=False, eq=False)
class Analysis(FrozenRecord):
    """The static analysis of one graph: rows in module order, totals, convention and warnings.

    ``analyze`` makes the rows when they are first read (then kept as the field, as if given): a search
    loop reads the totals of many variants and the rows of few. Equality, the repr, ``dataclasses``'
    functions, pickling and copying read them as any field."""

    graph: Graph
    dtype: str
    count: str
    batch: int
    rows: tuple[Row, ...]
    nodes: Mapping[int, NodeCounts]
    fields: Mapping[int, RF]
    spatial_fields: Mapping[int, RF]
    params: int
    trainable_params: int
    buffers: int
    macs: int
    flops: int
    extra_flops: int
    activation_bytes: int
    peak_activation_bytes: int
    peak_at: str
    training_memory: Mapping[str, Any]
    depth: int
    receptive_field: RF
    spatial_receptive_field: RF
    warnings: tuple[str, ...] = field(default=())

    def __init__(
        self,
        graph: Graph,
        dtype: str,
        count: str,
        batch: int,
        rows: tuple[Row, ...],
        nodes: Mapping[int, NodeCounts],
        fields: Mapping[int, RF],
        spatial_fields: Mapping[int, RF],
        params: int,
        trainable_params: int,
        buffers: int,
        macs: int,
        flops: int,
        extra_flops: int,
        activation_bytes: int,
        peak_activation_bytes: int,
        peak_at: str,
        training_memory: Mapping[str, Any],
        depth: int,
        receptive_field: RF,
        spatial_receptive_field: RF,
        warnings: tuple[str, ...] = (),
    ) -> None:
        set_field(self, "graph", graph)
        set_field(self, "dtype", dtype)
        set_field(self, "count", count)
        set_field(self, "batch", batch)
        set_field(self, "rows", rows)
        set_field(self, "nodes", nodes)
        set_field(self, "fields", fields)
        set_field(self, "spatial_fields", spatial_fields)
        set_field(self, "params", params)
        set_field(self, "trainable_params", trainable_params)
        set_field(self, "buffers", buffers)
        set_field(self, "macs", macs)
        set_field(self, "flops", flops)
        set_field(self, "extra_flops", extra_flops)
        set_field(self, "activation_bytes", activation_bytes)
        set_field(self, "peak_activation_bytes", peak_activation_bytes)
        set_field(self, "peak_at", peak_at)
        set_field(self, "training_memory", training_memory)
        set_field(self, "depth", depth)
        set_field(self, "receptive_field", receptive_field)
        set_field(self, "spatial_receptive_field", spatial_receptive_field)
        set_field(self, "warnings", warnings)

    if not TYPE_CHECKING:  # (mypy would take every name for an attribute of an Analysis)

        def __getattr__(self, name: str) -> Any:
            # Reached only for a name the instance's __dict__ lacks: the rows of an analysis made by
            # `analyze` before they are first read.
            values = self.__dict__
            if name == "rows" and _PENDING in values:
                return _pending_rows(values)
            if name == "rows" and "rows" in values:  # made by another thread meanwhile
                return values["rows"]
            message = f"'{type(self).__name__}' object has no attribute '{name}'"
            raise AttributeError(message, name=name, obj=self)

    def __getstate__(self) -> dict[str, Any]:
        """The fields, the rows made if they were pending (what pickle and copy keep)."""
        _ = self.rows
        return {name: value for name, value in self.__dict__.items() if name != _PENDING}

    @property
    def network(self) -> str:
        """The variant name, or the network's name when it has none."""
        return self.graph.variant or self.graph.network

    @property
    def gated(self) -> bool:
        """Whether the whole field and the spatial path's differ (a gate fed by global pooling)."""
        return self.receptive_field != self.spatial_receptive_field

    def row(self, name: str) -> Row:
        """The row with this dotted name (KeyError when absent)."""
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def convention(self) -> dict[str, Any]:
        """What the figures mean (every report prints it)."""
        return convention(self.count, self.graph, self.dtype, self.batch)


def convention(
    count: str, graph: Graph | None = None, dtype: str = "float32", batch: int = 1
) -> dict[str, Any]:
    """The counting convention in words, with the per-op rules under ``all``."""
    if count == "all":
        text = (
            "MACs: torchvision convention — conv, linear, matmul (incl. attention QKᵀ, A·V); "
            "FLOPs = 2 × MACs + per-op FLOPs of bias, norms, activations, pooling, adds, softmax"
        )
    else:
        text = (
            "MACs: torchvision convention — conv, linear, matmul (incl. attention QKᵀ, A·V); "
            "FLOPs = 2 × MACs (bias, norms, activations, pooling, adds, softmax not counted)"
        )
    result: dict[str, Any] = {
        "count": count,
        "text": text,
        "batch_for_counts": 1,
        "memory": f"{dtype}, {dtype_size(dtype)} bytes per element, batch {batch}",
    }
    if count == "all":
        kinds = sorted({node.op.kind for node in graph.nodes}) if graph is not None else sorted(OPS_BY_KIND)
        result["rules"] = {OPS_BY_KIND[k].spec_names[0]: OPS_BY_KIND[k].flop_rule for k in kinds}
    return result


def analyze(graph: Graph, dtype: str = "float32", count: str = "torchvision", batch: int = 1) -> Analysis:
    """Shapes, parameters, MACs/FLOPs, memory and receptive field of every layer and container."""
    if count not in COUNT_CONVENTIONS:
        raise ValueError(f"unknown counting convention {count!r}; expected one of {COUNT_CONVENTIONS}")
    if batch < 1:
        raise ValueError(f"batch must be positive, got {batch}")
    size = dtype_size(dtype)
    counts, (params, trainable, buffers, macs, extra), depth = tally(graph)
    rf = receptive_fields(graph)
    whole, spatial = network_fields(graph, rf)
    saved = saved_activations(graph, dtype, batch)
    peak = peak_activation(graph, dtype, batch)
    activations = saved.total
    # Every field but the rows, which are made when first read (see Analysis.__getattr__): a search loop
    # reads the totals of many variants and the rows of few, and the rows are the largest part of the work.
    analysis = object.__new__(Analysis)
    values = {
        "graph": graph,
        "dtype": dtype,
        "count": count,
        "batch": batch,
        "nodes": counts,
        "fields": rf.fields,
        "spatial_fields": rf.spatial,
        "params": params,
        "trainable_params": trainable,
        "buffers": buffers,
        "macs": macs,
        "flops": flops(macs, extra, count),
        "extra_flops": extra,
        "activation_bytes": activations,
        "peak_activation_bytes": peak.bytes,
        "peak_at": graph.nodes[peak.at_node].name,
        "training_memory": training_memory(params, trainable, buffers, activations, dtype, batch),
        "depth": depth,
        "receptive_field": whole,
        "spatial_receptive_field": spatial,
        "warnings": rf.warnings,
        _PENDING: (graph, counts, rf, saved.per_node, count, size, batch),
    }
    set_field(analysis, "__dict__", values)
    return analysis


# The key under which an analysis made by ``analyze`` keeps what its rows are made from, until they are.
_PENDING = "_rows_from"


def _pending_rows(values: dict[str, Any]) -> tuple[Row, ...]:
    """The rows of an analysis made by ``analyze`` (its ``__dict__``), made once and kept as its ``rows``
    field. Two threads reading them at once may both make them; both get the rows kept first (equal
    ones, either way)."""
    pending = values.get(_PENDING)
    if pending is None:  # another thread made them meanwhile (or they never were pending)
        return values["rows"]  # type: ignore[no-any-return]
    graph, counts, rf, saved, count, size, batch = pending
    out_bytes = {n.id: 0 if n.op.state else numel(n.shape) * size * samples(n, batch) for n in graph.nodes}
    rows: tuple[Row, ...] = values.setdefault("rows", _rows(graph, counts, rf, out_bytes, saved, count))
    values.pop(_PENDING, None)
    return rows


def _described(op: Op) -> tuple[Op, str, str]:
    """The op, its spec name and ``op.describe()``, worked out once per op object (lowering shares one
    between alike layers and between the variants of a search loop; the op kept beside its text keeps
    its id from being reused)."""
    known = _DESCRIBED.get(id(op))
    if known is not None and known[0] is op:
        return known
    if len(_DESCRIBED) >= 20_000:
        _DESCRIBED.clear()
    known = _DESCRIBED[id(op)] = (op, op.spec_names[0], op.describe())
    return known


_DESCRIBED: dict[int, tuple[Op, str, str]] = {}


def _ancestors(name: str) -> list[str]:
    """``layer1.0.downsample`` -> ``["layer1", "layer1.0", "layer1.0.downsample"]``."""
    if not name:
        return []
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _rows(
    graph: Graph,
    counts: Mapping[int, NodeCounts],
    rf: RFResult,
    out_bytes: Mapping[int, int],
    saved: Mapping[int, int],
    count: str,
) -> tuple[Row, ...]:
    scopes = {scope.name: scope for scope in graph.scopes}
    nodes = graph.nodes
    members: dict[str, list[int]] = {}  # by container: its nodes' ids, in order
    order: list[str | int] = []  # a container's name or a node's id, in module order
    # By node scope: the member lists of the containers around it (its nodes are added to each) and the
    # running totals of the innermost one, None when none is around it. The scopes of the nodes come in
    # runs, and a scope's containers are all seen by its first node: only a new scope is looked into.
    scoped: dict[str, tuple[list[list[int]], list[int] | None]] = {}
    with_extra = count == "all"
    # A container's totals: each node's figures added to its innermost container's, then each
    # container's to the one around it (fewer additions than summing every container's members).
    totals: dict[str, list[int]] = {}
    for node in nodes:
        found = scoped.get(node.scope)
        if found is None:
            chain = [name for name in _ancestors(node.scope) if name in scopes]
            for name in chain:
                if name not in members:
                    members[name] = []
                    totals[name] = [0] * 8
                    order.append(name)
            inner = totals[chain[-1]] if chain else None
            found = scoped[node.scope] = ([members[name] for name in chain], inner)
        i = node.id
        for ids in found[0]:
            ids.append(i)
        order.append(i)
        total = found[1]
        if total is not None:
            c = counts[i]
            total[0] += c.params
            total[1] += c.trainable_params
            total[2] += c.buffers
            total[3] += c.macs
            total[4] += 2 * c.macs + c.extra_flops if with_extra else 2 * c.macs
            total[5] += c.extra_flops
            total[6] += out_bytes[i]
            total[7] += saved[i]

    parents: dict[str, str] = {}
    depths: dict[str, int] = {"": 0}

    def parent_of(name: str) -> str:
        # the innermost container around it: a module list (`convs` of `convs.0`) is no row of its own
        found = parents.get(name)
        if found is None:
            up = name.rpartition(".")[0]
            while up and up not in scopes:
                up = up.rpartition(".")[0]
            found = parents[name] = up
        return found

    def depth_of(name: str) -> int:
        found = depths.get(name)
        if found is None:
            found = depths[name] = depth_of(parent_of(name)) + 1
        return found

    for key in reversed(order):  # a container after the ones inside it
        if key.__class__ is str:
            up = parent_of(key)
            if up:
                outer, inside = totals[up], totals[key]
                for k in range(8):
                    outer[k] += inside[k]
    # A layer's parent is its name's prefix's innermost container: by prefix, which its siblings share.
    prefixes: dict[str, tuple[str, int]] = {}
    described = _DESCRIBED
    fields, spatial = rf.fields, rf.spatial
    new, fill = object.__new__, object.__setattr__
    rows: list[Row] = []
    for key in order:
        row = new(Row)
        if key.__class__ is int:
            node = nodes[key]
            i, op = node.id, node.op
            c = counts[i]
            prefix = node.name.rpartition(".")[0]
            placed = prefixes.get(prefix)
            if placed is None:
                parent = prefix if not prefix or prefix in scopes else parent_of(prefix)
                placed = prefixes[prefix] = (parent, depth_of(parent) + 1)
            known = described.get(id(op))
            if known is None or known[0] is not op:
                known = _described(op)
            macs, extra = c.macs, c.extra_flops
            # A row's fields filled at once: a frozen dataclass's __init__ sets each of its twenty
            # fields through object.__setattr__, four times the time (nothing else differs).
            fill(
                row,
                "__dict__",
                {
                    "name": node.name,
                    "op": known[1],
                    "description": known[2],
                    "kind": "layer",
                    "depth": placed[1],
                    "output_shape": node.shape,
                    "params": c.params,
                    "trainable_params": c.trainable_params,
                    "buffers": c.buffers,
                    "macs": macs,
                    "flops": 2 * macs + extra if with_extra else 2 * macs,
                    "extra_flops": extra,
                    "activation_bytes": out_bytes[i],
                    "saved_bytes": saved[i],
                    "receptive_field": fields[i],
                    "spatial_receptive_field": spatial[i],
                    "block": None,
                    "repeat": node.repeat,
                    "node_ids": (i,),
                    "parent": placed[0],
                },
            )
            rows.append(row)
            continue
        scope = scopes[key]  # type: ignore[index]
        ids = members[scope.name]
        params, trainable, buffers, macs, flops_total, extra, activations, saved_total = totals[scope.name]
        output = ids[-1]
        label = scope.block or scope.kind
        fill(
            row,
            "__dict__",
            {
                "name": scope.name,
                "op": label,
                "description": label,
                "kind": "block" if scope.kind == "block" else "sequence",
                "depth": depth_of(scope.name),
                "output_shape": nodes[output].shape,
                "params": params,
                "trainable_params": trainable,
                "buffers": buffers,
                "macs": macs,
                "flops": flops_total,
                "extra_flops": extra,
                "activation_bytes": activations,
                "saved_bytes": saved_total,
                "receptive_field": fields[output],
                "spatial_receptive_field": spatial[output],
                "block": scope.block,
                "repeat": scope.repeat,
                "node_ids": tuple(ids),
                "parent": parent_of(scope.name),
            },
        )
        rows.append(row)
    return tuple(rows)
