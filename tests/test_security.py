"""Hostile specs: what a spec may read, what archspec never loads, and the limits that keep it bounded.

Every message is compared whole. See docs/security.md for the threat model and the limits.
"""

# ruff: noqa: E501 - the expected messages are verbatim, long lines included

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from archspec.errors import SpecError
from archspec.loader import load_program, zoo_dir
from archspec.lower import lower

ROOT = Path(__file__).resolve().parents[1]
NET = "network n:\n  input: 3x8x8\n  layers:\n    relu\n"


def dedent(text: str) -> str:
    """The text of a triple-quoted block: dedented, without its first line break."""
    return textwrap.dedent(text).removeprefix("\n")


def error_text(path: Path, **options: object) -> str:
    """The whole rendered error of loading and lowering ``path``."""
    try:
        lower(load_program(path, **options))  # type: ignore[arg-type]
    except SpecError as error:
        return error.render() + "\n"
    pytest.fail("no error")


# ---------------------------------------------------------------- imports


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (the working directory) beside a folder with a secret and a stray spec."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "project").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("TOP-SECRET-LINE\n", encoding="utf-8")
    (tmp_path / "outside" / "lib.arch").write_text("block Lib():\n  relu\n", encoding="utf-8")
    return tmp_path / "project"


def spec(project: Path, first_line: str) -> Path:
    """``project/main.arch``: ``first_line``, then a small network."""
    path = project / "main.arch"
    path.write_text(first_line + "\n" + NET, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'import "/etc/passwd"',
            """
            project/main.arch:1:1: error: cannot import '/etc/passwd': a spec file's name ends in .arch
               1 | import "/etc/passwd"
                   ^
            """,
        ),
        (
            'from "../../../../etc/passwd" import X',
            """
            project/main.arch:1:1: error: cannot import '../../../../etc/passwd': a spec file's name ends in .arch
               1 | from "../../../../etc/passwd" import X
                   ^
            """,
        ),
        (
            'import "/proc/self/environ"',
            """
            project/main.arch:1:1: error: cannot import '/proc/self/environ': a spec file's name ends in .arch
               1 | import "/proc/self/environ"
                   ^
            """,
        ),
        (
            'import "../outside/lib.arch"',
            """
            project/main.arch:1:1: error: cannot import '../outside/lib.arch': it is outside the folders imports may read (the spec's folder and --path folders)
               1 | import "../outside/lib.arch"
                   ^
              hint: add its folder with --path
            """,
        ),
        (
            'import "nosuch.arch"',
            """
            project/main.arch:1:1: error: cannot import 'nosuch.arch': no such file project/nosuch.arch
               1 | import "nosuch.arch"
                   ^
            """,
        ),
        (
            'import "esc\\x1b[2Jape.arch"',
            """
            project/main.arch:1:1: error: cannot import 'esc\\x1b[2Jape.arch': no such file project/esc\\x1b[2Jape.arch
               1 | import "esc\\x1b[2Jape.arch"
                   ^
            """,
        ),
    ],
    ids=["etc_passwd", "dotdot_passwd", "proc_environ", "outside_tree", "missing", "escape_in_name"],
)
def test_an_import_reads_only_spec_files_in_the_allowed_tree(project: Path, line: str, expected: str) -> None:
    text = error_text(spec(project, line))
    assert text == dedent(expected)
    assert "TOP-SECRET" not in text and "root:" not in text


def test_the_bundled_zoo_is_importable_from_any_folder_and_a_local_file_wins(project: Path) -> None:
    """The zoo is archspec's own files: `from "resnet.arch" import BasicBlock` reads it from anywhere."""
    path = spec(project, 'from "resnet.arch" import BasicBlock')
    blocks = load_program(path).root.blocks
    assert blocks["BasicBlock"].path.endswith("resnet.arch")
    assert Path(blocks["BasicBlock"].path).resolve().parent == zoo_dir().resolve()
    (project / "resnet.arch").write_text("block BasicBlock():\n  relu\n", encoding="utf-8")
    assert (
        Path(load_program(path).root.blocks["BasicBlock"].path).resolve()
        == (project / "resnet.arch").resolve()
    )


def test_an_absolute_import_needs_the_flag(project: Path) -> None:
    target = (project.parent / "outside" / "lib.arch").resolve()
    path = spec(project, f'from "{target}" import Lib')
    assert error_text(path) == dedent(
        f"""
        project/main.arch:1:1: error: cannot import '{target}': absolute import paths are not allowed
           1 | from "{target}" import Lib
               ^
          hint: write the path relative to the importing file, add its folder with --path, or pass --allow-absolute-imports
        """
    )
    assert lower(load_program(path, allow_absolute_imports=True)).nodes[-1].name == "0"


def test_a_path_folder_is_searched_and_allowed(project: Path) -> None:
    path = spec(project, 'from "lib.arch" import Lib')
    graph = lower(load_program(path, search_path=[project.parent / "outside"]))
    assert [node.name for node in graph.nodes] == ["input", "0"]


def test_a_link_out_of_the_tree_is_refused(project: Path) -> None:
    (project / "lib.arch").symlink_to(project.parent / "outside" / "lib.arch")
    (project / "passwd.arch").symlink_to(project.parent / "outside" / "secret.txt")
    assert error_text(spec(project, 'import "lib.arch"')) == dedent(
        """
        project/main.arch:1:1: error: cannot import 'lib.arch': it is outside the folders imports may read (the spec's folder and --path folders)
           1 | import "lib.arch"
               ^
          hint: add its folder with --path
        """
    )
    text = error_text(spec(project, 'import "passwd.arch"'), search_path=[project.parent / "outside"])
    assert text == dedent(
        """
        project/main.arch:1:1: error: cannot import 'passwd.arch': it links to a file whose name does not end in .arch
           1 | import "passwd.arch"
               ^
        """
    )


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_an_import_of_something_not_a_regular_file_is_refused(project: Path, kind: str) -> None:
    target = project / "x.arch"
    if kind == "directory":
        target.mkdir()
    else:
        os.mkfifo(target)  # opening it for reading would block forever
    assert error_text(spec(project, 'import "x.arch"')) == dedent(
        """
        project/main.arch:1:1: error: cannot import 'x.arch': not a regular file
           1 | import "x.arch"
               ^
        """
    )


# ---------------------------------------------------------------- no code from the temp folder

_LARK_WITH_CACHE = (
    "from lark import Lark; from archspec.syntax import _LARK_OPTIONS, _ArchIndenter, grammar_text; "
    "Lark(grammar_text(), postlex=_ArchIndenter(), cache=True, **_LARK_OPTIONS)"
)


def test_a_pickle_planted_in_the_temp_folder_is_never_loaded(tmp_path: Path) -> None:
    """Lark's ``cache=True`` (archspec's old parser set-up) unpickles ``$TMPDIR/.lark_cache_*``: plant a
    pickle that creates a file under that name and check that no archspec command runs it."""
    import pickle

    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", _LARK_WITH_CACHE], env=env, check=True)
    caches = list(temp.glob(".lark_cache*"))
    assert caches, "Lark's cache file name changed: this test no longer plants where Lark would read"
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    for cache in caches:  # Lark's format: the grammar's hash on the first line, then pickles
        first_line = cache.read_bytes().split(b"\n", 1)[0]
        cache.write_bytes(first_line + b"\n" + pickle.dumps(Payload()))
    spec_file = tmp_path / "net.arch"
    spec_file.write_text(NET, encoding="utf-8")
    for command in (["check", str(spec_file)], ["analyze", "lenet5", "--format", "json"]):
        run = subprocess.run([sys.executable, "-m", "archspec", *command], env=env, capture_output=True)
        assert run.returncode == 0, run.stderr
    assert not marker.exists()
    # The planted file is live: the old set-up does run it (so this test can fail).
    subprocess.run([sys.executable, "-c", _LARK_WITH_CACHE], env=env, capture_output=True)
    assert marker.exists()


def test_the_shipped_parser_tables_match_the_grammar() -> None:
    """``archspec/grammar.tables.json`` was generated from this grammar (else: tools/gen_parser.py)."""
    from archspec.syntax import build_parser, grammar_text, load_tables

    grammar = grammar_text()
    shipped = load_tables(grammar)
    assert shipped is not None, "the parser tables are out of date: run tools/gen_parser.py"
    fresh = build_parser(grammar)
    for path in sorted((ROOT / "archspec" / "zoo").glob("*.arch")):
        text = path.read_text(encoding="utf-8")
        assert shipped.parse(text, start="start") == fresh.parse(text, start="start")
