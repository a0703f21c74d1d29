"""The JSON Schema of the analysis document (``archspec analyze --format json``; ``archspec schema
--analysis`` prints it). ``report.SCHEMA_VERSION`` names the version this schema describes."""

from __future__ import annotations

from typing import Any

_INT = {"type": "integer", "minimum": 0}
_SHAPE = {"type": "array", "items": {"type": "integer", "minimum": 1}}
# What the counts mean (a row's and the network's): a spec cannot freeze a parameter, so trainable_params
# equals params; the field is kept for readers that compare it with torch's requires_grad count.
_PARAMS = {**_INT, "description": "Parameters (torch's p.numel() summed)."}
_TRAINABLE = {
    **_INT,
    "description": "Parameters that get a gradient (requires_grad): all of them, as a spec has no way to "
    "freeze one; state that does not learn is a buffer.",
}
_BUFFERS = {
    **_INT,
    "description": "Elements of the persistent buffers (the state dict's: batch-norm statistics, fixed RBF "
    "centres), which do not learn.",
}
_RF = {
    "description": "The receptive field: size, stride, padding and centre per axis; 'global'; or null.",
    "oneOf": [
        {
            "type": "object",
            "required": ["size", "stride", "padding"],
            "properties": {
                k: {"type": "array", "items": {"type": "number"}} for k in ("size", "stride", "padding")
            },
        },
        {"const": "global"},
        {"type": "null"},
    ],
}
_RF_SPATIAL = {
    **_RF,
    "description": "The receptive field of the spatial path: the same, with the global inputs of gates "
    "(squeeze-and-excitation) and global pooling left out; equal to receptive_field where no gate is.",
}
_ROW = {
    "type": "object",
    "required": [
        "name",
        "op",
        "kind",
        "depth",
        "output_shape",
        "params",
        "macs",
        "flops",
        "activation_bytes",
        "saved_bytes",
        "receptive_field_spatial",
    ],
    "properties": {
        "name": {
            "type": "string",
            "description": "Dotted module name ('' never: the network is the document).",
        },
        "op": {"type": "string"},
        "description": {"type": "string"},
        "kind": {"enum": ["layer", "block", "sequence"]},
        "depth": _INT,
        "output_shape": {"type": "array", "items": {"type": "integer"}},
        "params": _PARAMS,
        "trainable_params": _TRAINABLE,
        "buffers": _BUFFERS,
        "macs": _INT,
        "flops": _INT,
        "activation_bytes": {**_INT, "description": "Bytes of the output (summed over a container)."},
        "saved_bytes": {**_INT, "description": "Bytes autograd keeps for backward (docs/memory.md)."},
        "receptive_field": _RF,
        "receptive_field_spatial": _RF_SPATIAL,
    },
}
_OPTIMISER = {
    "type": "object",
    "required": ["optimizer_state_bytes", "total_bytes"],
    "properties": {"optimizer_state_bytes": _INT, "total_bytes": _INT},
}


def analysis_schema(version: int) -> dict[str, Any]:
    """The schema of analysis documents of this ``schema_version``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "archspec analysis",
        "type": "object",
        "required": [
            "schema_version",
            "network",
            "input",
            "output",
            "dtype",
            "batch",
            "params",
            "macs",
            "flops",
            "activation_bytes",
            "peak_activation_bytes",
            "training_memory",
            "receptive_field_spatial",
            "convention",
            "layers",
        ],
        "properties": {
            "schema_version": {"const": version},
            "network": {"type": "string"},
            "variant": {"type": ["string", "null"]},
            "input": _SHAPE,
            "output": {"type": "array", "items": {"type": "integer"}},
            "dtype": {"enum": ["float32", "bfloat16", "float16", "float64"]},
            "batch": {"type": "integer", "minimum": 1},
            "params": _PARAMS,
            "trainable_params": _TRAINABLE,
            "buffers": _BUFFERS,
            "macs": _INT,
            "flops": _INT,
            "activation_bytes": {**_INT, "description": "Training: bytes saved for backward, whole network."},
            "peak_activation_bytes": {**_INT, "description": "Inference: peak of live activation bytes."},
            "training_memory": {
                "type": "object",
                "required": [
                    "parameters_bytes",
                    "gradients_bytes",
                    "activations_bytes",
                    "sgd_momentum",
                    "adamw",
                ],
                "properties": {
                    "parameters_bytes": _INT,
                    "gradients_bytes": _INT,
                    "activations_bytes": _INT,
                    "sgd_momentum": _OPTIMISER,
                    "adamw": _OPTIMISER,
                },
            },
            "receptive_field": {
                **_RF,
                "description": "The network's field at its last feature map: size, stride, padding "
                "and centre per axis; 'global' (attention, or a gate fed by global pooling); or null.",
            },
            "receptive_field_spatial": _RF_SPATIAL,
            "depth": _INT,
            "convention": {"type": "object", "required": ["count", "text"]},
            "warnings": {"type": "array", "items": {"type": "string"}},
            "layers": {"type": "array", "items": _ROW},
        },
    }
