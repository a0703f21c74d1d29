"""The report site (`archspec report`): its pages, its figures, its safety and its behaviour in a browser.

One site of four networks is built once for the module. The browser tests drive Debian's headless
chromium (installed by tools/setup.sh) through selenium with the driver path given, so nothing is
downloaded; screenshots of the index and of one network page land in out/screenshots/.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import tempfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from archspec.cli import main
from archspec.site.build import build_site

NETWORKS = ("lenet5", "resnet50", "googlenet", "vit_b_16")
PAGES = ("index", *NETWORKS)
SECTIONS = ("figures", "diagram", "maps", "layers", "paper", "spec", "pytorch")
ROOT = Path(__file__).resolve().parent.parent
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site of NETWORKS, built once."""
    out = tmp_path_factory.mktemp("report") / "site"
    index = build_site(NETWORKS, out)
    assert index == out / "index.html"
    return out


class _Document(HTMLParser):
    """Checks that every element is closed in order and collects ids, links and table cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (tag, url)
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag not in VOID:
            self.stack.append(tag)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        for name in ("href", "src"):
            if values.get(name) is not None:
                self.links.append((tag, str(values[name])))
        if tag == "table":
            self._table = str(values.get("class") or "")
            self.tables.setdefault(self._table, [])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and self._table is not None:
            self.tables[self._table].append([])
        elif tag == "td" and self._in_body:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            return
        self.stack.pop()
        if tag == "td" and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(path: Path) -> _Document:
    """A page, parsed and checked for balanced elements."""
    document = _Document()
    document.feed(path.read_text(encoding="utf-8"))
    document.close()
    assert document.problems == [], path.name
    assert document.stack == [], f"{path.name}: unclosed {document.stack}"
    return document


# ---------------------------------------------------------------- pages, without a browser


@pytest.mark.parametrize("page", PAGES)
def test_pages_are_well_formed_and_link_only_to_files_of_the_site(site: Path, page: str) -> None:
    document = parse(site / f"{page}.html")
    for tag, url in document.links:
        if url.startswith(("http://", "https://")):
            assert tag == "a", f"{page}: {tag} loads {url} from the network"
            continue
        target, _, fragment = url.partition("#")
        file = site / target if target else site / f"{page}.html"
        assert file.is_file(), f"{page}: {url} points at nothing"
        if fragment:
            assert fragment in parse(file).ids, f"{page}: {url}: no such anchor"


def test_index_tells_the_history_with_the_published_figures(site: Path) -> None:
    rows = parse(site / "index.html").tables["history"]
    # figures.md: torchvision's exact counts; LeNet-5's 60,000 trainable parameters; the Distill receptive
    # field of resnet50 (427, stride 32, padding 213). Years from the papers.
    # LeNet-5's MACs by hand: C1 28·28·6·25 + C3 10·10·25·(6·3 + 9·4 + 6) + C5 120·16·25 + F6 120·84
    # + the RBF output 84·10 (the subsampling layers hold no multiply-accumulate).
    lenet_macs = 28 * 28 * 6 * 25 + 10 * 10 * 25 * (6 * 3 + 9 * 4 + 6) + 120 * 16 * 25 + 120 * 84 + 84 * 10
    vit_title = "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale"
    expected = [
        ["1998", "lenet5", "Gradient-Based Learning Applied to Document Recognition", 60_000, lenet_macs],
        ["2014", "googlenet", "Going Deeper with Convolutions", 6_624_904, 1_498_376_192],
        ["2015", "resnet50", "Deep Residual Learning for Image Recognition", 25_557_032, 4_089_184_256],
        ["2020", "vit_b_16", vit_title, 86_567_656, 17_563_828_224],
    ]
    assert [row[:5] for row in rows] == [[*e[:3], f"{e[3]:,}", f"{e[4]:,}"] for e in expected]
    resnet = rows[2]
    assert resnet[5] == "50"  # 1 + 3·(3+4+6+3) convolutions + 1 fully connected
    assert resnet[6] == "427 /32 p213"
    assert rows[3][6] == "global"  # attention sees the whole image
    # The ResNet paper's Table 3 (single model, 10-crop) and torchvision's ResNet50_Weights.IMAGENET1K_V1.
    assert resnet[7] == (
        "top-1 err 22.85%, top-5 err 6.71% (paper); acc@1 76.13%, acc@5 92.862% (torchvision weights)"
    )


def test_a_network_page_has_every_section_and_the_folded_table(site: Path) -> None:
    page = site / "resnet50.html"
    document = parse(page)
    assert set(SECTIONS) <= document.ids
    rows = {row[0]: row for row in document.tables["layers"]}
    # layer3: one projecting Bottleneck(256, stride 2) from 512 channels, then five from 1024, by hand:
    # 512·256 + 256·256·9 + 256·1024 + 512·1024 (projection) + BN 2·(256+256+1024+1024) = 1,512,448;
    # 1024·256 + 256·256·9 + 256·1024 + BN 2·(256+256+1024) = 1,117,184 each.
    assert rows["layer3.0–5"][1] == "Bottleneck ×6"
    assert rows["layer3.0–5"][3] == f"{1_512_448 + 5 * 1_117_184:,}"
    text = page.read_text(encoding="utf-8")
    assert "class ResNet50(nn.Module)" in text or "(nn.Module):" in text  # the generated PyTorch source
    assert "def forward(self, x" in text
    spec = _SpecSource()  # the spec source, highlighted: its text, without the spans
    spec.feed(text)
    assert "block Bottleneck(width, stride=1, v1=false):" in "".join(spec.text)
    for style in ("blocks", "maps"):
        svg = (site / "diagrams" / f"resnet50.{style}.svg").read_text(encoding="utf-8")
        assert svg.lstrip().startswith("<?xml") and "</svg>" in svg


def test_charts_are_svg_with_labelled_axes_and_no_date(site: Path) -> None:
    for name, label in (("size-by-year", "year of the paper"), ("field-by-depth", "receptive field")):
        svg = (site / "charts" / f"{name}.svg").read_text(encoding="utf-8")
        assert "<svg" in svg
        assert label in svg
        assert "<dc:date>" not in svg


def test_the_field_chart_follows_the_receptive_field_layer_by_layer() -> None:
    from archspec.site.entries import choose, collect, depth_field_steps

    lenet, vgg = collect(choose(["lenet5", "vgg16"]))
    # By hand, r += (k - 1)·j and j *= s at each step. LeNet-5: C1 5×5 -> 5, S2 2×2/2 -> 6 (j 2);
    # C3 5×5 -> 6 + 4·2 = 14, S4 -> 16 (j 4); C5 5×5 -> 16 + 4·4 = 32; F6 and the output see all 32.
    assert depth_field_steps(lenet.analysis) == [(1, 6), (2, 16), (3, 32), (4, 32), (5, 32)]
    # VGG-16: 3, 5 and the pool 6 (j 2); 10, 14 and the pool 16 (j 4); 24, 32, 40, pool 44 (j 8); ...
    assert depth_field_steps(vgg.analysis)[:7] == [
        (1, 3),
        (2, 6),
        (3, 10),
        (4, 16),
        (5, 24),
        (6, 32),
        (7, 44),
    ]


def test_a_network_name_selects_every_variant_and_a_variant_one() -> None:
    from archspec.site.entries import choose

    names = [variant for _, variant in choose(["resnet", "resnet50", "lenet5"])]
    assert names == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "lenet5"]
    # no argument: the whole zoo, every network of figures.md with every variant
    published = {
        "lecun1989",
        "lenet5",
        "alexnet_paper",
        "alexnet",
        "googlenet",
        "mobilenet_v1",
        "mobilenet_v2",
    }
    published |= {f"vgg{n}{bn}" for n in (11, 13, 16, 19) for bn in ("", "_bn")}
    published |= {f"resnet{n}" for n in (18, 34, 50, 101, 152)}
    published |= {f"vit_{size}_{patch}" for size in "bl" for patch in (16, 32)}
    assert published <= {variant for _, variant in choose([])}


class _History(HTMLParser):
    """The history table as a reader sees it: a cell spanning rows (``rowspan``) repeated in each."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._pending: dict[int, tuple[str, int]] = {}  # column -> (text, rows still to fill)
        self._cell: list[str] | None = None
        self._span = 1
        self._table = self._inside = False  # in the history table; in its body

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "table":
            self._table = values.get("class") == "history"
        elif tag == "tbody":
            self._inside = self._table
        elif tag == "tr" and self._inside:
            self.rows.append([])
            self._fill()
        elif tag == "td" and self._inside:
            self._cell, self._span = [], int(values.get("rowspan") or 1)

    def _fill(self) -> None:
        row = self.rows[-1]
        while len(row) in self._pending:
            text, left = self._pending.pop(len(row))
            row.append(text)
            if left > 1:
                self._pending[len(row) - 1] = (text, left - 1)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            row = self.rows[-1]
            if self._span > 1:
                self._pending[len(row)] = (text, self._span - 1)
            row.append(text)
            self._cell = None
            self._fill()
        elif tag in ("tbody", "table"):
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def history_rows(html: str) -> list[tuple[str, str, str]]:
    """(year, network, paper) of each row of the history table, spanned cells repeated."""
    parser = _History()
    parser.feed(html)
    parser.close()
    return [(row[0], row[1], row[2]) for row in parser.rows]


def _family(name: str, year: int, variants: list[str]) -> str:
    rows = "".join(f"    {v}: width={4 + i}\n" for i, v in enumerate(variants))
    return (
        f'network {name}:\n  title: "The {name} paper"\n  year: {year}\n  input: 1x8x8\n'
        f"  params:\n    width = 4\n"
        + (f"  variants:\n{rows}" if variants else "")
        + "  layers:\n    conv(width, 3) >> relu\n    flatten\n    linear(10)\n"
    )


def test_the_zoo_table_credits_each_variant_with_its_own_familys_year_and_paper(tmp_path: Path) -> None:
    # Families of several variants sharing a year with other families: every row, whichever cell spans
    # it, shows its own network's year and paper (the specs' own metadata is the oracle).
    families = {
        "alpha": (2014, ["alpha_s", "alpha_m", "alpha_l"]),
        "beta": (2014, ["beta_s", "beta_l"]),
        "gamma": (2012, []),
        "delta": (2014, ["delta_x"]),
        "eps": (2016, ["eps_a", "eps_b"]),
    }
    paths = []
    for name, (year, variants) in families.items():
        (tmp_path / f"{name}.arch").write_text(_family(name, year, variants), encoding="utf-8")
        paths.append(str(tmp_path / f"{name}.arch"))
    out = tmp_path / "site"
    build_site(paths, out)
    html = (out / "index.html").read_text(encoding="utf-8")
    parse(out / "index.html")
    family_of = {v: n for n, (_, vs) in families.items() for v in (vs or [n])}
    rows = history_rows(html)
    assert [network for _, network, _ in rows] == [
        "gamma", "alpha_s", "alpha_m", "alpha_l", "beta_s", "beta_l", "delta_x", "eps_a", "eps_b"
    ]  # fmt: skip
    for year, network, paper in rows:
        family = family_of[network]
        assert (year, paper) == (str(families[family][0]), f"The {family} paper"), network
    assert html.count('rowspan="3"') == 2 and html.count('rowspan="2"') == 4  # alpha, beta, eps


def test_the_zoo_table_of_interleaved_zoo_variants() -> None:
    from archspec.site.entries import choose, collect
    from archspec.site.pages import environment, index_page

    # VGG's variants named apart, with GoogLeNet and AlexNet (all 2014) between them.
    entries = collect(choose(["vgg11", "googlenet", "vgg13_bn", "vgg16", "alexnet", "lenet5"]))
    rows = history_rows(index_page(environment(), entries, {"size": "s.svg", "field": "f.svg"}))
    vgg = "Very Deep Convolutional Networks for Large-Scale Image Recognition"
    assert rows == [
        ("1998", "lenet5", "Gradient-Based Learning Applied to Document Recognition"),
        ("2014", "vgg11", vgg),
        ("2014", "googlenet", "Going Deeper with Convolutions"),
        ("2014", "vgg13_bn", vgg),
        ("2014", "vgg16", vgg),
        ("2014", "alexnet", "One weird trick for parallelizing convolutional neural networks"),
    ]


# ---------------------------------------------------------------- hostile specs

HOSTILE = """\
network evil:
  title: "<script>alert(1)</script>"
  authors: ['"><img src=x onerror=alert(2)>', "Mallory & Eve"]
  year: 2021
  venue: "<iframe src=javascript:alert(3)>"
  paper: "javascript:alert(4)"
  reported:
    top1_error: "<b onmouseover=alert(5)>12</b>"
  notes: "</pre><script>alert(6)</script>"
  homepage: "'\\"><style>body{display:none}</style>"
  input: 1x8x8
  layers:
    conv: conv(4, 3) >> relu
    flatten
    fc: linear(10)
"""


def test_hostile_metadata_is_escaped_and_never_linked(tmp_path: Path) -> None:
    spec = tmp_path / "evil.arch"
    spec.write_text(HOSTILE, encoding="utf-8")
    out = tmp_path / "site"
    build_site([str(spec)], out)
    for page in ("index.html", "evil.html"):
        text = (out / page).read_text(encoding="utf-8")
        parse(out / page)
        for raw in ("<script", "<img src=x", "<iframe", "<b onmouseover", "<style>", 'javascript:alert(4)"'):
            assert raw not in text, (page, raw)
        assert 'href="javascript' not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    evil = (out / "evil.html").read_text(encoding="utf-8")
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in evil
    assert "Mallory &amp; Eve" in evil
    assert "<code>javascript:alert(4)</code> (not an http(s) address: not linked)" in evil
    assert "&lt;/pre&gt;&lt;script&gt;alert(6)&lt;/script&gt;" in evil
    for svg in (out / "diagrams").iterdir():
        assert "<script" not in svg.read_text(encoding="utf-8")


class _SpecSource(HTMLParser):
    """The elements and the text inside the page's ``<pre class="code spec">``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0  # elements open inside the <pre>, plus one for the <pre>; 0 outside it
        self.tags: list[tuple[str, str]] = []  # (tag, class) inside the <pre>
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = str(dict(attrs).get("class") or "")
        if self.depth:
            self.depth += 1
            self.tags.append((tag, classes))
        elif tag == "pre" and "spec" in classes.split():
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.text.append(data)


def test_the_highlighted_spec_source_is_the_file_text_and_only_spans(tmp_path: Path) -> None:
    """The lexer's HTML injects nothing: inside the spec's <pre> there is no element but the code and the
    highlighting spans, and the text a reader sees is the file, character for character."""
    source = HOSTILE.replace(
        "  layers:\n",
        "  # </code></pre><script>alert(7)</script> & 'quotes' \"too\"\n  layers:\n",
    )
    spec = tmp_path / "evil.arch"
    spec.write_text(source, encoding="utf-8")
    out = tmp_path / "site"
    build_site([str(spec)], out)
    html = (out / "evil.html").read_text(encoding="utf-8")
    assert "&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;alert(7)&lt;/script&gt; &amp;" in html
    reader = _SpecSource()
    reader.feed(html)
    reader.close()
    assert "".join(reader.text) == source
    assert reader.tags[0] == ("code", "")
    assert {tag for tag, _ in reader.tags[1:]} == {"span"}
    classes = {c for _, c in reader.tags[1:]}
    assert all(c.startswith("hl-") for c in classes), classes
    # keywords, ops, labels, strings and comments are told apart (what style.css colours)
    assert {"hl-k", "hl-nb", "hl-nl", "hl-s", "hl-c1"} <= classes
    assert "hl-err" not in classes  # a valid spec gives no error token


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://arxiv.org/abs/1512.03385", True),
        ("http://example.org/paper?a=1&b=2", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        (" javascript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//evil.example/x", False),
        ("file:///etc/passwd", False),
        ("https://", False),
        ("", False),
    ],
)
def test_only_http_urls_become_links(url: str, linked: bool) -> None:
    from archspec.site.pages import link_url

    assert (link_url(url) is not None) is linked


# ---------------------------------------------------------------- the command


def test_report_command_prints_where_to_open_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s"
    assert main(["report", "lenet5", "-o", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert stdout == f"wrote the site to {out}; open {(out / 'index.html').resolve().as_uri()}\n"
    assert sorted(p.name for p in out.iterdir()) == [
        ".archspec-site",
        "charts",
        "claims",
        "claims.html",
        "diagrams",
        "files",
        "index.html",
        "lenet5.html",
        "style.css",
    ]
    first = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    # the same specs give the same site, byte for byte (charts included: no date, fixed SVG ids)
    assert main(["report", "lenet5", "-o", str(out)]) == 0
    again = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert again == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # nothing left beside it


def test_unknown_spec_is_a_spec_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "resnet5", "-o", str(tmp_path / "s")]) == 1
    assert capsys.readouterr().err == (
        "archspec: error: 'resnet5' is neither a spec file nor a network of the zoo\n"
        "  hint: did you mean 'resnet50'?\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_folder_archspec_did_not_write_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    assert main(["report", "lenet5", "-o", str(mine)]) == 2
    assert capsys.readouterr().err == (
        f"archspec: error: {mine} is a folder that archspec did not write; it is not replaced. "
        "Choose a new or empty folder with -o\n"
    )
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]
    file = tmp_path / "file"
    file.write_text("x")
    assert main(["report", "lenet5", "-o", str(file)]) == 2
    assert (
        capsys.readouterr().err == f"archspec: error: {file} exists and is not a folder; choose another -o\n"
    )


def test_an_unwritable_folder_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    out = blocker / "site"
    assert main(["report", "lenet5", "-o", str(out)]) == 2
    assert capsys.readouterr().err == f"archspec: error: cannot write the site to {out}: File exists\n"


def test_a_failed_build_keeps_the_previous_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import archspec.site.build as build

    out = tmp_path / "site"
    build_site(["lecun1989"], out)
    before = (out / "index.html").read_bytes()
    working = build.index_page

    def broken(*args: Any) -> str:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(build, "index_page", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        build_site(["lenet5"], out)
    assert (out / "index.html").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no staging folder left behind
    monkeypatch.setattr(build, "index_page", working)
    build_site(["lenet5"], out)  # a site archspec wrote is replaced as a whole
    assert (out / "lenet5.html").is_file() and not (out / "lecun1989.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_without_graphviz_the_site_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import archspec.site.build as build

    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    build_site(["lecun1989"], tmp_path / "site")
    page = (tmp_path / "site" / "lecun1989.html").read_text(encoding="utf-8")
    message = (
        "Graphviz&#39;s `dot` is not installed, so this site has no drawings (apt-get install graphviz)."
    )
    assert page.count(message) == 2  # both drawings
    assert list((tmp_path / "site" / "diagrams").iterdir()) == []


# ---------------------------------------------------------------- in a real browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, through selenium (``chromium`` of tools/site_screenshots.py); no
    browser or driver is ever downloaded."""
    spec = importlib.util.spec_from_file_location("site_screenshots", ROOT / "tools" / "site_screenshots.py")
    assert spec is not None and spec.loader is not None
    screenshots = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screenshots)
    profile = tempfile.mkdtemp(prefix="archspec-chromium-")
    driver = screenshots.chromium(profile, 1400, 1000, console_log=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


_RESOURCES = """
const urls = [];
for (const e of document.querySelectorAll('img[src], script[src], link[href], a[href]')) {
  urls.push([e.tagName.toLowerCase(), e.getAttribute('src') || e.getAttribute('href'), e.src || e.href]);
}
const images = Array.from(document.images, i => [i.getAttribute('src'), i.complete, i.naturalWidth]);
const loaded = performance.getEntriesByType('resource').map(r => r.name);
const styled = getComputedStyle(document.querySelector('header.top')).position;
return [urls, images, loaded, styled, document.title];
"""


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_in_chromium_without_errors(site: Path, browser: Any, page: str) -> None:
    from urllib.parse import unquote, urlsplit

    browser.get((site / f"{page}.html").as_uri())
    urls, images, loaded, styled, title = browser.execute_script(_RESOURCES)
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    assert title.endswith("· archspec")
    assert styled == "sticky"  # style.css loaded and applied
    for tag, raw, absolute in urls:
        parts = urlsplit(absolute)
        if parts.scheme in ("http", "https"):
            assert tag == "a", f"{page}: {tag} {raw} would load from the network"
            continue
        assert parts.scheme == "file", raw
        assert Path(unquote(parts.path)).is_file(), f"{page}: {raw} is missing"
    assert images, f"{page} shows no image"
    for src, complete, width in images:
        assert complete and width > 0, f"{page}: {src} did not render"
    for name in loaded:  # everything the browser fetched is a file of the site
        assert name.startswith(site.as_uri() + "/"), name
    if page == "resnet50":
        script = "return Array.from(document.querySelectorAll('section[id]'), s => s.id)"
        assert set(SECTIONS) <= set(browser.execute_script(script))


def test_screenshots_of_the_index_and_a_network_page(site: Path, browser: Any) -> None:
    shots = ROOT / "out" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for page in ("index", "resnet50"):
        browser.get((site / f"{page}.html").as_uri())
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1400, min(int(height) + 100, 4000))
        target = shots / f"site-{page}.png"
        assert browser.save_screenshot(str(target))
        data = target.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert width >= 1000 and height >= 1000
        print(f"screenshot: {target}")
    browser.set_window_size(1400, 1000)


def test_the_text_of_the_index_is_what_a_reader_sees(site: Path, browser: Any) -> None:
    browser.get((site / "index.html").as_uri())
    text = browser.find_element("tag name", "main").text
    assert re.search(r"2015\s+resnet50\s+Deep Residual Learning for Image Recognition\s+25,557,032", text)


# ---------------------------------------------------------------- a site of one's own specs

OWN = {
    "cifar.arch": """\
block Basic(width, stride=1):
  residual:
    conv(width, 3, stride=stride, pad=1, bias=false) >> batchnorm >> relu
    conv(width, 3, pad=1, bias=false) >> batchnorm
  shortcut: auto
  relu

network resnet8:
  input: 3x32x32
  layers:
    stem: (conv(16, 3, pad=1, bias=false) >> batchnorm >> relu)
    stage1: Basic(16)
    stage2: Basic(32, stride=2)
    stage3: Basic(64, stride=2)
    pool: (global_avgpool >> flatten)
    fc: linear(10)
""",
    "digits.arch": """\
network allconv:
  input: 1x8x8
  layers:
    conv(8, 3, pad=1) >> relu >> conv(16, 3, stride=2, pad=1) >> relu >> conv(10, 1)
    global_avgpool >> flatten
""",
    "blocks.arch": "block Unused(width):\n  conv(width, 3)\n",  # a library of blocks: no page
}


def test_a_folder_of_ones_own_specs_makes_a_site_about_them(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    folder.mkdir()
    for name, text in OWN.items():
        (folder / name).write_text(text, encoding="utf-8")
    out = tmp_path / "site"
    assert main(["report", str(folder), "-o", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.html")) == ["allconv.html", "index.html", "resnet8.html"]
    assert not (out / "claims").exists()
    for page in out.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        for zoo_only in ("zoo", "history of CNNs", "1989", "Vision Transformer", "claims.html", "3×3"):
            assert zoo_only not in text, (page.name, zoo_only)
        test_pages_are_well_formed_and_link_only_to_files_of_the_site(out, page.stem)
    rows = parse(out / "index.html").tables["history"]
    # network, input, params, MACs, depth, receptive field; no year, paper or reported result to show
    # allconv by hand: conv 8·9 + 8, conv 16·8·9 + 16, conv 10·16 + 10; MACs 64·72 + 16·1152 + 16·160
    assert rows[0][:4] == ["allconv", "1x8x8", f"{80 + 1168 + 170:,}", f"{64 * 72 + 16 * 1152 + 16 * 160:,}"]
    assert [row[0] for row in rows] == ["allconv", "resnet8"] and len(rows[0]) == 6
    chart = (out / "charts" / "field-by-depth.svg").read_text(encoding="utf-8")
    assert "two 3×3 convs" not in chart  # the essay's panel is the zoo's
    assert sorted(p.name for p in (out / "charts").iterdir()) == ["field-by-depth.svg", "size.svg"]


def test_chart_ticks_are_numbers_people_write(tmp_path: Path) -> None:
    from archspec.site import charts
    from archspec.site.entries import choose, collect

    entries = collect(choose(["lenet5", "alexnet", "resnet18"]))
    for svg in (charts.field_by_depth(entries), charts.size_by_year(entries)):
        labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
        assert labels
        for label in labels:
            assert "10^" not in label and "×10" not in label and "mathdefault" not in label, label
            assert not re.fullmatch(r"\d+\.\d+", label), label  # no depth 2.5, no year 2012.5
    field = re.findall(r"<text[^>]*>([^<]*)</text>", charts.field_by_depth(entries))
    assert "10" in field and "100" in field  # decades, written out
