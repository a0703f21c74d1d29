"""The network a spec defines, its variants, its parameters' values and its input shape."""

from __future__ import annotations

from collections.abc import Mapping

from archspec import ast
from archspec.elab.names import file_environment
from archspec.errors import SpecError, did_you_mean, header
from archspec.expr import BlockRef, Value, evaluate, show
from archspec.limits import MAX_INT
from archspec.loader import Program
from archspec.ops import Shape
from archspec.source import Span

MAX_RANK = 8  # sizes of the input shape


def network_of(program: Program) -> ast.NetworkDef:
    """The network a root file defines (exactly one)."""
    networks = program.root.module.networks
    path = program.root.module.path
    if not networks:
        if not program.root.module.blocks and not program.root.module.lets:
            raise SpecError.at(_file_start(path), "empty spec: a file needs a `network name:` section")
        raise SpecError.at(_file_start(path), "this file defines blocks but no `network name:` section")
    if len(networks) > 1:
        raise SpecError.at(
            header(networks[1].span, f"network {networks[1].name}"),
            "one file defines one network; use variants for a family",
        )
    return networks[0]


def _file_start(path: str) -> Span:
    return Span(path=path, line=1, column=1, end_line=1, end_column=2)


def variant_names(network: ast.NetworkDef) -> list[str]:
    """The variants a network defines, or its own name when it has none."""
    return [v.name for v in network.variants] or [network.name]


def parameters(
    program: Program, network: ast.NetworkDef, variant: str | None, overrides: Mapping[str, Value]
) -> tuple[str | None, dict[str, Value]]:
    """The variant chosen and the parameter values: defaults, then the variant's row, then overrides."""
    env = file_environment(program.root)
    values: dict[str, Value] = {}
    declared = {let.name: let for let in network.params}
    chosen = None
    if network.variants:
        names = [v.name for v in network.variants]
        if variant is None or variant == network.name:
            chosen = network.variants[0]
        else:
            chosen = next((v for v in network.variants if v.name == variant), None)
            if chosen is None:
                raise SpecError.at(
                    header(network.span, f"network {network.name}"),
                    f"network '{network.name}' has no variant '{variant}'",
                    did_you_mean(variant, names) or f"its variants: {', '.join(names)}",
                )
    elif variant not in (None, network.name):
        raise SpecError.at(
            header(network.span, f"network {network.name}"),
            f"network '{network.name}' has no variants (asked for '{variant}')",
        )
    for row_variant in network.variants:  # every row, not only the chosen one: a typo is a typo
        for kw in row_variant.overrides:
            if kw.name not in declared:
                raise SpecError.at(
                    kw.span,
                    f"variant '{row_variant.name}' sets '{kw.name}', "
                    f"which is not a parameter of {network.name}",
                    did_you_mean(kw.name, declared) or f"its parameters: {', '.join(declared) or 'none'}",
                )
    row = {kw.name: kw for kw in chosen.overrides} if chosen is not None else {}
    for name in overrides:
        if name not in declared:
            raise SpecError.at(
                None,
                f"'{name}' is not a parameter of {network.name}",
                did_you_mean(name, declared) or f"its parameters: {', '.join(declared) or 'none'}",
            )
    for let in network.params:
        scope = {**env, **values}
        if let.name in overrides:
            value = overrides[let.name]
            if (
                isinstance(value, str)
                and let.name in values
                and isinstance(evaluate(let.value, scope), BlockRef)
            ):
                value = BlockRef(value)
            values[let.name] = _as_block(let.name, value, evaluate(let.value, scope), program)
        elif let.name in row:
            values[let.name] = evaluate(row[let.name].value, scope)
        else:
            values[let.name] = evaluate(let.value, scope)
    return (chosen.name if chosen else None), values


def _as_block(name: str, value: Value, default: Value, program: Program) -> Value:
    """An override given as a string for a block-valued parameter names the block."""
    if isinstance(default, BlockRef) and isinstance(value, str):
        if value not in program.root.blocks:
            raise SpecError.at(
                None,
                f"parameter '{name}' is a block, and there is no block '{value}'",
                did_you_mean(value, program.root.blocks) or f"the blocks: {', '.join(program.root.blocks)}",
            )
        return BlockRef(value)
    return value


def input_shape(network: ast.NetworkDef, env: Mapping[str, Value], override: Shape | None) -> Shape:
    """The input shape: ``--input`` when given, else the network's ``input:`` entry."""
    if override is not None:
        if not override or any(not isinstance(d, int) or d <= 0 for d in override):
            raise SpecError.at(None, f"invalid input shape {override}: every size must be a positive integer")
        if len(override) > MAX_RANK or any(d > MAX_INT for d in override):
            raise SpecError.at(
                None, f"input shape of {len(override)} sizes: at most {MAX_RANK}, each at most 10**15"
            )
        return tuple(override)
    if network.input is None:
        raise SpecError.at(
            header(network.span, f"network {network.name}"),
            f"network '{network.name}' has no `input:` shape",
        )
    value = evaluate(network.input, env)
    if (
        not isinstance(value, tuple)
        or not value
        or any(not isinstance(d, int) or isinstance(d, bool) or d <= 0 for d in value)
    ):
        raise SpecError.at(
            network.input.span, f"input must be a list of positive integers, got {show(value)}"
        )
    if len(value) > MAX_RANK:
        raise SpecError.at(network.input.span, f"input has {len(value)} sizes; the limit is {MAX_RANK}")
    return tuple(value)
