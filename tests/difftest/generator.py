"""Random valid specs for differential testing against torch (Hypothesis strategies).

Nothing here imports archspec: the generator keeps its own shape bookkeeping, asking torch (on the meta
device) what size each conv and pool gives, so that a spec it writes is valid by torch's rules, not by
archspec's. Two families:

- ``conv_networks``: non-square inputs, kernels, strides, dilations and per-axis padding; groups; max and
  average pooling (ceil mode, dilation); batch norm and activations; branches merged by ``add``, ``concat``
  and ``mul``, their kernels and paddings drawn per branch (aligned or not); residuals with an identity,
  ``auto`` or explicit projection and stochastic depth; squeeze-and-excitation gates; a block with
  parameters, repeated (``Unit(w) * n``, labelled or spliced); the tensor primitives (rearrange,
  elementwise functions, per-side pad, div, broadcasting); a head of global pooling or flattening.
- ``token_networks``: patch embedding, class token, position embedding, pre-norm attention (the op, or
  one head written from ``split``, ``einsum``/``matmul``, a ``param`` bias and ``softmax``) and MLP
  residuals (``std/mlp.arch``'s ``MLP``), a class-token or mean head; or a Swin-like stage (channels-last
  map, shifted window attention, patch merging).

Either family sometimes declares ``params:`` (network parameters) and writes some widths, the class count, a
repeat count or a dropout rate as their names or as expressions of them (``w1 * 2``), so that the generated
source's exposed parameters are exercised: its class built with the defaults must equal ``build()``, and
with another value the spec accepts, the spec elaborated with it (tests/difftest/check.py).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

Size = tuple[int, int]


def torch_size(kind: str, size: Size, **geometry: Any) -> Size | None:
    """The (H, W) torch gives for one conv or pool on an HxW map (meta device); None when torch refuses
    or the map vanishes."""
    x = torch.empty(1, 1, *size, device="meta")
    try:
        if kind == "conv":
            weight = torch.empty(1, 1, *geometry.pop("kernel"), device="meta")
            out = F.conv2d(x, weight, None, **geometry)
        elif kind == "maxpool":
            out = F.max_pool2d(x, **geometry)
        else:
            out = F.avg_pool2d(x, **geometry)
    except RuntimeError:
        return None
    h, w = out.shape[2:]
    return (h, w) if min(h, w) >= 1 else None


def pair(value: tuple[int, int]) -> str:
    """``[a, b]`` as a spec writes a per-axis pair."""
    return f"[{value[0]}, {value[1]}]"


def flag(value: bool) -> str:
    """``true`` / ``false``."""
    return str(value).lower()


# The blocks a CNN may call; a spec defines only those it calls (parsing is a good part of a check's time).
BLOCKS = {
    "Unit": """block Unit(width, k=3):
  conv1: conv(width, [k, 1], pad=[(k - 1) // 2, 0], bias=false) >> bn: batchnorm >> relu

""",
    "SE": """block SE(squeeze):
  avgpool: global_avgpool
  fc1: conv(squeeze, 1) >> relu
  fc2: conv(in_channels, 1)
  gate: sigmoid
  mul from input, gate

""",
}


def with_blocks(body: str) -> str:
    """``body`` (a network) after the definitions of the blocks it calls."""
    return "".join(text for name, text in BLOCKS.items() if f" {name}(" in body) + body


class Params:
    """The network parameters a spec declares: when ``on``, a number the spec writes may instead be a
    parameter's name, or an expression of one (``w3 * 2`` for an even width)."""

    def __init__(self, on: bool) -> None:
        self.on = on
        self.values: dict[str, int | float] = {}

    def use(self, draw: Any, name: str, value: int | float, operand: bool = False) -> str:
        """``value`` as the spec writes it: the number, or (sometimes) the new parameter ``name``; an
        expression in parentheses where it is an ``operand`` (a repeat count: ``Unit(4) * (n3 * 2)``)."""
        if not self.on or name in self.values or not draw(st.booleans()):
            return str(value)
        if isinstance(value, int) and value % 2 == 0 and draw(st.booleans()):
            self.values[name] = value // 2
            return f"({name} * 2)" if operand else f"{name} * 2"
        self.values[name] = value
        return name

    def section(self) -> list[str]:
        """The ``params:`` lines (none without a parameter)."""
        if not self.values:
            return []
        return ["  params:", *(f"    {name} = {value}" for name, value in self.values.items())]


@st.composite
def conv_geometry(draw: Any, size: Size, stride: Size | None = None) -> tuple[str, Size] | None:
    """A conv's geometry (kernel, stride, padding, dilation) as spec arguments, and its output size."""
    # Fields stay below ~150 pixels, so that the gradient check's input stays small.
    kernel = draw(st.tuples(st.sampled_from([1, 2, 3, 3, 5, 7]), st.sampled_from([1, 2, 3, 5])))
    dilation = tuple(draw(st.sampled_from([1, 1, 2, 3])) if k > 1 else 1 for k in kernel)
    if stride is None:
        stride = draw(st.tuples(st.sampled_from([1, 1, 1, 2, 3]), st.sampled_from([1, 1, 2])))
    padding = tuple(draw(st.integers(0, d * (k - 1))) for k, d in zip(kernel, dilation, strict=True))
    out = torch_size("conv", size, kernel=kernel, stride=stride, padding=padding, dilation=dilation)
    if out is None:
        return None
    text = (
        f"{pair(kernel)}, stride={pair(stride)}, pad={pair((padding[0], padding[1]))}, "
        f"dilation={pair((dilation[0], dilation[1]))}"
    )
    return text, out


@st.composite
def conv_networks(draw: Any) -> str:
    """A small valid CNN spec (see the module docstring)."""
    size: Size = (draw(st.integers(8, 24)), draw(st.integers(8, 24)))
    width = draw(st.integers(1, 4))
    lines = ["network random:", '  title: "random"', f"  input: {width}x{size[0]}x{size[1]}"]
    params = Params(draw(st.integers(0, 2)) == 0)  # a third of the networks declare parameters
    lines.append("  layers:")
    for index in range(draw(st.integers(1, 6))):
        kinds = ["conv", "conv", "pool", "norm", "merge", "merge", "residual", "se", "repeat", "gate"]
        kind = draw(st.sampled_from([*kinds, "tensor"]))
        label = f"l{index}: " if draw(st.booleans()) else ""
        if kind == "conv":
            geometry = draw(conv_geometry(size))
            if geometry is None:
                continue
            divisors = [g for g in range(1, width + 1) if width % g == 0]
            groups = draw(st.sampled_from(divisors))
            new_width = groups * draw(st.integers(1, 3))
            bias = flag(draw(st.booleans()))
            written = params.use(draw, f"width{index}", new_width)
            lines.append(f"    {label}conv({written}, {geometry[0]}, groups={groups}, bias={bias})")
            size, width = geometry[1], new_width
        elif kind == "pool":
            pool = draw(st.sampled_from(["maxpool", "avgpool"]))
            kernel = draw(st.tuples(st.sampled_from([1, 2, 3]), st.sampled_from([2, 3])))
            stride = draw(st.tuples(st.sampled_from([1, 2, 3]), st.sampled_from([1, 2])))
            padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
            ceil = draw(st.booleans())
            geometry: dict[str, Any] = {"kernel_size": kernel, "stride": stride, "padding": padding}
            extra = ""
            if pool == "maxpool":
                dilation = draw(st.tuples(st.sampled_from([1, 2]), st.sampled_from([1, 2])))
                geometry["dilation"] = dilation
                extra = f", dilation={pair(dilation)}"
            out = torch_size(pool, size, ceil_mode=ceil, **geometry)
            if out is None:
                continue
            lines.append(
                f"    {label}{pool}({pair(kernel)}, stride={pair(stride)}, "
                f"padding={pair((padding[0], padding[1]))}{extra}, ceil_mode={flag(ceil)})"
            )
            size = out
        elif kind == "norm":
            act = draw(st.sampled_from(["relu", "relu6", "silu", "gelu", "hardswish", "sigmoid", "tanh"]))
            lines.append(f"    {label}batchnorm(affine={flag(draw(st.booleans()))}) >> {act}")
        elif kind == "merge":
            merged = draw(merge(size, width))
            if merged is None:
                continue
            text, size, width = merged
            lines += text
        elif kind == "residual":
            text, size, width = draw(residual(size, width))
            lines += text
        elif kind == "se":
            lines.append(f"    se{index}: SE({draw(st.integers(1, 3))})")
        elif kind == "gate":  # an elementwise gate: both branches keep the shape
            lines += ["    mul:", f"      conv({width}, 1) >> sigmoid", "      identity"]
        elif kind == "tensor":  # the tensor primitives (issue 21); roll is left out: see below
            text, size = draw(tensor_ops(index, size))
            lines += text
        elif kind == "repeat":
            new_width = draw(st.integers(1, 4))
            k = draw(st.sampled_from([1, 3, 5]))
            count = draw(st.integers(1, 3))
            name = f"blocks{index}: " if draw(st.booleans()) else ""
            written = params.use(draw, f"width{index}", new_width)
            times = params.use(draw, f"n{index}", count, operand=True)
            lines.append(f"    {name}Unit({written}, k={k}) * {times}")
            width = new_width
    if draw(st.booleans()) or size[0] * size[1] > 64:
        lines.append("    gap: global_avgpool >> flatten")
    else:
        lines.append("    flat: flatten")  # a map larger than 1x1 flattened: every position mixed
    if params.on and draw(st.booleans()):
        lines.append(f"    dropout({params.use(draw, 'drop', draw(st.sampled_from([0.1, 0.25])))})")
    lines += [f"    fc: linear({params.use(draw, 'num_classes', draw(st.integers(1, 4)))})", ""]
    return with_blocks("\n".join(_with_params(lines, params)))


def _with_params(lines: list[str], params: Params) -> list[str]:
    """``lines`` with the ``params:`` section before ``  layers:``."""
    at = lines.index("  layers:")
    return [*lines[:at], *params.section(), *lines[at:]]


@st.composite
def tensor_ops(draw: Any, index: int, size: Size) -> tuple[list[str], Size]:
    """One of the tensor primitives on a CxHxW map: a rearrange to channels-last and back, a pool between
    two swaps of H and W (a rearrange or a permute), elementwise
    functions (kept positive where log and sqrt need it), a per-side pad, a division and a broadcast add
    of an HxW mean. Left out: ``roll`` keeps the field's size by convention but moves it, which the exact
    gradient check here would see, and ``softmax``/``normalize`` along the channels, whose outputs sum to
    a constant there (tests/test_elementwise.py checks them)."""
    choice = draw(st.sampled_from(["rearrange", "transpose", "functions", "pad", "div", "broadcast"]))
    if choice == "rearrange":
        return ['    rearrange("c h w -> h w c") >> shift(1) >> rearrange("h w c -> c h w")'], size
    if choice == "transpose":  # a pool on the map with H and W swapped: its kernel and stride swap too
        kernel = draw(st.tuples(st.sampled_from([1, 2, 3]), st.sampled_from([1, 2, 3])))
        stride = draw(st.tuples(st.sampled_from([1, 2]), st.sampled_from([1, 2])))
        out = torch_size("avgpool", (size[1], size[0]), kernel_size=kernel, stride=stride)
        if out is None:
            return [], size
        swap = draw(st.sampled_from(['rearrange("c h w -> c w h")', "permute([0, 2, 1])"]))
        return [f"    {swap} >> avgpool({pair(kernel)}, stride={pair(stride)}) >> {swap}"], (out[1], out[0])
    if choice == "functions":
        last = draw(st.sampled_from(["exp", "clamp(min=-1)", "clamp(min=-1, max=100)", "identity"]))
        return [f"    abs >> shift(1) >> sqrt >> log >> {last}"], size
    if choice == "pad":
        sides = [draw(st.integers(0, 2)) for _ in range(4)]
        return [f"    pad(sides={sides})"], (size[0] + sides[2] + sides[3], size[1] + sides[0] + sides[1])
    if choice == "div":
        return [
            f"    t{index}: identity",
            f"    u{index}: abs from t{index}",
            f"    v{index}: shift(1)",
            f"    div from t{index}, v{index}",
        ], size
    return ["    add:", "      identity", "      mean(0)"], size


@st.composite
def merge(draw: Any, size: Size, width: int) -> tuple[list[str], Size, int] | None:
    """``add:`` / ``concat:`` / ``mul:`` of two or three conv branches with one output size: each
    branch's kernel, dilation and padding drawn on its own (so their fields need not be centred alike),
    a shared stride."""
    op = draw(st.sampled_from(["add", "concat", "mul"]))
    stride = draw(st.tuples(st.sampled_from([1, 1, 2]), st.sampled_from([1, 1, 2])))
    branches: list[tuple[str, Size]] = []
    for _ in range(draw(st.integers(2, 3))):
        geometry = draw(conv_geometry(size, stride))
        if geometry is not None and (not branches or geometry[1] == branches[0][1]):
            branches.append(geometry)
    if len(branches) < 2:
        return None
    widths = [draw(st.integers(1, 3)) if op == "concat" else width for _ in branches]
    lines = [f"    {op}:"]
    for (text, _), w in zip(branches, widths, strict=True):
        tail = draw(st.sampled_from(["", " >> relu", " >> batchnorm"]))
        lines.append(f"      conv({w}, {text}){tail}")
    return lines, branches[0][1], sum(widths) if op == "concat" else width


@st.composite
def residual(draw: Any, size: Size, width: int) -> tuple[list[str], Size, int]:
    """A residual block: a body of odd, "same"-padded kernels with a stride; the identity, ``auto`` or an
    explicit 1x1 projection as its shortcut; sometimes stochastic depth."""
    stride = draw(st.tuples(st.sampled_from([1, 2]), st.sampled_from([1, 2])))
    kernel = draw(st.tuples(st.sampled_from([1, 3, 5]), st.sampled_from([1, 3])))
    padding = (kernel[0] // 2, kernel[1] // 2)
    out = torch_size("conv", size, kernel=kernel, stride=stride, padding=padding)
    assert out is not None  # a "same" conv never vanishes
    new_width = width if stride == (1, 1) and draw(st.booleans()) else draw(st.integers(1, 4))
    lines = [
        "    residual:",
        f"      conv({new_width}, {pair(kernel)}, stride={pair(stride)}, pad={pair(padding)}) >> relu",
        f"      conv({new_width}, 3, pad=1, bias=false) >> batchnorm",
    ]
    if draw(st.booleans()):
        lines.append(f"      stochastic_depth({draw(st.sampled_from([0.0, 0.2]))})")
    if stride != (1, 1) or new_width != width:
        lines.append(
            draw(
                st.sampled_from(
                    [
                        "    shortcut: auto",
                        f"    shortcut: conv({new_width}, 1, stride={pair(stride)}, bias=false) >> batchnorm",
                    ]
                )
            )
        )
    return lines, out, new_width


# The transformer MLP is the standard library's block (the same layer as torchvision's MLPBlock).
MLP_IMPORT = 'from "std/mlp.arch" import MLP'


@st.composite
def token_networks(draw: Any) -> str:
    """A small ViT-like or Swin-like spec (see the module docstring)."""
    channels = draw(st.integers(1, 3))
    if draw(st.booleans()):
        return draw(swin_networks(channels))
    patch = draw(st.sampled_from([2, 4]))
    grid = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    heads = draw(st.sampled_from([1, 2]))
    hidden = heads * draw(st.integers(1, 4))
    params = Params(draw(st.integers(0, 2)) == 0)
    lines = [
        MLP_IMPORT,
        "",
        "network tokens:",
        '  title: "tokens"',
        f"  input: {channels}x{grid[0] * patch}x{grid[1] * patch}",
        "  layers:",
        f"    patch_embed({hidden}, {patch})",
    ]
    cls = draw(st.booleans())
    if cls:
        lines.append("    class_token")
    lines.append("    position_embedding")
    tokens = grid[0] * grid[1] + (1 if cls else 0)
    for index in range(draw(st.integers(1, 2))):
        affine = flag(draw(st.booleans()))
        lines += ["    residual:", f"      layernorm(affine={affine}, eps=1e-6)"]
        if draw(st.booleans()):
            lines += [f"      attention({heads}, bias={flag(draw(st.booleans()))})"]
        else:  # one head written from primitives, with a learned bias over token pairs
            lines += primitive_attention(draw, index, hidden, tokens)
        lines += [
            "    residual:",
            f"      layernorm(affine={affine})",
            f"      MLP({params.use(draw, 'mlp_dim', draw(st.integers(1, 8)))})",
        ]
    head = f"    head: linear({params.use(draw, 'num_classes', 3)})"
    lines += ["    select_token" if cls else "    select_token(0)", head, ""]
    return "\n".join(_with_params(lines, params))


def primitive_attention(draw: Any, index: int, hidden: int, tokens: int) -> list[str]:
    """Single-head attention from linear, split, einsum or matmul, a param, add, softmax and matmul."""
    parts = f"[{hidden}, {hidden}, {hidden}]"
    transposed = f"      kt{index}: permute([1, 0]) from k{index}\n"
    scores = (
        f'      s{index}: einsum("n d, m d -> n m") from q{index}, k{index}'
        if draw(st.booleans())
        else f"{transposed}      s{index}: matmul from q{index}, kt{index}"
    )
    return [
        f"      qkv{index}: linear({3 * hidden})",
        f"      q{index}: split({parts}, 0, dim=-1) from qkv{index}",
        f"      k{index}: split({parts}, 1, dim=-1) from qkv{index}",
        f"      v{index}: split({parts}, 2, dim=-1) from qkv{index}",
        *scores.split("\n"),
        f"      param bias{index}: [{tokens}, {tokens}], init=normal(std=0.5)",
        f"      a{index}: add from s{index}, bias{index}",
        f"      p{index}: softmax",
        f"      o{index}: matmul from p{index}, v{index}",
        f"      linear({hidden})",
    ]


@st.composite
def swin_networks(draw: Any, channels: int) -> str:
    """A Swin-like stage: patch embedding as a strided conv, a channels-last map, shifted window attention
    (window 2 or 3, shifted or not) and MLP residuals, patch merging, then global pooling."""
    window = draw(st.sampled_from([2, 3]))
    size = (draw(st.integers(2, 6)), draw(st.integers(2, 6)))
    heads = draw(st.sampled_from([1, 2]))
    dim = heads * draw(st.integers(2, 3))  # a layer norm over one channel gives 0 whatever its input
    lines = [
        MLP_IMPORT,
        "",
        "network windows:",
        '  title: "windows"',
        f"  input: {channels}x{2 * size[0]}x{2 * size[1]}",
        "  layers:",
        f"    conv({dim}, 2, stride=2) >> permute([1, 2, 0]) >> layernorm(dim=-1)",
    ]
    for _ in range(draw(st.integers(1, 2))):
        shift = draw(st.sampled_from([0, 1])) if min(size) > window else 0
        lines += [
            "    residual:",
            "      layernorm(dim=-1)",
            f"      shifted_window_attention({heads}, {window}, {shift})",
            "    residual:",
            "      layernorm(dim=-1)",
            f"      MLP({draw(st.integers(1, 8))})",
        ]
    if draw(st.booleans()):
        lines.append("    patch_merging")
    lines += ["    permute([2, 0, 1])", "    global_avgpool >> flatten", "    head: linear(3)", ""]
    return "\n".join(lines)


def networks() -> st.SearchStrategy[str]:
    """Any generated network: mostly CNNs (the most geometry), some token networks."""
    return st.one_of(conv_networks(), conv_networks(), conv_networks(), token_networks())
