"""``archspec eval`` and ``archspec predict``: a checkpoint alone rebuilds its network and its data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archspec.api import Network
from archspec.errors import UsageError
from archspec.train import distributed
from archspec.train.checkpoint import load_checkpoint, load_weights
from archspec.train.data import dark_on_light, load_data, predict_input
from archspec.train.loop import eval_loader, evaluate
from archspec.train.losses import loss_name, make_loss
from archspec.train.model import rebuild


@dataclass
class Restored:
    """A checkpoint's network, its module with the saved weights, and the checkpoint itself."""

    network: Network
    model: nn.Module
    checkpoint: dict[str, Any]


def restore(path: Path | str, device: torch.device) -> Restored:
    """Rebuild the network recorded in a checkpoint and load its weights (strictly)."""
    checkpoint = load_checkpoint(path)
    network = rebuild(checkpoint["spec"])
    preprocess = checkpoint["preprocess"]
    if preprocess["kind"] != "synthetic" and preprocess["shape"] != list(network.graph.input_shape):
        raise UsageError(f"{path}: its images are prepared for another input than its network's")
    model = network.build()
    load_weights(model, checkpoint["model"], str(path), network.name)
    model.to(device).eval()
    return Restored(network, model, checkpoint)


def evaluate_checkpoint(path: Path | str, data: str | None, device_choice: str) -> dict[str, Any]:
    """Loss, accuracy and sample count of a checkpoint on ``data`` (default: the data it was trained on)."""
    context = distributed.Context(distributed.pick_device(device_choice))
    restored = restore(path, context.device)
    config = restored.checkpoint["config"]
    network = restored.network
    outputs = network.graph.output_shape
    data_sets = load_data(data or config["data"], network.graph.input_shape, network.name, outputs[0])
    if data_sets.num_classes > outputs[0]:
        raise UsageError(
            f"{path}: the network has {outputs[0]} outputs, the data {data_sets.num_classes} classes"
        )
    criterion = make_loss(loss_name(network.graph), config["label_smoothing"])
    loader = eval_loader(data_sets.test, context, data_sets.batched, workers=0)
    result = evaluate(restored.model, loader, criterion, context, config["amp"], config["channels_last"])
    return {"accuracy": result["accuracy"], "loss": result["loss"], "samples": result["samples"]}


def predict_images(
    path: Path | str, images: list[str], top_k: int, device_choice: str, invert: bool = False
) -> list[dict[str, Any]]:
    """For each image, its ``top_k`` classes with their softmax probabilities (``invert``: digit images
    of dark ink on light paper); for a network trained on the digits, whether the image looks like dark
    ink on light paper (``dark_on_light``) unless ``invert``."""
    device = distributed.pick_device(device_choice)
    restored = restore(path, device)
    classes: list[str] = restored.checkpoint["classes"]
    preprocess: dict[str, Any] = restored.checkpoint["preprocess"]
    batch = torch.stack([predict_input(image, preprocess, invert) for image in images]).to(device)
    with torch.no_grad():
        probabilities = torch.softmax(restored.model(batch).float(), dim=1)
    k = max(1, min(top_k, probabilities.shape[1]))
    values, indices = probabilities.topk(k, dim=1)
    results = []
    for image, row_values, row_indices in zip(images, values.tolist(), indices.tolist(), strict=True):
        top = [
            {"class": classes[i] if i < len(classes) else str(i), "index": i, "probability": p}
            for p, i in zip(row_values, row_indices, strict=True)
        ]
        result: dict[str, Any] = {"image": image, "top": top}
        if preprocess["kind"] == "digits" and not invert:
            result["dark_on_light"] = dark_on_light(image)
        results.append(result)
    return results
