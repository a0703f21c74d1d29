"""The ``init:`` section: rules checked and resolved into the IR's ``InitRule`` records (no torch here).

A rule names an op (every layer of that op), a block (every layer with parameters inside each instance of
that block, ``MLP: xavier_uniform``: see ``block_layers``) or a quoted name pattern, and gives one clause
per parameter:
a function of ``torch.nn.init`` (without the trailing underscore) with its arguments. Arguments are
evaluated here, except those that use ``fan_in``/``fan_out``: those depend on each tensor and are kept as
formulas (spec expressions, with every other name replaced by its value) for the backends to evaluate.
``docs/language.md#initialisation`` describes the semantics; ``archspec.backends.init`` applies them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archspec import ast
from archspec.elab.binding import RETIRED_OPS
from archspec.elab.walk import expr_children
from archspec.errors import Collector, SpecError, did_you_mean, quoted_list, spec_repr
from archspec.expr import Value, evaluate, show
from archspec.ir import InitCall, InitRule, Node, Scope
from archspec.ops import OPS_BY_KIND, OPS_BY_NAME
from archspec.python_text import python_expression
from archspec.records import FrozenRecord, set_field
from archspec.source import Span

REQUIRED = object()
FANS = ("fan_in", "fan_out")
NONLINEARITIES = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "selu",
)


@dataclass(init=False, repr=False, eq=False)
class InitFunction(FrozenRecord):
    """An init function: its arguments in torch's order with their defaults, and the allowed strings."""

    name: str
    arguments: tuple[tuple[str, Any], ...] = ()
    choices: Mapping[str, tuple[str, ...]] | None = None

    def __init__(
        self,
        name: str,
        arguments: tuple[tuple[str, Any], ...] = (),
        choices: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        set_field(self, "name", name)
        set_field(self, "arguments", arguments)
        set_field(self, "choices", choices)

    def signature(self) -> str:
        """How it is called, for messages and docs: ``normal(mean=0.0, std=1.0)``."""
        parts = [n if d is REQUIRED else f"{n}={spec_repr(d)}" for n, d in self.arguments]
        return f"{self.name}({', '.join(parts)})" if parts else self.name


_KAIMING = (("a", 0.0), ("mode", "fan_in"), ("nonlinearity", "leaky_relu"))
_KAIMING_CHOICES = {"mode": FANS, "nonlinearity": NONLINEARITIES}

# The functions of torch.nn.init a rule may use (each is torch's function of that name plus "_").
INIT_FUNCTIONS: dict[str, InitFunction] = {
    f.name: f
    for f in (
        InitFunction("zeros"),
        InitFunction("ones"),
        InitFunction("constant", (("val", REQUIRED),)),
        InitFunction("normal", (("mean", 0.0), ("std", 1.0))),
        InitFunction("uniform", (("a", 0.0), ("b", 1.0))),
        InitFunction("trunc_normal", (("mean", 0.0), ("std", 1.0), ("a", -2.0), ("b", 2.0))),
        InitFunction("kaiming_normal", _KAIMING, _KAIMING_CHOICES),
        InitFunction("kaiming_uniform", _KAIMING, _KAIMING_CHOICES),
        InitFunction("xavier_normal", (("gain", 1.0),)),
        InitFunction("xavier_uniform", (("gain", 1.0),)),
        InitFunction("orthogonal", (("gain", 1.0),)),
    )
}

# The parameters a rule may name are each op's ``Op.init_parameters``; the ops whose weight has a fan-in
# and a fan-out, for formulas, are those with ``Op.fan_weight``.


def _op_names(aliases: bool = False) -> list[str]:
    """The spec names of the ops with parameters (and their aliases, for "did you mean")."""
    classes = {cls for cls in OPS_BY_NAME.values() if cls.init_parameters}
    return sorted(n for cls in classes for n in (cls.spec_names if aliases else cls.spec_names[:1]))


def lower_init(
    rules: Sequence[ast.InitRule],
    env: Mapping[str, Value],
    nodes: Sequence[Node],
    scopes: Sequence[Scope] = (),
) -> tuple[InitRule, ...]:
    """The IR records of a network's rules, checked against its layers (and, for a rule naming a block,
    the block instances among ``scopes``); every mistake is reported."""
    errors = Collector()
    lowered: list[InitRule] = []
    seen: dict[tuple[str, bool], Span] = {}
    found: list[list[Node]] = []

    def with_parameters() -> list[Node]:
        # Only a name pattern or a block's rule looks at the layers: an op's rule (ResNet's two) does
        # not, and asking every layer for its parameter count was a tenth of lowering a variant.
        if not found:
            found.append(_initialisable(nodes))
        return found[0]

    for rule in rules:
        try:
            record = _block_rule(rule, env, with_parameters, scopes, errors)
            if record is None:
                record = _lower_rule(rule, env, with_parameters, errors)
        except SpecError as error:
            errors.extend(error)
            continue
        if record is None:
            continue
        target = record.kind if record.kind is not None else record.block
        if target is not None:
            key = (target, rule.built)
            if key in seen:
                errors.add(
                    rule.target_span,
                    f"a second init rule for {rule.target}"
                    + (" in `when built:`" if rule.built else "")
                    + f" (the first is on line {seen[key].line})",
                    f"one rule per {'op' if record.kind is not None else 'block'}; "
                    "a quoted name pattern overrides it for some layers",
                )
                continue
            seen[key] = rule.span
        lowered.append(record)
    errors.raise_if_any()
    return tuple(lowered)


# ---------------------------------------------------------------- rules naming a block
# A rule whose target is a block's name (`MLP: xavier_uniform, bias=normal(std=1e-6)`) sets every layer
# with parameters inside each instance of that block, as a constructor of that block would (torchvision's
# `MLPBlock` initialises its linears in its own `__init__`). In `when built:` it runs as soon as an
# instance is constructed, over the instance's parameters in module order (all of them drawn first, then
# set: the block's constructor's loop); otherwise it runs once the network is built, after the op rules
# and in the spec's order with the name patterns, layer by layer in module order. An op's name wins over
# a block's (blocks are capitalised by custom, ops are not).


def block_instances(block: str, scopes: Sequence[Scope]) -> tuple[str, ...]:
    """The dotted names of the instances of the block definition ``block``."""
    return tuple(s.name for s in scopes if s.kind == "block" and s.block == block and s.name)


def block_layers(block: str, nodes: Sequence[Node], scopes: Sequence[Scope]) -> list[Node]:
    """The layers of ``nodes`` inside an instance of ``block``, in the order given."""
    prefixes = tuple(name + "." for name in block_instances(block, scopes))
    return [n for n in nodes if prefixes and n.name.startswith(prefixes)]


def _block_rule(
    rule: ast.InitRule,
    env: Mapping[str, Value],
    nodes: Callable[[], Sequence[Node]],
    scopes: Sequence[Scope],
    errors: Collector,
) -> InitRule | None:
    """The record of a rule naming a block, or None where the target is not a block's instances
    (``nodes``: the layers with parameters)."""
    if rule.pattern or rule.target in OPS_BY_NAME or not block_instances(rule.target, scopes):
        return None
    matched = block_layers(rule.target, nodes(), scopes)
    if not matched:
        raise SpecError.at(
            rule.target_span,
            f"init rule for block '{rule.target}': no layer inside it has parameters to initialise",
        )
    kinds = sorted({n.op.kind for n in matched})
    allowed = tuple(dict.fromkeys(p for k in kinds for p in OPS_BY_KIND[k].init_parameters))
    calls = _lower_calls(rule, env, allowed, kinds, errors)
    return InitRule(
        target=rule.target,
        block=rule.target,
        when="built" if rule.built else "after",
        calls=calls,
        span=rule.span,
    )


def block_built_rules(rules: Sequence[InitRule], scope: Scope) -> list[InitRule]:
    """The `when built:` rules naming the block that ``scope`` is an instance of, in the spec's order:
    applied to the instance's parameters as soon as it is constructed."""
    if scope.kind != "block" or scope.block is None:
        return []
    return [r for r in rules if r.when == "built" and r.block == scope.block]


def _lower_rule(
    rule: ast.InitRule, env: Mapping[str, Value], layers: Callable[[], Sequence[Node]], errors: Collector
) -> InitRule | None:
    if rule.pattern:
        nodes = layers()
        matched = [n for n in nodes if fnmatch.fnmatchcase(n.name, rule.target)]
        if not matched:
            names = [n.name for n in nodes]
            errors.add(
                rule.target_span,
                f'init rule "{rule.target}": no layer with parameters has a matching name',
                did_you_mean(rule.target, names)
                or "a pattern matches whole dotted names; '*' stands for any characters, dots included",
            )
            return None
        kinds = sorted({n.op.kind for n in matched})
        allowed = tuple(dict.fromkeys(p for k in kinds for p in OPS_BY_KIND[k].init_parameters))
        kind = None
    else:
        op_class = OPS_BY_NAME.get(rule.target)
        retired = RETIRED_OPS.get(rule.target)
        if op_class is None and retired is not None:
            errors.add(
                rule.target_span,
                f"init rule for '{rule.target}': there is no op '{rule.target}' any more",
                f"{retired.hint()}; a rule naming the block ({retired.block}: ...) sets the layers inside it",
            )
            return None
        if op_class is None:
            hint = did_you_mean(rule.target, _op_names(aliases=True))
            message = f"init rule for '{rule.target}': there is no op of that name"
            if hint is None:
                message += '; a quoted target is a name pattern (`"fc": ...`)'
                hint = "the ops with parameters: " + ", ".join(_op_names())
            errors.add(rule.target_span, message, hint)
            return None
        kind = op_class.model_fields["kind"].default
        if not op_class.init_parameters:
            errors.add(
                rule.target_span,
                f"init rule for '{rule.target}': {rule.target} has no parameters to initialise",
                "the ops with parameters: " + ", ".join(_op_names()),
            )
            return None
        kinds = [kind]
        allowed = op_class.init_parameters
    return InitRule(
        target=rule.target,
        kind=kind,
        pattern=rule.target if rule.pattern else None,
        when="built" if rule.built else "after",
        calls=_lower_calls(rule, env, allowed, kinds, errors),
        span=rule.span,
    )


def _lower_calls(
    rule: ast.InitRule,
    env: Mapping[str, Value],
    allowed: tuple[str, ...],
    kinds: Sequence[str],
    errors: Collector,
) -> tuple[InitCall, ...]:
    """A rule's clauses checked against the parameters its layers have; every mistake is reported."""
    calls: list[InitCall] = []
    named: set[str] = set()
    for index, clause in enumerate(rule.clauses):
        try:
            call = _lower_clause(rule, clause, index, allowed, kinds, env)
        except SpecError as error:
            errors.extend(error)
            continue
        if call.parameter in named:
            errors.add(clause.span, f"init rule for {_target(rule)} sets '{call.parameter}' twice")
            continue
        named.add(call.parameter)
        calls.append(call)
    return tuple(calls)


def _target(rule: ast.InitRule) -> str:
    return f'"{rule.target}"' if rule.pattern else f"'{rule.target}'"


def _lower_clause(
    rule: ast.InitRule,
    clause: ast.InitClause,
    index: int,
    allowed: tuple[str, ...],
    kinds: Sequence[str],
    env: Mapping[str, Value],
) -> InitCall:
    parameter = clause.parameter
    if parameter is None:
        if index > 0:
            raise SpecError.at(
                clause.span,
                f"init rule for {_target(rule)}: only the first clause may leave out the parameter's name",
                f"name the parameter this sets: `bias={clause.function}`",
            )
        parameter = "weight"
    if parameter not in allowed:
        raise SpecError.at(
            clause.span,
            f"init rule for {_target(rule)}: no parameter '{parameter}'",
            did_you_mean(parameter, allowed) or f"its parameters: {', '.join(allowed)}",
        )
    return init_call(clause, parameter, kinds, env)


def init_call(
    clause: ast.InitClause, parameter: str, kinds: Sequence[str], env: Mapping[str, Value]
) -> InitCall:
    """One init scheme (``trunc_normal(std=0.02)``) checked and evaluated, setting ``parameter`` of layers
    of the op ``kinds``: an ``init:`` rule's clause, or a ``param`` declaration's ``init=``."""
    function = INIT_FUNCTIONS.get(clause.function)
    if function is None:
        hint = did_you_mean(clause.function, INIT_FUNCTIONS)
        raise SpecError.at(
            clause.span,
            f"unknown init function '{clause.function}'",
            hint or "the init functions: " + ", ".join(INIT_FUNCTIONS),
        )
    names = [n for n, _ in function.arguments]
    if len(clause.args) > len(names):
        allowed_count = f"at most {len(names)} positional argument{'s' if len(names) != 1 else ''}"
        raise SpecError.at(
            clause.args[len(names)].span,
            f"{function.name} takes {allowed_count if names else 'no arguments'}, got {len(clause.args)}",
            function.signature(),
        )
    given: dict[str, ast.Expr] = dict(zip(names, clause.args, strict=False))
    for kw in clause.kwargs:
        if kw.name not in names:
            raise SpecError.at(
                kw.span,
                f"{function.name} has no argument '{kw.name}'",
                did_you_mean(kw.name, names) or function.signature(),
            )
        if kw.name in given:
            raise SpecError.at(kw.span, f"{function.name} got argument '{kw.name}' twice")
        given[kw.name] = kw.value
    missing = [n for n, d in function.arguments if d is REQUIRED and n not in given]
    if missing:
        raise SpecError.at(clause.span, f"{function.name} needs {quoted_list(missing)}", function.signature())
    args: dict[str, Any] = {}
    formulas: dict[str, str] = {}
    for name, expr in given.items():
        if _uses_fans(expr):
            if parameter != "weight" or any(not OPS_BY_KIND[k].fan_weight for k in kinds):
                raise SpecError.at(
                    expr.span,
                    "fan_in and fan_out are known only for the weight of conv, linear and patch_embed",
                )
            formulas[name] = formula_text(expr, env)
            evaluate_formula(formulas[name], 1, 1)  # a formula that fails for any fan fails here
            continue
        args[name] = _check_value(function, name, evaluate(expr, env), expr.span)
    return InitCall(parameter=parameter, function=function.name, args=args, formulas=formulas)


def _check_value(function: InitFunction, name: str, value: Value, span: Span) -> Any:
    choices = (function.choices or {}).get(name)
    if choices is not None:
        if value not in choices:
            raise SpecError.at(
                span,
                f"{function.name}: {name} must be one of {', '.join(spec_repr(c) for c in choices)}, "
                f"got {show(value)}",
                did_you_mean(value, choices) if isinstance(value, str) else None,
            )
        return value
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise SpecError.at(span, f"{function.name}: {name} must be a number, got {show(value)}")
    return value


def _uses_fans(expr: ast.Expr) -> bool:
    if isinstance(expr, ast.Name):
        return expr.id in FANS
    return any(_uses_fans(child) for child in expr_children(expr))


# Formulas are arithmetic over numbers, fan_in and fan_out, and these functions (Python's `math` has them).
FORMULA_FUNCTIONS = frozenset({"sqrt"})


def formula_text(expr: ast.Expr, env: Mapping[str, Value]) -> str:
    """A formula as spec text, fully parenthesised, every name but fan_in/fan_out replaced by its value."""
    if isinstance(expr, ast.Name) and expr.id in FANS:
        return expr.id
    if isinstance(expr, ast.BinaryOp):
        return f"({formula_text(expr.left, env)} {expr.op} {formula_text(expr.right, env)})"
    if isinstance(expr, ast.UnaryOp) and expr.op == "-":
        return f"(-{formula_text(expr.operand, env)})"
    if isinstance(expr, ast.FuncCall) and expr.func in FORMULA_FUNCTIONS and not expr.kwargs:
        return f"{expr.func}({', '.join(formula_text(a, env) for a in expr.args)})"
    if not _uses_fans(expr):
        value = evaluate(expr, env)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return repr(value)
        raise SpecError.at(expr.span, f"a formula takes numbers, got {show(value)}")
    raise SpecError.at(
        expr.span,
        "a formula with fan_in or fan_out may use only numbers, + - * / **, and sqrt",
    )


def evaluate_formula(text: str, fan_in: int, fan_out: int) -> float:
    """The value of a formula for one tensor (the backends' evaluator; spec text is never executed)."""
    from archspec.syntax import parse_expression

    value = evaluate(parse_expression(text, "<init formula>"), {"fan_in": fan_in, "fan_out": fan_out})
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise SpecError.at(None, f"an init formula must give a number, got {show(value)}")
    return float(value)


def formula_python(text: str) -> str:
    """A formula as Python source over ``fan_in``/``fan_out`` (generated files), rebuilt from its parse
    with the parentheses Python needs to read it as parsed, and no others: ``-1 / math.sqrt(fan_out)``."""
    from archspec.syntax import parse_expression

    written = python_expression(
        parse_expression(text, "<init formula>"),
        name=lambda expr: expr.id if expr.id in FANS else None,
        call=lambda expr, args: (
            f"math.{expr.func}({', '.join(args)})" if expr.func in FORMULA_FUNCTIONS else None
        ),
    )
    if written is None:
        raise ValueError(f"not an init formula: {text!r}")
    return written


# ---------------------------------------------------------------- the order the backends apply them in


def after_order(
    rules: Sequence[InitRule], nodes: Sequence[Node], scopes: Sequence[Scope] = ()
) -> list[tuple[Node, InitRule]]:
    """The (layer, rule) pairs applied once the network is built, in order: first every layer with
    parameters by the rule for its op, in module order (torchvision's ``for m in self.modules()`` loop),
    then each named rule and each block rule in the spec's order, over the layers it matches (inside
    an instance of the block among ``scopes``) in module order."""
    by_kind = {r.kind: r for r in rules if r.when == "after" and r.kind is not None}
    order = [(n, by_kind[n.op.kind]) for n in _initialisable(nodes) if n.op.kind in by_kind]
    for rule in rules:
        if rule.when == "after" and rule.pattern is not None:
            matched = [n for n in _initialisable(nodes) if fnmatch.fnmatchcase(n.name, rule.pattern)]
            order.extend((n, rule) for n in matched)
        elif rule.when == "after" and rule.block is not None:
            order.extend((n, rule) for n in block_layers(rule.block, _initialisable(nodes), scopes))
    return order


def clause_for(rule: InitRule, key: str) -> InitCall | None:
    """The clause of ``rule`` that sets the torch parameter ``key`` of the layer it applies to (the
    first that names it, as ``backends.init.matches`` reads a name: the parameter itself, a sublayer's
    parameter of that name, or any parameter of the sublayer of that name), or None."""
    for call in rule.calls:
        name = call.parameter
        if key == name or key.endswith("." + name) or key.startswith(name + "."):
            return call
    return None


def built_rules(rules: Sequence[InitRule], node: Node) -> list[InitRule]:
    """The rules applied to a layer as soon as it is constructed: its op's, then the named ones in order."""
    if not node.op.init_parameters or node.op.param_count() == 0:
        return []
    built = [r for r in rules if r.when == "built"]
    return [r for r in built if r.kind == node.op.kind] + [
        r for r in built if r.pattern is not None and fnmatch.fnmatchcase(node.name, r.pattern)
    ]


def _initialisable(nodes: Sequence[Node]) -> list[Node]:
    return [n for n in nodes if n.op.init_parameters and n.op.param_count() > 0]


def rule_text(rule: InitRule) -> str:
    """A rule as spec text (generated docstrings): ``conv: kaiming_normal(mode="fan_out"), bias=zeros``."""
    clauses = []
    for index, call in enumerate(rule.calls):
        args = [f"{k}={spec_repr(v)}" for k, v in call.args.items()]
        args += [f"{k}={v}" for k, v in call.formulas.items()]
        text = f"{call.function}({', '.join(args)})" if args else call.function
        clauses.append(text if index == 0 and call.parameter == "weight" else f"{call.parameter}={text}")
    target = f'"{rule.target}"' if rule.pattern is not None else rule.target
    return f"{target}: {', '.join(clauses)}"
