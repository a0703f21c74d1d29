"""The folding rule reports and drawings share: which repeated block instances become one ``×N`` item."""

from __future__ import annotations

import archspec
from archspec.folding import Instance, fold_runs, run_name
from archspec.ir import Repeat
from archspec.report import display_rows


def test_mobilenet_v2_folds_as_the_rows_of_its_t_c_n_s_table() -> None:
    # MobileNetV2, Table 2: bottleneck rows repeated n = 1, 2, 3, 4, 3, 3, 1 times with c = 16 ... 320.
    rows = display_rows(archspec.load("mobilenet_v2").analyze(), depth=2)
    blocks = [(r.name, r.op, r.output_shape.split("x")[0]) for r in rows if "InvertedResidual" in r.op]
    assert blocks == [
        ("features.1", "InvertedResidual", "16"),
        ("features.2–3", "InvertedResidual ×2", "24"),
        ("features.4–6", "InvertedResidual ×3", "32"),
        ("features.7–10", "InvertedResidual ×4", "64"),
        ("features.11–13", "InvertedResidual ×3", "96"),
        ("features.14–16", "InvertedResidual ×3", "160"),
        ("features.17", "InvertedResidual", "320"),
    ]


def test_a_run_is_one_repeat_group_of_identical_instances_led_by_at_most_one_other() -> None:
    def item(block: str | None, group: int | None, index: int = 0, sig: str = "s") -> Instance:
        repeat = Repeat(group=group, index=index, count=9) if group is not None else None
        return Instance(block, "", repeat, sig)

    items = [
        item("A", None, sig="first"),  # 0: written apart, strides: leads the run
        item("A", 1, 0),
        item("A", 1, 1),
        item("A", 2, 0, sig="x"),  # 3: another loop, a different instance than the next
        item("A", 2, 1, sig="y"),  # 4: same loop, different: not folded with 3; leads group 3
        item("A", 3, 0, sig="z"),
        item(None, None),
        item("B", 4, 0),
        item("B", 4, 1, sig="other"),  # same group but different: the run ends
    ]
    assert [list(r) for r in fold_runs(items)] == [[0, 1, 2], [3], [4, 5], [6], [7], [8]]


def test_run_names_never_split_a_number() -> None:
    assert run_name("layer3.1", "layer3.5") == "layer3.1–5"
    assert run_name("features.10", "features.13") == "features.10–13"
    assert run_name("encoder.layers.encoder_layer_0", "encoder.layers.encoder_layer_11") == (
        "encoder.layers.encoder_layer_0–11"
    )
