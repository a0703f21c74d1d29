"""The static analysis against the compiled module, for the zoo and for random (Hypothesis) specs.

- Shapes: every node's inferred shape equals the shape a real forward pass produces.
- Parameters: ``analysis.params`` equals ``sum(p.numel())``; buffers equal the buffers held (``buffers()``).
- MACs: ``FlopCounterMode`` / 2. The zoo runs on the meta device (no memory, a fraction of a second per
  network) with the MHA fast path off and SDPA's math backend, which torch counts as two batched
  matmuls; on CPU the fused attention kernel is counted as 0, so there the total falls short by exactly
  the attention matmuls (QKᵀ and A·V), which an explicit reference attention checks separately.
- Receptive field: the extent of the input gradient of one output position (all channels summed: the
  analysis takes the largest field over merged branches) in a copy of the module made monotone:
  max pools become average pools of the same geometry, weights ``1 / fan_in``, biases 0, batch norm the
  identity, an all-ones input, float64. The position is chosen so that its field lies inside the input
  (the input is enlarged to make room), and two neighbouring positions pin down size, stride and padding:
  the gradient window of unit ``i`` must be exactly rows ``i·j - P … i·j - P + r - 1``.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import assert_same_outputs, persistent_buffers, randomise
from shared_specs import ORDERED, ORDERED_SWAPPED
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import archspec
from archspec.analysis import Analysis, ReceptiveField
from archspec.backends.torch_build import Block, forward_shapes, node_modules
from archspec.catalog import catalog
from archspec.ir import Graph
from archspec.ops.vit import MultiheadAttention

ZOO = [variant for entry in catalog() for variant in entry.variants]
# tools/mutate.sh runs these tests once per mutant: fewer (derandomised) examples there.
EXAMPLES = 8 if os.environ.get("ARCHSPEC_HYPOTHESIS_PROFILE") == "mutate" else 25
SLOW = {"vit_l_16", "vit_l_32", "vgg19", "vgg19_bn", "resnet101", "resnet152", "swin_t"}


# ---------------------------------------------------------------- counting


@contextmanager
def counting(math_attention: bool = True) -> Iterator[FlopCounterMode]:
    """FlopCounterMode with the MHA fast path off (its fused kernel hides the projections from the
    counter) and, unless asked otherwise, SDPA's math backend (counted as two bmm)."""
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    counter = FlopCounterMode(display=False)
    try:
        if math_attention:
            with sdpa_kernel(SDPBackend.MATH), counter:
                yield counter
        else:
            with counter:
                yield counter
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def attention_matmul_macs(graph: Graph) -> int:
    """The MACs of QKᵀ and A·V over every attention node."""
    return sum(
        node.op.matmul_macs(graph.nodes[node.inputs[0]].shape[0])
        for node in graph.nodes
        if isinstance(node.op, MultiheadAttention)
    )


def reported_by_sdpa(counter: FlopCounterMode) -> int:
    """FLOPs the counter attributes to a fused SDPA kernel itself (0 while torch has no formula for it)."""
    counts = counter.get_flop_counts().get("Global", {})
    return sum(flops for op, flops in counts.items() if "scaled_dot_product" in str(op))


def assert_counts_match(
    network: archspec.Network, analysis: Analysis, device: str, module: nn.Module | None = None
) -> None:
    """Shapes, parameters, buffers and MACs of one forward pass at batch 1 against the analysis (of
    ``module``, the network built on ``device``, or a fresh build)."""
    graph = network.graph
    module = (module if module is not None else network.build(device=device)).eval()
    x = torch.randn(1, *graph.input_shape, device=device)
    with counting() as counter:
        shapes = forward_shapes(module, graph, x)
    assert shapes == {node.id: node.shape for node in graph.nodes}
    assert sum(p.numel() for p in module.parameters()) == analysis.params
    assert sum(p.numel() for p in module.parameters() if p.requires_grad) == analysis.trainable_params
    # every buffer held, non-persistent ones too (Swin V2's shift regions), as `buffers()` counts them
    assert persistent_buffers(module) == analysis.buffers
    assert counter.get_total_flops() == 2 * analysis.macs


@pytest.mark.parametrize(
    "variant", [pytest.param(v, marks=pytest.mark.slow) if v in SLOW else v for v in ZOO]
)
def test_zoo_shapes_params_and_macs_match_the_module(variant: str) -> None:
    network = archspec.load(variant)
    assert_counts_match(network, network.analyze(), "meta")


@pytest.mark.parametrize("variant", ["vit_b_32", pytest.param("vit_b_16", marks=pytest.mark.slow)])
def test_fused_cpu_attention_hides_exactly_the_attention_matmuls(variant: str) -> None:
    network = archspec.load(variant)
    module = network.build().eval()
    with torch.no_grad(), counting(math_attention=False) as counter:
        module(torch.randn(1, *network.graph.input_shape))
    missing = attention_matmul_macs(network.graph)
    assert missing > 0
    sdpa = reported_by_sdpa(counter)
    assert sdpa in (0, 2 * missing)  # 0 today; the full amount should torch learn to count the kernel
    assert counter.get_total_flops() // 2 == network.analyze().macs - missing + sdpa // 2


def reference_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(QKᵀ / √d)·V written out with explicit matmuls."""
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    return scores.softmax(-1) @ v


@pytest.mark.parametrize("variant", ["vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32"])
def test_attention_matmul_macs_match_an_explicit_reference(variant: str) -> None:
    graph = archspec.load(variant).graph
    attention = [node for node in graph.nodes if isinstance(node.op, MultiheadAttention)]
    assert attention
    for node in attention[:1] + attention[-1:]:
        op = node.op
        assert isinstance(op, MultiheadAttention)
        tokens = graph.nodes[node.inputs[0]].shape[0]
        q, k, v = (torch.randn(1, op.num_heads, tokens, op.embed_dim // op.num_heads) for _ in range(3))
        with counting() as counter:
            out = reference_attention(q, k, v)
        assert counter.get_total_flops() == 2 * op.matmul_macs(tokens)
        assert_same_outputs(out, F.scaled_dot_product_attention(q, k, v), rtol=1e-5)


# ---------------------------------------------------------------- receptive field


class _Captured(Exception):
    """Raised once the wanted value exists: the rest of the forward pass is not needed."""


def capture(module: nn.Module, graph: Graph, x: torch.Tensor, node_id: int) -> torch.Tensor:
    """The output of one node, running the module only as far as that node."""
    if node_id == graph.nodes[0].id and not graph.nodes[0].inputs:
        return x
    found: list[torch.Tensor] = []

    def record(value: Any) -> Any:
        found.append(value[0] if isinstance(value, tuple) else value)
        raise _Captured

    def wrapped(function: Callable[..., Any]) -> Callable[..., Any]:
        return lambda *args: record(function(*args))

    handles = []
    modules = node_modules(module, graph)
    if node_id in modules:
        handles.append(modules[node_id].register_forward_hook(lambda _m, _i, out: record(out)))
    saved = []
    for block in module.modules():
        if isinstance(block, Block) and node_id in block.archspec_values:
            saved.append((block, block.archspec_steps))
            block.archspec_steps = [
                (wrapped(function) if value == node_id else function, sources, target)
                for (function, sources, target), value in zip(
                    block.archspec_steps, block.archspec_values, strict=True
                )
            ]
    try:
        module(x)
    except _Captured:
        pass
    finally:
        for handle in handles:
            handle.remove()
        for block, steps in saved:
            block.archspec_steps = steps
    assert found, f"node {graph.nodes[node_id].name} did not run"
    return found[0]


def average_pool_like(pool: nn.MaxPool2d) -> Callable[[torch.Tensor], torch.Tensor]:
    """An average pool with the max pool's kernel, stride, padding, dilation and ceil mode."""
    kernel, stride, padding, dilation = (
        (v, v) if isinstance(v, int) else tuple(v)
        for v in (pool.kernel_size, pool.stride, pool.padding, pool.dilation)
    )
    if dilation == (1, 1):
        return lambda x: F.avg_pool2d(x, kernel, stride, padding, pool.ceil_mode)

    def dilated(x: torch.Tensor) -> torch.Tensor:
        # avg_pool2d has no dilation: a depthwise conv of 1/k² weights, padded on the far side as ceil
        # mode needs so that the output size is the max pool's (asked of the max pool itself, on meta)
        meta = torch.empty(x.shape, device="meta")
        out = F.max_pool2d(meta, kernel, stride, padding, dilation, ceil_mode=pool.ceil_mode).shape[2:]
        pads = []
        for axis in (1, 0):  # F.pad takes the last dimension first
            size = x.shape[2 + axis]
            needed = (out[axis] - 1) * stride[axis] + dilation[axis] * (kernel[axis] - 1) + 1
            pads += [padding[axis], padding[axis] + max(0, needed - size - 2 * padding[axis])]
        channels = x.shape[1]
        weight = x.new_full((channels, 1, *kernel), 1.0 / (kernel[0] * kernel[1]))
        return F.conv2d(F.pad(x, pads), weight, None, stride, 0, dilation, channels)

    return dilated


def make_monotone(module: nn.Module) -> None:
    """Average pools for max pools, positive weights (1/fan_in), zero biases, identity batch norm."""
    for layer in module.modules():
        if isinstance(layer, nn.MaxPool2d):
            layer.forward = average_pool_like(layer)  # type: ignore[method-assign]
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            parameter.requires_grad_(False)
            if name.rpartition(".")[2] == "bias":
                parameter.zero_()
            elif parameter.dim() >= 2:
                parameter.fill_(1.0 / parameter[0].numel())
            else:
                parameter.fill_(1.0)
        for name, buffer in module.named_buffers():
            if name.endswith("running_mean"):
                buffer.zero_()
            elif name.endswith("running_var"):
                buffer.fill_(1.0)


def gradient_window(out: torch.Tensor, x: torch.Tensor, i: int) -> tuple[list[int], list[int]]:
    """Rows and columns of the input where output position (i, i), all channels, has a gradient."""
    (grad,) = torch.autograd.grad(out[0, :, i, i].sum(), x, retain_graph=True)
    nonzero = grad[0].abs().sum(0) != 0
    rows = nonzero.any(1).nonzero().flatten().tolist()
    cols = nonzero.any(0).nonzero().flatten().tolist()
    return rows, cols


def detach_global_pooling(module: nn.Module, graph: Graph) -> None:
    """Global pooling's output as a constant: no gradient reaches the input through a gate's squeeze
    (the spatial path's field, ``analysis.spatial_fields``)."""
    modules = node_modules(module, graph)
    for node in graph.nodes:
        if node.op.kind == "global_avgpool":
            assert node.id in modules, node.name
            pool = modules[node.id]
            pool.register_forward_hook(lambda _m, _i, out: out.detach())


def assert_field_is_gradient_extent(
    load: Callable[..., archspec.Network], node: str, spatial: bool = False
) -> ReceptiveField:
    """Enlarge the input until two neighbouring units of ``node`` see only real pixels, then compare
    their gradient windows with the analysis. Returns the field. ``load(input_shape=...)``. With
    ``spatial``, the spatial path's field, against the gradient with global pooling's output detached."""
    network = load()
    channels = network.graph.input_shape[0]
    field = _field(network.analyze(), network.graph, node, spatial)
    first = [math.ceil(p / j) for p, j in zip(field.padding, field.stride, strict=True)]
    i = max(first)  # the same index on both axes; the window of unit i starts at i·j - P >= 0
    height = max((i + 1) * j - p + r for r, j, p in zip(field.size, field.stride, field.padding, strict=True))
    height = max(height, *network.graph.input_shape[1:])  # layers further on need at least this much
    for _ in range(64):
        network = load(input_shape=(channels, height, height))
        analysis = network.analyze()
        target = _target(network.graph, node)
        if min(network.graph.nodes[target].shape[1:]) > i + 1:
            break
        height += max(field.stride)
    else:  # pragma: no cover - the output grows with the input
        raise AssertionError(f"no input size gives {node} {i + 2} outputs")
    # the field does not depend on the input size
    assert _field(analysis, network.graph, node, spatial) == field
    module = network.build(dtype=torch.float64).eval()
    make_monotone(module)
    if spatial:
        detach_global_pooling(module, network.graph)
    x = torch.ones(1, channels, height, height, dtype=torch.float64, requires_grad=True)
    out = capture(module, network.graph, x, target)
    for unit in (i, i + 1):
        rows, cols = gradient_window(out, x, unit)
        for axis, seen in enumerate((rows, cols)):
            r, j, p = field.size[axis], field.stride[axis], field.padding[axis]
            start = unit * j - p
            # the extent: first and last row with a gradient (a dilated kernel leaves holes between)
            assert (seen[0], seen[-1]) == (start, start + r - 1), (node, unit, axis, field)
            assert (seen[0] + seen[-1]) / 2 == unit * j + field.centre[axis]
    return field


def _target(graph: Graph, node: str) -> int:
    """The node id whose output is the named row's output (a layer, or a container's last node)."""
    exact = [n for n in graph.nodes if n.name == node]
    inside = [n for n in graph.nodes if n.name.startswith(node + ".")]
    assert exact or inside, node
    return exact[0].id if exact else inside[-1].id


def _field(analysis: Analysis, graph: Graph, node: str, spatial: bool = False) -> ReceptiveField:
    field = (analysis.spatial_fields if spatial else analysis.fields)[_target(graph, node)]
    if field is None:
        return ReceptiveField((1, 1), (1, 1), (0, 0))
    assert isinstance(field, ReceptiveField), field
    return field


def figure(size: int, stride: int, padding: int) -> ReceptiveField:
    return ReceptiveField((size, size), (stride, stride), (padding, padding))


# float64 depthwise convolutions take torch's slow path, one call per group: the fast set checks
# mobilenet_v1 at a quarter of the width, which has the same geometry (and so the same field).
@pytest.mark.parametrize(
    ("variant", "options", "node", "expected"),
    [
        ("resnet50", {}, "layer1", figure(35, 4, 17)),  # figures.md
        ("resnet50", {}, "layer2", figure(91, 8, 45)),
        ("resnet50", {}, "layer3", figure(267, 16, 133)),
        ("resnet50", {}, "layer4", figure(427, 32, 213)),
        ("vgg16", {}, "features", figure(212, 32, 90)),
        ("alexnet", {}, "features", figure(195, 32, 66)),
        ("mobilenet_v1", {"alpha": 0.25}, "features", figure(315, 32, 157)),
        pytest.param("mobilenet_v1", {}, "features", figure(315, 32, 157), marks=pytest.mark.slow),
        ("lenet5", {}, "C5", figure(32, 4, 0)),
        ("lecun1989", {}, "H2", figure(13, 4, 6)),
        # not in figures.md: the analysis figure, checked by the gradient alone (concat, ceil-mode pools)
        ("googlenet", {}, "inception5b", figure(379, 32, 167)),
    ],
)
def test_zoo_receptive_field_is_the_input_gradient_extent(
    variant: str, options: dict[str, Any], node: str, expected: ReceptiveField
) -> None:
    field = assert_field_is_gradient_extent(lambda **kw: archspec.load(variant, **options, **kw), node)
    assert field == expected


def test_dilated_max_pooling_field_is_the_input_gradient_extent() -> None:
    """A dilated pool's window spans dilation x (kernel - 1) + 1 pixels each way (5 and 4 here)."""
    text = (
        "network dilated:\n  input: 1x12x12\n  layers:\n    c: conv(2, 3)\n"
        "    p: maxpool([3, 2], stride=[2, 1], pad=[1, 1], dilation=[2, 3])\n"
    )
    field = assert_field_is_gradient_extent(lambda **kw: archspec.load("d.arch", text=text, **kw), "p")
    assert field.size == (3 + (3 - 1) * 2, 3 + (2 - 1) * 3)


MERGED = """
network merged:
  input: INPUT
  layers:
    stem: conv(3, 3, pad=1)
    both:
      MERGE:
        a: A
        b: B
"""


@pytest.mark.parametrize(
    ("merge", "a", "b", "size"),
    [
        # after the 3x3 stem: a 1x5 and a 5x1 branch see 3x7 and 7x3, their concat (by gradient) 7x7
        ("concat", "conv(2, [1, 5], pad=[0, 2])", "conv(2, [5, 1], pad=[2, 0])", (7, 7)),
        ("add", "conv(3, [1, 7], pad=[0, 3])", "conv(3, 5, pad=2)", (7, 9)),
        ("mul", "conv(3, [3, 1], pad=[2, 0], dilation=2)", "conv(3, [1, 5], pad=[0, 2])", (7, 7)),
        # misaligned centres (a warning): one branch reaches a pixel further up and left, the other
        # further down and right; the union (5) is wider than either branch (4)
        ("add", "conv(3, 2, stride=3, pad=1)", "conv(3, 2, stride=3)", (5, 5)),
    ],
)
def test_a_merge_sees_the_union_of_its_branches_per_axis(merge: str, a: str, b: str, size: Any) -> None:
    shape = "2x14x14" if "stride=3" in a else "2x13x11"  # 14 + 3n: both stride-3 branches give one size
    text = MERGED.replace("INPUT", shape).replace("MERGE", merge)
    text = text.replace(": A", f": {a}").replace(": B", f": {b}")
    field = assert_field_is_gradient_extent(lambda **kw: archspec.load("m.arch", text=text, **kw), "both")
    assert field.size == size  # the gradient's extent (the helper) equals the expected union


def test_the_spatial_field_is_the_gradient_with_gates_removed_in_either_line_order() -> None:
    for text in (ORDERED, ORDERED_SWAPPED):
        network = archspec.load("o.arch", text=text)
        assert network.analyze().receptive_field == "global"
        field = assert_field_is_gradient_extent(
            lambda text=text, **kw: archspec.load("o.arch", text=text, **kw), "sum", spatial=True
        )
        assert field == figure(7, 4, 3)
        assert network.analyze().spatial_receptive_field == field


def test_mobilenet_v3_large_spatial_field_is_figures_md() -> None:
    analysis = archspec.load("mobilenet_v3_large").analyze()
    assert analysis.receptive_field == "global"  # SE gates from features.4 on
    assert analysis.spatial_receptive_field == figure(595, 32, 297)  # figures.md: 595 (SE gates removed)
    assert analysis.row("features").spatial_receptive_field == analysis.spatial_receptive_field


@pytest.mark.slow
def test_mobilenet_v3_large_spatial_field_is_the_gradient_extent() -> None:
    def load(**kw: Any) -> archspec.Network:
        return archspec.load("mobilenet_v3_large", width_mult=0.25, **kw)

    field = assert_field_is_gradient_extent(load, "features", spatial=True)
    assert field == figure(595, 32, 297)


# ---------------------------------------------------------------- random specs


def torch_size(kind: str, size: tuple[int, int], **geometry: Any) -> tuple[int, int] | None:
    """The (H, W) torch gives for one conv or pool on an HxW map, asked of torch on the meta device;
    None when torch refuses or the map vanishes. The oracle for the generator's bookkeeping."""
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


def spec_pair(value: tuple[int, int]) -> str:
    return f"[{value[0]}, {value[1]}]"


@st.composite
def specs(draw: Any, every_op: bool = False) -> str:
    """A small valid spec on a non-square input: convs with non-square kernels, strides, padding and
    dilation, groups, with and without bias; max/avg pools likewise, with ceil mode; batch norm with and
    without affine; residuals (some ending in stochastic depth); concats of aligned branches
    (inception-like); a block; activations, elementwise gates (`mul:` branches) and squeeze-and-excitation
    (a Cx1x1 gate broadcast by `mul from input, gate`). The last feature map is the input of ``gap``.
    With ``every_op`` also the ops whose receptive field the gradient check does not cover (layer norm
    over the width, LRN, padding, subsampling, adaptive pooling, the other activations, channels-last
    runs, chunk and channel shuffle) and a head of linear layers with and without bias and 1-d batch
    norm."""
    size = (draw(st.integers(10, 24)), draw(st.integers(10, 24)))
    channels = draw(st.integers(1, 3))
    lines = ["block Unit(width):", "  conv1: conv(width, 3, pad=1) >> bn: batchnorm >> relu", ""]
    lines += [
        "block SE(squeeze):",
        "  avgpool: global_avgpool",
        "  fc1: conv(squeeze, 1) >> relu",
        "  fc2: conv(in_channels, 1) >> hardsigmoid",
        "  mul from input, fc2",
        "",
    ]
    input_line = f"  input: {channels}x{size[0]}x{size[1]}"
    lines += ["network random:", '  title: "random"', input_line, "  layers:"]
    width = channels
    kinds = ["conv", "conv", "bn", "relu", "pool", "pool", "residual", "concat", "block", "act", "gate", "se"]
    if every_op:
        kinds += ["layernorm", "lrn", "pad", "subsample", "adaptive", "pointwise", "cl", "shuffle"]
    pairs = st.tuples
    for index in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(kinds))
        label = f"l{index}: " if draw(st.booleans()) else ""
        if kind == "conv":
            kernel = draw(pairs(st.sampled_from([1, 2, 3, 5]), st.sampled_from([1, 2, 3, 5])))
            dilation = tuple(draw(st.sampled_from([1, 2])) if k > 1 else 1 for k in kernel)
            stride = draw(pairs(st.sampled_from([1, 1, 2, 3]), st.sampled_from([1, 1, 2, 3])))
            padding = tuple(
                draw(st.integers(0, d * (k - 1) // 2)) for k, d in zip(kernel, dilation, strict=True)
            )
            out = torch_size("conv", size, kernel=kernel, stride=stride, padding=padding, dilation=dilation)
            if out is None:
                continue
            groups = width if draw(st.booleans()) and width > 1 else 1
            new_width = width if groups > 1 else draw(st.integers(1, 6))
            bias = draw(st.booleans())
            lines.append(
                f"    {label}conv({new_width}, {spec_pair(kernel)}, stride={spec_pair(stride)}, "
                f"pad={spec_pair(padding)}, dilation={spec_pair(dilation)}, groups={groups}, "
                f"bias={str(bias).lower()})"
            )
            size, width = out, new_width
        elif kind == "bn":
            lines.append(f"    {label}batchnorm(affine={str(draw(st.booleans())).lower()})")
        elif kind == "relu":
            lines.append(f"    {label}relu")
        elif kind == "pool":
            pool = draw(st.sampled_from(["maxpool", "avgpool"]))
            kernel = draw(pairs(st.sampled_from([1, 2, 3]), st.sampled_from([2, 3])))
            stride = draw(pairs(st.sampled_from([1, 2, 3]), st.sampled_from([1, 2, 3])))
            padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
            dilation = (
                draw(pairs(st.sampled_from([1, 2]), st.sampled_from([1, 2]))) if pool == "maxpool" else None
            )
            ceil = draw(st.booleans())
            geometry: dict[str, Any] = {"kernel_size": kernel, "stride": stride, "padding": padding}
            if dilation is not None:
                geometry["dilation"] = dilation
            out = torch_size(pool, size, ceil_mode=ceil, **geometry)
            if out is None:
                continue
            extra = f", dilation={spec_pair(dilation)}" if dilation is not None else ""
            lines.append(
                f"    {label}{pool}({spec_pair(kernel)}, stride={spec_pair(stride)}, "
                f"padding={spec_pair(padding)}{extra}, ceil_mode={str(ceil).lower()})"
            )
            size = out
        elif kind == "residual":
            kernel, dilation = draw(st.sampled_from([((3, 3), (1, 1)), ((3, 1), (2, 1)), ((5, 3), (1, 2))]))
            pad = tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation, strict=True))
            lines += [
                "    residual:",
                f"      conv({width}, {spec_pair(kernel)}, pad={spec_pair(pad)}, "
                f"dilation={spec_pair(dilation)}) >> relu",
            ]
            if draw(st.booleans()):
                lines.append(f"      conv({width}, 1, bias=false)")
            if draw(st.booleans()):  # identity at inference: no parameters, no MACs
                lines.append(f"      stochastic_depth({draw(st.sampled_from([0.0, 0.1, 0.5]))})")
        elif kind == "concat":
            a, b = draw(st.integers(1, 3)), draw(st.integers(1, 3))
            lines += ["    concat:", f"      conv({a}, 1)", f"      conv({b}, [3, 1], pad=[1, 0]) >> relu"]
            width = a + b
            if draw(st.booleans()):
                c = draw(st.integers(1, 3))
                lines.append(f"      conv({c}, 3, pad=2, dilation=2) >> relu")
                width += c
            if draw(st.booleans()):  # the inception pool branch: a stride-1 max pool, then a 1x1
                d = draw(st.integers(1, 3))
                lines.append(f"      maxpool(3, stride=1, padding=1, ceil_mode=true) >> conv({d}, 1)")
                width += d
        elif kind == "block":
            width = draw(st.integers(1, 5))
            lines.append(f"    u{index}: Unit({width})")
        elif kind == "layernorm":  # over the last dimension: the width of the map
            lines.append(f"    {label}layernorm(dim=-1, affine={str(draw(st.booleans())).lower()})")
        elif kind == "lrn":
            lines.append(f"    {label}lrn({draw(st.integers(1, 5))})")
        elif kind == "pad":
            amount = draw(st.integers(0, 2))
            lines.append(f"    {label}pad({amount}, value={draw(st.sampled_from(['0.0', '-1.0']))})")
            size = (size[0] + 2 * amount, size[1] + 2 * amount)
        elif kind == "subsample" and min(size) >= 2:
            lines.append(f"    {label}subsample(2)")
            size = (size[0] // 2, size[1] // 2)  # kernel = stride = 2: floor(n / 2)
        elif kind == "adaptive":
            out = (draw(st.integers(1, size[0])), draw(st.integers(1, size[1])))
            lines.append(f"    {label}adaptive_avgpool({spec_pair(out)})")
            size = out
        elif kind == "pointwise":
            op = draw(st.sampled_from(["relu6", "tanh", "sigmoid", "gelu", 'gelu(approximate="tanh")',
                                       "scaled_tanh", "identity", "dropout(0.3)"]))  # fmt: skip
            lines.append(f"    {label}{op}")
        elif kind == "act":
            activation = draw(
                st.sampled_from(["silu", "hardswish", "hardsigmoid", "gelu", "sigmoid", "relu6"])
            )
            lines.append(f"    {label}{activation}")
        elif kind == "gate":  # a gated unit: both branches keep the shape
            gate = draw(st.sampled_from(["sigmoid", "hardsigmoid"]))
            lines += ["    mul:", f"      conv({width}, 1) >> {gate}", "      silu"]
        elif kind == "cl":  # channels-last: a per-pixel linear and norms, then back; a per-channel scale
            new_width = draw(st.integers(1, 6))
            lines.append(
                f"    {label}permute([1, 2, 0]) >> layernorm(dim=-1) >> linear({new_width}, dim=-1) "
                ">> permute([2, 0, 1]) >> layernorm(dim=0) >> layer_scale(0.5, dim=0)"
            )
            width = new_width
        elif kind == "shuffle" and width >= 2:  # torch.chunk's parts: ceil(w / 2), then the rest
            k = draw(st.integers(1, 3))
            lines += ["    concat:", "      chunk(2, 1)", f"      chunk(2, 0) >> conv({k}, 1)"]
            width = width - (width + 1) // 2 + k
            if width % 2 == 0:
                lines.append("    channel_shuffle(2)")
        elif kind == "se":
            lines.append(f"    se{index}: SE({draw(st.integers(1, 4))})")
    lines += ["    gap: global_avgpool", "    flatten"]
    if every_op:
        hidden = draw(st.integers(1, 8))
        lines.append(f"    linear({hidden}, bias={str(draw(st.booleans())).lower()})")
        lines.append(f"    batchnorm(affine={str(draw(st.booleans())).lower()}) >> relu")
    lines += ["    fc: linear(3)", ""]
    return "\n".join(lines)


@settings(max_examples=EXAMPLES, deadline=None)
@given(text=specs())
def test_random_specs_analysis_matches_the_module(text: str) -> None:
    network = archspec.load("random.arch", text=text)
    analysis = network.analyze()
    assert analysis.warnings == ()  # every merge in these specs is aligned
    assert_counts_match(network, analysis, "cpu")
    gap = network.graph.node("gap")
    if analysis.fields[gap.inputs[0]] == "global":  # an SE gate sees the whole input: nothing to pin down
        return
    last = network.graph.nodes[gap.inputs[0]].name
    assert_field_is_gradient_extent(lambda **kw: archspec.load("random.arch", text=text, **kw), last)


# ---------------------------------------------------------------- the post-2017 ops against torch


GATED = """
block SE(squeeze):
  avgpool: global_avgpool
  fc1: conv(squeeze, 1)
  activation: silu
  fc2: conv(in_channels, 1)
  scale_activation: sigmoid
  mul from input, scale_activation

network gated:
  input: 8x9x9
  layers:
    stem: conv(8, 3, pad=1)
    act: hardswish
    se: SE(2)
    gated:
      mul:
        g: conv(8, 1) >> hardsigmoid
        silu
    bias: global_avgpool
    out: add from gated, bias
"""


def test_activations_and_broadcast_merges_equal_torch() -> None:
    """silu, hardswish, hardsigmoid, mul/add with a Cx1x1 operand, against torch.nn.functional."""
    network = archspec.load("gated.arch", text=GATED)
    module = randomise(network.build()).eval()
    x = torch.randn(2, 8, 9, 9)
    p = dict(module.named_parameters())
    stem = F.hardswish(F.conv2d(x, p["stem.weight"], p["stem.bias"], padding=1))
    gate = F.adaptive_avg_pool2d(stem, 1)
    gate = F.silu(F.conv2d(gate, p["se.fc1.weight"], p["se.fc1.bias"]))
    gate = torch.sigmoid(F.conv2d(gate, p["se.fc2.weight"], p["se.fc2.bias"]))
    se = stem * gate
    product = F.hardsigmoid(F.conv2d(se, p["gated.g.weight"], p["gated.g.bias"])) * F.silu(se)
    expected = product + F.adaptive_avg_pool2d(product, 1)
    with torch.no_grad():
        assert_same_outputs(module(x), expected, rtol=1e-5)
    assert_counts_match(network, network.analyze(), "cpu")


CONVNEXT_BLOCK = """
block CNBlock(dim, scale, drop):
  block:
    conv(dim, 7, pad=3, groups=dim)
    permute([1, 2, 0])                     # channels-last
    layernorm(dim=-1, eps=1e-6)
    linear(4 * dim, dim=-1)                # per pixel
    gelu
    linear(dim, dim=-1)
    permute([2, 0, 1])
  layer_scale: layer_scale(scale, dim=0)
  stochastic_depth: stochastic_depth(drop)
  add from input, stochastic_depth

network convnext_block:
  input: 16x7x7
  layers:
    norm: layernorm(dim=0, eps=1e-6)       # torchvision's LayerNorm2d
    cn: CNBlock(16, 0.5, 0.1)
"""


def test_channels_last_ops_equal_torchvision_convnext() -> None:
    """permute, a per-pixel linear, layer norm over a map's channels and layer_scale against torchvision's
    own ConvNeXt pieces: same state_dict, same outputs, and the analysis against the module."""
    convnext = pytest.importorskip("torchvision.models.convnext")
    network = archspec.load("convnext_block.arch", text=CONVNEXT_BLOCK)
    theirs = nn.Sequential()
    theirs.add_module("norm", convnext.LayerNorm2d(16, eps=1e-6))
    theirs.add_module("cn", convnext.CNBlock(16, 0.5, 0.1))
    randomise(theirs)
    with torch.no_grad():
        theirs.cn.layer_scale.uniform_(0.5, 1.5)  # 1-d per channel, but held as 16x1x1
    ours = network.build()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 16, 7, 7)
    with torch.no_grad():
        assert_same_outputs(ours.eval()(x), theirs.eval()(x), rtol=1e-5)
    assert tuple(ours.get_parameter("cn.layer_scale").shape) == (16, 1, 1)
    assert_counts_match(network, network.analyze(), "cpu")


CONVNEXT_TINY = """
block CNBlock(dim, drop):
  block:
    conv(dim, 7, pad=3, groups=dim)
    permute([1, 2, 0])
    layernorm(dim=-1, eps=1e-6)
    linear(4 * dim, dim=-1)
    gelu
    linear(dim, dim=-1)
    permute([2, 0, 1])
  layer_scale: layer_scale(1e-6, dim=0)
  stochastic_depth: stochastic_depth(drop)
  add from input, stochastic_depth

network convnext_tiny:
  init:
    conv: trunc_normal(std=0.02), bias=zeros
    linear: trunc_normal(std=0.02), bias=zeros
  input: 3x224x224
  params:
    depths = [3, 3, 9, 3]
    dims = [96, 192, 384, 768]
  layers:
    features:
      "0": (conv(dims[0], 4, stride=4) >> layernorm(dim=0, eps=1e-6))
      for s in range(4):
        "{2 * s + 1}":
          for j in range(depths[s]):
            CNBlock(dims[s], 0.1 * (sum([depths[i] for i in range(s)]) + j) / (sum(depths) - 1))
        if s < 3:
          "{2 * s + 2}": (layernorm(dim=0, eps=1e-6) >> conv(dims[s + 1], 2, stride=2))
    avgpool: adaptive_avgpool(1)
    classifier: (layernorm(dim=0, eps=1e-6) >> flatten >> linear(1000))
"""


@pytest.mark.slow
def test_a_convnext_written_from_the_paper_is_torchvisions(tmp_path: Any) -> None:
    """A network outside the zoo, written as a user would from the paper's Table (stem, four stages of
    CNBlocks with the stochastic-depth rate rising linearly, downsampling between them): torchvision's
    `convnext_tiny` exactly: its parameter count, its state_dict (strictly), its outputs, its initial
    weights from the same seed, and the same from the compiled file."""
    from oracles import load_source
    from torchvision.models import convnext_tiny

    network = archspec.load("convnext.arch", text=CONVNEXT_TINY, input_shape=(3, 64, 64))
    torch.manual_seed(0)
    theirs = convnext_tiny()
    assert network.analyze().params == sum(p.numel() for p in theirs.parameters())
    torch.manual_seed(0)
    ours = network.build()
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    assert all(
        torch.equal(a, b)
        for a, b in zip(ours.state_dict().values(), theirs.state_dict().values(), strict=True)
    )
    randomise(theirs)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    compiled = load_source(network.to_source(), tmp_path).build()
    compiled.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = theirs.eval()(x)
        assert_same_outputs(ours.eval()(x), expected, exact=True)
        assert_same_outputs(compiled.eval()(x), expected, exact=True)


SHUFFLE_UNIT = """
block InvertedResidual():
  half = in_channels // 2
  x1: chunk(2, 0)
  x2: chunk(2, 1) from input
  branch2: (conv(half, 1, bias=false) >> batchnorm >> relu
            >> conv(half, 3, pad=1, groups=half, bias=false) >> batchnorm
            >> conv(half, 1, bias=false) >> batchnorm >> relu) from x2
  concat from x1, branch2
  channel_shuffle(2)

network shuffle:
  input: 24x9x9
  layers:
    unit: InvertedResidual()
    split([8, 16], 1)
"""


def test_chunk_split_and_channel_shuffle_equal_torchvision_shufflenet() -> None:
    """ShuffleNetV2's stride-1 unit (x.chunk(2, dim=1), a branch, cat, channel_shuffle) against
    torchvision's own module: same state_dict, same outputs; then torch.split's second part."""
    shufflenet = pytest.importorskip("torchvision.models.shufflenetv2")
    network = archspec.load("shuffle.arch", text=SHUFFLE_UNIT)
    assert network.graph.output_shape == (16, 9, 9)
    unit = randomise(shufflenet.InvertedResidual(24, 24, 1)).eval()
    ours = network.build().eval()
    ours.get_submodule("unit").load_state_dict(unit.state_dict(), strict=True)
    x = torch.randn(2, 24, 9, 9)
    with torch.no_grad():
        assert_same_outputs(ours(x), torch.split(unit(x), [8, 16], dim=1)[1], rtol=1e-5)
    assert_counts_match(network, network.analyze(), "cpu")


TWO_INPUTS = """
block Fuse(width):
  a: conv(width, 1) from inputs[0]
  b: conv(width, 3, pad=1) from inputs[1]
  add from a, b
  gate: sigmoid
  mul from gate, inputs[1]

network two_inputs:
  input: 4x6x6
  layers:
    x: conv(8, 3, pad=1)
    y: conv(8, 1) from input
    f: Fuse(8) from x, y
"""


def test_a_block_with_two_inputs_equals_torch() -> None:
    """`Fuse(8) from x, y` reads its inputs as inputs[0] and inputs[1] (the first is also `input`)."""
    network = archspec.load("two_inputs.arch", text=TWO_INPUTS)
    assert [network.graph.nodes[i].name for i in network.graph.node("f.b").inputs] == ["y"]
    module = randomise(network.build()).eval()
    p = dict(module.named_parameters())
    x = torch.randn(2, 4, 6, 6)
    a = F.conv2d(x, p["x.weight"], p["x.bias"], padding=1)
    b = F.conv2d(x, p["y.weight"], p["y.bias"])
    gate = torch.sigmoid(
        F.conv2d(a, p["f.a.weight"], p["f.a.bias"]) + F.conv2d(b, p["f.b.weight"], p["f.b.bias"], padding=1)
    )
    with torch.no_grad():
        assert_same_outputs(module(x), gate * b, rtol=1e-5)
    assert_counts_match(network, network.analyze(), "cpu")


@settings(max_examples=EXAMPLES, deadline=None)
@given(text=specs(every_op=True))
def test_random_specs_with_every_op_count_as_the_module(text: str) -> None:
    network = archspec.load("random.arch", text=text)
    assert_counts_match(network, network.analyze(), "cpu")


@st.composite
def token_specs(draw: Any) -> str:
    """A small ViT-like spec on a non-square input: patches, class token, position embedding, pre-LN
    encoder blocks with layer norm and attention each with and without their affine parameters / biases,
    MLPs, linear layers with and without bias, and the class-token head."""
    patch = draw(st.sampled_from([2, 4]))
    grid = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    heads = draw(st.sampled_from([1, 2]))
    hidden = heads * draw(st.integers(1, 4))
    channels = draw(st.integers(1, 3))
    lines = [
        'from "std/mlp.arch" import MLP',
        "",
        "network tokens:",
        '  title: "tokens"',
        f"  input: {channels}x{grid[0] * patch}x{grid[1] * patch}",
    ]
    lines += ["  layers:", f"    patch_embed({hidden}, {patch})"]
    if draw(st.booleans()):
        lines.append("    class_token")
    lines.append("    position_embedding")
    for _ in range(draw(st.integers(1, 2))):
        affine = str(draw(st.booleans())).lower()
        bias = str(draw(st.booleans())).lower()
        lines += [
            "    residual:",
            f"      layernorm(affine={affine}, eps=1e-6)",
            f"      attention({heads}, bias={bias})",
        ]
        lines += [
            "    residual:",
            f"      layernorm(affine={affine})",
            f"      MLP({draw(st.integers(1, 8))})",
        ]
    lines.append(f"    linear({draw(st.integers(1, 6))}, bias={str(draw(st.booleans())).lower()}) >> gelu")
    lines += ["    select_token", "    head: linear(3)", ""]
    return "\n".join(lines)


@settings(max_examples=EXAMPLES * 3 // 5, deadline=None)
@given(text=token_specs())
def test_random_token_specs_count_as_the_module(text: str) -> None:
    network = archspec.load("tokens.arch", text=text)
    assert_counts_match(network, network.analyze(), "cpu")


# ---------------------------------------------------------------- the golden reports, figure by figure

GOLDEN_REPORTS = ["lenet5", "lecun1989", "googlenet", "resnet50"]  # the networks of tests/golden/*.analysis.*


@pytest.mark.parametrize("variant", GOLDEN_REPORTS)
def test_every_row_of_the_golden_reports_matches_the_module(variant: str) -> None:
    """Each row's parameters (the row's submodule) and MACs (FlopCounterMode's count under that
    submodule), for layers and containers alike; rows without a module (add, concat, pad) have neither."""
    network = archspec.load(variant)
    module = network.build(device="meta").eval()
    with counting() as counter:
        module(torch.empty(1, *network.graph.input_shape, device="meta"))
    # keys are "<root class>.<dotted name>"
    flops_under = {
        key.partition(".")[2]: sum(counts.values())
        for key, counts in counter.get_flop_counts().items()
        if "." in key
    }
    rows = network.analyze().rows
    assert len(rows) > 10
    for row in rows:
        try:
            submodule = module.get_submodule(row.name)
        except AttributeError:
            assert (row.params, row.macs) == (0, 0), row.name
            continue
        assert row.params == sum(p.numel() for p in submodule.parameters()), row.name
        assert 2 * row.macs == flops_under.get(row.name, 0), row.name


@pytest.mark.parametrize("variant", ["lenet5", "lecun1989"])
def test_every_receptive_field_of_the_golden_reports_is_the_gradient_extent(variant: str) -> None:
    rows = archspec.load(variant).analyze().rows
    spatial = tuple(
        r for r in rows if isinstance(r.receptive_field, ReceptiveField) and len(r.output_shape) == 3
    )
    assert len(spatial) >= 6
    for row in spatial:
        field = assert_field_is_gradient_extent(lambda **kw: archspec.load(variant, **kw), row.name)
        assert field == row.receptive_field


SWIN_BLOCKS = """
from "std/mlp.arch" import MLP

block SwinBlock(dim, heads, window, shift):
  residual:
    norm1: layernorm(dim=-1)
    attn: shifted_window_attention(heads, window, shift)
    stochastic_depth(0.1)
  residual:
    norm2: layernorm(dim=-1)
    mlp: MLP(4 * dim)
    stochastic_depth(0.1)

network swin_blocks:
  input: 9x11x16                           # HxWxC: padded to 12x12 inside, 3x3 windows of 4x4
  init:
    when built:                            # torchvision's block draws its MLP in its constructor
      MLP: xavier_uniform, bias=normal(std=1e-6)
  layers:
    b0: SwinBlock(16, 2, 4, 0)
    b1: SwinBlock(16, 2, 4, 2)             # shifted: rolled by 2, regions masked apart
    merge: patch_merging                   # odd sides padded: 5x6x32
"""


def torchvision_swin_blocks() -> nn.Module:
    swin = pytest.importorskip("torchvision.models.swin_transformer")
    theirs = nn.Sequential()
    theirs.add_module("b0", swin.SwinTransformerBlock(16, 2, [4, 4], [0, 0], stochastic_depth_prob=0.1))
    theirs.add_module("b1", swin.SwinTransformerBlock(16, 2, [4, 4], [2, 2], stochastic_depth_prob=0.1))
    theirs.add_module("merge", swin.PatchMerging(16))
    return theirs


def test_swin_ops_equal_torchvision_swin_blocks() -> None:
    """shifted_window_attention (with padding and a shift) and patch_merging (odd sides) against
    torchvision's own Swin block and PatchMerging: same state_dict, same outputs, same starting weights
    for the same seed, and the analysis against the module."""
    network = archspec.load("swin_blocks.arch", text=SWIN_BLOCKS)
    assert network.graph.output_shape == (5, 6, 32)
    torch.manual_seed(0)
    theirs = torchvision_swin_blocks()
    torch.manual_seed(0)
    ours = network.build()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, tensor in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], tensor), key
    randomise(theirs)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 9, 11, 16)
    with torch.no_grad():
        assert_same_outputs(ours.eval()(x), theirs.eval()(x), rtol=1e-5)
    assert_counts_match(network, network.analyze(), "cpu")


def test_swin_attention_macs_by_hand() -> None:
    """At 9x11x16, window 4: padded to 12x12 = 144 tokens; q/k/v and output projections 4 * 144 * 16²,
    QKᵀ and A·V 2 * 144 * 4² * 16; patch merging 5 * 6 positions * 64 * 32."""
    analysis = archspec.load("swin_blocks.arch", text=SWIN_BLOCKS).analyze()
    attention = 4 * 144 * 16 * 16 + 2 * 144 * 16 * 16
    mlp = 2 * 9 * 11 * 16 * 64
    assert analysis.macs == 2 * (attention + mlp) + 5 * 6 * 64 * 32


@pytest.mark.parametrize(
    "layer",
    [
        "shifted_window_attention(2, 4)",
        "shifted_window_attention(2, 4, 2, attention_dropout=0.1)",
        "shifted_window_attention(2, 4, 2, dropout=0.1)",
        "patch_merging",
    ],
)
def test_swin_ops_saved_activations_equal_what_autograd_keeps(layer: str) -> None:
    """The `saved` rules against the storages torch's saved-tensor hooks see (padded, odd-sized map)."""
    from archspec.analysis.memory import saved_activations
    from archspec.backends.measure import saved_activation_bytes

    network = archspec.load("one.arch", text=f"network one:\n  input: 9x11x16\n  layers:\n    x: {layer}\n")
    expected = saved_activation_bytes(network.build(), torch.randn(2, 9, 11, 16))
    assert saved_activations(network.graph, "float32", 2).total == expected


@pytest.mark.parametrize(
    ("size", "out"), [((5, 7), (2, 3)), ((9, 4), (4, 3)), ((6, 6), (6, 1)), ((8, 5), (1, 1))]
)
def test_adaptive_pool_field_is_what_torch_reads(size: tuple[int, int], out: tuple[int, int]) -> None:
    """The receptive field of adaptive average pooling from torch's own windows (input gradients of
    every output unit): the largest window each way, the smallest step between windows; global only
    when every input reaches the single output."""
    h, w = size
    text = f"network ap:\n  input: 1x{h}x{w}\n  layers:\n    p: adaptive_avgpool([{out[0]}, {out[1]}])\n"
    field = archspec.load("inline.arch", text=text).analyze().rows[-1].receptive_field
    x = torch.zeros(1, 1, h, w, requires_grad=True)
    y = F.adaptive_avg_pool2d(x, out)
    extents: list[tuple[int, int, int, int]] = []  # first row, last row, first column, last column
    for i in range(out[0]):
        for j in range(out[1]):
            (grad,) = torch.autograd.grad(y[0, 0, i, j], x, retain_graph=True)
            rows, cols = grad[0, 0].nonzero(as_tuple=True)
            extents.append((int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())))
    if out == (1, 1):
        assert field == "global"
        return
    window = (max(e[1] - e[0] + 1 for e in extents), max(e[3] - e[2] + 1 for e in extents))
    starts = (sorted({e[0] for e in extents}), sorted({e[2] for e in extents}))
    steps = tuple(
        min((b - a for a, b in itertools.pairwise(s)), default=window[k]) for k, s in enumerate(starts)
    )
    assert field == ReceptiveField(window, (max(steps[0], 1), max(steps[1], 1)), (0, 0))


# A constant path (a learned bias added to the map) sees no pixel and leaves the field as it is; the
# oracle is the input gradient.
BIASED = """
network biased:
  input: 2x12x12
  layers:
    param table: [4, 3], init=normal(std=1.0)
    conv1: conv(3, 3, pad=1)
    flat: rearrange("n c -> (n c)") from table
    rows: rearrange("(n c) -> n c", c=3)
    mean(-2)
    shaped: rearrange("c -> c 1 1")
    biased: add from conv1, shaped
    conv2: conv(3, 3, pad=1)
"""


def test_a_parameter_path_has_no_field_and_leaves_the_map_s_field_alone() -> None:
    network = archspec.load("b.arch", text=BIASED)
    analysis = network.analyze()
    assert analysis.row("table").receptive_field is None
    assert analysis.row("flat").receptive_field is None  # a rearrange that joins axes, of a parameter
    field = assert_field_is_gradient_extent(lambda **kw: archspec.load("b.arch", text=BIASED, **kw), "conv2")
    assert field.size == (5, 5)


# Attention over every token of a map, from primitives: it mixes positions and keeps them, so the spatial
# path's field is global too (not left out as a gate's pooled input would be); the input gradient of one
# output position reaches every pixel.
TOKENS = """
network tokens:
  input: 4x6x6
  layers:
    stem: conv(8, 3, pad=1)
    tokens: rearrange("c h w -> (h w) c")
    q: linear(8)
    k: linear(8) from tokens
    logits: einsum("n d, m d -> n m") from q, k
    weights: softmax(dim=-1)
    mixed: matmul from weights, tokens
    back: rearrange("(h w) c -> c h w", h=6)
    out: add from back, stem
"""


def test_attention_from_primitives_makes_both_fields_global_as_the_gradient_shows() -> None:
    network = archspec.load("t.arch", text=TOKENS)
    analysis = network.analyze()
    assert analysis.row("out").receptive_field == "global"
    assert analysis.row("out").spatial_receptive_field == "global"
    assert analysis.spatial_receptive_field == "global"
    module = network.build(dtype=torch.float64).eval()
    x = torch.randn(1, 4, 6, 6, dtype=torch.float64, requires_grad=True)
    module(x)[0, :, 0, 0].sum().backward()
    assert x.grad is not None
    assert bool((x.grad.abs().sum(dim=1) > 0).all())  # every pixel reaches the corner's output
