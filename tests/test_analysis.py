"""Static analysis: counts, receptive fields and memory against figures.md and hand-checked tiny specs."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_specs import ORDERED, ORDERED_SWAPPED

import archspec
from archspec.analysis import ReceptiveField, analyze, receptive_fields
from archspec.analysis.explain import explain
from archspec.ir import Repeat

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"


def load_text(text: str) -> archspec.Network:
    return archspec.load("inline.arch", text=text)


def needs_spec(name: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not (SPECS / f"{name}.arch").exists(), reason=f"specs/{name}.arch is not written yet"
    )


# ---------------------------------------------------------------- receptive field: figures.md


def rf(size: int, stride: int, padding: int) -> ReceptiveField:
    return ReceptiveField((size, size), (stride, stride), (padding, padding))


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        ("layer1", rf(35, 4, 17)),
        ("layer2", rf(91, 8, 45)),
        ("layer3", rf(267, 16, 133)),
        ("layer4", rf(427, 32, 213)),
    ],
)
def test_resnet50_receptive_field_matches_figures(layer: str, expected: ReceptiveField) -> None:
    analysis = archspec.load("resnet50").analyze()
    assert analysis.row(layer).receptive_field == expected
    assert analysis.warnings == ()


@pytest.mark.parametrize(
    ("spec", "variant", "expected"),
    [
        ("alexnet", "alexnet", rf(195, 32, 66)),
        ("vgg", "vgg11", rf(150, 32, 59)),
        ("vgg", "vgg16", rf(212, 32, 90)),
    ],
)
def test_features_receptive_field_matches_figures(spec: str, variant: str, expected: ReceptiveField) -> None:
    if not (SPECS / f"{spec}.arch").exists():
        pytest.skip(f"specs/{spec}.arch is not written yet")
    analysis = archspec.load(variant).analyze()
    assert analysis.row("features").receptive_field == expected
    assert analysis.receptive_field == expected


def test_row_and_node_lookups_name_what_is_missing() -> None:
    network = archspec.load("lenet5")
    with pytest.raises(KeyError) as row_error:
        network.analyze().row("C9")
    with pytest.raises(KeyError) as node_error:
        network.graph.node("C9")
    assert row_error.value.args == node_error.value.args == ("C9",)


def test_receptive_field_is_none_at_input_and_global_after_global_pooling() -> None:
    analysis = archspec.load("resnet18").analyze()
    assert analysis.row("input").receptive_field is None
    assert analysis.row("avgpool").receptive_field == "global"
    assert analysis.row("fc").receptive_field == "global"


# ---------------------------------------------------------------- receptive field: tiny specs

TINY_RF = """
network tiny:
  input: 1x32x32
  layers:
    a: conv(1, 3, pad=1)
    b: conv(1, 3, stride=2, pad=1)
    c: conv(1, 3, pad=2, dilation=2)
    d: maxpool(3, stride=2, ceil_mode=true)
    e: relu
"""


def test_receptive_field_steps_with_padding_stride_dilation_and_ceil_mode() -> None:
    fields = receptive_fields(load_text(TINY_RF).graph).fields
    graph = load_text(TINY_RF).graph
    by_name = {node.name: fields[node.id] for node in graph.nodes}
    assert by_name["a"] == rf(3, 1, 1)  # r = 1 + 2, P = 0 + 1
    assert by_name["b"] == rf(5, 2, 2)  # r = 3 + 2*1, j = 2, P = 1 + 1*1
    assert by_name["c"] == rf(13, 2, 6)  # r = 5 + (3-1)*2*2, P = 2 + 2*2
    # ceil mode changes the output size (16x16 -> 8x8 instead of 7x7), not r/j/P: r = 13 + 2*2, j = 4
    assert graph.node("d").shape == (1, 8, 8)
    assert by_name["d"] == rf(17, 4, 6)
    assert by_name["e"] == by_name["d"]  # pointwise ops keep the field
    assert by_name["d"].centre == (2.0, 2.0)  # (17 - 1) / 2 - 6


def test_ceil_mode_gives_the_same_field_as_floor_mode() -> None:
    floor = load_text(TINY_RF.replace("ceil_mode=true", "ceil_mode=false")).analyze()
    ceil = load_text(TINY_RF).analyze()
    assert floor.row("d").receptive_field == ceil.row("d").receptive_field
    assert floor.row("d").output_shape != ceil.row("d").output_shape


MISALIGNED = """
network branches:
  input: 1x8x8
  layers:
    merged:
      concat:
        a: conv(2, 1, stride=2)
        b: conv(2, 2, stride=2)
"""


def test_misaligned_non_square_fields_are_described_per_axis() -> None:
    text = MISALIGNED.replace("a: conv(2, 1, stride=2)", "a: conv(2, (1, 3), stride=(2, 1), pad=(0, 1))")
    text = text.replace("b: conv(2, 2, stride=2)", "b: conv(2, (2, 3), stride=(2, 1), pad=(0, 1))")
    analysis = load_text(text).analyze()
    # a: size 1x3, stride 2x1, padding 0x1, centre ((1-1)/2 - 0, (3-1)/2 - 1) = (0, 0);
    # b: size 2x3, the same stride and padding, centre ((2-1)/2 - 0, 0) = (0.5, 0)
    assert analysis.warnings == (
        "merged.2: the receptive fields of the merged inputs are not aligned "  # the concat after a and b
        "(size 1x3, stride 2x1, centre 0; size 2x3, stride 2x1, centre 0.5x0)",
    )


def test_a_merge_takes_the_union_of_its_inputs_fields_per_axis() -> None:
    text = MISALIGNED.replace("a: conv(2, 1, stride=2)", "a: conv(2, (5, 1), pad=(2, 0))")
    text = text.replace("b: conv(2, 2, stride=2)", "b: conv(2, (1, 3), pad=(0, 1))")
    analysis = load_text(text).analyze()
    assert analysis.warnings == ()  # both centred on the output pixel
    # a sees 5 rows by 1 column, b 1 row by 3 columns: the concat sees 5 rows by 3 columns (by hand;
    # test_crosscheck.py checks merges against the input gradient)
    assert analysis.row("merged.2").receptive_field == ReceptiveField((5, 3), (1, 1), (2, 1))


def test_the_field_does_not_depend_on_the_order_of_independent_lines() -> None:
    # by hand: stem r 3, j 2, P 1; proj r 3 + 2·2 = 7, j 4, P 1 + 1·2 = 3; the gated branch r 3, j 4, P 1
    # (its SE gate's pooled input left out); the add sees rows -3..3 of the first unit: r 7, P 3
    for text in (ORDERED, ORDERED_SWAPPED):
        analysis = load_text(text).analyze()
        assert analysis.receptive_field == "global"  # the gate's pooling sees the whole input
        assert analysis.spatial_receptive_field == rf(7, 4, 3)
        assert analysis.row("sum").spatial_receptive_field == rf(7, 4, 3)
        assert analysis.row("sum").receptive_field == "global"


def test_rows_describe_their_op_and_name_their_parent() -> None:
    analysis = archspec.load("resnet18").analyze()
    parents = {name: analysis.row(name).parent for name in ("conv1", "layer1", "layer1.0", "layer1.0.conv1")}
    assert parents == {"conv1": "", "layer1": "", "layer1.0": "layer1", "layer1.0.conv1": "layer1.0"}
    # the spec's call with torch's argument names, and the block a container instantiates
    assert analysis.row("conv1").description == "conv(64, 7, stride=2, padding=3, bias=false)"
    assert analysis.row("layer1.0").description == "BasicBlock"


def test_a_containers_figures_are_the_sums_of_its_layers() -> None:
    analysis = archspec.load("resnet18").analyze(count="all")
    layers = [row for row in analysis.rows if row.kind == "layer"]
    summed = ("params", "trainable_params", "buffers", "macs", "flops", "extra_flops")
    summed += ("activation_bytes", "saved_bytes")
    containers = [row for row in analysis.rows if row.kind != "layer"]
    assert len(containers) > 10
    for row in containers:
        inside = [layer for layer in layers if layer.name.startswith(row.name + ".")]
        assert {f: getattr(row, f) for f in summed} == {f: sum(getattr(i, f) for i in inside) for f in summed}


def test_container_rows_say_what_they_are_by_hand() -> None:
    rows = {row.name: row for row in archspec.load("resnet18").analyze().rows}
    facts = {
        name: (rows[name].kind, rows[name].block, rows[name].parent, rows[name].repeat)
        for name in ("layer1", "layer1.1", "layer2.0.downsample")
    }
    assert facts == {
        "layer1": ("block", "Stage", "", None),
        "layer1.1": ("block", "BasicBlock", "layer1", Repeat(group=1, index=0, count=1)),  # `* (depth - 1)`
        "layer2.0.downsample": ("sequence", None, "layer2.0", None),
    }
    repeated = load_text("network t:\n  input: 2x4x4\n  layers:\n    conv(2, 3, pad=1) * 3\n").analyze()
    assert [row.repeat for row in repeated.rows] == [
        None,
        *(Repeat(group=1, index=i, count=3) for i in range(3)),
    ]


@pytest.mark.parametrize(
    ("kernel", "after"),
    [
        ("4", ReceptiveField((4, 4), (1, 1), (0, 0))),  # a 1x1 map: flattening mixes no positions
        ("(3, 4)", "global"),  # a 2x1 map: two positions, mixed by what follows
        ("3", "global"),  # 2x2
    ],
)
def test_flattening_a_map_is_global_unless_it_is_1x1(kernel: str, after: object) -> None:
    rows = load_text(f"network f:\n  input: 1x4x4\n  layers:\n    conv(2, {kernel}) >> flat: flatten\n")
    assert rows.analyze().row("flat").receptive_field == after


def test_merging_vectors_gives_no_field() -> None:
    text = "network v:\n  input: [6]\n  layers:\n    add:\n      linear(6)\n      linear(6)\n"
    (merge,) = [row for row in load_text(text).analyze().rows if row.op == "add"]
    assert merge.receptive_field is None


def test_memory_figures_scale_with_batch_and_dtype_by_hand() -> None:
    analysis = archspec.load("resnet18").analyze(dtype="bfloat16", batch=3, count="all")
    assert (analysis.dtype, analysis.batch, analysis.count) == ("bfloat16", 3, "all")
    assert (analysis.training_memory["batch"], analysis.training_memory["dtype"]) == (3, "bfloat16")
    assert analysis.row("conv1").activation_bytes == 64 * 112 * 112 * 2 * 3  # elements x 2 bytes x batch
    assert analysis.row("fc").activation_bytes == 1000 * 2 * 3
    assert analysis.extra_flops == sum(row.extra_flops for row in analysis.rows if row.kind == "layer") > 0
    with pytest.raises(ValueError) as error:
        archspec.load("resnet18").analyze(batch=0)
    assert error.value.args == ("batch must be positive, got 0",)


def test_the_networks_field_is_global_after_attention_and_none_without_a_map() -> None:
    assert archspec.load("vit_b_32").analyze().receptive_field == "global"
    vectors = "network v:\n  input: [10]\n  layers:\n    linear(4) >> relu >> linear(2)\n"
    assert load_text(vectors).analyze().receptive_field is None


def test_merge_with_misaligned_centres_warns_and_takes_largest_field() -> None:
    analysis = load_text(MISALIGNED).analyze()
    # a: r=1, centre 0; b: r=2, centre (2-1)/2 - 0 = 0.5: same stride, centres differ by half a pixel
    assert len(analysis.warnings) == 1
    assert "not aligned" in analysis.warnings[0]
    merge = next(row for row in analysis.rows if row.op == "concat")
    assert merge.receptive_field == ReceptiveField((2, 2), (2, 2), (0, 0))


def test_aligned_residual_merge_does_not_warn() -> None:
    assert archspec.load("resnet18").analyze().warnings == ()


# ---------------------------------------------------------------- counts


@pytest.mark.parametrize(
    ("variant", "params", "macs"),
    [("resnet18", 11_689_512, 1_814_073_344), ("resnet50", 25_557_032, 4_089_184_256)],
)
def test_resnet_totals_match_torchvision(variant: str, params: int, macs: int) -> None:
    analysis = archspec.load(variant).analyze()
    assert (analysis.params, analysis.trainable_params, analysis.macs) == (params, params, macs)
    assert analysis.flops == 2 * macs


def test_resnet50_v1_moves_the_stride_to_the_1x1() -> None:
    assert archspec.load("resnet50", v1=True).analyze().macs == 3_857_973_248


def test_container_rows_sum_their_layers() -> None:
    analysis = archspec.load("resnet50").analyze()
    layer4 = analysis.row("layer4")
    parts = [analysis.row(f"layer4.{i}") for i in range(3)]
    assert layer4.params == sum(p.params for p in parts)
    assert layer4.macs == sum(p.macs for p in parts)
    assert layer4.kind == "block" and layer4.op == "Stage"
    assert layer4.output_shape == (2048, 7, 7)
    assert sum(r.params for r in analysis.rows if r.depth == 1) == analysis.params


def test_count_all_adds_exactly_the_extra_flops() -> None:
    graph = archspec.load("resnet18").graph
    default, everything = analyze(graph), analyze(graph, count="all")
    extra = sum(
        node.op.extra_flops([graph.nodes[i].shape for i in node.inputs], node.shape) for node in graph.nodes
    )
    assert extra > 0
    assert everything.flops - default.flops == extra
    assert everything.macs == default.macs


def test_depth_counts_weighted_layers_on_the_longest_path() -> None:
    assert archspec.load("resnet50").analyze().depth == 50
    assert archspec.load("resnet18").analyze().depth == 18


def test_bad_options_are_rejected() -> None:
    graph = archspec.load("resnet18").graph
    with pytest.raises(ValueError, match="counting convention"):
        analyze(graph, count="fvcore")
    with pytest.raises(ValueError, match="dtype"):
        analyze(graph, dtype="int3")


# ---------------------------------------------------------------- memory

TINY_MEMORY = """
network tiny:
  input: 1x8x8
  layers:
    conv1: conv(2, 3, pad=1)
    act: relu
    pool: maxpool(2, stride=2)
    fc: flatten >> linear(10)
"""


def test_peak_activation_memory_by_hand() -> None:
    # float32 sizes: input 1x8x8 = 256 B (held by the caller throughout), conv1 2x8x8 = 512 B, act in place
    # on conv1's output, pool 2x4x4 = 128 B plus its int64 indices 32 x 8 = 256 B while it runs, flatten a
    # view, linear 10 = 40 B. Walk: 256; conv1 768; act 768; pool 768 + 128 + 256 = 1152 (peak).
    analysis = load_text(TINY_MEMORY).analyze()
    assert analysis.peak_activation_bytes == 1152
    assert analysis.peak_at == "pool"
    # Saved: conv its input 256, relu its output 512 (conv1's storage), pool that same storage (counted
    # once) and its indices 256, the linear its input (the pooled storage, through flatten's view) 128.
    assert analysis.activation_bytes == 256 + 512 + 256 + 128
    # batch 4 and bfloat16: activations 2x, the int64 indices 4x:
    # input 512 + conv1 1024 + pool 256 + indices 1024
    assert load_text(TINY_MEMORY).analyze(batch=4, dtype="bfloat16").peak_activation_bytes == 2816


def test_peak_keeps_a_residual_input_alive() -> None:
    # resnet50's peak is in layer1.0: bn3 and downsample.0 are live while downsample.1 runs (3 x
    # 256x56x56 x 4 B), beside the block's input (the max pool's 64x56x56, held by layer1 until it returns)
    # and the network's input (3x224x224, held by the caller). torch measures the same (test_memory.py).
    analysis = archspec.load("resnet50").analyze()
    assert analysis.peak_activation_bytes == (3 * 256 * 56 * 56 + 64 * 56 * 56 + 3 * 224 * 224) * 4


def test_training_memory_both_optimisers() -> None:
    analysis = load_text(TINY_MEMORY).analyze(batch=2)
    params = (1 * 9 + 1) * 2 + 32 * 10 + 10  # conv 2x1x3x3 + 2 bias; linear 32x10 + 10
    assert analysis.params == params
    tm = analysis.training_memory
    activations = 2 * (256 + 512 + 256 + 128)  # see test_peak_activation_memory_by_hand
    assert tm["activations_bytes"] == activations
    assert tm["sgd_momentum"]["total_bytes"] == 4 * params * 3 + activations
    assert tm["adamw"]["total_bytes"] == 4 * params * 4 + activations


# ---------------------------------------------------------------- explain


def test_explain_conv_shows_formula_with_numbers() -> None:
    text = explain(archspec.load("resnet18").analyze(), "layer1.0.conv2")
    assert "56 × 56 × 64 × 64 × 3 × 3 = 115,605,504" in text
    assert "r = r_in + (k-1)·d·j_in = 19 + 2·1·4 = 27" in text


def test_explain_block_compares_two_3x3_with_one_5x5() -> None:
    text = explain(archspec.load("resnet18").analyze(), "layer1.0")
    # 2 x 64*64*9 = 73,728 vs 64*64*25 = 102,400; both see 5x5
    assert "params 73,728" in text and "params 102,400" in text
    assert "receptive field 5" in text


@needs_spec("mobilenet_v1")
def test_explain_depthwise_shows_separable_savings() -> None:
    analysis = archspec.load("mobilenet_v1").analyze()
    dw = next(row.name for row in analysis.rows if row.name.endswith(".dw"))
    text = explain(analysis, dw)
    assert "depthwise-separable" in text and "1/N + 1/k²" in text


# ---------------------------------------------------------------- against torch


def test_macs_match_torch_flop_counter() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("archspec.backends.torch_build")
    from torch.utils.flop_counter import FlopCounterMode

    network = archspec.load("resnet18")
    module = network.build().eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(torch.zeros(1, *network.graph.input_shape))
    assert counter.get_total_flops() == 2 * network.analyze().macs


def test_explain_stack_compares_like_for_like_and_at_equal_widths() -> None:
    text = explain(archspec.load("vgg16").analyze(), "features")
    # 64->128->128: the drop-in 5x5 conv maps 64 to 128 channels; at equal widths 2·9 vs 25 weights
    assert "one 5x5 conv (64->128) with the same receptive field 5: params 204,928" in text
    assert "to the same output, 128x112x112, at stride 1 and dilation 1" in text
    assert "(9 + 9)·C² vs 25·C² weights, 72%" in text


def test_explain_dilated_stack_compares_with_a_dense_conv() -> None:
    text = explain(
        load_text(
            """
network dilated:
  input: 2x16x16
  layers:
    stack: (conv(4, 3, pad=2, dilation=2) >> relu >> conv(4, 3, pad=2, dilation=2, bias=false))
"""
        ).analyze(),
        "stack",
    )
    # r = 1 + 2·2 + 2·2 = 9: a dense 9x9 conv 2->4 with a bias, 4·2·81 + 4 = 652 params
    assert "receptive field 9" in text
    assert "one 9x9 conv (2->4) with the same receptive field 9: params 652" in text
    assert "with a bias, as the stack's first conv" in text


def test_lecun1989_count_all_by_hand() -> None:
    """Every FLOP figure of the golden ``lecun1989.analysis.all.md``, by hand: 2 per MAC, plus 1 per
    output element for a bias (unshared or not) and 3 per element for the scaled tanh."""
    rows = {row.name: row for row in archspec.load("lecun1989").analyze(count="all").rows}
    h1, h2 = 12 * 8 * 8, 12 * 4 * 4  # output elements of H1 and H2
    expected = {
        "0": 0,  # pad
        "H1": 2 * (h1 * 5 * 5) + h1,  # one input channel, a 5x5 kernel
        "2": 3 * h1,
        "3": 0,
        "H2": 2 * (h2 * 8 * 5 * 5) + h2,  # each output channel sees 8 of the 12 maps
        "5": 3 * h2,
        "6": 0,  # flatten
        "H3": 2 * (192 * 30) + 30,
        "8": 3 * 30,
        "out": 2 * (30 * 10) + 10,
        "10": 3 * 10,
    }
    assert {name: rows[name].flops for name in expected} == expected
    assert sum(expected.values()) == 131_320  # the report's total


EXTRAS = """
network extras:
  input: 2x6x8
  layers:
    a: conv(4, [3, 1], pad=[1, 0])
    b: batchnorm
    c: relu
    d: maxpool([2, 1], stride=[2, 1])
    e: avgpool([1, 2])
    f: lrn(3)
    g: layernorm(dim=-1)
    h: relu6
    i: tanh
    j: sigmoid
    k: gelu
    l: scaled_tanh
    m: softmax(0)
    n: subsample([1, 2])
    o: adaptive_avgpool([1, 2])
    p: global_avgpool
    flatten
    q: linear(5)
    r: linear(3, bias=false)
"""


def test_adaptive_pool_counts_each_window_by_hand() -> None:
    """Adaptive pooling of 8x5 to 3x2: torch's row windows are inputs 0-2, 2-5 and 5-7 (3, 4 and 3
    rows, overlapping) and its column windows 0-2 and 2-4 (3 and 3): each output sums its own window
    and divides once, so 2 channels x (3 + 4 + 3) x (3 + 3) FLOPs, not the 8x5 inputs once each."""
    text = "network adaptive:\n  input: 2x8x5\n  layers:\n    a: adaptive_avgpool([3, 2])\n"
    row = next(r for r in load_text(text).analyze(count="all").rows if r.name == "a")
    assert (tuple(row.output_shape), row.extra_flops) == ((2, 3, 2), 2 * (3 + 4 + 3) * (3 + 3))


MORE_SHAPES = """
from "std/mlp.arch" import MLP

network more:
  input: 5x4
  layers:
    att: attention(2, bias=false)
    mlp: MLP(8)
"""

THREE_WAY_ADD = """
network three:
  input: 2x3x3
  layers:
    add:
      relu
      tanh
      sigmoid
"""


def test_count_all_rules_without_biases_over_rows_and_branches_by_hand() -> None:
    """The `--count all` rules where an argument or a shape changes them (docs/language.md), by hand:
    attention without biases keeps only its 3 FLOPs per score per head; an MLP over a 3-D input runs
    once per row of its last axis (3 x 4 rows); an add of three branches adds twice per element."""
    rows = {row.name: row for row in load_text(MORE_SHAPES).analyze(count="all").rows}
    n, d = 5, 4
    assert rows["att"].extra_flops == 3 * 2 * n * n
    assert rows["mlp"].extra_flops == n * (2 * 8 + d)
    image = 'from "std/mlp.arch" import MLP\n\nnetwork m:\n  input: 3x4x6\n  layers:\n    mlp: MLP(8)\n'
    mlp = next(r for r in load_text(image).analyze(count="all").rows if r.name == "mlp")
    assert (mlp.macs, mlp.extra_flops) == (3 * 4 * 8 * (6 + 6), 3 * 4 * (2 * 8 + 6))
    add = next(r for r in load_text(THREE_WAY_ADD).analyze(count="all").rows if r.op == "add")
    assert add.extra_flops == (3 - 1) * 2 * 3 * 3
    convs = "network c:\n  input: 2x5x7\n  layers:\n    a: conv(3, 3, bias=false)\n    b: conv(4, 1)\n"
    counted = {r.name: r.extra_flops for r in load_text(convs).analyze(count="all").rows}
    assert (counted["a"], counted["b"]) == (0, 4 * 3 * 5)  # no bias: nothing added; else one per output


TOKENS = """
from "std/mlp.arch" import MLP

network tokens:
  input: 1x4x6
  layers:
    pe: patch_embed(4, 2)
    ct: class_token
    pos: position_embedding
    att: attention(2)
    mlp: MLP(8)
    sel: select_token
"""


def test_count_all_extra_flops_by_hand() -> None:
    """Each op's `--count all` rule on non-square shapes, by hand (the rules in docs/language.md)."""
    rows = {row.name: row for row in load_text(EXTRAS).analyze(count="all").rows}
    expected = {
        "a": 4 * 6 * 8,  # a bias per output element: 4x6x8
        "b": 2 * 192,  # scale and shift
        "c": 192,
        "d": (4 * 3 * 8) * 2 * 1,  # output 4x3x8, a 2x1 window each
        "e": (4 * 3 * 4) * 1 * 2,  # output 4x3x4, a 1x2 window each
        "f": (3 + 3) * 48,
        "g": 5 * 48,
        "h": 2 * 48,
        "i": 48,
        "j": 48,
        "k": 48,
        "l": 3 * 48,
        "m": 3 * 48,
        "n": (4 * 3 * 2) * (1 * 2 + 2),  # output 4x3x2: window sum, coefficient, bias
        "o": (4 * 1 * 2) * 3 * 1,  # 3x2 to 1x2: windows of 3x1
        "p": 4 * 1 * 2,  # every input element
        "q": 5,
        "r": 0,
    }
    assert {name: rows[name].extra_flops for name in expected} == expected
    assert rows["a"].macs == 4 * 6 * 8 * 2 * 3 * 1 and rows["q"].macs == 4 * 5 and rows["r"].macs == 15
    tokens = {row.name: row for row in load_text(TOKENS).analyze(count="all").rows}
    n, d = 2 * 3 + 1, 4  # a 2x3 grid of patches and the class token; width 4
    assert {name: tokens[name].extra_flops for name in ("pe", "ct", "pos", "att", "mlp", "sel")} == {
        "pe": 6 * d,  # the patch projection's bias
        "ct": 0,
        "pos": n * d,
        "att": 4 * n * d + 3 * 2 * n * n,  # four projection biases; scale, exp, divide per score per head
        "mlp": n * (2 * 8 + d),  # two biases and the GELU
        "sel": 0,
    }
    assert tokens["pe"].macs == 6 * d * 1 * 2 * 2
    assert tokens["att"].macs == 4 * n * d * d + 2 * n * n * d
    assert tokens["mlp"].macs == n * 8 * (d + d)


SWIN_OPS = """
network swinops:
  input: 8x5x9
  layers:
    permute([1, 2, 0])
    a: shifted_window_attention(heads=2, window=3, shift=1)
    b: shifted_window_attention(heads=2, window=3, shift=0, qkv_bias=false)
    c: patch_merging
    d: shifted_window_attention(heads=4, window=3, shift=1, proj_bias=false)
"""


def test_swin_ops_by_hand() -> None:
    """Swin's window attention and patch merging on a 5x9 map of 8 channels (non-square, padded to
    window multiples), every figure from the rules in docs/language.md worked by hand."""
    rows = {row.name: row for row in load_text(SWIN_OPS).analyze(count="all").rows}
    c, w, heads = 8, 3, 2
    tokens = 6 * 9  # 5x9 padded to 6x9 for 3x3 windows
    scores = heads * tokens * w * w
    assert rows["a"].params == 4 * c * c + 4 * c + (2 * w - 1) ** 2 * heads
    assert rows["b"].params == 4 * c * c + c + (2 * w - 1) ** 2 * heads  # no q/k/v biases
    assert rows["a"].macs == rows["b"].macs == 4 * tokens * c * c + 2 * tokens * w * w * c
    # --count all: projection biases, the query scaling, per score the bias add and softmax (3), and the
    # shift's mask add (a 4th) when shifted
    assert rows["a"].extra_flops == 4 * tokens * c + tokens * c + 4 * scores
    assert rows["b"].extra_flops == 1 * tokens * c + tokens * c + 3 * scores
    # patch merging: 5x9 to 3x5 (odd sides padded), 4C to 2C
    assert rows["c"].params == 8 * c * c + 8 * c
    assert rows["c"].macs == 3 * 5 * 4 * c * 2 * c
    assert rows["c"].extra_flops == 5 * 3 * 5 * 4 * c
    # a token sees its window: at most w - 1 tokens to either side; merging is a 2x2 window, stride 2
    assert rows["a"].receptive_field == ReceptiveField((5, 5), (1, 1), (2, 2))
    assert rows["b"].receptive_field == ReceptiveField((9, 9), (1, 1), (4, 4))
    assert rows["c"].receptive_field == ReceptiveField((10, 10), (2, 2), (4, 4))
    # without the output projection's bias, on the merged 3x5 map of 16 channels (padded to 3x6; a side
    # no longer than the window drops the shift only along that side, so the mask add stays)
    c, tokens = 16, 3 * 6
    scores = 4 * tokens * w * w
    assert rows["d"].params == 4 * c * c + 3 * c + (2 * w - 1) ** 2 * 4
    assert rows["d"].extra_flops == 3 * tokens * c + tokens * c + 4 * scores


def test_patch_embedding_and_layer_scale_by_hand() -> None:
    """A patch embedding sees its patch (size and stride the patch size); layer scale keeps one
    coefficient per channel of a map (C x 1 x 1) or per feature of a token sequence, and multiplies
    every element."""
    rows = {row.name: row for row in load_text(TOKENS).analyze().rows}
    assert rows["pe"].receptive_field == ReceptiveField((2, 2), (2, 2), (0, 0))  # 2x2 patches
    text = (
        "network scaled:\n  input: 6x4x5\n  layers:\n    m: layer_scale(0.1, dim=0)\n"
        "    flatten\n    l: linear(7)\n    t: layer_scale(1e-6)\n"
    )
    network = load_text(text)
    counted = {row.name: row for row in network.analyze(count="all").rows}
    assert counted["m"].params == 6 and counted["m"].extra_flops == 6 * 4 * 5
    assert counted["t"].params == 7 and counted["t"].extra_flops == 7
    shapes = {node.name: node.op.shape for node in network.graph.nodes if node.op.kind == "layer_scale"}
    assert shapes == {"m": (6, 1, 1), "t": (7,)}
    pixels = load_text("network p:\n  input: 3x2x5\n  layers:\n    pe: patch_embed(4, 1)\n")
    assert pixels.graph.output_shape == (2 * 5, 4)  # a patch of one pixel: a token per pixel
    assert pixels.params == 3 * 4 + 4


def test_rbf_output_by_hand() -> None:
    """LeNet-5's RBF units on 12 inputs: one MAC per (unit, input) pair (the x·c matmul), and with
    `--count all` the squared norms and their combination: 2 FLOPs per input and 2 per unit."""
    text = "network rbfnet:\n  input: [12]\n  layers:\n    out: rbf(5)\n"
    row = {r.name: r for r in load_text(text).analyze(count="all").rows}["out"]
    assert (row.params, row.macs, row.extra_flops) == (0, 5 * 12, 2 * 12 + 2 * 5)


def test_explain_gives_every_axis_of_a_non_square_field() -> None:
    text = (
        "network axes:\n  input: 1x16x16\n  layers:\n    body:\n"
        "      a: conv(1, [3, 5], pad=[1, 2])\n      b: conv(1, [1, 3], stride=[1, 2], pad=[0, 1])\n"
    )
    analysis = load_text(text).analyze()
    # by hand: a sees 3 rows and 5 columns (P 1 and 2); b adds 0 rows and 2 columns, and stride 2 across
    assert "receptive field at its output: size 3x7, stride 1x2, padding 1x3" in explain(analysis, "body")
    lines = explain(analysis, "body.b").splitlines()
    assert "  height: r = r_in + (k-1)·d·j_in = 3 + 0·1·1 = 3" in lines
    assert "  width: r = r_in + (k-1)·d·j_in = 5 + 2·1·1 = 7" in lines
    assert "  width: P = P_in + p·j_in = 2 + 1·1 = 3" in lines


def test_explain_labels_the_whole_and_the_spatial_field_after_a_gate() -> None:
    analysis = load_text(ORDERED).analyze()
    text = explain(analysis, "sum")
    assert "receptive field: global (whole: a gate fed by global pooling sees every pixel)" in text
    assert (
        "receptive field of the spatial path (gates' global inputs left out): size 7, stride 4, padding 3"
        in text
    )
