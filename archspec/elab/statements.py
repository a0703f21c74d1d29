"""Lowering of statements: bindings, chains, named groups, loops, conditions, residuals and merges.

Lowering walks the layer body in order and builds the graph node by node, inferring shapes as it goes
(a block reads ``in_channels``; ops infer ``in_features``). Structural statements (``residual``,
``concat``, ``for``, ``if``, an unnamed ``* n``) add no level of names: their items belong to the
enclosing sequence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from archspec import ast
from archspec.elab.items import ItemLowerer
from archspec.elab.names import Container, claim
from archspec.elab.state import BufferCache, state_names, state_op
from archspec.elab.traced import (
    active,
    copied,
    counted,
    decide,
    deps_of,
    loop_variable,
    plain,
    same_shapes,
    untraced,
    value_at,
)
from archspec.elab.walk import StmtVisitor, is_auto
from archspec.errors import SpecError
from archspec.expr import Value, evaluate, show, type_name
from archspec.ir import Repeat
from archspec.limits import MAX_NESTING, charge
from archspec.loader import Program
from archspec.ops import format_shape
from archspec.source import Span


def unpacked(targets: Sequence[str], value: Value, span: Span) -> dict[str, Value]:
    """``targets`` bound to the elements of ``value``, which must be a list of as many."""
    if not isinstance(value, tuple) or len(value) != len(targets):
        raise SpecError.at(
            span, f"cannot unpack {show(value)} into {len(targets)} names ({', '.join(targets)})"
        )
    return dict(zip(targets, value, strict=True))


@dataclass(frozen=True)
class Flow:
    """Where a statement is lowered: the container filled, the names seen (a binding adds to them), the
    output the statement reads, and the copy of a repeat or loop it belongs to."""

    container: Container
    env: dict[str, Value]
    x: int
    repeat: Repeat | None


class Lowerer(ItemLowerer, StmtVisitor[Flow, int]):
    """A network's layers into the graph; each statement returns the output the next one reads."""

    def __init__(self, program: Program, network_params: Mapping[str, Value]) -> None:
        super().__init__(program, network_params)
        self.buffers: BufferCache = {}  # buffer values computed so far (elab.state)

    def body(
        self,
        stmts: Sequence[ast.Stmt],
        container: Container,
        env: dict[str, Value],
        x: int,
        repeat: Repeat | None = None,
    ) -> int:
        """Lower statements in order from ``x``; the last output."""
        # Bodies nest through block calls too, which the parser's nesting check cannot see.
        self.depth += 1
        try:
            if self.depth > MAX_NESTING and stmts:
                raise SpecError.at(
                    stmts[0].span,
                    f"layers nest more than {MAX_NESTING} levels deep (indented bodies and block calls, "
                    "counted through the blocks)",
                )
            for stmt in stmts:
                self.last_span = stmt.span
                charge(1, stmt.span)
                x = self.stmt(stmt, Flow(container, env, x, repeat))
            return x
        finally:
            self.depth -= 1

    def sequence(
        self,
        local: str,
        stmts: Sequence[ast.Stmt],
        container: Container,
        env: dict[str, Value],
        x: int,
        span: Span,
        repeat: Repeat | None,
    ) -> int:
        """Lower statements into a new named sequence ``local`` of ``container``."""
        child = self.graph.open_sequence(local, container, x, span, repeat)
        out = self.body(stmts, child, dict(env), x)
        container.labels[local] = (out, span)
        return out

    def let(self, stmt: ast.Let, flow: Flow) -> int:
        """``name = value``: the name is seen by the statements after it."""
        flow.env[stmt.name] = evaluate(stmt.value, flow.env)
        return flow.x

    def unpack(self, stmt: ast.Unpack, flow: Flow) -> int:
        """``a, b = value``: one name per element of the list."""
        value = evaluate(stmt.value, flow.env)
        flow.env.update(unpacked(stmt.targets, value, stmt.value.span))
        return flow.x

    def chain(self, stmt: ast.ChainStmt, flow: Flow) -> int:
        """Each item reads the previous one's output; a merge at the end, the last item's."""
        x = flow.x
        for item in stmt.items:
            x = self.item(item, flow.container, flow.env, x, flow.repeat)
        if stmt.merge is not None:
            return self.merge(stmt.merge, Flow(flow.container, flow.env, x, flow.repeat))
        return x

    def group(self, stmt: ast.GroupStmt, flow: Flow) -> int:
        """A named sequence."""
        local = claim(flow.container, stmt.label, flow.env)
        return self.sequence(local, stmt.body, flow.container, flow.env, flow.x, stmt.label.span, flow.repeat)

    def if_stmt(self, stmt: ast.IfStmt, flow: Flow) -> int:
        """The first branch whose condition holds, else the ``else`` body (or nothing)."""
        for condition, branch in stmt.branches:
            if self.truth(condition, flow.env):
                return self.body(branch, flow.container, flow.env, flow.x, flow.repeat)
        return self.body(stmt.otherwise or (), flow.container, flow.env, flow.x, flow.repeat)

    def truth(self, expr: ast.Expr, env: Mapping[str, Value]) -> bool:
        """A condition's value, refused unless it is a boolean."""
        value = evaluate(expr, env)
        if not isinstance(value, bool):
            raise SpecError.at(expr.span, f"a condition must be true or false, got {show(value)}")
        return value

    def for_loop(self, stmt: ast.ForStmt, flow: Flow) -> int:
        """The body once per value, each copy a member of one repeat group."""
        traced, before, count = active(), 0, None
        iterable = stmt.iterable
        if traced is not None and isinstance(iterable, ast.FuncCall) and iterable.func == "range":
            if len(iterable.args) == 1 and not iterable.kwargs:
                count = evaluate(iterable.args[0], flow.env)  # where the count comes from
            before = len(traced.guards)
        values = evaluate(stmt.iterable, flow.env)
        if not isinstance(values, tuple):
            raise SpecError.at(
                stmt.iterable.span, f"'for' needs a list, got the {type_name(values)} {show(values)}"
            )
        group = self.graph.new_repeat_group()
        x = flow.x
        counted(group, count, before, x)
        for index, value in enumerate(values):
            charge(1, stmt.span)
            inner = dict(flow.env)
            if len(stmt.targets) == 1:
                inner[stmt.targets[0]] = loop_variable(group, value)
            else:
                inner.update(unpacked(stmt.targets, value, stmt.iterable.span))
            copy = Repeat(group=group, index=index, count=len(values))
            x = self.body(stmt.body, flow.container, inner, x, copy)
            copied(group, x)
        return x

    def residual(self, stmt: ast.ResidualStmt, flow: Flow) -> int:
        """The body plus the shortcut of the same input (by default the input itself)."""
        container, env, x, repeat = flow.container, flow.env, flow.x, flow.repeat
        if stmt.condition is not None and not self.truth(stmt.condition, env):
            return self.body(stmt.body, container, env, x, repeat)
        if stmt.shortcut_first:  # module order is the order a seed draws the weights in
            skip = self.shortcut_first(stmt.shortcut, flow)
            body_out = self.body(stmt.body, container, env, x, repeat)
        else:
            body_out = self.body(stmt.body, container, env, x, repeat)
            skip = self.shortcut(stmt.shortcut, flow, body_out)
        local = claim(container, None, env)
        layer = container.child_name(local)
        shape, skip_shape = self.graph.shape(body_out), self.graph.shape(skip)
        same_shapes(self.graph.env_shape(body_out), self.graph.env_shape(skip))
        if skip_shape != shape:
            raise SpecError.at(
                stmt.span,
                f"{layer}: residual: the body's output {format_shape(shape)} "
                f"does not match the shortcut's {format_shape(skip_shape)}",
                "add `shortcut: auto` for a 1x1 projection, or write the projection",
            )
        op = self.graph.make_op("add", {}, [body_out, skip], stmt.span, layer)
        return self.graph.add_node(container, local, op, [body_out, skip], stmt.span, repeat)

    def shortcut(self, shortcut: ast.Shortcut | None, flow: Flow, body_out: int) -> int:
        """The skip path's output: the input, a projection (``auto``), or the shortcut's body."""
        container, env, x, repeat = flow.container, flow.env, flow.x, flow.repeat
        if shortcut is None:
            return x
        if is_auto(shortcut.body):
            if same_shapes(self.graph.env_shape(x), self.graph.env_shape(body_out)):
                return x
            return self.projection(shortcut, flow, body_out)
        if shortcut.label is None:
            return self.body(shortcut.body, container, env, x, repeat)
        local = claim(container, shortcut.label, env)
        return self.sequence(local, shortcut.body, container, env, x, shortcut.span, repeat)

    def shortcut_first(self, shortcut: ast.Shortcut | None, flow: Flow) -> int:
        """A shortcut written first in the residual's body, made before the body."""
        assert shortcut is not None
        if is_auto(shortcut.body):
            auto = shortcut.body[0]
            raise SpecError.at(
                auto.items[0].span if isinstance(auto, ast.ChainStmt) else shortcut.span,
                "`shortcut: auto` cannot come first in a residual: the projection follows from the "
                "body's output, which is not made yet",
                "write the projection (`shortcut: conv(out, 1, stride=s, bias=false) >> batchnorm`), "
                "or move `shortcut: auto` after the body",
            )
        return self.shortcut(shortcut, flow, flow.x)

    def projection(self, shortcut: ast.Shortcut, flow: Flow, body_out: int) -> int:
        """`shortcut: auto` when the shapes differ: a 1x1 conv (with the body's stride) and batchnorm."""
        container, env, x, repeat = flow.container, flow.env, flow.x, flow.repeat
        source, target = self.graph.env_shape(x), self.graph.env_shape(body_out)
        local = claim(container, shortcut.label, env)
        name = container.child_name(local)
        if len(source) != 3 or len(target) != 3:
            raise SpecError.at(
                shortcut.span,
                f"{name}: shortcut auto can only project feature maps, not {format_shape(source)} "
                f"to {format_shape(target)}",
            )
        strides = []
        for size_in, size_out in zip(source[1:], target[1:], strict=True):
            stride = -(-size_in // size_out)
            if not same_shapes(((size_in - 1) // stride + 1,), (size_out,)):
                raise SpecError.at(
                    shortcut.span,
                    f"{name}: shortcut auto: no 1x1 stride maps {format_shape(source)} "
                    f"to {format_shape(target)}",
                )
            strides.append(stride)
        child = self.graph.open_sequence(local, container, x, shortcut.span, repeat)
        conv_args = {"out_channels": target[0], "kernel_size": 1, "stride": tuple(strides), "bias": False}
        conv_name = claim(child, None, env)
        conv = self.graph.make_op("conv", conv_args, [x], shortcut.span, child.child_name(conv_name))
        y = self.graph.add_node(child, conv_name, conv, [x], shortcut.span, repeat)
        norm_name = claim(child, None, env)
        norm = self.graph.make_op("batchnorm", {}, [y], shortcut.span, child.child_name(norm_name))
        out = self.graph.add_node(child, norm_name, norm, [y], shortcut.span, repeat)
        container.labels[local] = (out, shortcut.span)
        return out

    def merge(self, stmt: ast.MergeStmt, flow: Flow) -> int:
        """``concat:``/``add:``: each statement of the body a branch from the same input."""
        outputs = []
        for branch in stmt.body:
            if isinstance(branch, ast.Let | ast.Unpack):
                self.stmt(branch, flow)
                continue
            outputs.append(self.stmt(branch, flow))
        if len(outputs) < 2:
            raise SpecError.at(stmt.span, f"{stmt.op} needs at least two branches, got {len(outputs)}")
        local = claim(flow.container, None, flow.env)
        layer = flow.container.child_name(local)
        op = self.graph.make_op(stmt.op, {}, outputs, stmt.span, layer)
        return self.graph.add_node(flow.container, local, op, outputs, stmt.span, flow.repeat)

    def state(self, stmt: ast.StateStmt, flow: Flow) -> int:
        """``param``/``buffer``: a tensor of the enclosing module, named but taking no position (it is
        not a module); ``from NAME`` reads it, and the flow goes on past it."""
        container = flow.container
        if stmt.name in container.children:
            where = container.path or "the network"
            raise SpecError.at(stmt.name_span, f"duplicate layer name '{stmt.name}' in {where}")
        tracer = self.graph.tracer
        if tracer is None:
            op = state_op(stmt, flow.env, self.buffers)
        else:  # made again from its names' values
            env = flow.env
            used = {name.id: env[name.id] for name in state_names(stmt) if name.id in env}
            deps = deps_of(used)
            if stmt.kind == "buffer":
                # Its values are written in the file as numbers: computed (and cached) as ever, and
                # a parameter that changes its names' values is never an argument (``BufferChanged``).
                with untraced():
                    op = state_op(stmt, {**env, **plain(used)}, self.buffers)
                with tracer.buffer(True):
                    decide(used)
            else:
                op = state_op(stmt, env, self.buffers)
            tracer.made(op, lambda ctx: state_op(stmt, {**env, **value_at(used, ctx)}), deps)
        container.children.add(stmt.name)
        node = self.graph.add_node(container, stmt.name, op, [], stmt.span, flow.repeat)
        container.labels[stmt.name] = (node, stmt.span)
        return flow.x
