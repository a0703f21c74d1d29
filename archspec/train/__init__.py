"""Training, evaluation and prediction of a spec's network: ``archspec train``, ``eval`` and ``predict``.

The package is the only place (with the torch backend) that imports torch; parsing and analysis never
import it. Its modules each do one job:

- ``config``: the resolved training configuration (defaults, command-line values, a resumed run's values);
- ``data``: the data sets (scikit-learn's digits, synthetic tensors, an image folder) adapted to the spec;
- ``losses``: cross-entropy, and LeNet-5's RBF (MAP) criterion for specs whose output op is ``rbf``;
- ``checkpoint``: atomic checkpoints loadable with ``weights_only=True``, strict weight loading;
- ``distributed``: torchrun/DDP set-up and metric reduction;
- ``progress``: the progress bar, or plain log lines when the output is not a terminal;
- ``loop``: the training and evaluation loop, the run folder;
- ``inference``: ``eval`` and ``predict`` from a checkpoint alone;
- ``api``: ``archspec.train(...)``, ``archspec.evaluate(...)``, ``archspec.predict(...)``: what the commands
  run (``commands`` parses their arguments and prints).

The package is also the function ``archspec.train(spec, data="digits", epochs=...)``: calling it calls
:func:`archspec.train.api.train`. (A package and a function cannot share the name ``archspec.train``
otherwise: importing any module of the package sets that attribute to the package.)
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any


class _CallablePackage(ModuleType):
    """This package's class: a module that can be called."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``archspec.train(...)``: see :func:`archspec.train.api.train`."""
        from archspec.train.api import train

        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
