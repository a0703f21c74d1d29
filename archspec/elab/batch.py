"""What an op may not do with tensors that have no batch axis (``Node.batched``), checked as it is made.

A tensor computed from parameters and buffers alone has no batch axis; the torch realisations count
axes from the end so that one realisation serves both (docs/language.md, "Parameters, buffers and
tensor products"). Where that cannot work, lowering says so instead of building a wrong module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from archspec.ir import Node
from archspec.ops import Op

# Ops whose realisation numbers a per-sample axis counting the batch axis in front (`torch_dim`): on a
# tensor without one, a non-negative axis would name the wrong axis.
_DIM_FIELDS = ("dim",)


def batch_problem(op: Op, inputs: Sequence[Node], integer: Callable[[int], bool]) -> tuple[str, str] | None:
    """The message and hint of what is wrong with ``op`` over ``inputs`` (``integer`` tells whether a
    node holds integers), or None."""
    problem = op.batch_problem(inputs, lambda index: integer(inputs[index].id))
    if problem is not None:  # the op's own (gather's table and index, matmul's ranks)
        return problem
    if inputs and not any(node.batched for node in inputs):
        for field in _DIM_FIELDS:
            value = getattr(op, field, None)
            axes = value if isinstance(value, tuple) else (value,)
            rank = len(inputs[0].shape)
            if any(isinstance(a, int) and not isinstance(a, bool) and a >= 0 for a in axes):
                shown = list(value) if isinstance(value, tuple) else value
                same = [a - rank if a >= 0 else a for a in axes]
                return (
                    f"{op.spec_names[0]}: {field}={shown} on a tensor without a batch axis (computed from "
                    "parameters and buffers alone); count the axis from the end",
                    f"{field}={same if isinstance(value, tuple) else same[0]} names the same axis",
                )
    return None
