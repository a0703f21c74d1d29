"""Initialisation: the spec's ``init:`` rules applied to a freshly built network.

The rules come resolved in the IR (``Graph.init``; ``archspec.init_rules`` checks them and gives the
order). A rule in ``when built:`` runs on a layer as soon as it is constructed (torchvision's
``MLPBlock`` does so in its own constructor, before the next layer draws its random numbers); the
others run once the network is built: every layer by the rule for its op in module order, then the
named rules. Within a layer, parameters are set in the layer's own order (weight, then bias; an
MLP's first linear, then its second), each by the first clause that names it, so random numbers are
drawn in torchvision's order.

``matches`` and ``fans`` use only ``torch`` and ``nn``: the code generator copies their source into
standalone files, which apply the same rules as literal code. ``matches`` reads a clause's name as
``init_rules.clause_for`` does (which this module applies rules with, and the generator reasons
with); a test holds the two to each other.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from archspec.init_rules import clause_for, evaluate_formula
from archspec.ir import InitRule


def matches(key: str, name: str) -> bool:
    """Whether the torch parameter ``key`` is one a rule calls ``name``: itself, a sublayer's
    parameter of that name, or a parameter of the sublayer of that name (patch_merging's
    ``reduction``)."""
    return key == name or key.endswith("." + name) or key.startswith(name + ".")


def fans(tensor: torch.Tensor) -> tuple[int, int]:
    """The fan-in and fan-out of a weight, as torch.nn.init computes them (a matrix or a conv
    kernel)."""
    receptive = tensor[0][0].numel() if tensor.dim() > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def parameters_of(layer: nn.Module | nn.Parameter) -> list[tuple[str, torch.Tensor]]:
    """The (name, tensor) pairs a rule sees: a module's parameters, or a bare parameter as its
    weight."""
    if isinstance(layer, nn.Module):
        return list(layer.named_parameters())
    return [("weight", layer)]


def apply_rule(rule: InitRule, parameters: Iterable[tuple[str, torch.Tensor]]) -> None:
    """Set each parameter by the first clause of ``rule`` naming it (others keep their values)."""
    for key, tensor in parameters:
        call = clause_for(rule, key)
        if call is None:
            continue
        kwargs = dict(call.args)
        if call.formulas:
            fan_in, fan_out = fans(tensor)
            kwargs.update(
                {k: evaluate_formula(v, fan_in, fan_out) for k, v in call.formulas.items()}
            )
        getattr(nn.init, call.function + "_")(tensor, **kwargs)


def layer_of(model: nn.Module, name: str) -> nn.Module | nn.Parameter:
    """The module of a layer, or the parameter a parameter op (class token, embedding) keeps in its
    owner."""
    try:
        return model.get_submodule(name)
    except AttributeError:
        parameter = model.get_parameter(name)
        assert isinstance(parameter, nn.Parameter)
        return parameter


__all__ = ["apply_rule", "fans", "layer_of", "matches", "parameters_of"]
