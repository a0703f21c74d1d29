"""How drawings name blocks: a block's `label:` template, the default label with numbers as people write
them, folded runs whose instances differ only in a per-block rate, and the drawing's cosmetics (title,
legend, PNG resolution)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import archspec
from archspec.backends.diagram import DrawOptions, render, to_dot
from archspec.errors import SpecError
from archspec.loader import load_program
from archspec.lower import lower
from archspec.ops.base import number_text

LABELLED = """\
block MBConv(t, k, out, drop=0.0):
  label: "MBConv{t} k{k}×{k}, {out}"
  conv(out * t, 1) >> conv(out * t, k, pad=k // 2, groups=out * t) >> conv(out, 1)

block Plain(width, scale, rate, row):
  conv(width, 3, pad=1)

network labelled:
  input: 8x8x8
  layers:
    a: MBConv(6, 3, 8)
    b: Plain(8, 1e-06, 0.2 * 1 / 34, [true, 4])
    c: Plain(8, 1.25, 0.195, [1])
"""


def scopes(text: str) -> dict[str, str | None]:
    graph = archspec.load("t.arch", text=text).graph
    return {scope.name: scope.label for scope in graph.scopes if scope.kind == "block"}


def error(text: str) -> str:
    try:
        lower(load_program(Path("t.arch"), text=text))
    except SpecError as problem:
        return problem.render()
    pytest.fail("no error")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (4, "4"),
        (4.0, "4"),
        (0.2, "0.2"),
        (1.25, "1.25"),
        (1e-6, "1e-6"),
        (0.0058823529411764705, "0.0059"),  # 0.1 * 1 / 17: ConvNeXt's first rate
        (0.018181818181818184, "0.018"),  # 0.2 * 1 / 11
        (0.2 * 39 / 40, "0.195"),  # 0.19500000000000003: written short, kept
        (2 / 3, "0.67"),
        (1.5e7, "15000000"),
        (True, "1"),
    ],
)
def test_numbers_are_written_as_people_write_them(value: float, text: str) -> None:
    assert number_text(value) == text


def test_a_label_template_names_the_block_in_the_papers_terms() -> None:
    labels = scopes(LABELLED)
    assert labels["a"] == "MBConv6 k3×3, 8"
    # no template: the call, numbers rounded, and a list argument (a table row) left out, the rest named
    assert labels["b"] == "Plain(width=8, scale=1e-6, rate=0.0059)"
    assert labels["c"] == "Plain(width=8, scale=1.25, rate=0.195)"


def test_the_drawing_shows_the_label_and_never_a_raw_argument_list() -> None:
    source = to_dot(archspec.load("t.arch", text=LABELLED).graph)
    assert "MBConv6 k3×3, 8" in source
    assert "[true, 4]" not in source and "0.00588" not in source
    # the zoo: EfficientNetV2-S's stages read as Table 4 of the paper
    zoo = to_dot(archspec.load("efficientnet_v2_s").graph)
    assert "Fused-MBConv4 k3×3, 48, 4 layers" in zoo and "MBConv6 k3×3, 256, 15 layers" in zoo
    assert "Stage([" not in zoo


def test_a_label_template_may_use_expressions_and_the_files_names() -> None:
    text = LABELLED.replace('"MBConv{t} k{k}×{k}, {out}"', '\'{"wide" if t > 4 else "narrow"} {out * t}\'')
    assert scopes(text)["a"] == "wide 48"


def test_label_errors_are_spec_errors() -> None:
    unknown = LABELLED.replace("{out}", "{outs}")
    assert error(unknown) == (
        "t.arch:2:10: error: unknown name 'outs' in the label template\n"
        '   2 |   label: "MBConv{t} k{k}×{k}, {outs}"\n'
        "                ^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        "  hint: did you mean 'out'?"
    )
    setting = LABELLED.replace('  label: "MBConv', '  title: "MBConv')
    assert error(setting) == (
        "t.arch:2:3: error: unknown block setting 'title'\n"
        '   2 |   title: "MBConv{t} k{k}×{k}, {out}"\n'
        "         ^^^^^\n"
        '  hint: a block\'s first lines may set only `label: "..."` (how drawings name it) and '
        "`order: [names]` (the layers registered first); a layer is a call such as conv(64, 3)"
    )


CONVNEXT = """\
block CNBlock(dim, scale, drop):
  block:
    conv(dim, 7, pad=3, groups=dim)
    permute([1, 2, 0])
    layernorm(dim=-1, eps=1e-6)
    linear(4 * dim, dim=-1)
    gelu
    linear(dim, dim=-1)
    permute([2, 0, 1])
  layer_scale: layer_scale(scale, dim=0)
  stochastic_depth: stochastic_depth(drop)
  add from input, stochastic_depth

network tiny_convnext:
  input: 16x8x8
  layers:
    stage:
      for j in range(3):
        CNBlock(16, 1e-6, 0.1 * j / 5)
    more:
      for j in range(3, 6):
        CNBlock(16, 1e-6, 0.1 * j / 5)
"""


def test_blocks_that_differ_only_in_their_stochastic_depth_rate_fold_with_the_rates_as_a_range() -> None:
    source = to_dot(archspec.load("t.arch", text=CONVNEXT).graph)
    # two boxes of three (no ×1 node each): rates 0, 0.02, 0.04 and 0.06, 0.08, 0.1 by hand
    assert source.count("CNBlock <B>×3</B>") == 2, source
    assert "stochastic depth 0–0.04" in source and "stochastic depth 0.06–0.1" in source
    assert "CNBlock(16" not in source  # the instances' labels differ: the block's name stands for them
    # the analysis folds them alike
    report = archspec.load("t.arch", text=CONVNEXT).analyze()
    from archspec.report import display_rows

    assert [row.name for row in display_rows(report, 2) if "–" in row.name] == ["stage.0–2", "more.0–2"]


def test_a_year_without_authors_joins_the_title_line() -> None:
    text = 'network dated:\n  title: "Plain nets"\n  year: 2015\n  input: 1x8x8\n  layers:\n    flatten\n'
    source = to_dot(archspec.load("t.arch", text=text).graph)
    assert "Plain nets (2015)" in source
    assert not re.search(r">2015<", source)


def test_the_legend_names_only_kinds_that_are_drawn() -> None:
    source = to_dot(archspec.load("lenet5").graph, DrawOptions(style="maps"))
    legend = source[source.index("legend [") :]
    assert "flatten" in legend or "reshape" not in legend
    for absent in ("dropout", "split", "pad", "multiply"):
        assert absent not in legend, absent


def test_png_resolution_follows_dpi(tmp_path: Path) -> None:
    network = archspec.load("lenet5")
    sizes = {}
    for dpi in (96, 192):
        data = network.draw(tmp_path / f"l{dpi}.png", dpi=dpi).read_bytes()
        sizes[dpi] = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    default = network.draw(tmp_path / "default.png").read_bytes()
    assert int.from_bytes(default[16:20], "big") == sizes[192][0]
    for i in range(2):
        assert abs(sizes[192][i] - 2 * sizes[96][i]) <= 2, sizes
    assert "dpi" not in to_dot(network.graph)  # the DOT source and SVG do not depend on it
    svg = render(to_dot(network.graph), "svg")
    assert b"<svg" in svg


def test_the_maps_style_and_the_writer_do_not_import_each_other() -> None:
    import archspec.backends.diagram.maps as maps

    text = Path(maps.__file__).read_text(encoding="utf-8")
    assert "diagram.writer" not in text
