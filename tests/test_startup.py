"""What keeps the command line's start cheap (docs/benchmarks.md, "Where the time goes"): guards against
the changes that would quietly bring the cost back. Speed itself is measured in tools/bench_analyze.py."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The modules that define pydantic models: pydantic evaluates every string annotation of a model class
# when the class is created (compiling each), so these write real annotations.
MODEL_MODULES = sorted(
    [
        *(ROOT / "archspec" / "ops").glob("*.py"),
        *(ROOT / "archspec" / name for name in ("ir.py", "train/schema.py", "site/result_file.py")),
    ]
)


def postpones_annotations(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )


def test_model_modules_write_real_annotations() -> None:
    assert len(MODEL_MODULES) > 5
    assert [p.name for p in MODEL_MODULES if postpones_annotations(p)] == []


def test_every_pydantic_model_lives_in_a_model_module() -> None:
    """A model defined elsewhere would escape the check above."""
    defining = {
        path for path in (ROOT / "archspec").rglob("*.py") if "BaseModel" in path.read_text(encoding="utf-8")
    }
    assert defining <= set(MODEL_MODULES), sorted(str(p) for p in defining - set(MODEL_MODULES))


def loaded_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_importing_archspec_loads_neither_pydantic_nor_lark() -> None:
    """`import archspec` is cheap: its public names (load, Network, the errors) import on first use."""
    loaded = loaded_after("import archspec")
    assert {m for m in loaded if m.split(".")[0] in {"pydantic", "lark", "torch"}} == set()
    assert {m for m in loaded_after("from archspec import load") if m.split(".")[0] == "pydantic"}


def test_building_the_command_line_reads_no_experiment() -> None:
    """Every command builds every subcommand's parser: the experiment parser must not load the
    experiments (their TOML files) to do it."""
    loaded = loaded_after("from archspec.cli import build_parser\nbuild_parser()")
    assert "tomllib" not in loaded
    assert not {
        m for m in loaded if m.startswith("archspec.experiments.") and m != "archspec.experiments.commands"
    }


def test_analysing_a_zoo_network_loads_no_parser(tmp_path: Path) -> None:
    """The zoo's specs are shipped parsed (archspec.parsed): `archspec analyze vgg16` imports neither
    Lark nor the parser; a spec of one's own still parses."""
    analyze = (
        "import io, contextlib\nfrom archspec.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main([{args}]) == 0"
    )
    zoo = loaded_after(analyze.format(args="'analyze', 'vgg16', '--format', 'json'"))
    assert {m for m in zoo if m.split(".")[0] == "lark" or m == "archspec.syntax"} == set()
    own_spec = tmp_path / "own.arch"
    own_spec.write_text("network own:\n  input: 3x8x8\n  layers:\n    conv(4, 3)\n", encoding="utf-8")
    own = loaded_after(analyze.format(args=f"'analyze', {str(own_spec)!r}"))
    assert {"lark", "archspec.syntax"} <= own
