"""Pooling: max, average (ceil mode, padding), adaptive and global average, LeNet-5's subsampling."""

import itertools
import math
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from archspec.ops.base import (
    NonNegPair,
    Op,
    OpError,
    PosPair,
    RFEffect,
    RFStep,
    Saved,
    Shape,
    format_shape,
    numel,
    window_text,
)
from archspec.ops.conv import conv_output_size, spatial_input


class _Pool(Op):
    """Shared shape and receptive-field rules of windowed pooling."""

    kernel_size: PosPair
    stride: PosPair | None = None
    padding: NonNegPair = (0, 0)
    ceil_mode: bool = False

    aliases: ClassVar[dict[str, str]] = {"pad": "padding", "ceil": "ceil_mode"}
    flop_rule: ClassVar[str] = "`--count all`: one FLOP per input element of each window (kh*kw per output)"
    shape_rule: ClassVar[str] = (
        "CxHxW to C x H' x W', H' as for conv with stride = kernel_size by default; ceil_mode "
        "rounds up, but the last window must start inside the input or its left padding"
    )

    @property
    def step(self) -> tuple[int, int]:
        """The stride, which defaults to the kernel size as in torch."""
        return self.stride if self.stride is not None else self.kernel_size

    def _dilation(self) -> tuple[int, int]:
        return (1, 1)

    def check(self, inputs: Sequence[Shape]) -> None:
        spatial_input(self.spec_names[0], inputs)
        for axis in (0, 1):
            if self.padding[axis] * 2 > self.kernel_size[axis]:
                raise OpError(
                    f"{self.spec_names[0]}: padding {self.padding[axis]} is more than half the kernel "
                    f"{self.kernel_size[axis]}",
                    argument="padding",
                )
        out = self.output_shape(inputs)
        if out[1] < 1 or out[2] < 1:
            raise OpError(
                f"{self.spec_names[0]}: kernel {self.kernel_size[0]}x{self.kernel_size[1]} does not fit "
                f"the input {format_shape(inputs[0])}"
            )

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        channels, height, width = inputs[0]
        sizes = [
            conv_output_size(
                size,
                self.kernel_size[axis],
                self.step[axis],
                self.padding[axis],
                self._dilation()[axis],
                self.ceil_mode,
            )
            for axis, size in enumerate((height, width))
        ]
        return (channels, sizes[0], sizes[1])

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return numel(output) * self.kernel_size[0] * self.kernel_size[1]

    def receptive_field(self) -> RFEffect:
        return RFStep(self.kernel_size, self.step, self.padding, self._dilation())

    def label(self) -> str:
        stride = self.stride if self.stride is not None else self.kernel_size
        return f"{self.spec_names[0]} {window_text(self.kernel_size, stride)}"


class MaxPool2d(_Pool):
    """``maxpool(kernel_size, stride=kernel_size, padding=0, dilation=1, ceil_mode=false)``."""

    kind: Literal["maxpool2d"] = "maxpool2d"
    dilation: PosPair = (1, 1)
    spec_names: ClassVar[tuple[str, ...]] = ("maxpool", "maxpool2d")
    family: ClassVar[str] = "pool"
    # torch's order: dilation before ceil_mode.
    positional_order: ClassVar[tuple[str, ...]] = (
        "kernel_size",
        "stride",
        "padding",
        "dilation",
        "ceil_mode",
    )
    summary: ClassVar[str] = "2-D max pooling"

    def _dilation(self) -> tuple[int, int]:
        return self.dilation

    saved_rule: ClassVar[str] = "its input, and the index of each maximum (int64, the output's size)"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input"), Saved("new", "indices", elements=numel(output), dtype="int64"))

    def scratch(self, inputs: Sequence[Shape], output: Shape, itemsize: int, batch: int) -> int:
        return numel(output) * 8 * batch  # torch's CPU kernel makes the int64 indices even without autograd


class AvgPool2d(_Pool):
    """``avgpool(kernel_size, stride=kernel_size, padding=0, ceil_mode=false, count_include_pad=true)``."""

    kind: Literal["avgpool2d"] = "avgpool2d"
    count_include_pad: bool = True
    spec_names: ClassVar[tuple[str, ...]] = ("avgpool", "avgpool2d")
    family: ClassVar[str] = "pool"
    summary: ClassVar[str] = "2-D average pooling"
    saved_rule: ClassVar[str] = "its input"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input"),)


class Subsample(_Pool):
    """``subsample(kernel_size)``: LeNet-5's S-layers, the sum of each window times a trainable
    coefficient plus a trainable bias, one pair per feature map."""

    kind: Literal["subsample"] = "subsample"
    channels: int = 0
    spec_names: ClassVar[tuple[str, ...]] = ("subsample",)
    family: ClassVar[str] = "pool"
    # LeNet-5's coefficient and bias per map
    init_parameters: ClassVar[tuple[str, ...]] = ("weight", "bias")
    inferred: ClassVar[frozenset[str]] = frozenset({"channels"})
    summary: ClassVar[str] = "LeNet-5 subsampling: window sum x trainable coefficient + bias per map"
    param_rule: ClassVar[str] = "2 * C (a coefficient and a bias per feature map)"
    flop_rule: ClassVar[str] = "`--count all`: kh*kw adds + 1 multiply + 1 add per output element"

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        return {"channels": spatial_input("subsample", inputs)[0]}

    def param_count(self) -> int:
        return 2 * self.channels

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return numel(output) * (self.kernel_size[0] * self.kernel_size[1] + 2)

    saved_rule: ClassVar[str] = "its input (the pooling), and the pooled sums (the coefficient's product)"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input"), Saved("new", "pooled sums", elements=numel(output)))

    def scratch(self, inputs: Sequence[Shape], output: Shape, itemsize: int, batch: int) -> int:
        return 2 * numel(output) * itemsize * batch  # the pooled sums and their product, beside the sum


def _adaptive_spans(size: int, out: int) -> list[tuple[int, int]]:
    """The window of each output along one axis, as torch's adaptive pooling takes it: output ``i``
    averages inputs ``floor(i * size / out)`` to ``ceil((i + 1) * size / out)`` (windows may overlap)."""
    return [(math.floor(i * size / out), math.ceil((i + 1) * size / out)) for i in range(out)]


def _adaptive_windows(size: int, out: int) -> tuple[int, int]:
    """Largest window and the (smallest) step of torch's adaptive pooling along one axis."""
    spans = _adaptive_spans(size, out)
    window = max(end - start for start, end in spans)
    step = min((b[0] - a[0] for a, b in itertools.pairwise(spans)), default=window)
    return window, max(step, 1)


class AdaptiveAvgPool2d(Op):
    """``adaptive_avgpool(output_size)``: average pooling to a fixed output size."""

    kind: Literal["adaptive_avgpool2d"] = "adaptive_avgpool2d"
    output_size: PosPair
    in_size: tuple[int, int] = (0, 0)

    spec_names: ClassVar[tuple[str, ...]] = ("adaptive_avgpool", "adaptive_avgpool2d")
    family: ClassVar[str] = "pool"
    inferred: ClassVar[frozenset[str]] = frozenset({"in_size"})
    summary: ClassVar[str] = "adaptive average pooling to a fixed size"
    shape_rule: ClassVar[str] = "CxHxW to C x output_size"
    flop_rule: ClassVar[str] = (
        "`--count all`: one FLOP per element of each output's window (each input element once when the "
        "windows do not overlap)"
    )

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        _, height, width = spatial_input("adaptive_avgpool", inputs)
        return {"in_size": (height, width)}

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return (inputs[0][0], *self.output_size)

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        # Each output sums its own window and divides once: its window's size in FLOPs.
        rows, columns = (
            sum(end - start for start, end in _adaptive_spans(s, o))
            for s, o in zip(self.in_size, self.output_size, strict=True)
        )
        return output[0] * rows * columns

    # torch computes a 1x1 output as a mean, whose backward needs only the input's shape.
    saved_rule: ClassVar[str] = "its input (nothing for a 1x1 output, which torch computes as a mean)"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return () if self.output_size == (1, 1) else (Saved("input", "input"),)

    def receptive_field(self) -> RFEffect:
        if self.output_size == (1, 1):
            return "global"
        kernel = tuple(
            _adaptive_windows(s, o)[0] for s, o in zip(self.in_size, self.output_size, strict=True)
        )
        step = tuple(_adaptive_windows(s, o)[1] for s, o in zip(self.in_size, self.output_size, strict=True))
        return RFStep((kernel[0], kernel[1]), (step[0], step[1]), (0, 0))

    def label(self) -> str:
        return f"adaptive avgpool {window_text(self.output_size, None)}"


class GlobalAvgPool(Op):
    """``global_avgpool``: the mean of each feature map (output Cx1x1, as torch's AdaptiveAvgPool2d(1))."""

    kind: Literal["global_avgpool"] = "global_avgpool"
    spec_names: ClassVar[tuple[str, ...]] = ("global_avgpool", "gap")
    family: ClassVar[str] = "pool"
    summary: ClassVar[str] = "global average pooling (Cx1x1)"
    saved_rule: ClassVar[str] = "nothing (a mean: its backward needs only the input's shape)"
    shape_rule: ClassVar[str] = "CxHxW to Cx1x1"
    flop_rule: ClassVar[str] = "`--count all`: one FLOP per input element"

    def check(self, inputs: Sequence[Shape]) -> None:
        spatial_input("global_avgpool", inputs)

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return (inputs[0][0], 1, 1)

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return numel(inputs[0])

    def receptive_field(self) -> RFEffect:
        return "global"

    def label(self) -> str:
        return "global avgpool"
