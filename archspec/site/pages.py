"""The site's HTML pages, rendered from Jinja2 templates with autoescaping on.

Every text that comes from a spec reaches the page through a template variable, so Jinja2 escapes it;
the one exception is the spec's source, which the ``highlight`` filter turns into HTML with Pygments'
``HtmlFormatter`` (that escapes every token's text itself) before marking it safe. A paper address
becomes a link only when it is an http(s) URL.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from archspec.ir import Metadata
from archspec.ops import format_shape
from archspec.report import (
    DisplayRow,
    display_rows,
    human,
    human_bytes,
    network_rf_text,
    reported_text,
    rf_text,
)
from archspec.site.entries import Entry

if TYPE_CHECKING:  # pragma: no cover
    import jinja2
    from markupsafe import Markup

# The folded table opens blocks down to this depth (`layer1`, then `layer1.1–2: Bottleneck ×2`).
TABLE_DEPTH = 2


def link_url(text: str | None) -> str | None:
    """``text`` when it is an absolute http(s) URL with a host, else None (``javascript:`` never links)."""
    if not text:
        return None
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return text.strip()
    return None


# The spec source's highlighting classes carry this prefix (``hl-k``, ``hl-nb``), so that Pygments' short
# class names cannot clash with the site's own; style.css colours them.
HIGHLIGHT_PREFIX = "hl-"


def highlight_spec(text: str, path: str = "") -> Markup:
    """``text`` (a spec's source) as HTML spans of archspec's Pygments lexer (Pygments' YAML lexer for a
    YAML spec, by ``path``), every token escaped.

    Only the inside of the ``<code>`` element: the template writes the ``<pre>`` around it."""
    from markupsafe import Markup
    from pygments import highlight
    from pygments.lexer import Lexer
    from pygments.lexers.data import YamlLexer

    from archspec.highlight import ArchspecLexer
    from archspec.yaml_form import is_yaml

    lexer: Lexer = YamlLexer() if is_yaml(path) else ArchspecLexer()
    return Markup(highlight(text, lexer, _formatter()))  # safe: _formatter escapes every token


@cache
def _formatter() -> Any:
    """Pygments' HtmlFormatter, class prefix ``hl-``, escaping quotes too.

    HtmlFormatter escapes &, < and > of every token's text, which is enough for element content; it leaves
    quotes alone. They are escaped here as well, so that no spec text ever reaches the page with a bare
    quote, wherever it is (the same rule as Jinja2's autoescaping, which tests/test_site.py holds every
    page to)."""
    import html

    from pygments.formatters import HtmlFormatter

    class _Formatter(HtmlFormatter):  # type: ignore[misc]  # Pygments ships no type hints
        def _translate_parts(self, value: str) -> list[str]:
            return html.escape(value, quote=True).split("\n")

    return _Formatter(nowrap=True, classprefix=HIGHLIGHT_PREFIX)


def environment(zoo: bool = True) -> jinja2.Environment:
    """The Jinja2 environment of the site's templates (package data), autoescaping every variable.

    ``zoo``: the site is the zoo's (its history, the essay's claims), not one of the user's own specs."""
    import jinja2  # imported only when a site is built

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("archspec.site", "templates"),
        autoescape=True,  # every template is HTML; spec text is never trusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = lambda value: f"{value:,}"
    env.filters["human"] = human
    env.filters["bytes"] = human_bytes
    env.filters["shape"] = format_shape
    env.filters["rf"] = rf_text
    env.filters["network_rf"] = network_rf_text  # both fields, labelled, where a gate makes it global
    env.filters["link_url"] = link_url
    env.filters["highlight"] = highlight_spec
    env.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False)
    env.globals["zoo"] = zoo
    return env


@dataclass(frozen=True)
class Diagram:
    """One drawing on a network page: its file (relative to the page) or why there is none."""

    style: str
    title: str
    caption: str
    file: str | None
    missing: str | None = None


def index_page(env: jinja2.Environment, entries: Sequence[Entry], charts: dict[str, str]) -> str:
    """``index.html``: the zoo's history as a table and the charts (files under ``charts/``)."""
    # the variants of one network share its year and paper: one cell spans them
    spans: dict[str, int] = {}
    for i, entry in enumerate(entries):
        if i > 0 and entries[i - 1].family == entry.family and entries[i - 1].year == entry.year:
            spans[entry.slug] = 0
            first = next(e for e in reversed(entries[:i]) if spans[e.slug] > 0)
            spans[first.slug] += 1
        else:
            spans[entry.slug] = 1
    zoo = env.globals["zoo"]
    columns = {  # the zoo's table always has them; one's own specs only where some network says it
        "year": zoo or any(e.year is not None for e in entries),
        "paper": zoo or any(e.metadata.title or e.metadata.paper for e in entries),
        "reported": zoo or any(_reported(e.metadata) for e in entries),
    }
    return env.get_template("index.html").render(
        entries=entries,
        spans=spans,
        columns=columns,
        charts=charts,
        reported=lambda e: _reported(e.metadata),
        nav=_nav(entries, None),
    )


def _reported(metadata: Metadata) -> str | None:
    """The variant's reported results, the paper's and torchvision's weights' each named as such."""
    parts = []
    for origin, label in (("paper", "paper"), ("torchvision", "torchvision weights")):
        text = reported_text(metadata.results, origin)
        if text:
            parts.append(f"{text} ({label})")
    return "; ".join(parts) or None


def network_page(
    env: jinja2.Environment,
    entry: Entry,
    entries: Sequence[Entry],
    diagrams: Sequence[Diagram],
    source: str,
    files: dict[str, str],
) -> str:
    """``<slug>.html``: diagrams, figures, per-layer table, metadata, spec and PyTorch source."""
    folded = display_rows(entry.analysis, TABLE_DEPTH)
    every = display_rows(entry.analysis, None)
    position = list(entries).index(entry)
    siblings = [e for e in entries if e.family == entry.family]
    return env.get_template("network.html").render(
        entry=entry,
        analysis=entry.analysis,
        meta=entry.metadata,
        reported=_reported(entry.metadata),
        folded=_table(folded),
        every=_table(every) if len(every) != len(folded) else None,
        diagrams=diagrams,
        source=source,
        programs=_root_first(entry),
        files=files,
        siblings=siblings if len(siblings) > 1 else [],
        previous=entries[position - 1] if position > 0 else None,
        following=entries[position + 1] if position + 1 < len(entries) else None,
        nav=_nav(entries, entry),
        table_depth=TABLE_DEPTH,
    )


def _root_first(entry: Entry) -> dict[str, str]:
    """The spec's files, the network's own first and then the files it imports."""
    sources = entry.network.program.sources
    root = entry.network.program.root
    own = next(path for path, text in sources.items() if entry.network.program.files[path] is root)
    return {own: sources[own], **{path: text for path, text in sources.items() if path != own}}


def _table(rows: Sequence[DisplayRow]) -> list[dict[str, Any]]:
    return [
        {
            "row": row,
            "folded": "–" in row.name,  # display_rows names a folded run `layer1.1–2`
            "parent": i + 1 < len(rows) and rows[i + 1].depth > row.depth,  # a block shown with its inside
            "indent": row.depth - 1,
        }
        for i, row in enumerate(rows)
    ]


def nav_items(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """The navigation bar of a page that is no network's (the claims page)."""
    return _nav(entries, None)


def _nav(entries: Sequence[Entry], current: Entry | None) -> list[dict[str, Any]]:
    """Networks for the navigation bar: one item per network, its variants under it."""
    families: dict[str, list[Entry]] = {}
    for entry in entries:
        families.setdefault(entry.family, []).append(entry)
    return [
        {
            "family": family,
            "year": members[0].year,
            "members": members,
            "current": current is not None and current.family == family,
        }
        for family, members in families.items()
    ]
