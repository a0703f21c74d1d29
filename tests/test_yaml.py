"""The YAML form of a spec (docs/yaml.md): read into the same AST, positioned errors, conversion both ways,
the round trip over the zoo and the documents' examples, bounds, and the JSON Schema."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from archspec.cli import main
from archspec.errors import SpecError
from archspec.loader import load_program
from archspec.lower import lower, network_of, variant_names
from archspec.syntax import parse
from archspec.yaml_form.reader import read_yaml
from archspec.yaml_form.schema import yaml_schema
from archspec.yaml_form.writer import to_text, to_yaml
from tests.test_docs import EXAMPLES, defines_network

ROOT = Path(__file__).resolve().parents[1]
ZOO = sorted((ROOT / "specs").glob("*.arch"))


def _strip(value: Any) -> Any:
    """The IR without its source positions (the two forms put a layer on different lines)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in ("span", "source")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def irs(path: Path) -> dict[str | None, Any]:
    """The lowered graph of every variant of a spec file (spans left out)."""
    program = load_program(path)
    names = variant_names(network_of(program)) or [None]
    return {name: _strip(lower(program, name).model_dump(mode="json")) for name in names}


def convert_both_ways(text: str, name: str, folder: Path) -> tuple[Path, Path]:
    """``text`` (a text spec) written as YAML into ``folder/yaml``, and that YAML back as text into
    ``folder/arch``; both paths."""
    (folder / "yaml").mkdir(exist_ok=True)
    (folder / "arch").mkdir(exist_ok=True)
    yaml_path = folder / "yaml" / f"{name}.yaml"
    yaml_path.write_text(to_yaml(parse(text, f"{name}.arch")), encoding="utf-8")
    back = folder / "arch" / f"{name}.arch"
    back.write_text(to_text(yaml_path.read_text(encoding="utf-8"), str(yaml_path)), encoding="utf-8")
    return yaml_path, back


@pytest.mark.parametrize("spec", ZOO, ids=lambda p: p.stem)
def test_every_zoo_spec_goes_to_yaml_and_back_to_the_same_ir(spec: Path, tmp_path: Path) -> None:
    yaml_path, back = convert_both_ways(spec.read_text(encoding="utf-8"), spec.stem, tmp_path)
    expected = irs(spec)
    assert irs(yaml_path) == expected  # the YAML itself lowers to the same graphs
    assert irs(back) == expected
    # and the text that comes back is as `archspec fmt` lays it out, and parses to the same tree
    from archspec.fmt import format_text

    text = back.read_text(encoding="utf-8")
    assert format_text(text) == text
    # the same tree, metadata aside (a long text written as `"a" + "b"` comes back as one string)
    assert _without_meta(parse(text)) == _without_meta(parse(spec.read_text(encoding="utf-8")))


def _without_meta(module: Any) -> Any:
    from archspec.ast import replace
    from archspec.fmt import _shape

    return _shape(replace(module, networks=tuple(replace(n, meta=()) for n in module.networks)))


NETWORK_EXAMPLES = [e for e in EXAMPLES if defines_network(e.text) and "# file:" not in e.text]


@pytest.mark.parametrize("example", NETWORK_EXAMPLES, ids=lambda e: f"line{e.line}")
def test_every_language_example_goes_to_yaml_and_back(example: Any, tmp_path: Path) -> None:
    source = tmp_path / "example.arch"
    source.write_text(example.text, encoding="utf-8")
    yaml_path, back = convert_both_ways(example.text, "example", tmp_path)
    expected = irs(source)
    assert irs(yaml_path) == expected
    assert irs(back) == expected


STD = sorted((ROOT / "archspec" / "std").glob("*.arch"))


@pytest.mark.parametrize("spec", STD, ids=lambda p: p.stem)
def test_every_std_file_goes_to_yaml_and_back_to_the_same_tree(spec: Path, tmp_path: Path) -> None:
    # The standard library holds `param`/`buffer` declarations, which the zoo's own files do not.
    from archspec.fmt import _shape

    text = spec.read_text(encoding="utf-8")
    yaml_path, back = convert_both_ways(text, spec.stem, tmp_path)
    expected = _shape(parse(text, spec.name))
    assert _shape(read_yaml(yaml_path.read_text(encoding="utf-8"), spec.name)) == expected
    assert _shape(parse(back.read_text(encoding="utf-8"), spec.name)) == expected


def test_a_declaration_is_written_as_in_a_text_spec(tmp_path: Path) -> None:
    text = (
        "block Scale(c):\n"
        "  param gamma: [c], init=constant(0.5)\n"
        "  buffer shift: [i * 0.1 for i in range(c)], persistent=false\n"
        "  scaled: mul from input, gamma\n"
        "  add from scaled, shift\n"
    )
    written = to_yaml(parse(text, "s.arch"))
    assert "- param gamma: '[c], init=constant(0.5)'\n" in written
    assert "- buffer shift: '[i * 0.1 for i in range(c)], persistent=false'\n" in written
    yaml_path = tmp_path / "s.yaml"
    yaml_path.write_text(written.replace("- param gamma: '[c], init=constant(0.5)'", "- param gamma: 3"))
    with pytest.raises(SpecError) as raised:
        read_yaml(yaml_path.read_text(), str(yaml_path))
    message = raised.value.diagnostics[0].message
    assert message == "'param gamma': a declaration's value is a string, got a number"


def test_the_yaml_is_the_same_syntax_tree_as_the_text_spans_aside() -> None:
    from archspec.fmt import _shape

    text = (ROOT / "specs" / "mobilenet_v2.arch").read_text(encoding="utf-8")
    module = parse(text, "m")
    assert _shape(read_yaml(to_yaml(module), "m")) == _shape(module)


RESNET = """\
block BasicBlock(width, stride=1):
  - residual:
      - conv1: conv(width, 3, stride=stride, pad=1, bias=false)
      - bn1: batchnorm
      - relu
      - conv2: conv(width, 3, pad=1, bias=false)
      - bn2: batchnorm
    shortcut downsample: auto
  - relu

network resnet:
  name: ResNet
  year: 2015
  input: 3x32x32
  params:
    depths: [2, 2]
  variants:
    small: {depths: [1, 1]}
    base:
  layers:
    - conv1: conv(16, 3, pad=1, bias=false)
    - bn1: batchnorm
    - relu
    - for i, depth in enumerate(depths):
        - w = 16 * 2 ** i
        - '"layer{i + 1}": BasicBlock(w, stride=1 if i == 0 else 2) >> BasicBlock(w) * (depth - 1)'
    - avgpool: global_avgpool >> flatten
    - fc: linear(10)
"""


def test_a_yaml_spec_names_layers_as_its_text_does(tmp_path: Path) -> None:
    path = tmp_path / "resnet.yaml"
    path.write_text(RESNET, encoding="utf-8")
    graph = lower(load_program(path), "base")
    names = [node.name for node in graph.nodes]
    assert "layer1.residual" not in names
    assert "conv1" in names and "fc" in names
    assert "layer2.downsample.0" in names  # the projection of the strided block
    assert graph.metadata.name == "ResNet"
    small = lower(load_program(path), "small")
    assert len(small.nodes) < len(graph.nodes)


def test_spans_point_into_the_yaml_file() -> None:
    module = read_yaml(RESNET, "resnet.yaml")
    network = module.networks[0]
    assert network.layers is not None
    fc = network.layers[-1]
    assert fc.span.line == 28
    chain = fc.items[0]  # type: ignore[union-attr]
    assert (chain.atom.span.line, chain.atom.span.column) == (28, 11)  # `linear(10)`
    loop = network.layers[3]
    iterable = loop.iterable  # type: ignore[union-attr]
    assert (iterable.span.line, iterable.span.column) == (24, 23)  # `enumerate(depths)`


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return name


def check_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, text: str) -> tuple[int, str]:
    monkeypatch.chdir(tmp_path)
    name = write(tmp_path, text)
    code, _, err = run(["check", name], capsys)
    return code, err


SMALL = "network n:\n  input: 3x8x8\n  layers:\n    - conv(4, 3)\n"


def test_a_yaml_syntax_error_is_positioned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    code, err = check_error(tmp_path, monkeypatch, capsys, "network n:\n  input: 3x8x8\n  layers: [relu\n")
    assert code == 1
    assert err == "bad.yaml:4:1: error: invalid YAML: expected ',' or ']', but got '<stream end>'\n"


def test_an_unknown_top_level_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    code, err = check_error(tmp_path, monkeypatch, capsys, "lest:\n  a: 1\n" + SMALL)
    assert code == 1
    assert err == (
        "bad.yaml:1:1: error: unknown key 'lest' at the top of a YAML spec\n"
        "   1 | lest:\n"
        "       ^^^^\n"
        "  hint: did you mean 'lets'?\n"
    )


def test_a_wrong_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    code, err = check_error(tmp_path, monkeypatch, capsys, "network n:\n  input: 3x8x8\n  layers: relu\n")
    assert code == 1
    assert err.startswith(
        "bad.yaml:3:3: error: expected a list of layers and statements, got a string\n"
        "   3 |   layers: relu\n"
        "         ^\n"
        "  hint: write each statement on a line of its own, starting with `- `\n"
    )


def test_a_bad_expression_inside_a_string_is_positioned_inside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    text = "network n:\n  input: 3x8x8\n  layers:\n    - conv(4, 3, pad=1 +)\n"
    code, err = check_error(tmp_path, monkeypatch, capsys, text)
    assert code == 1
    assert err == (
        "bad.yaml:4:25: error: unexpected ')'\n"
        "   4 |     - conv(4, 3, pad=1 +)\n"
        "                               ^\n"
    )


def test_an_unfinished_expression_in_a_quoted_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    text = 'network n:\n  input: 3x8x8\n  params:\n    w: "4 *"\n  layers:\n    - conv(w, 3)\n'
    code, err = check_error(tmp_path, monkeypatch, capsys, text)
    assert code == 1
    assert err == ('bad.yaml:4:12: error: unexpected end of line\n   4 |     w: "4 *"\n                  ^\n')


def test_a_quoted_string_is_positioned_past_its_quote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    text = "network n:\n  input: 3x8x8\n  layers:\n    - 'conv(4, 3) >> relux'\n"
    code, err = check_error(tmp_path, monkeypatch, capsys, text)
    assert code == 1
    assert err == (
        "bad.yaml:4:22: error: unknown op or block 'relux'\n"
        "   4 |     - 'conv(4, 3) >> relux'\n"
        "                            ^^^^^\n"
        "  hint: did you mean 'relu'?\n"
    )


def test_a_shape_error_points_at_the_yaml_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    text = (
        "network shapes:\n  input: 3x32x32\n  layers:\n    - features: conv(16, 3) >> relu\n"
        "    - fc: linear(10)\n"
    )
    code, err = check_error(tmp_path, monkeypatch, capsys, text)
    assert code == 1
    assert err.startswith(
        "bad.yaml:5:11: error: fc: linear expects a vector or a token sequence, got 16x30x30\n"
        "   5 |     - fc: linear(10)\n"
        "                 ^^^^^^^^^^\n"
    )


def test_analyze_reports_a_yaml_error_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "network n:\n  input: 3x8x8\n  layers:\n    - {a: relu, b: relu}\n")
    code, out, err = run(["analyze", "bad.yaml"], capsys)
    assert code == 1
    assert out == ""
    assert err == (
        "bad.yaml:4:17: error: one statement a list entry: 'a' and 'b' are two\n"
        "   4 |     - {a: relu, b: relu}\n"
        "                       ^\n"
        "  hint: start the second one on a line of its own with `- `\n"
    )


def test_a_billion_laughs_is_refused_at_its_first_anchor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for index in range(1, 9):
        previous, name = chr(ord("a") + index - 1), chr(ord("a") + index)
        lines.append(f"{name}: &{name} [*{previous},*{previous},*{previous},*{previous},*{previous}]")
    code, err = check_error(tmp_path, monkeypatch, capsys, "\n".join(lines) + "\n")
    assert code == 1
    assert err.startswith(
        "bad.yaml:1:4: error: YAML anchors and aliases are not allowed in a spec\n"
        '   1 | a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        "          ^\n"
        "  hint: write the value out\n"
    )


def test_nesting_is_bounded_before_yaml_builds_anything() -> None:
    text = "network n:\n  input: 3x8x8\n  params:\n    a: " + "[" * 200 + "]" * 200 + "\n  layers: [relu]\n"
    with pytest.raises(SpecError) as caught:
        read_yaml(text, "deep.yaml")
    assert caught.value.diagnostics[0].message == (
        "nested too deeply: more than 100 levels of YAML lists and mappings"
    )


def test_tags_are_refused() -> None:
    with pytest.raises(SpecError) as caught:
        read_yaml("network n: !!python/object:os.system {}\n", "t.yaml")
    assert caught.value.diagnostics[0].message.startswith("YAML tags are not allowed in a spec")


def test_a_large_yaml_file_is_refused_by_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    code, err = check_error(tmp_path, monkeypatch, capsys, SMALL + "#" * 20_000 + "\n")
    assert code == 1
    assert err.startswith("archspec: error: cannot read bad.yaml: larger than the limit of 16,384 bytes")


def test_imports_go_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "units.arch").write_text("block Unit(width):\n  conv(width, 1) >> relu\n", encoding="utf-8")
    (tmp_path / "more.yaml").write_text(
        "imports:\n  - units.arch: [Unit]\nblock Twice(width):\n  - Unit(width) * 2\n", encoding="utf-8"
    )
    (tmp_path / "model.arch").write_text(
        'from "more.yaml" import Twice\nnetwork m:\n  input: 3x8x8\n  layers:\n    Twice(4)\n',
        encoding="utf-8",
    )
    code, out, _ = run(["analyze", "model.arch", "--format", "json"], capsys)
    assert code == 0
    assert json.loads(out)["params"] == (3 * 4 + 4) + (4 * 4 + 4)


def test_convert_writes_a_file_and_both_commands_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, RESNET, "resnet.yaml")
    code, _, err = run(["convert", "resnet.yaml", "--to", "arch", "-o", "resnet.arch"], capsys)
    assert (code, err) == (0, "wrote resnet.arch\n")
    code, yaml_ir, _ = run(["ir", "resnet.yaml"], capsys)
    code2, arch_ir, _ = run(["ir", "resnet.arch"], capsys)
    assert code == code2 == 0
    assert _strip(json.loads(yaml_ir)) == _strip(json.loads(arch_ir))
    code, _, _ = run(["compile", "resnet.yaml", "-o", "resnet.py"], capsys)
    assert code == 0 and "class" in (tmp_path / "resnet.py").read_text(encoding="utf-8")


def test_the_schema_accepts_every_converted_zoo_spec_and_refuses_a_wrong_one(capsys: Any) -> None:
    code, out, _ = run(["schema", "--yaml"], capsys)
    assert code == 0
    schema = json.loads(out)
    assert schema == yaml_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    yaml = YAML(typ="safe")
    for spec in ZOO:
        document = yaml.load(to_yaml(parse(spec.read_text(encoding="utf-8"), spec.name)))
        assert list(validator.iter_errors(document)) == [], spec.name
    wrong = yaml.load("network n:\n  input: 3x8x8\n  layers: relu\nlest: {}\n")
    messages = sorted(error.message for error in validator.iter_errors(wrong))
    assert len(messages) == 2


def test_reading_yaml_imports_no_torch() -> None:
    script = (
        "import sys\nfrom archspec.loader import load_program\nfrom archspec.lower import lower\n"
        "from pathlib import Path\nimport tempfile\n"
        "folder = Path(tempfile.mkdtemp())\n"
        f"(folder / 's.yaml').write_text({SMALL!r})\n"
        "lower(load_program(folder / 's.yaml'))\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


YAML_DOC = ROOT / "docs" / "yaml.md"
YAML_FENCE = re.compile(r"^```yaml\n(.*?)^```$", re.MULTILINE | re.DOTALL)
YAML_EXAMPLES = [m.group(1) for m in YAML_FENCE.finditer(YAML_DOC.read_text(encoding="utf-8"))]
README_EXAMPLES = [m.group(1) for m in YAML_FENCE.finditer((ROOT / "README.md").read_text(encoding="utf-8"))]


def test_the_yaml_examples_of_the_document_lower(tmp_path: Path) -> None:
    assert (len(YAML_EXAMPLES), len(README_EXAMPLES)) == (2, 1)
    for index, text in enumerate(YAML_EXAMPLES + README_EXAMPLES):
        path = tmp_path / f"example{index}.yaml"
        path.write_text(text, encoding="utf-8")
        assert irs(path)


def test_the_documented_resnet_is_the_zoo_resnet_metadata_aside(tmp_path: Path) -> None:
    path = tmp_path / "resnet.yaml"
    path.write_text(YAML_EXAMPLES[0], encoding="utf-8")

    def graphs(spec: Path) -> dict[str | None, Any]:
        return {k: {f: v for f, v in g.items() if f != "metadata"} for k, g in irs(spec).items()}

    expected = graphs(ROOT / "specs" / "resnet.arch")
    assert len(expected) == 5
    assert graphs(path) == expected


def test_templates_quoted_keys_and_metadata_expressions(tmp_path: Path) -> None:
    text = (
        "network t:\n  input: 3x8x8\n  params:\n    width: 4\n  shown: =width * 2\n  note: plain text\n"
        "  init:\n    '\"fc\"': zeros\n  layers:\n    - for i in range(2):\n"
        "        - conv{i}: conv(width, 1)\n"
        "    - '\"add\"': conv(width, 1)\n    - global_avgpool >> flatten\n    - fc: linear(3)\n"
    )
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    graph = lower(load_program(path))
    assert [n.name for n in graph.nodes if n.op.kind == "conv2d"] == ["conv0", "conv1", "add"]
    assert graph.metadata.extra["shown"] == 8
    assert graph.metadata.extra["note"] == "plain text"


def test_an_imported_yaml_file_that_is_not_a_spec_is_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secrets.yaml").write_text("password: hunter2\n", encoding="utf-8")
    (tmp_path / "broken.yml").write_text("token: [abc\n", encoding="utf-8")
    for name in ("secrets.yaml", "broken.yml"):
        write(tmp_path, f'import "{name}"\nnetwork m:\n  input: 3x8x8\n  layers:\n    relu\n', "main.arch")
        code, _, err = run(["check", "main.arch"], capsys)
        assert code == 1
        assert err == (
            f"main.arch:1:1: error: cannot import '{name}': it is not a YAML spec\n"
            f'   1 | import "{name}"\n'
            "       ^\n"
            "  hint: a YAML spec is a mapping whose keys are imports, lets, `block Name(...)` and "
            "`network name`\n"
        )


def test_convert_to_its_own_form_and_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, RESNET, "resnet.yaml")
    code, again, _ = run(["convert", "resnet.yaml", "--to", "yaml"], capsys)
    assert code == 0
    assert _strip(irs(Path("resnet.yaml"))) == _strip(irs(Path(write(tmp_path, again, "again.yaml"))))
    code, _, err = run(["schema", "--yaml", "--analysis"], capsys)
    assert (code, err) == (
        2,
        "archspec: error: --analysis and --yaml ask for different schemas: give one\n",
    )
    code, _, err = run(["convert", "resnet.yaml"], capsys)
    assert code == 2 and "the following arguments are required: --to" in err


def test_mangled_yaml_specs_end_in_a_spec_error_never_a_traceback() -> None:
    """Random edits of the zoo's YAML (YAML's own punctuation among them) are read or refused cleanly."""
    import random

    rng = random.Random(7)
    texts = [to_yaml(parse(p.read_text(encoding="utf-8"), p.name)) for p in ZOO]
    alphabet = list(":-[]{}'\"#&*!|>%@`,?= \n\tx0\\")
    for _ in range(150):
        text = rng.choice(texts)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text))
            if rng.random() < 0.5:
                text = text[:at] + text[at + 1 :]
            else:
                text = text[:at] + rng.choice(alphabet) + text[at:]
        try:
            read_yaml(text, "f.yaml")
        except SpecError as error:
            assert error.render()


def test_a_complex_key_is_refused() -> None:
    with pytest.raises(SpecError) as caught:
        read_yaml("? [a, b]\n: c\n", "k.yaml")
    assert caught.value.render() == (
        "k.yaml:1:3: error: a key of a YAML spec is a name or a text, not a list or a mapping\n"
        "   1 | ? [a, b]\n"
        "         ^"
    )


def test_the_language_server_reports_a_yaml_spec_s_errors_in_place(tmp_path: Path) -> None:
    from archspec.lsp import features
    from archspec.lsp.document import analyse

    path = tmp_path / "s.yaml"
    snapshot = analyse(path, SMALL.replace("conv(4, 3)", "conv(4, 3) >> relux"))
    found = [(d.range.start.line, d.range.start.character, d.message) for d in features.diagnostics(snapshot)]
    assert found == [(3, 20, "unknown op or block 'relux'\nhint: did you mean 'relu'?")]
    assert features.formatting(analyse(path, SMALL)) is None  # `fmt` is for the text form


@pytest.mark.parametrize("name", ["INTERLEAVED", "DENSENET"])
def test_module_lists_and_lists_of_references_go_to_yaml_and_back(name: str, tmp_path: Path) -> None:
    # Dotted labels (`convs.0: conv(...)`) and `concat from input, ["layer{k}" for k in range(i)]`.
    from tests import test_names_references

    text = getattr(test_names_references, name)
    source = tmp_path / "source.arch"
    source.write_text(text, encoding="utf-8")
    yaml_path, back = convert_both_ways(text, "spec", tmp_path)
    expected = irs(source)
    assert irs(yaml_path) == expected
    assert irs(back) == expected
