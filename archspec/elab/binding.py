"""Call binding: which parameter each argument of an op or block call gives.

One binder for lowering, which stops at the first mistake, and ``archspec check``, which reports every
one: the caller says what a mistake does (``report``) and how an argument is read (``value``: lowering
evaluates it, ``check`` keeps the expression), so that both give the same messages in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from archspec import ast
from archspec.errors import Diagnostic, did_you_mean
from archspec.ops import Op
from archspec.source import Span

T = TypeVar("T")


@dataclass(frozen=True)
class Signature:
    """What a call may be given: the parameters in order, and the other names they answer to."""

    name: str
    params: tuple[str, ...]
    is_block: bool
    aliases: Mapping[str, str] = field(default_factory=dict)
    # Keywords that name no parameter are arguments of their own (rearrange's axis sizes: `h=7`).
    open_keywords: bool = False


def op_signature(name: str, op_class: type[Op]) -> Signature:
    """An op's arguments, as the spec writes them (made once per name and class: lowering asks per layer)."""
    signature = _OP_SIGNATURES.get((name, op_class))
    if signature is None:
        signature = Signature(
            name, tuple(op_class.spec_arguments()), False, op_class.aliases, op_class.open_keywords
        )
        _OP_SIGNATURES[(name, op_class)] = signature
    return signature


_OP_SIGNATURES: dict[tuple[str, type[Op]], Signature] = {}


def block_signature(block: ast.BlockDef) -> Signature:
    """A block's parameters."""
    return Signature(block.name, tuple(p.name for p in block.params), True)


@dataclass(frozen=True)
class Argument(Generic[T]):
    """An argument bound to a parameter: its value, its expression and where it is written."""

    value: T
    expr: ast.Expr
    span: Span


def bind(
    signature: Signature,
    call: ast.Call,
    value: Callable[[ast.Expr], T],
    report: Callable[[Diagnostic], None],
) -> dict[str, Argument[T]]:
    """The arguments of ``call`` by parameter, in the order written; each mistake goes to ``report``
    (which may raise) and the argument is left out."""
    params = signature.params
    if len(call.args) > len(params):
        report(_too_many(signature, call))
    bound: dict[str, Argument[T]] = {}
    for name, expr in zip(params, call.args, strict=False):
        bound[name] = Argument(value(expr), expr, expr.span)
    for kw in call.kwargs:
        name = signature.aliases.get(kw.name, kw.name)
        if name not in params and not signature.open_keywords:
            report(_unknown(signature, kw))
            continue
        if name in bound:
            what = "parameter" if signature.is_block else "argument"
            report(Diagnostic(f"{_callee(signature)} got {what} '{kw.name}' twice", kw.span))
            continue
        bound[name] = Argument(value(kw.value), kw.value, kw.span)
    return bound


def _callee(signature: Signature) -> str:
    return f"block {signature.name}" if signature.is_block else signature.name


def _too_many(signature: Signature, call: ast.Call) -> Diagnostic:
    params = signature.params
    got = len(call.args)
    if signature.is_block:
        count = f"{len(params)} argument{'' if len(params) == 1 else 's'}"
        return Diagnostic(f"block {signature.name} takes {count} ({', '.join(params)}), got {got}", call.span)
    allowed = (
        f"at most {len(params)} positional argument{'s' if len(params) > 1 else ''} ({', '.join(params)})"
        if params
        else "no arguments"
    )
    return Diagnostic(f"{signature.name} takes {allowed}, got {got}", call.args[len(params)].span)


def _unknown(signature: Signature, kw: ast.Keyword) -> Diagnostic:
    if signature.is_block:
        return Diagnostic(
            f"block {signature.name} has no parameter '{kw.name}'",
            kw.span,
            did_you_mean(kw.name, signature.params)
            or (f"its parameters: {', '.join(signature.params)}" if signature.params else "it has none"),
        )
    hint = did_you_mean(kw.name, [*signature.params, *signature.aliases])
    return Diagnostic(
        f"{signature.name} has no argument '{kw.name}'",
        kw.span,
        hint or f"its arguments: {', '.join(signature.params)}",
    )


class RetiredOp:
    """An op retired for a standard-library block that is the same layer. (A plain class: a dataclass
    on the analyze path costs start-up time, tests/test_records.py.)"""

    __slots__ = ("block", "call", "layer", "path")

    def __init__(self, layer: str, path: str, block: str, call: str) -> None:
        self.layer = layer  # what the layer is, for the message
        self.path = path  # the std file, as an import writes it
        self.block = block  # the block's name
        self.call = call  # how the block is called

    def hint(self) -> str:
        """Where the block is: the import a spec writes, then the call."""
        return (
            f'the {self.layer} is a standard-library block now: from "{self.path}" import {self.block}, '
            f"then {self.call}"
        )


# A spec that still calls a retired op is told where its block is, rather than that the name does not
# exist (the init rules say the same for a rule keyed by it).
RETIRED_OPS: dict[str, RetiredOp] = {
    "mlp": RetiredOp("transformer MLP", "std/mlp.arch", "MLP", "MLP(hidden_features, out_features)"),
}


def unknown_op(call: ast.Call, candidates: Sequence[str]) -> Diagnostic:
    """The error for a call of an op or block that does not exist: a hint only for a near miss, or where
    the op was retired (``RETIRED_OPS``)."""
    retired = RETIRED_OPS.get(call.name)
    if retired is not None:
        return Diagnostic(f"there is no op '{call.name}' any more", call.span, retired.hint())
    hint = did_you_mean(call.name, candidates)
    if hint is not None:
        return Diagnostic(f"unknown op or block '{call.name}'", call.span, hint)
    return Diagnostic(
        f"there is no op or block named '{call.name}'",
        call.span,
        "the ops are listed in docs/language.md#ops; a block must be defined in this file or imported",
    )
