"""Memos of lowering's pure steps (issue 26): what a call makes, kept for the next variant of a search loop.

A layer's op and a block instance's environment, call text and label depend only on the call (its
syntax tree, immutable, kept alive by the memo: the key holds its identity), the values of the names
its arguments read and its inputs' shapes; each variant of a search loop asks for the same ones again.
The limits hold exactly as with block replay (``elab.replay``): an entry records the steps of the
elaboration budget it charged, which a later use charges again, and where fewer are left the step is
done afresh, to fail where a fresh one fails. A failure records nothing. Bounded: cleared when full.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

from archspec import ast
from archspec.elab.graph import Unkeyed, typed_key
from archspec.elab.walk import free_names
from archspec.expr import Value
from archspec.limits import current_budget
from archspec.ops import OPS_BY_NAME

T = TypeVar("T")

_MADE: dict[Hashable, tuple[tuple[object, ...], Any, int]] = {}
_LIMIT = 20_000
_READS: dict[int, tuple[ast.Call, tuple[str, ...]]] = {}  # each call's free names, by identity


def reads(call: ast.Call) -> tuple[str, ...]:
    """The names a call's arguments read from where it is written, each once, in order."""
    found = _READS.get(id(call))
    if found is None or found[0] is not call:
        if len(_READS) >= _LIMIT:
            _READS.clear()
        exprs = [*call.args, *(keyword.value for keyword in call.kwargs)]
        names = tuple(dict.fromkeys(name.id for expr in exprs for name in free_names(expr)))
        found = _READS[id(call)] = (call, names)
    return found[1]


def init_key(rules: tuple[ast.InitRule, ...], env: Mapping[str, Value]) -> Hashable | None:
    """The key of a network's ``init:`` rules (``init_rules.lower_init``) where each names an op, which
    reads neither the layers nor the scopes: the rules and the values of the names their clauses read;
    None for a name pattern or a block's rule, or a value that cannot be keyed."""
    if not all(not rule.pattern and rule.target in OPS_BY_NAME for rule in rules):
        return None
    found = _INIT_READS.get(id(rules))
    if found is None or found[0] is not rules:
        if len(_INIT_READS) >= _LIMIT:
            _INIT_READS.clear()
        exprs = [
            expr
            for rule in rules
            for clause in rule.clauses
            for expr in (*clause.args, *(keyword.value for keyword in clause.kwargs))
        ]
        names = tuple(dict.fromkeys(name.id for expr in exprs for name in free_names(expr)))
        found = _INIT_READS[id(rules)] = (rules, names)
    try:
        return ("init", id(rules), values_key(found[1], env))
    except Unkeyed:
        return None


_INIT_READS: dict[int, tuple[tuple[ast.InitRule, ...], tuple[str, ...]]] = {}


def values_key(names: tuple[str, ...], env: Mapping[str, Value]) -> tuple[Hashable, ...]:
    """The typed values of ``names`` in ``env`` (None for an absent one); Unkeyed for a value that
    cannot be keyed (a traced number)."""
    return tuple(typed_key(env[name]) if name in env else None for name in names)


def memoized(key: Hashable | None, keep: tuple[object, ...], make: Callable[[], T]) -> T:
    """``make()``, or what it returned for ``key`` before, in an elaboration (``keep``: the objects
    whose identities the key holds, kept alive with the entry). None: not keyed, made every time."""
    budget = current_budget()
    if key is None or budget is None:
        return make()
    found = _MADE.get(key)
    if (
        found is not None
        and len(found[0]) == len(keep)
        and all(a is b for a, b in zip(found[0], keep, strict=True))
        and budget.left >= found[2]
    ):
        budget.left -= found[2]
        made: T = found[1]
        return made
    left = budget.left
    made = make()
    if len(_MADE) >= _LIMIT:
        _MADE.clear()
    _MADE[key] = (keep, made, left - budget.left)
    return made


def clear() -> None:
    """Forget every entry."""
    _MADE.clear()
    _READS.clear()
    _INIT_READS.clear()


__all__ = ["Unkeyed", "clear", "init_key", "memoized", "reads", "values_key"]
