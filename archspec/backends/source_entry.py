"""What a source realisation of an op kind is (``SourceOp`` and the pieces it is written with: ``Arg``,
``Ctor``, ``Formula``, ``Leaf``) and the table they are registered in.

``backends.source_ops`` registers the layers' source, ``backends.source_tensor`` the tensor primitives';
the table is complete once ``source_ops`` is imported (it imports ``source_tensor``), so readers of the
table import it from there. Kept apart so that neither registering module imports the other. Imports no
torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from archspec.errors import InternalError
from archspec.ops import Op

NO_DEFAULT: Any = object()


@dataclass(frozen=True)
class Arg:
    """One constructor argument in generated source: positional when ``keyword`` is None."""

    value: Any
    keyword: str | None = None
    default: Any = NO_DEFAULT
    hint: str | None = None

    @property
    def name(self) -> str:
        """A parameter name for this argument when it varies between instances of a block."""
        return self.hint or self.keyword or "value"


@dataclass(frozen=True)
class Formula:
    """An argument the spec computes from the network's parameters, written as its formula over their
    values (``(224 // 16) ** 2 + 1``): ``backends.exposed`` then finds each parameter's value there."""

    value: int | float
    text: str


@dataclass(frozen=True)
class Ctor:
    """A constructor call ``callee(args...)close`` in generated source."""

    callee: str
    args: tuple[Arg, ...]
    close: str = ""
    layers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Leaf:
    """A module without submodules that a layer's module is or holds: where (``qkv`` inside window
    attention, '' for the layer's own module), the classes ``isinstance`` finds it to be among those
    the file can test, and its parameters in torch's order."""

    path: str
    classes: tuple[str, ...]
    parameters: tuple[str, ...]

    def key(self, parameter: str) -> str:
        """The parameter's name in the layer's module (what an init rule's clauses are matched on)."""
        return f"{self.path}.{parameter}" if self.path else parameter


# In the table, an entry takes any op (each is registered with its own op class's type, checked there).
SourceFn = Callable[[Any, bool], Ctor]
InlineFn = Callable[[Any, Sequence[str], str, bool], str]
CallFn = Callable[[str, Sequence[str]], str]
OpT = TypeVar("OpT", bound=Op)


def call_module(attr: str, inputs: Sequence[str]) -> str:
    """``self.conv1(x)``: a module called plainly."""
    return f"{attr}({', '.join(inputs)})"


@dataclass(frozen=True)
class SourceOp:
    """How one op kind is written as source (see the module docstring)."""

    source: SourceFn | None = None
    inline: InlineFn | None = None
    call: CallFn = call_module
    parameter_source: Callable[[Any], Ctor] | None = None
    buffer_source: Callable[[Any], str] | None = None
    inner: Callable[[Any], tuple[Leaf, ...]] | None = None
    own: Callable[[Any], tuple[str, ...]] | None = None
    imports: tuple[str, ...] = ()

    @property
    def is_module(self) -> bool:
        """Whether the op is a module of its own (else a functional op, or a parameter in its owner)."""
        return self.source is not None

    @property
    def called_plainly(self) -> bool:
        """Whether the module's call is ``module(x)``, so that it can sit in an ``nn.Sequential``."""
        return self.call is call_module


SOURCE_OPS: dict[str, SourceOp] = {}


def register(
    cls: type[OpT],
    *,
    source: Callable[[OpT, bool], Ctor] | None = None,
    inline: Callable[[OpT, Sequence[str], str, bool], str] | None = None,
    call: CallFn = call_module,
    parameter_source: Callable[[OpT], Ctor] | None = None,
    inner: Callable[[OpT], tuple[Leaf, ...]] | None = None,
    own: Callable[[OpT], tuple[str, ...]] | None = None,
    buffer_source: Callable[[OpT], str] | None = None,
    imports: tuple[str, ...] = (),
) -> None:
    """Record how ops of class ``cls`` are written as source (see the module docstring)."""
    kind = cls.op_kind()
    if kind in SOURCE_OPS or (source is None and inline is None):
        raise InternalError(f"source of {kind}: registered twice, or neither a module nor an expression")
    SOURCE_OPS[kind] = SourceOp(source, inline, call, parameter_source, buffer_source, inner, own, imports)
