"""Reports and the analysis CLI: JSON contract, --depth, ×N folding, conventions, compare/history/explain."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import archspec
from archspec.cli import main
from archspec.report import analysis_json, readable_json, render_analysis

ROOT = Path(__file__).resolve().parents[1]
CONVENTION = "MACs: torchvision convention — conv, linear, matmul (incl. attention QKᵀ, A·V)"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_the_contract_keys_and_a_row_per_layer_and_container(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "analyze", "resnet50", "--format", "json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    for key in (
        "network", "variant", "input", "output", "params", "trainable_params", "buffers", "macs", "flops",
        "activation_bytes", "peak_activation_bytes", "training_memory", "receptive_field", "convention",
        "warnings", "layers",
    ):  # fmt: skip
        assert key in doc, key
    assert (doc["network"], doc["variant"], doc["input"], doc["output"]) == (
        "resnet",
        "resnet50",
        [3, 224, 224],
        [1000],
    )
    assert (doc["params"], doc["macs"], doc["flops"]) == (25_557_032, 4_089_184_256, 8_178_368_512)
    assert set(doc["training_memory"]) >= {"sgd_momentum", "adamw"}
    graph = archspec.load("resnet50").graph
    names = [row["name"] for row in doc["layers"]]
    assert set(names) == {n.name for n in graph.nodes} | {s.name for s in graph.scopes if s.name}
    rows = {row["name"]: row for row in doc["layers"]}
    assert rows["layer4"]["kind"] == "block" and rows["layer4.0"]["kind"] == "block"
    assert rows["layer4.0.downsample"]["kind"] == "sequence"
    assert rows["layer1.0.conv1"]["kind"] == "layer" and rows["layer1.0.conv1"]["depth"] == 3
    assert rows["layer4"]["receptive_field"] == {
        "size": [427, 427], "stride": [32, 32], "padding": [213, 213], "centre": [0.0, 0.0]
    }  # fmt: skip
    assert rows["layer1.1"]["repeat"] == {"group": 1, "index": 0, "count": 2}
    for row in doc["layers"]:
        assert set(row) >= {
            "name",
            "op",
            "output_shape",
            "params",
            "trainable_params",
            "macs",
            "flops",
            "activation_bytes",
            "receptive_field",
            "depth",
            "kind",
            "repeat",
        }
    assert doc["convention"]["text"].startswith(CONVENTION)


def test_depth_limits_rows(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "analyze", "resnet50", "-f", "json", "--depth", "1")
    doc = json.loads(out)
    assert {row["depth"] for row in doc["layers"]} == {1}
    assert [r["name"] for r in doc["layers"] if r["name"].startswith("layer")] == [
        "layer1",
        "layer2",
        "layer3",
        "layer4",
    ]
    assert sum(r["params"] for r in doc["layers"]) == doc["params"]


def test_table_folds_repeated_blocks_at_the_depth_limit() -> None:
    text = render_analysis(archspec.load("resnet50").analyze(), "table", depth=2)
    assert "Bottleneck ×6" in text and "Bottleneck ×3" in text and "Bottleneck ×4" in text
    assert "layer3.0–5" in text
    assert "layer3.1 " not in text
    assert CONVENTION in text
    assert "\x1b[" not in text  # no colour when not a terminal
    # the folded row carries the summed figures: layer3's 7,098,368 params appear twice (Stage and ×6)
    assert text.count("7,098,368") == 2


def test_json_keeps_every_repeated_row() -> None:
    doc = json.loads(render_analysis(archspec.load("resnet50").analyze(), "json", depth=2))
    assert [r["name"] for r in doc["layers"] if r["name"].startswith("layer3.")] == [
        f"layer3.{i}" for i in range(6)
    ]


def test_readable_json_indents_two_levels_and_writes_plain_values_on_one_line() -> None:
    document = {"a": 1, "shape": [3, 2], "rows": [{"x": 1, "y": [1, 2]}, {"x": 2, "y": []}], "empty": {}}
    assert readable_json(document) == (
        "{\n"
        '  "a": 1,\n'
        '  "shape": [3, 2],\n'
        '  "rows": [\n'
        '    {"x": 1, "y": [1, 2]},\n'
        '    {"x": 2, "y": []}\n'
        "  ],\n"
        '  "empty": {}\n'
        "}"
    )


def test_json_report_is_the_document_with_a_layer_a_line() -> None:
    analysis = archspec.load("resnet18").analyze()
    text = render_analysis(analysis, "json")
    document = analysis_json(analysis)
    assert json.loads(text) == document
    lines = text.splitlines()
    rows = [line for line in lines if line.startswith('    {"name": ')]
    assert [json.loads(row.rstrip(","))["name"] for row in rows] == [r["name"] for r in document["layers"]]


def test_count_all_states_the_per_op_rules(capsys: pytest.CaptureFixture[str]) -> None:
    _, default, _ = run(capsys, "analyze", "resnet18", "-f", "json")
    _, everything, _ = run(capsys, "analyze", "resnet18", "-f", "json", "--count", "all")
    a, b = json.loads(default), json.loads(everything)
    graph = archspec.load("resnet18").graph
    extra = sum(n.op.extra_flops([graph.nodes[i].shape for i in n.inputs], n.shape) for n in graph.nodes)
    assert b["flops"] - a["flops"] == extra
    assert "rules" not in a["convention"]
    assert b["convention"]["rules"]["batchnorm"].startswith("`--count all`: 2 FLOPs")
    _, table, _ = run(capsys, "analyze", "resnet18", "--count", "all", "--depth", "1")
    assert "relu: `--count all`: 1 FLOP per element" in table


def test_markdown_and_csv(capsys: pytest.CaptureFixture[str]) -> None:
    code, md, _ = run(capsys, "analyze", "resnet18", "-f", "markdown", "-d", "1")
    assert code == 0 and md.startswith("# resnet18") and CONVENTION in md
    assert "| `layer1` | Stage |" in md
    code, text, _ = run(capsys, "analyze", "resnet18", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))  # plain CSV: no comment lines by default
    by_name = {r["name"]: r for r in rows}
    assert by_name["layer4"]["rf_size"] == "435x435" and by_name["fc"]["params"] == "513000"
    code, text, _ = run(capsys, "analyze", "resnet18", "-f", "csv", "--comments")
    assert any(CONVENTION in line for line in text.splitlines() if line.startswith("#"))


def test_analyze_unknown_spec_exits_1_and_bad_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "analyze", "nonexistent_net")[0] == 1
    assert run(capsys, "analyze", "resnet18", "--format", "xml")[0] == 2


def test_analyze_never_imports_torch() -> None:
    code = (
        "import sys, io, contextlib\n"
        "from archspec.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['analyze', 'resnet50', '--format', 'json']) == 0\n"
        "    assert main(['analyze', 'resnet50', '--format', 'table']) == 0\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"


def test_json_analysis_does_not_import_rich() -> None:
    code = (
        "import sys, io, contextlib\n"
        "from archspec.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['analyze', 'resnet50', '--format', 'json']) == 0\n"
        "print('rich' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "False"


def test_compare_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "compare", "resnet18", "resnet50", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert [r["network"] for r in rows] == ["resnet18", "resnet50"]
    assert rows[1]["params"] == 25_557_032 and rows[1]["depth"] == 50
    assert rows[1]["receptive_field"]["size"] == [427, 427]
    assert rows[1]["peak_activation_bytes"] == (3 * 256 * 56 * 56 + 64 * 56 * 56 + 3 * 224 * 224) * 4
    code, table, _ = run(capsys, "compare", "resnet18", "resnet50")
    assert code == 0 and "resnet18" in table and "25,557,032" in table and "427 /32" in table


def test_history_is_in_year_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "history", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    years = [r["year"] or 0 for r in rows]
    assert years == sorted(years)
    resnet = next(r for r in rows if r["network"].startswith("resnet"))
    # resnet18: the paper's single-model figure (Table 2), not the family's ensemble 3.57%.
    assert resnet["reported_paper"] == "top-1 err 27.88%"
    assert resnet["reported_torchvision"] == "acc@1 69.758%, acc@5 89.078%"
    code, table, _ = run(capsys, "history")
    assert code == 0 and "reported paper" in table and "reported torchvision" in table


def test_history_keeps_each_variant_its_own_results(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "history", "--all-variants", "--format", "json")
    rows = {r["network"]: r for r in json.loads(out)}
    assert code == 0
    assert rows["resnet152"]["reported_paper"] == "top-1 err 21.43%, top-5 err 5.71%"
    assert rows["vgg16"]["reported_paper"] == "top-5 err 7.3% (family)"  # VGG's ensemble, marked
    assert rows["vgg16"]["reported_torchvision"] != rows["vgg19"]["reported_torchvision"]


def test_explain_layer_and_block(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "explain", "resnet18", "fc")
    assert code == 0
    assert "MACs = rows × in × out = 1 × 512 × 1000 = 512,000" in out
    assert "params = in × out + out = 512 × 1000 + 1000 = 513,000" in out
    code, out, _ = run(capsys, "explain", "resnet18", "layer1.0")
    assert code == 0 and "one 5x5 conv" in out


def test_explain_unknown_layer_suggests_a_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "explain", "resnet18", "layer1.0.cnv1")
    assert code == 2
    assert "did you mean 'layer1.0.conv1'?" in err


@pytest.mark.skipif(not (ROOT / "specs" / "vit.arch").exists(), reason="specs/vit.arch is not written yet")
def test_explain_attention(capsys: pytest.CaptureFixture[str]) -> None:
    analysis = archspec.load("vit_b_16").analyze()
    name = next(r.name for r in analysis.rows if r.op == "attention")
    code, out, _ = run(capsys, "explain", "vit_b_16", name)
    assert code == 0
    assert "4·N·D² (projections) + 2·N²·D (QKᵀ and A·V) = 4·197·768² + 2·197²·768" in out
    assert analysis.receptive_field == "global"


COUNT_KEYS = {
    "params", "trainable_params", "buffers", "macs", "flops", "extra_flops", "activation_bytes",
    "peak_activation_bytes", "saved_bytes", "parameters_bytes", "gradients_bytes", "optimizer_state_bytes",
    "total_bytes",
}  # fmt: skip


def _counts(value: object, key: str = "") -> list[tuple[str, object]]:
    """Every (key, value) of the document whose key names a count, at any depth."""
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _counts(v, k)]
    if isinstance(value, list):
        return [pair for v in value for pair in _counts(v, key)]
    return [(key, value)] if key in COUNT_KEYS else []


def test_every_count_in_the_json_report_is_an_integer() -> None:
    """Parameters, MACs, FLOPs and bytes are whole numbers in every zoo network's JSON (a grouped
    conv's ``in_channels / groups`` would make them floats: 3504872.0)."""
    from archspec.catalog import catalog
    from archspec.report import render_analysis

    for variant in (v for entry in catalog() for v in entry.variants):
        counts = _counts(json.loads(render_analysis(archspec.load(variant).analyze(count="all"), "json")))
        assert {key for key, _ in counts} >= {"params", "macs", "saved_bytes", "total_bytes"}, variant
        wrong = [(k, v) for k, v in counts if type(v) is not int]
        assert not wrong, (variant, wrong[:3])


@pytest.mark.parametrize("variant", ["lenet5", "resnet18"])
def test_the_header_does_not_repeat_the_parameter_count_as_a_trainable_one(variant: str) -> None:
    """A spec cannot freeze a parameter (what does not learn is a buffer): the header says the parameters
    are all trainable rather than repeating their count, and the JSON keeps trainable_params for readers
    that compare with torch's requires_grad count. Oracle: the built module's tensors."""
    import torch

    from archspec.analysis_schema import analysis_schema
    from archspec.report import SCHEMA_VERSION

    network = archspec.load(variant)
    module = network.build(device="meta")
    params = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    saved = module.state_dict()
    buffers = sum(b.numel() for name, b in module.named_buffers() if name in saved)
    assert trainable == params and isinstance(next(module.parameters()), torch.nn.Parameter)
    header = render_analysis(network.analyze(), "table").splitlines()[1]
    assert header.startswith(f"params {params:,} (all trainable, buffers {buffers:,}); MACs ")
    document = analysis_json(network.analyze())
    assert (document["params"], document["trainable_params"], document["buffers"]) == (
        params,
        trainable,
        buffers,
    )
    described = analysis_schema(SCHEMA_VERSION)["properties"]["trainable_params"]["description"]
    assert described.startswith("Parameters that get a gradient (requires_grad): all of them")
