"""A new op in one file: ``pointwise(out_channels, bias=true)``, a 1x1 convolution.

tests/test_op_definition.py imports this module and sees the op checked, analysed, built, compiled to
source, drawn and initialised, with no registry edited: the class registers itself by declaring its
``kind``; the two ``register`` calls below give its torch module and its source text. docs/design.md
("How an op is added") walks through it.
"""

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from torch import nn

from archspec.backends import source_ops, torch_ops
from archspec.backends.source_entry import Arg, Ctor
from archspec.ops import Op, RFStep, Saved, Shape, numel
from archspec.ops.base import PosInt
from archspec.ops.conv import spatial_input


class Pointwise(Op):
    """``pointwise(out_channels, bias=true)``: a 1x1 convolution (the analysis rules of the op)."""

    kind: Literal["pointwise"] = "pointwise"
    in_channels: PosInt
    out_channels: PosInt
    bias: bool = True

    spec_names: ClassVar[tuple[str, ...]] = ("pointwise", "conv1x1")
    inferred: ClassVar[frozenset[str]] = frozenset({"in_channels"})
    summary: ClassVar[str] = "1x1 convolution"
    shape_rule: ClassVar[str] = "CxHxW to out_channels x H x W"
    param_rule: ClassVar[str] = "in_channels * out_channels + out_channels (bias)"
    flop_rule: ClassVar[str] = "MACs as a 1x1 conv; `--count all` adds 1 FLOP per output element (bias)"
    saved_rule: ClassVar[str] = "its input"
    family: ClassVar[str] = "conv"
    depth_weight: ClassVar[int] = 1
    init_parameters: ClassVar[tuple[str, ...]] = ("weight", "bias")
    fan_weight: ClassVar[bool] = True

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        return {"in_channels": spatial_input("pointwise", inputs)[0]}

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return (self.out_channels, *inputs[0][1:])

    def param_count(self) -> int:
        return self.in_channels * self.out_channels + (self.out_channels if self.bias else 0)

    def macs(self, inputs: Sequence[Shape], output: Shape) -> int:
        return self.in_channels * numel(output)

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return numel(output) if self.bias else 0

    def receptive_field(self) -> RFStep:
        return RFStep((1, 1), (1, 1), (0, 0))

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input"),)

    def label(self) -> str:
        return f"pointwise, {self.out_channels}"


torch_ops.register(
    Pointwise, module=lambda op, inplace: nn.Conv2d(op.in_channels, op.out_channels, 1, bias=op.bias)
)
source_ops.register(
    Pointwise,
    source=lambda op, inplace: Ctor(
        "nn.Conv2d",
        (
            Arg(op.in_channels, hint="in_channels"),
            Arg(op.out_channels, hint="out_channels"),
            Arg(1, "kernel_size"),
            Arg(op.bias, "bias", True),
        ),
    ),
)
