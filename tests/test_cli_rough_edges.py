"""The command line's rough edges (issue 10): plain CSV, list, --input hints, compare families, explain
blocks, terminal widths, the analysis JSON schema, relative spans, and a help text on every argument."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import archspec
from archspec.cli import build_parser, main
from archspec.report import display_rows


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_csv_is_plain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "analyze", "googlenet", "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert code == 0 and rows[0][:3] == ["name", "op", "kind"]
    assert all(len(row) == len(rows[0]) for row in rows)  # a description with commas stays one field
    assert not out.startswith("#")
    code, out, _ = run(capsys, "analyze", "googlenet", "--format", "csv", "--comments")
    assert out.startswith("# googlenet: input 3x224x224")
    code, out, _ = run(capsys, "history", "--format", "csv")
    assert next(csv.reader(io.StringIO(out)))[0] == "year"


def test_list_filters_and_reports(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "list", "resnet")
    assert code == 0 and out.startswith("resnet ") and "vgg" not in out
    code, _, err = run(capsys, "list", str(tmp_path / "missing") + "/")
    assert code == 2 and err == f"archspec: error: no such folder: {tmp_path / 'missing'}/\n"
    spec = Path(__file__).parents[1] / "specs" / "lenet5.arch"
    (tmp_path / "a.arch").write_text(spec.read_text())
    (tmp_path / "b.arch").write_text(spec.read_text())
    (tmp_path / "c.arch").write_text("network c:\n  input: [\n")
    code, out, err = run(capsys, "list", str(tmp_path))
    assert code == 1 and out.count("lenet5 ") == 2
    assert f"{tmp_path / 'c.arch'}:2:10: error: '[' was never closed" in err
    assert (
        f"network 'lenet5' is defined by several files: {tmp_path / 'a.arch'}, {tmp_path / 'b.arch'}" in err
    )


def test_input_hints(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "analyze", "resnet18", "--input", "1x3x224x224")
    assert code == 2 and err == (
        "archspec: error: --input 1x3x224x224 does not fit this network; --input is the shape of one "
        "sample, without the batch dimension: --input 3x224x224 (the batch size for memory figures is "
        "--batch 1)\n"
    )
    code, _, err = run(capsys, "analyze", "vit_b_16", "--input", "3x64x64")
    assert code == 2 and err == (
        "archspec: error: --input 3x64x64 does not fit this network; the spec computes its input from "
        "image_size: change it with --set image_size=...\n"
    )


def test_compare_a_family_with_set_after_the_specs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "compare", "resnet", "--set", "num_classes=10", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and [r["network"] for r in rows] == [
        "resnet18",
        "resnet34",
        "resnet50",
        "resnet101",
        "resnet152",
    ]
    assert rows[0]["params"] == 11_689_512 - 990 * 513  # the 1000-way head becomes 10-way: 513 per class


def test_explain_every_instance_of_a_block(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "explain", "resnet18", "BasicBlock")
    assert code == 0
    assert out.startswith("block BasicBlock: 8 instances (layer1.0, layer1.1, layer2.0, layer2.1, layer3.0, ")
    assert out.count(": block BasicBlock,") == 8


def test_explain_names_the_saved_tensors(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "explain", "resnet18", "maxpool")
    # maxpool keeps the ReLU's output (already counted there) and int64 indices: 64x56x56 x 8 bytes.
    assert code == 0
    assert (
        "saved for backward: its input, and the index of each maximum (int64, the output's size) = "
        "1,605,632 bytes" in out
    )


@pytest.mark.parametrize("width", [80, 120])
def test_tables_fit_the_terminal(width: int) -> None:
    from archspec.catalog import catalog

    env = {**os.environ, "COLUMNS": str(width)}
    for entry in catalog():
        for variant in entry.variants[:2]:
            out = subprocess.run(
                [sys.executable, "-m", "archspec", "analyze", variant],
                capture_output=True,
                text=True,
                env=env,
            ).stdout
            assert max(len(line) for line in out.splitlines()) <= width, variant
            assert "\x1b[" not in out  # a pipe gets no colour


@pytest.mark.parametrize("width", [80, 100, 120])
def test_layer_names_are_never_broken_in_a_terminal(width: int) -> None:
    """In a terminal of 100 columns `analyze resnet50` broke names as `layer1.0` / `.conv1` on two lines:
    columns are dropped (FLOPs, memory, saved, RF, output) until the names fit whole; the op wraps."""
    import pty

    spec = Path(__file__).parent / "specs" / "shufflenet_v2.arch"
    for target in ("resnet50", str(spec)):
        source, replica = pty.openpty()
        env = {**os.environ, "COLUMNS": str(width), "NO_COLOR": "1"}
        process = subprocess.Popen(
            [sys.executable, "-m", "archspec", "analyze", target],
            stdin=replica,
            stdout=replica,
            stderr=replica,
            env=env,
            close_fds=True,
        )
        os.close(replica)
        chunks = []
        while True:
            try:
                chunk = os.read(source, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(source)
        assert process.wait() == 0
        out = re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode("utf-8")).replace("\r\n", "\n")
        rows = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
        names = [row for row in rows if row]
        expected = [row.name for row in display_rows(archspec.load(target).analyze(), None)] + ["total"]
        assert names == expected, (target, width)
        assert max(len(line) for line in out.splitlines()) <= width


def test_analysis_json_validates_against_its_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, schema_text, _ = run(capsys, "schema", "--analysis")
    schema = json.loads(schema_text)
    for spec in ("resnet18", "vit_b_32", "lenet5"):
        code, out, _ = run(capsys, "analyze", spec, "--format", "json")
        document = json.loads(out)
        assert code == 0 and document["schema_version"] == schema["properties"]["schema_version"]["const"]
        jsonschema.validate(document, schema)
    document["layers"][0]["params"] = -1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


def test_ir_spans_are_relative_to_the_spec_folder(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ir", "resnet18")
    data = json.loads(out)
    assert code == 0 and data["source"] == "resnet.arch"
    assert {node["span"]["path"] for node in data["nodes"] if "span" in node} == {"resnet.arch"}


def test_every_help_names_each_argument_and_shows_an_example() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subparsers.choices) >= {"list", "check", "analyze", "compare", "history", "explain", "schema"}
    for name, sub in subparsers.choices.items():
        assert sub.epilog and sub.epilog.startswith(("example: archspec ", "examples: archspec ")), name
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.dest}"
        text = sub.format_help()
        assert "example: archspec" in text or "examples: archspec" in text
