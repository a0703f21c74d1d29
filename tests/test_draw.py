"""Drawing networks: DOT golden files, rendering with the real `dot`, folding, escaping, errors.

The expected figures come from the papers and hand calculations written here (a Bottleneck(256)'s
parameters, Table 1 of GoogLeNet, the rows of MobileNetV2's t,c,n,s table), from `../shared/reference/
figures.md` (totals), or from Graphviz's own output (positions, PNG size); never from archspec's output.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import cast

import pytest

import archspec
from archspec.backends.diagram import DrawOptions, render, to_dot
from archspec.catalog import catalog
from archspec.cli import main
from archspec.errors import UsageError
from archspec.ir import Graph

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"
NODE_LINE = re.compile(r"^\s+([nbmk]\d+) \[", re.MULTILINE)


@cache
def graph(name: str) -> Graph:
    return archspec.load(name).graph


@cache
def svg(name: str, depth: int | None = 1, expand: tuple[str, ...] = ()) -> ET.Element:
    source = to_dot(graph(name), DrawOptions(depth=depth, expand=expand))
    return ET.fromstring(render(source, "svg"))


def texts(root: ET.Element, kind: str) -> dict[str, str]:
    """Graphviz's <g class="node|cluster"> groups: their DOT id -> all their text, joined by spaces."""
    out = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == kind:
            title = group.find(f"{SVG}title")
            assert title is not None and title.text is not None
            out[title.text] = " ".join(" ".join(t.itertext()).strip() for t in group.iter(f"{SVG}text"))
    if kind == "cluster":  # every cluster has its caption as a node of its own, k<N>
        for key, text in texts(root, "node").items():
            if re.fullmatch(r"k\d+", key):
                assert out[f"cluster_{key[1:]}"] == ""
                out[f"cluster_{key[1:]}"] = text
    return out


def node_count(source: str) -> int:
    return len(NODE_LINE.findall(source))


# ---------------------------------------------------------------- golden DOT files

GOLDEN_CASES = {
    "resnet18.depth1.dot": ("resnet18", DrawOptions()),
    "resnet18.depth2.dot": ("resnet18", DrawOptions(depth=2)),
    "googlenet.depth1.dot": ("googlenet", DrawOptions()),
    "googlenet.inception3a.dot": ("googlenet", DrawOptions(expand=("inception3a",))),
    "vit_b_16.depth1.dot": ("vit_b_16", DrawOptions()),
    "vit_b_16.depth2.dot": ("vit_b_16", DrawOptions(depth=2)),
    "lenet5.maps.dot": ("lenet5", DrawOptions(style="maps")),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_dot(name: str, golden: Callable[[str, str], None]) -> None:
    network, options = GOLDEN_CASES[name]
    golden(name, to_dot(graph(network), options))


def test_dot_source_is_deterministic() -> None:
    first = to_dot(archspec.load("googlenet").graph, DrawOptions(depth=2))
    assert to_dot(archspec.load("googlenet").graph, DrawOptions(depth=2)) == first


# ---------------------------------------------------------------- folding and content, rendered


def test_resnet50_folds_layer3_into_bottleneck_x6_with_the_first_unit_apart() -> None:
    clusters = texts(svg("resnet50"), "cluster")
    nodes = texts(svg("resnet50"), "node")
    assert any(text.startswith("layer3 : Bottleneck ×6") for text in clusters.values()), clusters
    # The first unit strides and projects, so it is drawn apart; the other five are one node.
    first = [t for t in nodes.values() if "Bottleneck(256, stride=2)" in t]
    rest = [t for t in nodes.values() if "Bottleneck(256) ×5" in t]
    assert len(first) == 1 and len(rest) == 1, nodes
    # Bottleneck(256) without projection, by hand: 1x1 1024->256, 3x3 256->256, 1x1 256->1024, three BNs.
    unit = 1024 * 256 + 2 * 256 + 9 * 256 * 256 + 2 * 256 + 256 * 1024 + 2 * 1024
    assert unit == 1_117_184
    assert f"{5 * unit / 1e6:.2f}M params" in rest[0]  # 5.59M
    assert rest[0].startswith("1–5 ")
    assert "1024×14×14" in rest[0]


def test_title_carries_paper_year_and_the_published_totals() -> None:
    root = svg("resnet50")
    title = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "Deep Residual Learning for Image Recognition" in title
    assert "He et al. · 2015 · CVPR 2016" in title
    assert "25.6M params" in title and "4.09G MACs" in title  # 25,557,032 and 4,089,184,256 (figures.md)


def test_inception3a_draws_its_four_branches_side_by_side_then_the_concat() -> None:
    root = svg("googlenet", expand=("inception3a",))
    clusters = texts(root, "cluster")
    nodes = texts(root, "node")
    # Table 1 of the paper: 1x1 64; 3x3 reduce 96 then 3x3 128; "5x5" reduce 16 then 32; pool proj 32.
    assert any("inception3a : Inception(64, 96, 128, 16, 32, 32)" in t for t in clusters.values())
    assert {"branch2", "branch3", "branch4"} <= {t.split(" ")[0] for t in clusters.values()}
    assert any(t.startswith("branch1 BasicConv2d(64, 1)") for t in nodes.values())
    first_of_branch = {
        "branch1": "BasicConv2d(64, 1)",
        "branch2": "BasicConv2d(96, 1)",
        "branch3": "BasicConv2d(16, 1)",
        "branch4": "maxpool 3×3",
    }
    ys = {}
    for branch, text in first_of_branch.items():
        ids = [k for k, t in nodes.items() if f" {text} " in f" {t} " and "28×28" in t]
        assert len(ids) == 1, (branch, ids)
        group = next(g for g in root.iter(f"{SVG}g") if (g.findtext(f"{SVG}title") == ids[0]))
        ys[branch] = float(next(group.iter(f"{SVG}text")).get("y", "nan"))
    # Side by side: the first layer of every branch on one rank (Graphviz's y coordinates).
    assert max(ys.values()) - min(ys.values()) < 20, ys
    concat = [k for k, t in nodes.items() if t.startswith("concat") and "256×28×28" in t]
    assert len(concat) == 1
    edges = [g.findtext(f"{SVG}title") or "" for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    into_concat = [title for title in edges if title.endswith(f"->{concat[0]}")]
    assert len(into_concat) == 4, into_concat


def test_vit_folds_its_twelve_encoder_blocks_and_shows_the_token_stream() -> None:
    source = to_dot(graph("vit_b_16"), DrawOptions())
    nodes = texts(svg("vit_b_16"), "node")
    block = [t for t in nodes.values() if "EncoderBlock" in t]
    assert len(block) == 1 and "×12" in block[0] and "encoder_layer_0–11" in block[0], block
    assert any("+ class token" in t for t in nodes.values())
    assert any("+ position embedding" in t for t in nodes.values())
    # the learned tensors join the stream: one class token of width D, one embedding per token
    assert any(t == "learned class token 1×768" for t in nodes.values())
    assert any(t == "learned position embedding 197×768" for t in nodes.values())
    assert any("patches 16×16, 768" in t and "196×768" in t for t in nodes.values())
    # the class token joins: 14 * 14 patches + 1 tokens from there on
    assert " 197×768 " in source


def test_residual_shortcuts_are_dashed_and_the_projection_is_drawn() -> None:
    source = to_dot(graph("resnet18"), DrawOptions(depth=2))
    # one shortcut per BasicBlock drawn: layer1's two identical blocks fold into one drawn, the other
    # stages draw their first block (which projects) apart from the second
    assert source.count("style=dashed") == 1 + 2 + 2 + 2
    assert "conv 1×1/2, 128" in source  # layer2.0's projection (1x1 conv, stride 2)


def test_depth_all_draws_every_op_once() -> None:
    g = graph("resnet18")
    source = to_dot(g, DrawOptions(depth=None))
    ops = [name for name in NODE_LINE.findall(source) if not name.startswith("k")]  # not the captions
    assert sorted(ops) == sorted(f"n{node.id}" for node in g.nodes)


def test_expand_opens_one_stage_and_unfolds_its_run() -> None:
    source = to_dot(graph("resnet50"), DrawOptions(expand=("layer3",)))
    for i in range(6):
        assert f"<B>{i}</B><BR/>Bottleneck(256" in source, i
    assert "×5" not in source.split("layer3")[1].split("layer4")[0]
    opened = to_dot(graph("resnet50"), DrawOptions(expand=("layer3.0",)))
    assert "<B>downsample</B>" in opened and opened.count("<B>downsample</B>") == 1
    every = to_dot(graph("resnet50"), DrawOptions(expand=("Bottleneck",)))
    assert every.count("<B>downsample</B>") == 4  # each stage's first unit opened


def test_expand_of_one_instance_unfolds_only_its_own_run() -> None:
    mobilenet = graph("mobilenet_v2")
    source = to_dot(mobilenet, DrawOptions(expand=("features.5",)))
    closed = re.findall(r"<B>([^<]*)</B><BR/>bottleneck t=", source)
    opened = re.findall(r"<B>([^<]*)</B>: bottleneck t=", source)
    # Table 2's rows c=32 (n=3) and c=64 (n=4): features.4-6 and features.7-10
    assert opened == ["5"] and "6" in closed and "8–10" in closed and "5–6" not in closed
    every = re.findall(
        r"<B>([^<]*)</B><BR/>bottleneck t=", to_dot(mobilenet, DrawOptions(expand=("features",)))
    )
    assert every == [str(i) for i in range(1, 18)]  # the 17 bottlenecks of Table 2 (1+2+3+4+3+3+1)


def test_expand_of_an_unknown_name_is_a_usage_error_with_a_hint() -> None:
    with pytest.raises(UsageError) as error:
        to_dot(graph("resnet50"), DrawOptions(expand=("layr3",)))
    assert str(error.value) == (
        "--expand layr3: no block, stage or block definition named 'layr3'; did you mean 'layer3'?"
    )
    with pytest.raises(UsageError) as error:
        to_dot(graph("resnet50"), DrawOptions(expand=("fc",)))
    assert str(error.value) == "--expand fc: 'fc' is a layer, not a block or a stage"


def test_no_figures_drops_params_and_macs() -> None:
    source = to_dot(graph("resnet50"), DrawOptions(figures=False))
    body = source.split("\n", 2)[2]  # after the title line, which keeps the totals
    assert "params" not in body and "MACs" not in body
    assert "1024×14×14" in body


def test_rankdir_left_to_right() -> None:
    assert "rankdir=LR" in to_dot(graph("lenet5"), DrawOptions(rankdir="LR"))


# ---------------------------------------------------------------- the whole zoo


def test_every_variant_draws_in_both_styles_and_big_ones_fit_on_a_screen() -> None:
    counts = {}
    for entry in catalog():
        for variant in entry.variants:
            g = archspec.load(entry.path, variant).graph
            for style in ("blocks", "maps"):
                source = to_dot(g, DrawOptions(style=style))
                assert source.startswith("digraph archspec {") and source.endswith("}\n")
                counts[variant, style] = node_count(source)
    assert len(counts) == 2 * 29  # the zoo's variants, in both styles
    assert counts["resnet152", "blocks"] <= 40 and counts["vit_l_16", "blocks"] <= 40
    assert counts["swin_t", "blocks"] <= 40
    # the default drawing of resnet152 holds the same nodes as resnet50's: the stages fold
    assert counts["resnet152", "blocks"] == counts["resnet50", "blocks"]


@pytest.mark.slow
def test_every_variant_renders_fully_expanded() -> None:
    for entry in catalog():
        for variant in entry.variants:
            g = archspec.load(entry.path, variant).graph
            for style in ("blocks", "maps"):
                data = render(to_dot(g, DrawOptions(style=style, depth=None)), "svg")
                ET.fromstring(data)


def test_png_has_sane_dimensions() -> None:
    data = render(to_dot(graph("resnet50"), DrawOptions()), "png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert 200 < width < 2000 and 1000 < height < 6000, (width, height)
    assert height > width  # top to bottom
    data = render(to_dot(graph("resnet50"), DrawOptions(style="maps")), "png")
    width, height = struct.unpack(">II", data[16:24])
    assert width > 2 * height  # left to right


def test_pdf_renders() -> None:
    assert render(to_dot(graph("lenet5"), DrawOptions()), "pdf").startswith(b"%PDF")


# ---------------------------------------------------------------- the maps style


def _box_sizes(source: str) -> list[tuple[str, float, float]]:
    """(xlabel text, width, height) of every map box, in order."""
    out = []
    for line in source.splitlines():
        if "shape=box3d" in line:
            width = float(re.search(r"width=([\d.]+)", line).group(1))  # type: ignore[union-attr]
            height = float(re.search(r"height=([\d.]+)", line).group(1))  # type: ignore[union-attr]
            out.append((re.search(r"xlabel=<(.*)>, ", line).group(1), width, height))  # type: ignore[union-attr]
    return out


def test_maps_height_follows_the_spatial_size_and_depth_the_channels() -> None:
    boxes = _box_sizes(to_dot(graph("resnet50"), DrawOptions(style="maps")))
    by_shape = {re.search(r"<BR/>(.*)$", label).group(1): (w, h) for label, w, h in boxes}  # type: ignore[union-attr]
    spatial = ["64×112×112", "64×56×56", "512×28×28", "1024×14×14", "2048×7×7"]
    heights = [by_shape[s][1] for s in spatial]
    assert heights == sorted(heights, reverse=True)
    assert by_shape["3×224×224"][1] > heights[0]
    widths = [by_shape[s][0] for s in ["3×224×224", "64×112×112", "512×28×28", "1024×14×14", "2048×7×7"]]
    assert widths == sorted(widths)
    # log-scaled: the largest and the smallest map both stay visible
    sizes = [w * h for _, w, h in boxes]
    assert max(sizes) / min(sizes) < 50


def test_maps_label_the_arrows_with_what_made_each_map() -> None:
    source = to_dot(graph("lenet5"), DrawOptions(style="maps"))
    labels = re.findall(r"-> m\d+ \[label=<([^>]*)>", source)
    # LeNet-5, Section II.B: C1 5x5 conv to 6 maps, S2 2x2 subsampling, C3 5x5 to 16 maps (Table I), ...
    assert labels[:5] == [
        "conv 5×5, 6",
        "subsample 2×2/2",
        "conv 5×5, 16, connection table",
        "subsample 2×2/2",
        "conv 5×5, 120",
    ]
    shapes = [label.split("<BR/>")[1] for label, _, _ in _box_sizes(source)]
    assert shapes[:6] == ["1×32×32", "6×28×28", "6×14×14", "16×10×10", "16×5×5", "120×1×1"]


# ---------------------------------------------------------------- hostile strings

HOSTILE = 'x" ] { } </B><script>alert(1)</script> & \\" \'; n1 -> n2 [label="pwn"] <!-- -->'


def _hostile_spec() -> str:
    quoted = HOSTILE.replace("\\", "\\\\").replace('"', '\\"')
    return (
        "block Tagged(out, tag):\n"
        "  conv(out, 3, pad=1) >> relu\n"
        "network evil:\n"
        f'  title: "{quoted}\\nsecond line"\n'
        f'  authors: ["{quoted}"]\n'
        "  year: 2024\n"
        f'  venue: "{quoted}"\n'
        "  input: 3x8x8\n"
        "  layers:\n"
        f'    b: Tagged(4, "{quoted}")\n'
        '    Tagged(4, "</TD></TR></TABLE>>") * 2\n'
        "    flatten >> linear(2)\n"
    )


def test_hostile_metadata_and_arguments_cannot_inject_dot_or_markup(tmp_path: Path) -> None:
    path = tmp_path / "evil.arch"
    path.write_text(_hostile_spec(), encoding="utf-8")
    network = archspec.load(path)
    for options in (DrawOptions(), DrawOptions(depth=None), DrawOptions(style="maps")):
        source = to_dot(network.graph, options)
        assert "<script>" not in source and 'label="pwn"' not in source
        root = ET.fromstring(render(source, "svg"))  # dot accepts it, and the SVG is well-formed XML
        assert not [e for e in root.iter() if e.tag.endswith("script")]
        words = " ".join(t for e in root.iter(f"{SVG}text") for t in e.itertext())
        if options.style == "blocks" and options.depth == 1:
            assert "<script>alert(1)</script>" in words  # shown as text, exactly
            assert 'Tagged(4, "</TD></TR></TABLE>>") ×2' in words.replace("  ", " ")
        # the DOT graph has exactly the nodes archspec made: nothing injected
        ids = {e.findtext(f"{SVG}title") for e in root.iter(f"{SVG}g") if e.get("class") == "node"}
        assert ids == set(re.findall(r"^\s+([a-z]+\d*) \[", source, re.MULTILINE)) - {"graph", "node", "edge"}
        assert ids <= set(NODE_LINE.findall(source)) | {"legend"}


# ---------------------------------------------------------------- files, the API and the CLI


def test_draw_writes_each_format_by_extension(tmp_path: Path) -> None:
    network = archspec.load("lenet5")
    assert network.draw(tmp_path / "a.dot").read_text(encoding="utf-8") == to_dot(network.graph)
    assert network.draw(tmp_path / "a.svg").read_bytes().lstrip().startswith(b"<?xml")
    assert network.draw(tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert network.draw(tmp_path / "a.pdf", style="maps").read_bytes()[:4] == b"%PDF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.dot", "a.pdf", "a.png", "a.svg"]


def test_draw_defaults_to_name_svg_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = archspec.load("resnet18").draw(depth=2, expand=["layer2"])
    assert path == Path("resnet18.svg") and (tmp_path / "resnet18.svg").exists()


def test_missing_dot_gives_the_install_command_and_dot_source_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    message = (
        "Graphviz's `dot` was not found on PATH: install Graphviz "
        "(Debian/Ubuntu: `apt-get install graphviz`), or write the source with a .dot file"
    )
    with pytest.raises(UsageError) as error:
        archspec.load("lenet5").draw(tmp_path / "x.svg")
    assert str(error.value) == message
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    assert main(["draw", "lenet5", "-o", str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err == f"archspec: error: {message}\n"
    assert main(["draw", "lenet5", "-o", str(tmp_path / "x.dot")]) == 0
    assert (tmp_path / "x.dot").read_text(encoding="utf-8").startswith("digraph archspec {")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["-o", "x.jpg"],
            "cannot draw to x.jpg: the file name must end in .svg, .png, .pdf or .dot (got '.jpg')",
        ),
        (
            ["-o", "x"],
            "cannot draw to x: the file name must end in .svg, .png, .pdf or .dot (got no extension)",
        ),
        (["--depth", "0"], "--depth expects a positive integer or 'all', got '0'"),
        (["--depth", "deep"], "--depth expects a positive integer or 'all', got 'deep'"),
        (
            ["--expand", "BasicBlok"],
            "--expand BasicBlok: no block, stage or block definition named 'BasicBlok'; "
            "did you mean 'BasicBlock'?",
        ),
        (
            ["--style", "tree"],
            "argument --style: invalid choice: 'tree' (choose from 'blocks', 'maps')\n"
            "(see `archspec draw --help`)",
        ),
    ],
)
def test_cli_usage_errors_exit_2_with_a_clear_message(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["draw", "resnet18", *argv]) == 2
    assert capsys.readouterr().err == f"archspec: error: {message}\n"
    assert list(tmp_path.iterdir()) == []


def test_cli_draws_with_every_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.dot"
    argv = [
        "draw",
        "resnet",
        "--variant",
        "resnet34",
        "--set",
        "num_classes=10",
        "--input",
        "3x64x64",
        "-o",
        str(out),
        "--style",
        "blocks",
        "--depth",
        "all",
        "--expand",
        "layer1",
        "--no-figures",
        "--rankdir",
        "LR",
    ]
    assert main(argv) == 0
    assert capsys.readouterr().err == f"wrote {out}\n"
    source = out.read_text(encoding="utf-8")
    assert "rankdir=LR" in source and "params" not in source.split("\n", 2)[2]
    assert "linear 10" in source and "512×2×2" in source  # 64 / 32 after the stem and three strides


def test_drawing_never_imports_torch(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from archspec.cli import main\n"
        f"assert main(['draw', 'resnet50', '-o', {str(tmp_path / 'r.dot')!r}]) == 0\n"
        f"assert main(['draw', 'vit_b_16', '--style', 'maps', '-o', {str(tmp_path / 'v.svg')!r}]) == 0\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'torchvision'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_options_are_validated() -> None:
    with pytest.raises(UsageError, match="depth must be a positive integer or None"):
        DrawOptions(depth=0)
    with pytest.raises(UsageError, match="unknown drawing style 'tree'"):
        DrawOptions(style="tree")  # type: ignore[arg-type]
    assert DrawOptions(expand="layer3").expand == ("layer3",)  # type: ignore[arg-type]
    with pytest.raises(UsageError) as error:
        archspec.load("lenet5").draw("x.dot", colour="red")
    assert (
        str(error.value)
        == "draw: unknown option 'colour'; the options: style, depth, expand, figures, rankdir, dpi"
    )
    with pytest.raises(UsageError) as error:
        archspec.load("lenet5").draw("x.dot", dept=2)
    assert str(error.value) == "draw: unknown option 'dept'; did you mean 'depth'?"


def test_every_op_kind_has_a_family_and_a_colour() -> None:
    from archspec.backends.diagram.labels import FAMILIES
    from archspec.ops import OP_CLASSES, OPS_BY_KIND

    assert {op.family for op in OPS_BY_KIND.values()} <= set(FAMILIES)
    assert {op.family for op in OP_CLASSES} | {"block"} == set(FAMILIES)


def test_op_summaries_use_the_papers_terms() -> None:
    from archspec.backends.diagram.labels import summary

    mobilenet = graph("mobilenet_v1")
    texts_ = {summary(node.op) for node in mobilenet.nodes}
    # MobileNet v1, Table 1: "Conv dw / s2 3x3x64 dw" and "Conv / s1 1x1x64x128"
    assert "conv 3×3/2, 64, depthwise" in texts_ and "conv 1×1, 128" in texts_
    alexnet = {summary(node.op) for node in graph("alexnet_paper").nodes}
    assert {"conv 11×11/4, 96", "conv 5×5, 256, 2 groups", "LRN 5", "maxpool 3×3/2", "linear 4096"} <= alexnet


# ---------------------------------------------------------------- laid-out geometry: captions


Box = tuple[float, float, float, float]


def _box(center: str, width: float, height: float) -> Box:
    x, y = map(float, center.split(","))
    return (x - width / 2, y - height / 2, x + width / 2, y + height / 2)


def _spline_points(pos: str, steps: int = 16) -> list[tuple[float, float]]:
    """Points along an edge's drawn B-spline (Graphviz's ``pos``: ``e,x,y`` arrow end, then the control
    points), the arrowhead's tip included."""
    points, ends = [], []
    for chunk in pos.split():
        x, y = map(float, chunk[2:].split(",") if chunk[:2] in ("e,", "s,") else chunk.split(","))
        (ends if chunk[:2] in ("e,", "s,") else points).append((x, y))
    samples = list(ends)
    for i in range(0, len(points) - 3, 3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points[i : i + 4]
        for k in range(steps + 1):
            t = k / steps
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t**3
            samples.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return samples


def caption_problems(dot_source: str) -> list[str]:
    """What Graphviz's own layout (``dot -Tjson``) puts wrong: an edge through a caption (a cluster's
    label or caption node), a caption outside its cluster's box."""
    done = subprocess.run(["dot", "-Tjson"], input=dot_source, capture_output=True, text=True, check=True)
    objects = json.loads(done.stdout)["objects"]
    clusters = [o for o in objects if o.get("name", "").startswith("cluster_")]
    captions: list[tuple[str, Box, Box]] = []
    for cluster in clusters:
        bb = cast(Box, tuple(map(float, cluster["bb"].split(","))))
        if cluster.get("label") and "lp" in cluster:  # Graphviz's own label
            box = _box(cluster["lp"], float(cluster["lwidth"]) * 72, float(cluster["lheight"]) * 72)
            captions.append((cluster["name"], box, bb))
        node = next(o for o in objects if o.get("name") == f"k{cluster['name'].removeprefix('cluster_')}")
        assert node["_gvid"] in cluster["nodes"]
        box = _box(node["pos"], float(node["width"]) * 72, float(node["height"]) * 72)
        captions.append((node["name"], box, bb))
    found = []
    for name, box, bb in captions:
        if box[0] < bb[0] or box[1] < bb[1] or box[2] > bb[2] or box[3] > bb[3]:
            found.append(f"{name} {box} runs over its cluster {bb}")
    names = {o["_gvid"]: o["name"] for o in objects}
    for edge in json.loads(done.stdout).get("edges", []):
        if edge.get("style") == "invis":
            continue
        for name, (x0, y0, x1, y1), _ in captions:
            if any(x0 + 1 < x < x1 - 1 and y0 + 1 < y < y1 - 1 for x, y in _spline_points(edge["pos"])):
                found.append(f"{names[edge['tail']]} -> {names[edge['head']]} runs through {name}")
    return found


@pytest.mark.parametrize(
    ("name", "depth"),
    [
        ("resnet18", 1),
        ("resnet18", 2),  # layer1.0–1's caption sat under its exit edges
        ("resnet50", 3),
        ("vit_b_16", 2),
        ("efficientnet_v2_s", 2),
        ("swin_t", 3),
        ("googlenet", 1),
        ("mobilenet_v2", 2),
    ],
)
def test_no_edge_runs_through_a_caption_and_no_caption_over_its_cluster(name: str, depth: int) -> None:
    """Every cluster is captioned by a node inside it (edges are routed around nodes, not around a
    cluster's label), beside its first layer or beside the layer its edges out leave from. Before, 20
    edges of the zoo's drawings at depths 1 to 3 ran through a bottom-left cluster label."""
    source = to_dot(graph(name), DrawOptions(depth=depth))
    assert "labelloc" not in source.partition("subgraph")[2]  # no cluster keeps Graphviz's own label
    assert caption_problems(source) == []
