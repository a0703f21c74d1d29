"""`archspec fmt`: the canonical layout, idempotent, comments and aligned tables kept, and a formatted
file means what the original meant (the same IR once lowered). Tested on the zoo, on the examples of
docs/language.md and on files written carelessly by hand."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archspec import ast
from archspec.errors import SpecError
from archspec.fmt import LINE_LENGTH, format_text
from archspec.loader import load_program
from archspec.lower import lower
from archspec.source import Span
from archspec.syntax import parse

ROOT = Path(__file__).resolve().parents[1]
ZOO = sorted((ROOT / "specs").glob("*.arch"))
FENCE = re.compile(r"^```arch\n(.*?)^```$", re.MULTILINE | re.DOTALL)
DOC_EXAMPLES = [m.group(1) for m in FENCE.finditer((ROOT / "docs" / "language.md").read_text("utf-8"))]
COMMENT = re.compile(r"#.*$", re.MULTILINE)

CARELESS = """\
# a network written in a hurry
from "blocks.arch" import Unit,Other
block   Pair( width,stride = 1 ):
    conv(width,3,stride = stride,pad=1)>>relu
        # a comment indented oddly
    residual  if stride==1 :
          conv(width,3,pad=1)>>relu*(2-1)   # repeated
    shortcut:   conv(width,1)
# the network
network hurried :
    input : 3x32x32
    params:
        w=-1+9
        scale = 2**-1
    layers:
        a:Pair( w )>>b: conv(8,3,pad=1)>>c: conv(8,3,pad=1)>>d: conv(8,3,pad=1)>>e: conv(8,3,pad=1)>>relu
        g:add from a , b
"""

CARELESS_FORMATTED = """\
# a network written in a hurry
from "blocks.arch" import Unit, Other

block Pair(width, stride=1):
  conv(width, 3, stride=stride, pad=1) >> relu
  # a comment indented oddly
  residual if stride == 1:
    conv(width, 3, pad=1) >> relu * (2 - 1)  # repeated
  shortcut: conv(width, 1)

# the network
network hurried:
  input: 3x32x32
  params:
    w = -1 + 9
    scale = 2 ** -1
  layers:
    a: Pair(w) >> b: conv(8, 3, pad=1) >> c: conv(8, 3, pad=1) >> d: conv(8, 3, pad=1) \\
        >> e: conv(8, 3, pad=1) >> relu
    g: add from a, b
"""


def without_spans(value: Any) -> Any:
    """A dumped IR without its source positions (formatting moves lines, never meaning)."""
    if isinstance(value, dict):
        return {k: without_spans(v) for k, v in value.items() if k != "span"}
    if isinstance(value, list):
        return [without_spans(v) for v in value]
    return value


def ir_of(text: str, path: Path) -> Any:
    graph = lower(load_program(path, text=text), variant=None)
    return without_spans(graph.model_dump(mode="json"))


def reindented(text: str, width: int) -> str:
    """``text`` indented ``width`` spaces a level instead of two, lines continued inside brackets moved
    with the line they continue (a careless but valid layout of the same spec)."""
    out, depth, shift = [], 0, 0
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if depth == 0 and stripped.strip():
            shift = indent // 2 * width - indent
        out.append(" " * (indent + shift) + stripped if stripped.strip() else line)
        code = COMMENT.sub("", re.sub(r'"[^"]*"', '""', line))
        depth += code.count("(") + code.count("[") - code.count(")") - code.count("]")
    return "".join(out)


@pytest.mark.parametrize("path", ZOO, ids=[p.stem for p in ZOO])
def test_the_zoo_is_formatted(path: Path) -> None:
    text = path.read_text("utf-8")
    assert format_text(text, str(path)) == text


@pytest.mark.parametrize("path", ZOO, ids=[p.stem for p in ZOO])
def test_a_reindented_zoo_spec_formats_back_to_itself_with_the_same_ir(path: Path) -> None:
    text = path.read_text("utf-8")
    careless = reindented(text, 4)
    assert careless != text
    assert format_text(careless, str(path)) == text
    assert ir_of(careless, path) == ir_of(text, path)


@pytest.mark.parametrize("number", range(len(DOC_EXAMPLES)))
def test_the_documents_examples_format_idempotently_keeping_comments(number: int) -> None:
    text = DOC_EXAMPLES[number]
    formatted = format_text(text)
    assert format_text(formatted) == formatted
    assert COMMENT.findall(formatted) == [c.rstrip() for c in COMMENT.findall(text)]


def test_a_careless_file_takes_the_canonical_layout() -> None:
    formatted = format_text(CARELESS)
    assert formatted == CARELESS_FORMATTED
    assert format_text(formatted) == formatted
    assert max(len(line) for line in formatted.splitlines()) <= LINE_LENGTH


def test_a_careless_network_lowers_to_the_same_ir_once_formatted(tmp_path: Path) -> None:
    (tmp_path / "blocks.arch").write_text("block Unit(w):\n  relu\n\nblock Other():\n  relu\n", "utf-8")
    path = tmp_path / "hurried.arch"
    assert ir_of(format_text(CARELESS), path) == ir_of(CARELESS, path)


def test_a_dotted_reference_is_written_without_spaces() -> None:
    text = "network n:\n  layers:\n    b: relu from layer1 . 0 . conv\n"
    assert format_text(text) == "network n:\n  layers:\n    b: relu from layer1.0.conv\n"


def test_an_aligned_table_stays_aligned_and_a_ragged_one_is_spaced() -> None:
    table = "T = [[1,  16, 1],\n     [6, 160, 2]]\nU = [[1,   2],\n     [3,4]]\n"
    assert format_text(table) == "T = [[1,  16, 1],\n     [6, 160, 2]]\nU = [[1, 2],\n     [3, 4]]\n"


def test_a_long_argument_list_breaks_after_its_commas() -> None:
    arguments = ", ".join(f"argument_{i}={i}" for i in range(12))
    text = f"network n:\n  layers:\n    linear({arguments})\n"
    formatted = format_text(text)
    lines = formatted.splitlines()
    assert len(lines) == 4 and all(len(line) <= LINE_LENGTH for line in lines)
    assert lines[3].startswith(" " * len("    linear(") + "argument_")
    assert format_text(formatted) == formatted


def test_a_long_comment_breaks_no_line() -> None:
    text = "network n:\n  layers:\n    conv(8, 3) >> relu  # " + "a long comment" * 8 + "\n"
    assert format_text(text) == text


def test_a_syntax_error_is_reported_not_formatted() -> None:
    with pytest.raises(SpecError) as error:
        format_text("network n:\n  layers:\n    relu >>\n", "bad.arch")
    assert error.value.render() == (
        "bad.arch:3:12: error: '>>' must be followed by a layer\n   3 |     relu >>\n                  ^\n"
        "  hint: a line break ends a chain; to go on on the next line, put the chain in parentheses: "
        "`(relu >>` and the rest of it, then `)`"
    )


def run(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env_path = {"PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "archspec", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**env_path, "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_ci_check_of_the_specs_folder() -> None:
    """What CI runs: `archspec fmt --check specs/`."""
    result = run("fmt", "--check", "specs/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr == f"0 file(s) would be reformatted, {len(ZOO)} file(s) already formatted\n"


def test_check_prints_a_diff_and_fails_and_fmt_rewrites_in_place(tmp_path: Path) -> None:
    path = tmp_path / "n.arch"
    path.write_text("network n:\n  layers:\n    relu>>relu\n", "utf-8")
    result = run("fmt", "--check", str(path))
    assert result.returncode == 1
    assert "-    relu>>relu\n+    relu >> relu\n" in result.stdout
    assert path.read_text("utf-8") == "network n:\n  layers:\n    relu>>relu\n"
    result = run("fmt", str(path))
    assert result.returncode == 0
    assert path.read_text("utf-8") == "network n:\n  layers:\n    relu >> relu\n"
    assert run("fmt", "--check", str(path)).returncode == 0


def test_standard_input_to_standard_output() -> None:
    result = run("fmt", "-", stdin="network n:\n    layers:\n        relu>>relu\n")
    assert (result.returncode, result.stdout) == (0, "network n:\n  layers:\n    relu >> relu\n")


def test_a_file_with_an_error_is_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "bad.arch"
    path.write_text("network n:\n  layers:\n    relu >>\n", "utf-8")
    result = run("fmt", str(path))
    assert result.returncode == 1
    assert result.stderr == (
        f"{path}:3:12: error: '>>' must be followed by a layer\n   3 |     relu >>\n                  ^\n"
        "  hint: a line break ends a chain; to go on on the next line, put the chain in parentheses: "
        "`(relu >>` and the rest of it, then `)`\n"
        "0 file(s) reformatted, 0 file(s) already formatted, 1 file(s) with errors\n"
    )
    assert path.read_text("utf-8") == "network n:\n  layers:\n    relu >>\n"


def tree(node: Any) -> Any:
    """A syntax tree as nested tuples, without its spans."""
    if isinstance(node, Span):
        return None
    if isinstance(node, ast.Node):
        return (type(node).__name__, *(tree(getattr(node, f)) for f in ast.fields(node)))
    if isinstance(node, tuple | list):
        return tuple(tree(item) for item in node)
    return node


def scrambled(text: str, rng: random.Random) -> str:
    """``text`` with spaces added after some tokens and some lines padded or doubled: the same spec."""
    out = []
    for line in text.splitlines(keepends=True):
        indent = len(line) - len(line.lstrip(" "))
        body = line[indent:]
        if not body.lstrip().startswith("#") and '"' not in body:
            body = re.sub(r"([,=+*]|>>) ", lambda m: m.group(0) + " " * rng.randint(0, 3), body)
        if line.rstrip("\n").endswith("\\"):  # a continued line: nothing may follow the backslash
            out.append(line[:indent] + body)
            continue
        out.append(line[:indent] + body.replace("\n", " " * rng.randint(0, 2) + "\n"))
        if line.strip() and rng.random() < 0.1:
            out.append("\n")
    return "".join(out)


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(ZOO), st.randoms(use_true_random=False))
def test_a_scrambled_zoo_spec_formats_to_a_fixed_point_with_the_same_tree(
    path: Path, rng: random.Random
) -> None:
    text = scrambled(path.read_text("utf-8"), rng)
    formatted = format_text(text, str(path))
    assert format_text(formatted, str(path)) == formatted
    assert tree(parse(formatted, str(path))) == tree(parse(text, str(path)))
    assert COMMENT.findall(formatted) == [c.rstrip() for c in COMMENT.findall(text)]


def test_formatting_highlighting_and_the_servers_analysis_import_no_torch() -> None:
    """The editing tools parse and analyse: like `check`, they never import torch (nor pygls, but the
    server's own module)."""
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from archspec.fmt import format_text\nfrom archspec.highlight import ArchspecLexer\n"
        "from archspec.lsp.document import analyse\nfrom archspec.lsp import features\n"
        "path = Path('specs/resnet.arch')\ntext = path.read_text()\nformat_text(text)\n"
        "list(ArchspecLexer().get_tokens(text))\nfeatures.hover(analyse(path, text), 86, 6)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'torchvision', 'pygls'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout == "[]\n"


def specs_in_the_tests() -> list[str]:
    """The spec texts the test files hold (written by hand, each for a case): a corpus of user specs."""
    import ast as pyast

    texts = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        for node in pyast.walk(pyast.parse(path.read_text("utf-8"))):
            text = node.value if isinstance(node, pyast.Constant) else None
            if isinstance(text, str) and re.search(r"^(network|block) .*\n", text, re.MULTILINE):
                texts.append(text)
    return texts


def test_the_specs_the_tests_hold_format_idempotently_keeping_their_tree() -> None:
    formatted = 0
    for text in specs_in_the_tests():
        try:
            before = tree(parse(text))
        except SpecError:
            continue  # an error case
        result = format_text(text)
        assert format_text(result) == result, text
        assert tree(parse(result)) == before, text
        formatted += 1
    assert formatted > 100
