"""The zoo as a catalogue: networks, variants, years and papers; and checking many specs at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archspec.errors import SpecError
from archspec.loader import load_program, resolve_spec, spec_files, zoo_dir
from archspec.lower import file_environment, lower, metadata, network_of, variant_names


@dataclass(frozen=True)
class CatalogEntry:
    """One network of a directory of specs."""

    network: str
    path: Path
    variants: tuple[str, ...]
    year: int | None
    title: str | None
    paper: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "network": self.network,
            "path": str(self.path),
            "variants": list(self.variants),
            "year": self.year,
            "title": self.title,
            "paper": self.paper,
        }


def catalog(directory: Path | None = None) -> list[CatalogEntry]:
    """Every network under ``directory`` (default: the zoo), oldest first."""
    entries = []
    for path in spec_files(directory or zoo_dir()):
        program = load_program(path)
        if not program.root.module.networks:
            continue  # a library of blocks
        network = network_of(program)
        meta = metadata(network, file_environment(program.root))
        entries.append(
            CatalogEntry(network.name, path, tuple(variant_names(network)), meta.year, meta.title, meta.paper)
        )
    return sorted(entries, key=lambda e: (e.year or 0, e.network))


def check_all(specs: list[str], only_variant: str | None = None) -> list[SpecError]:
    """Lower every variant of every spec; collect the errors instead of stopping at the first."""
    errors: list[SpecError] = []
    for spec in specs:
        try:
            path, implied = resolve_spec(spec)
            program = load_program(path)
            wanted = only_variant or implied
            names = [wanted] if wanted else variant_names(network_of(program))
        except SpecError as error:
            errors.append(error)
            continue
        for name in names:
            try:
                lower(program, name)
            except SpecError as error:
                errors.append(error)
    return errors
