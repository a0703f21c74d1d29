"""The layers archspec needs that torch lacks.

Each class is self-contained: it uses only ``torch``, ``nn`` and ``F`` from this module's imports,
so the code generator copies its source verbatim (``inspect.getsource``) into standalone files; so
are ``computed_buffer`` and ``refill_buffer`` (with ``functools``), copied where a spec has a buffer
that is not persistent.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn


class ScaledTanh(nn.Module):
    """LeCun's squashing function ``amplitude * tanh(slope * x)`` (1.7159 * tanh(2x/3))."""

    def __init__(self, amplitude: float = 1.7159, slope: float = 2.0 / 3.0) -> None:
        super().__init__()
        self.amplitude = amplitude
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.amplitude * torch.tanh(self.slope * x)

    def extra_repr(self) -> str:
        return f"amplitude={self.amplitude}, slope={self.slope}"


class PartialBiasLinear(nn.Linear):
    """A linear layer that adds its bias to some of its outputs only: they split into equal
    chunks, one per flag of ``bias``, and a chunk marked False goes without. The bias parameter
    keeps every output's entry (checkpoints keep their shapes); those never added start at zero.
    torchvision's Swin V2 ``qkv`` is one: ``bias=(True, False, True)``, the key's bias zeroed in
    ``forward`` as here."""

    def __init__(self, in_features: int, out_features: int, bias: tuple[bool, ...]) -> None:
        super().__init__(in_features, out_features)
        self.chunks = tuple(bias)
        with torch.no_grad():  # no random numbers drawn: nn.Linear drew them as it always does
            self.bias.copy_(self.used_bias())

    def used_bias(self) -> torch.Tensor:
        """The bias as ``forward`` adds it: the chunks marked False as zeros. Tensor operations
        only (no tensor made from Python data, no buffer to set after ``to_empty()``), so that
        ``torch.compile``, ``torch.export`` and ONNX trace it like torchvision's bias clone."""
        chunks = zip(self.bias.chunk(len(self.chunks)), self.chunks, strict=True)
        return torch.cat([chunk if added else torch.zeros_like(chunk) for chunk, added in chunks])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.used_bias())

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, chunks={self.chunks}"


class UnsharedBiasConv2d(nn.Conv2d):
    """A convolution with one bias per output position (``bias`` is [C, H, W]), as in LeCun et al.
    1989."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        out_size: tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias=False
        )
        self.bias = nn.Parameter(torch.zeros(out_channels, out_size[0], out_size[1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(x, self.weight, None, self.stride, self.padding, self.dilation, self.groups)
        assert self.bias is not None
        return y + self.bias


class ConnectionTableConv2d(nn.Module):
    """A convolution in which output channel ``j`` sees only the input channels ``table[j]``
    (LeNet-5's C3).

    Only the connected kernels exist: ``weight`` is [connections, kh, kw], the kernels of output
    channel 0 first, each in the order of its table row. The forward pass groups the output channels
    by how many inputs they see; per group it gathers the input channels (a registered index buffer)
    and runs one grouped convolution, so the work done is exactly the connected multiply-adds.
    ``bias`` is per channel ([C]), per position ([C, H, W], ``bias="unshared"``) or absent.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        table: tuple[tuple[int, ...], ...],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        bias: bool | str = True,
        out_size: tuple[int, int] = (0, 0),
    ) -> None:
        super().__init__()
        if len(table) != out_channels:
            raise ValueError(f"the table has {len(table)} rows for {out_channels} output channels")

        def pair(v: int | tuple[int, int]) -> tuple[int, int]:
            return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))

        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = pair(kernel_size), pair(stride)
        self.padding, self.dilation = pair(padding), pair(dilation)
        self.table = tuple(tuple(int(c) for c in row) for row in table)
        kh, kw = self.kernel_size
        connections = sum(len(row) for row in self.table)
        self.weight = nn.Parameter(torch.empty(connections, kh, kw))
        if bias == "unshared":
            self.bias: nn.Parameter | None = nn.Parameter(
                torch.zeros(out_channels, out_size[0], out_size[1])
            )
        elif bias:
            self.bias = nn.Parameter(torch.zeros(out_channels))
        else:
            self.bias = None
        self.groups: list[tuple[int, int]] = []
        self.reorder = False
        for name in ("input_index", "weight_index", "output_index"):
            self.register_buffer(name, torch.zeros(0, dtype=torch.long), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Fresh weights and the index buffers (``to_empty``, then ``reset_parameters``, works)."""
        self._fill_indices()
        kh, kw = self.kernel_size
        start = 0
        with torch.no_grad():
            for row in self.table:
                bound = 1.0 / (len(row) * kh * kw) ** 0.5
                self.weight[start : start + len(row)].uniform_(-bound, bound)
                start += len(row)
            if self.bias is not None:
                self.bias.zero_()

    def _fill_indices(self) -> None:
        # Output channels grouped by fan-in; per group: how many channels, how many inputs each.
        starts, offset = [], 0
        for row in self.table:
            starts.append(offset)
            offset += len(row)
        widths = sorted({len(row) for row in self.table})
        groups: list[tuple[int, int]] = []
        gather_inputs: list[int] = []
        gather_weights: list[int] = []
        order: list[int] = []
        for width in widths:
            members = [j for j, row in enumerate(self.table) if len(row) == width]
            groups.append((len(members), width))
            for j in members:
                gather_inputs.extend(self.table[j])
                gather_weights.extend(range(starts[j], starts[j] + width))
                order.append(j)
        self.groups = groups
        inverse = [0] * self.out_channels
        for position, j in enumerate(order):
            inverse[j] = position
        device = self.weight.device
        self.input_index = torch.tensor(gather_inputs, dtype=torch.long, device=device)
        self.weight_index = torch.tensor(gather_weights, dtype=torch.long, device=device)
        self.output_index = torch.tensor(inverse, dtype=torch.long, device=device)
        self.reorder = order != list(range(self.out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = self.kernel_size
        inputs = x.index_select(1, self.input_index)
        weights = self.weight.index_select(0, self.weight_index)
        outputs, start = [], 0
        for channels, width in self.groups:
            size = channels * width
            kernel = weights[start : start + size].reshape(channels, width, kh, kw)
            part = inputs[:, start : start + size]
            outputs.append(
                F.conv2d(part, kernel, None, self.stride, self.padding, self.dilation, channels)
            )
            start += size
        y = outputs[0] if len(outputs) == 1 else torch.cat(outputs, 1)
        if self.reorder:
            y = y.index_select(1, self.output_index)
        if self.bias is None:
            return y
        return y + (self.bias if self.bias.dim() == 3 else self.bias.view(-1, 1, 1))

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, connections={self.weight.shape[0]}"
        )


class Subsample(nn.Module):
    """LeNet-5's S-layers: the sum of each window times a trainable coefficient plus a bias, per
    map."""

    def __init__(
        self,
        channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = F.avg_pool2d(
            x, self.kernel_size, self.stride, self.padding, self.ceil_mode, True, 1
        )
        return total * self.weight.view(-1, 1, 1) + self.bias.view(-1, 1, 1)


class RBF(nn.Module):
    """LeNet-5's Euclidean RBF output: ``-||x - c_i||²`` for fixed centres ``c_i`` (a buffer, not
    trained).

    The centres are stylised 7x12 bitmaps of the digits (+1 ink, -1 paper) for 10 units over 84
    inputs, and a deterministic ±1 code otherwise. The distance is computed as ``|x|² - 2 x·cᵀ +
    |c|²`` so the matrix product is an ordinary matmul. The output is negated so that argmax and
    cross-entropy work.
    """

    # One string per digit 0-9 (written on two lines): twelve rows of seven pixels, top to bottom
    # ('#' = +1, '.' = -1).
    DIGITS = (
        (
            "....... ..###.. .#...#. #.....# #.....# #.....# "
            "#.....# #.....# #.....# .#...#. ..###.. ......."
        ),
        (
            "....... ...#... ..##... .#.#... ...#... ...#... "
            "...#... ...#... ...#... ...#... .#####. ......."
        ),
        (
            "....... ..###.. .#...#. #.....# ......# .....#. "
            "....#.. ...#... ..#.... .#..... ####### ......."
        ),
        (
            "....... ####### .....#. ....#.. ...#... ..###.. "
            ".....#. ......# ......# #....#. .####.. ......."
        ),
        (
            "....... .....#. ....##. ...#.#. ..#..#. .#...#. "
            "#....#. ####### .....#. .....#. .....#. ......."
        ),
        (
            "....... ####### #...... #...... #####.. .....#. "
            "......# ......# ......# #....#. .####.. ......."
        ),
        (
            "....... ..####. .#..... #...... #...... #.###.. "
            "##...#. #.....# #.....# .#...#. ..###.. ......."
        ),
        (
            "....... ####### ......# .....#. .....#. ....#.. "
            "....#.. ...#... ...#... ..#.... ..#.... ......."
        ),
        (
            "....... ..###.. .#...#. #.....# .#...#. ..###.. "
            ".#...#. #.....# #.....# .#...#. ..###.. ......."
        ),
        (
            "....... ..###.. .#...#. #.....# #.....# .#...## "
            "..###.# ......# ......# .....#. .####.. ......."
        ),
    )

    centres: torch.Tensor

    def __init__(self, in_features: int, units: int) -> None:
        super().__init__()
        self.in_features, self.units = in_features, units
        self.register_buffer("centres", torch.zeros(units, in_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The fixed centres (so ``to_empty`` then ``reset_parameters`` restores them)."""
        units, in_features = self.units, self.in_features
        if units == 10 and in_features == 84:
            pixels = [
                1.0 if c == "#" else -1.0 for digit in self.DIGITS for c in digit.replace(" ", "")
            ]
            centres = torch.tensor(pixels).reshape(10, 84)
        else:
            generator = torch.Generator(device="cpu").manual_seed(units * 1_000_003 + in_features)
            bits = torch.randint(0, 2, (units, in_features), generator=generator, device="cpu")
            centres = bits.to(torch.get_default_dtype()) * 2 - 1
        with torch.no_grad():
            self.centres.copy_(centres.to(self.centres.device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.centres.to(x.dtype)
        squared = x.pow(2).sum(1, keepdim=True) - 2 * (x @ c.t()) + c.pow(2).sum(1)
        return -squared

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, units={self.units}"


class PatchEmbed(nn.Conv2d):
    """ViT's patch projection: a convolution with kernel = stride = patch, flattened to tokens (N,
    HW, D)."""

    def __init__(self, in_channels: int, hidden_dim: int, patch_size: int) -> None:
        super().__init__(in_channels, hidden_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).flatten(2).transpose(1, 2)


class StochasticDepth(nn.Module):
    """Stochastic depth (Huang et al., 2016) as torchvision.ops.StochasticDepth: in training, each
    sample's residual branch ("row") or the whole batch's ("batch") is zeroed with probability p and
    the rest scaled by 1 / (1 - p); the identity at inference."""

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels of an NCHW map, as torchvision's LayerNorm2d (ConvNeXt): the
    same parameters as nn.LayerNorm, applied channels-last."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ShiftedWindowAttention(nn.Module):
    """Swin's window attention on a (B, H, W, C) map, as torchvision's ShiftedWindowAttention: the
    map is padded to window multiples, rolled by the shift, cut into windows; multi-head attention
    with a learned relative position bias runs in each window (with a shift, tokens that come from
    different regions of the map are masked apart), and everything is undone in reverse order."""

    relative_position_index: torch.Tensor

    def __init__(
        self,
        dim: int,
        window_size: int,
        shift_size: int,
        num_heads: int,
        qkv_bias: bool = True,
        proj_bias: bool = True,
        attention_dropout: float = 0.0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.window_size = window_size
        self.shift_size = shift_size
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        # Drawn here, after the projections, as torchvision does: the same seed gives the same
        # table.
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size - 1) ** 2, num_heads)
        )
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        # The table row of each pair of positions in a window: their offset (dy, dx), made >= 0.
        coords = torch.stack(
            torch.meshgrid(torch.arange(window_size), torch.arange(window_size), indexing="ij")
        ).flatten(1)
        relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window_size - 1)
        index = relative[:, :, 0] * (2 * window_size - 1) + relative[:, :, 1]
        self.register_buffer("relative_position_index", index.flatten())

    def region_mask(
        self, height: int, width: int, shift: tuple[int, int], x: torch.Tensor
    ) -> torch.Tensor:
        """-100 between tokens of one window from different regions of the rolled map, else 0."""
        w = self.window_size
        regions = x.new_zeros((height, width))
        count = 0
        for h in ((0, -w), (-w, -shift[0]), (-shift[0], None)):
            for v in ((0, -w), (-w, -shift[1]), (-shift[1], None)):
                regions[h[0] : h[1], v[0] : v[1]] = count
                count += 1
        regions = regions.view(height // w, w, width // w, w).permute(0, 2, 1, 3).reshape(-1, w * w)
        mask = regions.unsqueeze(1) - regions.unsqueeze(2)
        return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, height, width, channels = x.shape
        w, heads = self.window_size, self.num_heads
        x = F.pad(x, (0, 0, 0, (w - width % w) % w, 0, (w - height % w) % w))
        _, pad_h, pad_w, _ = x.shape
        shift = (0 if w >= pad_h else self.shift_size, 0 if w >= pad_w else self.shift_size)
        shifted = sum(shift) > 0
        if shifted:
            x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
        windows = (pad_h // w) * (pad_w // w)
        x = x.view(batch, pad_h // w, w, pad_w // w, w, channels)
        x = x.permute(0, 1, 3, 2, 4, 5).reshape(batch * windows, w * w, channels)
        qkv = F.linear(x, self.qkv.weight, self.qkv.bias)
        qkv = qkv.reshape(x.size(0), x.size(1), 3, heads, channels // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * (channels // heads) ** -0.5
        attn = q.matmul(k.transpose(-2, -1))
        bias = self.relative_position_bias_table[self.relative_position_index]
        attn = attn + bias.view(w * w, w * w, -1).permute(2, 0, 1).contiguous().unsqueeze(0)
        if shifted:
            mask = self.region_mask(pad_h, pad_w, shift, x)
            attn = attn.view(batch, windows, heads, w * w, w * w) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, heads, w * w, w * w)
        attn = F.softmax(attn, dim=-1)
        attn = F.dropout(attn, p=self.attention_dropout, training=self.training)
        x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), channels)
        x = F.linear(x, self.proj.weight, self.proj.bias)
        x = F.dropout(x, p=self.dropout, training=self.training)
        x = x.view(batch, pad_h // w, pad_w // w, w, w, channels)
        x = x.permute(0, 1, 3, 2, 4, 5).reshape(batch, pad_h, pad_w, channels)
        if shifted:
            x = torch.roll(x, shifts=shift, dims=(1, 2))
        return x[:, :height, :width, :].contiguous()

    def extra_repr(self) -> str:
        window, shift, heads = self.window_size, self.shift_size, self.num_heads
        return f"window_size={window}, shift_size={shift}, num_heads={heads}"


class PatchMerging(nn.Module):
    """Swin's downsampling, as torchvision's PatchMerging: each 2x2 neighbourhood of a (B, H, W, C)
    map (an odd side zero-padded) concatenated to 4C channels, layer-normalised, projected to 2C."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-3], x.shape[-2]
        x = F.pad(x, (0, 0, 0, width % 2, 0, height % 2))
        x = torch.cat(
            [
                x[..., 0::2, 0::2, :],
                x[..., 1::2, 0::2, :],
                x[..., 0::2, 1::2, :],
                x[..., 1::2, 1::2, :],
            ],
            -1,
        )
        out: torch.Tensor = self.reduction(self.norm(x))
        return out


def refill_buffer(
    name: str,
    data: object,
    dtype: torch.dtype,
    shape: tuple[int, ...],
    module: nn.Module,
    _: object,
) -> None:
    """A ``load_state_dict`` post-hook (``functools.partial`` over the first four): set the
    computed buffer ``name`` of ``module`` again, as it is not in the state dict."""
    with torch.no_grad():
        value = torch.tensor(data, dtype=dtype, device="cpu").reshape(shape)
        getattr(module, name).copy_(value)  # where the module now is: its device and dtype


def computed_buffer(
    module: nn.Module, name: str, data: object, dtype: torch.dtype, shape: tuple[int, ...]
) -> None:
    """Register ``data`` as the buffer ``name``, kept out of the state dict (``persistent=False``)
    and set again after every ``load_state_dict``: a module built on the meta device and moved with
    ``to_empty()`` holds garbage there until a checkpoint is loaded (torchvision computes such
    constants, Swin V2's shift mask, in ``forward``; this computes them once)."""
    module.register_buffer(name, torch.tensor(data, dtype=dtype).reshape(shape), persistent=False)
    hook = functools.partial(refill_buffer, name, data, dtype, shape)
    module.register_load_state_dict_post_hook(hook)  # type: ignore[no-untyped-call]
