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
from archspec.loader import load_program
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


# ---------------------------------------------------------------- limits: time and memory, with a position

HEAD = "network n:\n  input: 3x8x8\n  layers:\n"


def spec_error(text: str) -> str:
    """The whole rendered error of elaborating spec ``text`` as ``t.arch``."""
    try:
        lower(load_program(Path("t.arch"), text=text))
    except SpecError as error:
        return error.render() + "\n"
    pytest.fail("no error")


LIMIT_CASES = {
    "round_digits": (
        HEAD + "    x = round(5, -10**7)\n    relu\n",
        """
        t.arch:4:9: error: round() takes digits from -100 to 100, got -10000000
           4 |     x = round(5, -10**7)
                       ^^^^^^^^^^^^^^^^
        """,
    ),
    "nested_list_counted_in_full_before_building": (
        HEAD + "    x = [[0] * 1000] * 1000\n    relu\n",
        """
        t.arch:4:9: error: a list of 1001000 elements is over the limit of 100000 (the elements of nested lists count in full)
           4 |     x = [[0] * 1000] * 1000
                       ^^^^^^^^^^^^^^^^^^^
        """,
    ),
    "loops_that_make_no_layer": (
        HEAD + "    for i in range(100000):\n      for j in range(100000):\n        if false: relu\n",
        """
        t.arch:6:12: error: the spec takes more than 100,000 steps to elaborate (statements, loop iterations, repeats and list elements)
           6 |         if false: relu
                          ^^^^^
          hint: a loop or a repeat runs far more often than a network needs
        """,
    ),
    "repeats_of_nothing": (
        HEAD + "    ((relu * 0) * 200000) * 200000\n",
        """
        t.arch:4:29: error: a repeat count of 200000 is over the limit of 5000 layers
           4 |     ((relu * 0) * 200000) * 200000
                                           ^^^^^^
        """,
    ),
    "repeat_fails_before_making_layers": (
        HEAD + "    relu * 200000\n",
        """
        t.arch:4:12: error: a repeat count of 200000 is over the limit of 5000 layers
           4 |     relu * 200000
                          ^^^^^^
        """,
    ),
    "repeat_of_a_group_fails_after_the_first_copy": (
        HEAD + "    (relu * 1000) * 1000\n",
        """
        t.arch:4:21: error: 1000 copies of 1000 layers are over the limit of 5000 layers
           4 |     (relu * 1000) * 1000
                                   ^^^^
        """,
    ),
    "list_size_checked_before_allocating": (
        HEAD + "    x = [1] * 10**15\n    relu\n",
        """
        t.arch:4:9: error: a list of 1000000000000000 elements is over the limit of 100000
           4 |     x = [1] * 10**15
                       ^^^^^^^^^^^^
        """,
    ),
    "input_rank": (
        "network n:\n  input: [3] * 100000\n  layers:\n    relu\n",
        """
        t.arch:2:10: error: input has 100000 sizes; the limit is 8
           2 |   input: [3] * 100000
                        ^^^^^^^^^^^^
        """,
    ),
    "parentheses": (
        HEAD + "    x = " + "(" * 100 + "1" + ")" * 100 + "\n    relu\n",
        f"""
        t.arch:4:59: error: nested too deeply: more than 50 levels of brackets or of indented bodies
           4 |     x = {"(" * 100}1{")" * 100}
                                                                         ^
        """,
    ),
    "brackets": (
        HEAD + "    x = " + "[" * 100 + "1" + "]" * 100 + "\n    relu\n",
        f"""
        t.arch:4:59: error: nested too deeply: more than 50 levels of brackets or of indented bodies
           4 |     x = {"[" * 100}1{"]" * 100}
                                                                         ^
        """,
    ),
    "block_recursion": (
        "block A():\n  B()\nblock B():\n  A()\n" + HEAD + "    A()\n",
        """
        t.arch:4:3: error: recursive block 'A': A -> B -> A
           4 |   A()
                 ^^^
        """,
    ),
    "deep_chain_of_blocks": (
        "".join(f"block B{i}():\n  B{i + 1}()\n" for i in range(90))
        + "block B90():\n  relu\n"
        + HEAD
        + "    B0()\n",
        """
        t.arch:160:3: error: blocks call each other more than 80 deep: B0 -> B1 -> B2 -> … -> B78 -> B79 -> B80
         160 |   B80()
                 ^^^^^
        """,
    ),
}


@pytest.mark.parametrize("case", sorted(LIMIT_CASES), ids=sorted(LIMIT_CASES))
def test_every_limit_is_an_error_with_a_position(case: str) -> None:
    text, expected = LIMIT_CASES[case]
    assert spec_error(text) == dedent(expected)


@pytest.mark.parametrize(
    ("name", "body", "column"),
    [
        (
            "groups",
            "".join("    " + "  " * i + f"g{i}:\n" for i in range(60)) + "    " + "  " * 60 + "relu\n",
            101,
        ),
        (
            "if",
            "".join("    " + "  " * i + "if true:\n" for i in range(60)) + "    " + "  " * 60 + "relu\n",
            101,
        ),
        (
            "residual",
            "".join("    " + "  " * i + "residual:\n" for i in range(60)) + "    " + "  " * 60 + "relu\n",
            101,
        ),
    ],
)
def test_deeply_indented_bodies_are_an_error(name: str, body: str, column: int) -> None:
    # Indentation levels 0 (network), 2 (layers:), 4 (the body), then one per nested statement: the
    # 51st level is the 49th statement (i = 48), on line 4 + 48, indented 4 + 2 * 48 spaces.
    lines = (HEAD + body).splitlines()
    line = 4 + 48
    assert spec_error(HEAD + body) == (
        f"t.arch:{line}:{column}: error: nested too deeply: more than 50 levels of brackets or of indented bodies\n"
        f"{line:>4} | {lines[line - 1]}\n" + " " * (7 + column - 1) + "^\n"
    )


@pytest.mark.parametrize(
    ("expression", "column"),
    [("-" * 500 + "1", 107), ("not " * 500 + "true", 401), ("+".join(["1"] * 1000), 1813)],
)
def test_long_operator_chains_are_an_error(expression: str, column: int) -> None:
    text = spec_error(HEAD + f"    x = {expression}\n    relu\n")
    assert text.startswith(
        f"t.arch:4:{column}: error: nested too deeply: more than 100 levels of brackets, operators, calls "
        "and indented bodies\n"
    )
    assert text.endswith(
        "  hint: split the expression with `name = ...` bindings, or the layers into blocks\n"
    )


def test_a_70_deep_chain_of_different_blocks_is_not_recursion() -> None:
    blocks = "".join(f"block B{i}():\n  B{i + 1}()\n" for i in range(70)) + "block B70():\n  relu\n"
    graph = lower(load_program(Path("t.arch"), text=blocks + HEAD + "    B0()\n"))
    assert graph.nodes[-1].op.kind == "relu"


def test_an_integer_literal_of_4300_digits() -> None:
    digits = "9" * 4301
    text = spec_error(HEAD + f"    x = {digits}\n    relu\n")
    assert text.startswith("t.arch:4:9: error: integer of 4301 digits is too large (the limit is 10**15)\n")


def test_a_huge_value_is_shortened_in_a_message() -> None:
    text = spec_error(HEAD + "    x = [[0] * 100] * 100\n    y = x + 1\n")
    head = text.splitlines()[0]
    assert head.startswith("t.arch:5:9: error: unsupported operand types for +: list [[0, 0, 0")
    assert head.endswith("and integer 1") and len(head) < 600


def test_numeric_strings_are_not_numbers() -> None:
    assert spec_error(HEAD + '    conv("16", 3)\n') == dedent(
        """
        t.arch:4:10: error: 0: argument 'out_channels' of conv must be an integer, got "16"
           4 |     conv("16", 3)
                        ^^^^
        """
    )
    assert spec_error(HEAD + '    dropout("0.5")\n').splitlines()[0] == (
        "t.arch:4:13: error: 0: argument 'p' of dropout must be a number, got \"0.5\""
    )


def test_escape_sequences_from_a_spec_are_escaped_in_messages() -> None:
    text = spec_error(HEAD + '    conv("\\x1b[2J\\u202e", 3)\n')
    assert "\x1b" not in text and "\u202e" not in text
    assert text.splitlines()[0] == (
        "t.arch:4:10: error: 0: argument 'out_channels' of conv must be an integer, got \"\\x1b[2J\\u202e\""
    )
