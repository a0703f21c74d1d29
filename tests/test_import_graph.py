"""No import cycles between archspec's modules: a cycle ties two modules into one unit (neither can be
read, tested or imported without the other) and makes import order matter.

Every import counts, at module level or inside a function (a lazy import still ties the two modules);
only imports under ``if TYPE_CHECKING:`` are left out, as they are annotations, never run. The graph is
read from the source with ``ast`` and checked with the standard library's ``graphlib``, so the oracle is
independent of how archspec imports its modules."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "archspec"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def known(name: str) -> str:
    """The module ``name`` is in (``archspec.ops.Op`` is in ``archspec.ops``)."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def run_time_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """The import statements of ``tree`` that run, wherever they are (not those under TYPE_CHECKING)."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}:
            found += [i for n in node.orelse for i in run_time_imports(n)]
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        found += run_time_imports(node)
    return found


def imported_modules(name: str, path: Path) -> set[str]:
    """The archspec modules that module ``name`` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in run_time_imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets |= {known(alias.name) for alias in node.names if alias.name.startswith("archspec")}
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, *([node.module] if node.module else [])])
        if base.startswith("archspec"):
            # `from archspec.backends import torch_tensor` imports a module; `from archspec.ops import Op`
            # a name of one
            targets |= {known(f"{base}.{alias.name}") for alias in node.names}
    return targets - {name}


def test_the_graph_is_read_from_every_module() -> None:
    assert {"archspec", "archspec.cli", "archspec.backends.torch_ops", "archspec.loader"} <= set(MODULES)
    assert "archspec.backends.torch_tensor" in imported_modules(
        "archspec.backends.torch_ops", MODULES["archspec.backends.torch_ops"]
    )


def test_a_cycle_would_be_found(tmp_path: Path) -> None:
    """The check itself can fail: a lazy import back is a cycle."""
    graph = {"a": {"b"}, "b": {"a"}}
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter(graph).prepare()
    lazy = ast.parse("def f():\n    from archspec import cli\n")
    guarded = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from archspec import cli\n")
    assert len(run_time_imports(lazy)) == 1 and len(run_time_imports(guarded)) == 1  # typing's only


def test_no_module_imports_itself_back() -> None:
    graph = {name: imported_modules(name, path) for name, path in MODULES.items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")
