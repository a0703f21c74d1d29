"""Reported results per variant: the specs' torchvision figures against torchvision's own weights metadata."""

from __future__ import annotations

import pytest
import torchvision.models as tvm

import archspec
from archspec.errors import SpecError

# Each zoo variant with torchvision weights, and the weights enum whose metadata is the oracle.
WEIGHTS = {
    "alexnet": tvm.AlexNet_Weights,
    "googlenet": tvm.GoogLeNet_Weights,
    "vgg11": tvm.VGG11_Weights,
    "vgg11_bn": tvm.VGG11_BN_Weights,
    "vgg13": tvm.VGG13_Weights,
    "vgg13_bn": tvm.VGG13_BN_Weights,
    "vgg16": tvm.VGG16_Weights,
    "vgg16_bn": tvm.VGG16_BN_Weights,
    "vgg19": tvm.VGG19_Weights,
    "vgg19_bn": tvm.VGG19_BN_Weights,
    "resnet18": tvm.ResNet18_Weights,
    "resnet34": tvm.ResNet34_Weights,
    "resnet50": tvm.ResNet50_Weights,
    "resnet101": tvm.ResNet101_Weights,
    "resnet152": tvm.ResNet152_Weights,
    "mobilenet_v2": tvm.MobileNet_V2_Weights,
    "vit_b_16": tvm.ViT_B_16_Weights,
    "vit_b_32": tvm.ViT_B_32_Weights,
    "vit_l_16": tvm.ViT_L_16_Weights,
    "vit_l_32": tvm.ViT_L_32_Weights,
}


@pytest.mark.parametrize("variant", sorted(WEIGHTS))
def test_torchvision_figures_match_its_weights_metadata(variant: str) -> None:
    metrics = WEIGHTS[variant].IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]
    results = archspec.load(variant).graph.metadata.results
    mine = [r for r in results if r.origin == "torchvision"]
    assert len(mine) == 1 and mine[0].scope == "variant"
    assert mine[0].figures == {"acc1": metrics["acc@1"], "acc5": metrics["acc@5"]}
    assert mine[0].source is not None and "IMAGENET1K_V1" in mine[0].source


def test_a_per_variant_figure_for_an_unknown_variant_is_an_error() -> None:
    text = (
        "network n:\n  reported:\n    per_variant:\n      paper:\n        small:\n          top1_error: 3\n"
        "        larg:\n          top1_error: 2\n"
        "  input: 3x8x8\n  params:\n    width = 1\n  variants:\n    small: width=1\n    large: width=2\n"
        "  layers:\n    relu\n"
    )
    with pytest.raises(SpecError) as caught:
        archspec.load("n.arch", text=text)
    assert caught.value.render() == (
        "n.arch:7:9: error: reported paper figures for 'larg', which is not a variant of n\n"
        "   7 |         larg:\n"
        "               ^^^^^\n"
        "   8 |           top1_error: 2\n"
        "                 ^^^^^^^^^^^^^\n"
        "  hint: did you mean 'large'?"
    )
