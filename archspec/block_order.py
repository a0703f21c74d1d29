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
from archspec.errors import Collector, did_you_mean


def check_order(
    block: str, order: tuple[ast.Label, ...], params: tuple[ast.Param, ...], body: tuple[ast.Stmt, ...]
) -> None:
    """SpecError for each name of ``order`` that is listed twice, is a value rather than a layer, or
    names no layer of the body."""
    if not order:
        return
    layers: list[str] = []
    values: list[str] = [p.name for p in params]
    _collect(body, layers, values)
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


def _label(label: ast.Label | None, layers: list[str]) -> None:
    if label is not None and not label.template:
        layers.append(label.text.split(".")[0])  # `convs.0`: the module list `convs`


def _collect(body: Iterable[ast.Stmt], layers: list[str], values: list[str]) -> None:
    """The names of the layers ``body`` registers in its own container (not inside a named group or an
    inline group, which are containers of their own), and the names it binds to values."""
    for stmt in body:
        if isinstance(stmt, ast.Let):
            values.append(stmt.name)
        elif isinstance(stmt, ast.Unpack):
            values.extend(stmt.targets)
        elif isinstance(stmt, ast.StateStmt):
            layers.append(stmt.name)
        elif isinstance(stmt, ast.ChainStmt):
            for item in stmt.items:
                _label(item.label, layers)
            if stmt.merge is not None:
                _collect(stmt.merge.body, layers, values)
        elif isinstance(stmt, ast.GroupStmt):
            _label(stmt.label, layers)
        elif isinstance(stmt, ast.ForStmt):
            values.extend(stmt.targets)
            _collect(stmt.body, layers, values)
        elif isinstance(stmt, ast.IfStmt):
            for _, branch in stmt.branches:
                _collect(branch, layers, values)
            _collect(stmt.otherwise or (), layers, values)
        elif isinstance(stmt, ast.ResidualStmt):
            _collect(stmt.body, layers, values)
            if stmt.shortcut is not None:
                if stmt.shortcut.label is not None:
                    _label(stmt.shortcut.label, layers)
                else:
                    _collect(stmt.shortcut.body, layers, values)
        elif isinstance(stmt, ast.MergeStmt):
            _collect(stmt.body, layers, values)


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
