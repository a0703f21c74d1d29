"""Design-space sweeps: MobileNet v1's Tables 6 and 7 against the paper (figures.md), error rows, the
constraint, the Pareto front against a brute-force oracle, sampling, and the whole text of bad options."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from archspec.cli import main
from archspec.sweeps import Objective, Row, combinations, mark_front, parse_vary, sweep

# MobileNet v1 (Howard et al. 2017), figures.md: Table 6, width multiplier at 224, and Table 7,
# resolution at width 1.0, in millions of mult-adds as the paper prints them.
TABLE_6 = {1.0: 569, 0.75: 325, 0.5: 149, 0.25: 41}
TABLE_7 = {224: 569, 192: 418, 160: 290, 128: 186}
MOBILENET_COMMAND = [
    "sweep", "mobilenet_v1", "--vary", "alpha=1.0,0.75,0.5,0.25", "--vary", "resolution=224:128:-32",
    "--where", "alpha == 1.0 or resolution == 224",
]  # fmt: skip


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_one_command_reproduces_mobilenet_tables_6_and_7(capsys: pytest.CaptureFixture[str]) -> None:
    """The paper prints whole millions and is not consistent about how it rounds (568.7M is 569, 290.7M
    is 290), so each figure must agree to the paper's last digit: within one million."""
    code, out, err = run(capsys, *MOBILENET_COMMAND, "--format", "csv")
    assert (code, err) == (0, "")
    rows = {
        (float(r["alpha"]), int(r["resolution"])): int(r["macs"]) for r in csv.DictReader(io.StringIO(out))
    }
    expected = {(alpha, 224): m for alpha, m in TABLE_6.items()} | {(1.0, r): m for r, m in TABLE_7.items()}
    assert rows.keys() == expected.keys()
    for key, millions in expected.items():
        assert abs(rows[key] / 1e6 - millions) < 1, (key, rows[key], millions)


def test_sweep_imports_no_torch(tmp_path: Path) -> None:
    code = (
        "import sys, io, contextlib\n"
        "from archspec.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['sweep', 'mobilenet_v1', '--vary', 'alpha=0.5,0.25', '--format', 'json']) == 0\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'matplotlib'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_combination_that_does_not_build_is_a_row_with_its_error() -> None:
    result = sweep("vit_b_16", {"image_size": (200, 224, 32)}, params={"num_classes": 10})
    assert [row.values["image_size"] for row in result.rows] == [200, 224, 32]
    assert (
        result.rows[0].error == "conv_proj: patch_embed: input 3x200x200 is not divisible into 16x16 patches"
    )
    assert result.rows[0].figures == {} and not result.rows[0].front
    assert [row.output for row in result.rows[1:]] == [(10,), (10,)]


def test_where_keeps_exactly_the_rows_that_satisfy_it() -> None:
    axes = {"alpha": (1.0, 0.75, 0.5, 0.25), "resolution": (224, 192, 160, 128)}
    every = sweep("mobilenet_v1", axes)
    kept = sweep("mobilenet_v1", axes, where="macs <= 300e6 and params < 4e6 and resolution >= 160")
    expected = [
        row.values
        for row in every.rows
        if row.figures["macs"] <= 300e6 and row.figures["params"] < 4e6 and row.values["resolution"] >= 160
    ]
    assert [row.values for row in kept.rows] == expected
    assert 0 < len(expected) < 16


def test_front_matches_brute_force() -> None:
    """mark_front against a direct reading of the definition over random points (some tied)."""
    rng = random.Random(3)
    rows = [Row({"i": i}, {"macs": rng.randint(0, 9), "rf": rng.randint(0, 9)}) for i in range(60)]
    rows.append(Row({"i": 60}, error="broken"))
    objectives = (Objective("macs"), Objective("rf", maximise=True))
    marked = mark_front(rows, objectives)

    def dominated(a: Row) -> bool:
        return any(
            b.figures["macs"] <= a.figures["macs"]
            and b.figures["rf"] >= a.figures["rf"]
            and (b.figures["macs"], b.figures["rf"]) != (a.figures["macs"], a.figures["rf"])
            for b in rows
            if b.ok
        )

    assert [m.front for m in marked] == [r.ok and not dominated(r) for r in rows]
    assert any(m.front for m in marked)


def test_sample_is_seeded_distinct_and_from_the_grid() -> None:
    axes = {"a": tuple(range(10)), "b": tuple(range(7)), "c": (0.5, 1.0)}
    grid = [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
    picked = combinations(axes, sample=25, seed=7)
    assert picked == combinations(axes, sample=25, seed=7)
    assert picked != combinations(axes, sample=25, seed=8)
    assert len({tuple(p.values()) for p in picked}) == 25
    assert all(p in grid for p in picked)
    assert combinations(axes) == grid
    assert len(combinations(axes, sample=1000)) == len(grid)


def test_vary_values_and_ranges() -> None:
    assert parse_vary("alpha=0.25:1.0:0.25") == ("alpha", (0.25, 0.5, 0.75, 1.0))
    assert parse_vary("resolution=224:128:-32") == ("resolution", (224, 192, 160, 128))
    assert parse_vary("widths=[1, 2],[3,4], true") == ("widths", ((1, 2), (3, 4), True))
    assert parse_vary("unit=Bottleneck,BasicBlock") == ("unit", ("Bottleneck", "BasicBlock"))


def test_the_python_api_is_archspec_sweep() -> None:
    import archspec

    assert archspec.sweep is sweep and "sweep" in archspec.__all__


def test_jobs_give_the_same_rows() -> None:
    axes = {"num_classes": (10, 0, 100)}
    assert sweep("lenet5", axes, jobs=2).rows == sweep("lenet5", axes).rows


def test_json_output_and_plot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plot = tmp_path / "front.png"
    code, out, err = run(
        capsys, "sweep", "mobilenet_v1", "--vary", "alpha=1.0,0.5", "--vary", "resolution=224,128",
        "--objectives", "macs,rf:max", "--format", "json", "--plot", str(plot),
    )  # fmt: skip
    assert (code, err) == (0, f"wrote {plot}\n")  # as draw says what it wrote
    report = json.loads(out)
    assert report["combinations"] == 4 and report["objectives"] == ["macs", "rf:max"]
    assert [row["values"] for row in report["rows"]] == [
        {"alpha": 1.0, "resolution": 224}, {"alpha": 1.0, "resolution": 128},
        {"alpha": 0.5, "resolution": 224}, {"alpha": 0.5, "resolution": 128},
    ]  # fmt: skip
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--vary", "alpha"],
            "archspec: error: --vary expects NAME=V1,V2,... or NAME=START:STOP:STEP, got 'alpha'\n",
        ),
        (["--vary", "alpha=1:2"], "archspec: error: --vary alpha: a range is START:STOP:STEP, got '1:2'\n"),
        (
            ["--vary", "resolution=224:128:32"],
            "archspec: error: --vary resolution: STEP 32 does not lead from 224 to 128\n",
        ),
        (["--vary", "alpha=1.0,,0.5"], "archspec: error: --vary alpha: an empty value\n"),
        (
            ["--vary", "alpah=1.0"],
            "archspec: error: 'alpah' is not a parameter of mobilenet_v1 (did you mean 'alpha'?)\n",
        ),
        (
            [],
            "archspec: error: nothing to sweep: give at least one --vary "
            "NAME=V1,V2,... or NAME=START:STOP:STEP\n",
        ),
        (
            ["--vary", "alpha=1.0", "--where", "mac < 3"],
            "--where:1:1: error: unknown name 'mac'\n   1 | mac < 3\n       ^^^\n"
            "  hint: did you mean 'macs'?\n",
        ),
        (
            ["--vary", "alpha=1.0", "--where", "macs <"],
            "--where:1:7: error: unexpected end of file\n   1 | macs <\n             ^\n",
        ),
        (
            ["--vary", "alpha=1.0", "--where", "macs + 1"],
            "--where:1:1: error: the constraint gave 568740353, not true or false\n"
            "   1 | macs + 1\n       ^^^^^^^^\n",
        ),
        (
            ["--vary", "alpha=1.0", "--vary", "alpha=0.5"],
            "archspec: error: --vary alpha is given twice; give its values in one --vary\n",
        ),
        (
            ["--vary", "alpha=1.0", "--set", "alpha=0.5"],
            "archspec: error: alpha is both swept (--vary) and fixed (--set)\n",
        ),
        (
            ["--vary", "alpha=1.0", "--seed", "3"],
            "archspec: error: --seed chooses the combinations of --sample N; give --sample too\n",
        ),
        (
            ["--vary", "alpha=1.0", "--plot", "x.jpg"],
            "archspec: error: --plot x.jpg: the file must end in .png, .svg, .pdf\n",
        ),
    ],
)
def test_bad_options_whole_message(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = run(capsys, "sweep", "mobilenet_v1", *argv)
    assert (code, out, err) == (2 if err.startswith("archspec:") else 1, "", message)


def test_the_documented_sweeps_print_what_the_document_shows(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each console example of docs/sweeps.md, run as written (its plot into a temporary folder), on a
    terminal as wide as the examples."""
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    monkeypatch.setenv("COLUMNS", "120")
    text = (root / "docs" / "sweeps.md").read_text()
    examples = re.findall(r"```console\n\$ (.*?)\n```", text, re.S)
    assert len(examples) == 2
    for example in examples:
        lines = example.split("\n")
        command = [lines.pop(0)]
        while command[-1].endswith("\\"):
            command[-1] = command[-1][:-1]
            command.append(lines.pop(0))
        argv = shlex.split(" ".join(command))
        assert argv[:2] == ["archspec", "sweep"]
        wrote = ""
        if "--plot" in argv:
            argv[argv.index("--plot") + 1] = str(tmp_path / "plot.png")
            wrote = f"wrote {tmp_path / 'plot.png'}\n"
        code, out, err = run(capsys, *argv[1:])
        assert (code, err) == (0, wrote)
        assert out == "\n".join(lines) + "\n"


def test_a_table_wider_than_the_terminal_leaves_out_figures_but_not_objectives(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80 columns the table of docs/sweeps.md's MobileNet example was 97 wide and wrapped in the
    terminal: figures are left out (training, activations, depth, RF, output; never an objective) until it
    fits, and the footer says which."""
    monkeypatch.setenv("COLUMNS", "120")
    _, wide, _ = run(capsys, *MOBILENET_COMMAND)
    monkeypatch.setenv("COLUMNS", "60")
    code, narrow, err = run(capsys, *MOBILENET_COMMAND, "--objectives", "macs,rf:max")
    assert (code, err) == (0, "")
    lines = narrow.splitlines()
    assert max(map(len, lines)) <= 60
    assert lines[0].split() == ["alpha", "resolution", "params", "MACs", "RF", "output", "front"]
    assert lines[8:] == [
        "7 rows of 16 combinations; 1 on the front of macs (min), rf",
        "  (max)",
        "left out to fit the terminal: training (AdamW), activations,",
        "  depth (--format csv has every figure)",
    ]
    # each row keeps its figures: the wide row without the left-out columns ("39.1 MiB" is two words)
    for w, n in zip(wide.splitlines()[1:8], lines[1:8], strict=True):
        assert n.split() == [*w.split()[:4], *w.split()[8:9], *w.split()[10:]]


def test_a_spec_edited_between_loads_is_read_again(tmp_path: Path) -> None:
    """The loader keeps parsed ASTs (a search loop loads one spec many times), keyed by the text."""
    import archspec

    spec = tmp_path / "net.arch"
    layers = "network net:\n  input: 1x8x8\n  layers:\n    fc: flatten >> linear({})\n"
    spec.write_text(layers.format(3))
    assert archspec.load(spec).params == 64 * 3 + 3
    spec.write_text(layers.format(5))
    assert archspec.load(spec).params == 64 * 5 + 5


@pytest.mark.parametrize("name", ["resnet50", "vit_b_16", "googlenet", "mobilenet_v3_large"])
def test_sweep_figures_are_the_analysis_figures(name: str) -> None:
    """A sweep computes its figures without the per-layer rows: they must be what `analyze` reports
    (whose own figures the analysis tests check against torch and figures.md)."""
    import archspec
    from archspec.sweeps import figures_of

    network = archspec.load(name)
    analysis = network.analyze()
    field = analysis.spatial_receptive_field  # the spatial path's, as history shows it
    assert figures_of(network.graph) == {
        "params": analysis.params,
        "macs": analysis.macs,
        "flops": analysis.flops,
        "activation_bytes": analysis.activation_bytes,
        "peak_activation_bytes": analysis.peak_activation_bytes,
        "training_bytes": analysis.training_memory["adamw"]["total_bytes"],
        "rf": field.size[0] if not isinstance(field, str) and field is not None else 0,
        "depth": analysis.depth,
    }


def test_the_footer_counts_in_the_singular_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "sweep", "mobilenet_v1", "--vary", "alpha=0.25")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "1 row of 1 combination; 1 on the front of macs (min), params (min)"
    code, out, _ = run(capsys, "sweep", "mobilenet_v1", "--vary", "alpha=0.25,0.5", "--where", "macs < 1")
    assert out.splitlines()[-1] == "0 rows of 2 combinations; 0 on the front of macs (min), params (min)"
