"""What the site shows: the networks chosen on the command line, loaded and analysed, in year order.

An ``Entry`` is one page of the site: one variant of one network with its analysis and the texts its
page shows. Nothing here imports torch; the generated PyTorch source is added by the builder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from archspec.analysis import Analysis, ReceptiveField, node_depths
from archspec.api import Network, load
from archspec.catalog import catalog
from archspec.errors import UsageError, printable
from archspec.ir import Metadata
from archspec.loader import display_path, load_program, resolve_spec, zoo_dir
from archspec.lower import network_of, variant_names


@dataclass(frozen=True)
class Entry:
    """One variant of one network: a page of the site."""

    slug: str  # the page's file name without ``.html``, unique within the site
    family: str  # the network (``resnet``); ``name`` is the variant (``resnet50``)
    network: Network
    analysis: Analysis
    spec_path: str
    spec_text: str

    @property
    def name(self) -> str:
        """The variant's name (the network's when it has no variants)."""
        return self.network.name

    @property
    def metadata(self) -> Metadata:
        """The spec's metadata section."""
        return self.network.graph.metadata

    @property
    def year(self) -> int | None:
        """The paper's year, when the spec gives one."""
        return self.metadata.year


def choose(specs: Sequence[str]) -> list[tuple[Path, str]]:
    """The (spec file, variant) pairs the arguments name; every variant of the zoo when there are none.

    A variant name selects that variant; a network name or a spec file selects all its variants; a
    folder every network of its spec files, ``.arch``, ``.yaml`` and ``.yml`` (as ``archspec list
    FOLDER`` shows them).
    Raises :class:`archspec.errors.SpecError` for an unknown name or a broken file, and
    :class:`archspec.errors.UsageError` for a folder without a network.
    """
    if not specs:
        return [(entry.path, variant) for entry in catalog() for variant in entry.variants]
    chosen: list[tuple[Path, str]] = []
    for spec in specs:
        if Path(spec).is_dir():
            found = [(entry.path, variant) for entry in catalog(Path(spec)) for variant in entry.variants]
            if not found:
                raise UsageError(
                    f"{printable(spec)} holds no spec file (.arch, .yaml, .yml) that defines a network"
                )
            chosen.extend(found)
            continue
        path, implied = resolve_spec(spec)
        names = [implied] if implied else variant_names(network_of(load_program(path)))
        chosen.extend((path, name) for name in names)
    return list(dict.fromkeys(chosen))  # `resnet resnet50` names resnet50 twice: one page


def is_zoo(chosen: Sequence[tuple[Path, str]]) -> bool:
    """Whether every chosen spec is one of the zoo's: then the site tells the zoo's history, else it
    speaks only of the user's networks."""
    zoo = zoo_dir().resolve()
    return all(path.resolve().is_relative_to(zoo) for path, _ in chosen)


def collect(chosen: Sequence[tuple[Path, str]]) -> list[Entry]:
    """Load and analyse every chosen variant; entries in year order (then in the order given)."""
    entries: list[Entry] = []
    slugs: set[str] = set()
    for path, variant in chosen:
        network = load(path, variant)
        slug = _unique(slugify(network.name), slugs)
        root = network.program.root
        entries.append(
            Entry(
                slug=slug,
                family=network.graph.network,
                network=network,
                analysis=network.analyze(),
                spec_path=display_path(path),
                spec_text=root.text,
            )
        )
    # stable: variants of one year keep the catalogue's (or the command line's) order
    return sorted(entries, key=lambda e: e.year if e.year is not None else 10_000)


def slugify(name: str) -> str:
    """A file-name-safe form of a network name (names are identifiers, but a file name must never be
    able to climb out of the site, whatever a spec says)."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower()
    return slug or "network"


# The site's own pages: a network named like one (`claims`) must not take its file.
RESERVED_SLUGS = frozenset({"index", "claims"})


def _unique(slug: str, taken: set[str]) -> str:
    candidate, n = slug, 2
    while candidate in taken or candidate in RESERVED_SLUGS:
        candidate, n = f"{slug}-{n}", n + 1
    taken.add(candidate)
    return candidate


def depth_field_steps(analysis: Analysis) -> list[tuple[int, int]]:
    """The receptive field's growth along the network: for each depth (conv / linear / attention layers
    on the longest path so far), the largest finite field size of a layer at that depth. The field is
    the spatial path's (a squeeze-and-excitation gate's global input left out): the whole field is
    global from the first gate on, the spatial path's goes on growing to the last feature map."""
    depths = node_depths(analysis.graph)
    largest: dict[int, int] = {}
    for node in analysis.graph.nodes:
        field = analysis.spatial_fields[node.id]
        if isinstance(field, ReceptiveField):  # not before the first spatial op, not once it is global
            depth = depths[node.id]
            largest[depth] = max(largest.get(depth, 0), *field.size)
    return sorted(largest.items())
