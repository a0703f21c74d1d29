"""Constructor parameters of a recovered class: which literal slots vary between its instances, how
they are shared, named and defaulted, and which follow from another (``out_channels = width * 4``).

Works on the slots alone (per instance, the literal arguments of its ``__init__`` in order, None where
an instance lacks the class's optional step); ``class_recovery`` supplies them and keeps the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from archspec.backends.source_entry import NO_DEFAULT, Arg, Formula
from archspec.backends.source_text import attribute_ok, literal


@dataclass
class Parameters:
    """A class's constructor parameters (see ``parametrise``)."""

    names: list[str] = field(default_factory=list)  # in order: those without a default first
    defaults: list[Any] = field(default_factory=list)  # per parameter, its default (or NO_DEFAULT)
    of_slot: dict[int, int] = field(default_factory=dict)  # literal slot -> the parameter it takes
    # Parameters that follow from another in every instance, as locals of __init__: (name, expression).
    derived: list[tuple[str, str]] = field(default_factory=list)
    derived_of_slot: dict[int, str] = field(default_factory=dict)  # slot -> the local it reads


def _parameter_vectors(slots: list[list[Arg | None]]) -> tuple[list[list[str | None]], dict[int, int]]:
    """The constructor parameters of a class: for each, its value (as source) in each instance, and the
    parameter each literal slot takes.

    A slot whose values differ between instances becomes a parameter, or joins the first parameter
    whose values agree with its own wherever both have one (None: a slot of the optional step, which
    the instance lacks). Slots with one value everywhere stay literals; so do those of the optional
    step with one value wherever they are present, unless they can join a parameter of the same name.
    """
    vectors: list[list[str | None]] = []
    names: list[str] = []  # per parameter, the name of its first use
    param_of_slot: dict[int, int] = {}
    for slot in range(len(slots[0])):
        values = [None if inst[slot] is None else literal(inst[slot].value) for inst in slots]  # type: ignore[union-attr]
        constant = len({v for v in values if v is not None}) == 1
        if constant and None not in values:
            continue
        name = next(inst[slot].name for inst in slots if inst[slot] is not None)  # type: ignore[union-attr]
        for param, vector in enumerate(vectors):
            if constant and names[param] != name:
                continue  # a literal `kernel_size=1` never becomes some parameter that happens to be 1
            if all(a is None or b is None or a == b for a, b in zip(vector, values, strict=True)):
                vectors[param] = [a if a is not None else b for a, b in zip(vector, values, strict=True)]
                break
        else:
            # One value wherever the slot is present: a literal, unless a parameter above agrees
            # with it there (a downsample's `stride=2` is the block's `stride` where it has one).
            if constant:
                continue
            param = len(vectors)
            vectors.append(values)
            names.append(name)
        param_of_slot[slot] = param
    return vectors, param_of_slot


# A parameter that is a fixed multiple of an earlier one in every instance (ResNet's `out_channels` is
# `width * 4`) is written as that multiple; at least this many distinct values of the earlier one must
# show the relation, so that two instances that happen to agree do not make one.
_DERIVED_EVIDENCE = 3
_DERIVED_FACTORS = range(1, 9)


def _derived_parameters(values: list[list[Any]]) -> dict[int, tuple[int, str]]:
    """The parameters that follow from an earlier one in every instance (``values``: per parameter, its
    value in each instance): parameter -> (the earlier parameter, a template with ``{}`` for its name:
    ``{} * 4``, ``({}, 1, 1)``)."""
    derived: dict[int, tuple[int, str]] = {}
    for param, vector in enumerate(values):
        for base in range(param):
            template = None if base in derived else _template(vector, values[base])
            if template is not None:
                derived[param] = (base, template)
                break
    return derived


def _template(values: list[Any], bases: list[Any]) -> str | None:
    """How ``values`` is written from ``bases`` in every instance (an integer multiple of it, or a tuple
    of such multiples and constants), or None. A value that names a network parameter (``Formula``:
    ``embed_dim * 2``) counts by its number, and a multiple must name the same parameter, multiplied
    alike (a constant must name none), so that the relation holds for other values of it too."""
    found = _numbers_template([_number(v) for v in values], [_number(b) for b in bases])
    if found is None:
        return None
    template, factors = found
    for value, base in zip(values, bases, strict=True):
        parts = list(value) if type(_number(value)) is tuple else [value]
        for part, factor in zip(parts, factors, strict=True):
            expected = None if factor is None else _scaled(_origin(base), factor)
            if _origin(part) != expected:
                return None
    return template


def _number(value: Any) -> Any:
    """A literal's number (a ``Formula``'s value), elementwise in a tuple."""
    if isinstance(value, Formula):
        return value.value
    if isinstance(value, tuple):
        return tuple(_number(v) for v in value)
    return value


def _origin(value: Any) -> tuple[str, int] | None:
    """The network parameter a literal names and its integer multiplier (``embed_dim * 2``: 2); None
    for a plain number; its text and 0 for one written otherwise (``width // 2``), which only the same
    text matches."""
    if not isinstance(value, Formula):
        return None
    match = re.fullmatch(r"(\w+)(?: \* (\d+))?", value.text)
    if match is None:
        return value.text, 0
    return match.group(1), int(match.group(2) or 1)


def _scaled(origin: tuple[str, int] | None, factor: int) -> tuple[str, int] | None:
    """A multiple's origin: the base's parameter, its multiplier times ``factor``."""
    return None if origin is None else (origin[0], origin[1] * factor)


def _numbers_template(values: list[Any], bases: list[Any]) -> tuple[str, list[int | None]] | None:
    """``_template`` on numbers: the template, and per part (one, or a tuple's elements) the factor of
    a multiple (None: a constant)."""
    if not all(type(b) is int and b > 0 for b in bases) or len(set(bases)) < _DERIVED_EVIDENCE:
        return None
    if all(type(v) is int for v in values):
        found = _multiple(values, bases)
        return None if found is None else (found, [values[0] // bases[0]])
    size = len(values[0]) if type(values[0]) is tuple else -1
    if not all(type(v) is tuple and len(v) == size and all(type(e) is int for e in v) for v in values):
        return None
    parts, factors = [], []
    for position in range(size):
        column = [v[position] for v in values]
        constant = len(set(column)) == 1
        part = str(column[0]) if constant else _multiple(column, bases)
        if part is None:
            return None
        parts.append(part)
        factors.append(None if constant else column[0] // bases[0])
    return f"({', '.join(parts)}{',' if size == 1 else ''})", factors


def _multiple(values: list[int], bases: list[int]) -> str | None:
    """``{}`` or ``{} * k`` when every value is the same small multiple ``k`` of its base, else None."""
    factor = values[0] // bases[0]
    if factor not in _DERIVED_FACTORS or any(v != factor * b for v, b in zip(values, bases, strict=True)):
        return None
    return "{}" if factor == 1 else f"{{}} * {factor}"


def _value(arg: Arg | None) -> Any:
    """An argument's value (None where the instance lacks the step)."""
    return None if arg is None else arg.value


def _parameter_name(uses: list[Arg], taken: set[str]) -> str:
    """A name for a constructor parameter (or a derived local) not in ``taken``: ``width`` when it is
    both a layer's ``out_channels`` and a later layer's ``in_channels`` (a block's inner width), else
    its first use's."""
    names = {arg.name for arg in uses}
    name = "width" if {"in_channels", "out_channels"} <= names else uses[0].name
    name = re.sub(r"\W", "_", name)
    if not attribute_ok(name):
        name = "value"
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    return candidate


def _shared_default(uses: list[Arg]) -> Any:
    """The default of a parameter whose every use has the same default (``stride`` -> 1), else
    NO_DEFAULT."""
    defaults = {literal(arg.default) if arg.default is not NO_DEFAULT else None for arg in uses}
    if len(defaults) != 1 or None in defaults:
        return NO_DEFAULT
    return uses[0].default


def fillable(slots: list[list[Arg | None]]) -> bool:
    """Whether every constructor parameter has a value in every instance (not so when a value that
    varies is used only in the optional step: the instances without it could not be given one)."""
    vectors, _ = _parameter_vectors(slots)
    return all(value is not None for vector in vectors for value in vector)


def parametrise(slots: list[list[Arg | None]], flag: str) -> Parameters:
    """Literals that differ between instances become constructor parameters (equal ones share one).

    A parameter is named after what it holds (``_parameter_name``), never as the class's ``flag``. It
    gets a default when every use has the same one (``stride=1``); those come last, as Python requires.
    One that is a fixed multiple of an earlier one in every instance (at least three of its values
    showing it) is not a parameter but a local computed from it, ``out_channels = width * 4``, as
    torchvision writes ``planes * self.expansion``.
    """
    result = Parameters()
    if not slots or not slots[0]:
        return result
    vectors, param_of_slot = _parameter_vectors(slots)
    first_slot = {p: min(slot for slot, q in param_of_slot.items() if q == p) for p in range(len(vectors))}
    derived = _derived_parameters(
        [[_value(inst[first_slot[p]]) for inst in slots] for p in range(len(vectors))]
    )
    uses: list[list[Arg]] = [[] for _ in vectors]
    for slot, param in sorted(param_of_slot.items()):
        arg = slots[0][slot]
        assert arg is not None  # the first instance has every step
        uses[param].append(arg)
    defaults = [_shared_default(args) for args in uses]
    kept = [p for p in range(len(vectors)) if p not in derived]
    order = sorted(kept, key=lambda p: defaults[p] is not NO_DEFAULT)
    result.of_slot = {slot: order.index(p) for slot, p in param_of_slot.items() if p not in derived}
    taken = {flag}
    names: dict[int, str] = {}
    for param in [*order, *sorted(derived)]:
        names[param] = _parameter_name(uses[param], taken)
        taken.add(names[param])
    for param in order:
        result.names.append(names[param])
        result.defaults.append(defaults[param])
    # A derived parameter is a local of __init__ under its own name: `out_channels = width * 4`.
    result.derived = [(names[p], derived[p][1].format(names[derived[p][0]])) for p in sorted(derived)]
    result.derived_of_slot = {slot: names[p] for slot, p in param_of_slot.items() if p in derived}
    return result
