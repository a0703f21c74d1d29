"""Static analysis of an IR graph: counts, memory and receptive field, as plain passes keyed by node id.

Nothing here imports torch. ``analyze`` runs every pass and gathers the results into an ``Analysis``.
"""

from __future__ import annotations

from archspec.analysis import columns, core, counts, memory, receptive
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


def clear_memos() -> None:
    """Empty every memo of the analysis passes, as in a fresh process: the figures are the same either
    way (tests/test_analysis_memos.py); a test measures a first analysis, or a long session frees memory."""
    for memo in (
        core._DESCRIBED,
        counts._COUNTED,
        counts._BY_SHAPES,
        counts._DEPTHS,
        receptive._STEPS,
        receptive._TOKENS,
        memory._SAVED,
        memory._FACTS,
    ):
        memo.clear()
    memory._LAST[:] = [None, None]  # the last graph's structure
    columns._LAST[:] = [None, None]


__all__ = [
    "RF",
    "Analysis",
    "NodeCounts",
    "PeakMemory",
    "RFResult",
    "ReceptiveField",
    "Row",
    "analyze",
    "clear_memos",
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
