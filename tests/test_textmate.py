"""The TextMate grammar of editors/ (for editors that colour with one): every line of every valid spec
(the zoo, the documents' examples) is covered by its rules, with no `invalid` scope.

Its rules are single-line `match` rules, whose regular expressions are in the part of Oniguruma's syntax
that Python's `re` shares; the test applies them as a TextMate engine does: at each position, the rule
whose match starts first, the earlier rule on a tie.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
GRAMMAR = json.loads((ROOT / "editors" / "archspec.tmLanguage.json").read_text("utf-8"))
ZOO = sorted((ROOT / "specs").glob("*.arch")) + sorted((ROOT / "archspec" / "std").glob("*.arch"))
FENCE = re.compile(r"^```arch\n(.*?)^```$", re.MULTILINE | re.DOTALL)
EXAMPLES = [m.group(1) for m in FENCE.finditer((ROOT / "docs" / "language.md").read_text("utf-8"))]


def rules(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The grammar's match rules in the order a TextMate engine tries them (includes expanded)."""
    if "include" in entry:
        return rules(GRAMMAR["repository"][entry["include"].removeprefix("#")])
    if "patterns" in entry:
        return [rule for child in entry["patterns"] for rule in rules(child)]
    return [entry]


RULES = [(re.compile(rule["match"]), rule) for rule in rules(GRAMMAR)]


def scopes(line: str) -> list[tuple[str, str]]:
    """(text, scope) of each token of a line; whitespace between tokens is left out."""
    found, position = [], 0
    while position < len(line):
        best = None
        for pattern, rule in RULES:
            match = pattern.search(line, position)
            if (
                match is not None
                and match.end() > match.start()
                and (best is None or match.start() < best[0].start())
            ):
                best = (match, rule)
        if best is None:
            assert not line[position:].strip()
            break
        match, rule = best
        assert not line[position : match.start()].strip(), line
        if "captures" in rule:
            found += [
                (match.group(int(k)), v["name"]) for k, v in rule["captures"].items() if match.group(int(k))
            ]
        else:
            found.append((match.group(), rule["name"]))
        position = match.end()
    return found


@pytest.mark.parametrize(
    "text", [p.read_text("utf-8") for p in ZOO] + EXAMPLES,
    ids=[p.stem for p in ZOO] + [f"example{i}" for i in range(len(EXAMPLES))],
)  # fmt: skip
def test_every_line_of_a_valid_spec_is_covered_without_an_invalid_scope(text: str) -> None:
    for line in text.splitlines():
        invalid = [token for token, scope in scopes(line) if scope.startswith("invalid")]
        assert invalid == [], line


def test_the_scopes_of_a_line() -> None:
    assert scopes("block Bottleneck(width, stride=1):  # a block") == [
        ("block", "keyword.other.definition.archspec"),
        ("Bottleneck", "entity.name.type.archspec"),
        ("(", "punctuation.archspec"),
        ("width", "variable.other.archspec"),
        (",", "punctuation.archspec"),
        ("stride", "variable.other.archspec"),
        ("=", "keyword.operator.archspec"),
        ("1", "constant.numeric.integer.archspec"),
        (")", "punctuation.archspec"),
        (":", "punctuation.archspec"),
        ("# a block", "comment.line.number-sign.archspec"),
    ]
    assert scopes('  conv1: conv(64, 7) >> relu from layer1.0 if true else "x"')[:4] == [
        ("conv1", "entity.name.tag.label.archspec"),
        (":", "punctuation.archspec"),
        ("conv", "entity.name.function.archspec"),
        ("(", "punctuation.archspec"),
    ]
    assert ("3x224x224", "constant.numeric.shape.archspec") in scopes("  input: 3x224x224")
    assert ("$", "invalid.illegal.archspec") in scopes("  x = $")
    assert scopes("  param scale: [96], init=ones")[0] == ("  param", "keyword.other.archspec")
    assert scopes("  buffer index: [1, 2]")[0] == ("  buffer", "keyword.other.archspec")
    assert ("param", "keyword.other.archspec") not in scopes("  x = param + 1")
    assert scopes("    when built:")[:2] == [
        ("when", "keyword.other.archspec"),
        ("built", "keyword.other.archspec"),
    ]
    assert ("when", "variable.other.archspec") in scopes("    x = when + 1")
