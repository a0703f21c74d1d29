"""What the Swin Transformer needs: shifted-window attention and patch merging, on channels-last maps.

Both work on an HxWxC map (torchvision's Swin keeps (B, H, W, C) from the patch embedding to the head),
so the last dimension is the channels.
"""

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field

from archspec.ops.base import (
    NonNegInt,
    Op,
    OpError,
    PosInt,
    Probability,
    RFEffect,
    RFStep,
    Saved,
    Shape,
    format_shape,
)


def channels_last_input(op_name: str, inputs: Sequence[Shape]) -> tuple[int, int, int]:
    """(H, W, C) of a channels-last map, or an OpError naming the shape that came instead."""
    shape = inputs[0]
    if len(shape) != 3:
        raise OpError(
            f"{op_name} expects a channels-last map HxWxC, got {format_shape(shape)}",
            hint="turn a CxHxW map channels-last with permute([1, 2, 0])",
        )
    return shape[0], shape[1], shape[2]


def _padded(size: int, window: int) -> int:
    """``size`` rounded up to a multiple of ``window`` (torchvision pads the bottom and right)."""
    return -(-size // window) * window


class ShiftedWindowAttention(Op):
    """``shifted_window_attention(num_heads, window_size, shift_size=0, ...)``: multi-head self-attention
    within non-overlapping windows of an HxWxC map, with a learned relative position bias; with a shift,
    the map is first rolled by ``shift_size`` and tokens from different regions are masked apart
    (torchvision's ``ShiftedWindowAttention``)."""

    kind: Literal["shifted_window_attention"] = "shifted_window_attention"
    dim: PosInt
    num_heads: PosInt
    window_size: PosInt
    shift_size: NonNegInt = 0
    attention_dropout: Probability = 0.0
    dropout: Probability = 0.0
    qkv_bias: bool = True
    proj_bias: bool = True

    spec_names: ClassVar[tuple[str, ...]] = ("shifted_window_attention", "window_attention")
    family: ClassVar[str] = "attention"
    # weight, bias: the q/k/v and output projections' (qkv.weight, proj.weight, ...)
    init_parameters: ClassVar[tuple[str, ...]] = ("relative_position_bias_table", "weight", "bias")
    inferred: ClassVar[frozenset[str]] = frozenset({"dim"})
    aliases: ClassVar[dict[str, str]] = {"heads": "num_heads", "window": "window_size", "shift": "shift_size"}
    summary: ClassVar[str] = "multi-head self-attention in (shifted) windows with relative position bias"
    shape_rule: ClassVar[str] = (
        "HxWxC to HxWxC; num_heads must divide C, shift_size < window_size; the map is padded to "
        "window multiples inside (and a shift is dropped along a side no longer than the window)"
    )
    param_rule: ClassVar[str] = (
        "4 * C^2 + 4 * C (q/k/v and output projections with their biases) "
        "+ (2 * window_size - 1)^2 * num_heads (the relative position bias table)"
    )
    flop_rule: ClassVar[str] = (
        "MACs, over the T tokens of the padded map: projections 4·T·C², QK^T and A·V 2·T·window_size²·C; "
        "`--count all` adds the projection biases (4·T·C), the query scaling (T·C) and per attention "
        "score 3 FLOPs (bias add, softmax), 4 with a shift (the mask add)"
    )

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        return {"dim": channels_last_input("shifted_window_attention", inputs)[2]}

    def check(self, inputs: Sequence[Shape]) -> None:
        if self.dim % self.num_heads:
            raise OpError(
                f"shifted_window_attention: {self.dim} channels are not divisible by {self.num_heads} heads",
                argument="num_heads",
            )
        if self.shift_size >= self.window_size:
            raise OpError(
                f"shifted_window_attention: shift_size {self.shift_size} must be smaller than "
                f"window_size {self.window_size}",
                argument="shift_size",
                hint="Swin shifts by half a window: shift_size=window_size // 2",
            )

    def param_count(self) -> int:
        c = self.dim
        biases = (3 * c if self.qkv_bias else 0) + (c if self.proj_bias else 0)
        return 4 * c * c + biases + (2 * self.window_size - 1) ** 2 * self.num_heads

    def buffer_count(self) -> int:
        return self.window_size**4  # relative_position_index: one table row per pair of window positions

    def tokens(self, inputs: Sequence[Shape]) -> int:
        """Tokens of the map padded to window multiples (what the projections and the windows see)."""
        height, width, _ = inputs[0]
        return _padded(height, self.window_size) * _padded(width, self.window_size)

    def shifted(self, inputs: Sequence[Shape]) -> bool:
        """Whether the shift applies (torchvision drops it along a side no longer than the window)."""
        height, width, _ = inputs[0]
        w = self.window_size
        return self.shift_size > 0 and (_padded(height, w) > w or _padded(width, w) > w)

    def scores(self, inputs: Sequence[Shape]) -> int:
        """Attention scores over all windows and heads (heads x T x window_size²)."""
        return self.num_heads * self.tokens(inputs) * self.window_size**2

    def macs(self, inputs: Sequence[Shape], output: Shape) -> int:
        tokens = self.tokens(inputs)
        return 4 * tokens * self.dim * self.dim + 2 * tokens * self.window_size**2 * self.dim

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        tokens = self.tokens(inputs)
        biases = (3 if self.qkv_bias else 0) + (1 if self.proj_bias else 0)
        per_score = 4 if self.shifted(inputs) else 3
        return biases * tokens * self.dim + tokens * self.dim + per_score * self.scores(inputs)

    def receptive_field(self) -> RFEffect:
        # An upper bound: a token sees the tokens of its window, at most window_size - 1 to either side.
        w = self.window_size
        return RFStep((2 * w - 1, 2 * w - 1), (1, 1), (w - 1, w - 1))

    step_axes: ClassVar[tuple[int, int]] = (-3, -2)  # H and W of the channels-last HxWxC map

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        return ((0, 2),)  # the projections mix the channels

    # torchvision's function spelt out (matmul, softmax), as autograd on the CPU keeps it: the linear's
    # input is the windowed copy of the map; the 4-d matmuls reshape their non-contiguous operands for bmm
    # and keep those copies (the scaled queries, the transposed keys, the values), not the q/k/v storage;
    # softmax keeps its output. Dropout is `x * mask` with a mask that needs no gradient: only the mask.
    # With one head, merging the windows' batch dimension with a heads dimension of size 1 is a view: the
    # matmuls keep views of the keys and values, and so the q/k/v projection's whole storage (measured:
    # tests/difftest_regressions/one_head_window_attention_keeps_the_qkv_projection.arch).
    saved_rule: ClassVar[str] = (
        "the windowed map (T x C, the q/k/v projection's input), the scaled queries, the transposed keys "
        "and the values as the matmuls copy them (T x C each; with one head no copy is made and the q/k/v "
        "projection, 3 x T x C, is kept instead of both), the probabilities (heads x T x "
        "window_size²) and the attended values (T x C, the output projection's input); with attention "
        "dropout also its mask and the dropped probabilities (heads x T x window_size² each); with dropout "
        "also its mask (T x C). T: the tokens of the map padded to window multiples"
    )

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        tokens, width = self.tokens(inputs), self.dim
        if self.num_heads == 1:
            # One head: the matmuls fold a batch dimension of size 1 (a view, no copy), so the keys and
            # values they keep are views of the q/k/v projection, whose whole storage (3 x T x C) stays.
            kept = [Saved("new", "q/k/v projection (keys and values view it)", elements=3 * tokens * width)]
        else:
            kept = [
                Saved("new", "keys, transposed", elements=tokens * width),
                Saved("new", "values", elements=tokens * width),
            ]
        saved = [
            Saved("new", "windowed map", elements=tokens * width),
            Saved("new", "scaled queries", elements=tokens * width),
            *kept,
            Saved("new", "probabilities", elements=self.scores(inputs)),
            Saved("new", "attended values", elements=tokens * width),
        ]
        if self.attention_dropout > 0:
            saved += [
                Saved("new", "attention dropout mask", elements=self.scores(inputs)),
                Saved("new", "dropped probabilities", elements=self.scores(inputs)),
            ]
        if self.dropout > 0:
            saved.append(Saved("new", "dropout mask", elements=tokens * width))
        return tuple(saved)

    def scratch(self, inputs: Sequence[Shape], output: Shape, itemsize: int, batch: int) -> int:
        # Live at the softmax in torchvision's function (measured within a few per cent, not exactly): the
        # windowed map, the q/k/v projection (3 x T x C, which q, k and v view), the scaled queries, the
        # scores with the bias added and their softmax, and the relative position bias (heads x window⁴,
        # one for the batch). The shift's mask and the smaller copies around the matmuls are left out.
        tokens, width = self.tokens(inputs), self.dim
        per_sample = 5 * tokens * width + 2 * self.scores(inputs)
        return (per_sample * batch + self.num_heads * self.window_size**4) * itemsize

    def label(self) -> str:
        shift = f", shift {self.shift_size}" if self.shift_size else ""
        return f"window attention {self.window_size}×{self.window_size}, {self.num_heads} heads{shift}"


class PatchMerging(Op):
    """``patch_merging(eps=1e-5)``: each 2x2 neighbourhood of an HxWxC map concatenated to 4C channels,
    layer-normalised and projected to 2C without bias (torchvision's ``PatchMerging``)."""

    kind: Literal["patch_merging"] = "patch_merging"
    dim: PosInt
    eps: float = Field(default=1e-5, gt=0)

    spec_names: ClassVar[tuple[str, ...]] = ("patch_merging",)
    family: ClassVar[str] = "dense"
    # reduction, norm: every parameter of that sublayer (torchvision initialises only the projection)
    init_parameters: ClassVar[tuple[str, ...]] = ("reduction", "norm", "weight", "bias")
    inferred: ClassVar[frozenset[str]] = frozenset({"dim"})
    summary: ClassVar[str] = "2x2 neighbourhoods concatenated, layer-normalised, projected to 2C"
    shape_rule: ClassVar[str] = "HxWxC to ceil(H/2) x ceil(W/2) x 2C (an odd side is zero-padded)"
    param_rule: ClassVar[str] = "8 * C^2 (the projection) + 8 * C (the layer norm over 4C)"
    flop_rule: ClassVar[str] = (
        "MACs: H/2 · W/2 · 4C · 2C (the projection); `--count all` adds 5 FLOPs per element of the "
        "4C map (the layer norm)"
    )

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        return {"dim": channels_last_input("patch_merging", inputs)[2]}

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        height, width, channels = inputs[0]
        return (-(-height // 2), -(-width // 2), 2 * channels)

    def param_count(self) -> int:
        return 8 * self.dim * self.dim + 8 * self.dim

    def macs(self, inputs: Sequence[Shape], output: Shape) -> int:
        return output[0] * output[1] * 4 * self.dim * 2 * self.dim

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return 5 * output[0] * output[1] * 4 * self.dim

    def receptive_field(self) -> RFEffect:
        return RFStep((2, 2), (2, 2), (0, 0))

    step_axes: ClassVar[tuple[int, int]] = (-3, -2)  # H and W of the channels-last HxWxC map

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        return ((0, 2),)  # the layer norm and the projection mix the channels

    saved_rule: ClassVar[str] = (
        "the concatenated map (H/2 x W/2 x 4C, the norm's input), the norm's mean and inverse deviation "
        "per position, and the normalised map (H/2 x W/2 x 4C, the projection's input)"
    )

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        positions = output[0] * output[1]
        return (
            Saved("new", "concatenated map", elements=positions * 4 * self.dim),
            Saved("new", "row means", elements=positions),
            Saved("new", "row inverse deviations", elements=positions),
            Saved("new", "normalised map", elements=positions * 4 * self.dim),
        )

    def scratch(self, inputs: Sequence[Shape], output: Shape, itemsize: int, batch: int) -> int:
        # Measured: the concatenated map and the normalised map (H/2 x W/2 x 4C each) live together.
        return 2 * output[0] * output[1] * 4 * self.dim * itemsize * batch

    def label(self) -> str:
        return "patch merging 2×2"
