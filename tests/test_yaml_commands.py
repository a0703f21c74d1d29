"""`archspec list DIR`, `archspec report FOLDER` and `archspec fmt` take YAML specs as they take `.arch`
ones (docs/yaml.md#commands-on-folders). Oracles: the text spec each YAML spec is converted from (its
network, variants and metadata, read from the `.arch` file), the YAML writer's own output, and
hand-written whole messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archspec.cli import main
from archspec.yaml_form.convert import first_comment

TEXT = """\
network tiny:
  title: "A tiny network"
  year: 2001
  input: 1x8x8
  params:
    width = 4
  variants:
    tiny_a: width=4
    tiny_b: width=8
  layers:
    conv1: conv(width, 3, pad=1) >> relu
    flatten
    fc: linear(10)
"""

YAML = """\
network small:
  year: 1999
  input: 1x8x8
  layers:
    - conv1: conv(4, 3)
    - flatten
    - fc: linear(10)
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A folder with a text spec, a YAML spec converted from another text spec, a `.yml` one, and a YAML
    file that is no spec (a CI workflow)."""
    (tmp_path / "tiny.arch").write_text(TEXT.replace("tiny", "text"), "utf-8")
    source = tmp_path / "source.arch"
    source.write_text(TEXT, "utf-8")
    (tmp_path / "sub").mkdir()
    assert main(["convert", str(source), "--to", "yaml", "-o", str(tmp_path / "sub" / "tiny.yaml")]) == 0
    source.unlink()
    (tmp_path / "small.yml").write_text(YAML, "utf-8")
    (tmp_path / "ci.yml").write_text("on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n", "utf-8")
    capsys.readouterr()
    return tmp_path


def test_list_of_a_folder_shows_its_yaml_specs(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "list", str(folder))
    assert (code, err) == (0, "")
    assert out == (
        "small          1999  small\n"
        "text           2001  text_a, text_b\n"
        "                    A text network\n"
        "tiny           2001  tiny_a, tiny_b\n"
        "                    A tiny network\n"
    )
    code, out, _ = run(capsys, "list", str(folder), "--format", "json")
    rows = {row["network"]: row["path"] for row in json.loads(out)}
    assert rows == {
        "small": str(folder / "small.yml"),
        "text": str(folder / "tiny.arch"),
        "tiny": str(folder / "sub" / "tiny.yaml"),
    }


def test_a_broken_yaml_spec_in_a_folder_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yaml").write_text("network bad:\n  input: 1x8x8\n  layers:\n    - conv(4, 3\n", "utf-8")
    code, out, err = run(capsys, "list", str(tmp_path))
    assert (code, out) == (1, "")
    assert err == (
        f"{tmp_path / 'bad.yaml'}:4:11: error: '(' was never closed\n"
        "   4 |     - conv(4, 3\n"
        "                 ^\n"
    )


def test_a_misspelt_yaml_spec_in_a_folder_is_reported_not_passed_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CI workflow is passed over (its keys are no spec's), and so is a file this reader refuses (a
    GitLab CI file with anchors); a spec whose `network` key is misspelt is reported with the key it
    meant, where it was once passed over as silently as the workflow."""
    (tmp_path / "ci.yml").write_text("on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n", "utf-8")
    (tmp_path / "gitlab.yml").write_text(".base: &base\n  image: python\ntest:\n  <<: *base\n", "utf-8")
    (tmp_path / "bad.yaml").write_text("netwrok tiny:\n  input: 1x8x8\n  layers:\n    - relu\n", "utf-8")
    code, out, err = run(capsys, "list", str(tmp_path))
    assert (code, out) == (1, "")
    assert err == (
        f"{tmp_path / 'bad.yaml'}:1:1: error: unknown key 'netwrok tiny' at the top of a YAML spec\n"
        "   1 | netwrok tiny:\n"
        "       ^^^^^^^^^^^^\n"
        "  hint: did you mean 'network tiny'?\n"
    )
    (tmp_path / "bad.yaml").unlink()
    assert run(capsys, "list", str(tmp_path)) == (0, "", "")


def test_a_yaml_file_named_as_the_folder_is_no_folder(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "list", "missing.yaml")
    assert (code, out, err) == (2, "", "archspec: error: no such folder: missing.yaml\n")


def test_report_of_a_folder_has_a_page_for_each_yaml_spec(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    code, out, _ = run(capsys, "report", str(folder), "-o", str(site))
    assert code == 0, out
    pages = sorted(p.name for p in site.glob("*.html"))
    assert pages == ["index.html", "small.html", "text_a.html", "text_b.html", "tiny_a.html", "tiny_b.html"]
    # a YAML spec is offered for download as the file it is, in its own form
    assert (site / "files" / "small.yml").read_text("utf-8") == YAML
    assert (site / "files" / "tiny_a.yaml").read_text("utf-8") == (folder / "sub" / "tiny.yaml").read_text()
    assert (site / "files" / "text_a.arch").exists() and not (site / "files" / "text_a.yaml").exists()
    page = (site / "small.html").read_text("utf-8")
    assert '<a href="files/small.yml" download>spec (.yml)</a>' in page
    assert "spec (.arch)" not in page
    assert '<span class="hl-nt">network small</span>' in page  # highlighted as YAML: a mapping's key


def test_report_of_a_folder_without_a_network(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ci.yml").write_text("on: push\n", "utf-8")
    code, out, err = run(capsys, "report", str(tmp_path), "-o", str(tmp_path / "site"))
    assert (code, out) == (2, "")
    assert err == (
        f"archspec: error: {tmp_path} holds no spec file (.arch, .yaml, .yml) that defines a network\n"
    )


# ---------------------------------------------------------------- fmt


def test_fmt_rewrites_a_yaml_spec_in_the_canonical_yaml_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "small.yaml"
    messy = YAML.replace("  year: 1999", "  year:    1999").replace("    - flatten", "    -   flatten")
    path.write_text(messy, "utf-8")
    code, out, err = run(capsys, "fmt", "--check", str(path))
    assert code == 1
    assert out == (
        f"--- {path}\n+++ {path} (formatted)\n@@ -1,7 +1,7 @@\n network small:\n"
        "-  year:    1999\n+  year: 1999\n   input: 1x8x8\n   layers:\n     - conv1: conv(4, 3)\n"
        "-    -   flatten\n+    - flatten\n     - fc: linear(10)\n"
    )
    assert err == f"would reformat {path}\n1 file(s) would be reformatted, 0 file(s) already formatted\n"
    assert path.read_text("utf-8") == messy
    assert run(capsys, "fmt", str(path))[0] == 0
    assert path.read_text("utf-8") == YAML
    # the canonical layout is the writer's: what `convert --to yaml` prints
    code, out, _ = run(capsys, "convert", str(path), "--to", "yaml")
    assert (code, out) == (0, YAML)
    assert run(capsys, "fmt", "--check", str(path)) == (
        0,
        "",
        "0 file(s) would be reformatted, 1 file(s) already formatted\n",
    )


def test_fmt_refuses_a_yaml_spec_with_comments_and_leaves_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "small.yml"
    text = YAML.replace("    - flatten\n", "    - flatten     # to a vector\n").replace("year:", "year:   ")
    path.write_text(text, "utf-8")
    code, out, err = run(capsys, "fmt", str(path))
    assert (code, out) == (1, "")
    assert err == (
        f"{path}:6:19: error: fmt does not rewrite a YAML spec that has comments: the YAML writer would "
        "drop them\n"
        "   6 |     - flatten     # to a vector\n"
        "                         ^^^^^^^^^^^^^\n"
        "  hint: leave the file's layout as it is, or remove the comments; "
        f"`archspec convert {path} --to yaml` prints the canonical layout\n"
        "0 file(s) reformatted, 0 file(s) already formatted, 1 file(s) with errors\n"
    )
    assert path.read_text("utf-8") == text


def test_fmt_of_a_folder_takes_its_yaml_specs_and_passes_over_other_yaml(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "fmt", "--check", str(folder))
    assert (code, out) == (0, "")
    assert err == "0 file(s) would be reformatted, 3 file(s) already formatted\n"  # ci.yml is no spec


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a: 1\n", None),
        ("# top\na: 1\n", (1, 1)),
        ("a: '#1'\nb: \"x # y\"\nc: a#b\n", None),  # inside scalars: no comment
        ("a: |\n  x # kept text\nb: [1, 2] # note\n", (3, 11)),
        ("a: {b: 1}  #c\n", (1, 12)),
    ],
)
def test_first_comment(text: str, found: tuple[int, int] | None) -> None:
    assert first_comment(text) == found
