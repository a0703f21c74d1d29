"""The static claims of experiments/ (claims 1-4 of docs/claims.md), with figures worked out by hand.

Oracles: weight counts k·k·C_in·C_out and MACs = weights × output positions for bias-free stride-1 convs;
the MobileNet paper's Table 4 (29.3M and 4,866M for full convolutions; 4.2M and 569M separable); the
receptive-field recurrence r += (k - 1)·j, j *= s.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archspec.cli import main
from archspec.experiment import experiment_names, read_experiment, run_experiment

ROOT = Path(__file__).resolve().parents[1] / "experiments"


def rows(name: str) -> dict[str, dict[str, object]]:
    result = run_experiment(read_experiment(ROOT, name))
    return {row["label"]: row for row in result["rows"]}


def test_stacked_3x3_see_as_far_with_fewer_weights() -> None:
    c = 64
    found = rows("stacked_3x3")
    expected = {
        "one 5×5": (25 * c * c, [5, 5]),
        "two 3×3": (2 * 9 * c * c, [5, 5]),
        "one 7×7": (49 * c * c, [7, 7]),
        "three 3×3": (3 * 9 * c * c, [7, 7]),
    }
    for label, (weights, field) in expected.items():
        assert (found[label]["params"], found[label]["receptive_field"]) == (weights, field), label
        assert found[label]["macs"] == weights * 56 * 56, label
    assert found["two 3×3"]["params"] < found["one 5×5"]["params"]  # type: ignore[operator]
    assert found["three 3×3"]["params"] < found["one 7×7"]["params"]  # type: ignore[operator]


def test_inception_reductions() -> None:
    found = rows("inception_1x1")
    naive = 192 * 64 + 9 * 192 * 128 + 25 * 192 * 32
    reduced = 192 * 64 + (192 * 96 + 9 * 96 * 128) + (192 * 16 + 25 * 16 * 32) + 192 * 32
    assert (naive, reduced) == (387_072, 163_328)
    assert found["naive (no 1×1 reductions)"]["params"] == naive
    assert found["with 1×1 reductions"]["params"] == reduced
    assert found["naive (no 1×1 reductions)"]["macs"] == naive * 28 * 28
    assert found["with 1×1 reductions"]["macs"] == reduced * 28 * 28


def test_depthwise_separable_matches_table_4() -> None:
    found = rows("depthwise_separable")
    full, separable = found["full convolutions"], found["depthwise separable"]
    # Conv and FC weights, the paper's count (Table 4): 29.3M and 4.2M; mult-adds 4,866M and 569M.
    assert round(full["conv_fc_weights"] / 1e5) == 293  # type: ignore[operator]
    assert round(separable["conv_fc_weights"] / 1e5) == 42  # type: ignore[operator]
    assert int(full["macs"] / 1e6) == 4867  # type: ignore[operator]  # the paper prints 4866
    assert separable["macs"] == 568_740_352
    # By hand: the full 3x3 convs of Table 1's channel sequence, the first conv and the FC layer.
    pairs = [(32, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512), *[(512, 512)] * 5]
    pairs += [(512, 1024), (1024, 1024)]
    assert full["conv_fc_weights"] == 27 * 32 + sum(9 * a * b for a, b in pairs) + 1024 * 1000


def test_receptive_field_grows_with_depth() -> None:
    result = run_experiment(read_experiment(ROOT, "receptive_field"))
    curves = {c["label"]: [p["size"] for p in c["points"]] for c in result["curves"]}
    assert curves["lecun1989"] == [5, 13]
    assert curves["lenet5"] == [5, 6, 14, 16, 32]
    assert curves["alexnet"] == [11, 19, 51, 67, 99, 131, 163, 195]
    for label, sizes in curves.items():
        assert sizes[-1] == max(sizes), label  # the last spatial layer sees the most


def test_experiment_command_writes_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert experiment_names(ROOT) == [
        "depthwise_separable",
        "inception_1x1",
        "receptive_field",
        "stacked_3x3",
    ]
    code = main(["experiment", "stacked_3x3", "--dir", str(ROOT), "--out", str(tmp_path)])
    assert code == 0
    result = json.loads((tmp_path / "stacked_3x3" / "result.json").read_text())
    assert result["claim"].startswith("Two stacked 3×3 convolutions")
    assert main(["experiment", "stacked", "--dir", str(ROOT)]) == 2
    assert capsys.readouterr().err.endswith(
        f"archspec: error: no experiment 'stacked' in {ROOT}; did you mean 'stacked_3x3'?\n"
    )
