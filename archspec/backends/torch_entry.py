"""What a torch realisation of an op kind is (``TorchOp``) and the table they are registered in.

``backends.torch_ops`` registers the layers' realisations, ``backends.torch_tensor`` the tensor
primitives'; the table is complete once ``torch_ops`` is imported (it imports ``torch_tensor``), so
readers of the table import it from there. Kept apart so that neither registering module imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn

from archspec.errors import InternalError
from archspec.ops import Op

# In the table, an entry takes any op (each is registered with its own op class's type, checked there).
ModuleFn = Callable[[Any, bool], nn.Module]
FunctionFn = Callable[[Any, nn.Module, str], Callable[..., torch.Tensor]]
OpT = TypeVar("OpT", bound=Op)


@dataclass(frozen=True)
class TorchOp:
    """How one op kind becomes torch (see the module docstring)."""

    module: ModuleFn | None = None
    function: FunctionFn | None = None
    wrap: Callable[[nn.Module], Callable[..., torch.Tensor]] | None = None
    parameter: Callable[[Any], torch.Tensor] | None = None
    buffer: Callable[[Any], torch.Tensor] | None = None


TORCH_OPS: dict[str, TorchOp] = {}


def register(
    cls: type[OpT],
    *,
    module: Callable[[OpT, bool], nn.Module] | None = None,
    function: Callable[[OpT, nn.Module, str], Callable[..., torch.Tensor]] | None = None,
    wrap: Callable[[nn.Module], Callable[..., torch.Tensor]] | None = None,
    parameter: Callable[[OpT], torch.Tensor] | None = None,
    buffer: Callable[[OpT], torch.Tensor] | None = None,
) -> None:
    """Record how ops of class ``cls`` become torch (see the module docstring)."""
    kind = cls.op_kind()
    if kind in TORCH_OPS or (module is None) == (function is None):
        raise InternalError(f"torch realisation of {kind}: registered twice, or not one module or function")
    TORCH_OPS[kind] = TorchOp(module=module, function=function, wrap=wrap, parameter=parameter, buffer=buffer)
