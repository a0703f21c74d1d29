"""The one walk over the statements of a layer body, and the parts of the AST it looks into.

``StmtVisitor`` dispatches a statement to the method for its kind; lowering (``elab.statements``) and
``archspec check`` (``checks``) are both visitors, so that a new kind of statement is an abstract method
each of them must implement. ``nested_bodies`` and ``statements`` serve walks that need no names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Generic, TypeVar

from archspec import ast

Context = TypeVar("Context")
Result = TypeVar("Result")


class StmtVisitor(ABC, Generic[Context, Result]):
    """One method per kind of statement; ``stmt`` picks it."""

    def stmt(self, stmt: ast.Stmt, context: Context) -> Result:
        """Visit one statement with ``context`` (what the walk knows at this point)."""
        if isinstance(stmt, ast.Let):
            return self.let(stmt, context)
        if isinstance(stmt, ast.Unpack):
            return self.unpack(stmt, context)
        if isinstance(stmt, ast.ChainStmt):
            return self.chain(stmt, context)
        if isinstance(stmt, ast.GroupStmt):
            return self.group(stmt, context)
        if isinstance(stmt, ast.ForStmt):
            return self.for_loop(stmt, context)
        if isinstance(stmt, ast.IfStmt):
            return self.if_stmt(stmt, context)
        if isinstance(stmt, ast.ResidualStmt):
            return self.residual(stmt, context)
        if isinstance(stmt, ast.MergeStmt):
            return self.merge(stmt, context)
        if isinstance(stmt, ast.StateStmt):
            return self.state(stmt, context)
        raise TypeError(f"unknown statement {stmt!r}")  # pragma: no cover

    @abstractmethod
    def let(self, stmt: ast.Let, context: Context) -> Result:
        """``name = value``."""

    @abstractmethod
    def unpack(self, stmt: ast.Unpack, context: Context) -> Result:
        """``a, b = value``."""

    @abstractmethod
    def chain(self, stmt: ast.ChainStmt, context: Context) -> Result:
        """Items joined by ``>>``, and the merge the chain may end in."""

    @abstractmethod
    def group(self, stmt: ast.GroupStmt, context: Context) -> Result:
        """``name:`` and a body."""

    @abstractmethod
    def for_loop(self, stmt: ast.ForStmt, context: Context) -> Result:
        """``for names in values:``."""

    @abstractmethod
    def if_stmt(self, stmt: ast.IfStmt, context: Context) -> Result:
        """``if``/``elif``/``else``."""

    @abstractmethod
    def residual(self, stmt: ast.ResidualStmt, context: Context) -> Result:
        """``residual:`` with its optional shortcut."""

    @abstractmethod
    def merge(self, stmt: ast.MergeStmt, context: Context) -> Result:
        """``concat:`` or ``add:`` over branches."""

    @abstractmethod
    def state(self, stmt: ast.StateStmt, context: Context) -> Result:
        """``param name: [...]`` or ``buffer name: value``."""


def nested_bodies(stmt: ast.Stmt) -> list[tuple[ast.Stmt, ...]]:
    """The bodies written inside a statement (every branch, a residual's shortcut too)."""
    if isinstance(stmt, ast.GroupStmt | ast.ForStmt | ast.MergeStmt):
        return [stmt.body]
    if isinstance(stmt, ast.ChainStmt):
        return [stmt.merge.body] if stmt.merge is not None else []
    if isinstance(stmt, ast.IfStmt):
        return [*(branch for _, branch in stmt.branches), stmt.otherwise or ()]
    if isinstance(stmt, ast.ResidualStmt):
        return [stmt.body] + ([stmt.shortcut.body] if stmt.shortcut is not None else [])
    return []


def statements(stmts: Sequence[ast.Stmt]) -> Iterator[ast.Stmt]:
    """Every statement of a body and of the bodies inside it, in the order of the text."""
    for stmt in stmts:
        yield stmt
        for body in nested_bodies(stmt):
            yield from statements(body)


def expr_children(expr: ast.Expr) -> list[ast.Expr]:
    """The expressions directly inside ``expr``."""
    if isinstance(expr, ast.ListExpr | ast.BoolOp):
        return list(expr.items if isinstance(expr, ast.ListExpr) else expr.values)
    if isinstance(expr, ast.BinaryOp):
        return [expr.left, expr.right]
    if isinstance(expr, ast.UnaryOp):
        return [expr.operand]
    if isinstance(expr, ast.Compare):
        return [expr.first, *(e for _, e in expr.rest)]
    if isinstance(expr, ast.Conditional):
        return [expr.condition, expr.then, expr.otherwise]
    if isinstance(expr, ast.Subscript):
        return [expr.value, expr.index]
    if isinstance(expr, ast.Slice):
        return [e for e in (expr.value, expr.start, expr.stop, expr.step) if e is not None]
    if isinstance(expr, ast.FuncCall):
        return [*expr.args, *(k.value for k in expr.kwargs)]
    return []


def is_auto(stmts: Sequence[ast.Stmt]) -> bool:
    """Whether a shortcut's body is ``auto`` (a projection made when the shapes differ)."""
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
