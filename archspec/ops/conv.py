"""2-D convolution, including the historical forms: connection tables and unshared (per-position) biases."""

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import field_validator

from archspec.errors import spec_repr
from archspec.ops.base import (
    NonNegPair,
    Op,
    OpError,
    PosInt,
    PosPair,
    RFEffect,
    RFStep,
    Saved,
    Shape,
    format_shape,
    numel,
    pair_text,
    window_text,
)


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil: bool) -> int:
    """torch's output size rule for convolution and pooling along one axis (ceil mode included)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceil:
        out = -(-span // stride) + 1
        # torch: the last window must start inside the input or the left padding
        if (out - 1) * stride >= size + padding:
            out -= 1
        return out
    return span // stride + 1


def spatial_input(op_name: str, inputs: Sequence[Shape]) -> tuple[int, int, int]:
    """The (C, H, W) of an image input, or an OpError that says what was given."""
    shape = inputs[0]
    if len(shape) != 3:
        raise OpError(
            f"{op_name} expects an image CxHxW, got {format_shape(shape)}",
            hint="spatial ops work on CxHxW feature maps; did a flatten come too early?",
        )
    return shape[0], shape[1], shape[2]


def resolve_padding(value: Any, kernel: Any, dilation: Any) -> Any:
    """``same`` becomes the symmetric padding that keeps the size at stride 1; ``valid`` is 0."""
    if value == "valid":
        return 0
    if isinstance(value, str) and value != "same":
        raise OpError(
            "argument 'padding' of conv must be an integer, a pair [h, w], "
            f'"same" or "valid", got "{value}"',
            argument="padding",
        )
    if value != "same":
        return value
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else tuple(kernel)
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else tuple(dilation)
    pads = []
    for k, d in ((kh, dh), (kw, dw)):
        total = d * (k - 1)
        if total % 2:
            message = 'conv: padding="same" needs an odd kernel (or an even dilation)'
            raise OpError(message, argument="padding")
        pads.append(total // 2)
    return tuple(pads)


class Conv2d(Op):
    """``conv(out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=true, table=none)``.

    ``bias="unshared"`` gives one bias per output position (LeCun 1989). ``table`` lists, for each output
    channel, the input channels it sees (LeNet-5's C3): only those weights exist.
    """

    kind: Literal["conv2d"] = "conv2d"
    in_channels: PosInt
    out_channels: PosInt
    kernel_size: PosPair
    stride: PosPair = (1, 1)
    padding: NonNegPair = (0, 0)
    dilation: PosPair = (1, 1)
    groups: PosInt = 1
    bias: bool | Literal["unshared"] = True
    table: tuple[tuple[int, ...], ...] | None = None
    # Output spatial size; needed for the number of unshared biases.
    out_size: tuple[int, int] = (0, 0)

    spec_names: ClassVar[tuple[str, ...]] = ("conv", "conv2d")
    family: ClassVar[str] = "conv"
    depth_weight: ClassVar[int] = 1
    init_parameters: ClassVar[tuple[str, ...]] = ("weight", "bias")
    fan_weight: ClassVar[bool] = True
    inplace_producer: ClassVar[bool] = True
    inferred: ClassVar[frozenset[str]] = frozenset({"in_channels", "out_size"})
    aliases: ClassVar[dict[str, str]] = {"pad": "padding"}
    summary: ClassVar[str] = "2-D convolution (groups, dilation, 'same' padding, connection tables)"
    shape_rule: ClassVar[str] = (
        "CxHxW to out_channels x H' x W', H' = (H + 2*padding - dilation*(kernel_size - 1) - 1) // "
        "stride + 1 (W' alike)"
    )
    param_rule: ClassVar[str] = (
        "out_channels * (in_channels / groups) * kh * kw weights (with a table: kh * kw per listed "
        "input channel), plus out_channels biases (out_channels * H' * W' when unshared, none when "
        "bias=false)"
    )
    flop_rule: ClassVar[str] = "MACs as conv; `--count all` adds 1 FLOP per output element for the bias"

    @field_validator("bias", mode="before")
    @classmethod
    def _bias(cls, value: Any) -> Any:
        if value is True or value is False or value == "unshared":  # not 1 or 0: `1 == True` in Python
            return value
        raise ValueError(f'must be true, false or "unshared", got {spec_repr(value)}')

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        channels = spatial_input("conv", inputs)[0]
        kernel = args.get("kernel_size", 1)
        dilation = args.get("dilation", 1)
        padding = resolve_padding(args.get("padding", 0), kernel, dilation)
        return {"in_channels": channels, "padding": padding}

    @classmethod
    def create(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> "Op":
        op = super().create(args, inputs)
        assert isinstance(op, Conv2d)
        _, height, width = inputs[0]
        out = op._out(height, width)
        return op.model_copy(update={"out_size": out})

    def _out(self, height: int, width: int) -> tuple[int, int]:
        sizes = []
        for axis, size in enumerate((height, width)):
            sizes.append(
                conv_output_size(
                    size,
                    self.kernel_size[axis],
                    self.stride[axis],
                    self.padding[axis],
                    self.dilation[axis],
                    ceil=False,
                )
            )
        return sizes[0], sizes[1]

    def check(self, inputs: Sequence[Shape]) -> None:
        if self.in_channels % self.groups:
            raise OpError(
                f"conv: in_channels ({self.in_channels}) is not divisible by groups ({self.groups})",
                argument="groups",
            )
        if self.out_channels % self.groups:
            raise OpError(
                f"conv: out_channels ({self.out_channels}) is not divisible by groups ({self.groups})",
                argument="groups",
            )
        if self.table is not None:
            if self.groups != 1:
                raise OpError("conv: a connection table cannot be combined with groups", argument="table")
            if len(self.table) != self.out_channels:
                raise OpError(
                    f"conv: the connection table has {len(self.table)} rows for {self.out_channels} "
                    "output channels",
                    argument="table",
                )
            for row in self.table:
                bad = [c for c in row if not 0 <= c < self.in_channels]
                if bad or not row or len(set(row)) != len(row):
                    raise OpError(
                        f"conv: connection table row {list(row)} must list distinct input channels "
                        f"in 0..{self.in_channels - 1}",
                        argument="table",
                    )
        _, height, width = inputs[0]
        out_h, out_w = self._out(height, width)
        if out_h < 1 or out_w < 1:
            raise OpError(
                f"conv: kernel {self.kernel_size[0]}x{self.kernel_size[1]} does not fit the input "
                f"{format_shape(inputs[0])} (output would be {out_h}x{out_w})"
            )

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return (self.out_channels, *self.out_size)

    def connections_per_output(self) -> int:
        """Input channels each output channel sees, summed over output channels."""
        if self.table is not None:
            return sum(len(row) for row in self.table)
        return self.out_channels * (self.in_channels // self.groups)

    def weight_count(self) -> int:
        """Number of weights (biases excluded)."""
        return self.connections_per_output() * self.kernel_size[0] * self.kernel_size[1]

    def bias_count(self) -> int:
        """Number of biases: one per channel, one per output position when unshared, or none."""
        if self.bias == "unshared":
            return self.out_channels * self.out_size[0] * self.out_size[1]
        return self.out_channels if self.bias else 0

    def param_count(self) -> int:
        return self.weight_count() + self.bias_count()

    def macs(self, inputs: Sequence[Shape], output: Shape) -> int:
        return self.out_size[0] * self.out_size[1] * self.weight_count()

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return self.out_channels * self.out_size[0] * self.out_size[1] if self.bias else 0

    def receptive_field(self) -> RFEffect:
        return RFStep(self.kernel_size, self.stride, self.padding, self.dilation)

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        # Each output channel sums input channels (axis 0): all of a group's, or its row of the table; a
        # depthwise conv none. A group is taken as the whole axis (an upper bound where it holds positions).
        if self.table is not None:
            return ((0, 0),) if any(len(row) > 1 for row in self.table) else ()
        return ((0, 0),) if self.in_channels > self.groups else ()

    saved_rule: ClassVar[str] = (
        "its input; with a connection table, the gathered input channels (connections x H x W) and the "
        "gathered kernels instead"
    )

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        if self.table is None:
            return (Saved("input", "input"),)
        _, height, width = inputs[0]
        return (
            Saved("new", "gathered input channels", elements=self.connections_per_output() * height * width),
            Saved("new", "gathered kernels", elements=self.weight_count(), per_sample=False),
        )

    def scratch(self, inputs: Sequence[Shape], output: Shape, itemsize: int, batch: int) -> int:
        # The bias added after the convolution (unshared, or a table) makes a second output-sized tensor.
        # A table conv (torch_layers.ConnectionTableConv2d) also gathers its input channels and kernels,
        # and keeps the output of each group of equal fan-in, their concatenation and a reordered copy.
        if self.table is None:
            return numel(output) * itemsize * batch if self.bias == "unshared" else 0
        widths = [len(row) for row in self.table]
        order = sorted(range(len(widths)), key=lambda j: widths[j])  # grouped by fan-in, as the layer does
        copies = 1 + (len(set(widths)) > 1) + (order != list(range(len(widths)))) + (self.bias is not False)
        _, height, width = inputs[0]
        per_sample = self.connections_per_output() * height * width + (copies - 1) * numel(output)
        return (per_sample * batch + self.weight_count()) * itemsize

    def label(self) -> str:
        text = f"conv {window_text(self.kernel_size, self.stride)}, {self.out_channels}"
        if self.groups > 1 and self.groups == self.in_channels == self.out_channels:
            text += ", depthwise"
        elif self.groups > 1:
            text += f", {self.groups} groups"
        if self.dilation != (1, 1):
            text += f", dilation {pair_text(self.dilation)}"
        if self.table is not None:
            text += ", connection table"
        return text

    def count_formulas(self, inputs: Sequence[Shape], params: int, macs: int) -> tuple[str, ...]:
        kh, kw = self.kernel_size
        oh, ow = self.out_size
        if self.table is not None:
            rows = self.connections_per_output()
            weights = f"Σ table rows ({rows}) × kh × kw = {rows} × {kh} × {kw}"
            mac_formula = f"out_h × out_w × Σ table rows × kh × kw = {oh} × {ow} × {rows} × {kh} × {kw}"
        else:
            per = self.in_channels // self.groups
            weights = f"out_c × (in_c/groups) × kh × kw = {self.out_channels} × {per} × {kh} × {kw}"
            mac_formula = (
                "out_h × out_w × out_c × (in_c/groups) × kh × kw = "
                f"{oh} × {ow} × {self.out_channels} × {per} × {kh} × {kw}"
            )
        lines = [f"weights = {weights} = {self.weight_count():,}"]
        if self.bias_count():
            what = "per output position (unshared)" if self.bias == "unshared" else "per output channel"
            lines.append(f"biases = {self.bias_count():,} ({what})")
        return (*lines, f"params = {params:,}", f"MACs = {mac_formula} = {macs:,}")
