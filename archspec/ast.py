"""The abstract syntax tree: small immutable classes, each with the span of its source text.

The parser (``archspec.syntax``) builds these; the lowering (``archspec.lower``) consumes them.

The classes are plain classes with a written ``__init__``, not dataclasses: ``@dataclass`` compiles each
generated method of each class when the module loads (``exec`` of its text), which cost about a tenth of
a whole ``archspec analyze vgg16`` process (docs/benchmarks.md, "Start-up against the floor"); a written
method is compiled once, into the module's cached bytecode. What the dataclasses gave is kept: a node's
fields are its class's annotations, in order (``fields``); they are set once, by ``__init__``, and an
assignment or deletion afterwards raises ``FrozenInstanceError``; equality, hashing and the repr are by
class and fields, as a frozen dataclass's; ``replace`` is ``dataclasses.replace``.
``tests/test_ast_nodes.py`` checks each ``__init__`` against its class's annotations.
"""

from __future__ import annotations

import builtins
import inspect
from dataclasses import FrozenInstanceError
from typing import Any, ClassVar, TypeVar

from archspec.source import Span

# Sets a field in __init__ past Node's guard, as a frozen dataclass's __init__ does.
_set = object.__setattr__


class Node:
    """The base of every node: its fields (``_fields``, the class's annotations in order), the guards
    against assignment, and equality, hashing and repr by class and fields, defined once."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Annotations are strings here (postponed), so this evaluates none of them.
        cls._fields = tuple(inspect.get_annotations(cls))

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self), *self.__dict__.values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.__dict__.items())
        return f"{type(self).__name__}({fields})"


N = TypeVar("N", bound=Node)


def fields(node: Node) -> tuple[str, ...]:
    """The names of a node's fields, in order (``dataclasses.fields``' names)."""
    return node._fields


def replace(node: N, **changes: Any) -> N:
    """A copy of ``node`` with the fields named in ``changes`` replaced (``dataclasses.replace``)."""
    values = {name: changes.pop(name) if name in changes else node.__dict__[name] for name in node._fields}
    if changes:
        raise TypeError(f"{type(node).__name__} has no field {', '.join(map(repr, changes))}")
    return type(node)(**values)


# ---------------------------------------------------------------- expressions


class Literal(Node):
    """A number, string, boolean or ``none``."""

    value: Any
    span: Span

    def __init__(self, value: Any, span: Span) -> None:
        _set(self, "value", value)
        _set(self, "span", span)


class Name(Node):
    """A reference to a parameter, a local binding, a loop variable or a block."""

    id: str
    span: Span

    def __init__(self, id: str, span: Span) -> None:
        _set(self, "id", id)
        _set(self, "span", span)


class ListExpr(Node):
    """``[a, b, c]`` (``tuple`` is True for ``(a, b)``)."""

    items: tuple[Expr, ...]
    span: Span
    tuple: bool

    # The field `tuple` shadows the builtin in the class's scope, where the signature is read.
    def __init__(self, items: builtins.tuple[Expr, ...], span: Span, tuple: bool = False) -> None:
        _set(self, "items", items)
        _set(self, "span", span)
        _set(self, "tuple", tuple)


class ListComp(Node):
    """``[element for a, b in iterable if condition]``."""

    element: Expr
    targets: tuple[str, ...]
    iterable: Expr
    condition: Expr | None
    span: Span

    def __init__(
        self, element: Expr, targets: tuple[str, ...], iterable: Expr, condition: Expr | None, span: Span
    ) -> None:
        _set(self, "element", element)
        _set(self, "targets", targets)
        _set(self, "iterable", iterable)
        _set(self, "condition", condition)
        _set(self, "span", span)


class BinaryOp(Node):
    """``left op right`` for arithmetic (``+ - * / // % **``)."""

    op: str
    left: Expr
    right: Expr
    span: Span

    def __init__(self, op: str, left: Expr, right: Expr, span: Span) -> None:
        _set(self, "op", op)
        _set(self, "left", left)
        _set(self, "right", right)
        _set(self, "span", span)


class UnaryOp(Node):
    """``-x`` or ``not x``."""

    op: str
    operand: Expr
    span: Span

    def __init__(self, op: str, operand: Expr, span: Span) -> None:
        _set(self, "op", op)
        _set(self, "operand", operand)
        _set(self, "span", span)


class Compare(Node):
    """A comparison chain ``a < b <= c``."""

    first: Expr
    rest: tuple[tuple[str, Expr], ...]
    span: Span

    def __init__(self, first: Expr, rest: tuple[tuple[str, Expr], ...], span: Span) -> None:
        _set(self, "first", first)
        _set(self, "rest", rest)
        _set(self, "span", span)


class BoolOp(Node):
    """``a and b and c`` / ``a or b``."""

    op: str
    values: tuple[Expr, ...]
    span: Span

    def __init__(self, op: str, values: tuple[Expr, ...], span: Span) -> None:
        _set(self, "op", op)
        _set(self, "values", values)
        _set(self, "span", span)


class Conditional(Node):
    """``then if condition else otherwise``."""

    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span

    def __init__(self, condition: Expr, then: Expr, otherwise: Expr, span: Span) -> None:
        _set(self, "condition", condition)
        _set(self, "then", then)
        _set(self, "otherwise", otherwise)
        _set(self, "span", span)


class Subscript(Node):
    """``value[index]``."""

    value: Expr
    index: Expr
    span: Span

    def __init__(self, value: Expr, index: Expr, span: Span) -> None:
        _set(self, "value", value)
        _set(self, "index", index)
        _set(self, "span", span)


class Slice(Node):
    """``value[start:stop:step]``, each bound optional (None), as Python's slices."""

    value: Expr
    start: Expr | None
    stop: Expr | None
    step: Expr | None
    span: Span

    def __init__(
        self, value: Expr, start: Expr | None, stop: Expr | None, step: Expr | None, span: Span
    ) -> None:
        _set(self, "value", value)
        _set(self, "start", start)
        _set(self, "stop", stop)
        _set(self, "step", step)
        _set(self, "span", span)


class Keyword(Node):
    """``name=value`` in a call or a variant row."""

    name: str
    value: Expr
    span: Span

    def __init__(self, name: str, value: Expr, span: Span) -> None:
        _set(self, "name", name)
        _set(self, "value", value)
        _set(self, "span", span)


class FuncCall(Node):
    """A call inside an expression: ``make_divisible(c * alpha, 8)``."""

    func: str
    args: tuple[Expr, ...]
    kwargs: tuple[Keyword, ...]
    span: Span

    def __init__(self, func: str, args: tuple[Expr, ...], kwargs: tuple[Keyword, ...], span: Span) -> None:
        _set(self, "func", func)
        _set(self, "args", args)
        _set(self, "kwargs", kwargs)
        _set(self, "span", span)


Expr = (
    Literal
    | Name
    | ListExpr
    | ListComp
    | BinaryOp
    | UnaryOp
    | Compare
    | BoolOp
    | Conditional
    | Subscript
    | Slice
    | FuncCall
)

# ---------------------------------------------------------------- layer bodies


class Label(Node):
    """An item's name: an identifier, or a template string such as ``"encoder_layer_{i}"``."""

    text: str
    template: bool
    span: Span

    def __init__(self, text: str, template: bool, span: Span) -> None:
        _set(self, "text", text)
        _set(self, "template", template)
        _set(self, "span", span)


class Ref(Node):
    """A reference to an earlier layer's output (``from stem``, ``from input``, ``from "layer{i}"``: a
    template, filled in as a label's is)."""

    path: tuple[str, ...]
    span: Span
    template: bool
    index: int | None  # `from inputs[1]`: one of a block's inputs

    def __init__(
        self, path: tuple[str, ...], span: Span, template: bool = False, index: int | None = None
    ) -> None:
        _set(self, "path", path)
        _set(self, "span", span)
        _set(self, "template", template)
        _set(self, "index", index)


class RefList(Node):
    """References made by a loop: ``from ["branch{i}" for i in range(4) if i != 2]``, one template
    reference a value of the loop, filled in with the loop's names."""

    template: Ref
    targets: tuple[str, ...]
    iterable: Expr
    condition: Expr | None
    span: Span

    def __init__(
        self, template: Ref, targets: tuple[str, ...], iterable: Expr, condition: Expr | None, span: Span
    ) -> None:
        _set(self, "template", template)
        _set(self, "targets", targets)
        _set(self, "iterable", iterable)
        _set(self, "condition", condition)
        _set(self, "span", span)


class Call(Node):
    """An op or block applied in a layer body: ``conv(64, 3, pad=1)``, ``relu``, ``Bottleneck(64)``."""

    name: str
    args: tuple[Expr, ...]
    kwargs: tuple[Keyword, ...]
    span: Span

    def __init__(self, name: str, args: tuple[Expr, ...], kwargs: tuple[Keyword, ...], span: Span) -> None:
        _set(self, "name", name)
        _set(self, "args", args)
        _set(self, "kwargs", kwargs)
        _set(self, "span", span)


class InlineGroup(Node):
    """``(a >> b >> c)``: a group written on one line."""

    items: tuple[Item, ...]
    span: Span

    def __init__(self, items: tuple[Item, ...], span: Span) -> None:
        _set(self, "items", items)
        _set(self, "span", span)


class Item(Node):
    """One element of a chain: optional label, the call or group, optional repeat count and sources."""

    label: Label | None
    atom: Call | InlineGroup
    repeat: Expr | None
    sources: tuple[Ref | RefList, ...]
    span: Span

    def __init__(
        self,
        label: Label | None,
        atom: Call | InlineGroup,
        repeat: Expr | None,
        sources: tuple[Ref | RefList, ...],
        span: Span,
    ) -> None:
        _set(self, "label", label)
        _set(self, "atom", atom)
        _set(self, "repeat", repeat)
        _set(self, "sources", sources)
        _set(self, "span", span)


class Let(Node):
    """``name = expr``: a parameter default or a local binding."""

    name: str
    value: Expr
    span: Span

    def __init__(self, name: str, value: Expr, span: Span) -> None:
        _set(self, "name", name)
        _set(self, "value", value)
        _set(self, "span", span)


class Unpack(Node):
    """``a, b, c = value``: one local binding per element of a list."""

    targets: tuple[str, ...]
    value: Expr
    span: Span

    def __init__(self, targets: tuple[str, ...], value: Expr, span: Span) -> None:
        _set(self, "targets", targets)
        _set(self, "value", value)
        _set(self, "span", span)


class ChainStmt(Node):
    """A line of items joined by ``>>``; the same as writing them on consecutive lines. ``merge``: a
    ``concat:``/``add:``/``mul:`` the chain ends in, whose branches start from the chain's output."""

    items: tuple[Item, ...]
    span: Span
    merge: MergeStmt | None

    def __init__(self, items: tuple[Item, ...], span: Span, merge: MergeStmt | None = None) -> None:
        _set(self, "items", items)
        _set(self, "span", span)
        _set(self, "merge", merge)


class GroupStmt(Node):
    """``name:`` and an indented body: a named sequence."""

    label: Label
    body: tuple[Stmt, ...]
    span: Span

    def __init__(self, label: Label, body: tuple[Stmt, ...], span: Span) -> None:
        _set(self, "label", label)
        _set(self, "body", body)
        _set(self, "span", span)


class ForStmt(Node):
    """``for a, b in expr:``: the body once per element, spliced into the enclosing sequence."""

    targets: tuple[str, ...]
    iterable: Expr
    body: tuple[Stmt, ...]
    span: Span

    def __init__(self, targets: tuple[str, ...], iterable: Expr, body: tuple[Stmt, ...], span: Span) -> None:
        _set(self, "targets", targets)
        _set(self, "iterable", iterable)
        _set(self, "body", body)
        _set(self, "span", span)


class IfStmt(Node):
    """``if``/``elif``/``else``: the first body whose condition holds (or none)."""

    branches: tuple[tuple[Expr, tuple[Stmt, ...]], ...]
    otherwise: tuple[Stmt, ...] | None
    span: Span

    def __init__(
        self,
        branches: tuple[tuple[Expr, tuple[Stmt, ...]], ...],
        otherwise: tuple[Stmt, ...] | None,
        span: Span,
    ) -> None:
        _set(self, "branches", branches)
        _set(self, "otherwise", otherwise)
        _set(self, "span", span)


class Shortcut(Node):
    """The skip path of a residual: ``auto``, a chain, or a body; optionally named."""

    label: Label | None
    body: tuple[Stmt, ...]
    span: Span

    def __init__(self, label: Label | None, body: tuple[Stmt, ...], span: Span) -> None:
        _set(self, "label", label)
        _set(self, "body", body)
        _set(self, "span", span)


class ResidualStmt(Node):
    """``residual [if cond]:`` body ``+`` shortcut(input)."""

    condition: Expr | None
    body: tuple[Stmt, ...]
    shortcut: Shortcut | None
    span: Span
    shortcut_first: bool  # written first in the body: its modules come before the body's

    def __init__(
        self,
        condition: Expr | None,
        body: tuple[Stmt, ...],
        shortcut: Shortcut | None,
        span: Span,
        shortcut_first: bool = False,
    ) -> None:
        _set(self, "condition", condition)
        _set(self, "body", body)
        _set(self, "shortcut", shortcut)
        _set(self, "span", span)
        _set(self, "shortcut_first", shortcut_first)


class MergeStmt(Node):
    """``concat:`` or ``add:``: each statement of the body is a branch from the same input."""

    op: str
    body: tuple[Stmt, ...]
    span: Span

    def __init__(self, op: str, body: tuple[Stmt, ...], span: Span) -> None:
        _set(self, "op", op)
        _set(self, "body", body)
        _set(self, "span", span)


class StateStmt(Node):
    """``param name: [d0, d1], init=...`` or ``buffer name: value, persistent=false, dtype=int64``: a
    tensor of the enclosing module (``kind`` is ``"param"`` or ``"buffer"``), named ``name``."""

    kind: str
    name: str
    value: Expr
    kwargs: tuple[Keyword, ...]
    span: Span
    name_span: Span

    def __init__(
        self, kind: str, name: str, value: Expr, kwargs: tuple[Keyword, ...], span: Span, name_span: Span
    ) -> None:
        _set(self, "kind", kind)
        _set(self, "name", name)
        _set(self, "value", value)
        _set(self, "kwargs", kwargs)
        _set(self, "span", span)
        _set(self, "name_span", name_span)


Stmt = Let | Unpack | ChainStmt | GroupStmt | ForStmt | IfStmt | ResidualStmt | MergeStmt | StateStmt

# ---------------------------------------------------------------- files


class Param(Node):
    """A block parameter with its optional default."""

    name: str
    default: Expr | None
    span: Span

    def __init__(self, name: str, default: Expr | None, span: Span) -> None:
        _set(self, "name", name)
        _set(self, "default", default)
        _set(self, "span", span)


class BlockDef(Node):
    """``block Name(params):``, its settings and its body."""

    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    span: Span
    path: str
    label: Label | None  # `label: "MBConv{t} k{k}×{k}"`: how drawings name an instance
    # `order: [qkv, proj]`: the layers registered first, in this order (module and state-dict order)
    order: tuple[Label, ...]

    def __init__(
        self,
        name: str,
        params: tuple[Param, ...],
        body: tuple[Stmt, ...],
        span: Span,
        path: str,
        label: Label | None = None,
        order: tuple[Label, ...] = (),
    ) -> None:
        _set(self, "name", name)
        _set(self, "params", params)
        _set(self, "body", body)
        _set(self, "span", span)
        _set(self, "path", path)
        _set(self, "label", label)
        _set(self, "order", order)


class Variant(Node):
    """A row of ``variants:``: a name and its parameter overrides."""

    name: str
    overrides: tuple[Keyword, ...]
    span: Span

    def __init__(self, name: str, overrides: tuple[Keyword, ...], span: Span) -> None:
        _set(self, "name", name)
        _set(self, "overrides", overrides)
        _set(self, "span", span)


class MetaEntry(Node):
    """``key: value`` metadata, or a nested group of them."""

    key: str
    value: Expr | tuple[MetaEntry, ...]
    span: Span

    def __init__(self, key: str, value: Expr | tuple[MetaEntry, ...], span: Span) -> None:
        _set(self, "key", key)
        _set(self, "value", value)
        _set(self, "span", span)


class InitClause(Node):
    """One clause of an init rule: ``bias=zeros``, or the call alone (for the weight)."""

    parameter: str | None
    function: str
    args: tuple[Expr, ...]
    kwargs: tuple[Keyword, ...]
    span: Span

    def __init__(
        self,
        parameter: str | None,
        function: str,
        args: tuple[Expr, ...],
        kwargs: tuple[Keyword, ...],
        span: Span,
    ) -> None:
        _set(self, "parameter", parameter)
        _set(self, "function", function)
        _set(self, "args", args)
        _set(self, "kwargs", kwargs)
        _set(self, "span", span)


class InitRule(Node):
    """``conv: kaiming_normal(mode="fan_out"), bias=zeros`` (an op) or ``"fc": zeros`` (a name pattern)."""

    target: str
    pattern: bool
    clauses: tuple[InitClause, ...]
    built: bool
    span: Span
    target_span: Span

    def __init__(
        self,
        target: str,
        pattern: bool,
        clauses: tuple[InitClause, ...],
        built: bool,
        span: Span,
        target_span: Span,
    ) -> None:
        _set(self, "target", target)
        _set(self, "pattern", pattern)
        _set(self, "clauses", clauses)
        _set(self, "built", built)
        _set(self, "span", span)
        _set(self, "target_span", target_span)


class NetworkDef(Node):
    """``network name:`` with its metadata, input, parameters, variants and layers."""

    name: str
    meta: tuple[MetaEntry, ...]
    input: Expr | None
    params: tuple[Let, ...]
    variants: tuple[Variant, ...]
    layers: tuple[Stmt, ...] | None
    span: Span
    init: tuple[InitRule, ...]

    def __init__(
        self,
        name: str,
        meta: tuple[MetaEntry, ...],
        input: Expr | None,
        params: tuple[Let, ...],
        variants: tuple[Variant, ...],
        layers: tuple[Stmt, ...] | None,
        span: Span,
        init: tuple[InitRule, ...] = (),
    ) -> None:
        _set(self, "name", name)
        _set(self, "meta", meta)
        _set(self, "input", input)
        _set(self, "params", params)
        _set(self, "variants", variants)
        _set(self, "layers", layers)
        _set(self, "span", span)
        _set(self, "init", init)


class Import(Node):
    """``from "file.arch" import A, B`` (names) or ``import "file.arch"`` (every block)."""

    path: str
    names: tuple[tuple[str, Span], ...] | None
    span: Span

    def __init__(self, path: str, names: tuple[tuple[str, Span], ...] | None, span: Span) -> None:
        _set(self, "path", path)
        _set(self, "names", names)
        _set(self, "span", span)


class Module(Node):
    """One parsed ``.arch`` file."""

    path: str
    imports: tuple[Import, ...]
    lets: tuple[Let, ...]
    blocks: tuple[BlockDef, ...]
    networks: tuple[NetworkDef, ...]

    def __init__(
        self,
        path: str,
        imports: tuple[Import, ...] = (),
        lets: tuple[Let, ...] = (),
        blocks: tuple[BlockDef, ...] = (),
        networks: tuple[NetworkDef, ...] = (),
    ) -> None:
        _set(self, "path", path)
        _set(self, "imports", imports)
        _set(self, "lets", lets)
        _set(self, "blocks", blocks)
        _set(self, "networks", networks)
