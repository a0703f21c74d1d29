"""The torch backend against torchvision: same parameters, names, shapes, outputs; compile, export, meta."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from oracles import assert_same_outputs, build_generated_empty, randomise
from torch import nn

import archspec
from archspec.backends.torch_build import forward_shapes
from archspec.catalog import catalog
from archspec.errors import UsageError

torchvision = pytest.importorskip("torchvision")

ZOO = [variant for entry in catalog() for variant in entry.variants]
BIG = {"vit_l_16", "vit_l_32", "vit_b_16", "resnet101", "resnet152", "swin_t"} | {
    v for v in ZOO if v.startswith("vgg1")
}
FAST_OUTPUTS = {
    "resnet18",
    "resnet50",
    "alexnet",
    "vgg11",
    "mobilenet_v2",
    "googlenet",
    "vit_b_32",
    "mobilenet_v3_large",
}
TORCHVISION_KWARGS: dict[str, dict[str, Any]] = {"googlenet": {"aux_logits": False, "init_weights": False}}


def zoo_params(variants: list[str], fast: set[str] | None = None) -> list[Any]:
    """Variants as pytest params; the big ones (or all but ``fast``) only under -m slow."""
    slow = BIG if fast is None else set(variants) - fast
    return [pytest.param(v, marks=pytest.mark.slow) if v in slow else v for v in variants]


# Written from primitives, these run einsum where torchvision runs matmul: their outputs agree within a
# relative tolerance, not bit for bit, and tests/test_zoo_v2.py compares them so (full size: slow).
# (Checked: maxvit_t differs by 7e-7 at an output scale of 1.9 in the tests below. swin_v2_t's
# non-persistent buffers, which `to_empty` leaves uninitialised, are set again by `load_state_dict`.)
NOT_BIT_EXACT = {"swin_v2_t", "maxvit_t"}


def in_torchvision(variant: str) -> bool:
    return hasattr(torchvision.models, variant) and variant not in {"alexnet_paper"}


def reference(variant: str, device: str | None = None) -> nn.Module:
    with torch.device(device or "cpu"):
        model: nn.Module = getattr(torchvision.models, variant)(
            weights=None, **TORCHVISION_KWARGS.get(variant, {})
        )
    return model


@pytest.fixture(autouse=True)
def _threads() -> None:
    torch.set_num_threads(2)


# ---------------------------------------------------------------- parameters, names, shapes (on meta: cheap)


@pytest.mark.parametrize("variant", ZOO)
def test_parameter_count_equals_analysis(variant: str) -> None:
    net = archspec.load(variant)
    module = net.build(device="meta")
    assert sum(p.numel() for p in module.parameters()) == net.params
    assert all(p.device.type == "meta" for p in module.parameters())


@pytest.mark.parametrize("variant", [v for v in ZOO if in_torchvision(v)])
def test_state_dict_keys_and_shapes_equal_torchvision(variant: str) -> None:
    ours = archspec.load(variant).build(device="meta").state_dict()
    theirs = reference(variant, "meta").state_dict()
    assert list(ours) == list(theirs)
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in theirs.items()}


# ---------------------------------------------------------------- outputs with torchvision's weights


def randomised_reference(variant: str) -> nn.Module:
    """torchvision's model with real numbers in every tensor (see ``oracles.randomise``), in eval mode.

    Built on meta and moved to the CPU uninitialised, since its own initialisation is overwritten anyway;
    except a model with index buffers computed in ``__init__`` (Swin's relative-position index), which
    ``to_empty`` would leave as garbage and no ``reset_parameters`` restores: that one is built on the CPU.
    """
    model = reference(variant, "meta")
    computed = [
        name
        for name, buffer in model.named_buffers()
        if not buffer.is_floating_point() and not name.endswith("num_batches_tracked")
    ]
    model = reference(variant, "cpu") if computed else model.to_empty(device="cpu")
    return randomise(model).eval()


@pytest.mark.parametrize(
    "variant", zoo_params([v for v in ZOO if in_torchvision(v) and v not in NOT_BIT_EXACT], FAST_OUTPUTS)
)
def test_outputs_equal_torchvision_with_its_randomised_weights(variant: str) -> None:
    """build(), loaded with torchvision's (randomised) weights, computes torchvision's outputs bit for bit:
    the same kernels run in the same order."""
    net = archspec.load(variant)
    theirs = randomised_reference(variant)
    ours = net.build(device="meta").to_empty(device="cpu")
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(1, *net.graph.input_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert_same_outputs(ours.eval()(x), theirs(x), exact=True)


# A test of its own (not a second half of the one above): mutation testing deselects the generated-source
# tests (`-k "not generated"`), since the code generator copies the mutated layers' source.
@pytest.mark.parametrize(
    "variant", zoo_params([v for v in ZOO if in_torchvision(v) and v not in NOT_BIT_EXACT], FAST_OUTPUTS)
)
def test_generated_source_outputs_equal_torchvision_with_its_randomised_weights(
    variant: str, tmp_path: Path
) -> None:
    """The compiled source, loaded with torchvision's (randomised) weights, computes its outputs bit for
    bit."""
    net = archspec.load(variant)
    theirs = randomised_reference(variant)
    generated = build_generated_empty(net.to_source(), tmp_path)
    generated.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(1, *net.graph.input_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert_same_outputs(generated.eval()(x), theirs(x), exact=True)


SHAPE_FAST = {"lenet5", "lecun1989", "resnet18", "googlenet", "mobilenet_v2", "mobilenet_v1", "vit_b_32"}


@pytest.mark.parametrize("variant", zoo_params(ZOO, SHAPE_FAST))
def test_inferred_shapes_equal_forward_shapes(variant: str) -> None:
    net = archspec.load(variant)
    module = net.build().eval()
    shapes = forward_shapes(module, net.graph, torch.randn(1, *net.graph.input_shape))
    assert shapes == {node.id: node.shape for node in net.graph.nodes}


# ---------------------------------------------------------------- stochastic depth


def stochastic_depths(module: nn.Module) -> dict[str, tuple[float, str]]:
    return {
        name: (layer.p, layer.mode)
        for name, layer in module.named_modules()
        if type(layer).__name__ == "StochasticDepth"
    }


def test_efficientnet_stochastic_depth_rates_equal_torchvision() -> None:
    """Every residual block drops at torchvision's rate, 0.2 * index / blocks, to the last bit. torchvision
    also builds one in the first block of each downsampling stage, where no residual uses it."""
    ours = stochastic_depths(archspec.load("efficientnet_v2_s").build(device="meta"))
    theirs = stochastic_depths(reference("efficientnet_v2_s", "meta"))
    assert len(ours) == 35
    assert {name: theirs[name] for name in ours} == ours
    unused = sorted(set(theirs) - set(ours))
    assert unused == [f"features.{stage}.0.stochastic_depth" for stage in range(2, 7)]


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_layer_equals_torchvision_in_training(mode: str) -> None:
    from archspec.backends.torch_layers import StochasticDepth

    x = torch.randn(64, 3, 4, 4)
    ours, theirs = StochasticDepth(0.3, mode), torchvision.ops.StochasticDepth(0.3, mode)
    torch.manual_seed(5)
    a = ours.train()(x)
    torch.manual_seed(5)
    b = theirs.train()(x)
    assert torch.equal(a, b)
    kept = (a != 0).flatten(1).any(1).float().mean().item()
    assert 0.4 < kept < 0.95 if mode == "row" else kept in (0.0, 1.0)
    assert torch.equal(ours.eval()(x), x)


# ---------------------------------------------------------------- the historical layers


def test_lenet5_c3_holds_only_the_connected_weights() -> None:
    net = archspec.load("lenet5")
    module = net.build()
    assert sum(p.numel() for p in module.get_submodule("C3").parameters()) == 1_516
    assert sum(p.numel() for p in module.parameters()) == 60_000
    assert module.get_submodule("output").centres.shape == (10, 84)  # a buffer, not trained


# (table, kernel, stride, padding, dilation, bias, input size): several widths out of order (the outputs
# regrouped), exactly two widths, one width; square and non-square geometry; every kind of bias.
TABLE_CASES = [
    (((0, 1, 2), (1, 2, 3), (0, 1, 2, 3), (3,), (2, 0)), 3, 1, 1, 1, "unshared", (6, 6)),
    (((0, 1), (2,), (1, 2), (0,)), (3, 2), (2, 1), (1, 0), (1, 2), True, (7, 9)),
    (((0, 1), (1, 2), (2, 0)), 2, 1, 0, 1, False, (5, 8)),
    (((2,), (0, 1, 2)), (2, 3), 1, (0, 1), 1, "unshared", (6, 4)),
]


@pytest.mark.parametrize(
    ("table", "kernel", "stride", "padding", "dilation", "bias", "size"),
    TABLE_CASES,
    ids=["regrouped", "two-widths", "one-width", "unshared-non-square"],
)
def test_connection_table_conv_equals_a_masked_dense_conv(
    table: Any, kernel: Any, stride: Any, padding: Any, dilation: Any, bias: Any, size: tuple[int, int]
) -> None:
    """The same as torch's dense conv whose kernels are zero where the table connects nothing."""
    from archspec.backends.torch_layers import ConnectionTableConv2d

    inputs = 1 + max(c for row in table for c in row)
    x = torch.randn(2, inputs, *size, generator=torch.Generator().manual_seed(4))
    kernel_hw = (kernel, kernel) if isinstance(kernel, int) else kernel
    dense = torch.zeros(len(table), inputs, *kernel_hw)
    out_size = tuple(F.conv2d(x, dense, stride=stride, padding=padding, dilation=dilation).shape[-2:])
    layer = ConnectionTableConv2d(
        inputs, len(table), kernel, table, stride, padding, dilation, bias=bias, out_size=out_size
    )
    with torch.no_grad():
        if layer.bias is not None:
            layer.bias.normal_()
        start = 0
        for j, row in enumerate(table):
            for k, c in enumerate(row):
                dense[j, c] = layer.weight[start + k]
            start += len(row)
        expected = F.conv2d(x, dense, stride=stride, padding=padding, dilation=dilation)
        if bias == "unshared":
            assert layer.bias is not None and tuple(layer.bias.shape) == (len(table), *out_size)
            expected = expected + layer.bias
        elif bias:
            assert layer.bias is not None
            expected = expected + layer.bias.view(-1, 1, 1)
        else:
            assert layer.bias is None
        assert_same_outputs(layer(x), expected, rtol=1e-5)  # a sum in another order: not bit for bit


def test_connection_table_conv_starts_as_torchs_conv_over_the_connected_inputs() -> None:
    """Each output channel's kernels are drawn as torch's conv draws a kernel over that many input
    channels (kaiming_uniform with a = sqrt(5): a bound of 1/sqrt(fan-in)), channel by channel; the
    bias starts at zero, also after ``to_empty`` (the index buffers follow the device, and are not
    saved)."""
    from archspec.backends.torch_layers import ConnectionTableConv2d

    table = ((0, 1, 2), (3,), (1, 3))
    torch.manual_seed(3)
    layer = ConnectionTableConv2d(4, 3, (3, 2), table)
    torch.manual_seed(3)
    expected, start = torch.empty(6, 3, 2), 0
    for row in table:
        kernels = expected[start : start + len(row)].view(1, len(row), 3, 2)
        torch.nn.init.kaiming_uniform_(kernels, a=5**0.5)
        start += len(row)
    assert torch.equal(layer.weight.detach(), expected)
    with torch.no_grad():
        assert layer.bias is not None
        layer.bias.fill_(5.0)
    layer.reset_parameters()
    assert layer.bias is not None and not layer.bias.any()
    buffers = sorted(name for name, _ in layer.named_buffers())
    assert buffers == ["input_index", "output_index", "weight_index"]
    assert sorted(layer.state_dict()) == ["bias", "weight"]
    layer.to_empty(device="meta")
    layer.reset_parameters()
    assert {tensor.device.type for tensor in layer.buffers()} == {"meta"}
    assert layer(torch.empty(1, 4, 5, 5, device="meta")).shape == (1, 3, 3, 4)
    with pytest.raises(ValueError) as caught:
        ConnectionTableConv2d(4, 3, 3, table[:2])
    assert str(caught.value) == "the table has 2 rows for 3 output channels"


def test_scaled_tanh_is_lecuns() -> None:
    """LeCun et al. 1998, Appendix A: f(a) = A tanh(S a) with A = 1.7159 and S = 2/3."""
    from archspec.backends.torch_layers import ScaledTanh

    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(2)) * 3
    assert_same_outputs(ScaledTanh()(x), 1.7159 * torch.tanh(x * 2 / 3), rtol=1e-6)
    assert_same_outputs(ScaledTanh(2.0, 0.5)(x), 2.0 * torch.tanh(x * 0.5), rtol=1e-6)


def test_rbf_centres_are_the_digit_bitmaps_or_a_fixed_code() -> None:
    """LeNet-5's ten centres are 7x12 bitmaps, +1 for ink and -1 for paper, ten different ones, each
    with a blank top row; other sizes get a code of +1 and -1 that depends on the sizes only: the
    same whatever the global seed, drawn without touching the global generator."""
    from archspec.backends.torch_layers import RBF

    digits = RBF(84, 10).centres.view(10, 12, 7)
    assert set(digits.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(digits[:, 0], -torch.ones(10, 7))
    assert len({tuple(digit.flatten().tolist()) for digit in digits}) == 10
    for in_features, units in ((20, 10), (84, 3), (30, 7)):
        torch.manual_seed(0)
        first = RBF(in_features, units).centres
        torch.manual_seed(1)
        untouched = torch.rand(4)
        torch.manual_seed(1)
        second = RBF(in_features, units).centres
        assert torch.equal(torch.rand(4), untouched)
        assert torch.equal(first, second) and first.shape == (units, in_features)
        assert set(first.unique().tolist()) == {-1.0, 1.0}
    layer = RBF(84, 10)
    with torch.no_grad():
        layer.centres.zero_()
    layer.reset_parameters()
    assert torch.equal(layer.centres.view(10, 12, 7), digits)


def test_lecun1989_has_9760_parameters() -> None:
    module = archspec.load("lecun1989").build()
    assert sum(p.numel() for p in module.parameters()) == 9_760


def test_rbf_is_a_visible_matmul() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    from archspec.backends.torch_layers import RBF

    layer = RBF(84, 10)
    assert set(layer.centres.unique().tolist()) == {-1.0, 1.0}
    x = torch.randn(3, 84)
    with FlopCounterMode(display=False) as counter:
        y = layer(x)
    assert counter.get_total_flops() == 2 * 3 * 84 * 10
    assert_same_outputs(y, -torch.cdist(x, layer.centres).pow(2), rtol=1e-5)


def test_lrn_is_torchs_with_every_argument_of_the_spec() -> None:
    """alexnet_paper's LRN is not in torchvision: its arguments, none of them the default, reach torch's
    module in the right places (a dropped or shifted one changes the output)."""
    text = "network t:\n  input: 8x5x5\n  layers:\n    lrn(3, alpha=0.5, beta=0.6, k=2.5)\n"
    built = archspec.load("t.arch", text=text).build().eval()
    x = torch.randn(2, 8, 5, 5, generator=torch.Generator().manual_seed(3))
    expected = nn.LocalResponseNorm(3, alpha=0.5, beta=0.6, k=2.5)(x)
    assert torch.equal(built(x), expected)
    assert not torch.allclose(expected, nn.LocalResponseNorm(3)(x))  # the arguments matter here


def test_constant_padding_uses_the_specs_value() -> None:
    """lecun1989 pads with -1; the built pad is torch's constant pad with that value."""
    text = "network t:\n  input: 2x3x4\n  layers:\n    pad(2, value=-1.5)\n"
    built = archspec.load("t.arch", text=text).build()
    x = torch.randn(1, 2, 3, 4, generator=torch.Generator().manual_seed(4))
    assert torch.equal(built(x), F.pad(x, (2, 2, 2, 2), value=-1.5))


def test_window_attention_builds_only_the_biases_the_spec_asks_for() -> None:
    """The same layers as test_analysis.py's Swin test, built: parameters per layer by hand."""
    text = (
        "network swinops:\n  input: 8x5x9\n  layers:\n    permute([1, 2, 0])\n"
        "    a: shifted_window_attention(heads=2, window=3, shift=1)\n"
        "    b: shifted_window_attention(heads=2, window=3, shift=0, qkv_bias=false)\n"
        "    c: patch_merging\n"
        "    d: shifted_window_attention(heads=4, window=3, shift=1, proj_bias=false)\n"
    )
    built = archspec.load("t.arch", text=text).build()
    counts = {name: sum(p.numel() for p in getattr(built, name).parameters()) for name in "abd"}
    c, table = 8, (2 * 3 - 1) ** 2  # channels; relative position bias entries per head
    assert counts == {
        "a": 4 * c * c + 4 * c + table * 2,  # q, k, v and output projections, all with biases
        "b": 4 * c * c + c + table * 2,  # the output projection's bias only
        "d": 4 * (2 * c) ** 2 + 3 * (2 * c) + table * 4,  # on patch merging's 16 channels, q/k/v biases
    }


@pytest.mark.parametrize("variant", ["resnet18", "lenet5", "vit_b_32"])
def test_trainable_parameters_and_buffers_of_every_row_are_torchs(variant: str) -> None:
    """Each layer's and container's trainable parameters and buffers, against the built module's
    parameters that require a gradient and buffers in its state dict (BN statistics, LeNet-5's RBF
    centres; not C3's index tensors, bookkeeping torch does not save) under that name."""
    network = archspec.load(variant)
    module = network.build(device="meta")
    saved = set(module.state_dict())
    named = list(module.named_parameters())
    buffers = [(name, b) for name, b in module.named_buffers() if name in saved]

    def under(row: str, items: list[tuple[str, torch.Tensor]]) -> list[torch.Tensor]:
        # a parameter op (class_token) is itself the parameter
        return [t for name, t in items if name == row or name.startswith(row + ".")]

    for row in network.analyze().rows:
        trainable = sum(p.numel() for p in under(row.name, named) if p.requires_grad)
        assert (row.trainable_params, row.buffers) == (
            trainable,
            sum(b.numel() for b in under(row.name, buffers)),
        ), row.name


@pytest.mark.parametrize("variant", ["mobilenet_v3_large", "efficientnet_v2_s", "resnet18"])
def test_norm_layers_train_as_torchvisions(variant: str) -> None:
    """What eval-mode outputs cannot show: each norm layer's eps, momentum (MobileNetV3's 0.01) and
    affine flags, module by module, are torchvision's."""

    def settings(model: nn.Module) -> dict[str, tuple[Any, ...]]:
        norms = (nn.BatchNorm2d, nn.LayerNorm)
        return {
            name: (type(m).__name__, m.eps, getattr(m, "momentum", None), getattr(m, "affine", None))
            for name, m in model.named_modules()
            if isinstance(m, norms)
        }

    ours = settings(archspec.load(variant).build(device="meta"))
    assert len(ours) > 10
    assert ours == settings(reference(variant, "meta"))


def test_dilated_max_pooling_is_torchs() -> None:
    text = "network t:\n  input: 2x9x9\n  layers:\n    maxpool(3, stride=2, dilation=2, ceil_mode=true)\n"
    built = archspec.load("t.arch", text=text).build()
    x = torch.randn(1, 2, 9, 9, generator=torch.Generator().manual_seed(5))
    assert torch.equal(built(x), F.max_pool2d(x, 3, stride=2, dilation=2, ceil_mode=True))


def test_unshared_bias_conv_is_a_grouped_dilated_conv_plus_a_bias_per_position() -> None:
    text = (
        "network t:\n  input: 4x9x13\n  layers:\n"
        '    h: conv(6, 3, stride=2, pad=1, dilation=2, groups=2, bias="unshared")\n'
    )
    built = archspec.load("t.arch", text=text).build()
    weight, bias = built.h.weight, built.h.bias
    # in/groups = 2; (9 + 2 - 5) // 2 + 1 = 4 rows and (13 + 2 - 5) // 2 + 1 = 6 columns of biases
    assert (tuple(weight.shape), tuple(bias.shape)) == ((6, 2, 3, 3), (6, 4, 6))
    with torch.no_grad():
        torch.nn.init.normal_(bias)  # not the zeros it starts with
        x = torch.randn(1, 4, 9, 13, generator=torch.Generator().manual_seed(6))
        expected = F.conv2d(x, weight, None, stride=2, padding=1, dilation=2, groups=2) + bias
        assert torch.equal(built(x), expected)


def test_average_pooling_is_torchs_with_ceil_mode_and_padding_left_out() -> None:
    pool = "avgpool(3, stride=2, pad=1, ceil_mode=true, count_include_pad=false)"
    text = f"network t:\n  input: 2x8x8\n  layers:\n    {pool}\n"
    built = archspec.load("t.arch", text=text).build()
    x = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(7))
    expected = F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
    assert expected.shape[-1] == 5  # ceil((8 + 2 - 3) / 2) + 1; floor gives 4
    assert torch.equal(built(x), expected)


@pytest.mark.parametrize(("arguments", "size", "right"), [("stride=1", 5, 0), ("ceil_mode=true", 5, 1)])
def test_subsampling_sums_each_window_with_the_specs_stride_and_ceil_mode(
    arguments: str, size: int, right: int
) -> None:
    """LeNet-5's S-layer: each 2x2 window's sum times a coefficient plus a bias, per map. The reference
    sums with a depthwise conv of ones; a window that ceil mode lets run off the edge sums what is there
    (zeros padded on the right and bottom)."""
    text = f"network t:\n  input: 3x{size}x{size}\n  layers:\n    s: subsample(2, {arguments})\n"
    built = archspec.load("t.arch", text=text).build()
    with torch.no_grad():
        torch.nn.init.normal_(built.s.weight)
        torch.nn.init.normal_(built.s.bias)
        x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(8))
        stride = 1 if arguments == "stride=1" else 2
        sums = F.conv2d(F.pad(x, (0, right, 0, right)), torch.ones(3, 1, 2, 2), stride=stride, groups=3)
        expected = sums * built.s.weight.view(-1, 1, 1) + built.s.bias.view(-1, 1, 1)
        assert torch.allclose(built(x), expected, rtol=1e-6, atol=0)


@pytest.mark.parametrize(("merge", "combine"), [("add", torch.add), ("mul", torch.mul)])
def test_three_way_merges_combine_every_branch(merge: str, combine: Any) -> None:
    branches = "".join(f"      {name}: linear(3)\n" for name in "abc")
    text = f"network t:\n  input: [4]\n  layers:\n    {merge}:\n{branches}"
    built = archspec.load("t.arch", text=text).build()
    x = torch.randn(2, 4, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        assert torch.equal(built(x), combine(combine(built.a(x), built.b(x)), built.c(x)))


@pytest.mark.parametrize("variant", ["vit_b_32", "mobilenet_v2", "googlenet"])
def test_dropout_rates_are_torchvisions_module_by_module(variant: str) -> None:
    """What eval-mode outputs cannot show: every dropout (and attention's own dropout) with its rate,
    under torchvision's name."""

    def rates(model: nn.Module) -> dict[str, float]:
        found = {name: m.p for name, m in model.named_modules() if isinstance(m, nn.Dropout)}
        found |= {
            name: m.dropout for name, m in model.named_modules() if isinstance(m, nn.MultiheadAttention)
        }
        return found

    ours = rates(archspec.load(variant).build(device="meta"))
    assert ours and ours == rates(reference(variant, "meta"))


def test_attention_dropout_is_the_specs() -> None:
    """torchvision's ViTs keep attention dropout at 0.0, the module's default: a spec's own rate must
    still reach the module."""
    text = "network t:\n  input: [5, 8]\n  layers:\n    attn: attention(2, dropout=0.25)\n"
    assert archspec.load("t.arch", text=text).build().attn.dropout == 0.25


def test_vit_parameters_sit_where_torchvision_has_them() -> None:
    module = archspec.load("vit_b_32").build(device="meta")
    assert module.class_token.shape == (1, 1, 768)
    assert module.get_submodule("encoder").pos_embedding.shape == (1, 50, 768)


# ---------------------------------------------------------------- compile, export, devices, dtypes


@pytest.mark.parametrize("variant", ["lenet5", "resnet18"])
def test_dynamo_traces_without_graph_breaks(variant: str) -> None:
    net = archspec.load(variant)
    module = randomise(net.build()).eval()
    compiled = torch.compile(module, fullgraph=True, backend="eager")
    x = torch.randn(2, *net.graph.input_shape)
    with torch.no_grad():
        assert_same_outputs(compiled(x), module(x), exact=True)  # eager: the same kernels
    torch._dynamo.reset()


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["lenet5", "resnet18", "googlenet", "mobilenet_v2", "vit_b_32"])
def test_torch_compile_inductor_fullgraph(variant: str) -> None:
    net = archspec.load(variant)
    module = randomise(net.build()).eval()
    compiled = torch.compile(module, fullgraph=True)
    x = torch.randn(2, *net.graph.input_shape)
    with torch.no_grad():
        assert_same_outputs(compiled(x), module(x), rtol=1e-4)  # inductor fuses: other kernels
    torch._dynamo.reset()


@pytest.mark.parametrize("variant", ["resnet18", pytest.param("vit_b_32", marks=pytest.mark.slow),
                                     pytest.param("googlenet", marks=pytest.mark.slow)])  # fmt: skip
def test_torch_export(variant: str) -> None:
    net = archspec.load(variant)
    module = randomise(net.build()).eval()
    x = torch.randn(1, *net.graph.input_shape)
    exported = torch.export.export(module, (x,))
    with torch.no_grad():
        assert_same_outputs(exported.module()(x), module(x), rtol=1e-5)


def test_meta_build_allocates_nothing_and_moves_to_a_device() -> None:
    net = archspec.load("vit_l_16")
    module = net.build(device="meta")
    assert sum(p.numel() for p in module.parameters()) == net.params == 304_326_632
    small = archspec.load("lenet5").build(device="meta").to_empty(device="cpu")
    for layer in small.modules():  # torch's idiom after to_empty: fill parameters (and index buffers)
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
    reference_model = archspec.load("lenet5").build()
    small.load_state_dict(reference_model.state_dict())
    x = torch.randn(1, 1, 32, 32)
    assert_same_outputs(small(x), reference_model(x), exact=True)


def test_dtype_argument() -> None:
    module = archspec.load("lenet5").build(dtype=torch.float64)
    assert {p.dtype for p in module.parameters()} == {torch.float64}
    assert module(torch.randn(2, 1, 32, 32, dtype=torch.float64)).dtype == torch.float64


def test_budget_guard_names_the_size_and_the_override() -> None:
    net = archspec.load("resnet18")
    with pytest.raises(UsageError) as error:
        net.build(max_param_bytes=1_000_000)
    message = str(error.value)
    assert "0.05 GB" in message and "allow_large=True" in message
    assert net.build(max_param_bytes=1_000_000, allow_large=True) is not None


def test_channels_last_and_bfloat16_autocast_on_cpu() -> None:
    net = archspec.load("resnet18")
    module = randomise(net.build()).eval().to(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 64, 64).to(memory_format=torch.channels_last)
    with torch.no_grad():
        reference_output = module(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = module(x)
    assert y.dtype == torch.bfloat16 and y.shape == (2, 1000)
    assert_same_outputs(y.float(), reference_output, rtol=0.1)  # bfloat16 keeps 8 bits of mantissa


def test_deepcopy_and_training_step() -> None:
    module = archspec.load("googlenet", num_classes=10).build()
    clone = copy.deepcopy(module).eval()
    module.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(clone(x), module(x))
    clone.train()
    loss = clone(x).logsumexp(1).mean()
    loss.backward()
    assert all(p.grad is not None for p in clone.parameters())


def test_init_rules_of_the_spec_apply_when_built() -> None:
    text = (
        'network tiny:\n  title: "t"\n  init:\n'
        '    conv: kaiming_normal(mode="fan_out", nonlinearity="relu"), bias=zeros\n'
        "    linear: normal(0, 0.01), bias=zeros\n"
        "  input: 3x8x8\n  layers:\n"
        "    conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)\n"
    )
    module = archspec.load("tiny.arch", text=text).build()
    linear = module.get_submodule("4")
    assert isinstance(linear, nn.Linear) and float(linear.bias.detach().abs().sum()) == 0.0
    assert float(linear.weight.detach().std()) < 0.02


# Swin's and ConvNeXt's layers against torchvision's own, on small maps of every awkward geometry: sides
# that are not window multiples (padding), a side no larger than the window (no shift along it), both,
# and no shift at all; with and without biases; in training, with dropout, from the same seed.
WINDOW_CASES = [
    *((9, 13, 4, 2, True, True), (5, 3, 4, 2, True, False), (3, 2, 4, 2, False, True)),
    *((8, 8, 4, 0, True, True), (6, 11, 3, 1, False, False), (6, 2, 3, 1, True, True)),
]


@pytest.mark.parametrize(("height", "width", "window", "shift", "qkv_bias", "proj_bias"), WINDOW_CASES)
def test_window_attention_is_torchvisions(
    height: int, width: int, window: int, shift: int, qkv_bias: bool, proj_bias: bool
) -> None:
    from torchvision.models.swin_transformer import ShiftedWindowAttention as Theirs

    from archspec.backends.torch_layers import ShiftedWindowAttention

    kwargs = {"qkv_bias": qkv_bias, "proj_bias": proj_bias, "attention_dropout": 0.25, "dropout": 0.125}
    theirs = randomise(Theirs(12, [window, window], [shift, shift], 3, **kwargs))
    ours = ShiftedWindowAttention(12, window, shift, 3, **kwargs)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, height, width, 12, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert_same_outputs(ours.eval()(x), theirs.eval()(x), exact=True)
        torch.manual_seed(4)
        trained = ours.train()(x)
        torch.manual_seed(4)
        assert_same_outputs(trained, theirs.train()(x), exact=True)


@pytest.mark.parametrize(("height", "width", "eps"), [(6, 4, None), (5, 7, None), (3, 2, 0.5)])
def test_patch_merging_is_torchvisions(height: int, width: int, eps: float | None) -> None:
    import functools

    from torchvision.models.swin_transformer import PatchMerging as Theirs

    from archspec.backends.torch_layers import PatchMerging

    if eps is None:  # both defaults
        theirs, ours = randomise(Theirs(6)), PatchMerging(6)
    else:
        theirs = randomise(Theirs(6, norm_layer=functools.partial(nn.LayerNorm, eps=eps)))
        ours = PatchMerging(6, eps=eps)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, height, width, 6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert_same_outputs(ours(x), theirs(x), exact=True)


def test_channels_first_layer_norm_is_torchvisions() -> None:
    from torchvision.models.convnext import LayerNorm2d as Theirs

    from archspec.backends.torch_layers import LayerNorm2d

    theirs = randomise(Theirs(5, eps=0.5))  # an eps large enough to change the output
    ours = LayerNorm2d(5, eps=0.5)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 5, 3, 4, generator=torch.Generator().manual_seed(1)) * 0.5
    with torch.no_grad():
        assert_same_outputs(ours(x), theirs(x), exact=True)
        default_eps = LayerNorm2d(5)
        default_eps.load_state_dict(theirs.state_dict())
        assert not torch.equal(ours(x), default_eps(x))


def test_custom_layers_default_as_torch_and_torchvision() -> None:
    """Where a custom layer stands for torchvision's or torch's, its defaults are theirs (the generated
    source leaves default arguments out)."""
    import inspect

    from torchvision.models import swin_transformer

    from archspec.backends import torch_layers

    def defaults(function: Any) -> dict[str, Any]:
        parameters = inspect.signature(function).parameters.items()
        return {k: p.default for k, p in parameters if p.default is not inspect.Parameter.empty}

    window = defaults(swin_transformer.ShiftedWindowAttention)
    assert defaults(torch_layers.ShiftedWindowAttention) == window
    assert defaults(torch_layers.PatchMerging) == {"eps": defaults(nn.LayerNorm)["eps"]}
    conv = defaults(nn.Conv2d)
    assert defaults(torch_layers.UnsharedBiasConv2d) == {
        k: conv[k] for k in ("stride", "padding", "dilation", "groups")
    }
    table_conv = defaults(torch_layers.ConnectionTableConv2d)
    same = ("stride", "padding", "dilation", "bias")
    assert {k: table_conv[k] for k in same} == {k: conv[k] for k in same}
    pool = defaults(nn.AvgPool2d)
    assert defaults(torch_layers.Subsample) == {k: pool[k] for k in ("stride", "padding", "ceil_mode")}


def test_unshared_bias_conv_draws_what_a_conv_without_bias_draws() -> None:
    """Its weight is a bias-free conv's, drawn from the same seed, and nothing more is drawn (the next
    numbers from the generator are the same), so the layers after it start as they would."""
    from archspec.backends.torch_layers import UnsharedBiasConv2d

    torch.manual_seed(0)
    ours, after_ours = UnsharedBiasConv2d(4, 6, 3, (4, 6)), torch.rand(3)
    torch.manual_seed(0)
    reference, after_reference = nn.Conv2d(4, 6, 3, bias=False), torch.rand(3)
    assert torch.equal(ours.weight, reference.weight) and torch.equal(after_ours, after_reference)


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_is_torchvisions(p: float, mode: str) -> None:
    """In training from the same seed, and at inference; in float64, so that noise drawn or scaled in
    another precision shows."""
    from torchvision.ops import StochasticDepth as Theirs

    from archspec.backends.torch_layers import StochasticDepth

    x = torch.randn(8, 3, 2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ours, theirs = StochasticDepth(p, mode), Theirs(p, mode)
    torch.manual_seed(5)
    trained = ours.train()(x)
    torch.manual_seed(5)
    assert torch.equal(trained, theirs.train()(x))
    assert torch.equal(ours.eval()(x), x)
    if p == 1.0:
        assert not trained.any()
    if mode == "row":  # the default: what torchvision's networks use (the generated source leaves it out)
        torch.manual_seed(5)
        trained = StochasticDepth(p).train()(x)
        torch.manual_seed(5)
        assert torch.equal(trained, theirs.train()(x))


def test_rbf_output_has_the_inputs_dtype() -> None:
    """LeNet-5's output layer keeps float32 centres and computes in the input's precision."""
    from archspec.backends.torch_layers import RBF

    rbf = RBF(84, 10)
    x = torch.randn(2, 84, generator=torch.Generator().manual_seed(1))
    for dtype in (torch.bfloat16, torch.float64):
        assert rbf(x.to(dtype)).dtype == dtype


def test_custom_layers_describe_themselves() -> None:
    from archspec.backends.torch_layers import ShiftedWindowAttention

    lenet5 = archspec.load("lenet5").build()
    # Table I of the paper: six C3 maps see three S2 maps, nine see four, one sees all six.
    connections = 6 * 3 + 9 * 4 + 1 * 6
    assert repr(lenet5.C3) == (
        f"ConnectionTableConv2d(6, 16, kernel_size=(5, 5), stride=(1, 1), connections={connections})"
    )
    window = ShiftedWindowAttention(12, 4, 2, 3)
    assert repr(window).startswith("ShiftedWindowAttention(\n  window_size=4, shift_size=2, num_heads=3\n")


def test_custom_layers_built_with_their_defaults_behave_as_torchs_defaults() -> None:
    """The same as the signature test above, by behaviour: each layer constructed without the
    optional arguments computes what torch's or torchvision's layer does with theirs."""
    from torchvision.models.swin_transformer import ShiftedWindowAttention as Theirs

    from archspec.backends.torch_layers import ShiftedWindowAttention, Subsample, UnsharedBiasConv2d

    x = torch.randn(2, 3, 7, 9, generator=torch.Generator().manual_seed(8))
    unshared = UnsharedBiasConv2d(3, 4, 3, (5, 7))
    reference = nn.Conv2d(3, 4, 3, bias=False)
    reference.load_state_dict({"weight": unshared.weight.detach()})
    with torch.no_grad():
        assert torch.equal(unshared(x), reference(x) + unshared.bias)  # stride 1, no padding or dilation
        assert torch.equal(Subsample(3, 2)(x), F.avg_pool2d(x, 2, divisor_override=1))  # 3x4: floor
    theirs = randomise(Theirs(12, [4, 4], [2, 2], 3))
    ours = ShiftedWindowAttention(12, 4, 2, 3)
    ours.load_state_dict(theirs.state_dict(), strict=True)  # both biases
    tokens = torch.randn(2, 9, 13, 12, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(4)
    trained = ours.train()(tokens)  # no dropout
    torch.manual_seed(4)
    assert torch.equal(trained, theirs.train()(tokens))
