"""Block instances: the blocks being elaborated (for recursion and the file whose names a call sees),
a call's arguments bound into the block's environment, and the call as the IR records it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from archspec import ast
from archspec.elab.binding import bind, block_signature
from archspec.elab.names import file_environment
from archspec.elab.traced import plain
from archspec.errors import Diagnostic, SpecError
from archspec.expr import BlockRef, Value, a_type, evaluate, show
from archspec.limits import MAX_BLOCK_DEPTH
from archspec.loader import FileScope, Program
from archspec.ops import OPS_BY_NAME, Shape
from archspec.source import Span

# The names every block instance sees besides its parameters (its inputs' shapes), for `check` too.
INPUT_NAMES = ("in_channels", "in_shape", "in_shapes")


@dataclass(frozen=True)
class _Frame:
    """A block instantiation on the stack: its name (for recursion errors) and the file defining it."""

    block: str
    path: str
    span: Span


class BlockStack:
    """The blocks being elaborated, one inside the other; the innermost one's file resolves names."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.frames: list[_Frame] = []

    def __bool__(self) -> bool:
        return bool(self.frames)

    def current_file(self) -> FileScope:
        """The file of the block being elaborated (the root file outside blocks)."""
        return self.program.files[self.frames[-1].path] if self.frames else self.program.root

    def check(self, block: ast.BlockDef, call: ast.Call) -> None:
        """Refuse a call of ``block`` that recurses or nests too deep."""
        names = [frame.block for frame in self.frames]
        if block.name in names:
            chain = " -> ".join([*names[names.index(block.name) :], block.name])
            raise SpecError.at(call.span, f"recursive block '{block.name}': {chain}")
        if len(names) >= MAX_BLOCK_DEPTH:
            chain = " -> ".join([*names[:3], "…", *names[-2:], block.name])
            raise SpecError.at(call.span, f"blocks call each other more than {MAX_BLOCK_DEPTH} deep: {chain}")

    def enter(self, block: ast.BlockDef, call: ast.Call) -> None:
        """Push ``block``, called at ``call`` (``check`` first)."""
        self.frames.append(_Frame(block.name, block.path, call.span))

    def leave(self) -> None:
        """Pop the innermost block."""
        self.frames.pop()

    def find_block(self, call: ast.Call, env: Mapping[str, Value]) -> ast.BlockDef | None:
        """The block a call names (directly or through a block-valued name); None for an op."""
        if call.name in env:
            value = env[call.name]
            if isinstance(value, BlockRef):
                return self.block_named(value.name, call.span)
            if call.name not in OPS_BY_NAME:
                raise SpecError.at(
                    call.span, f"'{call.name}' is {a_type(value)} ({show(value)}), not a layer or a block"
                )
        return self.current_file().blocks.get(call.name)

    def block_named(self, name: str, span: Span) -> ast.BlockDef:
        """The block ``name``: of the current file, else of any file of the program."""
        block = self.current_file().blocks.get(name)
        if block is None:
            for scope in self.program.files.values():
                if name in scope.blocks:
                    return scope.blocks[name]
            raise SpecError.at(span, f"unknown block '{name}'")
        return block


def raise_it(diagnostic: Diagnostic) -> None:
    """The ``report`` of lowering: the first mistake stops it."""
    raise SpecError([diagnostic])


def bind_block_arguments(
    program: Program,
    block: ast.BlockDef,
    call: ast.Call,
    env: Mapping[str, Value],
    shape: Shape,
) -> dict[str, Value]:
    """The names a block instance sees: its file's, ``in_shape`` and ``in_channels`` (of ``shape``, its
    first input's) and its parameters, from the call's arguments (evaluated in ``env``) or defaults."""

    def value(expr: ast.Expr) -> Value:
        return evaluate(expr, env)

    values = {name: arg.value for name, arg in bind(block_signature(block), call, value, raise_it).items()}
    block_env = file_environment(program.files[block.path])
    block_env["in_shape"] = shape
    block_env["in_channels"] = shape[0] if shape else 0
    for param in block.params:
        if param.name in values:
            block_env[param.name] = values[param.name]
        elif param.default is not None:
            block_env[param.name] = evaluate(param.default, block_env)
        else:
            raise SpecError.at(call.span, f"block {block.name} needs parameter '{param.name}'")
    return block_env


def explain_network_names(
    error: SpecError, block: ast.BlockDef, network_params: Mapping[str, Value]
) -> SpecError:
    """An unknown name inside a block that is a network parameter gets a hint saying why."""
    first = error.diagnostics[0]
    for name in network_params:
        if first.message == f"unknown name '{name}'" and first.hint is None:
            hint = (
                f"'{name}' is a parameter of the network; a block sees only its own parameters "
                f"and the file's top-level names: add '{name}' to block {block.name}'s parameters"
            )
            rest = error.diagnostics[1:]
            return SpecError([Diagnostic(first.message, first.span, hint), *rest], error.sources)
    return error


def call_text(block: ast.BlockDef, call: ast.Call, bound: Mapping[str, Value]) -> str:
    """``Inception(64, 96, 128, 16, 32, 32)``, ``Bottleneck(128, stride=2)``: the block call with its
    evaluated arguments, required ones by position, others by name where they differ from the default."""
    parts = [
        f"{name}={show(v)}" if keyword else show(v)
        for name, v, keyword in shown_arguments(block, call, bound)
    ]
    return f"{block.name}({', '.join(parts)})"


def shown_arguments(
    block: ast.BlockDef, call: ast.Call, bound: Mapping[str, Value]
) -> list[tuple[str, Value, bool]]:
    """The arguments a call's text shows, as ``(name, value, by keyword)``: every required one (by
    position), and each other one the call gives with a value other than its default (by name)."""
    given = {kw.name for kw in call.kwargs} | {p.name for p in block.params[: len(call.args)]}
    shown: list[tuple[str, Value, bool]] = []
    for param in block.params:
        value = bound[param.name]
        if param.default is None:
            shown.append((param.name, value, False))
        elif param.name in given:
            try:
                default = evaluate(param.default, bound)
            except SpecError:  # a default that cannot be evaluated here: show the value given
                default = _NO_VALUE
            # plain values: a traced elaboration's numbers (elab.traced) are subclasses, and the text
            # must not depend on tracing
            value, default = plain(value), plain(default)
            if value != default or type(value) is not type(default):
                shown.append((param.name, value, True))
    return shown


_NO_VALUE = object()
