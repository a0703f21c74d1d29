"""The network's parameters as constructor arguments of the generated classes: ``ResNet50(num_classes=10)``.

One generation places them. Before the file is written, the origins of the graph's numbers (a traced
elaboration, ``elab.origins``) give, for each numeric parameter, the graph for two other values of it
(``substitute``: computed, not elaborated again). Comparing each step's constructor (the emit IR's
leaves: ``SourceOp.source`` / ``parameter_source`` of the step's op in both graphs) says which literal
arguments hold the parameter's value; those arguments are marked in the emit IR (``Exposure.mark``:
``Formula(value, name)``, a literal written as the name), class recovery then compares and parametrises
classes on the literals as written (``hidden_dim`` is one literal, whatever its value), and the
renderer writes each class that uses a parameter with it as an argument (``emit_render``). No second
file is generated and no text is compared.

The rule: a parameter is exposed when

- its value is a number (not a bool, a list or a block) and its name can be a Python argument that
  shadows no name the file defines at module level nor a builtin;
- for two other values the spec accepts (``_candidates``: multiples first, so that ViT's width stays a
  multiple of its head count), the origins compute the graph without elaborating again: the
  parameter decides nothing (an index, a comparison that would come out otherwise, how a buffer's
  values are computed, a loop or repeat count but as below): such a parameter stays a literal (Swin
  V2's ``window_size``, MaxViT's ``partition_size``);
- a loop or repeat count (``_counts``) is no decision when the count is exactly the parameter (it
  comes out as each other value), the file writes the copies as one ``nn.Sequential`` of numbered or
  positional steps that are exactly the repeat group's copies (``ContainerPlan.loop_group``), the
  body reads neither the count nor its loop variable (``loop_marker``: no guard and no op depends on
  it), and every copy keeps the shape that flows in (nothing after the loop depends on the count):
  the copies are then alike for every count; the substitution waives those count guards (the graph
  keeps the copies), the parameter's other uses must be exposed as the rest of this rule says, and
  the loop is written over the parameter (``Sequential.count``: ViT's ``for i in range(num_layers)``,
  ``*[... for _ in range(depth)]``), the class that holds it taking it;
- in both graphs every op it changes is written in a class's ``__init__`` (a module, an
  ``nn.Parameter``), never in ``forward`` or as a buffer's values, and there every argument that
  changes went exactly from the parameter's value to the other value (a tuple: element by element),
  or from an integer multiple or part of it to the same multiple or part of the other (Swin's stage
  widths, written ``embed_dim * 2``; ``width // 2``), or is an argument the spec computes from it by
  arithmetic outside blocks (``Node.formulas``: ViT's ``(image_size // patch_size) ** 2 + 1``,
  written as that formula over the exposed parameters);
  the init functions come out the same; and the two values change the same arguments (so that a
  number that only happens to equal the parameter's value is not taken for it). The input's shape
  may change: the example under ``if __name__ == "__main__":`` keeps the default;
- no class that takes it already has a parameter, a local or a flag of that name.

A class takes a parameter when one of its literals (as its instances share them) names it, or it
constructs a class that takes it (and passes it down: ViT's ``EncoderBlock(hidden_dim=hidden_dim,
...)``); the network's class and ``build()`` take every exposed parameter with the spec's value as
default, as torchvision's classes do.
"""

from __future__ import annotations

import dataclasses
import keyword
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from archspec.backends.emit_describe import Describer
from archspec.backends.emit_ir import Built, Call, Expr, Sequential
from archspec.backends.plan import ContainerPlan, Step
from archspec.backends.source_entry import Ctor, Formula
from archspec.backends.source_ops import SOURCE_OPS, source_op
from archspec.backends.source_tensor import batch_aware_inline, register_buffer
from archspec.backends.source_text import BUILTINS, GLOBALS, RESERVED, numbered
from archspec.elab.origins import BufferChanged, Tracer, substitute, value_for
from archspec.elab.traced import deps_of, loop_marker
from archspec.ir import Graph, Node
from archspec.ops import Op

# Names an import line of the file binds beside RESERVED and GLOBALS (`from collections.abc import ...`).
_IMPORTED = frozenset({"collections", "abc", "typing", "TypeVar", "einops", "functional", "__future__"})
# Names a class's __init__ may bind itself: the loop variables of its list comprehensions and generators.
_LOCALS = frozenset({"i", "_"})

# A place in a step's constructor: (argument index, element index..., how it is written): the last is
# "" for the parameter itself, " * 4" or " // 2" for a multiple or a part of it, "formula" for an
# argument written as the spec's formula (``Node.formulas``).
Path = tuple[Any, ...]


@dataclass(frozen=True)
class Exposed:
    """A parameter of the network class: its name and default."""

    name: str
    default: int | float

    @property
    def annotation(self) -> str:
        """``int`` or ``float``."""
        return "int" if isinstance(self.default, int) else "float"


@dataclass
class Exposure:
    """The exposed parameters (in the spec's order) and, per node, the places in its constructor's
    arguments that each holds."""

    params: list[Exposed]
    places: dict[int, dict[Path, str]]  # node -> path of an argument (or element) -> parameter
    loops: dict[int, str] = dataclasses.field(default_factory=dict)  # repeat group -> its count's parameter

    @property
    def names(self) -> set[str]:
        """The exposed parameters' names."""
        return {p.name for p in self.params}

    def without(self, names: set[str]) -> Exposure:
        """This exposure less the parameters ``names``."""
        places = {
            node: {path: name for path, name in found.items() if name not in names}
            for node, found in self.places.items()
        }
        loops = {group: name for group, name in self.loops.items() if name not in names}
        return Exposure([p for p in self.params if p.name not in names], places, loops)

    def mark(self, ctor: Ctor, node: Node) -> Ctor:
        """``ctor`` (the node's constructor) with each place of an exposed parameter written as its name
        (``Formula(value, name)``)."""
        found = self.places.get(node.id)
        if not found:
            return ctor
        args = list(ctor.args)
        for path, name in found.items():
            index, *inner, how = path
            if how == "formula":
                continue  # written as its formula over the exposed parameters (``with_formulas``)
            value = _marked(args[index].value, inner, name + how)
            args[index] = dataclasses.replace(args[index], value=value)
        return dataclasses.replace(ctor, args=tuple(args))


def _marked(value: Any, inner: Sequence[int], text: str) -> Any:
    """``value`` with the element at ``inner`` (itself where empty) written as ``text``."""
    if not inner:
        return Formula(value, text)
    items = list(value)
    items[inner[0]] = _marked(items[inner[0]], inner[1:], text)
    return tuple(items)


def find_exposure(graph: Graph, tracer: Tracer, describer: Describer, plan: ContainerPlan) -> Exposure:
    """The parameters to expose and their places (see the module docstring; the clash with a class's
    own names is checked once classes are recovered, ``clashes``)."""
    from archspec.backends.init_plan import InitPlan
    from archspec.backends.init_source import InitSource

    # Each op's step, and whether it is written in ``forward`` (an ``nn.Sequential`` holds modules only).
    steps = {
        s.node.id: (s, not describer.is_sequential(c) and describer.inlined(s))
        for c in plan.walk()
        for s in c.steps
        if s.node is not None
    }
    taken = _module_names(describer, graph)
    init_text = _init_text(InitSource(InitPlan(graph))) if graph.init else None
    written = _written_loops(describer, plan)
    params: list[Exposed] = []
    places: dict[int, dict[Path, str]] = {}
    loops: dict[int, str] = {}
    for name, value in graph.params.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not _usable(name, taken):
            continue
        counts = _counts(graph, tracer, name, value, written) if isinstance(value, int) else {}
        found = _places(graph, tracer, describer, steps, name, value, init_text, frozenset(counts))
        if found is not None and (found or counts):
            params.append(Exposed(name, value))
            for node, path in found:
                places.setdefault(node, {})[path] = name
            loops.update((group, name) for group in counts.values())
    return Exposure(params, places, loops)


def _written_loops(describer: Describer, plan: ContainerPlan) -> set[int]:
    """The repeat groups whose copies the file writes as one ``nn.Sequential`` of numbered or
    positional steps (``ContainerPlan.loop_group``), which a loop can write."""
    found = set()
    for container in plan.walk():
        group = container.loop_group
        if group is None or not describer.is_sequential(container):
            continue
        names = [s.local for s in container.steps]
        if numbered(names) is not None or names == [str(k) for k in range(len(names))]:
            found.add(group)
    return found


def _counts(graph: Graph, tracer: Tracer, name: str, value: int, written: set[int]) -> dict[int, int]:
    """The loops and repeats whose count is exactly the parameter (by the guard that records it ->
    repeat group), that the file writes as a loop, whose body reads neither the count nor its loop
    variable and whose copies keep the shape of what flows in (so that what follows does not depend
    on the count); empty unless every loop or repeat the parameter counts is so."""
    found: dict[int, int] = {}
    for index, group in tracer.counts.items():
        count, flow = tracer.loops[group]
        if name not in deps_of(count):
            continue
        marker = loop_marker(group)
        if (
            deps_of(count) != {name}
            or group not in written
            or len(flow) != int(count) + 1
            or len({graph.nodes[x].shape for x in flow}) != 1
            or any(marker in deps for _, deps, _, _ in tracer.guards)
            or any(marker in deps for deps in tracer.deps.values())
            or not all(_counts_as(count, graph, name, other) for other in _candidates(value))
        ):
            return {}
        found[index] = group
    return found


def _counts_as(count: Any, graph: Graph, name: str, other: int | float) -> bool:
    """Whether the traced count comes out as the parameter's value ``other``."""
    try:
        again = value_for(count, graph, {name: other})
    except (ArithmeticError, ValueError, TypeError, KeyError, IndexError):
        return False
    return type(again) is type(other) and again == other


def _init_text(init: Any) -> list[str]:
    return [*init.functions(), *init.init_weights()]


def _usable(name: str, taken: set[str]) -> bool:
    """A parameter name that can be a Python argument and shadows no module-level name or builtin."""
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        return False
    return name not in taken


def _module_names(describer: Describer, graph: Graph) -> set[str]:
    """Names the file may define or import at module level (its classes are checked once named)."""
    from archspec.backends.init_source import rule_names
    from archspec.backends.source_text import LAYER_ORDER
    from archspec.backends.torch_source import definitions

    names = set(RESERVED | GLOBALS | BUILTINS | _IMPORTED) | set(rule_names(graph.init).values())
    layers = definitions("torch_layers.py")
    for layer in LAYER_ORDER:  # every custom layer the file may copy, and the helpers it defines
        names.update(re.findall(r"^(?:class|def) (\w+)", layers[layer], re.MULTILINE))
    for node in graph.nodes:
        entry = SOURCE_OPS.get(node.op.kind)
        for line in entry.imports if entry is not None else ():  # `from einops import rearrange`
            names.update(re.findall(r"\w+", line))
    return names


def _candidates(value: int | float) -> list[int | float]:
    """Values unlike the default and unlike each other, in the order tried (a float stays a probability
    below 1; an integer's multiples first, which keep what divides it dividing it; its halves last,
    which keep what it divides divisible: ViT-B/32's patch size, of which 224 is no multiple of 64 or
    96, is 16 or 8)."""
    if isinstance(value, int):
        tried = [value * 2, value * 3, value // 2, value * 2 + 3, value * 3 + 4, value // 4]
        return list(dict.fromkeys(v for v in tried if v != value and v > 0))
    return [round(value / (2 + attempt) + 0.0625 * (attempt + 1), 6) for attempt in range(2)]


def _places(
    graph: Graph,
    tracer: Tracer,
    describer: Describer,
    steps: dict[int, tuple[Step, bool]],
    name: str,
    value: int | float,
    init_text: list[str] | None,
    counts: frozenset[int] = frozenset(),
) -> frozenset[tuple[int, Path]] | None:
    """Where the parameter's value is in the constructors: the places two accepted other values agree
    on (None: not exposed; empty: nowhere but the loop counts ``counts``, guards not checked)."""
    agreed: frozenset[tuple[int, Path]] | None = None
    for other in _candidates(value):
        try:
            changed = substitute(graph, tracer, {name: other}, counts)
        except BufferChanged:
            continue  # it changes how a buffer's values are computed: no value will do
        if changed is None:
            continue  # a value the spec refuses, or one that decides something otherwise
        found = _differences(graph, changed, describer, steps, name, value, other, init_text)
        if found is None or (not found and not counts) or (agreed is not None and found != agreed):
            return None
        if agreed is not None:
            return agreed
        agreed = found
    return None


def _differences(
    graph: Graph,
    changed: Graph,
    describer: Describer,
    steps: dict[int, tuple[Step, bool]],
    name: str,
    value: int | float,
    other: int | float,
    init_text: list[str] | None,
) -> frozenset[tuple[int, Path]] | None:
    """The places where ``graph``'s constructors hold ``value`` and ``changed``'s hold ``other``; None
    where the two would be written otherwise (anything else changes)."""
    if init_text is not None:
        from archspec.backends.init_plan import InitPlan
        from archspec.backends.init_source import InitSource

        if _init_text(InitSource(InitPlan(changed))) != init_text:
            return None
    found: set[tuple[int, Path]] = set()
    for node, after in zip(graph.nodes, changed.nodes, strict=True):
        if node.op == after.op:
            continue
        if node.id not in steps:
            if node.id == 0:
                continue  # the input: only the example run writes its shape, with the default
            return None
        step, inlined = steps[node.id]
        places = _step_places(describer, step, inlined, node, after.op, name, value, other)
        if places is None:
            return None
        found.update((node.id, path) for path in places)
    return frozenset(found)


def _step_places(
    describer: Describer,
    step: Step,
    inlined: bool,
    node: Node,
    op: Op,
    name: str,
    value: int | float,
    other: int | float,
) -> list[Path] | None:
    """The places in a step's constructor where its op holds ``value`` and ``op`` (the changed one)
    ``other``; None when the step would be written otherwise (in ``forward``, as a buffer's values, a
    constructor that changes otherwise)."""
    entry = source_op(node.op)
    changed_entry = source_op(op)
    if entry is not changed_entry:
        return None
    inplace = node.id in describer.inplace
    if not inlined:
        assert entry.source is not None  # a module
        before, after = entry.source(node.op, inplace), entry.source(op, inplace)
        return _ctor_places(before, after, node, name, value, other)
    if entry.parameter_source is not None:
        before, after = entry.parameter_source(node.op), entry.parameter_source(op)
        return _ctor_places(before, after, node, name, value, other)
    if entry.buffer_source is not None:
        line = register_buffer(step.local, node.op, entry.buffer_source(node.op))
        return [] if line == register_buffer(step.local, op, entry.buffer_source(op)) else None
    assert entry.inline is not None
    inputs = [f"x{k}" for k in range(len(node.inputs))]
    batched = [describer.graph.nodes[i].batched for i in node.inputs]

    def text(of: Op) -> str:
        special = batch_aware_inline(of, inputs, batched, node.batched)
        return special or entry.inline(of, inputs, "self.x", inplace)  # type: ignore[misc]

    return [] if text(node.op) == text(op) else None


def _ctor_places(
    before: Ctor, after: Ctor, node: Node, name: str, value: int | float, other: int | float
) -> list[Path] | None:
    """The arguments (or elements) of a constructor that went from ``value`` to ``other``; None when it
    changed otherwise."""
    if (before.callee, before.close, before.layers) != (after.callee, after.close, after.layers):
        return None
    if len(before.args) != len(after.args):
        return None
    found: list[Path] = []
    for index, (a, b) in enumerate(zip(before.args, after.args, strict=True)):
        if (a.keyword, a.hint) != (b.keyword, b.hint) or not _same(a.default, b.default):
            return None
        field = a.hint or a.keyword
        formula = node.formulas.get(field) if field is not None and node.formulas else None
        if (
            formula is not None
            and a.value == getattr(node.op, field or "", None)
            and re.search(rf"\b{re.escape(name)}\b", formula)
        ):
            found.append((index, "formula"))  # written as its formula over the parameters
            continue
        inner = _value_places(a.value, b.value, value, other)
        if inner is None:
            return None
        found += [(index, *path) for path in inner]
    return found


def _same(a: Any, b: Any) -> bool:
    """Whether two defaults are the same (``NO_DEFAULT`` is only itself)."""
    return a is b or (type(a) is type(b) and a == b)


def _arithmetic(a: Any, b: Any, value: int | float, other: int | float) -> str | None:
    """How ``a`` follows from ``value`` where ``b`` follows so from ``other``: `` * k`` (a multiple) or
    `` // k`` (a part), integers all; else None. (Both other values must agree: a relation of three
    points, ``_places``.)"""
    if not all(type(v) is int and v > 0 for v in (a, b, value, other)):
        return None
    if a % value == 0 and a // value >= 2 and b == a // value * other:
        return f" * {a // value}"
    if value % a == 0 and value // a >= 2 and b == other // (value // a):
        return f" // {value // a}"
    return None


def _value_places(a: Any, b: Any, value: int | float, other: int | float) -> list[Path] | None:
    """Where ``a`` holds ``value`` (or a multiple or part of it, ``_arithmetic``) and ``b`` holds
    ``other`` likewise: element indices in a tuple, then how it is written; None when they differ
    otherwise."""
    if type(a) is type(b) and a == b:
        return []
    if type(a) is type(value) and a == value and type(b) is type(other) and b == other:
        return [("",)]
    how = _arithmetic(a, b, value, other)
    if how is not None:
        return [(how,)]
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        found: list[Path] = []
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            inner = _value_places(x, y, value, other)
            if inner is None:
                return None
            found += [(k, *path) for path in inner]
        return found
    return None


# ---- which classes take which parameters (once classes are recovered) ----


def names_in(value: Any, names: set[str]) -> Iterator[str]:
    """The exposed parameters a literal (as written: a ``Formula`` is its text) names."""
    if isinstance(value, Formula):
        yield from (n for n in re.findall(r"[A-Za-z_]\w*", value.text) if n in names)
    elif isinstance(value, tuple | list):
        for item in value:
            yield from names_in(item, names)


def constructed(expr: Expr) -> Iterator[Any]:
    """The generated classes a constructor tree calls."""
    if isinstance(expr, Built):
        yield from constructed(expr.item)
    elif isinstance(expr, Call):
        if expr.cls is not None:
            yield expr.cls
    elif isinstance(expr, Sequential):
        for item in expr.items:
            yield from constructed(item)


def counted(expr: Expr) -> Iterator[str]:
    """The parameters a constructor tree writes as a loop's count (``Sequential.count``)."""
    if isinstance(expr, Built):
        yield from counted(expr.item)
    elif isinstance(expr, Sequential):
        if expr.count is not None:
            yield expr.count
        for item in expr.items:
            yield from counted(item)


def takers(classes: Sequence[Any], root: Any, exposure: Exposure) -> dict[int, list[str]]:
    """Per class (by id), the exposed parameters it takes, in the spec's order: those its literals
    name (a literal every instance shares, written in its body), and those of every class it
    constructs; the network's class takes them all."""
    names = exposure.names
    uses: dict[int, set[str]] = {}
    calls: dict[int, set[int]] = {}
    for cls in classes:
        rendered = set(cls.param_of_slot) | set(cls.derived_of_slot)
        first = cls.slots[0]
        uses[id(cls)] = {
            n for slot, arg in enumerate(first) if slot not in rendered for n in names_in(arg.value, names)
        }
        members = [m.value for m in cls.shape.members if m.value is not None]
        calls[id(cls)] = {id(c) for value in members for c in constructed(value)}
        uses[id(cls)].update(n for value in members for n in counted(value) if n in names)
    changed = True
    while changed:  # a class takes what the classes it constructs take
        changed = False
        for cls in classes:
            wanted = set().union(*(uses[c] for c in calls[id(cls)]))
            if not wanted <= uses[id(cls)]:
                uses[id(cls)] |= wanted
                changed = True
    uses[id(root)] = set(names)
    order = [p.name for p in exposure.params]
    return {key: [n for n in order if n in found] for key, found in uses.items()}


def clashes(classes: Sequence[Any], taken: dict[int, list[str]]) -> set[str]:
    """The parameters a class that takes them already has a name for (a parameter, a local, its flag,
    a loop variable), or that a class of the file is named."""
    found = {cls.name for cls in classes}
    bad: set[str] = set()
    for cls in classes:
        own = {*cls.params, *(name for name, _ in cls.derived), cls.flag, *_LOCALS}
        bad.update(n for n in taken[id(cls)] if n in own or n in found)
    return bad
