"""The training criteria. A spec chooses its loss: metadata ``loss:`` when present, else LeNet-5's RBF
criterion when the network's output op is ``rbf``, else cross-entropy.

LeNet-5's criterion (LeCun et al. 1998, Section II.C, equation 9) is the maximum a posteriori one: with
``y_i`` the RBF unit outputs (squared distances to the class centres) and ``D`` the correct class,

    E = y_D + log(exp(-j) + sum_i exp(-y_i))

The first term pulls the output towards the correct centre; the second, competitive term pushes the
other centres' penalties up, and the constant ``j`` caps that push once a class is already far (the
penalties need not grow without bound). archspec's ``rbf`` layer outputs ``-y_i``, so
``E = logsumexp([-j, out_0, ..., out_n]) - out_D``: cross-entropy over the outputs with one extra,
constant logit ``-j`` that no label ever points at.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from archspec.errors import UsageError
from archspec.ir import Graph

LOSSES = ("cross_entropy", "rbf_map")
RBF_J = 1.0  # the paper's positive constant j: the competitive term saturates at e^{-j}

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def loss_name(graph: Graph) -> str:
    """The loss a graph asks for (see the module docstring)."""
    declared = graph.metadata.extra.get("loss")
    if declared is not None:
        if declared not in LOSSES:
            raise UsageError(f"{graph.network}: metadata loss {declared!r} is not one of {', '.join(LOSSES)}")
        return str(declared)
    return graph.nodes[graph.output].op.default_loss


def rbf_map_loss(outputs: torch.Tensor, targets: torch.Tensor, j: float = RBF_J) -> torch.Tensor:
    """LeNet-5's equation 9, averaged over the batch; ``outputs`` are the negated RBF distances."""
    outputs = outputs.float()  # autocast may hand bf16/fp16 outputs: the log-sum-exp runs in float32
    constant = outputs.new_full((outputs.shape[0], 1), -j)
    competitive = torch.logsumexp(torch.cat([outputs, constant], dim=1), dim=1)
    return (competitive - outputs.gather(1, targets.unsqueeze(1)).squeeze(1)).mean()


def make_loss(name: str, label_smoothing: float) -> Loss:
    """The criterion ``name``; label smoothing applies to cross-entropy only."""
    if name == "rbf_map":
        if label_smoothing:
            raise UsageError("--label-smoothing applies to cross-entropy, not to the RBF (rbf_map) loss")
        return rbf_map_loss

    def cross_entropy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs.float(), targets, label_smoothing=label_smoothing)

    return cross_entropy
