"""Hostile specs: what a spec may read, what archspec never loads, and the limits that keep it bounded.

Every message is compared whole. See docs/security.md for the threat model and the limits.
"""

# ruff: noqa: E501 - the expected messages are verbatim, long lines included

from __future__ import annotations

import contextlib
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
            project/main.arch:1:1: error: cannot import '/etc/passwd': a spec file's name ends in .arch, .yaml or .yml
               1 | import "/etc/passwd"
                   ^
            """,
        ),
        (
            'from "../../../../etc/passwd" import X',
            """
            project/main.arch:1:1: error: cannot import '../../../../etc/passwd': a spec file's name ends in .arch, .yaml or .yml
               1 | from "../../../../etc/passwd" import X
                   ^
            """,
        ),
        (
            'import "/proc/self/environ"',
            """
            project/main.arch:1:1: error: cannot import '/proc/self/environ': a spec file's name ends in .arch, .yaml or .yml
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
        project/main.arch:1:1: error: cannot import 'passwd.arch': it links to a file whose name does not end in .arch, .yaml or .yml
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


def test_the_parser_tables_are_generated_the_same_way_every_time(tmp_path: Path) -> None:
    """Two runs of tools/gen_parser.py (separate processes, other hash seeds: Lark numbers its states in
    the order it meets them in sets) write the same bytes, the shipped file's; and --check says so."""
    files = []
    for seed in ("1", "2"):
        out = tmp_path / f"tables{seed}.json"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": seed}
        tool = [sys.executable, str(ROOT / "tools" / "gen_parser.py")]
        run = subprocess.run([*tool, "--out", str(out)], env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        check = subprocess.run([*tool, "--check"], env=env, capture_output=True, text=True)
        assert (check.returncode, check.stderr) == (0, ""), check.stderr
        files.append(out.read_bytes())
    assert files[0] == files[1] == (ROOT / "archspec" / "grammar.tables.json").read_bytes()


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
        t.arch:6:12: error: the spec takes more than 50,000 steps to elaborate (statements, loop iterations, repeats and list elements)
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


@pytest.mark.parametrize("expression", ["-" * 300 + "1", "not " * 240 + "true", "+".join(["1"] * 450)])
def test_long_operator_chains_are_an_error(expression: str) -> None:
    text = spec_error(HEAD + f"    x = {expression}\n    relu\n")
    first = text.splitlines()[0]
    assert first.startswith("t.arch:4:") and first.endswith(
        ": error: nested too deeply: more than 100 levels of brackets, operators, calls and indented bodies"
    )
    assert text.endswith(
        "  hint: split the expression with `name = ...` bindings, or the layers into blocks\n"
    )


def test_a_very_long_line_is_an_error() -> None:
    assert spec_error(HEAD + "    x = " + "+".join(["1"] * 1000) + "\n").splitlines()[0] == (
        "t.arch:4:1001: error: a line of 2,007 characters is longer than the limit of 1,000"
    )


def test_a_70_deep_chain_of_different_blocks_is_not_recursion() -> None:
    blocks = "".join(f"block B{i}():\n  B{i + 1}()\n" for i in range(70)) + "block B70():\n  relu\n"
    graph = lower(load_program(Path("t.arch"), text=blocks + HEAD + "    B0()\n"))
    assert graph.nodes[-1].op.kind == "relu"


def test_an_integer_literal_of_4300_digits() -> None:
    text = spec_error(HEAD + f"    x = {'9' * 900}\n    relu\n")
    assert text.startswith("t.arch:4:9: error: integer of 900 digits is too large (the limit is 10**15)\n")
    text = spec_error(HEAD + f"    x = {'9' * 4301}\n    relu\n")  # Python's int() refuses it
    assert text.startswith(
        "t.arch:4:1001: error: a line of 4,309 characters is longer than the limit of 1,000\n"
    )


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


# ---------------------------------------------------------------- the command line


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``archspec argv`` run in-process."""
    from archspec.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_batch_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "analyze", "lenet5", "--batch", "0") == (
        2,
        "",
        "archspec: error: argument --batch: expected a positive integer, got '0'\n"
        "(see `archspec analyze --help`)\n",
    )


def test_an_internal_error_is_one_line_and_exit_3(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import archspec.cli

    def broken(args: object) -> int:
        raise MemoryError("out of \x1b[31mmemory")

    monkeypatch.setattr(archspec.cli, "cmd_schema", broken)
    monkeypatch.delenv("ARCHSPEC_DEBUG", raising=False)
    assert cli(capsys, "schema") == (
        3,
        "",
        "archspec: internal error: MemoryError: out of \\x1b[31mmemory\n"
        "  hint: this is a bug in archspec, not in your spec: please report it with the command and the "
        "spec; ARCHSPEC_DEBUG=1 shows the traceback\n",
    )
    monkeypatch.setenv("ARCHSPEC_DEBUG", "1")
    with pytest.raises(MemoryError):
        cli(capsys, "schema")


def test_a_huge_set_value_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "analyze", "lenet5", "--set", "num_classes=[1] * 10**15") == (
        2,
        "",
        "archspec: error: --set num_classes: a list of 1000000000000000 elements is over the limit of 100000\n",
    )


def test_output_dash_is_stdout(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "compile", "lenet5", "-o", "-")
    assert (code, err) == (0, "") and out.startswith('"""lenet5, generated by archspec')
    assert not (tmp_path / "-").exists()


def test_output_through_a_link_keeps_the_link_and_the_mode(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real.py").write_text("old\n", encoding="utf-8")
    (tmp_path / "real.py").chmod(0o640)
    (tmp_path / "link.py").symlink_to("real.py")
    assert cli(capsys, "compile", "lenet5", "-o", "link.py")[0] == 0
    assert (tmp_path / "link.py").is_symlink()
    assert (tmp_path / "real.py").read_text(encoding="utf-8").startswith('"""lenet5')
    assert (tmp_path / "real.py").stat().st_mode & 0o777 == 0o640
    old = os.umask(0o022)
    try:
        assert cli(capsys, "compile", "lenet5", "-o", "new.py")[0] == 0
    finally:
        os.umask(old)
    assert (tmp_path / "new.py").stat().st_mode & 0o777 == 0o644


def test_terminal_escapes_in_a_title_are_escaped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.arch").write_text(
        'network n:\n  title: "\\x1b]0;pwned\\x07\\x1b[2J"\n  input: 3x8x8\n  layers:\n    relu\n',
        encoding="utf-8",
    )
    code, out, err = cli(capsys, "list", str(tmp_path))
    assert (code, err) == (0, "")
    assert out == "n                    n\n                    \\u001b]0;pwned\\u0007\\u001b[2J\n"


def test_list_reports_an_unreadable_file_and_lists_the_rest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.arch").write_bytes(b"\xff\xfe not utf-8")
    (tmp_path / "b.arch").write_text(NET, encoding="utf-8")
    assert cli(capsys, "list", str(tmp_path)) == (
        1,
        "n                    n\n",
        "archspec: error: cannot read a.arch: not UTF-8 text\n",
    )


def test_import_options_on_the_command_line(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    path = spec(project, 'from "lib.arch" import Lib')
    code, _, err = cli(capsys, "check", str(path))
    assert code == 1 and "cannot import 'lib.arch': no such file project/lib.arch" in err
    assert cli(capsys, "check", str(path), "--path", str(project.parent / "outside")) == (
        0,
        "ok: 1 spec(s) valid\n",
        "",
    )
    absolute = spec(project, f'from "{project.parent / "outside" / "lib.arch"}" import Lib')
    assert cli(capsys, "check", str(absolute), "--allow-absolute-imports")[0] == 0


# ---------------------------------------------------------------- generated source, build budget


@pytest.mark.parametrize("name", ["__builtins__", "__name__", "__class__", "super", "print"])
def test_a_block_named_like_a_python_internal_compiles_and_runs(name: str, tmp_path: Path) -> None:
    from archspec.api import load

    text = (
        f"block {name}(w):\n  residual:\n    conv(w, 3, pad=1) >> relu\n  relu\n"
        "network n:\n  input: 4x8x8\n  layers:\n    a: " + name + "(4)\n    __x: conv(4, 1)\n"
    )
    network = load(tmp_path / "t.arch", text=text)
    (tmp_path / "model.py").write_text(network.to_source(), encoding="utf-8")
    run = subprocess.run([sys.executable, "model.py"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "168 parameters; output (1, 4, 8, 8)\n"  # 4*4*9 + 4 (conv) + 4*4 + 4 (1x1 conv)
    keys = subprocess.run(
        [sys.executable, "-c", "import model; print(sorted(model.build().state_dict()))"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert keys.stdout.strip() == str(sorted(["a.0.weight", "a.0.bias", "__x.weight", "__x.bias"]))


def test_the_budget_is_the_smallest_memory_available(monkeypatch: pytest.MonkeyPatch) -> None:
    from archspec.backends import torch_build

    files = {
        "/proc/self/cgroup": "0::/user.slice/job\n",
        "/sys/fs/cgroup/user.slice/job/memory.max": "3221225472\n",  # 3 GiB
        "/sys/fs/cgroup/user.slice/job/memory.current": "1073741824\n",  # 1 GiB used
        "/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",  # v1: no limit
        "/sys/fs/cgroup/memory/memory.usage_in_bytes": "0\n",
        "/proc/meminfo": "MemTotal: 16000000 kB\nMemFree: 100 kB\nMemAvailable: 8000000 kB\n",
    }
    monkeypatch.setattr(torch_build, "_read", files.get)
    assert torch_build.default_budget() == 2 * 2**30
    files["/proc/meminfo"] = "MemAvailable: 1000 kB\n"
    assert torch_build.default_budget() == 1000 * 1024
    files["/sys/fs/cgroup/user.slice/job/memory.max"] = "max\n"
    files["/proc/meminfo"] = "MemAvailable: 8000000 kB\n"
    assert torch_build.default_budget() == 8000000 * 1024
    monkeypatch.setattr(torch_build, "_read", lambda path: None)
    assert torch_build.default_budget() == 64 * 2**30


def test_a_build_with_a_dtype_is_made_in_that_dtype() -> None:
    import torch

    from archspec.api import load

    model = load("lenet5").build(dtype=torch.bfloat16)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


# ---------------------------------------------------------------- any input: an error or a result, nothing else

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_TOKENS = [
    "network", "block", "input", "layers", "for", "in", "if", "else", "residual", "concat", "not", "and",
    "conv", "relu", "range", "round", "x", ":", "(", ")", "[", "]", ",", "=", ">>", "*", "**", "+", "-",
    "\n", "\n  ", "\n    ", " ", "3x8x8", "0", "16", "10**15", "9" * 40, '"', "#", "\x1b", "\u202e",
]  # fmt: skip


def _elaborate(text: str) -> None:
    try:
        lower(load_program(Path("fuzz.arch"), text=text))
    except SpecError as error:
        error.render()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), st.lists(st.sampled_from(_TOKENS), max_size=60).map("".join)))
def test_any_text_is_a_spec_error_or_a_network(text: str) -> None:
    _elaborate(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["(", "[", "-", "not ", "g:\n", "residual:\n", "if true:\n", "1 + "]),
    st.sampled_from([49, 50, 51, 99, 100, 101, 400]),
    st.sampled_from(
        ["relu", "(relu * 0) * 99999", "relu * 5001", "x = [[0] * 999] * 999", "x = " + "9" * 5000]
    ),
)
def test_structural_mutations_are_spec_errors_or_networks(opening: str, depth: int, inner: str) -> None:
    if opening.endswith("\n"):
        body = (
            "".join("    " + "  " * i + opening for i in range(depth)) + "    " + "  " * depth + inner + "\n"
        )
    else:
        body = (
            "    x = "
            + opening * depth
            + "1"
            + (")" if opening == "(" else "]" if opening == "[" else "") * depth
        )
        body += "\n    " + inner + "\n"
    _elaborate(HEAD + body)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=100))
def test_any_set_value_is_a_usage_error_or_a_value(value: str) -> None:
    from archspec.cli import parse_assignment
    from archspec.errors import UsageError

    with contextlib.suppress(UsageError):
        parse_assignment(f"x={value}")
