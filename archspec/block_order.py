"""A block's ``order: [qkv, proj]`` setting, checked against the block's body when the file is parsed.

The setting lists layers (and parameters, buffers, named groups, module lists) that the block registers
first, in that order, so that the module order (``state_dict`` keys, ``modules()``, the order in which
construction and ``init:`` draw random numbers) follows a reference's ``__init__`` while the body stays in
data-flow order. Each name must be one the body gives a layer of its own, on any branch of an ``if``
(an instance that takes another branch simply has no such layer: the name is skipped there); a name is
listed once. No torch here: the backends read the order from ``Scope.order`` (``backends.plan``).
"""

from __future__ import annotations

from collections.abc import Iterable

from archspec import ast
from archspec.elab.walk import StmtVisitor
from archspec.errors import Collector, did_you_mean


def check_order(
    block: str, order: tuple[ast.Label, ...], params: tuple[ast.Param, ...], body: tuple[ast.Stmt, ...]
) -> None:
    """SpecError for each name of ``order`` that is listed twice, is a value rather than a layer, or
    names no layer of the body."""
    if not order:
        return
    names = _Names([p.name for p in params])
    names.body(body)
    layers, values = names.layers, names.values
    errors = Collector()
    seen: set[str] = set()
    for label in order:
        name = label.text
        if name in seen:
            errors.add(label.span, f"block {block} lists '{name}' twice in its order")
        elif name in layers:
            pass
        elif name in values:
            errors.add(
                label.span,
                f"'{name}' in the order of block {block} is a value, not a layer",
                "an order lists the layers, parameters and buffers the block's body names",
            )
        else:
            errors.add(
                label.span,
                f"block {block} has no layer '{name}' to put in its order",
                did_you_mean(name, layers)
                or "an order lists the layers, parameters and buffers the block's body names (not those "
                "inside a named group: that group's name stands for them)",
            )
        seen.add(name)
    errors.raise_if_any()


class _Names(StmtVisitor[None, None]):
    """The names of the layers a body registers in its own container (not inside a named group or an
    inline group, which are containers of their own), and the names it binds to values. A visitor of
    the one statement walk (``elab.walk``), so a new kind of statement must say what it names here."""

    def __init__(self, values: list[str]) -> None:
        self.layers: list[str] = []
        self.values = values

    def body(self, stmts: Iterable[ast.Stmt]) -> None:
        """Visit each statement of a body."""
        for stmt in stmts:
            self.stmt(stmt, None)

    def label(self, label: ast.Label | None) -> None:
        """A layer's label: its name (`convs.0`: the module list `convs`); a template names none here."""
        if label is not None and not label.template:
            self.layers.append(label.text.split(".")[0])

    def let(self, stmt: ast.Let, context: None) -> None:
        self.values.append(stmt.name)

    def unpack(self, stmt: ast.Unpack, context: None) -> None:
        self.values.extend(stmt.targets)

    def state(self, stmt: ast.StateStmt, context: None) -> None:
        self.layers.append(stmt.name)

    def chain(self, stmt: ast.ChainStmt, context: None) -> None:
        for item in stmt.items:
            self.label(item.label)
        if stmt.merge is not None:
            self.body(stmt.merge.body)

    def group(self, stmt: ast.GroupStmt, context: None) -> None:
        self.label(stmt.label)

    def for_loop(self, stmt: ast.ForStmt, context: None) -> None:
        self.values.extend(stmt.targets)
        self.body(stmt.body)

    def if_stmt(self, stmt: ast.IfStmt, context: None) -> None:
        for _, branch in stmt.branches:
            self.body(branch)
        self.body(stmt.otherwise or ())

    def residual(self, stmt: ast.ResidualStmt, context: None) -> None:
        self.body(stmt.body)
        if stmt.shortcut is not None:
            if stmt.shortcut.label is not None:
                self.label(stmt.shortcut.label)
            else:
                self.body(stmt.shortcut.body)

    def merge(self, stmt: ast.MergeStmt, context: None) -> None:
        self.body(stmt.body)


def ordered(steps: list[str], order: tuple[str, ...]) -> list[int]:
    """The indices of ``steps`` (local names, in data-flow order) in registration order: those ``order``
    lists first, in its order (a module list by its name: ``convs`` for ``convs.0``, ``convs.1``), then
    the others in data-flow order."""
    if not order:
        return list(range(len(steps)))
    rank = {name: i for i, name in enumerate(order)}
    first = sorted(
        (i for i, local in enumerate(steps) if local.split(".")[0] in rank),
        key=lambda i: (rank[steps[i].split(".")[0]], i),
    )
    chosen = set(first)
    return first + [i for i in range(len(steps)) if i not in chosen]


__all__ = ["check_order", "ordered"]
