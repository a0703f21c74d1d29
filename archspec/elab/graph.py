"""The graph being built: its nodes and scopes, repeat groups, and ops made with their shapes checked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from archspec.elab.batch import batch_problem
from archspec.elab.names import Container
from archspec.errors import SpecError
from archspec.ir import Node, Repeat, Scope
from archspec.limits import MAX_NODES, charge
from archspec.ops import OPS_BY_NAME, Op, OpError, Shape
from archspec.source import Span


class GraphBuilder:
    """Nodes in the order they are made (a node's inputs come before it) and the scopes around them."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.scopes: list[Scope] = []
        self.repeat_groups = 0

    def new_repeat_group(self) -> int:
        """A number for the copies of one repeat or loop (``Repeat.group``)."""
        self.repeat_groups += 1
        return self.repeat_groups

    def shape(self, node_id: int) -> Shape:
        """The output shape of a node."""
        return self.nodes[node_id].shape

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
        if len(self.nodes) > MAX_NODES:  # the input node is not a layer
            raise SpecError.at(span, f"the network has more than {MAX_NODES} layers")
        charge(1, span)
        shape = op.output_shape([self.nodes[i].shape for i in inputs])
        node = Node.model_construct(
            id=len(self.nodes),
            name=container.child_name(local),
            op=op,
            inputs=tuple(inputs),
            scope=container.path,
            shape=shape,
            # Computed only from parameters and buffers: no batch axis (the network input has one).
            batched=any(self.nodes[i].batched for i in inputs) if inputs else not op.state,
            repeat=repeat,
            span=span,
            formulas=formulas or None,
        )
        self.nodes.append(node)
        return node.id

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
        try:
            op = op_class.create(args, shapes)
        except OpError as error:
            where = (spans or {}).get(error.argument or "", span)
            raise SpecError.at(where, of_layer(layer, error.message), error.hint) from None
        problem = batch_problem(op, [self.nodes[i] for i in inputs], self.integer)
        if problem is not None:
            raise SpecError.at(span, of_layer(layer, problem[0]), problem[1])
        return op

    def integer(self, node_id: int) -> bool:
        """Whether a node's output holds integers: an integer buffer, or a reshaping of one."""
        node = self.nodes[node_id]
        return node.op.holds_integers(node.inputs, self.integer)


def of_layer(layer: str, message: str) -> str:
    """``message`` about the layer being made, prefixed with its dotted name as every error of its
    values is (``features.0: conv needs 'kernel_size'``). Errors in how the call is written (an
    unknown argument, too many) are not: ``archspec check`` finds those in block definitions, where
    a layer has no name yet, and reports them the same way."""
    return f"{layer}: {message}" if layer else message
