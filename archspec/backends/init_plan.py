"""Init planning for generated source: how ``init_weights`` applies the spec's ``init:`` rules.

``InitPlan`` works out, once per graph, whether the op rules can be applied as torchvision writes them,
in a loop over ``model.modules()`` with one ``isinstance`` test per layer class (``by_class``), which of
those rules the loop writes in place (``inline``), and which (layer, rule) pairs go by the layer's name
(``by_name``). To decide, it walks the modules without submodules each layer's module holds (its
leaves: ``leaves``), from the source entries of the ops (``source_ops``). ``init_source`` writes the
plan as text; nothing here writes source.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable

from archspec.backends.plan import module_order, plan_graph
from archspec.backends.source_entry import Leaf
from archspec.backends.source_ops import SOURCE_OPS
from archspec.backends.torch_source import layer_bases, leaf_classes
from archspec.init_rules import after_order, clause_for
from archspec.ir import Graph, InitRule, Node
from archspec.ops import Op

# torch's layers that a generated file constructs and that hold no submodule, so that an
# ``isinstance(module, nn.Conv2d)`` test in ``init_weights`` meets the layers themselves and nothing
# inside another layer (``nn.MultiheadAttention`` holds a linear subclass, ``nn.Sequential`` anything).
TORCH_LEAVES = frozenset(
    {
        *("nn.AdaptiveAvgPool2d", "nn.AvgPool2d", "nn.BatchNorm1d", "nn.BatchNorm2d", "nn.Conv2d"),
        *("nn.Dropout", "nn.Flatten", "nn.GELU", "nn.Hardsigmoid", "nn.Hardswish", "nn.Identity"),
        *("nn.LayerNorm", "nn.Linear", "nn.LocalResponseNorm", "nn.MaxPool2d", "nn.ReLU", "nn.ReLU6"),
        *("nn.Sigmoid", "nn.SiLU", "nn.Softmax", "nn.Tanh"),
    }
)


def module_class(op: Op) -> str | None:
    """The class (constructor) of the module a layer becomes; None for a functional op or a parameter
    its owner keeps."""
    entry = SOURCE_OPS.get(op.kind)
    return None if entry is None or entry.source is None else entry.source(op, False).callee


def leaf_class(op: Op) -> str | None:
    """The class of the module a layer becomes when that module holds no submodule, else None."""
    cls = module_class(op)
    return cls if cls in TORCH_LEAVES or cls in leaf_classes("torch_layers.py") else None


def direct_parameters(op: Op) -> tuple[str, ...]:
    """The parameters a layer without submodules holds, in torch's order (``weight``, ``bias``): those
    of its op that its flags do not leave out (``bias=false``, ``affine=false``)."""
    affine = getattr(op, "affine", True) is not False and getattr(op, "elementwise_affine", True) is not False
    present = {"weight": affine, "bias": affine and getattr(op, "bias", True) is not False}
    return tuple(name for name in op.init_parameters if present.get(name, True))


def _isinstance_classes(op: Op) -> tuple[str, ...]:
    """The classes ``isinstance`` finds the op's module to be an instance of, among those written in
    the file (its own, and a custom layer's torch base); () for a module with submodules or none."""
    cls = leaf_class(op)
    return () if cls is None else (cls, *layer_bases("torch_layers.py").get(cls, ()))


def inner_leaves(op: Op) -> tuple[Leaf, ...] | None:
    """The modules without submodules that hold parameters inside a compound layer's module, in the
    order torch registers them: its source entry's ``inner``; None where the generator does not know them."""
    entry = SOURCE_OPS.get(op.kind)
    if entry is not None and entry.inner is not None:
        return entry.inner(op)
    return None


def own_parameters(op: Op) -> tuple[str, ...]:
    """The parameters a compound layer's module holds itself: a loop over leaf classes never meets them."""
    entry = SOURCE_OPS.get(op.kind)
    return entry.own(op) if entry is not None and entry.own is not None else ()


def module_leaves(op: Op) -> tuple[Leaf, ...] | None:
    """The leaves of a layer's module: the module itself when it has no submodule, those of a compound
    op's module (``inner_leaves``), led by the parameters it holds itself as a leaf of no class the
    loop can test; None for a module whose submodules the generator does not know."""
    classes = _isinstance_classes(op)
    if classes:
        return (Leaf("", classes, direct_parameters(op)),)
    inner = inner_leaves(op)
    if inner is None:
        return None
    own = own_parameters(op)
    return ((Leaf("", (), own),) if own else ()) + inner


def first_tested(leaf: Leaf, tested: Iterable[str]) -> str | None:
    """The first of the loop's tested classes that ``leaf`` is an instance of: the branch it takes."""
    return next((cls for cls in tested if cls in leaf.classes), None)


def _clause_key(rule: InitRule | None, key: str) -> str | None:
    """What ``rule`` does to the parameter ``key``, comparable between rules (None: nothing)."""
    call = None if rule is None else clause_for(rule, key)
    return None if call is None else json.dumps([call.function, call.args, call.formulas], sort_keys=True)


class InitPlan:
    """The plan of ``init_weights`` for one graph (see the module docstring), worked out on first use."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    @property
    def uses_built(self) -> bool:
        """Whether the file needs ``built()``: a ``when built:`` rule, applied as a layer is made."""
        return any(rule.when == "built" for rule in self.graph.init)

    # functions and init_weights).
    @functools.cached_property
    def order(self) -> list[tuple[Node, InitRule]]:
        """The (layer, rule) pairs applied once the network is built, in order (``after_order``)."""
        return after_order(self.graph.init, module_order(plan_graph(self.graph)), self.graph.scopes)

    @functools.cached_property
    def by_class(self) -> dict[str, InitRule] | None:
        """The rule of each layer class when ``init_weights`` can apply the op rules as torchvision does,
        ``for module in model.modules(): if isinstance(module, nn.Conv2d): ...``; None when it cannot.

        It can when, for every module without submodules in the network (each layer's own, and those
        inside window attention, an MLP, patch merging: ``module_leaves``), the first class the loop tests
        that the module is an instance of sets each of its parameters exactly as the op rule of its
        layer does (or, where no rule sets it, the loop sets nothing), and no rule sets a parameter a
        compound module holds itself. The loop then draws the same numbers in the same order as the
        list of names it stands for (``after_order`` lists the layers in module order, and within a
        layer its leaves come in module order). Each class's rule is the first op rule setting a
        module of that class that sets every module the test meets as that module's own rule does
        (Swin's `linear`, window attention and patch merging rules are one `nn.Linear` test).
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
            met = [(leaf, rule) for leaf, rule in walked if first_tested(leaf, candidates) == cls]
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
        # A layer class of ours whose torch base takes the same rule needs no test of its own: the base's
        # meets it (``PartialBiasLinear`` beside ``nn.Linear``: one test, as torchvision writes its loop).
        bases = layer_bases("torch_layers.py")
        return {
            cls: rule
            for cls, rule in by_class.items()
            if not any(by_class.get(base) is rule for base in bases.get(cls, ()))
        }

    @functools.cached_property
    def leaves_with_rules(self) -> list[tuple[Leaf, InitRule | None]] | None:
        """Every module without submodules in the network (``module_leaves``), with the op rule of its layer
        (None where it has none); None when a layer's module holds submodules the generator does not
        know."""
        rule_of = {node.name: rule for node, rule in self.order if rule.kind is not None}
        walked: list[tuple[Leaf, InitRule | None]] = []
        for node in module_order(plan_graph(self.graph)):
            if module_class(node.op) is None:
                continue  # no module of its own: a functional op, or a parameter its owner keeps
            leaves = module_leaves(node.op)
            if leaves is None:
                return None
            walked += [(leaf, rule_of.get(node.name)) for leaf in leaves]
        return walked

    @functools.cached_property
    def by_name(self) -> list[tuple[Node, InitRule]]:
        """The (layer, rule) pairs ``init_weights`` applies by the layer's name: the named rules and the
        rules naming a block, and every pair when its op rules cannot go by the layer's class
        (``by_class``)."""
        if self.by_class is None:
            return self.order
        return [(node, rule) for node, rule in self.order if rule.kind is None]  # named and block rules

    @functools.cached_property
    def inline(self) -> dict[str, InitRule]:
        """The op rules ``init_weights``' loop writes out in place, by layer class: a rule that only
        this loop applies (not also by name). What it does to every module the test meets was proven
        equal to what the layers' own rules do (``by_class``)."""
        by_name = {id(rule) for _, rule in self.by_name}
        return {cls: rule for cls, rule in (self.by_class or {}).items() if id(rule) not in by_name}

    def met_by(self, cls: str) -> list[Leaf]:
        """The modules the loop's ``isinstance(module, cls)`` branch meets (``first_tested``)."""
        tested = self.by_class or {}
        return [leaf for leaf, _ in self.leaves_with_rules or () if first_tested(leaf, tested) == cls]
