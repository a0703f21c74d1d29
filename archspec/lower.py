"""AST to IR: resolve names, evaluate arguments, pick a variant, expand blocks and repeats, infer shapes.

Lowering walks the layer body in order and builds the graph node by node. It infers shapes as it goes
because a spec may depend on them (a block reads ``in_channels``; ops infer ``in_features``), so every
node of the IR comes out with all of its fields resolved and its output shape known. Each node is named
by its hierarchical path (``layer1.0.conv1``); anonymous items get their position in the enclosing
sequence, like ``nn.Sequential``. Structural statements (``residual``, ``concat``, ``for``, ``if``, an
unnamed ``* n``) add no level of names: their items belong to the enclosing sequence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from archspec import ast
from archspec.errors import Diagnostic, SpecError, did_you_mean, quoted_list, spec_repr
from archspec.expr import BlockRef, Value, a_type, evaluate, show, type_name
from archspec.init_rules import lower_init
from archspec.ir import Graph, Metadata, Node, Repeat, ReportedResult, Scope
from archspec.label_text import block_label
from archspec.limits import MAX_BLOCK_DEPTH, MAX_INT, MAX_NESTING, MAX_NODES, budget, charge
from archspec.loader import FileScope, Program
from archspec.ops import OPS_BY_NAME, Op, OpError, Shape, format_shape
from archspec.ops.structure import Input
from archspec.python_text import python_expression
from archspec.source import Span

MAX_RANK = 8  # sizes of the input shape
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TEMPLATE_FIELD = re.compile(r"\{([^{}]*)\}")


@dataclass
class _Container:
    """A module being filled: the network, a block instance or a named sequence."""

    path: str
    input: int
    parent: _Container | None
    is_block: bool
    counter: int = 0
    inputs: tuple[int, ...] = ()  # a block's inputs (`Block() from a, b`); the first is `input`
    labels: dict[str, tuple[int, Span]] = field(default_factory=dict)
    children: set[str] = field(default_factory=set)

    def child_name(self, local: str) -> str:
        return f"{self.path}.{local}" if self.path else local


@dataclass
class _Call:
    """A block instantiation on the stack (for recursion errors)."""

    block: str
    span: Span


def unknown_op(call: ast.Call, candidates: Sequence[str]) -> Diagnostic:
    """The error for a call of an op or block that does not exist: a hint only for a near miss."""
    hint = did_you_mean(call.name, candidates)
    if hint is not None:
        return Diagnostic(f"unknown op or block '{call.name}'", call.span, hint)
    return Diagnostic(
        f"there is no op or block named '{call.name}'",
        call.span,
        "the ops are listed in docs/language.md#ops; a block must be defined in this file or imported",
    )


class _Lowerer:
    def __init__(self, program: Program, network_params: Mapping[str, Value] | None = None) -> None:
        self.program = program
        # Blocks see only their own parameters and the file's top-level names; these names are kept to
        # explain an "unknown name" inside a block that the network does define, and to find the layer
        # arguments computed from them (`formulas`).
        self.network_params: Mapping[str, Value] = network_params or {}
        self.nodes: list[Node] = []
        self.scopes: list[Scope] = []
        self.stack: list[_Call] = []
        self.repeat_groups = 0
        self.depth = 0  # bodies being elaborated, one inside the other
        self.last_span: Span | None = None  # the statement being elaborated, for a last-resort error

    # ------------------------------------------------------------ graph building
    def add_node(
        self,
        container: _Container,
        local: str,
        op: Op,
        inputs: Sequence[int],
        span: Span | None,
        repeat: Repeat | None = None,
        formulas: dict[str, str] | None = None,
    ) -> int:
        if len(self.nodes) > MAX_NODES:  # the input node is not a layer
            raise SpecError.at(span, f"the network has more than {MAX_NODES} layers")
        charge(1, span)
        shape = op.output_shape([self.nodes[i].shape for i in inputs])
        node = Node.model_construct(
            id=len(self.nodes),
            name=container.child_name(local),
            op=op,  # type: ignore[arg-type]  # every Op subclass is a member of the AnyOp union
            inputs=tuple(inputs),
            scope=container.path,
            shape=shape,
            repeat=repeat,
            span=span,
            formulas=formulas or None,
        )
        self.nodes.append(node)
        return node.id

    def shape(self, node_id: int) -> Shape:
        return self.nodes[node_id].shape

    def claim(self, container: _Container, label: ast.Label | None, env: Mapping[str, Value]) -> str:
        """The local name of the next item: its label, or its position. Checks for duplicates."""
        position = container.counter
        container.counter += 1
        local = str(position) if label is None else self.label_text(label, env)
        if local in container.children:
            where = container.path or "the network"
            raise SpecError.at(label.span if label else None, f"duplicate layer name '{local}' in {where}")
        container.children.add(local)
        return local

    def label_text(self, label: ast.Label, env: Mapping[str, Value]) -> str:
        text = label.text
        if label.template:

            def substitute(match: re.Match[str]) -> str:
                field = match.group(1).strip()
                if field.isidentifier():
                    if field not in env:
                        raise SpecError.at(
                            label.span,
                            f"unknown name '{field}' in the name template",
                            did_you_mean(field, env),
                        )
                    value = env[field]
                else:  # an expression: `"denselayer{j - 1}"`
                    from archspec.syntax import parse_expression  # Lark loads only when needed

                    try:
                        value = evaluate(parse_expression(field), env)
                    except SpecError as error:
                        message = error.diagnostics[0].message
                        raise SpecError.at(
                            label.span, f"{message} in the name template {{{field}}}"
                        ) from None
                return str(show(value) if not isinstance(value, str) else value)

            if "{" in _TEMPLATE_FIELD.sub("", text) or "}" in _TEMPLATE_FIELD.sub("", text):
                raise SpecError.at(label.span, f"unbalanced brace in the name template {spec_repr(text)}")
            text = _TEMPLATE_FIELD.sub(substitute, text)
        # torch names a module by any text without a dot: quoted labels may be `"block1-0"` or `"class"`
        # (the code generator writes such names through add_module/getattr)
        if not text or "." in text or not text.isprintable():
            shown = spec_repr(text)
            raise SpecError.at(
                label.span,
                f"layer name {shown} cannot name a module (a name is non-empty and printable, without '.')",
                "a dot separates the levels of a module path; write '_' or '-' instead"
                if "." in text
                else None,
            )
        return text

    # ------------------------------------------------------------ bodies
    def body(
        self,
        stmts: Sequence[ast.Stmt],
        container: _Container,
        env: dict[str, Value],
        x: int,
        repeat: Repeat | None = None,
    ) -> int:
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
                x = self.stmt(stmt, container, env, x, repeat)
            return x
        finally:
            self.depth -= 1

    def stmt(
        self, stmt: ast.Stmt, container: _Container, env: dict[str, Value], x: int, repeat: Repeat | None
    ) -> int:
        if isinstance(stmt, ast.Let):
            env[stmt.name] = evaluate(stmt.value, env)
            return x
        if isinstance(stmt, ast.ChainStmt):
            for item in stmt.items:
                x = self.item(item, container, env, x, repeat)
            return x
        if isinstance(stmt, ast.GroupStmt):
            local = self.claim(container, stmt.label, env)
            return self.sequence(local, stmt.body, container, env, x, stmt.label.span, repeat)
        if isinstance(stmt, ast.ForStmt):
            return self.for_loop(stmt, container, env, x)
        if isinstance(stmt, ast.IfStmt):
            for condition, branch in stmt.branches:
                if self.truth(condition, env):
                    return self.body(branch, container, env, x, repeat)
            return self.body(stmt.otherwise or (), container, env, x, repeat)
        if isinstance(stmt, ast.ResidualStmt):
            return self.residual(stmt, container, env, x, repeat)
        if isinstance(stmt, ast.MergeStmt):
            return self.merge(stmt, container, env, x, repeat)
        raise TypeError(f"unknown statement {stmt!r}")  # pragma: no cover

    def truth(self, expr: ast.Expr, env: Mapping[str, Value]) -> bool:
        value = evaluate(expr, env)
        if not isinstance(value, bool):
            raise SpecError.at(expr.span, f"a condition must be true or false, got {show(value)}")
        return value

    def open_sequence(
        self, local: str, container: _Container, x: int, span: Span, repeat: Repeat | None
    ) -> _Container:
        """A new named sequence inside ``container``, recorded as a scope of the IR."""
        child = _Container(container.child_name(local), x, container, is_block=False)
        self.scopes.append(Scope(name=child.path, kind="sequence", repeat=repeat, span=span))
        return child

    def sequence(
        self,
        local: str,
        stmts: Sequence[ast.Stmt],
        container: _Container,
        env: dict[str, Value],
        x: int,
        span: Span,
        repeat: Repeat | None,
    ) -> int:
        child = self.open_sequence(local, container, x, span, repeat)
        out = self.body(stmts, child, dict(env), x)
        container.labels[local] = (out, span)
        return out

    def for_loop(self, stmt: ast.ForStmt, container: _Container, env: dict[str, Value], x: int) -> int:
        values = evaluate(stmt.iterable, env)
        if not isinstance(values, tuple):
            raise SpecError.at(
                stmt.iterable.span, f"'for' needs a list, got the {type_name(values)} {show(values)}"
            )
        self.repeat_groups += 1
        group = self.repeat_groups
        for index, value in enumerate(values):
            charge(1, stmt.span)
            inner = dict(env)
            if len(stmt.targets) == 1:
                inner[stmt.targets[0]] = value
            else:
                if not isinstance(value, tuple) or len(value) != len(stmt.targets):
                    raise SpecError.at(
                        stmt.iterable.span,
                        f"cannot unpack {show(value)} into {len(stmt.targets)} names "
                        f"({', '.join(stmt.targets)})",
                    )
                inner.update(zip(stmt.targets, value, strict=True))
            x = self.body(stmt.body, container, inner, x, Repeat(group=group, index=index, count=len(values)))
        return x

    def residual(
        self,
        stmt: ast.ResidualStmt,
        container: _Container,
        env: dict[str, Value],
        x: int,
        repeat: Repeat | None,
    ) -> int:
        if stmt.condition is not None and not self.truth(stmt.condition, env):
            return self.body(stmt.body, container, env, x, repeat)
        body_out = self.body(stmt.body, container, env, x, repeat)
        skip = self.shortcut(stmt.shortcut, container, env, x, body_out, repeat)
        local = self.claim(container, None, env)
        self._pending_name = container.child_name(local)
        if self.shape(skip) != self.shape(body_out):
            raise SpecError.at(
                stmt.span,
                f"{self._pending_name}: residual: the body's output {format_shape(self.shape(body_out))} "
                f"does not match the shortcut's {format_shape(self.shape(skip))}",
                "add `shortcut: auto` for a 1x1 projection, or write the projection",
            )
        op = self.make_op("add", {}, [body_out, skip], stmt.span)
        return self.add_node(container, local, op, [body_out, skip], stmt.span, repeat)

    def shortcut(
        self,
        shortcut: ast.Shortcut | None,
        container: _Container,
        env: dict[str, Value],
        x: int,
        body_out: int,
        repeat: Repeat | None,
    ) -> int:
        if shortcut is None:
            return x
        if _is_auto(shortcut.body):
            if self.shape(x) == self.shape(body_out):
                return x
            return self.projection(shortcut, container, env, x, body_out, repeat)
        if shortcut.label is None:
            return self.body(shortcut.body, container, env, x, repeat)
        local = self.claim(container, shortcut.label, env)
        return self.sequence(local, shortcut.body, container, env, x, shortcut.span, repeat)

    def projection(
        self,
        shortcut: ast.Shortcut,
        container: _Container,
        env: dict[str, Value],
        x: int,
        body_out: int,
        repeat: Repeat | None,
    ) -> int:
        """`shortcut: auto` when the shapes differ: a 1x1 conv (with the body's stride) and batchnorm."""
        source, target = self.shape(x), self.shape(body_out)
        local = self.claim(container, shortcut.label, env)
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
            if (size_in - 1) // stride + 1 != size_out:
                raise SpecError.at(
                    shortcut.span,
                    f"{name}: shortcut auto: no 1x1 stride maps {format_shape(source)} "
                    f"to {format_shape(target)}",
                )
            strides.append(stride)
        child = self.open_sequence(local, container, x, shortcut.span, repeat)
        conv_args = {"out_channels": target[0], "kernel_size": 1, "stride": tuple(strides), "bias": False}
        conv_name = self.claim(child, None, env)
        self._pending_name = child.child_name(conv_name)
        conv = self.make_op("conv", conv_args, [x], shortcut.span)
        y = self.add_node(child, conv_name, conv, [x], shortcut.span, repeat)
        norm_name = self.claim(child, None, env)
        self._pending_name = child.child_name(norm_name)
        norm = self.make_op("batchnorm", {}, [y], shortcut.span)
        out = self.add_node(child, norm_name, norm, [y], shortcut.span, repeat)
        container.labels[local] = (out, shortcut.span)
        return out

    def merge(
        self, stmt: ast.MergeStmt, container: _Container, env: dict[str, Value], x: int, repeat: Repeat | None
    ) -> int:
        outputs = []
        for branch in stmt.body:
            if isinstance(branch, ast.Let):
                env[branch.name] = evaluate(branch.value, env)
                continue
            outputs.append(self.stmt(branch, container, env, x, repeat))
        if len(outputs) < 2:
            raise SpecError.at(stmt.span, f"{stmt.op} needs at least two branches, got {len(outputs)}")
        local = self.claim(container, None, env)
        self._pending_name = container.child_name(local)
        op = self.make_op(stmt.op, {}, outputs, stmt.span)
        return self.add_node(container, local, op, outputs, stmt.span, repeat)

    # ------------------------------------------------------------ items
    def item(
        self, item: ast.Item, container: _Container, env: dict[str, Value], x: int, repeat: Repeat | None
    ) -> int:
        inputs = [self.resolve_ref(ref, container, env) for ref in item.sources] if item.sources else [x]
        if item.repeat is None:
            local = self.claim(container, item.label, env) if self._makes_node(item) or item.label else None
            return self.atom(item.atom, local, container, env, inputs, repeat, item)
        count = evaluate(item.repeat, env)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise SpecError.at(
                item.repeat.span, f"a repeat count must be a non-negative integer, got {show(count)}"
            )
        if count > MAX_NODES or (
            isinstance(item.atom, ast.Call) and len(self.nodes) - 1 + count > MAX_NODES
        ):  # each copy of a layer or block is at least one layer: fail before making any
            message = f"a repeat count of {count} is over the limit of {MAX_NODES} layers"
            if count <= MAX_NODES:
                message += f" ({len(self.nodes) - 1} already made)"
            raise SpecError.at(item.repeat.span, message)
        self.repeat_groups += 1
        group = self.repeat_groups
        target = container
        if item.label is not None:
            local = self.claim(container, item.label, env)
            target = self.open_sequence(local, container, inputs[0], item.span, repeat)
        out = inputs[0]
        for index in range(count):
            charge(1, item.span)  # a copy that makes no layer still takes time
            copy_repeat = Repeat(group=group, index=index, count=count)
            before = len(self.nodes)
            out = self.atom(item.atom, self.claim(target, None, env), target, env, [out], copy_repeat, item)
            made = len(self.nodes) - before
            if index == 0 and made and len(self.nodes) - 1 + made * (count - 1) > MAX_NODES:
                # the copies are alike: fail now rather than after making thousands of layers
                raise SpecError.at(
                    item.repeat.span,
                    f"{count} copies of {made} layers are over the limit of {MAX_NODES} layers",
                )
        if item.label is not None:
            container.labels[target.path.rsplit(".", 1)[-1]] = (out, item.span)
        return out

    def _makes_node(self, item: ast.Item) -> bool:
        return not isinstance(item.atom, ast.InlineGroup)

    def atom(
        self,
        atom: ast.Call | ast.InlineGroup,
        local: str | None,
        container: _Container,
        env: dict[str, Value],
        inputs: list[int],
        repeat: Repeat | None,
        item: ast.Item,
    ) -> int:
        if isinstance(atom, ast.InlineGroup):
            stmts = (ast.ChainStmt(atom.items, atom.span),)
            if local is None:
                return self.body(stmts, container, env, inputs[0], repeat)
            return self.sequence(local, stmts, container, env, inputs[0], atom.span, repeat)
        assert local is not None
        block = self.find_block(atom, env)
        if block is not None:
            out = self.instantiate(block, atom, local, container, env, inputs[0], repeat, tuple(inputs))
        else:
            self._pending_name = container.child_name(local)
            op, formulas = self.op_from_call(atom, env, inputs)
            span = item.span if item.label else atom.span
            out = self.add_node(container, local, op, inputs, span, repeat, formulas)
        if item.label is not None or item.repeat is not None:
            container.labels[local] = (out, item.span)
        return out

    def find_block(self, call: ast.Call, env: Mapping[str, Value]) -> ast.BlockDef | None:
        if call.name in env:
            value = env[call.name]
            if isinstance(value, BlockRef):
                return self.block_named(value.name, call.span)
            if call.name not in OPS_BY_NAME:
                raise SpecError.at(
                    call.span, f"'{call.name}' is {a_type(value)} ({show(value)}), not a layer or a block"
                )
        return self.current_file().blocks.get(call.name)

    def block_named(self, name: str, span: Span) -> ast.BlockDef:
        block = self.current_file().blocks.get(name)
        if block is None:
            for scope in self.program.files.values():
                if name in scope.blocks:
                    return scope.blocks[name]
            raise SpecError.at(span, f"unknown block '{name}'")
        return block

    def current_file(self) -> FileScope:
        if self.stack:
            return self.program.files[self._current_block_path]
        return self.program.root

    _current_block_path: str = ""

    def resolve_ref(self, ref: ast.Ref, container: _Container, env: Mapping[str, Value]) -> int:
        if ref.template:  # `from "denselayer{j}"`: the name a template label makes
            ref = ast.Ref((self.label_text(ast.Label(ref.path[0], True, ref.span), env),), ref.span)
        if ref.index is not None:
            return self.block_input(ref, container)
        if ref.path == ("input",) and not ref.template:
            scope: _Container | None = container
            while scope is not None and not scope.is_block and scope.parent is not None:
                scope = scope.parent
            return scope.input if scope is not None else container.input
        head, *rest = ref.path
        scope = container
        visible: list[str] = []
        while scope is not None:
            if head in scope.labels:
                if rest:
                    name = ".".join((scope.child_name(head), *rest))
                    raise SpecError.at(
                        ref.span,
                        f"'{'.'.join(ref.path)}' is inside '{head}': a reference can name only earlier "
                        "layers of this sequence or of the sequences around it",
                        hint=f"give the layer you want a name at this level instead of '{name}'",
                    )
                return scope.labels[head][0]
            visible.extend(scope.labels)
            if scope.is_block:
                break
            scope = scope.parent
        where = "block" if scope is not None and scope.parent is not None else "network"
        raise SpecError.at(
            ref.span,
            f"unknown layer '{'.'.join(ref.path)}' "
            f"(a reference names an earlier named layer of this {where})",
            did_you_mean(head, visible),
        )

    def block_input(self, ref: ast.Ref, container: _Container) -> int:
        """``inputs[i]``: the i-th input of the enclosing block (``Block() from a, b``)."""
        scope: _Container | None = container
        while scope is not None and not scope.is_block:
            scope = scope.parent
        if ref.path != ("inputs",):
            raise SpecError.at(
                ref.span,
                f"'{ref.path[0]}[{ref.index}]': only a block's `inputs` can be indexed in a reference",
            )
        inputs = scope.inputs if scope is not None and scope.inputs else (scope.input if scope else 0,)
        if scope is None or scope.parent is None:
            raise SpecError.at(ref.span, "`inputs[i]` names the inputs of a block; the network has one input")
        assert ref.index is not None
        if ref.index >= len(inputs):
            count = f"{len(inputs)} input{'s' if len(inputs) != 1 else ''}"
            raise SpecError.at(
                ref.span, f"inputs[{ref.index}] does not exist: this block instance has {count}"
            )
        return inputs[ref.index]

    # ------------------------------------------------------------ ops and blocks
    def op_from_call(
        self, call: ast.Call, env: Mapping[str, Value], inputs: list[int]
    ) -> tuple[Op, dict[str, str]]:
        """The op a call makes, and the formulas of its arguments (``formulas``)."""
        if call.name == "auto":
            raise SpecError.at(
                call.span, "'auto' is only meaningful as a residual shortcut (`shortcut: auto`)"
            )
        op_class = OPS_BY_NAME.get(call.name)
        if op_class is None:
            raise SpecError([unknown_op(call, [*OPS_BY_NAME, *self.current_file().blocks])])
        names = op_class.spec_arguments()
        args: dict[str, Any] = {}
        spans: dict[str, Span] = {}
        written: dict[str, ast.Expr] = {}  # each argument's expression, by field
        if len(call.args) > len(names):
            allowed = (
                f"at most {len(names)} positional argument{'s' if len(names) > 1 else ''} "
                f"({', '.join(names)})"
                if names
                else "no arguments"
            )
            message = f"{call.name} takes {allowed}, got {len(call.args)}"
            raise SpecError.at(call.args[len(names)].span, message)
        for name, expr in zip(names, call.args, strict=False):
            args[name] = evaluate(expr, env)
            spans[name] = expr.span
            written[name] = expr
        for kw in call.kwargs:
            name = op_class.aliases.get(kw.name, kw.name)
            if name not in names:
                raise SpecError.at(
                    kw.span,
                    f"{call.name} has no argument '{kw.name}'",
                    did_you_mean(kw.name, [*names, *op_class.aliases])
                    or f"its arguments: {', '.join(names)}",
                )
            if name in args:
                raise SpecError.at(kw.span, f"{call.name} got argument '{kw.name}' twice")
            args[name] = evaluate(kw.value, env)
            spans[name] = kw.span
            written[name] = kw.value
        missing = [n for n in op_class.required_arguments() if n not in args]
        if missing:
            raise SpecError.at(
                call.span,
                self._of_layer(f"{call.name} needs {quoted_list(missing)}"),
                f"{call.name}({', '.join(names)})",
            )
        op = self.make_op(call.name, args, inputs, call.span, spans)
        return op, self.formulas(op, written, args, env)

    def _of_layer(self, message: str) -> str:
        """``message`` about the layer being made, prefixed with its dotted name as every error of its
        values is (``features.0: conv needs 'kernel_size'``). Errors in how the call is written (an
        unknown argument, too many) are not: ``archspec check`` finds those in block definitions, where
        a layer has no name yet, and reports them the same way."""
        return f"{self._pending_name}: {message}" if self._pending_name else message

    def formulas(
        self, op: Op, written: Mapping[str, ast.Expr], values: Mapping[str, Any], env: Mapping[str, Value]
    ) -> dict[str, str]:
        """The op's arguments that the spec computes from the network's parameters by arithmetic
        (ViT's ``length=(image_size // patch_size) ** 2 + 1``), as Python text over the parameters'
        names: the compiled source writes the formula, so that those parameters can be arguments of the
        network's class. Only outside blocks (a block sees its own parameters, not the network's).
        ``written`` and ``values``: each argument's expression and its value, by field."""
        if self.stack:
            return {}
        found = {}
        for field_name, expr in written.items():
            if isinstance(expr, ast.Name | ast.Literal):
                continue  # a bare parameter is its value in the generated file; a number is a number
            value = getattr(op, field_name, None)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            text = self._network_formula(expr, env)
            # The same value of the same type: `size / 2` is 16.0, which the op took as its 16.
            if text is not None and type(values[field_name]) is type(value) and values[field_name] == value:
                found[field_name] = text
        return found

    def _network_formula(self, expr: ast.Expr, env: Mapping[str, Value]) -> str | None:
        """``expr`` as Python text when it is arithmetic over numbers and at least one numeric parameter
        of the network (not a loop variable or a binding that shadows one); else None."""
        names: list[str] = []

        def parameter(name: ast.Name) -> str | None:
            value = env.get(name.id)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return None
            if name.id not in self.network_params or self.network_params[name.id] != value:
                return None
            names.append(name.id)
            return name.id

        text = python_expression(expr, parameter)
        return text if names else None  # `-1` is a number

    def make_op(
        self,
        name: str,
        args: dict[str, Any],
        inputs: Sequence[int],
        span: Span,
        spans: Mapping[str, Span] | None = None,
    ) -> Op:
        op_class = OPS_BY_NAME[name]
        count = len(inputs)
        if count < op_class.min_inputs or (op_class.max_inputs is not None and count > op_class.max_inputs):
            expected = (
                f"{op_class.min_inputs}"
                if op_class.max_inputs == op_class.min_inputs
                else f"at least {op_class.min_inputs}"
            )
            plural = "" if expected == "1" else "s"
            raise SpecError.at(span, f"{name} takes {expected} input{plural}, got {count}")
        shapes = [self.shape(i) for i in inputs]
        try:
            return op_class.create(args, shapes)
        except OpError as error:
            where = (spans or {}).get(error.argument or "", span)
            raise SpecError.at(where, self._of_layer(error.message), error.hint) from None

    _pending_name: str = ""

    def instantiate(
        self,
        block: ast.BlockDef,
        call: ast.Call,
        local: str,
        container: _Container,
        env: Mapping[str, Value],
        x: int,
        repeat: Repeat | None,
        inputs: tuple[int, ...] = (),
    ) -> int:
        if any(frame.block == block.name for frame in self.stack):
            start = next(i for i, frame in enumerate(self.stack) if frame.block == block.name)
            chain = " -> ".join([*(f.block for f in self.stack[start:]), block.name])
            raise SpecError.at(call.span, f"recursive block '{block.name}': {chain}")
        if len(self.stack) >= MAX_BLOCK_DEPTH:
            names = [f.block for f in self.stack]
            chain = " -> ".join([*names[:3], "…", *names[-2:], block.name])
            raise SpecError.at(call.span, f"blocks call each other more than {MAX_BLOCK_DEPTH} deep: {chain}")
        block_env = self.bind_block_arguments(block, call, env, x)
        block_env["in_shapes"] = tuple(self.shape(i) for i in inputs or (x,))
        path = container.child_name(local)
        child = _Container(path, x, container, is_block=True, inputs=inputs or (x,))
        text = call_text(block, call, block_env)
        self.scopes.append(
            Scope(
                name=path,
                kind="block",
                block=block.name,
                call=text,
                label=block_label(block, call, block_env),
                repeat=repeat,
                span=call.span,
            )
        )
        self.stack.append(_Call(block.name, call.span))
        saved = self._current_block_path
        self._current_block_path = block.path
        try:
            out = self.body(block.body, child, block_env, x)
        except SpecError as error:
            raise self._explain_network_names(error, block) from None
        finally:
            self._current_block_path = saved
            self.stack.pop()
        return out

    def _explain_network_names(self, error: SpecError, block: ast.BlockDef) -> SpecError:
        """An unknown name inside a block that is a network parameter gets a hint saying why."""
        first = error.diagnostics[0]
        for name in self.network_params:
            if first.message == f"unknown name '{name}'" and first.hint is None:
                hint = (
                    f"'{name}' is a parameter of the network; a block sees only its own parameters "
                    f"and the file's top-level names: add '{name}' to block {block.name}'s parameters"
                )
                rest = error.diagnostics[1:]
                return SpecError([Diagnostic(first.message, first.span, hint), *rest], error.sources)
        return error

    def bind_block_arguments(
        self, block: ast.BlockDef, call: ast.Call, env: Mapping[str, Value], x: int
    ) -> dict[str, Value]:
        names = [p.name for p in block.params]
        if len(call.args) > len(names):
            raise SpecError.at(
                call.span,
                f"block {block.name} takes {len(names)} argument{'' if len(names) == 1 else 's'} "
                f"({', '.join(names)}), got {len(call.args)}",
            )
        values: dict[str, Value] = {}
        for name, expr in zip(names, call.args, strict=False):
            values[name] = evaluate(expr, env)
        for kw in call.kwargs:
            if kw.name not in names:
                raise SpecError.at(
                    kw.span, f"block {block.name} has no parameter '{kw.name}'", did_you_mean(kw.name, names)
                )
            if kw.name in values:
                raise SpecError.at(kw.span, f"block {block.name} got parameter '{kw.name}' twice")
            values[kw.name] = evaluate(kw.value, env)
        file = self.program.files[block.path]
        block_env = file_environment(file)
        shape = self.shape(x)
        block_env["in_shape"] = shape
        block_env["in_channels"] = shape[0] if shape else 0
        for param in block.params:
            if param.name in values:
                block_env[param.name] = values[param.name]
            elif param.default is not None:
                block_env[param.name] = evaluate(param.default, block_env)
            else:
                raise SpecError.at(call.span, f"block {block.name} needs parameter '{param.name}'")
        return block_env


def call_text(block: ast.BlockDef, call: ast.Call, bound: Mapping[str, Value]) -> str:
    """``Inception(64, 96, 128, 16, 32, 32)``, ``Bottleneck(128, stride=2)``: the block call with its
    evaluated arguments, required ones by position, others by name where they differ from the default."""
    given = {kw.name for kw in call.kwargs} | {p.name for p in block.params[: len(call.args)]}
    parts = []
    for param in block.params:
        value = bound[param.name]
        if param.default is None:
            parts.append(show(value))
        elif param.name in given:
            try:
                default = evaluate(param.default, bound)
            except SpecError:  # a default that cannot be evaluated here: show the value given
                default = _NO_VALUE
            if value != default or type(value) is not type(default):
                parts.append(f"{param.name}={show(value)}")
    return f"{block.name}({', '.join(parts)})"


_NO_VALUE = object()


def _is_auto(stmts: Sequence[ast.Stmt]) -> bool:
    if len(stmts) != 1 or not isinstance(stmts[0], ast.ChainStmt) or len(stmts[0].items) != 1:
        return False
    item = stmts[0].items[0]
    return (
        isinstance(item.atom, ast.Call)
        and item.atom.name == "auto"
        and not item.atom.args
        and not item.atom.kwargs
        and item.label is None
        and item.repeat is None
        and not item.sources
    )


def file_environment(file: FileScope) -> dict[str, Value]:
    """Names visible everywhere in a file: its blocks (as values) and its top-level lets."""
    env: dict[str, Value] = {name: BlockRef(name) for name in file.blocks}
    for let in file.module.lets:
        env[let.name] = evaluate(let.value, env)
    return env


# ---------------------------------------------------------------- networks and variants


def network_of(program: Program) -> ast.NetworkDef:
    """The network a root file defines (exactly one)."""
    networks = program.root.module.networks
    path = program.root.module.path
    if not networks:
        if not program.root.module.blocks and not program.root.module.lets:
            raise SpecError.at(_file_start(path), "empty spec: a file needs a `network name:` section")
        raise SpecError.at(_file_start(path), "this file defines blocks but no `network name:` section")
    if len(networks) > 1:
        raise SpecError.at(networks[1].span, "one file defines one network; use variants for a family")
    return networks[0]


def _file_start(path: str) -> Span:
    return Span(path=path, line=1, column=1, end_line=1, end_column=2)


def variant_names(network: ast.NetworkDef) -> list[str]:
    """The variants a network defines, or its own name when it has none."""
    return [v.name for v in network.variants] or [network.name]


def parameters(
    program: Program, network: ast.NetworkDef, variant: str | None, overrides: Mapping[str, Value]
) -> tuple[str | None, dict[str, Value]]:
    """The variant chosen and the parameter values: defaults, then the variant's row, then overrides."""
    env = file_environment(program.root)
    values: dict[str, Value] = {}
    declared = {let.name: let for let in network.params}
    chosen = None
    if network.variants:
        names = [v.name for v in network.variants]
        if variant is None or variant == network.name:
            chosen = network.variants[0]
        else:
            chosen = next((v for v in network.variants if v.name == variant), None)
            if chosen is None:
                raise SpecError.at(
                    network.span,
                    f"network '{network.name}' has no variant '{variant}'",
                    did_you_mean(variant, names) or f"its variants: {', '.join(names)}",
                )
    elif variant not in (None, network.name):
        raise SpecError.at(network.span, f"network '{network.name}' has no variants (asked for '{variant}')")
    for row_variant in network.variants:  # every row, not only the chosen one: a typo is a typo
        for kw in row_variant.overrides:
            if kw.name not in declared:
                raise SpecError.at(
                    kw.span,
                    f"variant '{row_variant.name}' sets '{kw.name}', "
                    f"which is not a parameter of {network.name}",
                    did_you_mean(kw.name, declared) or f"its parameters: {', '.join(declared) or 'none'}",
                )
    row = {kw.name: kw for kw in chosen.overrides} if chosen is not None else {}
    for name in overrides:
        if name not in declared:
            raise SpecError.at(
                None,
                f"'{name}' is not a parameter of {network.name}",
                did_you_mean(name, declared) or f"its parameters: {', '.join(declared) or 'none'}",
            )
    for let in network.params:
        scope = {**env, **values}
        if let.name in overrides:
            value = overrides[let.name]
            if (
                isinstance(value, str)
                and let.name in values
                and isinstance(evaluate(let.value, scope), BlockRef)
            ):
                value = BlockRef(value)
            values[let.name] = _as_block(let.name, value, evaluate(let.value, scope), program)
        elif let.name in row:
            values[let.name] = evaluate(row[let.name].value, scope)
        else:
            values[let.name] = evaluate(let.value, scope)
    return (chosen.name if chosen else None), values


def _as_block(name: str, value: Value, default: Value, program: Program) -> Value:
    """An override given as a string for a block-valued parameter names the block."""
    if isinstance(default, BlockRef) and isinstance(value, str):
        if value not in program.root.blocks:
            raise SpecError.at(
                None,
                f"parameter '{name}' is a block, and there is no block '{value}'",
                did_you_mean(value, program.root.blocks) or f"the blocks: {', '.join(program.root.blocks)}",
            )
        return BlockRef(value)
    return value


def metadata(network: ast.NetworkDef, env: Mapping[str, Value], variant: str | None = None) -> Metadata:
    """The network's metadata section evaluated into a Metadata record (results: those of ``variant``)."""
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    known = set(Metadata.model_fields) - {"extra", "results"}
    for entry in network.meta:
        if entry.key == "reported" and isinstance(entry.value, tuple):
            fields["reported"], fields["results"] = _reported(network, entry.value, env, variant)
            continue
        value = _meta_value(entry, env)
        if entry.key in known:
            fields[entry.key] = value
        else:
            extra[entry.key] = value
    if isinstance(fields.get("authors"), str):
        fields["authors"] = (fields["authors"],)
    try:
        return Metadata(**fields, extra=extra)
    except ValidationError as error:  # a mistyped metadata value
        key = str(error.errors(include_url=False)[0]["loc"][0])
        entry = next(e for e in network.meta if e.key == key)
        got = "a group of entries" if isinstance(entry.value, tuple) else show(evaluate(entry.value, env))
        raise SpecError.at(
            entry.span, f"metadata '{key}' must be {_METADATA_TYPES.get(key, 'another type')}, got {got}"
        ) from None


_METADATA_TYPES = {
    "name": "a string",
    "title": "a string",
    "authors": "a string or a list of strings",
    "year": "an integer",
    "venue": "a string",
    "paper": "a string",
    "reported": "a group of `key: value` entries",
    "notes": "a string",
}


PER_VARIANT = "per_variant"


def _reported(
    network: ast.NetworkDef, entries: tuple[ast.MetaEntry, ...], env: Mapping[str, Value], variant: str | None
) -> tuple[dict[str, Any], tuple[ReportedResult, ...]]:
    """``reported``: network-wide figures (the paper's), and ``per_variant`` groups by origin.

    ``per_variant:`` holds one group per origin (``paper``, ``torchvision``), each with an optional
    ``source: "..."`` and a group of figures per variant name. The raw record keeps the network-wide
    entries; ``results`` holds what applies to ``variant`` (or to the network's own name).
    """
    raw: dict[str, Any] = {}
    results: list[ReportedResult] = []
    names = variant_names(network)
    chosen = variant or names[0]
    for entry in entries:
        if entry.key != PER_VARIANT:
            raw[entry.key] = _meta_value(entry, env)
            continue
        if not isinstance(entry.value, tuple):
            raise SpecError.at(entry.span, "reported 'per_variant' must be a group of origins (paper: ...)")
        for origin in entry.value:
            if not isinstance(origin.value, tuple):
                raise SpecError.at(
                    origin.span,
                    f"per_variant '{origin.key}' must be a group: `source:` and a group per variant",
                )
            source = None
            for item in origin.value:
                if item.key == "source" and not isinstance(item.value, tuple):
                    value = evaluate(item.value, env)
                    if not isinstance(value, str):
                        raise SpecError.at(item.span, f"source must be a string, got {show(value)}")
                    source = value
                    continue
                if item.key not in names:
                    raise SpecError.at(
                        item.span,
                        f"reported {origin.key} figures for '{item.key}', which is not a variant of "
                        f"{network.name}",
                        did_you_mean(item.key, names) or f"its variants: {', '.join(names)}",
                    )
                figures = _figures(item, env)
                if item.key == chosen:
                    results.append(ReportedResult(origin=origin.key, scope="variant", figures=figures))
            results = [
                r.model_copy(update={"source": source}) if r.origin == origin.key else r for r in results
            ]
    # Network-wide results: the error and accuracy figures among the plain entries (not params_millions).
    network_wide = {
        k: float(v)
        for k, v in raw.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and ("error" in k or "acc" in k)
    }
    if network_wide:
        results.append(ReportedResult(origin="paper", scope="network", figures=network_wide))
    return raw, tuple(results)


def _figures(entry: ast.MetaEntry, env: Mapping[str, Value]) -> dict[str, float]:
    if not isinstance(entry.value, tuple):
        raise SpecError.at(entry.span, f"figures of '{entry.key}' must be a group of `name: number` entries")
    figures = {}
    for item in entry.value:
        value = None if isinstance(item.value, tuple) else evaluate(item.value, env)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise SpecError.at(item.span, f"reported figure '{item.key}' must be a number")
        figures[item.key] = float(value)
    return figures


def _meta_value(entry: ast.MetaEntry, env: Mapping[str, Value]) -> Any:
    if isinstance(entry.value, tuple):
        return {child.key: _meta_value(child, env) for child in entry.value}
    return _jsonable(evaluate(entry.value, env))


def _jsonable(value: Value) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, BlockRef):
        return value.name
    return value


def input_shape(network: ast.NetworkDef, env: Mapping[str, Value], override: Shape | None) -> Shape:
    """The input shape: ``--input`` when given, else the network's ``input:`` entry."""
    if override is not None:
        if not override or any(not isinstance(d, int) or d <= 0 for d in override):
            raise SpecError.at(None, f"invalid input shape {override}: every size must be a positive integer")
        if len(override) > MAX_RANK or any(d > MAX_INT for d in override):
            raise SpecError.at(
                None, f"input shape of {len(override)} sizes: at most {MAX_RANK}, each at most 10**15"
            )
        return tuple(override)
    if network.input is None:
        raise SpecError.at(network.span, f"network '{network.name}' has no `input:` shape")
    value = evaluate(network.input, env)
    if (
        not isinstance(value, tuple)
        or not value
        or any(not isinstance(d, int) or isinstance(d, bool) or d <= 0 for d in value)
    ):
        raise SpecError.at(
            network.input.span, f"input must be a list of positive integers, got {show(value)}"
        )
    if len(value) > MAX_RANK:
        raise SpecError.at(network.input.span, f"input has {len(value)} sizes; the limit is {MAX_RANK}")
    return tuple(value)


def lower(
    program: Program,
    variant: str | None = None,
    overrides: Mapping[str, Value] | None = None,
    input_override: Shape | None = None,
) -> Graph:
    """Elaborate the program's network for one variant and parameter set into a shaped IR graph."""
    try:
        with budget():
            return _lower(program, variant, dict(overrides or {}), input_override)
    except SpecError as error:
        for path, text in program.sources.items():
            error.sources.setdefault(path, text)
        raise


def _lower(
    program: Program, variant: str | None, overrides: dict[str, Value], input_override: Shape | None
) -> Graph:
    network = network_of(program)
    chosen, params = parameters(program, network, variant, overrides)
    env = {**file_environment(program.root), **params}
    shape = input_shape(network, env, input_override)
    if network.layers is None:
        raise SpecError.at(network.span, f"network '{network.name}' has no `layers:` section")
    lowerer = _Lowerer(program, params)
    root = _Container("", 0, None, is_block=True)
    lowerer.scopes.append(Scope(name="", kind="network", span=network.span))
    root.children.add("input")
    x = lowerer.add_node(root, "input", Input(shape=shape), [], network.span)
    root.counter = 0
    try:
        out = lowerer.body(network.layers, root, env, x)
    except RecursionError:  # the limits above should make this unreachable; never a traceback
        raise SpecError.at(
            lowerer.last_span, "nested too deeply to elaborate (blocks, bodies and expressions)"
        ) from None
    init = lower_init(network.init, env, lowerer.nodes)
    # Every node and op was validated as it was made; the graph record needs no second pass.
    return Graph.model_construct(
        network=network.name,
        variant=chosen,
        source=program.root.module.path,
        params={k: _jsonable(v) for k, v in params.items()},
        metadata=metadata(network, env, chosen),
        input_shape=shape,
        scopes=tuple(lowerer.scopes),
        nodes=tuple(lowerer.nodes),
        output=out,
        init=init,
    )
