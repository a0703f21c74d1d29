"""Containers of the elaborated graph as emit IR (``emit_ir``): which step is a module, a parameter or
an expression in ``forward``; each module's constructor tree, with its formulas and `when built:` rules;
and ``forward``'s lines, with the names of its values.

A step of a container that is itself a generated class is written as a call of that class, which the
caller supplies (``ClassCall``: class recovery knows the class and its arguments); a chain of plain
modules stays an ``nn.Sequential`` (``is_sequential``) and is described in place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from archspec.backends.emit_ir import Built, Call, ClassShape, Expr, Forward, Line, Member, Sequential
from archspec.backends.plan import ContainerPlan, Step, module_lists
from archspec.backends.source_entry import Ctor, Formula
from archspec.backends.source_ops import source_op
from archspec.backends.source_tensor import batch_aware_inline, register_buffer
from archspec.backends.source_text import POSITION, atom, attribute_ok, check_local
from archspec.errors import UsageError
from archspec.init_rules import block_built_rules, built_rules
from archspec.ir import Graph, Node
from archspec.python_text import python_expression

if TYPE_CHECKING:
    from archspec.backends.exposed import Exposure

# How a container that is a generated class is constructed: the class and its arguments.
ClassCall = Callable[[ContainerPlan], Call]


class Describer:
    """Describes the containers of one graph (see the module docstring)."""

    def __init__(
        self, graph: Graph, root: ContainerPlan, inplace: set[int], rule_names: dict[int, str]
    ) -> None:
        self.graph = graph
        self.root = root
        self.inplace = inplace
        self.rule_names = rule_names
        # The network's parameters written as arguments, and where (``backends.exposed``): set before
        # any container is described.
        self.exposure: Exposure | None = None
        # What the file needs, gathered from every container described: the custom layers it copies,
        # and whether a named nn.Sequential needs `OrderedDict`.
        self.layers: set[str] = set()
        self.needs_ordered_dict = False
        self.computed_buffers = False  # a buffer out of the state dict: torch_layers' computed_buffer
        # scope -> its module lists (dotted labels): True for an nn.ModuleList, False for an nn.ModuleDict
        self.lists: dict[str, dict[str, bool]] = {
            c.scope.name: module_lists([s.local for s in c.steps]) for c in root.walk()
        }

    def is_sequential(self, plan: ContainerPlan) -> bool:
        """Whether a container is written as an ``nn.Sequential`` rather than as a class: a chain of
        plain modules, positional where it is a block (a named block reads better as its own class)."""
        if plan is self.root or not plan.is_chain or self.lists[plan.scope.name]:
            return False
        positional = [s.local for s in plan.steps] == [str(i) for i in range(len(plan.steps))]
        if plan.scope.kind == "block" and not positional:
            return False
        for step in plan.steps:
            if step.node is not None:
                entry = source_op(step.node.op)
                if not entry.is_module or not entry.called_plainly:
                    return False
        return True

    def inlined(self, step: Step) -> bool:
        """Whether a step is written as an expression in ``forward`` rather than held as a module.

        Ops without a module are always expressions. A parameter-free layer the spec names (``relu``,
        ``maxpool``, ``avgpool``, ``dropout``) stays a module under that name, as in the in-memory
        build and in torchvision, so hooks and ``create_feature_extractor`` find it; unnamed ones
        (positions such as ``2``) read better as functional calls.
        """
        node = step.node
        if node is None:
            return False
        entry = source_op(node.op)
        if not entry.is_module:
            return True
        return (
            entry.inline is not None
            and node.op.param_count() == 0
            and node.op.buffer_count() == 0
            and POSITION.match(step.local) is not None
        )

    def shape(self, plan: ContainerPlan, class_call: ClassCall) -> ClassShape:
        """The container as a class: a member per step, and ``forward``."""
        members = []
        made: set[str] = set()  # the module lists made so far
        where = plan.scope.name
        for index in plan.registration:  # __init__ in registration order (`order:`), forward in data flow
            step = plan.steps[index]
            node = step.node
            if node is not None and self.inlined(step):
                entry = source_op(node.op)
                if entry.parameter_source is not None:
                    if "." in step.local:
                        raise UsageError(
                            f"'{step.local}' in {where or 'the network'} is a parameter of its own: a "
                            "module list (a dotted label) holds modules; give it a name without a dot"
                        )
                    check_local(step.local, where)
                    value = self.call(entry.parameter_source(node.op), step)
                    if attribute_ok(step.local):
                        holder = (f"self.{step.local} = ", "")
                    else:
                        holder = (f"self.register_parameter({step.local!r}, ", ")")
                    members.append(Member(step.local, value, True, holder))
                elif entry.buffer_source is not None:
                    check_local(step.local, where)
                    line = register_buffer(step.local, node.op, entry.buffer_source(node.op))
                    self.computed_buffers |= line.startswith("computed_buffer(")
                    members.append(Member(step.local, None, fixed=line))
                else:
                    members.append(Member(step.local, None))
                continue
            expression = self.expression(step, class_call)
            lines = self.made_lists(step.local, where, made)
            members.append(Member(step.local, expression, False, self.assignment(step.local, where), lines))
        return ClassShape(tuple(members), self.forward(plan))

    def attr(self, name: str, where: str) -> str:
        """The expression of the layer ``name`` of the container ``where`` inside its class:
        ``self.conv1``, ``getattr(self, "block1-0")``, ``self.convs[0]`` in a module list."""
        head, *rest = name.split(".")
        check_local(head, where)
        text = f"self.{head}" if attribute_ok(head) else f"getattr(self, {head!r})"
        for depth, part in enumerate(rest, start=1):
            check_local(part, where)
            is_list = self.lists[where][".".join(name.split(".")[:depth])]
            text += f"[{part}]" if is_list else f"[{part!r}]"
        return text

    def made_lists(self, name: str, where: str, made: set[str]) -> tuple[str, ...]:
        """The lines of ``__init__`` that make the module lists a dotted name goes into (``made``: those
        made so far), each made where its first layer is, as the in-memory build registers them."""
        path = name.split(".")[:-1]
        lines = []
        for depth in range(1, len(path) + 1):
            prefix = ".".join(path[:depth])
            if prefix in made:
                continue
            made.add(prefix)
            before, after = self.assignment(prefix, where)
            kind = "nn.ModuleList()" if self.lists[where][prefix] else "nn.ModuleDict()"
            lines.append(before + kind + after)
        return tuple(lines)

    def assignment(self, name: str, where: str) -> tuple[str, str]:
        """What holds a value as the layer ``name``, around the value: ``self.conv1 = expr``,
        ``self.add_module("block1-0", expr)``, ``self.convs.append(expr)``."""
        if "." in name:
            owner, last = name.rsplit(".", 1)
            target = self.attr(owner, where)
            if self.lists[where][owner]:  # its entries come in order: 0, 1, 2...
                return f"{target}.append(", ")"
            check_local(last, where)
            return f"{target}[{last!r}] = ", ""
        check_local(name, where)
        if attribute_ok(name):
            return f"self.{name} = ", ""
        return f"self.add_module({name!r}, ", ")"

    def call(self, ctor: Ctor, step: Step) -> Call:
        """A layer's constructor, its formulas written out (``with_formulas``) and wrapped in
        ``built(init_rule, ...)`` for each `when built:` rule of it."""
        assert step.node is not None
        if self.exposure is not None:
            ctor = self.exposure.mark(ctor, step.node)
        ctor = self.with_formulas(ctor, step.node)
        for rule in built_rules(self.graph.init, step.node):
            name = self.rule_names[id(rule)]
            ctor = dataclasses.replace(ctor, callee=f"built({name}, {ctor.callee}", close=f"{ctor.close})")
        self.layers.update(ctor.layers)
        return Call(ctor.callee, ctor.args, ctor.close)

    def with_formulas(self, ctor: Ctor, node: Node) -> Ctor:
        """``ctor`` with each argument the spec computes from the network's parameters (``node.formulas``)
        written as its formula over their values, ``(224 // 16) ** 2 + 1`` rather than 197, an exposed
        parameter by its name (``(image_size // patch_size) ** 2 + 1``)."""
        if not node.formulas:
            return ctor
        exposed = set() if self.exposure is None else self.exposure.names
        args = []
        for arg in ctor.args:
            field = arg.hint or arg.keyword
            formula = node.formulas.get(field) if field is not None else None
            if formula is not None and arg.value == getattr(node.op, field or "", None):
                from archspec.syntax import parse_expression  # Lark loads only for such a network

                text = python_expression(
                    parse_expression(formula, f"{node.name}: {field}"),
                    lambda name: name.id if name.id in exposed else atom(self.graph.params[name.id]),
                )
                assert text is not None  # lowering wrote it from the same arithmetic
                arg = dataclasses.replace(arg, value=Formula(arg.value, text))
            args.append(arg)
        return dataclasses.replace(ctor, args=tuple(args))

    def expression(self, step: Step, class_call: ClassCall) -> Expr:
        """What constructs a step's module: its layer, an ``nn.Sequential``, or a generated class."""
        if step.node is not None:
            entry = source_op(step.node.op)
            assert entry.source is not None
            return self.call(entry.source(step.node.op, step.node.id in self.inplace), step)
        child = step.child
        assert child is not None
        made: Expr = self.container(child, class_call)
        for rule in block_built_rules(self.graph.init, child.scope):
            made = Built(self.rule_names[id(rule)], made)
        return made

    def container(self, child: ContainerPlan, class_call: ClassCall) -> Call | Sequential:
        """What constructs a child container: an ``nn.Sequential`` or its generated class."""
        if not self.is_sequential(child):
            return class_call(child)
        positional = [s.local for s in child.steps] == [str(i) for i in range(len(child.steps))]
        items = []
        for s in child.steps:
            check_local(s.local, child.scope.name)
            items.append(self.expression(s, class_call))
        if not positional:
            self.needs_ordered_dict = True
        group = child.loop_group
        count = None if self.exposure is None or group is None else self.exposure.loops.get(group)
        return Sequential(tuple(s.local for s in child.steps), tuple(items), positional, count)

    def forward(self, plan: ContainerPlan) -> Forward:
        """``forward``'s lines: each value named ``x`` while one reader at a time needs it, else
        ``h1``, ``h2``..."""
        last = len(plan.steps)
        readers: dict[int, list[int]] = {}
        for index, step in enumerate(plan.steps):
            for source in step.inputs:
                readers.setdefault(source, []).append(index)
        readers.setdefault(plan.output, []).append(last)
        names: dict[int, str] = {}
        x_busy_until = -1
        counter = 0

        arguments = []
        for position, value in enumerate(plan.inputs):
            uses = readers.get(value, [])
            if position == 0 and len(uses) == 1:
                names[value], x_busy_until = "x", uses[0]
            else:
                names[value] = "inp" if position == 0 else f"outer{position}"
            arguments.append(names[value])
        lines = []
        where = plan.scope.name
        for index, step in enumerate(plan.steps):
            if step.node is not None and step.node.op.state:  # a param or buffer: read where it is used
                names[step.output] = self.attr(step.local, where)
                continue
            inputs = [names[i] for i in step.inputs]
            expression = self.step_call(step, inputs, where)
            flag_only = (
                step.node is not None
                and self.inlined(step)
                and source_op(step.node.op).parameter_source is None
            )
            present = None if flag_only or not step.inputs else self.attr(step.local, where)
            uses = readers.get(step.output, [])
            if len(uses) == 1 and x_busy_until <= index:
                target, x_busy_until = "x", uses[0]
            else:
                counter += 1
                target = f"h{counter}"
            names[step.output] = target
            first_input = inputs[0] if inputs else ""
            lines.append(Line(target, expression, first_input, present, step.output, index))
        return Forward(tuple(arguments), tuple(lines), names[plan.output])

    def step_call(self, step: Step, inputs: Sequence[str], where: str) -> str:
        """A step's expression in ``forward``: its module called, or the op written inline."""
        node = step.node
        if node is None:
            assert step.child is not None
            return f"{self.attr(step.local, where)}({', '.join(inputs)})"
        entry = source_op(node.op)
        inplace = node.id in self.inplace
        if self.inlined(step):
            assert entry.inline is not None
            holds = entry.parameter_source is not None or entry.buffer_source is not None
            owner = self.attr(step.local, where) if holds else ""
            batched = [self.graph.nodes[i].batched for i in node.inputs]
            special = batch_aware_inline(node.op, inputs, batched, node.batched)
            return special or entry.inline(node.op, inputs, owner, inplace)
        return entry.call(self.attr(step.local, where), inputs)
