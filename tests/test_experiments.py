"""``archspec experiment``: the static claims against hand calculations and the papers, the trained ones
as smoke runs, the command's errors, and the static path without torch."""

from __future__ import annotations

import json
import subprocess
import sys
from html import escape as html_escape
from pathlib import Path
from typing import Any

import pytest

from archspec.catalog import catalog
from archspec.cli import main
from archspec.errors import UsageError
from archspec.experiments.config import experiment_names, load_experiment
from archspec.experiments.runner import cell
from archspec.experiments.static import run_static

NAMES = [
    "stacked_3x3",
    "inception_1x1",
    "mobilenet_separable",
    "mobilenet_width_res",
    "receptive_field",
    "relu_vs_tanh",
    "dropout",
    "batchnorm_init",
    "residual_depth",
    "linear_bottleneck",
    "cnn_vs_vit",
]
TRAINED = NAMES[5:]


def _rows(name: str) -> dict[str, list[Any]]:
    outcome = run_static(load_experiment(name))
    assert outcome.reproduced, outcome.verdict
    return {row[0]: row for row in outcome.rows if row[0]}


def test_the_experiments_are_the_ten_claims_in_order() -> None:
    assert experiment_names() == NAMES


def test_stacked_3x3_convolutions_against_one_large() -> None:
    rows = _rows("stacked_3x3")
    c, area = 64, 32 * 32  # channels in and out; output positions (same padding)
    # variant: (receptive field, params): two 3x3 see 5x5 with 2*9*C^2 weights against 25*C^2, ...
    expected = {
        "two_3x3": (5, 2 * 9 * c * c),
        "one_5x5": (5, 25 * c * c),
        "three_3x3": (7, 3 * 9 * c * c),
        "one_7x7": (7, 49 * c * c),
    }
    for variant, (field, params) in expected.items():
        assert rows[variant][1:] == [field, params, params * area], variant


def test_inception_3a_with_and_without_reductions() -> None:
    rows = _rows("inception_1x1")
    positions = 28 * 28
    # GoogLeNet Table 1, inception (3a) on 192 channels: 64 1x1; 96 -> 128 3x3; 16 -> 32 5x5; pool -> 32.
    reduced_weights = 192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32
    reduced_bn = 2 * (64 + 96 + 128 + 16 + 32 + 32)  # BasicConv2d's batch norm: a scale and a shift each
    # The naive module: 64 1x1, 128 3x3 and 32 5x5 on all 192 channels, and the pool passed through.
    naive_weights = 192 * 64 + 192 * 128 * 9 + 192 * 32 * 25
    naive_bn = 2 * (64 + 128 + 32)
    assert rows["reductions"][1:4] == ["256x28x28", reduced_weights + reduced_bn, reduced_weights * positions]
    assert rows["naive"][1:4] == ["416x28x28", naive_weights + naive_bn, naive_weights * positions]


def test_mobilenet_against_full_convolutions_matches_table_4() -> None:
    rows = _rows("mobilenet_separable")
    # MobileNet paper, Table 4: (params in millions, mult-adds in millions)
    paper = {"full": (29.3, 4866), "separable": (4.2, 569)}
    for variant, (params, mult_adds) in paper.items():
        assert round(rows[variant][2] / 1e6, 1) == params
        assert rows[variant][3] / 1e6 == pytest.approx(mult_adds, rel=1e-3)  # the paper rounds to 1M


def test_mobilenet_width_and_resolution_multipliers_match_tables_6_and_7() -> None:
    rows = _rows("mobilenet_width_res")
    # MobileNet paper, Tables 6 and 7 (figures.md): mult-adds in millions, as printed (whole millions)
    paper = {"1.0-224": 569, "0.75-224": 325, "0.5-224": 149, "0.25-224": 41}
    paper |= {"1.0-192": 418, "1.0-160": 290, "1.0-128": 186}
    assert rows.keys() == paper.keys()
    for key, mult_adds in paper.items():
        assert abs(rows[key][2] / 1e6 - mult_adds) < 1, key  # the paper's last digit


def _field(layers: list[tuple[int, int]]) -> int:
    """Receptive field of a chain of (kernel, stride) layers, by the textbook recurrence."""
    size, jump = 1, 1
    for kernel, stride in layers:
        size += (kernel - 1) * jump
        jump *= stride
    return size


def test_receptive_field_grows_with_depth_in_every_zoo_network() -> None:
    outcome = run_static(load_experiment("receptive_field"))
    assert outcome.reproduced
    curves = {c["network"]: c for c in outcome.plot["curves"]}
    assert set(curves) == {entry.variants[0] for entry in catalog()}  # every network of the zoo
    for curve in curves.values():
        assert curve["monotone"]
        assert curve["sizes"] == sorted(curve["sizes"])
    conv, pool = (3, 1), (2, 2)  # VGG-11, configuration A: its last max pool sees 150 pixels
    vgg11 = [conv, pool, conv, pool, conv, conv, pool, conv, conv, pool, conv, conv, pool]
    assert curves["vgg11"]["sizes"][-1] == _field(vgg11) == 150
    # torchvision's AlexNet: conv 11/4, pool 3/2, conv 5, pool 3/2, three conv 3, pool 3/2
    alexnet = [(11, 4), (3, 2), (5, 1), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)]
    assert curves["alexnet"]["sizes"][-1] == _field(alexnet) == 195
    assert curves["alexnet"]["sizes"][:2] == [11, _field(alexnet[:2])]
    # LeCun 1989: pad, conv 5/2, pad, conv 5/2 (a pad grows nothing): fields 5 and 13
    assert curves["lecun1989"]["sizes"] == [_field([(5, 2)]), _field([(5, 2), (5, 2)])] == [5, 13]


def test_static_experiments_import_no_torch(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from archspec.cli import main\n"
        f"code = main(['experiment', '-q', '--out', {str(tmp_path)!r}, 'stacked_3x3', 'inception_1x1'])\n"
        "assert code == 0, code\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
    result = json.loads((tmp_path / "stacked_3x3" / "result.json").read_text())
    assert result["reproduced"] is True
    assert (tmp_path / "stacked_3x3" / "plot.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "stacked_3x3" / "plot.png").read_bytes().startswith(b"\x89PNG")


def test_trained_experiments_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One epoch, one seed, the fewest points: every trained experiment runs end to end."""
    assert main(["experiment", "--smoke", "-q", "--out", str(tmp_path), *TRAINED]) == 0
    out = capsys.readouterr().out
    for name in TRAINED:
        result = json.loads((tmp_path / name / "result.json").read_text())
        assert result["smoke"] is True and result["details"]["seeds"] == [0]
        assert len(result["rows"]) == 2  # two series, one point each
        assert f"{name}: " in out
        assert (tmp_path / name / "plot.svg").is_file()
        for run in result["details"]["runs"]:
            assert len(run["history"]) == 1 and 0 <= run["test_acc"] <= 1
    # The ReLU/tanh metric against its definition, from the run folder's own metrics.jsonl: the first
    # epoch whose training error is at most 10%, or epochs + 1 when none is.
    relu = json.loads((tmp_path / "relu_vs_tanh" / "result.json").read_text())
    for run in relu["details"]["runs"]:
        folder = tmp_path / "relu_vs_tanh" / "runs" / f"{run['series']}-seed0"
        lines = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
        reached = [row["epoch"] for row in lines if 1 - row["train_acc"] <= 0.1]
        assert run["value"] == (reached[0] if reached else len(lines) + 1)
    # The dropout gap is measured in eval mode on the training images, not from the training pass.
    dropout = json.loads((tmp_path / "dropout" / "result.json").read_text())
    for run in dropout["details"]["runs"]:
        assert run["value"] == pytest.approx(run["train_eval_acc"] - run["test_acc"], abs=1e-12)
    assert not list((tmp_path / "dropout" / "runs").glob("*/*.pt"))  # checkpoints removed once measured
    # Every trained claim but batch norm's (whose x axis is its grid) is judged under its smoke settings
    # too; a setting reaches the training run: the dropout papers' SGD, as each run's config.json says.
    for name in TRAINED:
        result = json.loads((tmp_path / name / "result.json").read_text())
        assert bool(result["details"].get("settings")) is (name != "batchnorm_init"), name
    [judged] = dropout["details"]["settings"]["results"]
    for series in ("with_dropout", "without"):
        for seed in judged["seeds"]:
            folder = tmp_path / "dropout" / "runs" / f"SGD_momentum_0.9_lr_0.05-{series}-seed{seed}"
            config = json.loads((folder / "config.json").read_text())
            assert (config["optimizer"], config["momentum"], config["lr"], config["epochs"]) == (
                "sgd",
                0.9,
                0.05,
                1,
            )


def test_unknown_experiment_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiment", "nope"]) == 2
    assert capsys.readouterr().err == (
        "archspec: error: unknown experiment 'nope'; the experiments are: " + ", ".join(NAMES) + "\n"
    )


def test_experiment_needs_a_name_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiment"]) == 2
    assert capsys.readouterr().err == (
        "archspec: error: name an experiment or give --all; the experiments are: " + ", ".join(NAMES) + "\n"
    )
    assert main(["experiment", "--all", "dropout"]) == 2
    assert capsys.readouterr().err == "archspec: error: give experiment names or --all, not both\n"


def test_a_broken_configuration_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "experiment.toml").write_text('title = "x"\nkind = "static"\n')
    assert main(["experiment", "--dir", str(tmp_path), "broken"]) == 2
    path = tmp_path / "broken" / "experiment.toml"
    assert capsys.readouterr().err == f"archspec: error: {path}: missing key(s) claim, essay\n"


def test_claims_page_escapes_results_and_names_missing_ones(tmp_path: Path) -> None:
    from archspec.site.claims import write_claims
    from archspec.site.pages import environment

    results, site = tmp_path / "results", tmp_path / "site"
    (results / "dropout").mkdir(parents=True)
    site.mkdir()
    result = {
        "columns": ["series", "<b>gap</b>"],
        "rows": [["with_dropout", 0.25]],
        "reproduced": False,
        "verdict": "not reproduced <script>alert(1)</script>",
        "command": "archspec experiment dropout",
        "seconds": 1.5,
        "commit": "abc1234",
        "machine": {"cpus": 2, "load_average": [1.0, 2.0, 3.0]},
        "finished": "2100-01-01T00:00:00+00:00",  # later than the committed record: shown instead
        "details": {"settings": {"columns": ["setting", "<i>seeds</i>"], "rows": [["He <u>init</u>", 8]]}},
    }
    (results / "dropout" / "result.json").write_text(json.dumps(result))
    (results / "dropout" / "plot.svg").write_text("<svg/>")
    (results / "stacked_3x3").mkdir()
    (results / "stacked_3x3" / "result.json").write_text("{not json")
    write_claims(site, environment(), [], results)
    html = (site / "claims.html").read_text()
    assert "not reproduced &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html and "&lt;b&gt;gap&lt;/b&gt;" in html
    # The verdict per setting, as a second table (escaped too).
    assert "<th>&lt;i&gt;seeds&lt;/i&gt;</th>" in html
    assert "<td>He &lt;u&gt;init&lt;/u&gt;</td><td>8</td>" in html
    assert (
        '<img src="claims/dropout.svg"' in html and (site / "claims" / "dropout.svg").read_text() == "<svg/>"
    )
    assert f"{results / 'stacked_3x3' / 'result.json'} could not be read" in html
    assert f"Read from\n  <code>{results / 'dropout' / 'result.json'}</code>." in html
    recorded = "The record committed with the experiment: <code>experiments/relu_vs_tanh/result.json</code>"
    assert recorded in html


def test_settings_are_every_combination_of_the_axes() -> None:
    from archspec.experiments.settings import ranges_overlap, settings_of, summary

    config = {
        "settings": {"spec": {"He": "he.arch", "default": "a.arch"}, "lr": [0.1, 0.3], "more_seeds": [5]}
    }
    settings, more = settings_of(config, {})
    assert [(s.label, s.values) for s in settings] == [
        ("He, lr 0.1", {"spec": "he.arch", "lr": 0.1}),
        ("He, lr 0.3", {"spec": "he.arch", "lr": 0.3}),
        ("default, lr 0.1", {"spec": "a.arch", "lr": 0.1}),
        ("default, lr 0.3", {"spec": "a.arch", "lr": 0.3}),
    ]
    assert more == [5]
    # A labelled value that sets several keys: hand-picked settings, not a product.
    picked = {"settings": {"training": {"AdamW": {"lr": 0.001}, "SGD": {"optimizer": "sgd", "lr": 0.05}}}}
    assert [(s.label, s.values) for s in settings_of(picked, {})[0]] == [
        ("AdamW", {"lr": 0.001}),
        ("SGD", {"optimizer": "sgd", "lr": 0.05}),
    ]
    smoke, _ = settings_of(config, {"settings": {"lr": [1.0]}})
    assert [s.label for s in smoke] == ["lr 1.0"]
    assert settings_of({}, {}) == ([], [])
    assert (
        ranges_overlap([1, 3], [3, 4]) and ranges_overlap([1, 5], [2, 3]) and not ranges_overlap([1, 2], [3])
    )
    results = [
        {"setting": "a", "reproduced": True, "overlap": False},
        {"setting": "b", "reproduced": False, "overlap": True},
    ]
    assert summary(("x", "y"), results) == (
        False,
        "x beats y under 1 of 2 settings; not under: b; within the seeds' spread under: b",
    )


def test_relu_against_tanh_is_judged_under_each_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The smoke version: one setting (He init, rate 0.01), one epoch, seed 0 and one more seed when the
    two series' ranges overlap. Each verdict is recomputed from the run folders' own metrics."""
    assert main(["experiment", "--smoke", "-q", "--out", str(tmp_path), "relu_vs_tanh"]) == 0
    out = capsys.readouterr().out
    result = json.loads((tmp_path / "relu_vs_tanh" / "result.json").read_text())
    [judged] = result["details"]["settings"]["results"]
    assert judged["setting"] == "He init, lr 0.01"
    runs = tmp_path / "relu_vs_tanh" / "runs"

    def epochs_to_error(folder: Path) -> int:  # the metric by its definition, from metrics.jsonl
        rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
        reached = [row["epoch"] for row in rows if 1 - row["train_acc"] <= 0.1]
        return reached[0] if reached else len(rows) + 1

    values = {}
    for series in ("relu", "tanh"):
        folders = [runs / f"He_init_lr_0.01-{series}-seed{seed}" for seed in judged["seeds"]]
        for folder in folders:
            config = json.loads((folder / "config.json").read_text())
            assert config["spec_path"].endswith("experiments/relu_vs_tanh/act_he.arch")
            assert (config["lr"], config["optimizer"], config["epochs"]) == (0.01, "sgd", 1)
        values[series] = [epochs_to_error(folder) for folder in folders]
    assert judged["values"] == values
    first = values["relu"][:1], values["tanh"][:1]
    overlap = max(min(first[0]), min(first[1])) <= min(max(first[0]), max(first[1]))
    assert judged["seeds"] == ([0, 1] if overlap else [0])  # more seeds only where the ranges overlap
    mean = {series: sum(v) / len(v) for series, v in values.items()}
    assert judged["reproduced"] is (mean["relu"] < mean["tanh"])  # fewer epochs is better
    # The claim holds only if it holds under the main setting and under every other one.
    main_holds = epochs_to_error(runs / "relu-seed0") < epochs_to_error(runs / "tanh-seed0")
    assert result["reproduced"] is (main_holds and judged["reproduced"])
    [row] = result["details"]["settings"]["rows"]
    assert row[:2] == ["He init, lr 0.01", len(judged["seeds"])]
    assert "under each setting:" in out and "He init, lr 0.01" in out
    assert "Under the settings a reader would question: relu beats tanh under" in result["verdict"]


def test_a_fresh_site_computes_the_static_claims_and_shows_the_committed_records(tmp_path: Path) -> None:
    """No run folder (a fresh clone): the five static claims are computed while the site is built (the same
    table and verdict as `archspec experiment NAME` writes); each trained claim shows the record committed
    with its experiment, its verdict per setting included."""
    from markupsafe import escape  # the template's escaping (quotes as &#39;)

    from archspec.experiments.runner import run_experiment
    from archspec.experiments.settings import settings_of
    from archspec.site.claims import write_claims
    from archspec.site.pages import environment

    site = tmp_path / "site"
    site.mkdir()
    write_claims(site, environment(), [], tmp_path / "nothing")
    html = (site / "claims.html").read_text()
    static = [n for n in experiment_names() if load_experiment(n).kind == "static"]
    trained = [n for n in experiment_names() if load_experiment(n).kind == "trained"]
    assert len(static) == 5 and len(trained) == 6
    assert html.count("Computed when this site was built") == len(static)
    result = run_experiment("stacked_3x3", out=tmp_path / "runs")
    assert f">{html_escape(result['verdict'])}</p>" in html
    for row in result["rows"]:
        assert "".join(f"<td>{html_escape(str(cell(v)))}</td>" for v in row) in html
    svg = (site / "claims" / "stacked_3x3.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert "Not measured yet" not in html
    for name in trained:
        experiment = load_experiment(name)
        record = json.loads((experiment.folder / "result.json").read_text())
        assert record["smoke"] is False and record["command"].startswith(f"archspec experiment {name}")
        assert f"<code>experiments/{name}/result.json</code>" in html
        assert f">{escape(record['verdict'])}</p>" in html
        for row in record["rows"]:
            assert "".join(f"<td>{escape(cell(v))}</td>" for v in row) in html
        assert (site / "claims" / f"{name}.svg").read_bytes() == (experiment.folder / "plot.svg").read_bytes()
        assert all("history" not in run for run in record["details"]["runs"])  # compact: no epochs
        settings, _ = settings_of(experiment.config, {})
        if "--no-settings" in record["command"]:  # measured under the main configuration only: said so
            assert settings and "settings" not in record["details"]
            assert f"(<code>archspec experiment {name} --no-settings</code>), not under each" in html
            continue
        table = record["details"].get("settings")
        assert bool(table) is bool(settings), name
        if not settings:
            continue
        # One row per setting of the configuration, in its order, each with the seeds it ran, each series'
        # mean and range over them, and its verdict; every cell on the page.
        assert [row[0] for row in table["rows"]] == [s.label for s in settings]
        for row, judged in zip(table["rows"], table["results"], strict=True):
            first, second = judged["values"].values()
            assert row[1] == len(judged["seeds"]) == len(first) == len(second)
            assert row[2] == pytest.approx(sum(first) / len(first), abs=1e-4)
            assert row[4] == pytest.approx(sum(second) / len(second), abs=1e-4)
            assert row[6].startswith("reproduced" if judged["reproduced"] else "not reproduced")
            assert "<tr>" + "".join(f"<td>{escape(cell(v))}</td>" for v in row) + "</tr>" in html
    assert sorted(p.name for p in site.iterdir()) == ["claims", "claims.html"]  # no work folder left


def _result(finished: str, smoke: bool = False, verdict: str = "v") -> dict[str, Any]:
    return {
        "command": "archspec experiment dropout",
        "smoke": smoke,
        "columns": ["series"],
        "rows": [["a"]],
        "reproduced": True,
        "verdict": verdict,
        "seconds": 1.0,
        "machine": {"cpus": 2, "load_average": [1.0]},
        "finished": finished,
    }


@pytest.mark.parametrize(
    ("run", "record", "shown"),
    [
        (_result("2026-12-08T00:00:00+00:00"), _result("2026-12-07T00:00:00+00:00"), "run"),
        (_result("2026-12-06T00:00:00+00:00"), _result("2026-12-07T00:00:00+00:00"), "record"),
        # a smoke run is no measurement: it never replaces a full record, however fresh
        (_result("2026-12-08T00:00:00+00:00", smoke=True), _result("2026-12-07T00:00:00+00:00"), "record"),
        (_result("2026-12-08T00:00:00+00:00", smoke=True), None, "run"),
        (None, _result("2026-12-07T00:00:00+00:00"), "record"),
        # the same moment in another time zone is not later
        (_result("2026-12-07T01:00:00+01:00"), _result("2026-12-07T00:00:00+00:00"), "record"),
    ],
)
def test_the_page_shows_the_fresher_of_run_and_record(
    tmp_path: Path, run: dict[str, Any] | None, record: dict[str, Any] | None, shown: str
) -> None:
    from archspec.site.claims import Claim, _read_result

    paths = {"run": tmp_path / "run.json", "record": tmp_path / "record" / "result.json"}
    paths["record"].parent.mkdir()
    for key, value in (("run", run), ("record", record)):
        if value is not None:
            paths[key].write_text(json.dumps({**value, "verdict": key}))
    claim = Claim("dropout", 6, "t", "c", "e")
    _read_result(claim, paths["run"], paths["record"])
    assert claim.result is not None and claim.result["verdict"] == shown
    assert claim.recorded is (shown == "record") and claim.problem is None and claim.note is None
    assert claim.source == ("experiments/dropout/result.json" if shown == "record" else str(paths["run"]))


def test_an_unreadable_run_leaves_the_record_shown_with_a_note(tmp_path: Path) -> None:
    from archspec.site.claims import Claim, _read_result

    run, record = tmp_path / "run.json", tmp_path / "result.json"
    run.write_text("{", encoding="utf-8")
    record.write_text(json.dumps(_result("2026-12-07T00:00:00+00:00")), encoding="utf-8")
    claim = Claim("dropout", 6, "t", "c", "e")
    _read_result(claim, run, record)
    assert claim.recorded and claim.result is not None and claim.problem is None
    assert (
        claim.note
        == f"{run} could not be read (the file: Invalid JSON: EOF while parsing an object at line 1 column 1)"
    )
    record.write_text("[]", encoding="utf-8")
    claim = Claim("dropout", 6, "t", "c", "e")
    _read_result(claim, run, record)
    assert claim.result is None and claim.problem == (
        f"{run} could not be read (the file: Invalid JSON: EOF while parsing an object at line 1 column 1); "
        f"{record} could not be read (the file: Input should be an object)"
    )


def test_a_record_keeps_the_tables_and_drops_the_histories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--record` writes the experiment's committed record: the result without each run's per-epoch history
    and settings, and the plot beside it; a smoke run is refused. `--no-settings` judges the main
    configuration only, and the command recorded says so."""
    from archspec.experiments.config import Experiment
    from archspec.experiments.runner import record

    assert main(["experiment", "--smoke", "--no-settings", "-q", "--out", str(tmp_path), "relu_vs_tanh"]) == 0
    result = json.loads((tmp_path / "relu_vs_tanh" / "result.json").read_text())
    assert result["command"] == "archspec experiment relu_vs_tanh --smoke --no-settings"
    assert "settings" not in result["details"] and len(result["details"]["runs"]) == 2  # two series, seed 0
    assert main(["experiment", "--smoke", "--record", "relu_vs_tanh"]) == 2
    assert capsys.readouterr().err == (
        "archspec: error: a smoke run is not a measurement: --record needs a full run (no --smoke)\n"
    )
    folder = tmp_path / "experiment"
    folder.mkdir()
    written = record({**result, "smoke": False}, tmp_path / "relu_vs_tanh", Experiment("x", folder, {}))
    assert written == folder / "result.json"
    kept = json.loads(written.read_text())
    assert [
        {**run, "history": r["history"], "settings": r["settings"]}
        for run, r in zip(kept["details"]["runs"], result["details"]["runs"], strict=True)
    ] == result["details"]["runs"]
    assert all("history" not in run and "settings" not in run for run in kept["details"]["runs"])
    assert {k: v for k, v in kept.items() if k not in ("details", "smoke")} == {
        k: v for k, v in result.items() if k not in ("details", "smoke")
    }
    assert (folder / "plot.svg").read_bytes() == (tmp_path / "relu_vs_tanh" / "plot.svg").read_bytes()
    with pytest.raises(UsageError, match="a smoke run is not a measurement"):
        record(result, tmp_path / "relu_vs_tanh", Experiment("x", folder, {}))
    # A static claim is not recorded: the site computes its exact figures when it is built.
    assert main(["experiment", "-q", "--record", "--out", str(tmp_path), "stacked_3x3"]) == 0
    assert "  not recorded: a static claim is computed when the site is built\n" in capsys.readouterr().out
    assert not (load_experiment("stacked_3x3").folder / "result.json").exists()
