"""docs/language.md stays true: its examples lower, its error examples fail as shown, and its generated
sections (the op reference, the grammar) match the code.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from archspec.checks import check_specs
from archspec.errors import SpecError
from archspec.expr import FUNCTIONS
from archspec.loader import load_program
from archspec.lower import lower
from archspec.ops import OP_CLASSES
from archspec.syntax import parse

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "language.md"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
FILE_HEADER = re.compile(r"^# file: (\S+)\n")


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_op_table", ROOT / "tools" / "gen_op_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Block:
    """A fenced code block of the document: its info string, its text, and the line it starts on."""

    info: str
    text: str
    line: int

    @property
    def file(self) -> str:
        """The file name a block declares with a first line ``# file: name``, or ``example.arch``."""
        match = FILE_HEADER.match(self.text)
        return match.group(1) if match else "example.arch"


def blocks() -> list[Block]:
    text = DOC.read_text(encoding="utf-8")
    return [
        Block(m.group(1).strip(), m.group(2), text.count("\n", 0, m.start()) + 1)
        for m in FENCE.finditer(text)
    ]


def arch_blocks(kind: str) -> list[Block]:
    return [b for b in blocks() if b.info == kind]


def write_all_files(directory: Path) -> None:
    """Every example that names its file, so that examples can import each other."""
    for block in arch_blocks("arch"):
        if FILE_HEADER.match(block.text):
            (directory / block.file).write_text(block.text, encoding="utf-8")


def defines_network(text: str) -> bool:
    return re.search(r"^network ", text, re.MULTILINE) is not None


EXAMPLES = arch_blocks("arch")
ERROR_EXAMPLES = arch_blocks("arch error")


def test_the_document_has_examples() -> None:
    assert len(EXAMPLES) >= 15 and len(ERROR_EXAMPLES) >= 2


@pytest.mark.parametrize("block", EXAMPLES, ids=[f"line{b.line}" for b in EXAMPLES])
def test_every_example_parses_and_every_network_lowers(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_all_files(tmp_path)
    module = parse(block.text, block.file)
    if not defines_network(block.text):
        assert module.blocks, f"docs/language.md:{block.line}: an example without a network defines no block"
        return
    program = load_program(Path(block.file), text=block.text)
    network = program.root.module.networks[0]
    for variant in [v.name for v in network.variants] or [None]:
        graph = lower(program, variant=variant)
        assert graph.nodes[graph.output].shape
    (tmp_path / block.file).write_text(block.text, encoding="utf-8")
    found = check_specs([block.file])  # `archspec check`: no error and no warning either
    assert not found.errors + found.warnings, "\n".join(e.render() for e in found.errors + found.warnings)


@pytest.mark.parametrize("block", ERROR_EXAMPLES, ids=[f"line{b.line}" for b in ERROR_EXAMPLES])
def test_error_examples_fail_with_the_message_shown(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    following = next(b for b in blocks() if b.line > block.line)
    assert following.info == "text", (
        f"docs/language.md:{block.line}: an error example is followed by its message"
    )
    with pytest.raises(SpecError) as raised:
        lower(load_program(Path(block.file), text=block.text))
    assert raised.value.render() + "\n" == following.text


def test_the_first_example_names_as_described() -> None:
    text = EXAMPLES[0].text
    graph = lower(load_program(Path("digits.arch"), text=text), variant="small")
    names = [node.name for node in graph.nodes]
    assert names[:3] == ["input", "features.0", "features.1"]
    assert names[-3:] == ["pool", "2", "fc"]
    assert graph.nodes[1].shape[0] == 8 and graph.output_shape == (10,)


def test_the_naming_example_names_as_described(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (block,) = [b for b in EXAMPLES if "network named:" in b.text]
    names = [node.name for node in lower(load_program(Path("named.arch"), text=block.text)).nodes]
    assert names == [
        "input",
        "0",
        "act",
        "2",
        "features.0",
        "features.1",
        "conv1",
        "conv2",
        "6",
        "7",
        "8",
        "head.0",
        "head.1",
    ]


def test_the_op_reference_is_generated_from_the_code() -> None:
    gen = generator()
    text = DOC.read_text(encoding="utf-8")
    assert gen.between(text, gen.OPS_START, gen.OPS_END) == gen.op_table(), (
        "docs/language.md is out of date: run `.venv/bin/python tools/gen_op_table.py --write`"
    )


def test_the_memory_table_is_generated_from_the_ops() -> None:
    gen = generator()
    text = (ROOT / "docs" / "memory.md").read_text(encoding="utf-8")
    table = gen.between(text, gen.SAVED_START, gen.SAVED_END)
    assert table == gen.saved_table(), (
        "docs/memory.md is out of date: run `.venv/bin/python tools/gen_op_table.py --write`"
    )
    for op in OP_CLASSES:  # every op has its row, in the words its `saved` rule is documented with
        assert f"`{op.spec_names[0]}`" in table and op.saved_rule in table, op.__name__


def test_the_grammar_in_the_document_is_the_grammar() -> None:
    gen = generator()
    text = DOC.read_text(encoding="utf-8")
    grammar = (ROOT / "archspec" / "grammar.lark").read_text(encoding="utf-8")
    assert gen.between(text, gen.GRAMMAR_START, gen.GRAMMAR_END) == "```lark\n" + grammar + "```\n", (
        "docs/language.md is out of date: run `.venv/bin/python tools/gen_op_table.py --write`"
    )


def test_every_op_is_documented_with_its_rules() -> None:
    table = generator().op_table()
    for op in OP_CLASSES:
        if op.spec_names[0] == "input":
            continue
        assert f"### `{op.spec_names[0]}`" in table
        assert op.summary and op.shape_rule and op.param_rule and op.flop_rule, op.__name__


def test_every_function_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    functions = text.split("### Functions", 1)[1].split("### Limits", 1)[0]
    for name in FUNCTIONS:
        assert f"`{name}(" in functions, name


def test_the_generator_prints_the_op_table(capsys: pytest.CaptureFixture[str]) -> None:
    gen = generator()
    assert gen.main([]) == 0
    assert capsys.readouterr().out == gen.op_table()


# ---------------------------------------------------------------- every example of README.md and docs/

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def examples(info: str) -> list[tuple[str, Block]]:
    """Every fenced block with this info string in the README and docs/, with its document's name."""
    found = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            if m.group(1).strip() == info:
                line = text.count("\n", 0, m.start()) + 1
                found.append((document.relative_to(ROOT).as_posix(), Block(info, m.group(2), line)))
    return found


def example_id(found: tuple[str, Block]) -> str:
    return f"{found[0]}:{found[1].line}"


SPEC_EXAMPLES = [e for e in examples("arch") if e[0] != "docs/language.md"]  # that one's are above
# The tutorial's Python uses the files its earlier steps made: tests/test_tutorial.py runs it in order.
PYTHON_EXAMPLES = [e for e in examples("python") if e[0] != "docs/tutorial.md"]
SHELL_EXAMPLES = examples("sh")


def test_the_documents_have_examples_of_each_kind() -> None:
    assert SPEC_EXAMPLES and len(PYTHON_EXAMPLES) >= 2 and len(SHELL_EXAMPLES) >= 5


@pytest.mark.parametrize("found", SPEC_EXAMPLES, ids=map(example_id, SPEC_EXAMPLES))
def test_every_spec_example_of_the_documents_is_valid(found: tuple[str, Block], tmp_path: Path) -> None:
    text = found[1].text
    if not defines_network(text):  # a block on its own: used once by a network, with its defaults
        module = parse(text, "example.arch")
        assert module.blocks, f"{found[0]}:{found[1].line}: an example without a network defines no block"
        block = module.blocks[0]
        needed = [p for p in block.params if p.default is None]
        call = f"{block.name}({', '.join('64' for _ in needed)})"
        text += f"\nnetwork example:\n  input: 256x16x16\n  layers:\n    {call}\n"
    (tmp_path / "example.arch").write_text(text, encoding="utf-8")
    result = check_specs([str(tmp_path / "example.arch")])
    assert not result.errors + result.warnings, "\n".join(e.render() for e in result.errors + result.warnings)


@pytest.mark.parametrize("found", PYTHON_EXAMPLES, ids=map(example_id, PYTHON_EXAMPLES))
def test_every_python_example_of_the_documents_runs(
    found: tuple[str, Block], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = found[1].text
    for weights in re.findall(r'weights="(resnet50-[0-9a-f]+\.pth)"', text):
        # The file the example loads: torchvision's resnet50 state_dict, as downloaded from torchvision.
        torch = pytest.importorskip("torch")
        torchvision = pytest.importorskip("torchvision")
        torch.save(torchvision.models.resnet50().state_dict(), tmp_path / weights)
    for index, image in enumerate(sorted(set(re.findall(r'"([\w-]+\.png)"', text)))):
        # The images the example predicts: digits of scikit-learn's, white on black.
        from PIL import Image
        from sklearn.datasets import load_digits

        pixels = (load_digits().images[index] * 255 / 16).astype("uint8")
        Image.fromarray(pixels, mode="L").resize((64, 64)).save(tmp_path / image)
    exec(compile(text, f"{found[0]}:{found[1].line}", "exec"), {"__name__": "__docs__"})


ABRIDGED_EXAMPLES = examples("python abridged")


@pytest.mark.parametrize("found", ABRIDGED_EXAMPLES, ids=map(example_id, ABRIDGED_EXAMPLES))
def test_every_abridged_python_example_names_what_its_file_defines(found: tuple[str, Block]) -> None:
    """A block shown shortened (``python abridged``) is not run; its first line names the file it is
    taken from, which must define every class and function the block shows."""
    text = found[1].text
    source = re.match(r"# abridged from (\S+)", text)
    assert source, "an abridged example's first line says which file it is taken from"
    defined = set(re.findall(r"^\s*(?:class|def) (\w+)", (ROOT / source.group(1)).read_text("utf-8"), re.M))
    shown = set(re.findall(r"^\s*(?:class|def) (\w+)", text, re.M))
    assert shown and shown <= defined, sorted(shown - defined)


def shell_commands(text: str) -> list[str]:
    """The command lines of a shell block: a line indented under a command continues it (the README's
    synopsis), a comment ends at the line's end."""
    commands: list[str] = []
    for line in text.splitlines():
        code = line.split("  #", 1)[0].split(" # ", 1)[0].rstrip()
        if not code.strip():
            continue
        if line[:1].isspace() and commands:
            commands[-1] += " " + code.strip()
        else:
            commands.append(code)
    return commands


SYNOPSIS = re.compile(r"[\[\]|]|\.\.\.|\b[A-Z][A-Z_]+\b")  # [--opt], a|b, FILE...: a synopsis, not a call


def check_archspec_command(words: list[str]) -> None:
    """An ``archspec ...`` command line: parsed by the CLI's own argparse (a synopsis: its subcommand and
    every option it names exist)."""
    from archspec.cli import build_parser

    parser = build_parser()
    line = " ".join(words)
    if SYNOPSIS.search(" ".join(w for w in words if not w.startswith(("folder:", "--data")))):
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        command = subparsers.choices[words[0]]  # KeyError: no such subcommand
        for option in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", line):
            assert option in command._option_string_actions, f"archspec {words[0]} has no option {option}"
        return
    parser.parse_args(words)  # UsageError when the documented command line is not one the CLI takes


@pytest.mark.parametrize("found", SHELL_EXAMPLES, ids=map(example_id, SHELL_EXAMPLES))
def test_every_shell_example_of_the_documents_is_a_command_the_cli_takes(found: tuple[str, Block]) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for command in shell_commands(found[1].text):
        words = shlex.split(command)
        if words[0] == "make":
            assert all(re.search(rf"^{re.escape(t)}:", makefile, re.MULTILINE) for t in words[1:]), command
            continue
        if words[0] == "pygmentize":  # Pygments with archspec's lexer, named as it is registered
            from archspec.highlight import ArchspecLexer

            assert words[words.index("-l") + 1] in ArchspecLexer.aliases, command
            continue
        if words[0] == "torchrun":
            words = words[words.index("archspec") + 1 :]
        else:
            assert words[0] == "archspec", command
            words = words[1:]
        check_archspec_command(words)


def make_recipe(target: str) -> list[str]:
    """The recipe lines of a target of the Makefile (tab-indented lines after ``target:``)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert match is not None, target
    return [line.strip() for line in match.group(1).splitlines()]


def test_make_experiments_records_what_it_runs_as_the_documents_say() -> None:
    from archspec.cli import build_parser

    (recipe,) = [line for line in make_recipe("experiments") if "-m archspec" in line]
    words = shlex.split(recipe.split("-m archspec", 1)[1])
    args = build_parser().parse_args(words)
    # a full rerun must update the committed records (experiments/NAME/result.json and plot.svg) too
    assert (words[0], args.all, args.record, args.smoke) == ("experiment", True, True, False)
    claims = (ROOT / "docs" / "claims.md").read_text(encoding="utf-8")
    documented = re.findall(r"^(archspec [^#\n]*?)\s*#.*\(make experiments\)$", claims, re.MULTILINE)
    assert documented == ["archspec " + " ".join(words)]
