"""The emit IR: what one generated class is, before it is text.

A container of the elaborated graph (``backends.plan``) is described as a ``ClassShape``: for each step,
the attribute ``__init__`` gives it (``Member``: a constructor tree of ``Call`` and ``Sequential``
nodes, with ``Built`` around a block that a `when built:` rule sets, whose literal arguments are ``Arg``
slots, or nothing for a step written inline in ``forward``),
and the lines of ``forward`` (``Forward``). ``emit_describe`` builds it from the graph,
``class_recovery`` compares shapes to find which containers share a class (``ClassShape.key``: the
structure with every literal slot reduced to its keyword, and every generated class it constructs
reduced to that class, by identity), and ``emit_render`` writes a class's shape as text, with its
slots as the class's parameters or as literals.

Nothing here knows a class's final name: a ``Call`` of a generated class holds the class (``Named``),
whose ``name`` is set once every class is known.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Protocol

from archspec.backends.source_entry import Arg


class Named(Protocol):
    """A generated class as a ``Call`` holds it: its final name is read when the call is written."""

    @property
    def name(self) -> str:
        """The class's name in the file."""
        ...


@dataclass(frozen=True, eq=False)
class Call:
    """A constructor call ``callee(args...)close``: of a torch or custom layer (``callee``), or of a
    generated class (``cls``; ``callee`` is then unused). Its ``args`` are the literal slots."""

    callee: str
    args: tuple[Arg, ...]
    close: str = ""
    cls: Named | None = None

    def key(self) -> Hashable:
        """The call's structure: what it calls, and the keyword of each argument (values left out)."""
        return (
            "call",
            self.cls if self.cls is not None else self.callee,
            self.close,
            *(a.keyword for a in self.args),
        )

    def slots(self) -> Iterator[Arg]:
        """The literal arguments, in the order they are written."""
        yield from self.args


@dataclass(frozen=True, eq=False)
class Sequential:
    """An ``nn.Sequential`` of steps: positional (``0``, ``1``, ...) or named (an ``OrderedDict``)."""

    names: tuple[str, ...]
    items: tuple[Expr, ...]
    positional: bool
    # The network parameter its count is written as (its steps are a loop's copies, alike), if any
    # (``backends.exposed``).
    count: str | None = None

    def key(self) -> Hashable:
        """The names of the steps and the structure of each."""
        return ("sequential", self.positional, self.names, self.count, *(item.key() for item in self.items))

    def slots(self) -> Iterator[Arg]:
        """The literal arguments of every step, in order."""
        for item in self.items:
            yield from item.slots()


@dataclass(frozen=True, eq=False)
class Built:
    """A block instance's module set by a `when built:` rule naming its block as soon as it is
    constructed: ``built(init_rule, item)``."""

    rule: str
    item: Call | Sequential | Built

    def key(self) -> Hashable:
        """The rule and the structure of what it sets."""
        return ("built", self.rule, self.item.key())

    def slots(self) -> Iterator[Arg]:
        """The literal arguments of what it sets."""
        yield from self.item.slots()


Expr = Call | Sequential | Built


@dataclass(frozen=True, eq=False)
class Member:
    """What ``__init__`` gives one step: a module or a parameter (``value``, with ``parameter`` true
    for an ``nn.Parameter`` the class keeps), a registered buffer (``fixed``: its whole line, the
    value written out), or nothing (``value`` None: a step written inline in ``forward``, which only an
    optional step's flag may need).

    A value is held by ``holder[0] + value + holder[1]`` (``self.conv1 = ...``,
    ``self.add_module('block1-0', ...)``, ``self.convs.append(...)`` in a module list), after the
    lines ``made`` that make the module lists a dotted name is the first entry of."""

    local: str
    value: Expr | None
    parameter: bool = False
    holder: tuple[str, str] = ("", "")
    made: tuple[str, ...] = ()
    fixed: str | None = None

    def key(self) -> Hashable:
        """The member's structure; a step with no value is written nowhere in ``__init__``, so its name
        is no part of it."""
        if self.fixed is not None:
            return ("fixed", self.fixed)
        if self.value is None:
            return ("inline",)
        return ("member", self.local, self.parameter, self.holder, self.made, self.value.key())


@dataclass(frozen=True)
class Line:
    """One line of ``forward``: ``target = expression``.

    When the step is the optional step of a class, an instance without it reads ``source`` (the step's
    first input) instead: ``present`` is the attribute that says whether the step exists (``self.x``,
    tested against None), or None where the flag itself says it (a step with no attribute)."""

    target: str
    expression: str
    source: str
    present: str | None
    output: int  # the graph node whose shape the line's comment gives
    step: int  # the container's step it computes (a param or buffer step has no line)


@dataclass(frozen=True)
class Forward:
    """``forward``: its arguments, its lines and what it returns."""

    arguments: tuple[str, ...]
    lines: tuple[Line, ...]
    result: str

    def key(self) -> Hashable:
        """The text of ``forward`` without its shape comments."""
        return (self.arguments, tuple((line.target, line.expression) for line in self.lines), self.result)


@dataclass(frozen=True, eq=False)
class ClassShape:
    """One container as a class: a member per step, and ``forward``."""

    members: tuple[Member, ...]
    forward: Forward

    def key(self) -> Hashable:
        """The structure two containers must share to share a class (their literals may differ)."""
        return (tuple(member.key() for member in self.members), self.forward.key())

    def slots(self) -> list[Arg]:
        """Every literal argument of ``__init__``, in the order written."""
        return [arg for member in self.members if member.value is not None for arg in member.value.slots()]

    def marks(self) -> list[int]:
        """For each step, the index of its first literal slot; then the number of slots."""
        marks = [0]
        for member in self.members:
            marks.append(marks[-1] + (0 if member.value is None else len(list(member.value.slots()))))
        return marks
