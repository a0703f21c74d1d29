"""Numbers that remember where they came from: the origins of values during one traced elaboration.

``archspec compile`` makes the network's numeric parameters arguments of the generated classes; for
that it must know which numbers of the file each parameter decides. A traced elaboration
(``lower(..., tracer=...)``) starts each numeric parameter as a ``Traced`` number: an ``int`` (or
``float``) that also holds the parameters it depends on (``deps``) and how to compute it again from
other values of them (``fn``). Arithmetic keeps both (``hidden_dim * 4``), so do bindings, block
arguments (a block's parameter is the caller's value) and the spec's functions (``expr`` wraps their
results); an op's output shape is traced as "dimension k of node i", computed again by the
substitution (``elab.origins``), so a width that reaches a layer through an input shape (``linear``'s
``in_features``) keeps its origin too.

What cannot be computed again without elaborating again is a decision: a comparison, an index, a
loop count, a repeat count, two shapes found equal. Each records a guard: the values it read must
come out the same (a comparison: with the same outcome) for the substitution to hold; where one does
not, no graph is computed for those values (``archspec compile`` then keeps the parameter a literal,
``backends.exposed``). A loop or repeat whose count is traced also records which guard records the
count, the count and the flow's value around each copy (``counted``, ``copied``), and traces its loop
variable as depending on the loop (``loop_variable``), so that ``backends.exposed`` can tell a count
that the file can write as a loop over the parameter.

Outside a traced elaboration no ``Traced`` number exists: ordinary lowering pays nothing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class Context(Protocol):
    """What a traced number is computed again from: the parameters' values and the nodes' shapes."""

    params: dict[str, Any]
    shapes: list[tuple[int, ...]]


Fn = Callable[[Context], Any]


class Tracing:
    """The record of one traced elaboration's decisions (``elab.origins.Tracer`` holds the rest)."""

    def __init__(self) -> None:
        # Checks the substitution makes: (the number of nodes made before it, parameters, a test that
        # holds for values that keep the elaboration's choice, such as a comparison's outcome).
        # And whether it was made computing a buffer's values (which the file writes as numbers).
        self.guards: list[tuple[int, frozenset[str], Callable[[Context], bool], bool]] = []
        self.in_buffer = False
        self.nodes_made = 1  # nodes so far (the input's before any other): a guard reads only those
        # Loops and repeats whose count is traced: the guard that records the count (its index) -> the
        # repeat group; and per group, the count and the flow's value before and after each copy.
        self.counts: dict[int, int] = {}
        self.loops: dict[int, tuple[Any, list[int]]] = {}

    @contextmanager
    def buffer(self, computing: bool) -> Iterator[None]:
        """Within: the guards recorded are choices made computing a buffer's values (``computing``)."""
        before, self.in_buffer = self.in_buffer, computing
        try:
            yield
        finally:
            self.in_buffer = before


_ACTIVE: list[Tracing] = []  # the traced elaboration in progress (at most one)


def active() -> Tracing | None:
    """The traced elaboration in progress, if any."""
    return _ACTIVE[-1] if _ACTIVE else None


class tracing:
    """``with tracing(record):`` makes ``record`` the traced elaboration in progress."""

    def __init__(self, record: Tracing) -> None:
        self.record = record

    def __enter__(self) -> Tracing:
        _ACTIVE.append(self.record)
        return self.record

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.pop()


@contextmanager
def untraced() -> Iterator[None]:
    """Within: no traced elaboration is in progress (values computed as ordinary numbers)."""
    saved = _ACTIVE[:]
    _ACTIVE.clear()
    try:
        yield
    finally:
        _ACTIVE[:] = saved


class _Origin:
    """The methods of a traced number (mixed into ``int`` and ``float``)."""

    fn: Fn
    deps: frozenset[str]


def make(value: Any, fn: Fn, deps: frozenset[str]) -> Any:
    """``value`` traced (an int or a float, not a bool), else ``value`` itself."""
    if not deps or isinstance(value, bool):
        return value
    if isinstance(value, int):
        number: Any = TracedInt(value)
    elif isinstance(value, float):
        number = TracedFloat(value)
    else:
        return value
    number.fn = fn
    number.deps = deps
    return number


def parameter(name: str, value: Any) -> Any:
    """The network parameter ``name`` as a traced number (a value of another type as it is)."""
    return make(value, lambda ctx: ctx.params[name], frozenset((name,)))


def is_traced(value: Any) -> bool:
    """Whether ``value`` (or an element of it, at any depth) is traced."""
    if isinstance(value, _Origin):
        return True
    if isinstance(value, tuple | list):
        return any(is_traced(v) for v in value)
    if isinstance(value, dict):
        return any(is_traced(v) for v in value.values())
    return False


def deps_of(value: Any) -> frozenset[str]:
    """The parameters ``value`` (at any depth) depends on."""
    if isinstance(value, _Origin):
        return value.deps
    if isinstance(value, tuple | list):
        return frozenset().union(*(deps_of(v) for v in value)) if value else frozenset()
    if isinstance(value, dict):
        return frozenset().union(*(deps_of(v) for v in value.values())) if value else frozenset()
    return frozenset()


def plain(value: Any) -> Any:
    """``value`` with every traced number made an ordinary one (at any depth)."""
    if isinstance(value, _Origin):
        return int.__int__(value) if isinstance(value, int) else float.__float__(value)  # type: ignore[arg-type]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value) if is_traced(value) else value
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def value_at(value: Any, ctx: Context) -> Any:
    """``value`` computed again for the context's values (at any depth)."""
    if isinstance(value, _Origin):
        return value.fn(ctx)
    if isinstance(value, tuple):
        return tuple(value_at(v, ctx) for v in value) if is_traced(value) else value
    if isinstance(value, list):
        return [value_at(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: value_at(v, ctx) for k, v in value.items()}
    return value


def decide(*values: Any) -> None:
    """The elaboration chose something by these values (a loop count, an index): the choice holds for
    other values of their parameters while they come out the same (else only elaborating again can
    say what changes)."""
    if active() is not None and is_traced(values):
        kept = plain(values)
        guard(values, lambda ctx: value_at(values, ctx) == kept)


def counted(group: int, count: Any, before: int, x: int) -> None:
    """A loop or repeat (repeat group ``group``) of ``count`` copies from the flow's value ``x``; the
    guard that records the count is the last one made since there were ``before``."""
    record = active()
    if record is None or not is_traced(count) or len(record.guards) <= before:
        return
    record.counts[len(record.guards) - 1] = group
    record.loops[group] = (count, [x])


def copied(group: int, x: int) -> None:
    """The flow's value after a copy of a loop or repeat whose count is traced (``counted``)."""
    record = active()
    if record is not None and group in record.loops:
        record.loops[group][1].append(x)


def loop_variable(group: int, value: Any) -> Any:
    """A loop's variable, traced as depending on the loop (``loop_marker``) where its count is: a
    choice or an op that reads it makes the body depend on the count."""
    record = active()
    if record is None or group not in record.loops or not isinstance(value, int):
        return value
    return make(value, lambda ctx: value, frozenset((loop_marker(group),)))


def loop_marker(group: int) -> str:
    """The name a loop variable of repeat group ``group`` depends on (no parameter's name)."""
    return f"<loop {group}>"


def guard(values: Iterable[Any], check: Callable[[Context], bool]) -> None:
    """The elaboration's choice holds while ``check`` does (``values``: what it reads)."""
    record = active()
    if record is None:
        return
    deps = frozenset().union(*(deps_of(v) for v in values))
    if deps:
        record.guards.append((record.nodes_made, deps, check, record.in_buffer))


def compared(op: Callable[[Any, Any], Any], left: Any, right: Any, outcome: Any) -> None:
    """A comparison the elaboration made: it must come out the same for other values."""
    if _ACTIVE and (is_traced(left) or is_traced(right)):  # numbers, or lists holding them
        guard((left, right), lambda ctx: op(value_at(left, ctx), value_at(right, ctx)) == outcome)


def same_shapes(first: Any, second: Any) -> bool:
    """Whether two (traced) shapes are equal, a choice that must come out the same for other values."""
    outcome: bool = plain(first) == plain(second)
    if not _ACTIVE:
        return outcome
    guard((first, second), lambda ctx: (value_at(first, ctx) == value_at(second, ctx)) == outcome)
    return outcome


def called(function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any], result: Any) -> Any:
    """A spec function's result, traced when its arguments are (computed again by calling it again);
    a result that is not a number (``range(n)``) decides its arguments' parameters."""
    if not _ACTIVE:  # an ordinary elaboration: nothing to look for
        return result
    deps = deps_of(args) | deps_of(kwargs)
    if not deps:
        return result
    if isinstance(result, bool) or not isinstance(result, int | float):
        decide(args, kwargs)
        return result

    def again(ctx: Context) -> Any:
        return function(*value_at(args, ctx), **value_at(kwargs, ctx))

    return make(result, again, deps)


def _binary(op: Callable[[Any, Any], Any]) -> tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]:
    """The forward and reflected methods of a traced number for ``op``."""

    def forward(self: Any, other: Any) -> Any:
        if isinstance(other, bool) or not isinstance(other, int | float):
            return NotImplemented
        result = op(plain(self), plain(other))
        return make(
            result, lambda ctx: op(value_at(self, ctx), value_at(other, ctx)), self.deps | deps_of(other)
        )

    def reflected(self: Any, other: Any) -> Any:
        if isinstance(other, bool) or not isinstance(other, int | float):
            return NotImplemented
        result = op(plain(other), plain(self))
        return make(
            result, lambda ctx: op(value_at(other, ctx), value_at(self, ctx)), self.deps | deps_of(other)
        )

    return forward, reflected


def _unary(op: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def method(self: Any) -> Any:
        return make(op(plain(self)), lambda ctx: op(value_at(self, ctx)), self.deps)

    return method


_METHODS: dict[str, Any] = {}
for _name, _op in (
    ("add", operator.add),
    ("sub", operator.sub),
    ("mul", operator.mul),
    ("truediv", operator.truediv),
    ("floordiv", operator.floordiv),
    ("mod", operator.mod),
    ("pow", operator.pow),
):
    _METHODS[f"__{_name}__"], _METHODS[f"__r{_name}__"] = _binary(_op)
for _name, _op1 in (("neg", operator.neg), ("pos", operator.pos), ("abs", abs)):
    _METHODS[f"__{_name}__"] = _unary(_op1)


def _mixed(base: type) -> type:
    namespace = dict(_METHODS)
    namespace["__doc__"] = f"A traced {base.__name__} (see the module docstring)."
    namespace["__repr__"] = base.__repr__
    namespace["__str__"] = base.__repr__
    namespace["__reduce__"] = lambda self: (base, (base(self),))  # a copy is an ordinary number
    return type(f"Traced{base.__name__.title()}", (base, _Origin), namespace)


TracedInt: type = _mixed(int)
TracedFloat: type = _mixed(float)
