"""The network of a run: loaded from its spec, recorded in checkpoints, rebuilt from a checkpoint alone.

A checkpoint records the text of every spec file the network was loaded from, the variant, the parameter
overrides and the input shape, so ``archspec eval`` and ``predict`` need no spec argument and still work
when the spec file has changed or moved since.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from archspec.api import Network, load, overrides_from_mapping
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
    """The network a ``spec_record`` describes, from the recorded text (files on disk are not read)."""
    shape = tuple(record["input_shape"]) if record["input_shape"] else None
    sources: dict[str, str] = record["sources"]
    root: str = record["root"]
    if len(sources) == 1:
        return load(root, record["variant"], input_shape=shape, text=sources[root], **record["overrides"])
    # Imports are read from disk relative to the importing file: lay the recorded files out again.
    base = os.path.commonpath([str(Path(p).parent) for p in sources])
    with tempfile.TemporaryDirectory(prefix="archspec-spec-") as directory:
        for path, text in sources.items():
            target = Path(directory, os.path.relpath(path, base))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        rebuilt = Path(directory, os.path.relpath(root, base))
        return load(rebuilt, record["variant"], input_shape=shape, **record["overrides"])


def with_params(network: Network, overrides: dict[str, Any]) -> Network:
    """``network``'s spec with these parameter overrides, lowered from the program already read (no file
    is read again: a network loaded from text, or from a file changed since, gets its own spec)."""
    graph = lower(
        network.program, network.graph.variant, overrides_from_mapping(overrides), network.input_override
    )
    return Network(graph, network.program, network.input_override, dict(overrides))
