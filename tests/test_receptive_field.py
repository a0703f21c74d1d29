"""The spatial path's receptive field of gated networks outside the zoo, written from torchvision's source:
MobileNetV3-Small and EfficientNet-B0, each spec checked first against torchvision's parameter count (the
spec is the network), then its field against the figure the input gradient gives with the SE gates removed
(issue 28: 639 and 851; MobileNetV3-Large's 595 is in figures.md and test_crosscheck.py)."""

from __future__ import annotations

from pathlib import Path

import torchvision

import archspec
from archspec.analysis import ReceptiveField

ZOO = Path(archspec.__file__).parent / "zoo"

# torchvision's _mobilenet_v3_conf("mobilenet_v3_small"): kernel, expanded, out, SE, activation, stride
SMALL_SETTINGS = """    settings = [[3,  16,  16,  true, "RE", 2],
                [3,  72,  24, false, "RE", 2],
                [3,  88,  24, false, "RE", 1],
                [5,  96,  40,  true, "HS", 2],
                [5, 240,  40,  true, "HS", 1],
                [5, 240,  40,  true, "HS", 1],
                [5, 120,  48,  true, "HS", 1],
                [5, 144,  48,  true, "HS", 1],
                [5, 288,  96,  true, "HS", 2],
                [5, 576,  96,  true, "HS", 1],
                [5, 576,  96,  true, "HS", 1]]
"""

# torchvision's _efficientnet_conf("efficientnet_b0"): MBConv rows (fused, t, k, s, c, n)
B0_SETTINGS = """    settings = [[false, 1, 3, 1,  16, 1],
                [false, 6, 3, 2,  24, 2],
                [false, 6, 5, 2,  40, 2],
                [false, 6, 3, 2,  80, 3],
                [false, 6, 5, 1, 112, 3],
                [false, 6, 5, 2, 192, 4],
                [false, 6, 3, 1, 320, 1]]
"""


def _replace_settings(text: str, settings: str) -> str:
    start = text.index("    settings = [")
    end = text.index("]]\n", start) + 3
    return text[:start] + settings + text[end:]


def mobilenet_v3_small() -> archspec.Network:
    text = (ZOO / "mobilenet_v3.arch").read_text(encoding="utf-8")
    text = _replace_settings(text, SMALL_SETTINGS)
    text = text.replace("ConvBNAct(6 * make_divisible(160 * width_mult, 8), 1", "ConvBNAct(6 * 96, 1")
    text = text.replace("linear(make_divisible(1280 * width_mult, 8))", "linear(1024)")
    return archspec.load("mobilenet_v3_small.arch", text=text)


def efficientnet_b0() -> archspec.Network:
    text = (ZOO / "efficientnet_v2.arch").read_text(encoding="utf-8")
    text = _replace_settings(text, B0_SETTINGS)
    text = text.replace("input: 3x384x384", "input: 3x224x224")
    text = text.replace("ConvBNAct(24, stride=2)", "ConvBNAct(32, stride=2)")
    return archspec.load("efficientnet_b0.arch", text=text)


def square(size: int, stride: int, padding: int) -> ReceptiveField:
    return ReceptiveField((size, size), (stride, stride), (padding, padding))


def test_mobilenet_v3_small_spatial_field_is_639() -> None:
    network = mobilenet_v3_small()
    reference = torchvision.models.mobilenet_v3_small()
    assert network.params == sum(p.numel() for p in reference.parameters())  # the spec is the network
    analysis = network.analyze()
    assert analysis.receptive_field == "global"  # SE from the first block on
    assert isinstance(analysis.spatial_receptive_field, ReceptiveField)
    assert analysis.spatial_receptive_field.size == (639, 639)  # the input gradient, SE gates removed
    assert analysis.spatial_receptive_field.stride == (32, 32)


def test_efficientnet_b0_spatial_field_is_851() -> None:
    network = efficientnet_b0()
    reference = torchvision.models.efficientnet_b0()
    assert network.params == sum(p.numel() for p in reference.parameters())
    analysis = network.analyze()
    assert analysis.receptive_field == "global"
    assert isinstance(analysis.spatial_receptive_field, ReceptiveField)
    assert analysis.spatial_receptive_field.size == (851, 851)  # the input gradient, SE gates removed
    assert analysis.spatial_receptive_field.stride == (32, 32)
