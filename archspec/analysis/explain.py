"""``explain``: how one row's figures come about, written out with the actual numbers.

Every number printed comes from the same op methods the counts use (``param_count``, ``macs``,
``receptive_field``); the formulas are checked against them, and comparisons (depthwise-separable vs a
standard conv, stacked small kernels vs one large one) build the alternative op and ask it.
"""

from __future__ import annotations

from collections.abc import Mapping

from archspec.analysis.core import Analysis, Row
from archspec.analysis.receptive import IDENTITY, ReceptiveField, node_effects
from archspec.ir import Node
from archspec.ops import Op, RFEffect, RFStep, format_shape
from archspec.ops.conv import Conv2d


def explain(analysis: Analysis, name: str) -> str:
    """The explanation of the layer or container called ``name``, or of every instance of the block
    called ``name`` (KeyError when neither exists)."""
    try:
        row = analysis.row(name)
    except KeyError:
        instances = [r for r in analysis.rows if r.kind == "block" and r.block == name]
        if not instances:
            raise
        head = f"block {name}: {len(instances)} instances ({', '.join(r.name for r in instances)})\n\n"
        return head + "\n".join(explain(analysis, r.name) for r in instances)
    if row.kind == "layer":
        return "\n".join(_explain_node(analysis, analysis.graph.nodes[row.node_ids[0]])) + "\n"
    return "\n".join(_explain_container(analysis, row)) + "\n"


def _n(value: int) -> str:
    return f"{value:,}"


def _rf_lines(analysis: Analysis, node: Node) -> list[str]:
    effect = node_effects(analysis.graph)[node.id]  # in image coordinates (H and W may be swapped)
    before = analysis.fields[node.inputs[0]] if node.inputs else None
    after = analysis.fields[node.id]
    spatial = analysis.spatial_fields[node.id]
    if len(node.inputs) > 1 and isinstance(after, ReceptiveField):
        return [f"receptive field: {_rf(after)} (the union of its inputs' fields, per axis)"]
    if not isinstance(effect, RFStep) or not isinstance(after, ReceptiveField):
        if spatial != after:
            return [
                f"receptive field: {_rf(after)} (whole: a gate fed by global pooling sees every pixel)",
                f"receptive field of the spatial path (gates' global inputs left out): {_rf(spatial)}",
            ]
        return [f"receptive field: {_rf(after)}"]
    prev = before if isinstance(before, ReceptiveField) else IDENTITY
    per_axis = [_rf_step_lines(prev, effect, after, a) for a in (0, 1)]
    lines = ["receptive field (Araujo et al. 2019), per axis:", *(f"  height: {x}" for x in per_axis[0])]
    if per_axis[1] == per_axis[0]:
        return [*lines, "  width: the same"]
    return lines + [f"  width: {x}" for x in per_axis[1]]


def _rf_step_lines(prev: ReceptiveField, effect: RFStep, after: ReceptiveField, a: int) -> list[str]:
    k, s, p, d = effect.kernel[a], effect.stride[a], effect.padding[a], effect.dilation[a]
    return [
        f"r = r_in + (k-1)·d·j_in = {prev.size[a]} + {k - 1}·{d}·{prev.stride[a]} = {after.size[a]}",
        f"j = j_in·s = {prev.stride[a]}·{s} = {after.stride[a]}",
        f"P = P_in + p·j_in = {prev.padding[a]} + {p}·{prev.stride[a]} = {after.padding[a]}",
        f"centre of the first unit = (r-1)/2 - P = {after.centre[a]:g}",
    ]


def _rf(field: object) -> str:
    if isinstance(field, ReceptiveField):
        stride, padding = (str(h) if h == w else f"{h}x{w}" for h, w in (field.stride, field.padding))
        return f"size {field.short()}, stride {stride}, padding {padding}"
    return "global" if field == "global" else "none (no spatial op yet)"


def _explain_node(analysis: Analysis, node: Node) -> list[str]:
    op = node.op
    graph = analysis.graph
    inputs = graph.input_shapes(node)
    counts = analysis.nodes[node.id]
    lines = [
        f"{node.name}: {op.describe()}",
        f"input {', '.join(format_shape(s) for s in inputs) or '-'} -> output {format_shape(node.shape)}",
    ]
    formulas = op.count_formulas(inputs, counts.params, counts.macs)
    lines += formulas or [
        f"params = {_n(counts.params)}; buffers = {_n(counts.buffers)}; MACs = {_n(counts.macs)}"
    ]
    if isinstance(op, Conv2d):  # what a standard conv of its shape would cost
        lines += _depthwise_lines(analysis, node, op)
    lines.append(f"FLOPs (torchvision) = 2 × MACs = {_n(2 * counts.macs)}")
    lines.append(f"FLOPs (--count all) = 2 × MACs + {_n(counts.extra_flops)} ({op.flop_rule})")
    row = analysis.row(node.name)
    lines.append(
        f"output = {'×'.join(map(str, node.shape))} × {analysis.dtype} × batch {analysis.batch}"
        f" = {_n(row.activation_bytes)} bytes"
    )
    lines.append(
        f"saved for backward: {op.saved_rule} = {_n(row.saved_bytes)} bytes "
        "(a storage an earlier layer already keeps is counted there)"
    )
    return lines + _rf_lines(analysis, node)


def _depthwise_lines(analysis: Analysis, node: Node, op: Conv2d) -> list[str]:
    if op.groups == 1 or op.groups != op.in_channels:
        return []
    standard = op.model_copy(update={"groups": 1})
    lines = [
        f"depthwise: groups = in_c = {op.groups}, so each filter sees one channel; "
        f"a standard conv of the same shape would have {_n(standard.param_count())} params "
        f"and {_n(standard.macs([], ()))} MACs "
        f"({standard.macs([], ()) / max(op.macs([], ()), 1):.1f}× more)"
    ]
    pointwise = _next_conv(analysis, node)
    if pointwise is not None and pointwise.kernel_size == (1, 1) and pointwise.groups == 1:
        full = op.model_copy(update={"groups": 1, "out_channels": pointwise.out_channels})
        separable_params = op.param_count() + pointwise.param_count()
        separable_macs = op.macs([], ()) + pointwise.macs([], ())
        k, n = op.kernel_size[0], pointwise.out_channels
        lines += [
            f"depthwise-separable (this conv + the 1x1 pointwise conv to {n} channels): "
            f"{_n(separable_params)} params, {_n(separable_macs)} MACs",
            f"standard {k}x{k} conv {op.in_channels}->{n}: {_n(full.param_count())} params, "
            f"{_n(full.macs([], ()))} MACs",
            f"ratio of MACs = {separable_macs / full.macs([], ()):.4f} "
            f"(theory, biases aside: 1/N + 1/k² = 1/{n} + 1/{k * k} = {1 / n + 1 / (k * k):.4f})",
        ]
    return lines


def _next_conv(
    analysis: Analysis, node: Node, effects: Mapping[int, RFEffect] | None = None
) -> Conv2d | None:
    """The conv that consumes this node's output through pointwise ops only, if there is exactly one
    (``effects``: ``node_effects`` of the graph, when the caller has them)."""
    consumers: dict[int, list[int]] = {}
    for other in analysis.graph.nodes[node.id + 1 :]:
        for i in other.inputs:
            consumers.setdefault(i, []).append(other.id)
    current = node.id
    effects = effects if effects is not None else node_effects(analysis.graph)
    while True:
        nxt = consumers.get(current, [])
        if len(nxt) != 1:
            return None
        op = analysis.graph.nodes[nxt[0]].op
        if isinstance(op, Conv2d):
            return op
        if effects[nxt[0]] is not None or len(analysis.graph.nodes[nxt[0]].inputs) != 1:
            return None
        current = nxt[0]


def _explain_container(analysis: Analysis, row: Row) -> list[str]:
    what = row.kind if row.op == row.kind else f"{row.kind} {row.op}"
    params_share = 100 * row.params / max(analysis.params, 1)
    macs_share = 100 * row.macs / max(analysis.macs, 1)
    lines = [
        f"{row.name}: {what}, {len(row.node_ids)} ops, output {format_shape(row.output_shape)}",
        f"params = Σ of its layers = {_n(row.params)} ({params_share:.1f}% of the network)",
        f"MACs = Σ of its layers = {_n(row.macs)} ({macs_share:.1f}% of the network); "
        f"FLOPs = {_n(row.flops)}",
        f"receptive field at its output: {_rf(row.receptive_field)}"
        + (
            f"; spatial path (gates' global inputs left out): {_rf(row.spatial_receptive_field)}"
            if row.spatial_receptive_field != row.receptive_field
            else ""
        ),
        "largest contributors:",
    ]
    nodes = [analysis.graph.nodes[i] for i in row.node_ids]
    for node in sorted(nodes, key=lambda n: -analysis.nodes[n.id].macs)[:5]:
        c = analysis.nodes[node.id]
        if c.macs or c.params:
            lines.append(
                f"  {node.name:<32} {node.op.describe():<48} params {_n(c.params):>12}  MACs {_n(c.macs):>15}"
            )
    for run in _stacked_convs(analysis, nodes):
        lines += _stack_lines(run)
    return lines


def _stacked_convs(analysis: Analysis, nodes: list[Node]) -> list[list[Conv2d]]:
    """Runs of ≥2 stride-1, ungrouped convs joined only by pointwise ops."""
    runs: list[list[Conv2d]] = []
    run: list[Conv2d] = []
    previous = nodes[0]
    effects = node_effects(analysis.graph)
    for node in nodes:
        op = node.op
        if isinstance(op, Conv2d) and op.stride == (1, 1) and op.groups == 1 and op.kernel_size != (1, 1):
            if run and _next_conv(analysis, previous, effects) is not op:
                runs.append(run)
                run = []
            run.append(op)
            previous = node
        elif isinstance(op, Conv2d) or effects[node.id] is not None or len(node.inputs) != 1:
            runs.append(run)
            run = []
    runs.append(run)
    return [r for r in runs if len(r) >= 2]


def _stack_lines(run: list[Conv2d]) -> list[str]:
    """The stack against one conv that is a drop-in replacement for it (like for like).

    The single conv takes the stack's input to the stack's output: the first conv's input channels, the
    last conv's output channels and output size, stride 1, dilation 1, no groups or connection table, and
    a kernel as large as the stack's receptive field; it has a bias when the first conv has one. The
    stack's inner widths are its own choice, so a second line gives the comparison at equal widths
    throughout (the VGG paper's argument), where only the kernels count.
    """
    first, last = run[0], run[-1]
    stacked = IDENTITY
    for op in run:
        step = op.receptive_field()
        assert isinstance(step, RFStep)
        stacked = stacked.step(step)
    kh, kw = stacked.size
    single: Op = first.model_copy(
        update={
            "kernel_size": (kh, kw),
            "out_channels": last.out_channels,
            "out_size": last.out_size,
            "stride": (1, 1),
            "padding": ((kh - 1) // 2, (kw - 1) // 2),
            "dilation": (1, 1),
            "groups": 1,
            "table": None,
        }
    )
    single_rf = IDENTITY.step(RFStep((kh, kw), (1, 1), (0, 0)))
    stacked_params = sum(op.param_count() for op in run)
    stacked_macs = sum(op.macs([], ()) for op in run)
    widths = "->".join([str(first.in_channels)] + [str(op.out_channels) for op in run])
    kernels = " + ".join(f"{op.kernel_size[0]}x{op.kernel_size[1]}" for op in run)
    taps = [op.kernel_size[0] * op.kernel_size[1] for op in run]
    oh, ow = last.out_size
    lines = [
        f"stacked convs {kernels} ({widths}): params {_n(stacked_params)}, MACs {_n(stacked_macs)}, "
        f"receptive field {stacked.short()}, "
        f"{len(run) - 1} extra non-linearit{'y' if len(run) == 2 else 'ies'}",
        f"one {kh}x{kw} conv ({first.in_channels}->{last.out_channels}) "
        f"with the same receptive field {single_rf.short()}: "
        f"params {_n(single.param_count())}, MACs {_n(single.macs([], ()))}",
        f"the stack uses {100 * stacked_params / max(single.param_count(), 1):.0f}% "
        "of the single conv's params",
        f"  (like for like: the single conv maps the same input, {first.in_channels} channels, to the same "
        f"output, {last.out_channels}x{oh}x{ow}, at stride 1 and dilation 1, "
        f"{'with a bias' if first.bias else 'without bias'}, as the stack's first conv; "
        "the stack's inner widths are its own)",
    ]
    if any(op.out_channels != first.in_channels for op in run):
        terms = " + ".join(f"{t}" for t in taps)
        lines.append(
            f"  at equal widths C throughout (the VGG paper's comparison, biases aside): "
            f"({terms})·C² vs {kh * kw}·C² weights, {100 * sum(taps) / (kh * kw):.0f}%"
        )
    return lines
