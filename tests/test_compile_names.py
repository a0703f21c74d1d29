"""Class names of compiled specs of one's own (issue 22): a block keeps the name the spec gave it when a
group has the same name, and every variant's class is spelt from the spec's written `name:` alike."""

from __future__ import annotations

import re

import archspec
from archspec.backends.codegen import root_class_name

ENCODER = """\
block Encoder(dim):
  residual:
    layernorm(dim=-1) >> linear(dim, dim=-1) >> gelu

network tinyvit:
  input: [17, 32]
  params:
    depth = 2
  layers:
    encoder:
      pos_embedding: position_embedding(length=17)
      layers: Encoder(32) * depth
      ln: layernorm(dim=-1)
    head: linear(10, dim=-1)
"""

CIFAR = """\
network resnet_cifar:
  name: "ResNet-20"
  input: 3x32x32
  params:
    n = 3
  variants:
    resnet20: n=3
    resnet56: n=9
  layers:
    conv(16, 3, pad=1)
    flatten
    linear(10)
"""


def classes(source: str) -> list[str]:
    return re.findall(r"^class (\w+)\(", source, re.MULTILINE)


def test_a_block_keeps_its_name_beside_a_group_of_that_name() -> None:
    source = archspec.load("tiny.arch", text=ENCODER).to_source()
    assert classes(source) == ["Encoder", "EncoderGroup", "Tinyvit"]
    # The repeat's count is the loop's (backends/exposed.py), as before the one generation.
    assert "*[Encoder() for _ in range(depth)]" in source
    assert "self.encoder = EncoderGroup(depth=depth)" in source
    namespace: dict[str, object] = {}
    exec(compile(source, "tinyvit.py", "exec"), namespace)  # the file is valid Python that builds
    model = namespace["Tinyvit"]()  # type: ignore[operator]
    assert type(model.encoder).__name__ == "EncoderGroup"  # type: ignore[attr-defined]


def test_every_variant_is_named_from_the_written_name_alike() -> None:
    names = [
        classes(archspec.load("cifar.arch", variant, text=CIFAR).to_source())[-1]
        for variant in ("resnet20", "resnet56")
    ]
    assert names == ["ResNet20", "ResNet56"]  # not ResNet20 and Resnet56


def test_a_written_name_lends_its_leading_words() -> None:
    cases = {
        ("resnet56", "ResNet-20"): "ResNet56",
        ("resnet56", "ResNet20"): "ResNet56",
        ("efficientnet_v2_m", "EfficientNetV2-S"): "EfficientNetV2M",
        ("swin_t", "Swin Transformer"): "SwinT",
        ("lecun1989", "LeNet"): "Lecun1989",  # no word of it begins the spec name (`Le` is no word)
    }
    assert {key: root_class_name(*key) for key in cases} == cases
