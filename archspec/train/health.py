"""A word when a run goes nowhere: stuck at chance, or diverging, with the likely cause and the option.

A network whose outputs stopped depending on its input (ReLUs killed by too large a first step, say)
predicts the class frequencies: with cross-entropy its loss is ln(classes), the loss of a uniform guess,
and its accuracy that of guessing. Nothing fails, so without a warning a run sits at 2.3026 and 8% for
every epoch with no word. A loss that rises epoch after epoch is the other common sign of too high a
learning rate. (A loss that is not finite stops the run: see ``loop.EpochSums``.)
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

STUCK_EPOCHS = 2  # epochs in a row at chance before saying so (the first may be warming up)
CHANCE_LOSS_MARGIN = 0.02  # a train loss within 2% of ln(classes) is a uniform guess
RISING_EPOCHS = 3  # epochs in a row of rising train loss (to twice its best) that count as diverging
# Activations (op kinds) that a large step leaves at zero gradient for good: "dead" units.
DYING = frozenset({"relu", "relu6", "hardswish"})
# Saturating activations, each with the word the warning uses for its units (tanh's flat tails, say).
SATURATING = {"tanh": "tanh", "scaled_tanh": "tanh", "sigmoid": "sigmoid", "hardsigmoid": "sigmoid"}


def run_warning(
    history: Sequence[dict[str, Any]],
    classes: int,
    loss: str,
    lr: float,
    activations: Collection[str] = (),
) -> str | None:
    """The warning for the epoch just ended (the last of ``history``), or None; each is said once, at
    the epoch where its condition first holds. ``activations`` are the network's op kinds: the stuck
    warning names the likely mechanism only for activations the network has (ReLUs die, tanh saturates)."""
    if loss == "cross_entropy" and classes >= 2 and _stuck_since(history, classes) == STUCK_EPOCHS:
        last = history[-1]
        return (
            f"training is stuck at chance: train loss {last['train_loss']:.4f} ≈ ln({classes}) = "
            f"{math.log(classes):.4f}, the loss of a uniform guess, and train accuracy "
            f"{last['train_acc']:.1%} for {STUCK_EPOCHS} epochs: the outputs no longer depend on the input. "
            f"The likely cause is too high a learning rate{_mechanism(activations)}; try --lr "
            f"{lr / 10:g} (or, if the loss never moved, a higher one)"
        )
    if _diverging(history) and not _diverging(history[:-1]):
        losses = ", ".join(f"{row['train_loss']:.4f}" for row in history[-RISING_EPOCHS - 1 :])
        return (
            f"training is diverging: the train loss rose for {RISING_EPOCHS} epochs in a row ({losses}). "
            f"The likely cause is too high a learning rate; try --lr {lr / 10:g}"
        )
    return None


def _diverging(history: Sequence[dict[str, Any]]) -> bool:
    """The train loss rose for ``RISING_EPOCHS`` epochs in a row or more, to more than twice its best
    and by more than 0.1: a converged run's loss that wobbles up at 0.0007 is not diverging."""
    if _rising_for(history) < RISING_EPOCHS:
        return False
    last, best = float(history[-1]["train_loss"]), min(float(row["train_loss"]) for row in history)
    return last > 2 * best and last - best > 0.1


def _at_chance(row: dict[str, Any], classes: int) -> bool:
    chance = math.log(classes)
    near: bool = abs(float(row["train_loss"]) - chance) <= CHANCE_LOSS_MARGIN * chance
    return near and float(row["train_acc"]) <= 1.5 / classes


def _stuck_since(history: Sequence[dict[str, Any]], classes: int) -> int:
    """How many epochs in a row, up to the last, were at chance."""
    count = 0
    for row in reversed(history):
        if not _at_chance(row, classes):
            break
        count += 1
    return count


def _rising_for(history: Sequence[dict[str, Any]]) -> int:
    """How many epochs in a row, up to the last, the train loss rose."""
    count = 0
    for before, after in zip(reversed(history[:-1]), reversed(history), strict=False):
        if not after["train_loss"] > before["train_loss"]:
            break
        count += 1
    return count


def _mechanism(activations: Collection[str]) -> str:
    """How too large a first step stops the outputs depending on the input, for these activations: a
    dead ReLU (the commonest), else saturated tanh or sigmoid units, else nothing is claimed."""
    if DYING & set(activations):
        return " (the first steps killed the ReLUs)"
    saturated = sorted({word for kind, word in SATURATING.items() if kind in activations}, reverse=True)
    if saturated:
        return f" (the first steps saturated the {' and '.join(saturated)} units)"
    return ""
