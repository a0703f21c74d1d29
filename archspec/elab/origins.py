"""Origins: how each node of a traced elaboration follows from the network's parameters, and the graph
for other values of them computed without elaborating again (``substitute``).

A traced elaboration (``lower(..., tracer=Tracer())``, values as ``elab.traced`` describes) records,
per node, what remakes its op: the op's arguments as written (traced numbers where they come from
parameters) over the input shapes, or a ``param``/``buffer`` declaration over its names' values; and
the parameters each node's op and shape depend on. ``substitute`` walks the nodes in order and remakes
the ops that a changed parameter reaches, with their output shapes, as the elaboration would; a
parameter that decided something (a loop or repeat count, an index, a comparison that comes out
otherwise) gives None: only elaborating again could say what it changes (the code generator keeps such
a parameter a literal, ``backends.exposed``), but for the loop counts the caller waives (``waive``: a
count the file writes as a loop over the parameter, whose copies are alike for every count).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from archspec.elab.traced import Context, Tracing, deps_of, make, value_at
from archspec.errors import SpecError
from archspec.ir import Graph, InitRule, Node
from archspec.ops import Op, OpError, Shape

Remake = Callable[[Context], Op]  # the node's op for other values


class _Values:
    """A substitution's context: the parameters' values and every node's shape so far. (A plain class:
    a dataclass on the analyze path costs start-up time, tests/test_records.py.)"""

    __slots__ = ("params", "shapes")

    def __init__(self, params: dict[str, Any], shapes: list[tuple[int, ...]]) -> None:
        self.params = params
        self.shapes = shapes


class Tracer(Tracing):
    """The origins a traced elaboration records (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.remakes: dict[int, Remake] = {}
        self.deps: dict[int, frozenset[str]] = {}  # node -> the parameters it depends on
        self.pending: tuple[Op, Remake, frozenset[str]] | None = None  # made, its node not yet added
        # The network's init rules for other values (their arguments may use the parameters).
        self.init_again: Callable[[Context, Sequence[Node]], tuple[InitRule, ...]] | None = None

    def made(self, op: Op, remake: Remake, deps: frozenset[str]) -> None:
        """An op made from (possibly traced) arguments, which ``add_node`` takes next."""
        self.pending = (op, remake, deps)

    def added(self, node_id: int, op: Op, inputs: tuple[int, ...]) -> None:
        """A node added: its op's record (when it was just made) and its dependencies."""
        deps: frozenset[str] = frozenset().union(*(self.deps.get(i, frozenset()) for i in inputs))
        if self.pending is not None and self.pending[0] is op:
            self.remakes[node_id] = self.pending[1]
            deps |= self.pending[2]
        self.pending = None
        self.nodes_made = node_id + 1
        if deps:
            self.deps[node_id] = deps

    def shape(self, node_id: int, shape: Shape) -> Shape:
        """A node's output shape as the elaboration's names see it: traced where it depends on
        parameters (dimension k of node ``node_id``, computed again by ``substitute``)."""
        deps = self.deps.get(node_id)
        if not deps:
            return shape

        def dimension(k: int) -> Callable[[Context], int]:
            return lambda ctx: ctx.shapes[node_id][k]

        return tuple(make(size, dimension(k), deps) for k, size in enumerate(shape))


def value_for(value: Any, graph: Graph, changes: dict[str, Any]) -> Any:
    """A traced value of the elaboration computed again for ``changes`` (parameter -> value), the
    nodes' shapes as they are."""
    return value_at(value, _Values({**graph.params, **changes}, [node.shape for node in graph.nodes]))


class BufferChanged(Exception):
    """A changed parameter changes how a buffer's values are computed (their count, which elements):
    the file writes those values as numbers, so the parameter cannot be an argument of its classes."""


def _decided(in_buffer: bool) -> None:
    """What a failed guard means: a buffer that changes (``BufferChanged``), or a choice that only
    elaborating again can follow (None)."""
    if in_buffer:
        raise BufferChanged
    return None


def substitute(
    graph: Graph, tracer: Tracer, changes: dict[str, Any], waive: frozenset[int] = frozenset()
) -> Graph | None:
    """The graph the spec elaborates to with ``changes`` (parameter -> value), computed from the
    traced elaboration's origins; None when a changed parameter decided something or an op refuses
    the values (only elaborating again can say). Raises ``BufferChanged`` where it changes how a
    buffer's values are computed. ``waive``: guards (by index) not checked, loop counts the caller
    accounts for (the graph keeps the traced elaboration's copies)."""
    from archspec.limits import budget
    from archspec.ops.tensor import Buffer  # here: loading a spec imports only the op modules it names

    changed = frozenset(changes)
    ctx = _Values({**graph.params, **changes}, [node.shape for node in graph.nodes])
    nodes: list[Node] = []
    # In the order made, each after the nodes it reads.
    guards = iter([g for k, g in enumerate(tracer.guards) if k not in waive])
    pending = next(guards, None)
    try:
        with budget():
            for node in graph.nodes:
                # The choices made before this node (checked first: a wrong one ends it early).
                while pending is not None and pending[0] <= node.id:
                    if pending[1] & changed and not pending[2](ctx):
                        return _decided(pending[3])  # type: ignore[func-returns-value]
                    pending = next(guards, None)
                if not (tracer.deps.get(node.id, frozenset()) & changed) or isinstance(node.op, Buffer):
                    # A buffer reached here read the same values (its guard held: else
                    # ``BufferChanged``), so it holds the same numbers: not computed again.
                    nodes.append(node)
                    continue
                remake = tracer.remakes.get(node.id)
                if remake is None:
                    return None
                op = remake(ctx)
                shape = op.output_shape([ctx.shapes[i] for i in node.inputs])
                ctx.shapes[node.id] = shape
                nodes.append(node.model_copy(update={"op": op, "shape": shape}))
            for _, deps, check, in_buffer in [pending, *guards] if pending is not None else ():
                if deps & changed and not check(ctx):
                    return _decided(in_buffer)  # type: ignore[func-returns-value]
            init = graph.init if tracer.init_again is None else tracer.init_again(ctx, nodes)
    except (OpError, SpecError, ArithmeticError, ValueError, TypeError):
        return None
    update = {"params": ctx.params, "nodes": tuple(nodes), "input_shape": nodes[0].shape, "init": init}
    return graph.model_copy(update=update)


__all__ = ["Tracer", "deps_of", "substitute"]
