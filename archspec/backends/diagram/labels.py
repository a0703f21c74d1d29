"""Texts and colours of a drawing: op summaries in the papers' terms, op families, escaping."""

from __future__ import annotations

import html
from collections.abc import Callable

from archspec.label_text import number_text
from archspec.ops import Op, Shape

# Op kind -> family. The map must cover the library's kinds (a test checks it); an unknown kind draws as
# an activation. Each family has a fill colour (light, so that black text stays readable) and a name for
# the legend.
FAMILY_OF_KIND = {
    "input": "input",
    "conv2d": "conv",
    "patch_embed": "conv",
    "linear": "dense",
    "rbf": "dense",
    "mlp": "dense",
    "maxpool2d": "pool",
    "avgpool2d": "pool",
    "subsample": "pool",
    "adaptive_avgpool2d": "pool",
    "global_avgpool": "pool",
    "batchnorm": "norm",
    "layernorm": "norm",
    "lrn": "norm",
    "relu": "activation",
    "relu6": "activation",
    "tanh": "activation",
    "scaled_tanh": "activation",
    "sigmoid": "activation",
    "gelu": "activation",
    "softmax": "activation",
    "identity": "activation",
    "silu": "activation",
    "hardswish": "activation",
    "hardsigmoid": "activation",
    "attention": "attention",
    "shifted_window_attention": "attention",
    "patch_merging": "dense",
    "class_token": "token",
    "position_embedding": "token",
    "select_token": "token",
    "add": "merge",
    "concat": "merge",
    "mul": "merge",
    "layer_scale": "norm",
    "flatten": "reshape",
    "dropout": "reshape",
    "stochastic_depth": "reshape",
    "pad": "reshape",
    "permute": "reshape",
    "chunk": "reshape",
    "split": "reshape",
    "channel_shuffle": "reshape",
}

FAMILIES: dict[str, tuple[str, str]] = {  # family -> (fill colour, legend text)
    "input": ("#e0e0e0", "input"),
    "conv": ("#bcd8f0", "convolution"),
    "pool": ("#c9e6c0", "pooling"),
    "norm": ("#fbe7a7", "normalisation"),
    "activation": ("#f4f4f4", "activation"),
    "dense": ("#f9cfa5", "fully connected"),
    "attention": ("#d3c4ea", "attention"),
    "token": ("#f3c0c8", "tokens, embeddings"),
    "merge": ("#ffffff", "add, multiply, concat"),
    "reshape": ("#ececec", "reshape, split, dropout, pad"),
    "block": ("#e3e8f8", "block (closed)"),
}


def family(op: Op) -> str:
    """The op's family (see FAMILIES)."""
    return FAMILY_OF_KIND.get(op.kind, "activation")


def esc(text: object) -> str:
    """Text for an HTML-like label: every markup character escaped, line breaks as spaces."""
    flat = " ".join(str(text).splitlines()) if "\n" in str(text) or "\r" in str(text) else str(text)
    return html.escape(flat, quote=True)


def dims(shape: Shape) -> str:
    """``64×56×56``."""
    return "×".join(str(d) for d in shape) if shape else "scalar"


def _pair(value: tuple[int, int]) -> str:
    return str(value[0]) if value[0] == value[1] else f"{value[0]}×{value[1]}"


def _window(kernel: tuple[int, int], stride: tuple[int, int] | None) -> str:
    text = f"{kernel[0]}×{kernel[1]}"
    if stride is not None and stride != (1, 1):
        text += f"/{_pair(stride)}"
    return text


def summary(op: Op) -> str:
    """A short op summary in the papers' terms: ``conv 3×3/2, 128``, ``maxpool 3×3/2``, ``linear 1000``."""
    fields = op.__dict__
    kind = op.kind
    if kind == "conv2d":
        text = f"conv {_window(fields['kernel_size'], fields['stride'])}, {fields['out_channels']}"
        groups = fields["groups"]
        if groups > 1 and groups == fields["in_channels"] == fields["out_channels"]:
            text += ", depthwise"
        elif groups > 1:
            text += f", {groups} groups"
        if fields["dilation"] != (1, 1):
            text += f", dilation {_pair(fields['dilation'])}"
        if fields["table"] is not None:
            text += ", connection table"
        return text
    if kind in ("maxpool2d", "avgpool2d", "subsample"):
        stride = fields["stride"] if fields["stride"] is not None else fields["kernel_size"]
        name = {"maxpool2d": "maxpool", "avgpool2d": "avgpool", "subsample": "subsample"}[kind]
        return f"{name} {_window(fields['kernel_size'], stride)}"
    simple: dict[str, Callable[[], str]] = {
        "linear": lambda: f"linear {fields['out_features']}",
        "rbf": lambda: f"RBF {fields['units']}",
        "adaptive_avgpool2d": lambda: f"adaptive avgpool {_window(fields['output_size'], None)}",
        "global_avgpool": lambda: "global avgpool",
        "lrn": lambda: f"LRN {fields['size']}",
        "dropout": lambda: f"dropout {number_text(fields['p'])}",
        "pad": lambda: f"pad {fields['amount']}",
        "patch_embed": lambda: (
            f"patches {fields['patch_size']}×{fields['patch_size']}, {fields['hidden_dim']}"
        ),
        "class_token": lambda: "+ class token",
        "position_embedding": lambda: "+ position embedding",
        "attention": lambda: f"self-attention, {fields['num_heads']} heads",
        "mlp": lambda: f"MLP {fields['hidden_features']}",
        "shifted_window_attention": lambda: (
            f"window attention {fields['window_size']}×{fields['window_size']}, {fields['num_heads']} heads"
            + (f", shift {fields['shift_size']}" if fields["shift_size"] else "")
        ),
        "patch_merging": lambda: "patch merging 2×2",
        "select_token": lambda: "class token" if fields["index"] == 0 else f"token {fields['index']}",
        "add": lambda: "add",
        "mul": lambda: "multiply",
        "stochastic_depth": lambda: f"stochastic depth {number_text(fields['p'])}",
        "permute": lambda: f"permute {list(fields['dims'])}",
        "chunk": lambda: f"chunk {fields['index'] + 1} of {fields['chunks']}",
        "split": lambda: f"split {list(fields['sizes'])}, part {fields['index'] + 1}",
        "channel_shuffle": lambda: f"channel shuffle, {fields['groups']} groups",
        "layer_scale": lambda: "layer scale",
        "scaled_tanh": lambda: "scaled tanh",
    }
    if kind in simple:
        return simple[kind]()
    return op.spec_names[0] if op.spec_names else kind


def human(value: float) -> str:
    """``25.6M``, ``4.09G``, ``9.41K``: three significant digits."""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= factor:
            scaled = value / factor
            return f"{scaled:.3g}{suffix}" if scaled < 1000 else f"{scaled:.0f}{suffix}"
    return f"{value:g}"


def figures(params: int, macs: int) -> str:
    """``1.22M params · 219M MACs`` (the zero ones left out)."""
    parts = []
    if params:
        parts.append(f"{human(params)} params")
    if macs:
        parts.append(f"{human(macs)} MACs")
    return " · ".join(parts)
