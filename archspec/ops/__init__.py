"""The op library: one class per op (see ``archspec.ops.base.Op``), and the registries built from them.

Each op module defines its classes; defining a class with a ``kind`` registers it (``OPS_BY_KIND``,
``OPS_BY_NAME``). This package imports the op modules (every module of it, so that a new module needs no
import added) and derives from the registry the tuple of library ops and the IR's union of op types.
"""

import importlib
import pkgutil
from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from archspec.ops.base import (
    OPS_BY_KIND,
    OPS_BY_NAME,
    Op,
    OpError,
    RFEffect,
    RFStep,
    Saved,
    Shape,
    format_shape,
    numel,
)

# The order the library's ops are listed in (docs, schema): by module, then as each module defines them.
_MODULE_ORDER = ("conv", "dense", "pool", "norm", "activation", "structure", "arith", "vit", "swin")
_modules = sorted(
    (m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"),
    key=lambda name: (_MODULE_ORDER.index(name) if name in _MODULE_ORDER else len(_MODULE_ORDER), name),
)
for _name in _modules:
    importlib.import_module(f"{__name__}.{_name}")

# The library's ops, the network input first (an op a test defines later is in the registries, not here).
OP_CLASSES: tuple[type[Op], ...] = tuple(sorted(OPS_BY_KIND.values(), key=lambda op: op.called_by_specs))

if TYPE_CHECKING:
    AnyOp = Op
else:
    # The IR's field type: one of the library's ops, told apart by `kind` (the JSON schema lists them).
    AnyOp = Annotated[Union[OP_CLASSES], Field(discriminator="kind")]  # noqa: UP007 - built from a tuple

__all__ = [
    "OPS_BY_KIND",
    "OPS_BY_NAME",
    "OP_CLASSES",
    "AnyOp",
    "Op",
    "OpError",
    "RFEffect",
    "RFStep",
    "Saved",
    "Shape",
    "format_shape",
    "numel",
]
