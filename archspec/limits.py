"""The bounds that keep archspec's time and memory in check on any input (docs/security.md lists them).

A spec is untrusted input: every way it can make archspec work (nesting, loops, repeats, big values) is
bounded here, and each bound is checked before the work or the allocation it guards, so that an error
comes early, with a position. ``Budget`` counts the steps of one elaboration (statements, loop
iterations, repeated copies, evaluated expressions, list elements built): a spec that loops without
making layers still stops.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from archspec import ast
from archspec.errors import SpecError
from archspec.source import Span

MAX_SPEC_BYTES = 16_384  # bytes of one spec file (the largest of the zoo has 3,543)
MAX_NESTING = 100  # levels of the syntax tree: operators, calls, lists, indented bodies
MAX_INT = 10**15  # largest integer a spec may compute (and its literals' magnitude)
MAX_LIST = 100_000  # elements of a value, the elements of nested lists counted in full
MAX_VALUE_DEPTH = 32  # lists inside lists
MAX_ROUND_DIGITS = 100  # round(x, digits): |digits|
MAX_STEPS = 50_000  # steps of one elaboration (see Budget); the whole zoo needs at most 2,000
MAX_NODES = 5_000  # layers of one network
MAX_BUFFER = 65_536  # elements of a `buffer` value (Swin-B's 12x12-window index has 20,736)
MAX_BUFFER_STEPS = 2_000_000  # steps of evaluating one buffer's value, on a budget of its own
MAX_PARAM = 2**31  # elements of one `param` (the weights budget of `build` bounds a network's total)
MAX_BLOCK_DEPTH = 80  # blocks inside blocks (below MAX_NESTING: each block is a level of bodies too)
MAX_LINE = 1_000  # characters of one line (parsing time grows faster than a line's length)
MAX_SHOWN = 200  # characters of a value shown in a message


class Budget:
    """The steps one elaboration may still take."""

    def __init__(self, limit: int = MAX_STEPS) -> None:
        self.limit = limit
        self.left = limit

    def charge(self, steps: int, span: Span | None) -> None:
        """Spend ``steps``; a SpecError at ``span`` when the budget is exhausted."""
        self.left -= steps
        if self.left < 0:
            raise SpecError.at(
                span,
                f"the spec takes more than {self.limit:,} steps to elaborate (statements, loop iterations, "
                "repeats and list elements)",
                "a loop or a repeat runs far more often than a network needs",
            )


_BUDGET: ContextVar[Budget | None] = ContextVar("archspec_budget", default=None)


@contextmanager
def budget(limit: int = MAX_STEPS) -> Iterator[Budget]:
    """A step budget for everything evaluated inside the ``with`` block (one elaboration)."""
    current = _BUDGET.get()
    if current is not None:  # nested: the outer elaboration's budget goes on counting
        yield current
        return
    token = _BUDGET.set(Budget(limit))
    try:
        yield _BUDGET.get()  # type: ignore[misc]
    finally:
        _BUDGET.reset(token)


@contextmanager
def own_budget(limit: int) -> Iterator[Budget]:
    """A budget of its own for one bounded computation inside an elaboration (a buffer's value, whose
    size ``MAX_BUFFER`` bounds): it neither spends nor is stopped by the elaboration's budget."""
    token = _BUDGET.set(Budget(limit))
    try:
        yield _BUDGET.get()  # type: ignore[misc]
    finally:
        _BUDGET.reset(token)


def current_budget() -> Budget | None:
    """The budget of the elaboration under way (None outside one)."""
    return _BUDGET.get()


def charge(steps: int, span: Span | None) -> None:
    """Spend ``steps`` of the current budget (none outside an elaboration: an expression alone has no
    loops, so its cost is bounded by its size)."""
    current = _BUDGET.get()
    if current is not None:
        current.charge(steps, span)


def check_nesting(root: Any) -> None:
    """A SpecError at the first node of an AST nested deeper than ``MAX_NESTING`` levels. Iterative:
    the later stages recurse over the tree, and this bound is what keeps them inside Python's stack."""
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise SpecError.at(
                node.span,
                f"nested too deeply: more than {MAX_NESTING} levels of brackets, operators, calls "
                "and indented bodies",
                "split the expression with `name = ...` bindings, or the layers into blocks",
            )
        for child in _children(node):
            stack.append((child, depth + 1))


def _children(node: Any) -> Iterator[Any]:
    for field in ast.fields(node):
        yield from _nodes_in(getattr(node, field))


def _nodes_in(value: Any) -> Iterator[Any]:
    if isinstance(value, ast.Node):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from _nodes_in(item)
