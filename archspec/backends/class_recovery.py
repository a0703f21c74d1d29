"""Class recovery: which containers of the elaborated graph are instances of one generated class.

Containers are described as emit IR (``emit_describe``) a level at a time, children first, and grouped
by their structure (``ClassShape.key``: the IR with literal values left out and generated classes
compared by identity) and the name they would take (``class_base``). Groups of one block that differ by
one step then merge into one class with a flag (``merge_optional``), and each class's literals that
vary between its instances become its parameters (``class_params``). Classes are named last, once all
are known (``name_classes``); the IR holds the classes themselves, so a name is read where it is written.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from archspec.backends.class_params import fillable, parametrise
from archspec.backends.emit_describe import Describer
from archspec.backends.emit_ir import Call, ClassShape
from archspec.backends.plan import ContainerPlan
from archspec.backends.source_entry import Arg
from archspec.backends.source_text import BUILTINS, GLOBALS, RESERVED, attribute_ok, class_base
from archspec.ir import Graph


@dataclass(eq=False)
class RecoveredClass:
    """A generated class: one per distinct structure of a block (compared by identity)."""

    base: str  # the name it takes unless another class took it first
    shape: ClassShape  # its first instance's
    key: Any  # ``shape.key()``: what every instance's structure is
    name: str = ""  # set by ``name_classes``
    instances: list[ContainerPlan] = field(default_factory=list)
    # Per instance, the literal args in order; None where the instance lacks the optional step.
    slots: list[list[Arg | None]] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    param_of_slot: dict[int, int] = field(default_factory=dict)
    # Parameters that follow from another in every instance, as locals of __init__: (name, expression).
    derived: list[tuple[str, str]] = field(default_factory=list)
    derived_of_slot: dict[int, str] = field(default_factory=dict)  # slot -> the local it reads
    optional: int | None = None  # the step of the first instance that some instances lack
    flag: str = ""  # the constructor parameter that says whether an instance has it
    present: list[bool] = field(default_factory=list)  # per instance: whether it has the optional step
    defaults: list[Any] = field(default_factory=list)  # per parameter, its default (or NO_DEFAULT)

    def slot_of(self, param: int, instance: int) -> Arg:
        """The value constructor parameter ``param`` takes in ``instance`` (its first slot there)."""
        values = self.slots[instance]
        for slot in sorted(s for s, p in self.param_of_slot.items() if p == param):
            value = values[slot]
            if value is not None:
                return value
        raise AssertionError("every parameter has a value in every instance (checked when merged)")

    def call(self, instance: ContainerPlan) -> Call:
        """How ``instance`` is constructed: this class with its arguments, the flag last."""
        index = self.instances.index(instance)
        args = [
            Arg(self.slot_of(p, index).value, name, default=self.defaults[p], hint=name)
            for p, name in enumerate(self.params)
        ]
        if self.optional is not None:
            args.append(Arg(self.present[index], self.flag, default=False, hint=self.flag))
        return Call("", tuple(args), cls=self)


def without(plan: ContainerPlan, index: int) -> ContainerPlan:
    """``plan`` without step ``index``, whose readers read its first input instead."""
    step = plan.steps[index]
    alias = step.inputs[0]

    def read(value: int) -> int:
        return alias if value == step.output else value

    steps = [
        dataclasses.replace(s, inputs=tuple(read(v) for v in s.inputs))
        for k, s in enumerate(plan.steps)
        if k != index
    ]
    return dataclasses.replace(plan, steps=steps, output=read(plan.output))


def flag_name(plan: ContainerPlan, index: int) -> str:
    """The constructor flag for optional step ``index``: its name (``downsample``), or what it does."""
    step = plan.steps[index]
    if (
        attribute_ok(step.local)
        and step.local[:1].islower()  # never a class's name (CapWords) that the constructor calls
        and step.local not in BUILTINS | GLOBALS  # `super`, `matches`: the file uses them
    ):
        return step.local  # the flag and the attribute share the name: `self.downsample = ... or None`
    if step.node is not None and step.node.op.shortcut_merge:
        base = "residual"  # an inverted residual's `x + inp`
    else:
        base = "with_" + re.sub(r"\W", "_", step.node.op.kind if step.node is not None else "block")
    taken = {s.local for s in plan.steps} | RESERVED | GLOBALS | BUILTINS
    name, n = base, 2
    while name in taken:  # the flag is also an attribute (`self.residual`): no layer may have its name
        name, n = f"{base}_{n}", n + 1
    return name


class ClassRecovery:
    """The classes of one graph's containers (see the module docstring), in the order first made."""

    def __init__(self, graph: Graph, root: ContainerPlan, describer: Describer) -> None:
        self.graph = graph
        self.root = root
        self.describer = describer
        self.class_of: dict[int, RecoveredClass] = {}  # id(container plan) -> its class
        self.classes: list[RecoveredClass] = []
        containers = [c for c in root.walk() if not describer.is_sequential(c)]
        height = self.levels(containers)
        for level in sorted({height[id(c)] for c in containers}):
            groups: dict[tuple[str, Any], RecoveredClass] = {}
            for c in sorted((c for c in containers if height[id(c)] == level), key=lambda c: c.output):
                shape = self.describe(c)
                base = class_base(c, graph, c is root)
                key = (base, shape.key())
                if key not in groups:
                    groups[key] = RecoveredClass(base, shape, key[1])
                    self.classes.append(groups[key])
                groups[key].instances.append(c)
                groups[key].slots.append(list(shape.slots()))
                groups[key].present.append(True)
                self.class_of[id(c)] = groups[key]
            for cls in self.merge_optional(list(groups.values())):
                found = parametrise(cls.slots, cls.flag)
                cls.params, cls.defaults, cls.param_of_slot = found.names, found.defaults, found.of_slot
                cls.derived, cls.derived_of_slot = found.derived, found.derived_of_slot
        self.name_classes()

    @property
    def root_class(self) -> RecoveredClass:
        """The network's class."""
        return self.class_of[id(self.root)]

    def describe(self, plan: ContainerPlan) -> ClassShape:
        """A container's emit IR, its children's classes already recovered."""
        return self.describer.shape(plan, lambda child: self.class_of[id(child)].call(child))

    def levels(self, containers: list[ContainerPlan]) -> dict[int, int]:
        """The order classes are made in: a container after its children, and every container of one
        block at the same level (so that its classes can merge: ResNet's first ``Bottleneck`` holds a
        ``downsample`` sequence, the others hold nothing)."""
        bases = {id(c): class_base(c, self.graph, c is self.root) for c in containers}
        members: dict[str, list[int]] = {}  # each block's containers
        for key, base in bases.items():
            members.setdefault(base, []).append(key)
        level: dict[int, int] = {}
        for _ in range(len(containers) + 1):
            changed = False
            for c in self.root.walk():  # children first
                new = max((level.get(id(s.child), 0) + 1 for s in c.steps if s.child is not None), default=0)
                if id(c) in bases:
                    new = max(new, *(level.get(other, 0) for other in members[bases[id(c)]]))
                if level.get(id(c)) != new:
                    level[id(c)], changed = new, True
            if not changed:
                break
        return level

    def merge_optional(self, classes: list[RecoveredClass]) -> list[RecoveredClass]:
        """Merge the classes of one block that differ by one step (ResNet's ``downsample``, an inverted
        residual's ``x + inp``) into one class with a flag, as torchvision writes ``Bottleneck`` with an
        optional ``downsample``: removing that step from the first class's structure, its output read
        as its input, must give the second's structure exactly. The classes left, in order."""
        merged: set[int] = set()  # ids of the classes merged into another
        for full in classes:
            for lacking in classes:
                if (
                    full is not lacking
                    and id(full) not in merged
                    and id(lacking) not in merged
                    and full.base == lacking.base
                    and full.optional is None  # one optional step per class
                    and lacking.optional is None
                    and self.merge_into(full, lacking)
                ):
                    merged.add(id(lacking))
        self.classes = [c for c in self.classes if id(c) not in merged]
        return [c for c in classes if id(c) not in merged]

    def merge_into(self, full: RecoveredClass, lacking: RecoveredClass) -> bool:
        """Merge ``lacking`` into ``full`` if it is ``full`` without one step; whether it was."""
        first = full.instances[0]
        marks = full.shape.marks()
        for index, step in enumerate(first.steps):
            if not step.inputs:
                continue
            if self.describe(without(first, index)).key() != lacking.key:
                continue
            place = first.registration.index(index)  # members come in __init__'s (registration) order
            start, end = marks[place], marks[place + 1]
            slots = [[*inst[:start], *([None] * (end - start)), *inst[start:]] for inst in lacking.slots]
            if not fillable(full.slots + slots):
                continue  # a value used only in the optional step would be unknown for the others
            full.optional, full.flag = index, flag_name(first, index)
            full.instances += lacking.instances
            full.slots += slots
            full.present += [False] * len(lacking.instances)
            for instance in lacking.instances:
                self.class_of[id(instance)] = full
            return True
        return False

    def name_classes(self) -> None:
        """Name every class, in order of first appearance, ``_2`` for a second structure: the network's
        class first, then the blocks' (names the spec wrote), then the groups' (names made from an
        attribute): a group ``encoder:`` around blocks ``Encoder`` is ``EncoderGroup``."""
        taken: set[str] = set()

        def rank(cls: RecoveredClass) -> tuple[int, int]:
            first = cls.instances[0]
            kind = 0 if first is self.root else 1 if first.scope.block else 2
            return kind, min(s.output for s in first.steps)

        for cls in sorted(self.classes, key=rank):
            name, n = cls.base, 2
            if name in taken and rank(cls)[0] == 2 and f"{cls.base}Group" not in taken:
                name = f"{cls.base}Group"
            while name in taken:
                name, n = f"{cls.base}_{n}", n + 1
            taken.add(name)
            cls.name = name
