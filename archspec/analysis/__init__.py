"""Static analysis of an IR graph: counts, memory and receptive field, as plain passes keyed by node id.

Nothing here imports torch. ``analyze`` runs every pass and gathers the results into an ``Analysis``.
"""

from __future__ import annotations

from archspec.analysis.core import Analysis, Row, analyze, convention
from archspec.analysis.counts import NodeCounts, layer_depth, node_counts, node_depths
from archspec.analysis.memory import PeakMemory, dtype_size, peak_activation, training_memory
from archspec.analysis.receptive import (
    RF,
    ReceptiveField,
    RFResult,
    feature_nodes,
    head_nodes,
    merge_fields,
    network_fields,
    receptive_fields,
)

__all__ = [
    "RF",
    "Analysis",
    "NodeCounts",
    "PeakMemory",
    "RFResult",
    "ReceptiveField",
    "Row",
    "analyze",
    "convention",
    "dtype_size",
    "feature_nodes",
    "head_nodes",
    "layer_depth",
    "merge_fields",
    "network_fields",
    "node_counts",
    "node_depths",
    "peak_activation",
    "receptive_fields",
    "training_memory",
]
