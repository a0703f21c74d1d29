"""The graph being built: its nodes and scopes, repeat groups, and ops made with their shapes checked."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from archspec.elab.batch import batch_problem
from archspec.elab.names import Container
from archspec.elab.origins import Tracer
from archspec.elab.traced import deps_of, plain, value_at
from archspec.errors import SpecError
from archspec.expr import BlockRef
from archspec.ir import Node, Repeat, Scope
from archspec.limits import MAX_NODES, charge
from archspec.ops import OPS_BY_NAME, Op, OpError, Shape
from archspec.source import Span

Model = TypeVar("Model", bound=BaseModel)


def trusted(cls: type[Model], values: dict[str, Any]) -> Model:
    """An instance of ``cls`` holding ``values``, which give every field, checked already (what
    ``model_construct`` makes, without its per-field search for aliases and defaults: the lowering
    makes one node per layer, and its values come from validated ops and the lowering itself)."""
    instance = cls.__new__(cls)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


class GraphBuilder:
    """Nodes in the order they are made (a node's inputs come before it) and the scopes around them."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.scopes: list[Scope] = []
        self.repeat_groups = 0
        # The most layers a check of the layer limit has asked for so far (each check compares a count
        # with MAX_NODES): block replay (``elab.replay``) replays an instance only where its checks pass.
        self.reach = 0
        self.tracer: Tracer | None = None  # a traced elaboration's origins (``elab.origins``)

    def new_repeat_group(self) -> int:
        """A number for the copies of one repeat or loop (``Repeat.group``)."""
        self.repeat_groups += 1
        return self.repeat_groups

    def shape(self, node_id: int) -> Shape:
        """The output shape of a node."""
        return self.nodes[node_id].shape

    def env_shape(self, node_id: int) -> Shape:
        """The output shape of a node as the spec's names see it (``in_shape``): in a traced
        elaboration, traced where it depends on the network's parameters."""
        shape = self.nodes[node_id].shape
        return shape if self.tracer is None else self.tracer.shape(node_id, shape)

    def add_node(
        self,
        container: Container,
        local: str,
        op: Op,
        inputs: Sequence[int],
        span: Span | None,
        repeat: Repeat | None = None,
        formulas: dict[str, str] | None = None,
    ) -> int:
        """A new node ``local`` in ``container``, reading ``inputs``; its id."""
        self.reach = max(self.reach, len(self.nodes))
        if len(self.nodes) > MAX_NODES:  # the input node is not a layer
            raise SpecError.at(span, f"the network has more than {MAX_NODES} layers")
        charge(1, span)
        shape = op.output_shape([self.nodes[i].shape for i in inputs])
        node_id = len(self.nodes)
        node = trusted(
            Node,
            {
                "id": node_id,
                "name": container.child_name(local),
                "op": op,
                "inputs": tuple(inputs),
                "scope": container.path,
                "shape": shape,
                "repeat": repeat,
                "span": span,
                # Computed only from parameters and buffers: no batch axis (the network input has one).
                "batched": any(self.nodes[i].batched for i in inputs) if inputs else not op.state,
                "formulas": formulas or None,
            },
        )
        self.nodes.append(node)
        if self.tracer is not None:
            self.tracer.added(node_id, op, tuple(inputs))
        return node_id

    def open_sequence(
        self, local: str, container: Container, x: int, span: Span, repeat: Repeat | None
    ) -> Container:
        """A new named sequence inside ``container``, recorded as a scope of the IR."""
        child = Container(container.child_name(local), x, container, is_block=False)
        self.scopes.append(Scope(name=child.path, kind="sequence", repeat=repeat, span=span))
        return child

    def make_op(
        self,
        name: str,
        args: dict[str, Any],
        inputs: Sequence[int],
        span: Span,
        layer: str,
        spans: Mapping[str, Span] | None = None,
        listed: bool = False,
    ) -> Op:
        """The op ``name`` with ``args`` over ``inputs``; an error names ``layer`` (the node's path).
        ``listed``: the inputs come from a list of references, which may make a concat of one input
        (``torch.cat`` of a list of one, as DenseNet's first layer reads its block's input)."""
        op_class = OPS_BY_NAME[name]
        count = len(inputs)
        if listed and name == "concat" and count == 1:
            pass
        elif count < op_class.min_inputs or (op_class.max_inputs is not None and count > op_class.max_inputs):
            expected = (
                f"{op_class.min_inputs}"
                if op_class.max_inputs == op_class.min_inputs
                else f"at least {op_class.min_inputs}"
                if op_class.max_inputs is None
                else f"{op_class.min_inputs} to {op_class.max_inputs}"
            )
            plural = "" if expected == "1" else "s"
            raise SpecError.at(span, f"{name} takes {expected} input{plural}, got {count}")
        shapes = [self.shape(i) for i in inputs]
        traced = args
        if self.tracer is not None:  # the op from plain values; how to make it again from the traced
            args = plain(args)
        try:
            op = created(op_class, args, shapes)
        except OpError as error:
            where = (spans or {}).get(error.argument or "", span)
            raise SpecError.at(where, of_layer(layer, error.message), error.hint) from None
        problem = batch_problem(op, [self.nodes[i] for i in inputs], self.integer)
        if problem is not None:
            raise SpecError.at(span, of_layer(layer, problem[0]), problem[1])
        if self.tracer is not None:
            ids = tuple(inputs)
            self.tracer.made(
                op,
                lambda ctx: created(op_class, value_at(traced, ctx), [ctx.shapes[i] for i in ids]),
                deps_of(traced),
            )
        return op

    def integer(self, node_id: int) -> bool:
        """Whether a node's output holds integers: an integer buffer, or a reshaping of one."""
        node = self.nodes[node_id]
        return node.op.holds_integers(node.inputs, self.integer)


class Unkeyed(Exception):
    """A value ``typed_key`` does not know: what it would key (an op, a block instance) is made afresh."""


def typed_key(value: Any) -> Hashable:
    """``value`` with its type at every level, for the op cache and block replay (``elab.replay``):
    ``1``, ``1.0`` and ``true`` are equal in Python but not in a spec (``stride=true`` is an error, ``show``
    prints them otherwise; ``-0.0`` prints otherwise than ``0.0``). A traced number (``elab.traced``) is
    not keyed: it must be made where its origins are recorded."""
    kind = type(value)
    if kind is int or kind is bool or kind is str or value is None:
        return (kind, value)
    if kind is float:
        return (kind, value.hex())
    if kind is tuple:
        return (kind, tuple(typed_key(item) for item in value))
    if kind is BlockRef:
        return (kind, value.name)
    raise Unkeyed


# The ops made so far, by class, arguments and input shapes. An op is a frozen value computed from these
# alone (``Op.create``), so a network's repeated layers, and every variant of a search loop, reuse one
# object instead of running Pydantic's validation again. Bounded: cleared when full.
_CREATED: dict[tuple[type[Op], Hashable, tuple[Shape, ...]], Op] = {}
_CREATED_LIMIT = 20_000


def created(op_class: type[Op], args: dict[str, Any], shapes: Sequence[Shape]) -> Op:
    """``op_class.create(args, shapes)``, made once per distinct class, arguments and input shapes (an
    OpError is raised each time: a failure is not kept)."""
    try:
        key = (op_class, tuple((name, typed_key(value)) for name, value in args.items()), tuple(shapes))
    except Unkeyed:
        return op_class.create(args, shapes)
    op = _CREATED.get(key)
    if op is None:
        op = op_class.create(args, shapes)
        if len(_CREATED) >= _CREATED_LIMIT:
            _CREATED.clear()
        _CREATED[key] = op
    return op


def of_layer(layer: str, message: str) -> str:
    """``message`` about the layer being made, prefixed with its dotted name as every error of its
    values is (``features.0: conv needs 'kernel_size'``). Errors in how the call is written (an
    unknown argument, too many) are not: ``archspec check`` finds those in block definitions, where
    a layer has no name yet, and reports them the same way."""
    return f"{layer}: {message}" if layer else message
