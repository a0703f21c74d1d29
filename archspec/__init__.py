"""archspec: a declarative architecture-spec compiler for vision networks.

Parse a ``.arch`` spec, analyse it statically (shapes, parameters, MACs, memory, receptive field) and
compile it to a PyTorch module or standalone source. Importing archspec does not import torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - the same names, for type checkers and IDEs
    from archspec.api import Network, load, variants_of
    from archspec.errors import SpecError, UsageError
    from archspec.sweeps import sweep
    from archspec.train.api import evaluate, predict

# `train` is the package archspec.train, which is callable: archspec.train(spec, data="digits", ...).
__all__ = ["Network", "SpecError", "UsageError", "evaluate", "load", "predict", "train", "variants_of"]
__all__ += ["sweep"]  # archspec.sweeps.sweep: the module has its own name, so the function keeps this one
__version__ = "0.1.0"  # the one version string: pyproject.toml's is held to it by tests/test_cli.py

# The public names load on first use (PEP 562): `import archspec.syntax` or the CLI's `check` then do not
# pay for the IR, the op library and the lowering pass they do not need.
_HOME = {
    "Network": "archspec.api",
    "load": "archspec.api",
    "variants_of": "archspec.api",
    "SpecError": "archspec.errors",
    "UsageError": "archspec.errors",
    "evaluate": "archspec.train.api",
    "predict": "archspec.train.api",
    "sweep": "archspec.sweeps",
}


def __getattr__(name: str) -> Any:
    """The public name ``name``, imported from its module on first use."""
    if name == "train":  # the package itself (callable); importing it imports no torch
        return import_module("archspec.train")
    if name not in _HOME:
        raise AttributeError(f"module 'archspec' has no attribute {name!r}")
    value = getattr(import_module(_HOME[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    """The module's names, the lazily imported public ones included."""
    return sorted({*globals(), *__all__})
