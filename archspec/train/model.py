"""The network of a run: loaded from its spec, recorded in checkpoints, rebuilt from a checkpoint alone.

A checkpoint records the text of every spec file the network was loaded from, the variant, the parameter
overrides and the input shape, so ``archspec eval`` and ``predict`` need no spec argument and still work
when the spec file has changed or moved since.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from archspec.api import Network, overrides_from_mapping
from archspec.loader import load_program
from archspec.lower import lower


def spec_record(network: Network, overrides: dict[str, Any], input_shape: list[int] | None) -> dict[str, Any]:
    """What rebuilds ``network``: its sources (by absolute path), root, variant, overrides, input shape."""
    sources = {str(Path(path).resolve()): text for path, text in network.program.sources.items()}
    root = str(Path(network.graph.source).resolve())
    return {
        "network": network.graph.network,
        "variant": network.graph.variant,
        "root": root,
        "sources": sources,
        "sha256": hashlib.sha256(sources[root].encode("utf-8")).hexdigest(),
        "overrides": overrides,
        "input_shape": input_shape,
    }


def rebuild(record: dict[str, Any]) -> Network:
    """The network a ``spec_record`` describes, from the recorded text alone: nothing is written and no
    file is read but the zoo's (imports are looked up among the recorded sources, in memory).

    ``record`` comes from a checkpoint that ``archspec.train.schema`` has checked: every path in it is
    absolute and plain, every text and value within the limits of a spec.
    """
    shape = tuple(record["input_shape"]) if record["input_shape"] else None
    sources: dict[str, str] = record["sources"]
    root = Path(record["root"])
    program = load_program(root, memory=sources)
    overrides = overrides_from_mapping(record["overrides"])
    graph = lower(program, record["variant"], overrides, shape)
    return Network(graph, program, shape, dict(record["overrides"]))


def with_params(network: Network, overrides: dict[str, Any]) -> Network:
    """``network``'s spec with these parameter overrides, lowered from the program already read (no file
    is read again: a network loaded from text, or from a file changed since, gets its own spec)."""
    graph = lower(
        network.program, network.graph.variant, overrides_from_mapping(overrides), network.input_override
    )
    return Network(graph, network.program, network.input_override, dict(overrides))
