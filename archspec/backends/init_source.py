"""The spec's ``init:`` rules as generated source: one function per rule that something calls, the
helpers they need (copied from ``backends/init.py`` as text), ``built()`` for `when built:` rules, and
``init_weights(model)``, written from an ``InitPlan``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from archspec.backends.init_plan import InitPlan
from archspec.backends.source_text import doc_text, docstring, literal
from archspec.backends.torch_source import definitions
from archspec.init_rules import clause_for, formula_python, rule_text
from archspec.ir import InitCall, InitRule


def rule_names(rules: Sequence[InitRule]) -> dict[int, str]:
    """A function name for each rule, after what it targets: ``init_conv`` (an op), ``init_heads_head``
    (the name pattern ``heads.head``), ``init_mlp`` (``when built: MLP``, a block); where two rules
    would share a name, each says how it differs (``init_mlp_when_built``, ``init_conv_by_name``), then
    counts."""
    bases = []
    for number, rule in enumerate(rules, 1):
        # a block's rule after the block in snake case: `MLP` as `init_mlp`, `SqueezeExcitation` as
        # `init_squeeze_excitation`
        written = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", rule.target).lower() if rule.block else rule.target
        target = re.sub(r"\W+", "_", written).strip("_")
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


def rule_function(rule: InitRule, name: str) -> list[str]:
    """One rule as a function over (name, tensor) pairs: each tensor set by the first clause naming it."""
    lines = [
        f"def {name}(parameters: list[tuple[str, torch.Tensor]]) -> None:",
        *docstring(doc_text(rule_text(rule)), 4),
        "    for key, p in parameters:",
    ]
    for index, call in enumerate(rule.calls):
        lines.append(f"        {'if' if index == 0 else 'elif'} matches(key, {call.parameter!r}):")
        lines += init_call(call, "p", "            ")
    if not rule.calls:
        lines.append("        pass")
    return lines


def init_call(call: InitCall, tensor: str, indent: str) -> list[str]:
    """One clause of a rule on ``tensor``: its ``nn.init`` call, after the fans its formulas use."""
    args = [tensor, *(f"{k}={literal(v)}" for k, v in call.args.items())]
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


class InitSource:
    """The text of an ``InitPlan``: the rule functions and helpers, and ``init_weights``."""

    def __init__(self, plan: InitPlan) -> None:
        self.plan = plan
        self.graph = plan.graph
        self.rule_names = rule_names(plan.graph.init)

    def functions(self) -> list[str]:
        """The helpers and one function per rule that ``init_weights`` or ``built()`` calls (the spec's
        `init:` section as literal nn.init calls); an op rule written into ``init_weights``' loop needs
        none."""
        if not self.graph.init:
            return []
        # A function for each rule something calls: built(), or the list by name (which also has every
        # rule the loop calls rather than writes in place, ``init_inline``); none for the rules the loop
        # stands for.
        called = {id(rule) for _, rule in self.plan.by_name}
        called |= {id(rule) for rule in self.graph.init if rule.when == "built"}
        rules = [rule for rule in self.graph.init if id(rule) in called]
        helpers = ["matches", "parameters_of"] if rules else []
        if any(call.formulas for rule in self.graph.init for call in rule.calls):
            helpers.append("fans")
        if self.plan.by_name:
            helpers.append("layer_of")
        out: list[str] = []
        for helper in helpers:  # copied from archspec/backends/init.py, read as text (no torch import)
            out += [*definitions("init.py")[helper].splitlines(), "", ""]
        if self.plan.uses_built:
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
            out += [*rule_function(rule, self.rule_names[id(rule)]), "", ""]
        return out

    def rule_in_place(self, cls: str, rule: InitRule) -> list[str]:
        """An op rule inside the loop over the modules, on a module of class ``cls``: each parameter
        in torch's order, set by the first clause naming it (as the rule's function would), with a
        ``None`` test where some module of that class goes without it (``bias=false``)."""
        held = [leaf.parameters for leaf in self.plan.met_by(cls)]
        lines = []
        for name in dict.fromkeys(p for names in held for p in names):
            call = clause_for(rule, name)
            if call is None:
                continue
            tensor, indent = f"module.{name}", "            "
            if not all(name in names for names in held):
                lines.append(f"{indent}if {tensor} is not None:")
                indent += "    "
            lines += init_call(call, tensor, indent)
        return lines or ["            pass"]

    def init_weights(self) -> list[str]:
        """``init_weights(model)``: the rules applied once the network is built: the op rules by the
        class of each layer in a loop over the modules where it can (``init_by_class``), layer by
        layer by name where it cannot; then the named rules, by name."""
        if not self.plan.order:
            return []
        by_class, by_name = self.plan.by_class, self.plan.by_name
        doc = "The spec's init rules, once the network is built: each layer by its op's rule"
        doc += " (in module order)" if by_class else ""
        doc += ", then named rules." if any(rule.pattern for _, rule in self.plan.order) else "."
        lines = ["def init_weights(model: nn.Module) -> None:", *docstring(doc, 4)]
        if by_class:
            lines.append("    for module in model.modules():")
            branches: list[tuple[list[str], list[str]]] = []  # (classes, body), adjacent bodies merged
            for cls, rule in by_class.items():
                if cls in self.plan.inline:
                    body = self.rule_in_place(cls, rule)
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
