"""Finding and reading spec files: imports (relative to the importing file, cycles are errors) and the zoo.

A ``Program`` is one root file with everything it imports, ready for lowering.
"""

from __future__ import annotations

import os
import re
import stat
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from archspec import ast
from archspec.errors import SpecError, did_you_mean, header, printable
from archspec.limits import MAX_SPEC_BYTES
from archspec.parsed import lookup
from archspec.records import FrozenRecord, set_field
from archspec.yaml_form import SPEC_SUFFIXES, is_yaml


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
    return _shown(path.resolve(), path)


def _shown(resolved: Path, path: Path) -> str:
    """``display_path(path)`` of a path whose ``resolve()`` is ``resolved``."""
    try:
        return str(resolved.relative_to(_working_folder()))
    except ValueError:
        return str(path)


# Each resolved working folder, by what ``os.getcwd`` says: a search loop loads a spec many times, and
# resolving a path (a system call per component) was a fifth of loading a zoo network. The kernel's
# working folder has no links in it, so the same name resolves the same way.
_WORKING: dict[str, Path] = {}


def _working_folder() -> Path:
    """``Path.cwd().resolve()``."""
    here = os.getcwd()
    found = _WORKING.get(here)
    if found is None:
        if len(_WORKING) >= 64:
            _WORKING.clear()
        found = _WORKING[here] = Path(here).resolve()
    return found


@cache
def _package_folder(name: str) -> Path:
    """The resolved folder ``name`` of the installed package (``zoo``, ``std``): the same all along."""
    return (Path(__file__).parent / name).resolve()


# Bounds on what a spec can make archspec read (see docs/security.md).
MAX_IMPORT_DEPTH = 32
MAX_FILES = 256


@dataclass(init=False, repr=False, eq=False)
class ImportPolicy(FrozenRecord):
    """Which files ``import`` may read: regular ``.arch`` files inside ``roots`` (the root spec's folder
    and the ``--path`` folders, links resolved); absolute paths only when ``allow_absolute``."""

    roots: tuple[Path, ...]
    search_path: tuple[Path, ...] = ()
    allow_absolute: bool = False
    # A checkpoint's recorded files by absolute path: read from here, never from disk (the zoo excepted).
    memory: Mapping[str, str] | None = None

    def __init__(
        self,
        roots: tuple[Path, ...],
        search_path: tuple[Path, ...] = (),
        allow_absolute: bool = False,
        memory: Mapping[str, str] | None = None,
    ) -> None:
        set_field(self, "roots", roots)
        set_field(self, "search_path", search_path)
        set_field(self, "allow_absolute", allow_absolute)
        set_field(self, "memory", memory)

    def inside(self, target: Path) -> bool:
        """Whether a resolved path lies inside one of the allowed folders."""
        return self.allow_absolute or any(target.is_relative_to(root) for root in self.roots)


def load_program(
    path: Path,
    text: str | None = None,
    *,
    search_path: Sequence[Path] = (),
    allow_absolute_imports: bool = False,
    memory: Mapping[str, str] | None = None,
) -> Program:
    """Parse ``path`` and, recursively, the files it imports.

    An import names a ``.arch`` (or YAML) file relative to the importing file, or else to one of
    ``search_path``, or else to the bundled zoo (``from "resnet.arch" import BasicBlock`` works from any
    folder); it may read only regular files inside the root file's folder, ``search_path`` and the zoo
    (links resolved).
    A path that starts with ``std/`` names a file of the standard library shipped in the package
    (``archspec/std/``), never a file on the user's side. Absolute import paths need
    ``allow_absolute_imports``.

    ``memory``: the texts of the root and of the files it imports, by plain absolute path (a checkpoint's
    record): nothing but the zoo is read from disk, and ``path`` is one of its keys.
    """
    files: dict[str, FileScope] = {}
    if memory is not None:
        zoo = _package_folder("zoo")
        policy = ImportPolicy((zoo, _package_folder("std")), (zoo,), False, memory)
        return Program(_load(path, memory[str(path)], files, [], policy), files)
    # The zoo is archspec's own files: always readable, searched last so a user's file of the same name wins.
    folders = (*(Path(folder).resolve() for folder in search_path), _package_folder("zoo"))
    # The standard library is readable (a std file may import a sibling by a relative path), never searched.
    resolved = path.resolve()
    roots = (resolved.parent, *folders, _package_folder("std"))
    policy = ImportPolicy(roots, folders, allow_absolute_imports)
    root = _load(resolved, text, files, [], policy, key=_shown(resolved, resolved))
    return Program(root, files)


def read_spec(path: Path, key: str) -> str:
    """The text of a spec file: a regular file, at most ``MAX_SPEC_BYTES``, UTF-8. Never echoes content."""
    try:
        with path.open("rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                raise SpecError.at(None, f"cannot read {key}: not a regular file")
            data = stream.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        raise SpecError.at(None, f"no such spec file: {key}") from None
    except OSError as error:
        raise SpecError.at(None, f"cannot read {key}: {error.strerror or type(error).__name__}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError.at(None, f"cannot read {key}: larger than the limit of {MAX_SPEC_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError.at(None, f"cannot read {key}: not UTF-8 text") from None


# A search loop loads the same spec many times (`archspec.load(spec, **params)`, a sweep): the AST of a
# text is kept, keyed by the text itself, so an edited file is parsed again. ASTs are immutable.
@lru_cache(maxsize=64)
def _parse(text: str, key: str) -> ast.Module:
    """The AST of a file's text: the shipped one of a zoo spec (``archspec.parsed``), else the parser's."""
    if is_yaml(key):
        from archspec.yaml_form.reader import read_yaml  # ruamel.yaml loads only for a YAML spec

        return read_yaml(text, key)
    module = lookup(text, key)
    if module is None:
        from archspec.syntax import parse  # Lark and its tables load only when a text needs parsing

        module = parse(text, key)
    return module


def _load(
    path: Path,
    text: str | None,
    files: dict[str, FileScope],
    stack: list[str],
    policy: ImportPolicy,
    imported: ast.Import | None = None,
    key: str | None = None,
) -> FileScope:
    """The file at ``path`` (named ``key`` in messages: ``display_path(path)`` unless given) with
    everything it imports, each added to ``files``."""
    if key is None:
        key = display_path(path)
    if key in files:
        return files[key]
    if text is None:
        text = read_spec(path, key)
    elif len(text) > MAX_SPEC_BYTES:
        raise SpecError.at(None, f"{key} is larger than the limit of {MAX_SPEC_BYTES:,} bytes")
    if imported is not None and is_yaml(key):
        _refuse_other_yaml(text, key, imported)
    module = _parse(text, key)
    scope = FileScope(module, text)
    stack = [*stack, key]
    try:
        for block in module.blocks:
            if block.name in scope.blocks:
                first = scope.blocks[block.name].span
                raise SpecError.at(
                    header(block.span, f"block {block.name}"),
                    f"block '{block.name}' is defined twice (first at line {first.line})",
                )
            scope.blocks[block.name] = block
        for imported in module.imports:
            target = _resolve_import(imported, path, policy)
            target_key = display_path(target)
            if target_key in stack:
                cycle = " -> ".join([*stack[stack.index(target_key) :], target_key])
                raise SpecError.at(imported.span, f"import cycle: {cycle}")
            if len(stack) >= MAX_IMPORT_DEPTH:
                raise SpecError.at(imported.span, f"imports nest more than {MAX_IMPORT_DEPTH} files deep")
            if target_key not in files and len(files) >= MAX_FILES:
                raise SpecError.at(imported.span, f"a spec may import at most {MAX_FILES} files")
            recorded = policy.memory.get(str(target)) if policy.memory is not None else None
            other = _load(target, recorded, files, stack, policy, imported)
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


def _refuse_other_yaml(text: str, key: str, imported: ast.Import) -> None:
    """An imported YAML file must show that it is a spec before any of it is shown in a message: a
    configuration file beside the spec (its secrets) is refused at the import, unseen."""
    from archspec.yaml_form.reader import is_spec_document

    if not is_spec_document(text, key):
        raise SpecError.at(
            imported.span,
            f"cannot import '{printable(imported.path)}': it is not a YAML spec",
            "a YAML spec is a mapping whose keys are imports, lets, `block Name(...)` and `network name`",
        )


def _resolve_import(imported: ast.Import, importer: Path, policy: ImportPolicy) -> Path:
    """The file an import names, checked against the policy; a SpecError that never shows its content."""
    written = imported.path
    shown = printable(written)

    def refuse(reason: str, hint: str | None = None) -> SpecError:
        return SpecError.at(imported.span, f"cannot import '{shown}': {reason}", hint)

    if "\x00" in written:  # the operating system refuses such a name (Python raises ValueError)
        raise refuse("a file name cannot contain a NUL character")
    if not written.endswith(SPEC_SUFFIXES):
        raise refuse("a spec file's name ends in .arch, .yaml or .yml")
    if written.startswith(STD_PREFIX):
        return _resolve_std(written[len(STD_PREFIX) :], refuse)
    relative = Path(written)
    if policy.memory is not None:
        recorded = _recorded_import(relative, importer, policy.memory)
        if recorded is not None:
            return recorded
    if relative.is_absolute():
        if not policy.allow_absolute:
            raise refuse(
                "absolute import paths are not allowed",
                "write the path relative to the importing file, add its folder with --path, "
                "or pass --allow-absolute-imports",
            )
        candidates = [relative]
    elif policy.memory is not None:  # a file the record lacks: only the zoo may have it
        candidates = [folder / relative for folder in policy.search_path]
    else:
        candidates = [importer.parent / relative, *(folder / relative for folder in policy.search_path)]
    existing = next((c for c in candidates if os.path.lexists(c)), None)
    if existing is None:
        if policy.memory is not None:
            raise refuse("the checkpoint records no such file")
        raise refuse(f"no such file {display_path(candidates[0].resolve())}")
    target = existing.resolve()
    if not policy.inside(target):
        raise refuse(
            "it is outside the folders imports may read (the spec's folder and --path folders)",
            "add its folder with --path",
        )
    if target.suffix not in SPEC_SUFFIXES:
        raise refuse("it links to a file whose name does not end in .arch, .yaml or .yml")
    if not target.is_file():
        raise refuse("not a regular file")
    return target


# ---------------------------------------------------------------- the standard library

# `from "std/attention.arch" import ...`: the prefix that names the package's own standard library.
STD_PREFIX = "std/"


def std_dir() -> Path:
    """The directory of the standard library's ``.arch`` files (installed with the package)."""
    return Path(__file__).parent / "std"


def std_files() -> list[str]:
    """The import paths of every file of the standard library, sorted (``std/attention.arch``...)."""
    return [STD_PREFIX + path.relative_to(std_dir()).as_posix() for path in spec_files(std_dir())]


def _resolve_std(name: str, refuse: Callable[[str, str | None], SpecError]) -> Path:
    """The package's file ``std/<name>``: a plain path below ``archspec/std`` (no ``..``, no links out),
    whatever the user's folders hold, so that a folder of theirs called ``std`` cannot replace it."""
    parts = name.split("/")
    if any(part in ("", ".", "..") or "\\" in part for part in parts):
        raise refuse("a standard-library path names a file below std/, without '.', '..' or '//'", None)
    folder = _package_folder("std")
    target = (folder / name).resolve()
    if not target.is_relative_to(folder) or not target.is_file():
        known = std_files()
        hint = did_you_mean(STD_PREFIX + name, known) or "the standard library holds " + ", ".join(known)
        raise refuse("the standard library has no such file", hint)
    return target


# ---------------------------------------------------------------- the zoo


class ZooNameWarning(UserWarning):
    """A bare name given names a zoo network and a file in the working folder: the zoo's is taken."""


def zoo_dir() -> Path:
    """The directory of the bundled network specs (installed with the package)."""
    return Path(__file__).parent / "zoo"


# Bounds on a folder `list DIR` walks: `list /` would otherwise walk the whole file system.
MAX_WALK_FOLDERS = 2_000
MAX_WALK_DEPTH = 32


def is_spec_in_folder(path: Path) -> bool:
    """Whether a file found in a folder (``list``, ``report``, ``fmt`` of a folder) is a spec: every
    ``.arch`` file, and a YAML file whose top-level keys are a spec's (``network ...``, ``block ...``,
    ``imports``, ``lets``, or a near miss of one: ``netwrok resnet``), so that a project's other YAML
    files (a CI workflow, a data set's description) are passed over rather than reported as broken specs,
    while a misspelt spec is reported. A file that cannot be read
    counts as a spec: reading it again reports why."""
    if not is_yaml(str(path)):
        return True
    from archspec.yaml_form.reader import meant_as_spec

    try:
        text = read_spec(path, str(path))
    except SpecError:
        return True
    return meant_as_spec(text, str(path))


def spec_files(directory: Path) -> list[Path]:
    """Every spec file (``.arch``, ``.yaml``, ``.yml``) under a directory, sorted; links to folders are
    not followed, folders that
    cannot be read (or vanish while walked, as in /proc) are skipped, and a tree of more than
    ``MAX_WALK_FOLDERS`` folders or ``MAX_WALK_DEPTH`` levels is refused with a SpecError."""
    found: list[Path] = []
    folders = 0
    base_depth = len(directory.parts)
    for folder, subfolders, names in os.walk(directory, followlinks=False):
        folders += 1
        here = Path(folder)
        if folders > MAX_WALK_FOLDERS or len(here.parts) - base_depth > MAX_WALK_DEPTH:
            limit = (
                f"more than {MAX_WALK_FOLDERS:,} folders"
                if folders > MAX_WALK_FOLDERS
                else f"folders more than {MAX_WALK_DEPTH} levels deep"
            )
            raise SpecError.at(
                None,
                f"cannot list {printable(str(directory))}: it holds {limit}",
                "give the folder that holds the specs",
            )
        subfolders.sort()
        for name in names:
            if name.endswith(SPEC_SUFFIXES):
                path = here / name
                try:
                    if stat.S_ISREG(os.stat(path).st_mode):  # a link to a regular file counts
                        found.append(path)
                except OSError:  # vanished, a dangling or looping link, no permission
                    continue
    return sorted(found)


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

    ``name_or_path`` is a path to a ``.arch`` (or ``.yaml``/``.yml``) file, or a network or variant name
    from the zoo. A zoo name
    is the zoo's even where a file of that name exists (a ZooNameWarning says so); ``./name`` is the file.
    """
    path = Path(name_or_path)
    index = zoo_index()
    if name_or_path in index and path.exists():
        # A bare name is the zoo's: a file `resnet50` in the working folder must not replace a network
        # silently. Written `./resnet50` (or with .arch) it is the file.
        warnings.warn(
            f"'{printable(name_or_path)}' is the zoo's network; to read the file of that name, "
            f"write ./{printable(name_or_path)}",
            ZooNameWarning,
            stacklevel=2,
        )
    elif path.suffix in SPEC_SUFFIXES or path.exists():
        if not path.exists():
            raise SpecError.at(None, f"no such spec file: {printable(name_or_path)}")
        if not path.is_file():
            raise SpecError.at(None, f"cannot read {printable(name_or_path)}: not a regular file")
        return path, None
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


def _recorded_import(relative: Path, importer: Path, memory: Mapping[str, str]) -> Path | None:
    """The recorded file an import found when the record was made: by its absolute path, next to the
    importer, or else in another recorded file's folder (a ``--path`` folder of the run), in the order the
    files were read. Only the record is searched; nothing is read from disk."""
    if relative.is_absolute():
        written = os.path.normpath(relative)
        return Path(written) if written in memory else None
    candidates = [importer.parent / relative, *(Path(path).parent / relative for path in memory)]
    return next((Path(c) for c in map(os.path.normpath, candidates) if c in memory), None)
