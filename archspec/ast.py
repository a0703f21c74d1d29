"""The abstract syntax tree: small frozen dataclasses, each with the span of its source text.

The parser (``archspec.syntax``) builds these; the lowering (``archspec.lower``) consumes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archspec.source import Span


class _Node:
    """Equality, hashing and repr of every node, as the dataclass would generate them (fields equal, same
    class), defined once: Python 3.11 compiles each generated method of each dataclass when the module
    loads, and three of the six methods each of the 34 classes had are now shared (the module's import
    costs about a tenth less)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self), *self.__dict__.values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.__dict__.items())
        return f"{type(self).__name__}({fields})"


# Each node below: @dataclass(frozen=True, eq=False, repr=False), so that its __init__ and the guards
# against assignment are generated, and the rest comes from _Node.

# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, eq=False, repr=False)
class Literal(_Node):
    """A number, string, boolean or ``none``."""

    value: Any
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Name(_Node):
    """A reference to a parameter, a local binding, a loop variable or a block."""

    id: str
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class ListExpr(_Node):
    """``[a, b, c]`` (``tuple`` is True for ``(a, b)``)."""

    items: tuple[Expr, ...]
    span: Span
    tuple: bool = False


@dataclass(frozen=True, eq=False, repr=False)
class ListComp(_Node):
    """``[element for a, b in iterable if condition]``."""

    element: Expr
    targets: tuple[str, ...]
    iterable: Expr
    condition: Expr | None
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class BinaryOp(_Node):
    """``left op right`` for arithmetic (``+ - * / // % **``)."""

    op: str
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class UnaryOp(_Node):
    """``-x`` or ``not x``."""

    op: str
    operand: Expr
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Compare(_Node):
    """A comparison chain ``a < b <= c``."""

    first: Expr
    rest: tuple[tuple[str, Expr], ...]
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class BoolOp(_Node):
    """``a and b and c`` / ``a or b``."""

    op: str
    values: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Conditional(_Node):
    """``then if condition else otherwise``."""

    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Subscript(_Node):
    """``value[index]``."""

    value: Expr
    index: Expr
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Slice(_Node):
    """``value[start:stop:step]``, each bound optional (None), as Python's slices."""

    value: Expr
    start: Expr | None
    stop: Expr | None
    step: Expr | None
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Keyword(_Node):
    """``name=value`` in a call or a variant row."""

    name: str
    value: Expr
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class FuncCall(_Node):
    """A call inside an expression: ``make_divisible(c * alpha, 8)``."""

    func: str
    args: tuple[Expr, ...]
    kwargs: tuple[Keyword, ...]
    span: Span


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


@dataclass(frozen=True, eq=False, repr=False)
class Label(_Node):
    """An item's name: an identifier, or a template string such as ``"encoder_layer_{i}"``."""

    text: str
    template: bool
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Ref(_Node):
    """A reference to an earlier layer's output (``from stem``, ``from input``, ``from "layer{i}"``: a
    template, filled in as a label's is)."""

    path: tuple[str, ...]
    span: Span
    template: bool = False
    index: int | None = None  # `from inputs[1]`: one of a block's inputs


@dataclass(frozen=True, eq=False, repr=False)
class RefList(_Node):
    """References made by a loop: ``from ["branch{i}" for i in range(4) if i != 2]``, one template
    reference a value of the loop, filled in with the loop's names."""

    template: Ref
    targets: tuple[str, ...]
    iterable: Expr
    condition: Expr | None
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Call(_Node):
    """An op or block applied in a layer body: ``conv(64, 3, pad=1)``, ``relu``, ``Bottleneck(64)``."""

    name: str
    args: tuple[Expr, ...]
    kwargs: tuple[Keyword, ...]
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class InlineGroup(_Node):
    """``(a >> b >> c)``: a group written on one line."""

    items: tuple[Item, ...]
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Item(_Node):
    """One element of a chain: optional label, the call or group, optional repeat count and sources."""

    label: Label | None
    atom: Call | InlineGroup
    repeat: Expr | None
    sources: tuple[Ref | RefList, ...]
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Let(_Node):
    """``name = expr``: a parameter default or a local binding."""

    name: str
    value: Expr
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Unpack(_Node):
    """``a, b, c = value``: one local binding per element of a list."""

    targets: tuple[str, ...]
    value: Expr
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class ChainStmt(_Node):
    """A line of items joined by ``>>``; the same as writing them on consecutive lines. ``merge``: a
    ``concat:``/``add:``/``mul:`` the chain ends in, whose branches start from the chain's output."""

    items: tuple[Item, ...]
    span: Span
    merge: MergeStmt | None = None


@dataclass(frozen=True, eq=False, repr=False)
class GroupStmt(_Node):
    """``name:`` and an indented body: a named sequence."""

    label: Label
    body: tuple[Stmt, ...]
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class ForStmt(_Node):
    """``for a, b in expr:``: the body once per element, spliced into the enclosing sequence."""

    targets: tuple[str, ...]
    iterable: Expr
    body: tuple[Stmt, ...]
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class IfStmt(_Node):
    """``if``/``elif``/``else``: the first body whose condition holds (or none)."""

    branches: tuple[tuple[Expr, tuple[Stmt, ...]], ...]
    otherwise: tuple[Stmt, ...] | None
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Shortcut(_Node):
    """The skip path of a residual: ``auto``, a chain, or a body; optionally named."""

    label: Label | None
    body: tuple[Stmt, ...]
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class ResidualStmt(_Node):
    """``residual [if cond]:`` body ``+`` shortcut(input)."""

    condition: Expr | None
    body: tuple[Stmt, ...]
    shortcut: Shortcut | None
    span: Span
    shortcut_first: bool = False  # written first in the body: its modules come before the body's


@dataclass(frozen=True, eq=False, repr=False)
class MergeStmt(_Node):
    """``concat:`` or ``add:``: each statement of the body is a branch from the same input."""

    op: str
    body: tuple[Stmt, ...]
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class StateStmt(_Node):
    """``param name: [d0, d1], init=...`` or ``buffer name: value, persistent=false, dtype=int64``: a
    tensor of the enclosing module (``kind`` is ``"param"`` or ``"buffer"``), named ``name``."""

    kind: str
    name: str
    value: Expr
    kwargs: tuple[Keyword, ...]
    span: Span
    name_span: Span


Stmt = Let | Unpack | ChainStmt | GroupStmt | ForStmt | IfStmt | ResidualStmt | MergeStmt | StateStmt

# ---------------------------------------------------------------- files


@dataclass(frozen=True, eq=False, repr=False)
class Param(_Node):
    """A block parameter with its optional default."""

    name: str
    default: Expr | None
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class BlockDef(_Node):
    """``block Name(params):``, its settings and its body."""

    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    span: Span
    path: str
    label: Label | None = None  # `label: "MBConv{t} k{k}×{k}"`: how drawings name an instance
    # `order: [qkv, proj]`: the layers registered first, in this order (module and state-dict order)
    order: tuple[Label, ...] = ()


@dataclass(frozen=True, eq=False, repr=False)
class Variant(_Node):
    """A row of ``variants:``: a name and its parameter overrides."""

    name: str
    overrides: tuple[Keyword, ...]
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class MetaEntry(_Node):
    """``key: value`` metadata, or a nested group of them."""

    key: str
    value: Expr | tuple[MetaEntry, ...]
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class InitClause(_Node):
    """One clause of an init rule: ``bias=zeros``, or the call alone (for the weight)."""

    parameter: str | None
    function: str
    args: tuple[Expr, ...]
    kwargs: tuple[Keyword, ...]
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class InitRule(_Node):
    """``conv: kaiming_normal(mode="fan_out"), bias=zeros`` (an op) or ``"fc": zeros`` (a name pattern)."""

    target: str
    pattern: bool
    clauses: tuple[InitClause, ...]
    built: bool
    span: Span
    target_span: Span


@dataclass(frozen=True, eq=False, repr=False)
class NetworkDef(_Node):
    """``network name:`` with its metadata, input, parameters, variants and layers."""

    name: str
    meta: tuple[MetaEntry, ...]
    input: Expr | None
    params: tuple[Let, ...]
    variants: tuple[Variant, ...]
    layers: tuple[Stmt, ...] | None
    span: Span
    init: tuple[InitRule, ...] = ()


@dataclass(frozen=True, eq=False, repr=False)
class Import(_Node):
    """``from "file.arch" import A, B`` (names) or ``import "file.arch"`` (every block)."""

    path: str
    names: tuple[tuple[str, Span], ...] | None
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Module(_Node):
    """One parsed ``.arch`` file."""

    path: str
    imports: tuple[Import, ...] = ()
    lets: tuple[Let, ...] = ()
    blocks: tuple[BlockDef, ...] = ()
    networks: tuple[NetworkDef, ...] = field(default_factory=tuple)
