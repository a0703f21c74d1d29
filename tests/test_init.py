"""Initialisation rules: an untrained zoo network starts exactly where torchvision's does (same seed).

Every tensor is compared for exact equality, buffers included. That holds because the builder constructs
layers in torchvision's order (what construction draws from the RNG is what torchvision's constructors
draw, with the position embedding drawn where torchvision's Encoder draws it), applies the spec's rules
over the layers in torchvision's ``modules()`` order, and initialises ViT's MLP blocks as soon as they are
built, as torchvision's ``MLPBlock`` does (the spec's ``when built:`` rule). ResNet builds a stage's
``downsample`` before the unit's first conv while archspec builds it after the unit's residual branch;
that order does not matter: those convolutions are drawn from ``kaiming_uniform_`` (one number per
element, so the RNG ends in the same state whatever the order) and drawn again by the rules in
``modules()`` order, which is the same in both. So no statistical fallback is needed. Each rule is also
checked against ``torch.nn.init`` called directly.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import re
from pathlib import Path
from typing import Any

import pytest
import torch

import archspec
from archspec.backends.init import fans
from archspec.errors import SpecError

torchvision = pytest.importorskip("torchvision")

FAST = [
    *("resnet18", "vgg11_bn", "mobilenet_v2", "googlenet", "vit_b_32", "alexnet"),
    *("mobilenet_v3_large", "efficientnet_v2_s"),
]
SLOW = [
    *("resnet34", "resnet50", "resnet101", "resnet152"),
    *("vgg11", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"),
    *("vit_b_16", "vit_l_16", "vit_l_32"),
    "swin_t",
]
OPTIONS: dict[str, dict[str, Any]] = {"googlenet": {"aux_logits": False, "init_weights": True}}
_COUNTER = itertools.count()


def theirs(name: str) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    state: dict[str, torch.Tensor] = torchvision.models.get_model(
        name, weights=None, **OPTIONS.get(name, {})
    ).state_dict()
    return state


def ours(name: str) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    state: dict[str, torch.Tensor] = archspec.load(name).build().state_dict()
    return state


def assert_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert list(a) == list(b)
    different = [key for key in a if a[key].dtype != b[key].dtype or not torch.equal(a[key], b[key])]
    assert not different, f"{len(different)} of {len(a)} tensors differ: {different[:5]}"


def generated_build(net: archspec.Network, directory: Path) -> Any:
    name = f"generated_init_{next(_COUNTER)}"
    path = directory / f"{name}.py"
    path.write_text(net.to_source(), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build


@pytest.mark.parametrize("name", [*FAST, *(pytest.param(name, marks=pytest.mark.slow) for name in SLOW)])
def test_untrained_weights_equal_torchvision_with_the_same_seed(name: str) -> None:
    assert_identical(ours(name), theirs(name))


def test_the_zoo_writes_its_initialisation_as_rules() -> None:
    graph = archspec.load("resnet50").graph
    assert [(r.target, r.when, [(c.parameter, c.function, c.args) for c in r.calls]) for r in graph.init] == [
        ("conv", "after", [("weight", "kaiming_normal", {"mode": "fan_out", "nonlinearity": "relu"})]),
        ("batchnorm", "after", [("weight", "ones", {}), ("bias", "zeros", {})]),
    ]
    assert archspec.load("alexnet").graph.init == ()  # torch's own initialisation, as torchvision's AlexNet


def test_a_different_seed_gives_different_weights() -> None:
    torch.manual_seed(1)
    other = archspec.load("resnet18").build().state_dict()
    assert not torch.equal(other["conv1.weight"], ours("resnet18")["conv1.weight"])


@pytest.mark.parametrize("name", [*FAST, pytest.param("swin_t", marks=pytest.mark.slow)])
def test_generated_source_initialises_as_torchvision(name: str, tmp_path: Path) -> None:
    """The generated file's `build()` draws torchvision's initial weights from the same seed (Swin's
    through one `isinstance(module, nn.Linear)` test standing for three op rules, as torchvision's)."""
    build = generated_build(archspec.load(name), tmp_path)
    torch.manual_seed(0)
    generated = build().state_dict()
    assert_identical(generated, theirs(name))


# A network with every layer kind the schemes treat: a conv with a bias and a non-square kernel (fan-in
# 3*3*2 = 18, fan-out 4*3*2 = 24, so the two modes differ), 2-d and 1-d batch norm, linear layers with
# and without a bias.
TINY = (
    'network tiny:\n  title: "t"\n  init:\n{init}  input: 3x8x8\n  layers:\n'
    "    conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)\n"
)


def tiny(*rules: str) -> archspec.Network:
    return archspec.load("tiny.arch", text=TINY.format(init="".join(f"    {r}\n" for r in rules)))


def state_of(layers: dict[str, torch.nn.Module]) -> dict[str, torch.Tensor]:
    return {f"{name}.{k}": v for name, m in layers.items() for k, v in m.state_dict().items()}


# Each rule against torch.nn.init called directly on the layers torch builds in the same order.
REFERENCES: list[tuple[str, Any]] = [
    ("zeros", lambda w: torch.nn.init.zeros_(w)),
    ("ones", lambda w: torch.nn.init.ones_(w)),
    ("constant(0.25)", lambda w: torch.nn.init.constant_(w, 0.25)),
    ("normal(0.5, 2)", lambda w: torch.nn.init.normal_(w, 0.5, 2)),
    ("uniform(-0.1, b=0.3)", lambda w: torch.nn.init.uniform_(w, -0.1, 0.3)),
    ("trunc_normal(std=0.02)", lambda w: torch.nn.init.trunc_normal_(w, std=0.02)),
    (
        'kaiming_normal(mode="fan_out", nonlinearity="relu")',
        lambda w: torch.nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"),
    ),
    ("kaiming_uniform(a=1)", lambda w: torch.nn.init.kaiming_uniform_(w, a=1)),
    ("xavier_normal(gain=2)", lambda w: torch.nn.init.xavier_normal_(w, gain=2)),
    ("xavier_uniform", lambda w: torch.nn.init.xavier_uniform_(w)),
    ("orthogonal", lambda w: torch.nn.init.orthogonal_(w)),
    (
        "trunc_normal(std=sqrt(1 / fan_in))",
        lambda w: torch.nn.init.trunc_normal_(w, std=math.sqrt(1 / 27)),
    ),  # fan-in 3·3·3
    ("uniform(-1 / sqrt(fan_out), 1 / sqrt(fan_out))", lambda w: torch.nn.init.uniform_(w, -1 / 6, 1 / 6)),
]


def rule_and_reference(call: str, reference: Any) -> tuple[archspec.Network, dict[str, torch.Tensor]]:
    """A tiny network whose conv follows ``call``, and the state dict that torch's init functions give
    when called directly on torch's own layers, with the same seed."""
    net = tiny(f"conv: {call}, bias=constant(-1)", "batchnorm: weight=constant(2), bias=ones")
    torch.manual_seed(5)
    conv, norm, linear = torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(144, 10)
    with torch.no_grad():  # the reference: construction, then the rules in module order
        reference(conv.weight)
        torch.nn.init.constant_(conv.bias, -1)
        torch.nn.init.constant_(norm.weight, 2)
        torch.nn.init.ones_(norm.bias)
    expected = {
        f"{i}.{k}": v for i, m in ((0, conv), (1, norm), (4, linear)) for k, v in m.state_dict().items()
    }
    return net, expected


@pytest.mark.parametrize(("call", "reference"), REFERENCES, ids=[c for c, _ in REFERENCES])
def test_each_rule_equals_torch_init_called_directly(call: str, reference: Any) -> None:
    net, expected = rule_and_reference(call, reference)
    torch.manual_seed(5)
    assert_identical(net.build().state_dict(), expected)


# The generated source's half of the test above, a test of its own: mutation testing deselects the
# generated-source tests (`-k "not generated"`), since the code generator copies mutated functions.
@pytest.mark.parametrize(("call", "reference"), REFERENCES, ids=[c for c, _ in REFERENCES])
def test_each_rule_in_generated_source_equals_torch_init_called_directly(
    call: str, reference: Any, tmp_path: Path
) -> None:
    net, expected = rule_and_reference(call, reference)
    torch.manual_seed(5)
    assert_identical(generated_build(net, tmp_path)().state_dict(), expected)


# Op rules over layers the generated `init_weights` must not reach by class: a patch embedding is a
# conv subclass with a rule of its own (or none), attention holds a linear layer, a batch norm without
# affine parameters has nothing to draw; and a network where every layer is a plain torch layer.
BY_CLASS_CASES = {
    "plain layers": (
        "network t:\n  input: 3x8x8\n  init:\n    conv: bias=normal(0, 1), weight=kaiming_uniform(a=1)\n"
        "    batchnorm: weight=uniform(0, 1), bias=normal(0, 1)\n"
        "    linear: trunc_normal(std=sqrt(1 / fan_in)), bias=uniform(-1, 1)\n"
        "  layers:\n    conv(4, 3) >> batchnorm >> relu >> conv(4, 1, bias=false) >> batchnorm(affine=false)"
        " >> flatten >> linear(6) >> linear(5, bias=false)\n",
        True,
    ),
    "a patch embedding beside a conv": (
        "network t:\n  input: 3x8x8\n  init:\n    conv: kaiming_normal, bias=normal(0, 1)\n"
        "  layers:\n    conv(3, 3, padding=1) >> patch_embed(16, 4) >> layernorm\n",
        False,
    ),
    "a patch embedding with its own rule": (
        "network t:\n  input: 3x8x8\n  init:\n    conv: kaiming_normal, bias=normal(0, 1)\n"
        "    patch_embed: xavier_normal, bias=normal(0, 1)\n"
        "  layers:\n    conv(3, 3, padding=1) >> patch_embed(16, 4) >> layernorm\n",
        False,
    ),
    "attention beside linear layers": (
        "network t:\n  input: 3x8x8\n  init:\n    linear: normal(0, 1), bias=normal(0, 1)\n"
        "  layers:\n    patch_embed(16, 4) >> attention(2) >> linear(8) >> select_token(0) >> linear(3)\n",
        False,
    ),
    # The linear layers inside std/mlp.arch's MLP are met by the loop's `nn.Linear` test; the block
    # rule (`MLP: ...`) runs after the op rules, by the layers' names, whether it sets them as the linear
    # rule does (Swin) or otherwise, so both keep the loop.
    "an MLP set as the linear layers": (
        'from "std/mlp.arch" import MLP\n\n'
        "network t:\n  input: 3x8x8\n  init:\n    linear: trunc_normal(std=0.5), bias=normal(0, 1)\n"
        "    MLP: trunc_normal(std=0.5), bias=normal(0, 1)\n"
        "  layers:\n    patch_embed(16, 4) >> MLP(32) >> select_token(0) >> linear(3)\n",
        True,
    ),
    "an MLP set otherwise than the linear layers": (
        'from "std/mlp.arch" import MLP\n\n'
        "network t:\n  input: 3x8x8\n  init:\n    linear: trunc_normal(std=0.5), bias=normal(0, 1)\n"
        "    MLP: xavier_uniform, bias=normal(0, 1)\n"
        "  layers:\n    patch_embed(16, 4) >> MLP(32) >> select_token(0) >> linear(3)\n",
        True,
    ),
    # Patch merging's rule sets its projection only; a layer-norm test would meet its norm too.
    "patch merging beside a layer norm rule": (
        "network t:\n  input: 8x8x16\n  init:\n    patch_merging: reduction=trunc_normal(std=0.5)\n"
        "    layernorm: weight=normal(1, 0.5), bias=normal(0, 1)\n"
        "  layers:\n    patch_merging >> layernorm(dim=-1)\n",
        False,
    ),
    # A compound module's own parameter (window attention's table) is no module the loop meets.
    "window attention whose rule sets its own table": (
        "network t:\n  input: 8x8x16\n  init:\n"
        "    shifted_window_attention: relative_position_bias_table=normal(0, 1),"
        " weight=trunc_normal(std=0.5)\n"
        "    linear: trunc_normal(std=0.5)\n"
        "  layers:\n    shifted_window_attention(2, 4) >> linear(4, dim=-1)\n",
        False,
    ),
    "window attention beside linear layers, set alike": (
        "network t:\n  input: 8x8x16\n  init:\n"
        "    shifted_window_attention: weight=trunc_normal(std=0.5), bias=normal(0, 1)\n"
        "    linear: trunc_normal(std=0.5), bias=normal(0, 1)\n"
        "  layers:\n    shifted_window_attention(2, 4) >> linear(4, dim=-1)\n",
        True,
    ),
    "patch merging and linear layers": (
        "network t:\n  input: 8x8x16\n  init:\n    patch_merging: reduction=trunc_normal(std=0.5)\n"
        "    linear: trunc_normal(std=0.5), bias=normal(0, 1)\n"
        "  layers:\n    patch_merging >> linear(4, dim=-1)\n",
        True,
    ),
}


@pytest.mark.parametrize("case", sorted(BY_CLASS_CASES))
def test_generated_init_by_class_or_by_name_draws_what_build_draws(case: str, tmp_path: Path) -> None:
    text, by_class = BY_CLASS_CASES[case]
    net = archspec.load("t.arch", text=text)
    source = net.to_source()
    assert ("for module in model.modules():" in source) == by_class
    torch.manual_seed(3)
    expected = net.build().state_dict()
    torch.manual_seed(3)
    assert_identical(generated_build(net, tmp_path)().state_dict(), expected)


def test_classes_with_the_same_rule_share_one_isinstance_test(tmp_path: Path) -> None:
    """Op rules that initialise alike are one branch, as torchvision's ConvNeXt writes
    `isinstance(m, (nn.Conv2d, nn.Linear))`; the draws are still those of `build()`."""
    net = archspec.load(
        "t.arch",
        text="network t:\n  input: 3x8x8\n  init:\n"
        "    conv: trunc_normal(std=0.02), bias=zeros\n    linear: trunc_normal(std=0.02), bias=zeros\n"
        "  layers:\n    conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)\n",
    )
    source = net.to_source()
    assert (
        "    for module in model.modules():\n"
        "        if isinstance(module, (nn.Conv2d, nn.Linear)):\n"
        "            nn.init.trunc_normal_(module.weight, std=0.02)\n"
        "            nn.init.zeros_(module.bias)\n"
    ) in source
    torch.manual_seed(4)
    expected = net.build().state_dict()
    torch.manual_seed(4)
    assert_identical(generated_build(net, tmp_path)().state_dict(), expected)


def test_named_rules_run_after_the_op_rules_and_built_rules_at_construction() -> None:
    net = tiny(
        "linear: normal(0, 0.01), bias=zeros",
        '"4": uniform(-3, 3)',  # the linear, again: after the op rules, so its weight is drawn twice
        "when built:",
        "  conv: xavier_uniform",  # as the conv is constructed, before the linear draws its numbers
    )
    torch.manual_seed(9)
    conv = torch.nn.Conv2d(3, 4, 3)
    torch.nn.init.xavier_uniform_(conv.weight)
    norm, linear = torch.nn.BatchNorm2d(4), torch.nn.Linear(144, 10)
    torch.nn.init.normal_(linear.weight, 0, 0.01)
    torch.nn.init.zeros_(linear.bias)
    torch.nn.init.uniform_(linear.weight, -3, 3)
    expected = {
        f"{i}.{k}": v for i, m in ((0, conv), (1, norm), (4, linear)) for k, v in m.state_dict().items()
    }
    torch.manual_seed(9)
    assert_identical(net.build().state_dict(), expected)


# ---------------------------------------------------------------- rules naming a block

BLOCK_RULES = (
    'from "std/mlp.arch" import MLP\n\nnetwork t:\n  input: 5x32\n  init:\n{rules}'
    "  layers:\n    mlp: MLP(64)\n    head: linear(8)\n"
)


def block_rules(*rules: str) -> archspec.Network:
    text = BLOCK_RULES.format(rules="".join(f"    {r}\n" for r in rules))
    return archspec.load(f"block_rules_{next(_COUNTER)}.arch", text=text)


def test_a_block_rule_when_built_draws_as_torchvisions_mlp_block(tmp_path: Path) -> None:
    """`when built: MLP: ...` sets the block's linears once the block is constructed, as torchvision's
    MLPBlock does in its constructor (both linears drawn by nn.Linear first, then redrawn), before the
    next layer draws its numbers; the generated file wraps the block in `built(init_mlp, ...)`."""
    from torchvision.models.vision_transformer import MLPBlock

    net = block_rules("when built:", "  MLP: xavier_uniform, bias=normal(std=1e-6)")
    torch.manual_seed(6)
    mlp, head = MLPBlock(32, 64, 0.0), torch.nn.Linear(32, 8)
    expected = {f"mlp.{k}": v for k, v in mlp.state_dict().items()}
    expected.update({f"head.{k}": v for k, v in head.state_dict().items()})
    torch.manual_seed(6)
    assert_identical(net.build().state_dict(), expected)
    source = net.to_source()
    assert "        self.mlp = built(\n            init_mlp,\n            nn.Sequential(\n" in source
    assert '    """MLP: xavier_uniform, bias=normal(std=1e-06)"""\n' in source
    torch.manual_seed(6)
    assert_identical(generated_build(net, tmp_path)().state_dict(), expected)


def test_a_block_rule_sets_the_layers_inside_its_instances_after_the_op_rules(tmp_path: Path) -> None:
    net = block_rules("linear: zeros, bias=zeros", "MLP: ones")
    state = net.build().state_dict()
    assert [k for k, v in state.items() if bool((v == 1).all())] == ["mlp.0.weight", "mlp.3.weight"]
    assert [k for k, v in state.items() if bool((v == 0).all())] == [
        "mlp.0.bias",
        "mlp.3.bias",
        *("head.weight", "head.bias"),
    ]
    assert net.graph.init[1].block == "MLP" and net.graph.init[1].kind is None
    assert_identical(generated_build(net, tmp_path)().state_dict(), state)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            ("MLP: reduction=zeros",),
            "init rule for 'MLP': no parameter 'reduction'\n"
            "   6 |     MLP: reduction=zeros\n"
            "                ^^^^^^^^^^^^^^^\n"
            "  hint: its parameters: weight, bias",
        ),
        (
            ("MLP: zeros", "MLP: ones"),
            "a second init rule for MLP (the first is on line 6)\n"
            "   7 |     MLP: ones\n"
            "           ^^^\n"
            "  hint: one rule per block; a quoted name pattern overrides it for some layers",
        ),
    ],
)
def test_a_block_rules_mistakes_are_spec_errors(rules: tuple[str, ...], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        block_rules(*rules)
    assert str(caught.value).split(": error: ", 1)[1] == message


def test_rule_functions_are_named_after_their_targets(tmp_path: Path) -> None:
    """Each rule's function in the generated file is named after what it targets; rules that would share
    a name say how they differ, and none takes the file's own `init_weights`. The file still draws what
    `build()` draws."""
    rules = [
        "conv: normal(0, 0.1)",
        "linear: normal(0, 0.01), bias=zeros",
        '"conv": normal(0, 0.2)',  # a pattern whose name is the op rule's
        '"*d": uniform(-3, 3)',  # a pattern that is not an identifier
        '"weights": ones',  # would be `init_weights`, the file's own function
        "when built:",
        "  conv: xavier_uniform",
    ]
    text = (
        "network t:\n  init:\n" + "".join(f"    {r}\n" for r in rules) + "  input: 3x8x8\n  layers:\n"
        "    conv: conv(4, 3)\n    weights: batchnorm\n    relu\n    flatten\n    head: linear(10)\n"
    )
    net = archspec.load("t.arch", text=text)
    source = net.to_source()
    defined = re.findall(r"^def (init_\w+)\(", source, flags=re.MULTILINE)
    # The op rules are written inside init_weights's loop; the others are functions.
    assert defined == [
        "init_conv_by_name",
        "init_d",
        "init_weights_by_name",
        "init_conv_when_built",
        "init_weights",
    ]
    torch.manual_seed(5)
    expected = net.build().state_dict()
    torch.manual_seed(5)
    assert_identical(generated_build(net, tmp_path)().state_dict(), expected)


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("weight", "weight"),
        ("qkv.weight", "weight"),
        ("reduction.weight", "reduction"),
        ("reduction", "reduction"),
        ("in_proj_weight", "weight"),
        ("weight", "bias"),
        ("norm.weight", "reduction"),
        ("reductions.weight", "reduction"),
    ],
)
def test_the_generator_reads_a_clause_name_as_the_generated_file_does(key: str, name: str) -> None:
    """`init_rules.clause_for` (what the build applies and the generator reasons with) and the
    `matches` copied into generated files take the same parameters for a clause, and the first clause
    that names one wins."""
    from archspec.backends.init import matches
    from archspec.init_rules import clause_for
    from archspec.ir import InitCall, InitRule

    first, second = InitCall(parameter=name, function="zeros"), InitCall(parameter=name, function="ones")
    rule = InitRule(target="t", kind="linear", when="after", calls=(first, second))
    assert (clause_for(rule, key) is first) == matches(key, name)
    assert clause_for(rule, key) in (first, None)


def test_the_rules_are_in_the_ir_json_and_its_schema() -> None:
    text = archspec.load("vit_b_32").graph.to_json()
    assert '"formulas": {\n            "std": "sqrt((1 / fan_in))"' in text
    assert '"when": "built"' in text
    from archspec.ir import json_schema

    assert "InitRule" in json_schema()["$defs"]


def test_build_on_meta_initialises_nothing_and_fails_not() -> None:
    tiny("conv: trunc_normal(std=sqrt(2 / fan_in))").build(device="meta")


def test_the_old_scheme_name_is_a_spec_error_saying_what_replaced_it() -> None:
    text = TINY.replace("  init:\n{init}", '  init: "torchvision_resnet"\n')
    with pytest.raises(SpecError) as caught:
        archspec.load("tiny.arch", text=text)
    assert str(caught.value) == (
        "tiny.arch:3:3: error: `init:` takes rules, one a line, not a scheme name\n"
        '   3 |   init: "torchvision_resnet"\n'
        "         ^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        '  hint: write, for example, `init:` then `conv: kaiming_normal(mode="fan_out"), bias=zeros` on an '
        "indented line (see docs/language.md#initialisation)"
    )


def test_the_function_table_in_the_language_reference_is_the_code() -> None:
    from archspec.init_rules import INIT_FUNCTIONS

    text = (Path(__file__).resolve().parents[1] / "docs" / "language.md").read_text(encoding="utf-8")
    table = text.split("<!-- init-table:start -->\n")[1].split("<!-- init-table:end -->")[0]
    rows = [f"| `{f.signature()}` | `nn.init.{f.name}_` |" for f in INIT_FUNCTIONS.values()]
    assert table.strip() == "\n".join(["| function | torch |", "| --- | --- |", *rows])
    for function in INIT_FUNCTIONS.values():
        assert callable(getattr(torch.nn.init, function.name + "_"))


ATTENTION_RULES = (
    "network t:\n  input: 3x8x8\n  init:\n"
    '    "class_token": normal(std=0.5)\n'
    "    attention: in_proj_weight=xavier_normal, weight=zeros\n"
    "    when built:\n"
    "      position_embedding: trunc_normal(std=0.1)\n"
    "      layernorm: weight=constant(2), bias=constant(0.5)\n"
    "  layers:\n    conv_proj: patch_embed(16, 4)\n    class_token: class_token\n"
    "    pos: position_embedding(length=5)\n    ln: layernorm\n    attn: attention(2)\n"
    "    select_token(0)\n    head: linear(3)\n"
)


def test_rules_reach_parameter_ops_attention_and_built_layers() -> None:
    ours = archspec.load("t.arch", text=ATTENTION_RULES).build().state_dict()
    assert torch.equal(ours["ln.weight"], torch.full((16,), 2.0))
    assert torch.equal(ours["attn.out_proj.weight"], torch.zeros(16, 16))  # `weight` is out_proj's
    assert bool(ours["class_token"].abs().sum() > 0)  # drawn by the named rule; construction gives zeros


def test_generated_source_draws_the_same_numbers_for_parameter_ops_attention_and_built_rules(
    tmp_path: Path,
) -> None:
    net = archspec.load("t.arch", text=ATTENTION_RULES)
    torch.manual_seed(1)
    ours = net.build().state_dict()
    torch.manual_seed(1)
    assert_identical(generated_build(net, tmp_path)().state_dict(), ours)


def test_every_op_with_parameters_can_be_the_target_of_a_rule() -> None:
    from archspec.ops import OP_CLASSES

    holding = [c for c in OP_CLASSES if not c.param_rule.startswith("none")]
    assert holding and all(c.init_parameters for c in holding)
    assert not [c for c in OP_CLASSES if c.init_parameters and c.param_rule.startswith("none")]


@pytest.mark.parametrize(
    "shape", [(1, 1, 5, 3), (4, 1, 3, 3), (1, 6, 1, 1), (7, 3), (1, 1, 8), (1, 5, 8), (2, 3, 4, 5, 6)]
)
def test_fans_are_torchs(shape: tuple[int, ...]) -> None:
    """The fans the init formulas see (`sqrt(1 / fan_in)`) are torch's for every weight's shape: one
    output or input channel, 2-D linear weights, the 3-D class token and position embedding."""
    tensor = torch.empty(shape)
    assert fans(tensor) == torch.nn.init._calculate_fan_in_and_fan_out(tensor)


def test_a_clause_naming_a_sublayer_sets_every_parameter_of_it() -> None:
    """`reduction=...` on patch merging sets its reduction layer's weight (`reduction.weight`), and not the
    norm beside it."""
    text = (
        "network t:\n  input: 8x4x4\n  init:\n    patch_merging: reduction=constant(0.5)\n"
        "  layers:\n    permute([1, 2, 0])\n    merge: patch_merging\n"
    )
    state = archspec.load("t.arch", text=text).build().state_dict()
    assert torch.equal(state["merge.reduction.weight"], torch.full((16, 32), 0.5))
    assert torch.equal(state["merge.norm.weight"], torch.ones(32))


FORMULAS = [
    *("-1 / sqrt(fan_out)", "sqrt(1 / fan_in)", "2 ** -1", "-2 ** 2", "(1 - 2) ** 2", "1 - (2 - fan_in)"),
    *("(1 - 2) - fan_in", "2 ** 3 ** 2", "(2 ** 3) ** 2", "-(fan_in + 1) * 2", "fan_in // 2 * 3"),
    *("fan_in // (2 * 3)", "-(-fan_in)", "sqrt(6 / (fan_in + fan_out)) * 2 % 5", "-(2 ** 2)", "(-2) ** 2"),
]


@pytest.mark.parametrize("formula", FORMULAS)
def test_formulas_are_written_as_python_reads_them(formula: str) -> None:
    """The generated file's formula, run by Python, gives what archspec's own evaluator gives for the
    spec text; the parentheses are only those Python needs."""
    from archspec.init_rules import evaluate_formula, formula_python

    written = formula_python(formula)
    # Python runs the formula as the generated file would (the text is generated from this test's own).
    value = eval(written, {"math": math, "fan_in": 3, "fan_out": 5})
    assert value == evaluate_formula(formula, 3, 5), written


def test_formulas_carry_no_needless_parentheses() -> None:
    from archspec.init_rules import formula_python

    written = [formula_python(f) for f in ("-1 / sqrt(fan_out)", "(1 - 2) - fan_in", "-(-fan_in)")]
    assert written == ["-1 / math.sqrt(fan_out)", "1 - 2 - fan_in", "-(-fan_in)"]
