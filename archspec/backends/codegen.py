"""IR to standalone PyTorch source: one readable file that imports only torch.

The module tree is the one ``torch_build`` makes (same ``state_dict`` keys), written the way a person
would write it: one class per block, named after the block (``Bottleneck``), with the arguments that vary
between instances as constructor parameters (``in_channels``, ``width``, ``stride=1``). Instances that
differ by one step share the class with a flag, as torchvision writes ``Bottleneck`` with an optional
``downsample``; a second class (``Bottleneck_2``) appears only for a structure that differs otherwise.
Chains of modules are written as ``nn.Sequential(...)``, runs of identical instances as list
comprehensions; unnamed parameterless layers as functional calls in ``forward`` (the ones the spec names
stay modules, as in torchvision), with the output shape of each line as a comment. The custom layers are
copied from ``torch_layers``. The spec's ``init:`` rules become one function per rule, written out as
literal ``nn.init`` calls; ``build()`` applies them as the in-memory builder does (same seed, same
numbers), through ``init_weights``: a loop over ``model.modules()`` by layer class with the rules
written in place, as torchvision writes it, where that meets exactly the layers the rules name (else
the layers by name).

Safety: spec text reaches the file only through ``repr()``/sanitised text inside docstrings and comments.
Attribute names are the spec's layer names, which lowering validated; they are checked again here
(identifiers become attributes; positions like ``0`` and other names torch allows, like ``block1-0``, go
through ``add_module``/``getattr`` with ``repr``);
local variable and class parameter names are generated.
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import json
import keyword
import math
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archspec.analysis.counts import node_counts
from archspec.analysis.memory import inplace_nodes
from archspec.backends.exposed import expose
from archspec.backends.plan import ContainerPlan, Step, module_lists, module_order, plan_graph
from archspec.backends.source_ops import NO_DEFAULT, SOURCE_OPS, Arg, Ctor, Formula, Leaf, source_op
from archspec.backends.source_tensor import batch_aware_inline, register_buffer
from archspec.backends.tidy import LINE_LENGTH, tidy
from archspec.backends.torch_source import (
    NN_MODULE_ATTRIBUTES,
    class_names,
    definitions,
    layer_bases,
    leaf_classes,
)
from archspec.errors import InternalError, SpecError, UsageError, spec_repr
from archspec.init_rules import (
    after_order,
    built_rules,
    clause_for,
    formula_python,
    rule_text,
)
from archspec.ir import Graph, InitCall, InitRule, Node
from archspec.ops import Op, format_shape
from archspec.python_text import python_expression

_POSITION = re.compile(r"^[0-9]+$")
_RESERVED = {"torch", "nn", "F", "OrderedDict", "build", "init_weights", "self", "annotations", "rearrange"}
# Module-level names a file may also define (helpers, `init_*` rule functions): no class takes them.
_GLOBALS = {
    "math",
    "matches",
    "fans",
    "layer_of",
    "parameters_of",
    "built",
    "Layer",
    "Callable",
    "TypeVar",
}
_BUILTINS = frozenset(dir(builtins))  # `super`, `print`, `True`...: the generated code uses some of them
_LAYER_ORDER = class_names("torch_layers.py")
# torch's layers that a generated file constructs and that hold no submodule, so that an
# ``isinstance(module, nn.Conv2d)`` test in ``init_weights`` meets the layers themselves and nothing
# inside another layer (``nn.MultiheadAttention`` holds a linear subclass, ``nn.Sequential`` anything).
_TORCH_LEAVES = frozenset(
    {
        *("nn.AdaptiveAvgPool2d", "nn.AvgPool2d", "nn.BatchNorm1d", "nn.BatchNorm2d", "nn.Conv2d"),
        *("nn.Dropout", "nn.Flatten", "nn.GELU", "nn.Hardsigmoid", "nn.Hardswish", "nn.Identity"),
        *("nn.LayerNorm", "nn.Linear", "nn.LocalResponseNorm", "nn.MaxPool2d", "nn.ReLU", "nn.ReLU6"),
        *("nn.Sigmoid", "nn.SiLU", "nn.Softmax", "nn.Tanh"),
    }
)


def emit_source(graph: Graph, relower: Callable[[dict[str, Any]], Graph] | None = None) -> str:
    """Standalone PyTorch source for the network (see the module docstring), tidied by ruff.

    ``relower(params)``, when given, elaborates the same spec with other parameter values: the network's
    numeric parameters then become arguments of its class and of ``build()`` (``backends.exposed``).
    """
    emitter = _Emitter(graph)
    text = emitter.emit()
    # Without parameters there is nothing to expose (``expose`` would return the text as it is): no
    # relowering, no tokenizing.
    if relower is not None and graph.params and _same_when_relowered(graph, relower):

        def emit_with(name: str, value: int | float) -> str:
            return _Emitter(relower({**graph.params, name: value})).emit()

        text = expose(text, emitter.root_class, dict(graph.params), emit_with)
    return tidy(text)


def _doc(value: Any) -> str:
    """Spec text made safe for a docstring or a comment: repr'd, one line, no quotes or backslashes."""
    text = value if isinstance(value, str) else spec_repr(value)
    text = repr(text)[1:-1]
    return "".join(c for c in text if c.isprintable()).replace("\\", "/").replace('"', "'")


def _docstring(text: str, indent: int) -> list[str]:
    """A docstring wrapped at ``LINE_LENGTH`` columns, as a careful person writes one."""
    pad = " " * indent
    if len(pad) + len(text) + 6 <= LINE_LENGTH:
        return [f'{pad}"""{text}"""']
    wrapped = textwrap.wrap(text, width=LINE_LENGTH - indent - 3)
    return [f'{pad}"""{wrapped[0]}', *(f"{pad}{line}" for line in wrapped[1:]), f'{pad}"""']


def _same_when_relowered(graph: Graph, relower: Callable[[dict[str, Any]], Graph]) -> bool:
    """Whether elaborating the spec again with the graph's own parameters gives the same graph (not so
    for a graph changed by hand): only then can parameters be exposed."""
    try:
        return relower(dict(graph.params)) == graph
    except SpecError:
        return False


def _runs(items: Sequence[str]) -> list[tuple[str, int]]:
    """Consecutive equal items as (item, count) pairs."""
    runs: list[tuple[str, int]] = []
    for item in items:
        if runs and runs[-1][0] == item:
            runs[-1] = (item, runs[-1][1] + 1)
        else:
            runs.append((item, 1))
    return runs


def _numbered(steps: Sequence[Step]) -> str | None:
    """The common prefix of steps named ``<prefix>0``, ``<prefix>1``, ... in order (at least two), when
    it is plain enough to sit in an f-string (letters, digits, underscores); else None."""
    matches = [re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*?)(0|[1-9][0-9]*)", s.local) for s in steps]
    if len(steps) < 2 or not all(matches):
        return None
    prefixes = {m.group(1) for m in matches if m is not None}
    numbers = [int(m.group(2)) for m in matches if m is not None]
    return prefixes.pop() if len(prefixes) == 1 and numbers == list(range(len(steps))) else None


def _literal(value: Any) -> str:
    if isinstance(value, Formula):
        return value.text
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, bool | int | float | str) or value is None:
        return repr(value)
    if isinstance(value, tuple | list):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise InternalError(f"cannot write {value!r} as source")  # an op field of a type it cannot hold


def _atom(value: Any) -> str:
    """A number as an operand Python reads as one: a negative one in parentheses (`(-3) ** 2` is 9,
    `-3 ** 2` is -9)."""
    text = _literal(value)
    return f"({text})" if value < 0 else text


def _type_name(value: Any) -> str:
    """The annotation of one literal: ``int``, ``tuple[int, int]``, ``None``."""
    if value is None:
        return "None"
    if isinstance(value, tuple | list):
        return f"tuple[{', '.join(_type_name(v) for v in value)}]" if value else "tuple[()]"
    return type(value.value if isinstance(value, Formula) else value).__name__


def _annotation(values: Sequence[Any]) -> str:
    """The annotation of a constructor parameter that takes ``values`` (``int | tuple[int, int]``)."""
    names = list(dict.fromkeys(_type_name(v) for v in values))
    return " | ".join(names)


def _rule_names(rules: Sequence[InitRule]) -> dict[int, str]:
    """A function name for each rule, after what it targets: ``init_conv`` (an op), ``init_heads_head``
    (the name pattern ``heads.head``), ``init_mlp`` (``when built: mlp``); where two rules would share
    a name, each says how it differs (``init_mlp_when_built``, ``init_conv_by_name``), then counts."""
    bases = []
    for number, rule in enumerate(rules, 1):
        target = re.sub(r"\W+", "_", rule.target).strip("_")
        bases.append(
            f"init_{target}" if target and f"init_{target}".isidentifier() else f"init_rule_{number}"
        )
    names: dict[int, str] = {}
    taken = {"init_weights"}  # the file's own function (a rule for layers named `weights`)
    for rule, base in zip(rules, bases, strict=True):
        if bases.count(base) > 1 or base in taken:
            base += "_when_built" if rule.when == "built" else "_by_name" if rule.pattern is not None else ""
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names[id(rule)] = name
    return names


def _rule_function(rule: InitRule, name: str) -> list[str]:
    """One rule as a function over (name, tensor) pairs: each tensor set by the first clause naming it."""
    lines = [
        f"def {name}(parameters: list[tuple[str, torch.Tensor]]) -> None:",
        *_docstring(_doc(rule_text(rule)), 4),
        "    for key, p in parameters:",
    ]
    for index, call in enumerate(rule.calls):
        lines.append(f"        {'if' if index == 0 else 'elif'} matches(key, {call.parameter!r}):")
        lines += _init_call(call, "p", "            ")
    if not rule.calls:
        lines.append("        pass")
    return lines


def _init_call(call: InitCall, tensor: str, indent: str) -> list[str]:
    """One clause of a rule on ``tensor``: its ``nn.init`` call, after the fans its formulas use."""
    args = [tensor, *(f"{k}={_literal(v)}" for k, v in call.args.items())]
    lines = []
    if call.formulas:
        lines.append(f"{indent}{_fan_names(call.formulas.values())} = fans({tensor})")
        args += [f"{k}={formula_python(v)}" for k, v in call.formulas.items()]
    return [*lines, f"{indent}nn.init.{call.function}_({', '.join(args)})"]


def _fan_names(formulas: Iterable[str]) -> str:
    """``fan_in, fan_out`` as the formulas use them (an unused one is ``_``)."""
    text = " ".join(formulas)
    used = [name if re.search(rf"\b{name}\b", text) else "_" for name in ("fan_in", "fan_out")]
    return ", ".join(used)


def _attribute_ok(name: str) -> bool:
    """Whether ``self.<name>`` means the attribute ``name``: not for a keyword, nor for ``__x``, which
    Python would mangle to ``_Class__x`` inside a class body (and so change the state-dict key)."""
    mangled = name.startswith("__") and not name.endswith("__")
    return name.isidentifier() and not keyword.iskeyword(name) and name not in _RESERVED and not mangled


def _check_local(name: str, where: str) -> None:
    # Identifiers become attributes; any other name (positions, "block1-0", keywords) goes through
    # add_module/getattr with repr(), as torch allows any name without a dot.
    if not name or "." in name or not name.isprintable() or name in NN_MODULE_ATTRIBUTES:
        raise UsageError(
            f"layer name {name!r} in {where or 'the network'} cannot name a torch module attribute"
        )


def root_class_name(identifier: str, written: str | None) -> str:
    """The network's class in PEP 8's CapWords, from its spec name and the name its paper writes
    (metadata ``name``): ``resnet50`` and ``ResNet`` give ``ResNet50``; ``vgg16_bn`` and ``VGG`` give
    ``VGG16Bn``; a written name that names one variant (``ResNet-20``) lends its longest leading words
    that begin the spec name, so every variant is spelt alike (``resnet56`` gives ``ResNet56``); without
    a written name, or one whose first word does not begin the spec name, ``vit_b_16`` gives ``VitB16``.
    (Not yet checked to be an identifier: the caller does that.)"""
    for words in _leading_words(written or ""):
        end = _spelt(identifier, words)
        if end is not None:
            return re.sub(r"[^0-9A-Za-z]", "", words) + _cap_words(identifier[end:])
    return _cap_words(identifier)


def _cap_words(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"\W|_", text))


def _leading_words(written: str) -> list[str]:
    """``ResNet-20``, then ``ResNet``: the written name cut at each word boundary (punctuation, a change
    between letters and digits; not inside a word: `LeNet` does not lend `Le` to `lecun1989`), longest
    first."""
    cuts = [
        k
        for k in range(1, len(written) + 1)
        if k == len(written) or not written[k].isalnum() or written[k - 1].isdigit() != written[k].isdigit()
    ]
    return [written[:k] for k in reversed(cuts) if written[k - 1].isalnum()]


def _spelt(identifier: str, words: str) -> int | None:
    """Where ``identifier`` ends spelling ``words`` (case and `_` aside), or None when it does not."""
    letters = re.sub(r"[^0-9a-z]", "", words.lower())
    matched = 0
    for end, char in enumerate(identifier, 1):
        if char.lower() == letters[matched]:
            matched += 1
        elif char != "_":
            return None
        if matched == len(letters):
            return end
    return None


def _class_base(plan: ContainerPlan, graph: Graph, root: bool) -> str:
    if root:
        raw = root_class_name(graph.variant or graph.network, graph.metadata.name)
    elif plan.scope.block:
        raw = plan.scope.block
    else:
        raw = "".join(part.capitalize() for part in plan.local.split("_"))
    # Leading underscores go: `__builtins__`, `__name__` or `__class__` as a class name would change
    # what the generated file means (and a leading `__` is mangled inside a class body).
    name = re.sub(r"\W", "_", raw).lstrip("_")
    name = name[:1].upper() + name[1:] if name else "Module"
    if not name.isidentifier() or keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name = "Module_" + re.sub(r"\W", "", name)
    if name in _RESERVED or name in _GLOBALS or name in _LAYER_ORDER or name in _BUILTINS:
        name += "_"
    return name if name.isidentifier() else "Module"


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
        values = [None if inst[slot] is None else _literal(inst[slot].value) for inst in slots]  # type: ignore[union-attr]
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
    of such multiples and constants), or None."""
    if not all(type(b) is int and b > 0 for b in bases) or len(set(bases)) < _DERIVED_EVIDENCE:
        return None
    if all(type(v) is int for v in values):
        return _multiple(values, bases)
    size = len(values[0]) if type(values[0]) is tuple else -1
    if not all(type(v) is tuple and len(v) == size and all(type(e) is int for e in v) for v in values):
        return None
    parts = []
    for position in range(size):
        column = [v[position] for v in values]
        part = str(column[0]) if len(set(column)) == 1 else _multiple(column, bases)
        if part is None:
            return None
        parts.append(part)
    return f"({', '.join(parts)}{',' if size == 1 else ''})"


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
    if not _attribute_ok(name):
        name = "value"
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    return candidate


def _shared_default(uses: list[Arg]) -> Any:
    """The default of a parameter whose every use has the same default (``stride`` -> 1), else
    NO_DEFAULT."""
    defaults = {_literal(arg.default) if arg.default is not NO_DEFAULT else None for arg in uses}
    if len(defaults) != 1 or None in defaults:
        return NO_DEFAULT
    return uses[0].default


def _fillable(slots: list[list[Arg | None]]) -> bool:
    """Whether every constructor parameter has a value in every instance (not so when a value that
    varies is used only in the optional step: the instances without it could not be given one)."""
    vectors, _ = _parameter_vectors(slots)
    return all(value is not None for vector in vectors for value in vector)


def _without(plan: ContainerPlan, index: int) -> ContainerPlan:
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


def _flag_name(plan: ContainerPlan, index: int) -> str:
    """The constructor flag for optional step ``index``: its name (``downsample``), or what it does."""
    step = plan.steps[index]
    if (
        _attribute_ok(step.local)
        and step.local[:1].islower()  # never a class's name (CapWords) that the constructor calls
        and step.local not in _BUILTINS | _GLOBALS  # `super`, `matches`: the file uses them
    ):
        return step.local  # the flag and the attribute share the name: `self.downsample = ... or None`
    if step.node is not None and step.node.op.kind == "add":
        base = "residual"  # an inverted residual's `x + inp`
    else:
        base = "with_" + re.sub(r"\W", "_", step.node.op.kind if step.node is not None else "block")
    taken = {s.local for s in plan.steps} | _RESERVED | _GLOBALS | _BUILTINS
    name, n = base, 2
    while name in taken:  # the flag is also an attribute (`self.residual`): no layer may have its name
        name, n = f"{base}_{n}", n + 1
    return name


# A literal argument recorder: returns the text of one argument, or None to leave it out.
Literal = Callable[[Arg], str | None]


@dataclass
class _Class:
    """A generated class: one per distinct structure of a block."""

    name: str
    base: str
    skeleton: str
    marks: list[int]  # per step of the first instance, the first literal slot it records
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


def _module_class(op: Op) -> str | None:
    """The class (constructor) of the module a layer becomes; None for a functional op or a parameter
    its owner keeps."""
    entry = SOURCE_OPS.get(op.kind)
    return None if entry is None or entry.source is None else entry.source(op, False).callee


def _leaf_class(op: Op) -> str | None:
    """The class of the module a layer becomes when that module holds no submodule, else None."""
    cls = _module_class(op)
    return cls if cls in _TORCH_LEAVES or cls in leaf_classes("torch_layers.py") else None


def _direct_parameters(op: Op) -> tuple[str, ...]:
    """The parameters a layer without submodules holds, in torch's order (``weight``, ``bias``): those
    of its op that its flags do not leave out (``bias=false``, ``affine=false``)."""
    affine = getattr(op, "affine", True) is not False and getattr(op, "elementwise_affine", True) is not False
    present = {"weight": affine, "bias": affine and getattr(op, "bias", True) is not False}
    return tuple(name for name in op.init_parameters if present.get(name, True))


def _isinstance_classes(op: Op) -> tuple[str, ...]:
    """The classes ``isinstance`` finds the op's module to be an instance of, among those written in
    the file (its own, and a custom layer's torch base); () for a module with submodules or none."""
    cls = _leaf_class(op)
    return () if cls is None else (cls, *layer_bases("torch_layers.py").get(cls, ()))


def inner_leaves(op: Op) -> tuple[Leaf, ...] | None:
    """The modules without submodules that hold parameters inside a compound layer's module, in the
    order torch registers them: its source entry's ``inner``, or its parts' (``Op.parts``: the part at
    index 3 of the ``nn.Sequential`` is ``3``); None where the generator does not know them."""
    entry = SOURCE_OPS.get(op.kind)
    if entry is not None and entry.inner is not None:
        return entry.inner(op)
    if not op.parts():
        return None
    found: list[Leaf] = []
    for index, part in enumerate(op.parts()):
        leaves = _leaves(part)
        if leaves is None:
            return None
        found.extend(
            dataclasses.replace(leaf, path=f"{index}.{leaf.path}" if leaf.path else str(index))
            for leaf in leaves
            if leaf.parameters
        )
    return tuple(found)


def own_parameters(op: Op) -> tuple[str, ...]:
    """The parameters a compound layer's module holds itself: a loop over leaf classes never meets them."""
    entry = SOURCE_OPS.get(op.kind)
    return entry.own(op) if entry is not None and entry.own is not None else ()


def _leaves(op: Op) -> tuple[Leaf, ...] | None:
    """The leaves of a layer's module: the module itself when it has no submodule, those of a compound
    op's module (``inner_leaves``), led by the parameters it holds itself as a leaf of no class the
    loop can test; None for a module whose submodules the generator does not know."""
    classes = _isinstance_classes(op)
    if classes:
        return (Leaf("", classes, _direct_parameters(op)),)
    inner = inner_leaves(op)
    if inner is None:
        return None
    own = own_parameters(op)
    return ((Leaf("", (), own),) if own else ()) + inner


def _first_tested(leaf: Leaf, tested: Iterable[str]) -> str | None:
    """The first of the loop's tested classes that ``leaf`` is an instance of: the branch it takes."""
    return next((cls for cls in tested if cls in leaf.classes), None)


def _clause_key(rule: InitRule | None, key: str) -> str | None:
    """What ``rule`` does to the parameter ``key``, comparable between rules (None: nothing)."""
    call = None if rule is None else clause_for(rule, key)
    return None if call is None else json.dumps([call.function, call.args, call.formulas], sort_keys=True)


class _Emitter:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.rule_names = _rule_names(graph.init)
        self.plan = plan_graph(graph)
        self.inplace = inplace_nodes(graph)
        self.layers: set[str] = set()
        self.class_of: dict[int, _Class] = {}  # id(container plan) -> its class
        self.classes: list[_Class] = []
        self.needs_ordered_dict = False
        self.final_names: dict[str, str] = {}
        # scope -> its module lists (dotted labels): True for an nn.ModuleList, False for an nn.ModuleDict
        self.lists: dict[str, dict[str, bool]] = {
            c.scope.name: module_lists([s.local for s in c.steps]) for c in self.plan.walk()
        }

    @property
    def root_class(self) -> str:
        """The name of the network's class (after ``emit``)."""
        return self.final_names[self.class_of[id(self.plan)].name]

    # ------------------------------------------------------------ structure
    def is_sequential(self, plan: ContainerPlan) -> bool:
        if plan is self.plan or not plan.is_chain or self.lists[plan.scope.name]:
            return False
        positional = [s.local for s in plan.steps] == [str(i) for i in range(len(plan.steps))]
        if plan.scope.kind == "block" and not positional:
            return False  # a named block reads better as its own class
        for step in plan.steps:
            if step.node is not None:
                entry = source_op(step.node.op)
                if not entry.is_module or not entry.called_plainly:
                    return False
        return True

    def emit(self) -> str:
        containers = [c for c in self.plan.walk() if not self.is_sequential(c)]
        height = self.levels(containers)
        for level in sorted({height[id(c)] for c in containers}):
            groups: dict[tuple[str, str], _Class] = {}
            for c in sorted((c for c in containers if height[id(c)] == level), key=lambda c: c.output):
                skeleton, recorded, marks = self.skeleton_of(c)
                base = _class_base(c, self.graph, c is self.plan)
                key = (base, skeleton)
                if key not in groups:
                    # A placeholder name, unique even after merges remove classes from the list.
                    groups[key] = _Class(f"\x01{len(self.class_of)}\x01", base, skeleton, marks)
                    self.classes.append(groups[key])
                groups[key].instances.append(c)
                groups[key].slots.append(list(recorded))
                groups[key].present.append(True)
                self.class_of[id(c)] = groups[key]
            for cls in self.merge_optional(list(groups.values())):
                self.parametrise(cls)
        text = self.render()
        # Classes are named once all are known: in order of first appearance, `_2` for a second structure;
        # the network's class first, then the blocks' (names the spec wrote), then the groups' (names
        # made from an attribute): a group `encoder:` around blocks `Encoder` is `EncoderGroup`.
        final: dict[str, str] = {}
        taken: set[str] = set()

        def rank(cls: _Class) -> tuple[int, int]:
            first = cls.instances[0]
            kind = 0 if first is self.plan else 1 if first.scope.block else 2
            return kind, min(s.output for s in first.steps)

        for cls in sorted(self.classes, key=rank):
            name, n = cls.base, 2
            if name in taken and rank(cls)[0] == 2 and f"{cls.base}Group" not in taken:
                name = f"{cls.base}Group"
            while name in taken:
                name, n = f"{cls.base}_{n}", n + 1
            taken.add(name)
            final[cls.name] = name
        self.final_names = final
        return re.sub("\x01[0-9]+\x01", lambda m: final[m.group(0)], text)

    def levels(self, containers: list[ContainerPlan]) -> dict[int, int]:
        """The order classes are made in: a container after its children, and every container of one
        block at the same level (so that its classes can merge: ResNet's first ``Bottleneck`` holds a
        ``downsample`` sequence, the others hold nothing)."""
        bases = {id(c): _class_base(c, self.graph, c is self.plan) for c in containers}
        members: dict[str, list[int]] = {}  # each block's containers
        for key, base in bases.items():
            members.setdefault(base, []).append(key)
        level: dict[int, int] = {}
        for _ in range(len(containers) + 1):
            changed = False
            for c in self.plan.walk():  # children first
                new = max((level.get(id(s.child), 0) + 1 for s in c.steps if s.child is not None), default=0)
                if id(c) in bases:
                    new = max(new, *(level.get(other, 0) for other in members[bases[id(c)]]))
                if level.get(id(c)) != new:
                    level[id(c)], changed = new, True
            if not changed:
                break
        return level

    def skeleton_of(self, plan: ContainerPlan) -> tuple[str, list[Arg], list[int]]:
        """A container's class text with its literals as placeholders, the literals in order, and for
        each step the index of the first literal it records (two containers with the same skeleton
        share a class)."""
        recorded: list[Arg] = []
        marks: list[int] = []

        def record(arg: Arg) -> str:
            recorded.append(arg)
            return f"\x00{len(recorded) - 1}:{arg.keyword}\x00"

        lines = self.class_body(plan, record, comments=False, mark=lambda: marks.append(len(recorded)))
        marks.append(len(recorded))
        return "\n".join(lines), recorded, marks

    def merge_optional(self, classes: list[_Class]) -> list[_Class]:
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

    def merge_into(self, full: _Class, lacking: _Class) -> bool:
        """Merge ``lacking`` into ``full`` if it is ``full`` without one step; whether it was."""
        first = full.instances[0]
        for index, step in enumerate(first.steps):
            if not step.inputs:
                continue
            skeleton, _, _ = self.skeleton_of(_without(first, index))
            if skeleton != lacking.skeleton:
                continue
            place = first.registration.index(index)  # marks come in __init__'s (registration) order
            start, end = full.marks[place], full.marks[place + 1]
            slots = [[*inst[:start], *([None] * (end - start)), *inst[start:]] for inst in lacking.slots]
            if not _fillable(full.slots + slots):
                continue  # a value used only in the optional step would be unknown for the others
            full.optional, full.flag = index, _flag_name(first, index)
            full.instances += lacking.instances
            full.slots += slots
            full.present += [False] * len(lacking.instances)
            for instance in lacking.instances:
                self.class_of[id(instance)] = full
            return True
        return False

    def parametrise(self, cls: _Class) -> None:
        """Literals that differ between instances become constructor parameters (equal ones share one).

        A parameter is named after what it holds (``_parameter_name``). It gets a default when every use
        has the same one (``stride=1``); those come last, as Python requires. One that is a fixed
        multiple of an earlier one in every instance (at least three of its values showing it) is not a
        parameter but a local computed from it, ``out_channels = width * 4``, as torchvision writes
        ``planes * self.expansion``.
        """
        if not cls.slots or not cls.slots[0]:
            return
        vectors, param_of_slot = _parameter_vectors(cls.slots)
        first_slot = {
            p: min(slot for slot, q in param_of_slot.items() if q == p) for p in range(len(vectors))
        }
        derived = _derived_parameters(
            [[_value(inst[first_slot[p]]) for inst in cls.slots] for p in range(len(vectors))]
        )
        uses: list[list[Arg]] = [[] for _ in vectors]
        for slot, param in sorted(param_of_slot.items()):
            arg = cls.slots[0][slot]
            assert arg is not None  # the first instance has every step
            uses[param].append(arg)
        defaults = [_shared_default(args) for args in uses]
        kept = [p for p in range(len(vectors)) if p not in derived]
        order = sorted(kept, key=lambda p: defaults[p] is not NO_DEFAULT)
        cls.param_of_slot = {slot: order.index(p) for slot, p in param_of_slot.items() if p not in derived}
        taken = {cls.flag}
        names: dict[int, str] = {}
        for param in [*order, *sorted(derived)]:
            names[param] = _parameter_name(uses[param], taken)
            taken.add(names[param])
        for param in order:
            cls.params.append(names[param])
            cls.defaults.append(defaults[param])
        # A derived parameter is a local of __init__ under its own name: `out_channels = width * 4`.
        cls.derived = [(names[p], derived[p][1].format(names[derived[p][0]])) for p in sorted(derived)]
        cls.derived_of_slot = {slot: names[p] for slot, p in param_of_slot.items() if p in derived}

    # ------------------------------------------------------------ class text
    def attr(self, name: str, where: str) -> str:
        """The expression of the layer ``name`` of the container ``where`` inside its class:
        ``self.conv1``, ``getattr(self, "block1-0")``, ``self.convs[0]`` in a module list."""
        head, *rest = name.split(".")
        _check_local(head, where)
        text = f"self.{head}" if _attribute_ok(head) else f"getattr(self, {head!r})"
        for depth, part in enumerate(rest, start=1):
            _check_local(part, where)
            is_list = self.lists[where][".".join(name.split(".")[:depth])]
            text += f"[{part}]" if is_list else f"[{part!r}]"
        return text

    def register(self, name: str, expression: str, where: str, init: list[str], made: set[str]) -> None:
        """Lines of ``__init__`` that hold ``expression`` as the layer ``name``; a dotted name goes into
        module lists (``made``: those made so far), each made where its first layer is, as the
        in-memory build registers them."""
        path = name.split(".")[:-1]
        for depth in range(1, len(path) + 1):
            prefix = ".".join(path[:depth])
            if prefix in made:
                continue
            made.add(prefix)
            kind = "nn.ModuleList()" if self.lists[where][prefix] else "nn.ModuleDict()"
            init.append(self.assignment(prefix, kind, where))
        init.append(self.assignment(name, expression, where))

    def assignment(self, name: str, expression: str, where: str) -> str:
        """``self.conv1 = expr``, ``self.add_module("block1-0", expr)``, ``self.convs.append(expr)``."""
        if "." in name:
            owner, last = name.rsplit(".", 1)
            target = self.attr(owner, where)
            if self.lists[where][owner]:  # its entries come in order: 0, 1, 2...
                return f"{target}.append({expression})"
            _check_local(last, where)
            return f"{target}[{last!r}] = {expression}"
        _check_local(name, where)
        if _attribute_ok(name):
            return f"self.{name} = {expression}"
        return f"self.add_module({name!r}, {expression})"

    def ctor(self, ctor: Ctor, lit: Literal) -> str:
        self.layers.update(ctor.layers)
        parts = [p for p in (lit(arg) for arg in ctor.args) if p is not None]
        return f"{ctor.callee}({', '.join(parts)}){ctor.close}"

    def built(self, ctor: Ctor, step: Step) -> Ctor:
        """A layer's constructor, its formulas written out (``with_formulas``) and wrapped in
        ``built(init_rule, ...)`` for each `when built:` rule of it."""
        assert step.node is not None
        ctor = self.with_formulas(ctor, step.node)
        for rule in built_rules(self.graph.init, step.node):
            name = self.rule_names[id(rule)]
            ctor = dataclasses.replace(ctor, callee=f"built({name}, {ctor.callee}", close=f"{ctor.close})")
        return ctor

    def with_formulas(self, ctor: Ctor, node: Node) -> Ctor:
        """``ctor`` with each argument the spec computes from the network's parameters (``node.formulas``)
        written as its formula over their values, ``(224 // 16) ** 2 + 1`` rather than 197."""
        if not node.formulas:
            return ctor
        args = []
        for arg in ctor.args:
            field = arg.hint or arg.keyword
            formula = node.formulas.get(field) if field is not None else None
            if formula is not None and arg.value == getattr(node.op, field or "", None):
                from archspec.syntax import parse_expression  # Lark loads only for such a network

                text = python_expression(
                    parse_expression(formula, f"{node.name}: {field}"),
                    lambda name: _atom(self.graph.params[name.id]),
                )
                assert text is not None  # lowering wrote it from the same arithmetic
                arg = dataclasses.replace(arg, value=Formula(arg.value, text))
            args.append(arg)
        return dataclasses.replace(ctor, args=tuple(args))

    def inlined(self, step: Step) -> bool:
        """Whether a step is written as an expression in ``forward`` rather than held as a module.

        Ops without a module are always expressions. A parameter-free layer the spec names (``relu``,
        ``maxpool``, ``avgpool``, ``dropout``) stays a module under that name, as in the in-memory
        build and in torchvision, so hooks and ``create_feature_extractor`` find it; unnamed ones
        (positions such as ``2``) read better as functional calls.
        """
        node = step.node
        if node is None:
            return False
        entry = source_op(node.op)
        if not entry.is_module:
            return True
        return (
            entry.inline is not None
            and node.op.param_count() == 0
            and node.op.buffer_count() == 0
            and _POSITION.match(step.local) is not None
        )

    def child_expression(self, step: Step, lit: Literal, indent: str) -> str:
        """The constructor expression of a step (a module, an nn.Sequential or a generated class)."""
        if step.node is not None:
            entry = source_op(step.node.op)
            assert entry.source is not None
            ctor = entry.source(step.node.op, step.node.id in self.inplace)
            return self.ctor(self.built(ctor, step), lit)
        child = step.child
        assert child is not None
        if self.is_sequential(child):
            inner = indent + "    "
            positional = [s.local for s in child.steps] == [str(i) for i in range(len(child.steps))]
            lines = []
            expressions = []
            for s in child.steps:
                _check_local(s.local, child.scope.name)
                expressions.append(self.child_expression(s, lit, inner))
            if positional:
                # A run of identical modules (ResNet's `Bottleneck(1024, 256)` five times) as one loop, as
                # torchvision writes it; built in the same order, so the same numbers and names.
                for expression, run in _runs(expressions):
                    if run == 1:
                        lines.append(f"{inner}{expression},")
                    else:
                        lines.append(f"{inner}*[{expression} for _ in range({run})],")
                return "nn.Sequential(\n" + "\n".join(lines) + f"\n{indent})"
            self.needs_ordered_dict = True
            prefix = _numbered(child.steps)
            if prefix is not None and len(set(expressions)) == 1:
                # ViT's `encoder_layer_0` ... `encoder_layer_11`, all alike: one generator, as
                # torchvision's loop writes them (built in the same order: the same numbers).
                pair = f'(f"{prefix}{{i}}", {expressions[0]}) for i in range({len(expressions)})'
                return f"nn.Sequential(OrderedDict(\n{inner}{pair}\n{indent}))"
            lines = [f"{inner}({s.local!r}, {e})," for s, e in zip(child.steps, expressions, strict=True)]
            return "nn.Sequential(OrderedDict([\n" + "\n".join(lines) + f"\n{indent}]))"
        cls = self.class_of[id(child)]
        index = cls.instances.index(child)
        args = [
            Arg(cls.slot_of(p, index).value, name, default=cls.defaults[p], hint=name)
            for p, name in enumerate(cls.params)
        ]
        if cls.optional is not None:
            args.append(Arg(cls.present[index], cls.flag, default=False, hint=cls.flag))
        return self.ctor(Ctor(cls.name, tuple(args)), lit)

    def class_body(
        self,
        plan: ContainerPlan,
        lit: Literal,
        comments: bool,
        mark: Callable[[], None] | None = None,
        optional: tuple[int, str] | None = None,
    ) -> list[str]:
        """``__init__`` body lines and ``forward`` (with its signature) of a container's class.

        ``mark`` is called before each step's literals are recorded; ``optional`` (step index, flag)
        writes that step as present only when the flag is true.
        """
        init: list[str] = []
        made: set[str] = set()
        where = plan.scope.name
        for index in plan.registration:  # __init__ in registration order (`order:`), forward in data flow
            step = plan.steps[index]
            if mark is not None:
                mark()
            node = step.node
            flag = optional[1] if optional is not None and optional[0] == index else None
            if node is not None and self.inlined(step):
                entry = source_op(node.op)
                if entry.parameter_source is not None:
                    if "." in step.local:
                        raise UsageError(
                            f"'{step.local}' in {where or 'the network'} is a parameter of its own: a "
                            "module list (a dotted label) holds modules; give it a name without a dot"
                        )
                    _check_local(step.local, where)
                    value = self.ctor(self.built(entry.parameter_source(node.op), step), lit)
                    if flag is not None:
                        value = f"{value} if {flag} else None"
                    if _attribute_ok(step.local):
                        init.append(f"self.{step.local} = {value}")
                    else:
                        init.append(f"self.register_parameter({step.local!r}, {value})")
                elif entry.buffer_source is not None:
                    _check_local(step.local, where)
                    value = entry.buffer_source(node.op)
                    init.append(register_buffer(step.local, node.op, value))
                elif flag is not None:
                    init.append(f"self.{flag} = {flag}")
                continue
            expression = self.child_expression(step, lit, "        ")
            if flag is not None:
                expression = f"{expression} if {flag} else None"
            self.register(step.local, expression, where, init, made)
        return [*init, "#forward", *self.forward_body(plan, comments, optional)]

    def forward_body(
        self, plan: ContainerPlan, comments: bool, optional: tuple[int, str] | None = None
    ) -> list[str]:
        last = len(plan.steps)
        readers: dict[int, list[int]] = {}
        for index, step in enumerate(plan.steps):
            for source in step.inputs:
                readers.setdefault(source, []).append(index)
        readers.setdefault(plan.output, []).append(last)
        names: dict[int, str] = {}
        x_busy_until = -1
        counter = 0

        def fresh() -> str:
            nonlocal counter
            counter += 1
            return f"h{counter}"

        arguments = []
        for position, value in enumerate(plan.inputs):
            uses = readers.get(value, [])
            if position == 0 and len(uses) == 1:
                names[value], x_busy_until = "x", uses[0]
            else:
                names[value] = "inp" if position == 0 else f"outer{position}"
            arguments.append(names[value])
        typed = ", ".join(f"{name}: torch.Tensor" for name in arguments)
        lines = [f"def forward(self, {typed}) -> torch.Tensor:"]
        where = plan.scope.name
        for index, step in enumerate(plan.steps):
            if step.node is not None and step.node.op.state:  # a param or buffer: read where it is used
                names[step.output] = self.attr(step.local, where)
                continue
            inputs = [names[i] for i in step.inputs]
            expression = self.step_call(step, inputs, where)
            if optional is not None and optional[0] == index:
                # The step some instances lack: their value is the step's input, as if it were not there.
                if (
                    step.node is not None
                    and self.inlined(step)
                    and source_op(step.node.op).parameter_source is None
                ):
                    present = f"self.{optional[1]}"
                else:
                    present = f"{self.attr(step.local, where)} is not None"
                expression = f"{expression} if {present} else {inputs[0]}"
            uses = readers.get(step.output, [])
            if len(uses) == 1 and x_busy_until <= index:
                target, x_busy_until = "x", uses[0]
            else:
                target = fresh()
            names[step.output] = target
            line = f"    {target} = {expression}"
            if comments:
                line += f"  # {format_shape(self.graph.nodes[step.output].shape)}"
            lines.append(line)
        lines.append(f"    return {names[plan.output]}")
        return lines

    def step_call(self, step: Step, inputs: Sequence[str], where: str) -> str:
        node = step.node
        if node is None:
            assert step.child is not None
            return f"{self.attr(step.local, where)}({', '.join(inputs)})"
        entry = source_op(node.op)
        inplace = node.id in self.inplace
        if self.inlined(step):
            assert entry.inline is not None
            holds = entry.parameter_source is not None or entry.buffer_source is not None
            owner = self.attr(step.local, where) if holds else ""
            batched = [self.graph.nodes[i].batched for i in node.inputs]
            special = batch_aware_inline(node.op, inputs, batched, node.batched)
            return special or entry.inline(node.op, inputs, owner, inplace)
        return entry.call(self.attr(step.local, where), inputs)

    # ------------------------------------------------------------ the file
    def render_class(self, cls: _Class) -> list[str]:
        first = cls.instances[0]

        counter = 0

        def lit(arg: Arg) -> str | None:
            nonlocal counter
            slot, counter = counter, counter + 1
            # A parameter of the class, or a local derived from one (`out_channels = width * 4`).
            name = cls.params[cls.param_of_slot[slot]] if slot in cls.param_of_slot else None
            name = cls.derived_of_slot.get(slot, name)
            if name is not None:
                return f"{arg.keyword}={name}" if arg.keyword else name
            first_value = cls.slots[0][slot]
            assert first_value is not None  # the first instance has every step
            value = first_value.value
            if (
                arg.keyword is not None
                and arg.default is not NO_DEFAULT
                and _literal(value) == _literal(arg.default)
            ):
                return None
            return f"{arg.keyword}={_literal(value)}" if arg.keyword else _literal(value)

        optional = None if cls.optional is None else (cls.optional, cls.flag)
        body = self.class_body(first, lit, comments=True, optional=optional)
        split = body.index("#forward")
        init, forward = body[:split], body[split + 1 :]
        root = first is self.plan
        if root:
            doc = f"{_doc(self.graph.variant or self.graph.network)}: the whole network."
        else:
            kind = f"block {_doc(first.scope.block)}" if first.scope.block else "sequence"
            in_order = sorted(cls.instances, key=lambda c: c.output)
            names = ", ".join(_doc(c.scope.name) for c in in_order[:6])
            more = f" and {len(cls.instances) - 6} more" if len(cls.instances) > 6 else ""
            doc = f"The {kind} at {names}{more}."
            if len(cls.instances) > 1:
                doc += f" Shapes in comments are those of {_doc(first.scope.name)}."
        params = ""
        for i, p in enumerate(cls.params):
            params += f", {p}: {_annotation([cls.slot_of(i, k).value for k in range(len(cls.slots))])}"
            if cls.defaults[i] is not NO_DEFAULT:
                params += f" = {_literal(cls.defaults[i])}"
        if cls.optional is not None:
            params += f", {cls.flag}: bool = False"
        lines = [
            f"class {cls.name}(nn.Module):",
            *_docstring(doc, indent=4),
            "",
            f"    def __init__(self{params}) -> None:",
        ]
        lines.append("        super().__init__()")
        lines += [f"        {name} = {expression}" for name, expression in cls.derived]
        lines.extend(f"        {line}" for line in init)
        lines.append("")
        lines.extend(f"    {line}" for line in forward)
        return lines

    def header(self) -> list[str]:
        graph, meta = self.graph, self.graph.metadata
        counts = node_counts(graph).values()
        params, macs = sum(c.params for c in counts), sum(c.macs for c in counts)
        name, origin = _doc(graph.variant or graph.network), _doc(Path(graph.source).name)
        lines = [f"{name}, generated by archspec from {origin}.", ""]
        for label, value in (
            ("Title", meta.title),
            ("Authors", ", ".join(meta.authors) if meta.authors else None),
            ("Year", meta.year),
            ("Venue", meta.venue),
            ("Paper", meta.paper),
        ):
            if value:
                lines.append(f"{label}: {_doc(value)}")
        lines.append("")
        lines.append(
            f"Input: {format_shape(graph.input_shape)} per sample; "
            f"output: {format_shape(graph.output_shape)}."
        )
        lines.append(f"Parameters: {params:,}. MACs per sample (conv, linear, matmul): {macs:,}.")
        if graph.params:
            lines.append(
                "Built with: " + ", ".join(f"{_doc(k)}={_doc(v)}" for k, v in sorted(graph.params.items()))
            )
        lines.append("State-dict keys follow the spec's layer names; this file needs only PyTorch.")
        return lines

    @property
    def uses_built(self) -> bool:
        """Whether the file needs ``built()``: a ``when built:`` rule, applied as a layer is made."""
        return any(rule.when == "built" for rule in self.graph.init)

    def init_note(self) -> str:
        return " (as the spec's init rules say)" if self.graph.init else ""

    def init_functions(self) -> list[str]:
        """The helpers and one function per rule that ``init_weights`` or ``built()`` calls (the spec's
        `init:` section as literal nn.init calls); an op rule written into ``init_weights``' loop needs
        none."""
        if not self.graph.init:
            return []
        # A function for each rule something calls: built(), or the list by name (which also has every
        # rule the loop calls rather than writes in place, ``init_inline``); none for the rules the loop
        # stands for.
        called = {id(rule) for _, rule in self.init_by_name}
        called |= {id(rule) for rule in self.graph.init if rule.when == "built"}
        rules = [rule for rule in self.graph.init if id(rule) in called]
        helpers = ["matches", "parameters_of"] if rules else []
        if any(call.formulas for rule in self.graph.init for call in rule.calls):
            helpers.append("fans")
        if self.init_by_name:
            helpers.append("layer_of")
        out: list[str] = []
        for helper in helpers:  # copied from archspec/backends/init.py, read as text (no torch import)
            out += [*definitions("init.py")[helper].splitlines(), "", ""]
        if self.uses_built:
            out += [
                'Layer = TypeVar("Layer", nn.Module, nn.Parameter)',
                "",
                "",
                "def built(rule: Callable[[list[tuple[str, torch.Tensor]]], None], layer: Layer) -> Layer:",
                '    """``layer``, initialised by ``rule`` as soon as it is constructed."""',
                "    rule(parameters_of(layer))",
                "    return layer",
                "",
                "",
            ]
        for rule in rules:
            out += [*_rule_function(rule, self.rule_names[id(rule)]), "", ""]
        return out

    # The init plan: worked out once from the graph (the emitter reads it for the helpers, the rule
    # functions and init_weights).
    @functools.cached_property
    def init_order(self) -> list[tuple[Node, InitRule]]:
        """The (layer, rule) pairs applied once the network is built, in order (``after_order``)."""
        return after_order(self.graph.init, module_order(self.plan))

    @functools.cached_property
    def init_by_class(self) -> dict[str, InitRule] | None:
        """The rule of each layer class when ``init_weights`` can apply the op rules as torchvision does,
        ``for module in model.modules(): if isinstance(module, nn.Conv2d): ...``; None when it cannot.

        It can when, for every module without submodules in the network (each layer's own, and those
        inside window attention, an MLP, patch merging: ``_leaves``), the first class the loop tests
        that the module is an instance of sets each of its parameters exactly as the op rule of its
        layer does (or, where no rule sets it, the loop sets nothing), and no rule sets a parameter a
        compound module holds itself. The loop then draws the same numbers in the same order as the
        list of names it stands for (``after_order`` lists the layers in module order, and within a
        layer its leaves come in module order). Each class's rule is the first op rule setting a
        module of that class that sets every module the test meets as that module's own rule does
        (Swin's `linear`, `mlp`, window attention and patch merging rules are one `nn.Linear` test).
        """
        walked = self.leaves_with_rules
        if walked is None:
            return None  # submodules the generator does not know: one may be of a tested class
        candidates: dict[str, list[InitRule]] = {}  # per tested class, in order: the rules setting one
        for leaf, rule in walked:
            if rule is None or not any(clause_for(rule, leaf.key(p)) for p in leaf.parameters):
                continue
            if not leaf.classes:
                return None  # the loop never meets a compound module's own parameters
            rules = candidates.setdefault(leaf.classes[0], [])
            if all(rule is not r for r in rules):
                rules.append(rule)
        by_class: dict[str, InitRule] = {}
        for cls, rules in candidates.items():
            met = [(leaf, rule) for leaf, rule in walked if _first_tested(leaf, candidates) == cls]
            chosen = next(
                (
                    rule
                    for rule in rules
                    if all(
                        _clause_key(rule, p) == _clause_key(own_rule, leaf.key(p))
                        for leaf, own_rule in met
                        for p in leaf.parameters
                    )
                ),
                None,
            )
            if chosen is None:
                return None
            by_class[cls] = chosen
        return by_class

    @functools.cached_property
    def leaves_with_rules(self) -> list[tuple[Leaf, InitRule | None]] | None:
        """Every module without submodules in the network (``_leaves``), with the op rule of its layer
        (None where it has none); None when a layer's module holds submodules the generator does not
        know."""
        rule_of = {node.name: rule for node, rule in self.init_order if rule.kind is not None}
        walked: list[tuple[Leaf, InitRule | None]] = []
        for node in module_order(self.plan):
            if _module_class(node.op) is None:
                continue  # no module of its own: a functional op, or a parameter its owner keeps
            leaves = _leaves(node.op)
            if leaves is None:
                return None
            walked += [(leaf, rule_of.get(node.name)) for leaf in leaves]
        return walked

    @functools.cached_property
    def init_by_name(self) -> list[tuple[Node, InitRule]]:
        """The (layer, rule) pairs ``init_weights`` applies by the layer's name: the named rules, and
        every pair when its op rules cannot go by the layer's class (``init_by_class``)."""
        if self.init_by_class is None:
            return self.init_order
        return [(node, rule) for node, rule in self.init_order if rule.pattern is not None]

    @functools.cached_property
    def init_inline(self) -> dict[str, InitRule]:
        """The op rules ``init_weights``' loop writes out in place, by layer class: a rule that only
        this loop applies (not also by name). What it does to every module the test meets was proven
        equal to what the layers' own rules do (``init_by_class``)."""
        by_name = {id(rule) for _, rule in self.init_by_name}
        return {cls: rule for cls, rule in (self.init_by_class or {}).items() if id(rule) not in by_name}

    def _met_by(self, cls: str) -> list[Leaf]:
        """The modules the loop's ``isinstance(module, cls)`` branch meets (``_first_tested``)."""
        tested = self.init_by_class or {}
        return [leaf for leaf, _ in self.leaves_with_rules or () if _first_tested(leaf, tested) == cls]

    def _rule_in_place(self, cls: str, rule: InitRule) -> list[str]:
        """An op rule inside the loop over the modules, on a module of class ``cls``: each parameter
        in torch's order, set by the first clause naming it (as the rule's function would), with a
        ``None`` test where some module of that class goes without it (``bias=false``)."""
        held = [leaf.parameters for leaf in self._met_by(cls)]
        lines = []
        for name in dict.fromkeys(p for names in held for p in names):
            call = clause_for(rule, name)
            if call is None:
                continue
            tensor, indent = f"module.{name}", "            "
            if not all(name in names for names in held):
                lines.append(f"{indent}if {tensor} is not None:")
                indent += "    "
            lines += _init_call(call, tensor, indent)
        return lines or ["            pass"]

    def init_weights(self) -> list[str]:
        """``init_weights(model)``: the rules applied once the network is built: the op rules by the
        class of each layer in a loop over the modules where it can (``init_by_class``), layer by
        layer by name where it cannot; then the named rules, by name."""
        if not self.init_order:
            return []
        by_class, by_name = self.init_by_class, self.init_by_name
        doc = "The spec's init rules, once the network is built: each layer by its op's rule"
        doc += " (in module order)" if by_class else ""
        doc += ", then named rules." if any(rule.pattern for _, rule in self.init_order) else "."
        lines = ["def init_weights(model: nn.Module) -> None:", *_docstring(doc, 4)]
        if by_class:
            lines.append("    for module in model.modules():")
            branches: list[tuple[list[str], list[str]]] = []  # (classes, body), adjacent bodies merged
            for cls, rule in by_class.items():
                if cls in self.init_inline:
                    body = self._rule_in_place(cls, rule)
                else:
                    body = [f"            {self.rule_names[id(rule)]}(parameters_of(module))"]
                if branches and branches[-1][1] == body:
                    branches[-1][0].append(cls)  # torchvision's `isinstance(m, (nn.Conv2d, nn.Linear))`
                else:
                    branches.append(([cls], body))
            for index, (classes, body) in enumerate(branches):
                tested = classes[0] if len(classes) == 1 else f"({', '.join(classes)})"
                lines.append(f"        {'elif' if index else 'if'} isinstance(module, {tested}):")
                lines += body
        if len(by_name) == 1:
            node, rule = by_name[0]
            lines.append(f"    {self.rule_names[id(rule)]}(parameters_of(layer_of(model, {node.name!r})))")
        elif by_name:
            lines.append("    for name, rule in (")
            lines += [f"        ({node.name!r}, {self.rule_names[id(rule)]})," for node, rule in by_name]
            lines += ["    ):", "        rule(parameters_of(layer_of(model, name)))"]
        return [*lines, "", ""]

    def render(self) -> str:
        classes = [self.render_class(cls) for cls in self.classes]  # fills self.layers as a side effect
        header = self.header()
        wrapped = [*textwrap.wrap(header[0], LINE_LENGTH - 3)]  # after the opening quotes
        for line in header[1:]:
            wrapped += textwrap.wrap(line, LINE_LENGTH, subsequent_indent="    ") or [""]
        out = ['"""' + "\n".join(wrapped) + '\n"""', "", "from __future__ import annotations", ""]
        formulas = any(call.formulas for rule in self.graph.init for call in rule.calls)
        standard = ["import math"] if formulas else []
        if self.needs_ordered_dict:
            standard.append("from collections import OrderedDict")
        if self.uses_built:
            standard += ["from collections.abc import Callable", "from typing import TypeVar"]
        out += [*standard, ""] if standard else []
        out += ["import torch", "import torch.nn.functional as F"]
        if any(node.op.kind == "rearrange" for node in self.graph.nodes):
            out.append("from einops import rearrange")  # einops' patterns read best (issue 21)
        out += ["from torch import nn", "", ""]
        for name in _LAYER_ORDER:
            if name in self.layers:
                out += [*definitions("torch_layers.py")[name].splitlines(), "", ""]
        out += self.init_functions()  # before the classes: `when built:` rules appear in them
        for lines in classes:
            out += [*lines, "", ""]
        out += self.init_weights()
        root = self.class_of[id(self.plan)].name
        out += [
            "def build() -> nn.Module:",
            f'    """A freshly initialised {root}{self.init_note()}."""',
            f"    model = {root}()",
        ]
        if self.init_order:
            out.append("    init_weights(model)")
        out += ["    return model", "", ""]
        shape = ", ".join(str(d) for d in (1, *self.graph.input_shape))
        out += [
            'if __name__ == "__main__":',
            "    model = build().eval()",
            f"    x = torch.randn({shape})",
            "    with torch.no_grad():",
            "        y = model(x)",
            "    params = sum(p.numel() for p in model.parameters())",
            '    print(f"{params:,} parameters; output {tuple(y.shape)}")',
        ]
        text = "\n".join(out) + "\n"
        if not re.search(r"\bF\.", text):  # every layer is a module: the functional import would be unused
            text = text.replace("import torch.nn.functional as F\n", "", 1)
        return text
