"""A Network in Jupyter: ``_repr_html_`` (summary and layer table) and ``_repr_svg_`` (the diagram).

Oracles: torchvision's parameter count for the table's total, an HTML parser for the structure, the
SVG's own root element."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

import archspec
from archspec.errors import UsageError


class Cells(HTMLParser):
    """The text of each table row's cells."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.in_cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self.in_cell = False

    def handle_data(self, data: str) -> None:
        if self.in_cell:
            self.rows[-1][-1] += data


def test_the_html_view_is_the_summary_and_the_table() -> None:
    torchvision = pytest.importorskip("torchvision")
    html = archspec.load("resnet18")._repr_html_()
    parser = Cells()
    parser.feed(html)
    header, *body, total = parser.rows
    assert header[:4] == ["layer", "op", "output", "params"]
    expected = sum(p.numel() for p in torchvision.models.resnet18().parameters())
    assert total[0] == "total" and int(total[3].replace(",", "")) == expected
    assert any(row[1] == "BasicBlock ×2" for row in body)  # repeated blocks fold, as in `analyze --depth 2`
    assert html.startswith("<div><strong>resnet18: input 3x224x224 -&gt; output 1000</strong>")


def test_the_svg_view_is_the_diagram() -> None:
    svg = archspec.load("lenet5")._repr_svg_()
    assert svg is not None and "<svg" in svg and svg.rstrip().endswith("</svg>")
    assert "C1" in svg  # a layer's name is drawn


def test_without_graphviz_the_svg_view_is_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    import archspec.backends.diagram as diagram

    def missing(source: str, fmt: str) -> bytes:
        raise UsageError("Graphviz's `dot` was not found on PATH")

    monkeypatch.setattr(diagram, "render", missing)
    network = archspec.load("lenet5")
    assert network._repr_svg_() is None
    assert "<details>" not in network._repr_html_() and "<table>" in network._repr_html_()
