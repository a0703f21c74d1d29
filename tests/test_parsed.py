"""The zoo's specs and the standard library shipped parsed (``archspec.parsed``): every entry is what the
parser makes of its text, the folder holds exactly their entries, and anything else (another text, other
parser files, a damaged entry) is parsed as usual."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import archspec
from archspec import loader, parsed
from archspec.loader import display_path, read_spec, spec_files, std_dir, zoo_dir
from archspec.syntax import parse

ROOT = Path(__file__).resolve().parents[1]
ZOO = spec_files(zoo_dir())
STD = spec_files(std_dir())


@pytest.mark.parametrize("path", ZOO + STD, ids=[p.stem for p in ZOO] + [f"std/{p.stem}" for p in STD])
def test_each_entry_is_the_parse_of_its_text(path: Path) -> None:
    """The oracle is the parser: the entry, loaded with the file's path, equals a fresh parse, spans
    included (a node's class, every field, every position)."""
    text = read_spec(path, display_path(path))
    shipped = parsed.lookup(text, "some/where.arch")
    assert shipped is not None, "no entry for this spec: run tools/gen_parsed.py"
    assert shipped == parse(text, "some/where.arch")
    assert shipped != parse(text, "else/where.arch")  # the spans carry the path given


def test_the_folder_holds_exactly_the_zoo_and_the_standard_library() -> None:
    """No entry missing, stale or left over (else: tools/gen_parsed.py)."""
    result = subprocess.run(
        [sys.executable, "tools/gen_parsed.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert len(list(parsed.PARSED_DIR.glob("*.json"))) == len({path.read_bytes() for path in ZOO + STD})


# Modules the transformer imports whose edits cannot change a parse that succeeded (see PARSER_FILES).
NOT_PARSER_FILES = {"archspec.errors", "archspec.records", "archspec.parsed"}


def test_the_fingerprint_covers_every_module_the_parser_runs() -> None:
    """An edit to a module the transformer imports (block_order's `order:` check, its walk) makes the
    entries stale: else a stricter check would be skipped for a zoo text. The imports are read from the
    source with ``ast`` (tests/test_import_graph.py's reader), independently of PARSER_FILES."""
    from test_import_graph import MODULES, imported_modules

    seen: set[str] = set()
    todo = ["archspec.syntax"]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += sorted(imported_modules(name, MODULES[name]))
            if "." in name.removeprefix("archspec."):  # a submodule runs its package's __init__ first
                todo.append(name.rpartition(".")[0])
    files = {MODULES[name].relative_to(parsed.PACKAGE).as_posix() for name in seen - NOT_PARSER_FILES}
    assert files == set(parsed.PARSER_FILES) - {"grammar.lark"}


def test_a_text_not_in_the_zoo_has_no_entry() -> None:
    text = read_spec(zoo_dir() / "vgg.arch", "vgg.arch")
    assert parsed.lookup(text, "vgg.arch") is not None
    assert parsed.lookup(text + "\n", "vgg.arch") is None
    assert parsed.lookup(text.replace("vgg", "vgh", 1), "vgg.arch") is None


def test_entries_of_other_parser_files_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """An edited grammar, transformer or AST changes the fingerprint: the entries no longer match, and
    the spec is parsed (the same network)."""
    expected = archspec.load("vgg16").graph
    parsed.fingerprint.cache_clear()
    monkeypatch.setattr(parsed, "PARSER_FILES", (*parsed.PARSER_FILES, "expr.py"))
    try:
        text = read_spec(zoo_dir() / "vgg.arch", "vgg.arch")
        assert parsed.lookup(text, "vgg.arch") is None
        assert archspec.load("vgg16").graph == expected
    finally:
        parsed.fingerprint.cache_clear()


DAMAGED = {
    "not JSON": "{",
    "not an object": "[]",
    "no module": '{"fingerprint": "%s"}',
    "a class outside the AST": '{"fingerprint": "%s", "module": {"_": "Path", "path": "/"}}',
    "a field the class lacks": '{"fingerprint": "%s", "module": {"_": "Module", "evil": 1}}',
    "a span of three numbers": '{"fingerprint": "%s", "module": {"@": [1, 2, 3]}}',
    "not a module": '{"fingerprint": "%s", "module": {"_": "Name", "id": "x", "span": {"@": [1, 1, 1, 2]}}}',
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_damaged_entry_is_ignored(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A damaged entry is no entry: the spec is parsed, and the network is the same."""
    expected = archspec.load("vgg16").graph
    folder = tmp_path / "parsed"
    shutil.copytree(parsed.PARSED_DIR, folder)
    text = read_spec(zoo_dir() / "vgg.arch", "vgg.arch")
    entry = folder / f"{parsed.text_digest(text)}.json"
    content = DAMAGED[case]
    entry.write_text(content % parsed.fingerprint() if "%s" in content else content, encoding="utf-8")
    monkeypatch.setattr(parsed, "PARSED_DIR", folder)
    assert parsed.lookup(text, "vgg.arch") is None
    loader._parse.cache_clear()  # the loader keeps the ASTs it has read: make it read the damaged entry
    assert archspec.load("vgg16").graph == expected


def test_an_entry_with_a_wrong_fingerprint_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "parsed"
    shutil.copytree(parsed.PARSED_DIR, folder)
    text = read_spec(zoo_dir() / "vgg.arch", "vgg.arch")
    entry = folder / f"{parsed.text_digest(text)}.json"
    document = json.loads(entry.read_text(encoding="utf-8"))
    entry.write_text(json.dumps({**document, "fingerprint": "0" * 64}), encoding="utf-8")
    monkeypatch.setattr(parsed, "PARSED_DIR", folder)
    assert parsed.lookup(text, "vgg.arch") is None
    entry.write_text(json.dumps(document), encoding="utf-8")
    assert parsed.lookup(text, "vgg.arch") is not None


def test_a_copy_of_a_zoo_spec_reports_its_own_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's copy of a zoo spec finds the entry (same text), and its errors point at the copy."""
    monkeypatch.chdir(tmp_path)
    copy = tmp_path / "mine.arch"
    shutil.copy(zoo_dir() / "vgg.arch", copy)
    with pytest.raises(archspec.SpecError) as error:
        archspec.load(copy, "vgg16", num_classes=0)
    assert str(error.value).splitlines()[0].startswith("mine.arch:")
