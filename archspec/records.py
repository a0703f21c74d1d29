"""``FrozenRecord``: what ``@dataclass(frozen=True)`` generates, without compiling it at every import.

Python 3.11's ``@dataclass`` writes the text of each method it generates (``__init__``, ``__repr__``,
``__eq__``, ``__hash__``, and for a frozen class ``__setattr__`` and ``__delattr__``) and ``exec``-s it when
the class is created, on every import: about 3.5 M instructions a frozen class, 60 M of a whole
``archspec analyze vgg16`` process for the classes on its path (docs/benchmarks.md, "Start-up against the
floor"). A class on that path is declared instead as::

    @dataclass(init=False, repr=False, eq=False)
    class Row(FrozenRecord):
        name: str
        depth: int = 0

        def __init__(self, name: str, depth: int = 0) -> None:
            _set(self, "name", name)
            _set(self, "depth", depth)

``@dataclass`` with nothing to generate compiles nothing, and still records the fields, so that
``dataclasses.fields``, ``replace`` and ``asdict`` work as before; the written ``__init__`` is compiled
once, into the module's cached bytecode; ``FrozenRecord`` gives the rest, as the frozen dataclass did:
assignment and deletion raise ``FrozenInstanceError``, and equality (same class, fields equal), hashing
(of the fields' tuple) and the repr (``Row(name='x', depth=0)``) read the fields in order.
``tests/test_records.py`` checks every such class's ``__init__`` against its fields and defaults.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields
from typing import Any

# Sets a field in a written __init__ past FrozenRecord's guard, as a frozen dataclass's __init__ does.
set_field = object.__setattr__

_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


class FrozenRecord:
    """The base of a frozen record: see the module's docstring."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _names(type(self)))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in _names(type(self)))
        return f"{type(self).__qualname__}({fields})"
