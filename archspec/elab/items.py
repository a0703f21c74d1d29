"""Lowering of items: a call of an op or a block, an inline group, a repeat (``* n``), with sources.

``ItemLowerer`` holds the state of one lowering (the graph being built and the blocks being elaborated);
``elab.statements`` adds the statements around the items.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from archspec import ast
from archspec.elab import memo, replay
from archspec.elab.binding import bind, op_signature, unknown_op
from archspec.elab.blocks import BlockStack, bind_block_arguments, call_text, explain_network_names, raise_it
from archspec.elab.formulas import formulas
from archspec.elab.graph import GraphBuilder, of_layer
from archspec.elab.names import Container, claim, resolve_sources
from archspec.elab.traced import active, copied, counted, decide
from archspec.errors import SpecError, quoted_list, used_at
from archspec.expr import Value, evaluate, show
from archspec.ir import Repeat, Scope
from archspec.label_text import block_label
from archspec.limits import MAX_NODES, charge, current_budget
from archspec.loader import Program
from archspec.ops import OPS_BY_NAME, Op
from archspec.source import Span


class ItemLowerer(ABC):
    """Items into nodes; the bodies they hold (groups, blocks) go to ``body`` and ``sequence``."""

    def __init__(self, program: Program, network_params: Mapping[str, Value]) -> None:
        self.program = program
        # Blocks see only their own parameters and the file's top-level names; these names are kept to
        # explain an "unknown name" inside a block that the network does define, and to find the layer
        # arguments computed from them (`formulas`).
        self.network_params = network_params
        self.graph = GraphBuilder()
        self.blocks = BlockStack(program)
        self.files = replay.program_key(program)  # block replay's key of the program (elab.replay)
        self.modules = tuple(scope.module for scope in program.files.values())  # (kept by the memos)
        self.depth = 0  # bodies being elaborated, one inside the other
        self.last_span: Span | None = None  # the statement being elaborated, for a last-resort error

    @abstractmethod
    def body(
        self,
        stmts: Sequence[ast.Stmt],
        container: Container,
        env: dict[str, Value],
        x: int,
        repeat: Repeat | None = None,
    ) -> int:
        """Lower statements in order from ``x``; the last output."""

    @abstractmethod
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

    def item(
        self, item: ast.Item, container: Container, env: dict[str, Value], x: int, repeat: Repeat | None
    ) -> int:
        """One item of a chain, from ``x`` or from its sources; its output."""
        inputs = resolve_sources(item.sources, container, env) if item.sources else [x]
        if not inputs:
            raise SpecError.at(
                item.sources[0].span,
                "the list of references names no layer: its loop has no values",
                "a layer reads at least one input: add one before the list, `from input, [...]`",
            )
        if item.repeat is None:
            makes_node = not isinstance(item.atom, ast.InlineGroup)
            local = claim(container, item.label, env) if makes_node or item.label else None
            return self.atom(item.atom, local, container, env, inputs, repeat, item)
        count = evaluate(item.repeat, env)
        traced = active()
        before = 0 if traced is None else len(traced.guards)
        decide(count)  # the number of copies: found by elaborating again
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise SpecError.at(
                item.repeat.span, f"a repeat count must be a non-negative integer, got {show(count)}"
            )
        nodes = self.graph.nodes
        if isinstance(item.atom, ast.Call):
            self.graph.reach = max(self.graph.reach, len(nodes) - 1 + count)
        if count > MAX_NODES or (
            isinstance(item.atom, ast.Call) and len(nodes) - 1 + count > MAX_NODES
        ):  # each copy of a layer or block is at least one layer: fail before making any
            message = f"a repeat count of {count} is over the limit of {MAX_NODES} layers"
            if count <= MAX_NODES:
                message += f" ({len(nodes) - 1} already made)"
            raise SpecError.at(item.repeat.span, message)
        group = self.graph.new_repeat_group()
        target, local = container, None
        if item.label is not None:
            local = claim(container, item.label, env)
            target = self.graph.open_sequence(local, container, inputs[0], item.span, repeat)
        out = inputs[0]
        counted(group, count, before, out)
        for index in range(count):
            charge(1, item.span)  # a copy that makes no layer still takes time
            copy_repeat = Repeat(group=group, index=index, count=count)
            before = len(nodes)
            out = self.atom(item.atom, claim(target, None, env), target, env, [out], copy_repeat, item)
            copied(group, out)
            made = len(nodes) - before
            if index == 0 and made:
                self.graph.reach = max(self.graph.reach, len(nodes) - 1 + made * (count - 1))
            if index == 0 and made and len(nodes) - 1 + made * (count - 1) > MAX_NODES:
                # the copies are alike: fail now rather than after making thousands of layers
                raise SpecError.at(
                    item.repeat.span,
                    f"{count} copies of {made} layers are over the limit of {MAX_NODES} layers",
                )
        if local is not None:
            container.labels[local] = (out, item.span)
        return out

    def atom(
        self,
        atom: ast.Call | ast.InlineGroup,
        local: str | None,
        container: Container,
        env: dict[str, Value],
        inputs: list[int],
        repeat: Repeat | None,
        item: ast.Item,
    ) -> int:
        """A call or an inline group named ``local`` (None: an unnamed group); its output."""
        if isinstance(atom, ast.InlineGroup):
            stmts = (ast.ChainStmt(atom.items, atom.span),)
            if local is None:
                return self.body(stmts, container, env, inputs[0], repeat)
            return self.sequence(local, stmts, container, env, inputs[0], atom.span, repeat)
        assert local is not None
        block = self.blocks.find_block(atom, env)
        if block is not None:
            out = self.instantiate(block, atom, local, container, env, inputs[0], repeat, tuple(inputs))
        else:
            layer = container.child_name(local)
            listed = any(isinstance(source, ast.RefList) for source in item.sources)
            op, found = memo.memoized(
                self._op_key(atom, env, inputs, listed),
                (atom, *self.modules),
                lambda: self.op_from_call(atom, env, inputs, layer, listed),
            )
            span = item.span if item.label else atom.span
            out = self.graph.add_node(container, local, op, inputs, span, repeat, found)
        if item.label is not None or item.repeat is not None:
            container.labels[local] = (out, item.span)
        return out

    def op_from_call(
        self, call: ast.Call, env: Mapping[str, Value], inputs: list[int], layer: str, listed: bool = False
    ) -> tuple[Op, dict[str, str]]:
        """The op a call makes as the layer ``layer``, and the formulas of its arguments (``listed``: its
        inputs come from a list of references)."""
        if call.name == "auto":
            raise SpecError.at(
                call.span, "'auto' is only meaningful as a residual shortcut (`shortcut: auto`)"
            )
        op_class = OPS_BY_NAME.get(call.name)
        if op_class is None:
            raise SpecError([unknown_op(call, [*OPS_BY_NAME, *self.blocks.current_file().blocks])])
        signature = op_signature(call.name, op_class)

        def value(expr: ast.Expr) -> Value:
            return evaluate(expr, env)

        bound = bind(signature, call, value, raise_it)
        args: dict[str, Any] = {name: arg.value for name, arg in bound.items()}
        missing = [n for n in op_class.required_arguments() if n not in args]
        if missing:
            raise SpecError.at(
                call.span,
                of_layer(layer, f"{call.name} needs {quoted_list(missing)}"),
                f"{call.name}({', '.join(signature.params)})",
            )
        spans = {name: arg.span for name, arg in bound.items()}
        op = self.graph.make_op(call.name, args, inputs, call.span, layer, spans, listed)
        if self.blocks:  # a block sees its own parameters, not the network's
            return op, {}
        written = {name: arg.expr for name, arg in bound.items()}
        return op, formulas(op, written, args, env, self.network_params)

    def _op_key(self, call: ast.Call, env: Mapping[str, Value], inputs: list[int], listed: bool) -> Any:
        """What ``op_from_call`` reads (``elab.memo``): the call, the program's files, the values of the
        names its arguments read (and whether each is the network's parameter of the same value, for
        its formulas), its inputs' shapes, batch axes and integer dtypes; None where not keyed."""
        if self.graph.tracer is not None:  # a traced elaboration records each op's origins as it makes it
            return None
        names = memo.reads(call)
        try:
            values = memo.values_key(names, env)
            params = memo.values_key(names, self.network_params)
        except memo.Unkeyed:
            return None
        nodes = self.graph.nodes
        facts = tuple((nodes[i].shape, nodes[i].batched, self.graph.integer(i)) for i in inputs)
        return ("op", id(call), self.files, values, params, facts, listed, bool(self.blocks))

    def _instance_key(
        self, block: ast.BlockDef, call: ast.Call, env: Mapping[str, Value], inputs: tuple[int, ...]
    ) -> Any:
        """What a block instance's environment, call text and label are made from (``elab.memo``): the
        block, the call, the program's files, the values of the names the call reads and its inputs'
        shapes; None where not keyed."""
        if self.graph.tracer is not None:
            return None
        try:
            values = memo.values_key(memo.reads(call), env)
        except memo.Unkeyed:
            return None
        shapes = tuple(self.graph.nodes[i].shape for i in inputs)
        return ("instance", id(call), id(block), self.files, values, shapes)

    def instantiate(
        self,
        block: ast.BlockDef,
        call: ast.Call,
        local: str,
        container: Container,
        env: Mapping[str, Value],
        x: int,
        repeat: Repeat | None,
        inputs: tuple[int, ...] = (),
    ) -> int:
        """An instance of ``block`` named ``local``, from ``x`` (and its other ``inputs``); its output."""
        self.blocks.check(block, call)

        def bound() -> tuple[dict[str, Value], str, str, Any]:
            block_env = bind_block_arguments(self.program, block, call, env, self.graph.env_shape(x))
            block_env["in_shapes"] = tuple(self.graph.env_shape(i) for i in inputs or (x,))
            text, label = call_text(block, call, block_env), block_label(block, call, block_env)
            return block_env, text, label, replay.env_key(block_env)

        key = self._instance_key(block, call, env, inputs or (x,))
        bound_env, text, label, values = memo.memoized(key, (call, block, *self.modules), bound)
        block_env = dict(bound_env)  # (the body adds its own names)
        path = container.child_name(local)
        child = Container(path, x, container, is_block=True, inputs=inputs or (x,))
        self.graph.scopes.append(
            Scope(
                name=path,
                kind="block",
                block=block.name,
                call=text,
                label=label,
                repeat=repeat,
                span=call.span,
                order=tuple(name.text for name in block.order),
            )
        )
        inputs = inputs or (x,)
        graph, budget = self.graph, current_budget()
        around = tuple(frame.block for frame in self.blocks.frames)
        # A traced elaboration (elab.origins) records every node's origins as it makes it: a replayed
        # copy would carry none, so it elaborates each instance afresh.
        traced = graph.tracer is not None
        key = (
            None
            if traced
            else replay.template_key(block, self.files, around, self.depth, values, inputs, graph)
        )
        template = replay.find(key, block)
        if template is not None and replay.fits(template, graph, budget):
            self.last_span = template.last_span
            return replay.replay(template, graph, path, inputs, budget)
        start = (len(graph.nodes), len(graph.scopes), graph.repeat_groups)
        steps, reach = budget.left if budget is not None else 0, graph.reach
        graph.reach = 0
        self.blocks.enter(block, call)
        try:
            out = self.body(block.body, child, block_env, x)
        except SpecError as error:
            error = explain_network_names(error, block, self.network_params)
            raise used_at(error, call.span, block.name, block.span, path) from None  # caret on the use
        finally:
            self.blocks.leave()
        if key is not None:
            steps -= budget.left if budget is not None else 0
            made = replay.record(
                block, self.program, path, inputs, graph, start, steps, graph.reach, out, self.last_span
            )
            if made is not None:
                replay.store(key, made)
        graph.reach = max(reach, graph.reach)
        return out
