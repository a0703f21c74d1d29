"""The zoo as a catalogue: networks, variants, years and papers; and checking many specs at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archspec.errors import SpecError
from archspec.loader import is_spec_in_folder, load_program, spec_files, zoo_dir
from archspec.lower import file_environment, metadata, network_of, variant_names


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
    """Every network under ``directory`` (default: the zoo), oldest first; SpecError on a bad file."""
    entries, problems = scan(directory)
    if problems:
        raise problems[0]
    return entries


def scan(directory: Path | None = None) -> tuple[list[CatalogEntry], list[SpecError]]:
    """Every readable network under ``directory`` (default: the zoo), oldest first, and the problems:
    a file that cannot be read or parsed, and network names defined by more than one file."""
    entries: list[CatalogEntry] = []
    problems: list[SpecError] = []
    for path in spec_files(directory or zoo_dir()):
        if not is_spec_in_folder(path):
            continue
        try:
            program = load_program(path)
            if not program.root.module.networks:
                continue  # a library of blocks
            network = network_of(program)
            meta = metadata(network, file_environment(program.root))
        except SpecError as error:
            problems.append(error)
            continue
        except OSError as error:
            problems.append(SpecError.at(None, f"cannot read {path}: {error.strerror or error}"))
            continue
        entries.append(
            CatalogEntry(network.name, path, tuple(variant_names(network)), meta.year, meta.title, meta.paper)
        )
    paths: dict[str, list[Path]] = {}
    for entry in entries:
        paths.setdefault(entry.network, []).append(entry.path)
    for name, where in paths.items():
        if len(where) > 1:
            listed = ", ".join(str(p) for p in where)
            problems.append(SpecError.at(None, f"network '{name}' is defined by several files: {listed}"))
    return sorted(entries, key=lambda e: (e.year or 0, e.network)), problems


def matches(entry: CatalogEntry, pattern: str) -> bool:
    """Whether a network or one of its variants contains ``pattern`` (case-insensitive)."""
    needle = pattern.lower()
    return any(needle in name.lower() for name in (entry.network, *entry.variants))
