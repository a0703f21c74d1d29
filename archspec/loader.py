"""Finding and reading spec files: imports (relative to the importing file, cycles are errors) and the zoo.

A ``Program`` is one root file with everything it imports, ready for lowering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from archspec import ast
from archspec.errors import SpecError, did_you_mean
from archspec.syntax import parse


@dataclass
class FileScope:
    """One parsed file and the names visible in it: its own blocks and lets plus imported blocks."""

    module: ast.Module
    text: str
    blocks: dict[str, ast.BlockDef] = field(default_factory=dict)


@dataclass
class Program:
    """A root spec file and every file it imports, by resolved path."""

    root: FileScope
    files: dict[str, FileScope]

    @property
    def sources(self) -> dict[str, str]:
        """Source text of every file, for rendering diagnostics."""
        return {path: scope.text for path, scope in self.files.items()}

    def scope_of(self, block: ast.BlockDef) -> FileScope:
        """The file that defines ``block``."""
        return self.files[block.path]


def display_path(path: Path) -> str:
    """A path as shown in messages: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_program(path: Path, text: str | None = None) -> Program:
    """Parse ``path`` and, recursively, the files it imports."""
    files: dict[str, FileScope] = {}
    root = _load(path.resolve(), text, files, [])
    return Program(root, files)


def _load(path: Path, text: str | None, files: dict[str, FileScope], stack: list[str]) -> FileScope:
    key = display_path(path)
    if key in files:
        return files[key]
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SpecError.at(None, f"no such spec file: {key}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise SpecError.at(None, f"cannot read {key}: {error}") from None
    module = parse(text, key)
    scope = FileScope(module, text)
    stack = [*stack, key]
    try:
        for block in module.blocks:
            if block.name in scope.blocks:
                first = scope.blocks[block.name].span
                raise SpecError.at(
                    block.span, f"block '{block.name}' is defined twice (first at line {first.line})"
                )
            scope.blocks[block.name] = block
        for imported in module.imports:
            target = (path.parent / imported.path).resolve()
            target_key = display_path(target)
            if target_key in stack:
                cycle = " -> ".join([*stack[stack.index(target_key) :], target_key])
                raise SpecError.at(imported.span, f"import cycle: {cycle}")
            if not target.is_file():
                raise SpecError.at(
                    imported.span, f"cannot import '{imported.path}': no such file {target_key}"
                )
            other = _load(target, None, files, stack)
            wanted = imported.names or tuple((name, imported.span) for name in other.blocks)
            for name, span in wanted:
                if name not in other.blocks:
                    raise SpecError.at(
                        span,
                        f"'{imported.path}' defines no block '{name}'",
                        did_you_mean(name, other.blocks),
                    )
                scope.blocks.setdefault(name, other.blocks[name])
    except SpecError as error:
        error.sources.setdefault(key, text)
        raise
    files[key] = scope
    return scope


# ---------------------------------------------------------------- the zoo


def zoo_dir() -> Path:
    """The directory of the bundled network specs (installed with the package)."""
    return Path(str(resources.files("archspec").joinpath("zoo")))


def spec_files(directory: Path) -> list[Path]:
    """Every ``.arch`` file under a directory, sorted."""
    return sorted(p for p in directory.rglob("*.arch") if p.is_file())


_VARIANT_LINE = re.compile(r"^\s+([A-Za-z_][A-Za-z0-9_]*)\s*:", re.MULTILINE)
_NETWORK_LINE = re.compile(r"^network\s+([A-Za-z_][A-Za-z0-9_]*)\s*:", re.MULTILINE)


@cache
def zoo_index() -> dict[str, Path]:
    """Network and variant names of the zoo, mapped to their files (from a light text scan)."""
    index: dict[str, Path] = {}
    for path in spec_files(zoo_dir()):
        text = path.read_text(encoding="utf-8")
        for match in _NETWORK_LINE.finditer(text):
            index.setdefault(match.group(1), path)
        section = text.split("variants:", 1)
        if len(section) == 2:
            block = section[1].split("layers:", 1)[0]
            for match in _VARIANT_LINE.finditer(block):
                index.setdefault(match.group(1), path)
    return index


def resolve_spec(name_or_path: str) -> tuple[Path, str | None]:
    """A spec file path and the variant a name selects (None: the file's default).

    ``name_or_path`` is a path to a ``.arch`` file, or a network or variant name from the zoo.
    """
    path = Path(name_or_path)
    if path.suffix == ".arch" or path.exists():
        if not path.is_file():
            raise SpecError.at(None, f"no such spec file: {name_or_path}")
        return path, None
    index = zoo_index()
    if name_or_path in index:
        file = index[name_or_path]
        is_network = _NETWORK_LINE.search(file.read_text(encoding="utf-8"))
        network_name = is_network.group(1) if is_network else None
        return file, None if name_or_path == network_name else name_or_path
    raise SpecError.at(
        None,
        f"'{name_or_path}' is neither a spec file nor a network of the zoo",
        did_you_mean(name_or_path, index) or "`archspec list` shows the zoo",
    )
