"""What keeps the command line's start cheap (docs/benchmarks.md, "Where the time goes"): guards against
the changes that would quietly bring the cost back. Speed itself is measured in tools/bench_analyze.py."""

from __future__ import annotations

import ast
import importlib.util
import inspect
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
    """A model defined elsewhere would escape the check above. (A module may name BaseModel without
    defining one: elab.graph bounds a type variable by it.)"""

    def defines_a_model(path: Path) -> bool:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        return any(
            isinstance(node, ast.ClassDef) and any(ast.unparse(base) == "BaseModel" for base in node.bases)
            for node in ast.walk(tree)
        )

    defining = {path for path in (ROOT / "archspec").rglob("*.py") if defines_a_model(path)}
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


def test_analysing_a_network_imports_the_op_modules_its_spec_names() -> None:
    """Op classes are created when a spec first names them (archspec.ops.index): analysing vgg16 imports
    the modules of the ops in its graph, and the one of ``batchnorm``, which its init rules name; no other.
    The oracle is the graph itself, read by a second process that imports the whole library."""
    analyze = (
        "import io, contextlib\nfrom archspec.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['analyze', 'vgg16', '--format', 'json']) == 0"
    )
    loaded = {m for m in loaded_after(analyze) if m.startswith("archspec.ops.")}
    script = (
        "import archspec\nfrom archspec.ops import OP_CLASSES\n"
        "graph = archspec.load('vgg16').graph\n"
        "print(' '.join(sorted({type(node.op).__module__ for node in graph.nodes})))\n"
        "print(' '.join(sorted({op.__module__ for op in OP_CLASSES})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    used, library = (set(line.split()) for line in result.stdout.splitlines())
    assert {"archspec.ops.conv", "archspec.ops.pool", "archspec.ops.dense"} <= used
    assert loaded == used | {"archspec.ops.base", "archspec.ops.index", "archspec.ops.norm"}
    assert len(library - loaded) >= 5  # vit, swin, arith, elementwise, rearrange, tensor


def test_the_registries_import_a_module_on_its_first_lookup() -> None:
    """A lookup by name imports that op's module alone; a membership test none; a listing all."""
    ops = "{m.split('.')[-1] for m in sys.modules if m.startswith('archspec.ops.')} - {'base', 'index'}"
    script = (
        "import sys\nfrom archspec.ops import OPS_BY_KIND, OPS_BY_NAME\n"
        f"assert 'gelu' in OPS_BY_NAME and 'attention' in OPS_BY_KIND and 'nope' not in OPS_BY_NAME\n"
        f"print(sorted({ops}))\n"
        "assert OPS_BY_NAME['gelu'].op_kind() == 'gelu' and OPS_BY_NAME.get('nope') is None\n"
        f"print(sorted({ops}))\n"
        "assert OPS_BY_KIND['attention'].spec_names[0] == 'attention'\n"
        f"print(sorted({ops}))\n"
        "names = list(OPS_BY_NAME)\n"
        f"print(sorted({ops}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    lines = result.stdout.splitlines()
    assert lines[:3] == ["[]", "['activation']", "['activation', 'conv', 'vit']"]
    assert len(ast.literal_eval(lines[3])) == len(list((ROOT / "archspec" / "ops").glob("*.py"))) - 3


def test_the_op_index_is_the_modules() -> None:
    """archspec/ops/index.py is what tools/gen_op_table.py makes from every module of the package."""
    spec = importlib.util.spec_from_file_location("gen_op_table", ROOT / "tools" / "gen_op_table.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    index = (ROOT / "archspec" / "ops" / "index.py").read_text(encoding="utf-8")
    assert index == generator.index_module(), "run `.venv/bin/python tools/gen_op_table.py --write`"


def test_an_op_may_not_take_the_name_of_a_library_op_not_yet_imported() -> None:
    """The index stands for the modules not imported: a clash with one of their ops is refused at once."""
    script = (
        "from typing import Literal\nfrom archspec.ops import Op\n"
        "try:\n"
        "    class Mine(Op):\n"
        "        kind: Literal['mine'] = 'mine'\n"
        "        spec_names = ('mine', 'select_token')\n"
        "except TypeError as error:\n"
        "    print(error)\n"
        "import sys\nprint('archspec.ops.vit' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert (
        result.stdout == "op class Mine: kind and spec names must be new strings, ['select_token']\nFalse\n"
    )


def test_a_command_builds_its_own_parser_alone_and_the_same() -> None:
    """`archspec analyze ...` builds the analyze parser only (argparse builds every parser in full, the
    largest part of the start): the same help, usage and options as in the whole tree, for every command."""
    from archspec.cli import _parser_for, build_parser

    whole = build_parser()
    commands = whole._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert len(commands) > 15
    for name, parser in commands.items():
        alone = _parser_for([name])
        assert alone._subparsers._group_actions[0].choices.keys() == {name}  # type: ignore[union-attr]
        assert alone._subparsers._group_actions[0].choices[name].format_help() == parser.format_help()  # type: ignore[union-attr]
    assert _parser_for(["nonsense"]).format_help() == whole.format_help()
    assert _parser_for(["--help"]).format_help() == whole.format_help()
    loaded = loaded_after("from archspec.cli import _parser_for\n_parser_for(['analyze'])")
    assert not {
        m for m in loaded if m.startswith(("archspec.train", "archspec.experiments", "archspec.watch"))
    }


def test_the_class_variables_of_op_are_no_fields_of_any_op() -> None:
    """archspec.ops leaves Op's class variables out of its runtime annotations (pydantic re-read them for
    each op class): pydantic still knows them as class variables, and every op's fields are the ones
    its own classes annotate, as before."""
    from typing import ClassVar, get_origin

    from archspec.ops import OP_CLASSES, Op

    declared = {n for n, a in Op.__annotations__.items() if a is ClassVar or get_origin(a) is ClassVar}
    assert declared == set() and len(Op.__class_vars__) > 15
    for op in OP_CLASSES:
        annotated = {
            name
            for cls in op.__mro__[: op.__mro__.index(Op) + 1]
            for name, value in inspect.get_annotations(cls).items()
            if not (value is ClassVar or get_origin(value) is ClassVar) and name != "model_config"
        }
        assert set(op.model_fields) == annotated, op.__name__
        assert Op.__class_vars__ <= op.__class_vars__, op.__name__
