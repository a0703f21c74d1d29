"""What the Vision Transformer needs: patch embedding, class token, position embedding, attention, MLP."""

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from archspec.ops.base import (
    AxisSources,
    Int,
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
from archspec.ops.conv import spatial_input


def token_input(op_name: str, inputs: Sequence[Shape]) -> tuple[int, int]:
    """(tokens, width) of a token sequence, or an OpError naming the shape that came instead."""
    shape = inputs[0]
    if len(shape) != 2:
        raise OpError(
            f"{op_name} expects a token sequence NxD, got {format_shape(shape)}",
            hint="turn a feature map into tokens with patch_embed",
        )
    return shape[0], shape[1]


class PatchEmbed(Op):
    """``patch_embed(hidden_dim, patch_size)``: a conv with kernel = stride = patch, flattened to tokens."""

    kind: Literal["patch_embed"] = "patch_embed"
    in_channels: PosInt
    hidden_dim: PosInt
    patch_size: PosInt
    grid: tuple[int, int] = (0, 0)

    spec_names: ClassVar[tuple[str, ...]] = ("patch_embed",)
    family: ClassVar[str] = "conv"
    depth_weight: ClassVar[int] = 1
    init_parameters: ClassVar[tuple[str, ...]] = ("weight", "bias")
    fan_weight: ClassVar[bool] = True
    inferred: ClassVar[frozenset[str]] = frozenset({"in_channels", "grid"})
    summary: ClassVar[str] = "non-overlapping patches projected to tokens (conv, then flatten)"
    shape_rule: ClassVar[str] = (
        "CxHxW to (H/patch_size * W/patch_size) x hidden_dim tokens; patch_size must divide H and W"
    )
    param_rule: ClassVar[str] = "hidden_dim * C * patch_size^2 + hidden_dim"
    flop_rule: ClassVar[str] = "MACs as conv; `--count all` adds 1 FLOP per output element for the bias"

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        channels, height, width = spatial_input("patch_embed", inputs)
        patch = args.get("patch_size")
        if isinstance(patch, int) and not isinstance(patch, bool) and patch > 0:
            for size in (height, width):
                if size % patch:
                    raise OpError(
                        f"patch_embed: input {format_shape(inputs[0])} is not divisible into "
                        f"{patch}x{patch} patches",
                        argument="patch_size",
                    )
            return {"in_channels": channels, "grid": (height // patch, width // patch)}
        return {"in_channels": channels}

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return (self.grid[0] * self.grid[1], self.hidden_dim)

    def param_count(self) -> int:
        return self.hidden_dim * self.in_channels * self.patch_size**2 + self.hidden_dim

    def macs(self, inputs: Sequence[Shape], output: Shape) -> int:
        return self.grid[0] * self.grid[1] * self.hidden_dim * self.in_channels * self.patch_size**2

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return output[0] * output[1]

    def receptive_field(self) -> RFEffect:
        p = self.patch_size
        return RFStep((p, p), (p, p), (0, 0))

    def axis_sources(self, inputs: Sequence[Shape], output: Shape) -> AxisSources:
        return (((0, 1), (0, 2)), ((0, 0),))  # tokens: the map's H and W (row-major); features: its C

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        return ((0, 0),)  # the conv sums every input channel

    saved_rule: ClassVar[str] = "its input (the convolution's)"

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "input"),)

    def label(self) -> str:
        return f"patches {self.patch_size}×{self.patch_size}, {self.hidden_dim}"


class ClassToken(Op):
    """``class_token``: prepends one learned token (stored as a parameter of the enclosing module)."""

    kind: Literal["class_token"] = "class_token"
    own_parameter: ClassVar[bool] = True
    hidden_dim: PosInt
    spec_names: ClassVar[tuple[str, ...]] = ("class_token",)
    family: ClassVar[str] = "token"
    init_parameters: ClassVar[tuple[str, ...]] = ("weight",)  # the parameter itself
    inferred: ClassVar[frozenset[str]] = frozenset({"hidden_dim"})
    summary: ClassVar[str] = "prepends a learned class token"
    shape_rule: ClassVar[str] = "NxD to (N+1)xD"
    param_rule: ClassVar[str] = "D"
    flop_rule: ClassVar[str] = "0 FLOPs (a copy)"

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        return {"hidden_dim": token_input("class_token", inputs)[1]}

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return (inputs[0][0] + 1, inputs[0][1])

    def param_count(self) -> int:
        return self.hidden_dim

    def learned_tensor(self, output: Shape) -> tuple[str, Shape] | None:
        return "learned class token", (1, output[-1])

    def label(self) -> str:
        return "+ class token"


class PositionEmbedding(Op):
    """``position_embedding(length=none)``: adds a learned embedding per token position.

    ``length`` fixes the number of tokens (as torchvision does from ``image_size``); an input with another
    number of tokens is an error. Without it the length follows the input.
    """

    kind: Literal["position_embedding"] = "position_embedding"
    own_parameter: ClassVar[bool] = True
    length: PosInt | None = None
    hidden_dim: PosInt
    spec_names: ClassVar[tuple[str, ...]] = ("position_embedding", "pos_embedding")
    family: ClassVar[str] = "token"
    init_parameters: ClassVar[tuple[str, ...]] = ("weight",)  # the parameter itself
    inferred: ClassVar[frozenset[str]] = frozenset({"hidden_dim"})
    summary: ClassVar[str] = "adds a learned position embedding"
    shape_rule: ClassVar[str] = "NxD to NxD; N must equal length when length is given"
    param_rule: ClassVar[str] = "length * D"
    flop_rule: ClassVar[str] = "`--count all`: 1 FLOP per element (the add)"

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        tokens, width = token_input("position_embedding", inputs)
        fields: dict[str, Any] = {"hidden_dim": width}
        if args.get("length") is None:
            fields["length"] = tokens
        return fields

    def check(self, inputs: Sequence[Shape]) -> None:
        tokens, _ = token_input("position_embedding", inputs)
        if tokens != self.length:
            raise OpError(
                f"position_embedding holds {self.length} positions but the input has {tokens} tokens",
                hint="the input size must match the size the embedding was made for",
            )

    def param_count(self) -> int:
        assert self.length is not None
        return self.length * self.hidden_dim

    def learned_tensor(self, output: Shape) -> tuple[str, Shape] | None:
        return "learned position embedding", output

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        return output[0] * output[1]

    def label(self) -> str:
        return "+ position embedding"


class MultiheadAttention(Op):
    """``attention(num_heads, dropout=0.0, bias=true)``: multi-head self-attention over all tokens."""

    kind: Literal["attention"] = "attention"
    embed_dim: PosInt
    num_heads: PosInt
    dropout: Probability = 0.0
    bias: bool = True

    spec_names: ClassVar[tuple[str, ...]] = ("attention", "self_attention")
    family: ClassVar[str] = "attention"
    depth_weight: ClassVar[int] = 1
    # weight, bias: out_proj's
    init_parameters: ClassVar[tuple[str, ...]] = ("in_proj_weight", "in_proj_bias", "weight", "bias")
    inferred: ClassVar[frozenset[str]] = frozenset({"embed_dim"})
    aliases: ClassVar[dict[str, str]] = {"heads": "num_heads"}
    summary: ClassVar[str] = "multi-head self-attention"
    shape_rule: ClassVar[str] = "NxD to NxD; num_heads must divide D"
    param_rule: ClassVar[str] = "4 * D^2 + 4 * D (the biases, when bias=true)"
    flop_rule: ClassVar[str] = (
        "MACs: q/k/v and output projections plus QK^T and A·V (N²·D each); "
        "`--count all` adds projection biases and 3 FLOPs per attention score (scale, softmax)"
    )

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        return {"embed_dim": token_input("attention", inputs)[1]}

    def check(self, inputs: Sequence[Shape]) -> None:
        if self.embed_dim % self.num_heads:
            raise OpError(
                f"attention: width {self.embed_dim} is not divisible by {self.num_heads} heads",
                argument="num_heads",
            )

    def param_count(self) -> int:
        d = self.embed_dim
        return 4 * d * d + (4 * d if self.bias else 0)

    def projection_macs(self, tokens: int) -> int:
        """MACs of the q/k/v input projection and the output projection."""
        return 4 * tokens * self.embed_dim * self.embed_dim

    def matmul_macs(self, tokens: int) -> int:
        """MACs of QK^T and A·V, summed over heads."""
        return 2 * tokens * tokens * self.embed_dim

    def macs(self, inputs: Sequence[Shape], output: Shape) -> int:
        tokens = inputs[0][0]
        return self.projection_macs(tokens) + self.matmul_macs(tokens)

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        tokens = inputs[0][0]
        biases = 4 * tokens * self.embed_dim if self.bias else 0
        return biases + 3 * self.num_heads * tokens * tokens

    def receptive_field(self) -> RFEffect:
        return "global"

    # What torch's scaled-dot-product attention keeps on the CPU. Without dropout it takes the fused
    # (flash) kernel, which keeps the log-sum-exp of each score row instead of the probabilities; with
    # dropout it takes the math path, which keeps the probabilities, the dropout mask and copies.
    saved_rule: ClassVar[str] = (
        "its input (the q/k/v projection's), the projected q/k/v (3 x N x D), the attended values (N x D, "
        "the output projection's input) and, without dropout, the log-sum-exp of each score row "
        "(heads x N, float32); with dropout instead the scaled queries and the keys (N x D each), the "
        "probabilities, the mask and the dropped probabilities (heads x N x N each)"
    )

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        tokens, width = inputs[0]
        common = (
            Saved("input", "input"),
            Saved("new", "projected q, k, v", elements=3 * tokens * width),
            Saved("new", "attended values", elements=tokens * width),
        )
        if self.dropout == 0:
            scores = self.num_heads * tokens
            return (*common, Saved("new", "log-sum-exp", elements=scores, dtype="float32"))
        squares = self.num_heads * tokens * tokens
        return (
            *common,
            Saved("new", "scaled queries", elements=tokens * width),
            Saved("new", "keys, transposed", elements=tokens * width),
            Saved("new", "probabilities", elements=squares),
            Saved("new", "dropout mask", elements=squares),
            Saved("new", "dropped probabilities", elements=squares),
        )

    def scratch(self, inputs: Sequence[Shape], output: Shape, itemsize: int, batch: int) -> int:
        tokens, width = inputs[0]
        return (
            4 * tokens * width * itemsize * batch
        )  # the projected q/k/v and the attended values, beside the output

    def label(self) -> str:
        return f"self-attention, {self.num_heads} heads"

    def count_formulas(self, inputs: Sequence[Shape], params: int, macs: int) -> tuple[str, ...]:
        tokens, d = inputs[0][0], self.embed_dim
        proj, mm = self.projection_macs(tokens), self.matmul_macs(tokens)
        return (
            f"params = 4·D² + 4·D (q, k, v, out projections) = 4·{d}² + 4·{d} = {params:,}"
            if self.bias
            else f"params = 4·D² = 4·{d}² = {params:,}",
            f"MACs = 4·N·D² (projections) + 2·N²·D (QKᵀ and A·V) = 4·{tokens}·{d}² + 2·{tokens}²·{d}"
            f" = {proj:,} + {mm:,} = {macs:,}",
        )


class SelectToken(Op):
    """``select_token(index=0)``: one token of the sequence (the class token for classification)."""

    kind: Literal["select_token"] = "select_token"
    index: Int = 0
    spec_names: ClassVar[tuple[str, ...]] = ("select_token", "token")
    keeps_dtype: ClassVar[bool] = True  # moves elements, computes none
    family: ClassVar[str] = "token"
    summary: ClassVar[str] = "selects one token"
    shape_rule: ClassVar[str] = "NxD to a vector D"
    flop_rule: ClassVar[str] = "0 FLOPs (a view)"
    saved_rule: ClassVar[str] = "nothing (a view: whoever saves it keeps the whole sequence)"
    view: ClassVar[bool] = True

    def check(self, inputs: Sequence[Shape]) -> None:
        tokens, _ = token_input("select_token", inputs)
        if not -tokens <= self.index < tokens:
            raise OpError(f"select_token: index {self.index} is out of range for {tokens} tokens", "index")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return (inputs[0][1],)

    def axis_sources(self, inputs: Sequence[Shape], output: Shape) -> AxisSources:
        return (((0, 1),),)  # one token's features

    def label(self) -> str:
        return "class token" if self.index == 0 else f"token {self.index}"
