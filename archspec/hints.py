"""Hints for command-line inputs that a spec cannot take as given: a batch dimension in ``--input``, or an
input size that the spec derives from a parameter (``--set image_size=...`` is the way to change it)."""

from __future__ import annotations

import re

from archspec.loader import load_program, resolve_spec
from archspec.lower import network_of

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def input_parameters(spec: str) -> list[str]:
    """The network parameters that the spec's ``input:`` entry is computed from (``["image_size"]``)."""
    path, _ = resolve_spec(spec)
    program = load_program(path)
    network = network_of(program)
    if network.input is None:
        return []
    span = network.input.span
    lines = program.sources[span.path].splitlines()[span.line - 1 : span.end_line]
    if not lines:
        return []
    text = "\n".join(lines)
    declared = {let.name for let in network.params}
    return [name for name in dict.fromkeys(_NAME.findall(text)) if name in declared]


def batch_dimension_hint(shape: tuple[int, ...], expected_rank: int) -> str | None:
    """A hint when ``--input`` carries one dimension too many (torchinfo's ``1x3x224x224`` habit)."""
    if len(shape) == expected_rank + 1:
        sample = "x".join(str(d) for d in shape[1:])
        return (
            f"--input is the shape of one sample, without the batch dimension: --input {sample}"
            f" (the batch size for memory figures is --batch {shape[0]})"
        )
    return None
