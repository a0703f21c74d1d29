"""archspec: a declarative architecture-spec compiler for vision networks.

Parse a ``.arch`` spec, analyse it statically (shapes, parameters, MACs, memory, receptive field) and
compile it to a PyTorch module or standalone source. Importing archspec does not import torch.
"""

from archspec.api import Network, load, variants_of
from archspec.errors import SpecError, UsageError

__all__ = ["Network", "SpecError", "UsageError", "load", "variants_of"]
__version__ = "0.1.0"
