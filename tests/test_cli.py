"""The command line: exit codes, error format, the zoo from any directory, IR and schema output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import archspec
from archspec.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_zoo_network_with_year(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "--format", "json")
    assert code == 0
    rows = {row["network"]: row for row in json.loads(out)}
    assert rows["resnet"]["year"] == 2015
    assert rows["resnet"]["variants"] == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    assert all(row["paper"] for row in rows.values())


def test_check_valid_spec_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", str(ROOT / "specs" / "resnet.arch"))
    assert (code, err) == (0, "")
    assert out == "ok: 1 spec(s) valid\n"


def test_check_reports_error_with_position_and_caret(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = tmp_path / "bad.arch"
    spec.write_text("network n:\n  input: 1x8x8\n  layers:\n    conv(4, 3) >> relux\n")
    os.chdir(tmp_path)
    code, out, err = run(capsys, "check", "bad.arch")
    assert code == 1
    assert out == ""
    assert err == (
        "bad.arch:4:19: error: unknown op or block 'relux'\n"
        "   4 |     conv(4, 3) >> relux\n"
        "                         ^^^^^\n"
        "  hint: did you mean 'relu'?\n"
    )


def test_check_collects_errors_of_every_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    one = tmp_path / "one.arch"
    two = tmp_path / "two.arch"
    one.write_text("network a:\n  input: 1x8x8\n  layers:\n    linear(3)\n")
    two.write_text("")
    code, _, err = run(capsys, "check", str(one), str(two))
    assert code == 1
    assert "linear expects a vector" in err
    assert "empty spec" in err


def test_unknown_network_is_a_spec_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ir", "resnet5")
    assert code == 1
    assert err == (
        "archspec: error: 'resnet5' is neither a spec file nor a network of the zoo\n"
        "  hint: did you mean 'resnet50'?\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ir", "resnet18", "--set", "depths"], "--set expects name=value, got 'depths'"),
        (["ir", "resnet18", "--input", "3xax224"], "--input expects a shape like 3x224x224, got '3xax224'"),
        (["ir", "resnet18", "--input", "0x8x8"], "--input expects positive sizes, got '0x8x8'"),
        (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("archspec: error: ")
    assert message in err


def test_set_overrides_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ir", "resnet18", "--set", "num_classes=10", "--set", "depths=[1, 1, 1, 1]")
    assert code == 0
    graph = json.loads(out)
    assert graph["params"]["num_classes"] == 10
    assert graph["params"]["depths"] == [1, 1, 1, 1]
    assert graph["nodes"][graph["output"]]["shape"] == [10]


def test_set_block_valued_parameter_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ir", "resnet18", "--set", "unit=Bottleneck")
    assert code == 0
    assert json.loads(out)["params"]["unit"] == "Bottleneck"
    code, _, err = run(capsys, "ir", "resnet18", "--set", "unit=Bottlenek")
    assert code == 1
    assert "did you mean 'Bottleneck'?" in err


def test_ir_json_validates_against_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    from archspec.ir import Graph

    code, out, _ = run(capsys, "ir", "resnet18")
    assert code == 0
    graph = Graph.model_validate_json(out)
    assert graph.node("layer4.1.bn2").shape == (512, 7, 7)
    code, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    assert schema["title"] == "Graph"
    assert "conv2d" in json.dumps(schema)


def test_zoo_works_from_any_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "archspec", "check", "resnet50"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok: 1 spec(s) valid\n"


def test_history_of_every_variant_counts_each_network_by_its_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "history", "--all-variants", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    years = [row["year"] for row in rows]
    assert years == sorted(years)
    depth = {row["network"]: row["depth"] for row in rows}
    # A ResNet's and a VGG's name is its number of weight layers on the longest path.
    for name in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "vgg11", "vgg16", "vgg19_bn"):
        assert depth[name] == int("".join(c for c in name.split("_")[0] if c.isdigit()))
    # one row per variant of every zoo spec, each named by its variant
    from archspec.catalog import catalog

    variants = sorted(variant for entry in catalog() for variant in entry.variants)
    assert sorted(row["network"] for row in rows) == variants
    assert len(rows) == 29 and {"swin_v2_t", "maxvit_t"} <= set(variants)


def test_the_version_is_the_packages(capsys: pytest.CaptureFixture[str]) -> None:
    import tomllib

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert capsys.readouterr().out == f"archspec {project['version']}\n"
    assert archspec.__version__ == project["version"]


def test_every_dtype_the_analysis_knows_is_a_dtype_choice(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "analyze", "lenet5", "--dtype", "float64", "--format", "json")
    half = json.loads(run(capsys, "analyze", "lenet5", "--dtype", "float16", "--format", "json")[1])
    assert code == 0
    assert json.loads(out)["activation_bytes"] == 4 * half["activation_bytes"]  # 8 bytes against 2


def test_a_broken_invariant_is_an_internal_error_not_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug exits with code 3 and the hint to report it, not with a usage error's code 2."""
    from archspec.api import Network
    from archspec.backends import source_text
    from archspec.errors import InternalError, UsageError

    with pytest.raises(InternalError, match="cannot write"):
        source_text.literal(object())  # no op field holds such a value: writing one is a bug
    assert not issubclass(InternalError, UsageError)

    def broken(self: Network) -> str:
        return source_text.literal(object())

    monkeypatch.setattr(Network, "to_source", broken)
    code, _, err = run(capsys, "compile", "lenet5")
    assert code == 3
    assert err.startswith("archspec: internal error: InternalError: cannot write <object object at ")
    assert "this is a bug in archspec" in err
