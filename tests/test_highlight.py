"""The Pygments lexer: every valid spec (the zoo, the documents' examples) lexes without an error token,
gives its text back whole, and the kinds of words are told apart."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from pygments.token import Comment, Error, Keyword, Name, Number, String

from archspec.highlight import ArchspecLexer

ROOT = Path(__file__).resolve().parents[1]
ZOO = sorted((ROOT / "specs").glob("*.arch")) + sorted((ROOT / "archspec" / "std").glob("*.arch"))
FENCE = re.compile(r"^```arch\n(.*?)^```$", re.MULTILINE | re.DOTALL)
DOCS = [ROOT / "docs" / "language.md", ROOT / "README.md", ROOT / "docs" / "editors.md"]
EXAMPLES = [m.group(1) for doc in DOCS for m in FENCE.finditer(doc.read_text("utf-8"))]


@pytest.mark.parametrize(
    "text", [p.read_text("utf-8") for p in ZOO] + EXAMPLES, ids=[p.stem for p in ZOO] + [
        f"example{i}" for i in range(len(EXAMPLES))
    ]
)  # fmt: skip
def test_a_valid_spec_has_no_error_token_and_comes_back_whole(text: str) -> None:
    tokens = list(ArchspecLexer().get_tokens_unprocessed(text))
    assert [value for _, kind, value in tokens if kind is Error] == []
    assert "".join(value for _, _, value in tokens) == text
    assert [offset for offset, _, _ in tokens] == sorted(offset for offset, _, _ in tokens)


def kinds(text: str) -> dict[str, object]:
    return {value: kind for _, kind, value in ArchspecLexer().get_tokens_unprocessed(text) if value.strip()}


def test_the_kinds_of_words() -> None:
    text = (
        "# a comment\n"
        "block Unit(width, stride=1):\n"
        "  residual:\n"
        '    conv1: conv(width, 3) >> bn1: batchnorm >> Other(2.5, "x") from layer1.0.conv\n'
        "network net:\n"
        "  input: 3x32x32\n"
        "  layers:\n"
        "    concat:\n"
        "      relu if true else none\n"
    )
    found = kinds(text)
    assert found["# a comment"] is Comment.Single
    assert found["Unit"] is Name.Class and found["net"] is Name.Class
    assert found["block"] is Keyword and found["residual"] is Keyword and found["concat"] is Keyword
    assert found["conv1"] is Name.Label and found["bn1"] is Name.Label
    assert found["conv"] is Name.Builtin and found["batchnorm"] is Name.Builtin
    assert found["Other"] is Name.Function
    assert found["true"] is Keyword.Constant and found["none"] is Keyword.Constant
    assert found["3x32x32"] is Number and found["2.5"] is Number.Float and found['"x"'] is String
    assert found["0"] is Number.Integer  # in a dotted reference, not the float "0."
    words = kinds("network n:\n  init:\n    when built:\n      conv: zeros\n  params:\n    when = 1\n")
    assert words["init"] is Keyword and words["built"] is Keyword
    assert kinds("x = when + built\n")["when"] is Name  # names outside `init:`
    declared = kinds(
        "block B(c):\n  param scale: [c], init=ones\n  buffer index: [1, 2]\n  mul from input, scale\n"
    )
    assert declared["param"] is Keyword and declared["buffer"] is Keyword
    assert kinds("x = param + buffer\n")["param"] is Name  # names elsewhere


def test_the_lexer_is_registered_with_pygments_as_archspec() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    value = project["project"]["entry-points"]["pygments.lexers"]["archspec"]
    lexer = EntryPoint(name="archspec", value=value, group="pygments.lexers").load()
    assert lexer is ArchspecLexer and "archspec" in lexer.aliases
