"""A recovered class (``class_recovery``) written as text, from its first instance's emit IR.

Each literal slot of the class's ``__init__`` is written as the constructor parameter that takes it, as
the local derived from one (``out_channels = width * 4``), or as its value, left out where it is the
argument's default. Chains of modules are written as ``nn.Sequential(...)``, runs of identical ones as
list comprehensions, numbered ones as a generator; the optional step of a class with a flag is written
as present only when the flag is set; ``forward`` has the output shape of each line as a comment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from archspec.backends.class_recovery import RecoveredClass
from archspec.backends.emit_ir import Built, Call, Expr, Forward, Line, Member, Named
from archspec.backends.exposed import Exposed
from archspec.backends.source_entry import NO_DEFAULT, Arg
from archspec.backends.source_text import (
    annotation,
    doc_text,
    docstring,
    literal,
    numbered,
    runs,
)
from archspec.ir import Graph
from archspec.ops import format_shape

# A literal argument's text, or None to leave it out.
Literal = Callable[[Arg], str | None]
# The network's parameters a generated class takes (``backends.exposed``), passed down by name.
Passed = Callable[[Named], list[str]]


def _none(cls: Named) -> list[str]:
    return []


def expression(expr: Expr, lit: Literal, indent: str, passed: Passed = _none) -> str:
    """A constructor tree as Python, each literal slot written by ``lit`` in order; a generated class
    is also given the network's parameters it takes (``passed``), first."""
    if isinstance(expr, Built):
        return f"built({expr.rule}, {expression(expr.item, lit, indent, passed)})"
    if isinstance(expr, Call):
        parts = [p for p in (lit(arg) for arg in expr.args) if p is not None]
        if expr.cls is not None:
            parts = [f"{name}={name}" for name in passed(expr.cls)] + parts
        callee = expr.cls.name if expr.cls is not None else expr.callee
        return f"{callee}({', '.join(parts)}){expr.close}"
    inner = indent + "    "
    expressions = [expression(item, lit, inner, passed) for item in expr.items]
    if expr.count is not None:
        # A loop's copies, its count a parameter of the network (``backends.exposed``): alike by
        # construction (the body does not read the count).
        if len(set(expressions)) != 1:
            raise AssertionError(f"the copies of a loop over {expr.count} are written differently")
        if expr.positional:
            return f"nn.Sequential(\n{inner}*[{expressions[0]} for _ in range({expr.count})],\n{indent})"
        pair = f'(f"{numbered(expr.names)}{{i}}", {expressions[0]}) for i in range({expr.count})'
        return f"nn.Sequential(OrderedDict(\n{inner}{pair}\n{indent}))"
    if expr.positional:
        # A run of identical modules (ResNet's `Bottleneck(1024, 256)` five times) as one loop, as
        # torchvision writes it; built in the same order, so the same numbers and names.
        lines = []
        for text, run in runs(expressions):
            lines.append(f"{inner}{text}," if run == 1 else f"{inner}*[{text} for _ in range({run})],")
        return "nn.Sequential(\n" + "\n".join(lines) + f"\n{indent})"
    prefix = numbered(expr.names)
    if prefix is not None and len(set(expressions)) == 1:
        # ViT's `encoder_layer_0` ... `encoder_layer_11`, all alike: one generator, as torchvision's
        # loop writes them (built in the same order: the same numbers).
        pair = f'(f"{prefix}{{i}}", {expressions[0]}) for i in range({len(expressions)})'
        return f"nn.Sequential(OrderedDict(\n{inner}{pair}\n{indent}))"
    lines = [f"{inner}({name!r}, {text})," for name, text in zip(expr.names, expressions, strict=True)]
    return "nn.Sequential(OrderedDict([\n" + "\n".join(lines) + f"\n{indent}]))"


def init_lines(
    members: tuple[Member, ...], lit: Literal, optional: tuple[int, str] | None, passed: Passed = _none
) -> list[str]:
    """``__init__``'s lines after ``super().__init__()``: one per member with a value; the optional
    step's (step index, flag) present only when the flag is set."""
    lines = []
    for index, member in enumerate(members):
        flag = optional[1] if optional is not None and optional[0] == index else None
        if member.fixed is not None:  # a buffer: never the optional step (that step has inputs)
            lines.append(member.fixed)
            continue
        if member.value is None:
            if flag is not None:
                lines.append(f"self.{flag} = {flag}")
            continue
        value = expression(member.value, lit, "        ", passed)
        if flag is not None:
            value = f"{value} if {flag} else None"
        lines += member.made
        lines.append(member.holder[0] + value + member.holder[1])
    return lines


def forward_lines(forward: Forward, graph: Graph, optional: tuple[int, str] | None) -> list[str]:
    """``forward`` with its signature, each line commented with its output's shape; the optional
    step's (step index, flag) value is its input where the instance lacks the step."""
    typed = ", ".join(f"{name}: torch.Tensor" for name in forward.arguments)
    lines = [f"def forward(self, {typed}) -> torch.Tensor:"]
    for line in forward.lines:
        text = line.expression
        if optional is not None and optional[0] == line.step:
            text = f"{text} if {_present(line, optional[1])} else {line.source}"
        lines.append(f"    {line.target} = {text}  # {format_shape(graph.nodes[line.output].shape)}")
    lines.append(f"    return {forward.result}")
    return lines


def _present(line: Line, flag: str) -> str:
    """The test of whether an instance has the optional step."""
    return f"self.{flag}" if line.present is None else f"{line.present} is not None"


def render_class(
    cls: RecoveredClass,
    graph: Graph,
    root: bool,
    takes: Sequence[Exposed] = (),
    passed: Passed = _none,
) -> list[str]:
    """The class's text: its docstring, ``__init__`` with its parameters, and ``forward``. ``takes``:
    the network's parameters it takes (``backends.exposed``), first, with their defaults in the
    network's class; ``passed``: those each generated class it constructs takes."""
    first = cls.instances[0]
    counter = 0

    def lit(arg: Arg) -> str | None:
        nonlocal counter
        slot, counter = counter, counter + 1
        # A parameter of the class, or a local derived from one (`out_channels = width * 4`).
        name = cls.params[cls.param_of_slot[slot]] if slot in cls.param_of_slot else None
        name = cls.derived_of_slot.get(slot, name)
        if name is not None:
            return f"{arg.keyword}={name}" if arg.keyword else name
        first_value = cls.slots[0][slot]
        assert first_value is not None  # the first instance has every step
        value = first_value.value
        if (
            arg.keyword is not None
            and arg.default is not NO_DEFAULT
            and literal(value) == literal(arg.default)
        ):
            return None
        return f"{arg.keyword}={literal(value)}" if arg.keyword else literal(value)

    optional = None if cls.optional is None else (cls.optional, cls.flag)
    # the members come in __init__'s (registration) order, the optional step is a step of data-flow order
    placed = None if optional is None else (cls.instances[0].registration.index(optional[0]), optional[1])
    init = init_lines(cls.shape.members, lit, placed, passed)
    forward = forward_lines(cls.shape.forward, graph, optional)
    if root:
        doc = f"{doc_text(graph.variant or graph.network)}: the whole network."
    else:
        kind = f"block {doc_text(first.scope.block)}" if first.scope.block else "sequence"
        in_order = sorted(cls.instances, key=lambda c: c.output)
        names = ", ".join(doc_text(c.scope.name) for c in in_order[:6])
        more = f" and {len(cls.instances) - 6} more" if len(cls.instances) > 6 else ""
        doc = f"The {kind} at {names}{more}."
        if len(cls.instances) > 1:
            doc += f" Shapes in comments are those of {doc_text(first.scope.name)}."
    params = ""
    for exposed in takes:
        params += f", {exposed.name}: {exposed.annotation}"
        params += f" = {exposed.default!r}" if root else ""
    for i, p in enumerate(cls.params):
        params += f", {p}: {annotation([cls.slot_of(i, k).value for k in range(len(cls.slots))])}"
        if cls.defaults[i] is not NO_DEFAULT:
            params += f" = {literal(cls.defaults[i])}"
    if cls.optional is not None:
        params += f", {cls.flag}: bool = False"
    lines = [
        f"class {cls.name}(nn.Module):",
        *docstring(doc, indent=4),
        "",
        f"    def __init__(self{params}) -> None:",
        "        super().__init__()",
    ]
    lines += [f"        {name} = {value}" for name, value in cls.derived]
    lines.extend(f"        {line}" for line in init)
    lines.append("")
    lines.extend(f"    {line}" for line in forward)
    return lines
