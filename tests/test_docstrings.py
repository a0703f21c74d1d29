"""Every public function, class and method of archspec has a docstring (HELPERS' and docs/design.md's
rule), found by importing every module and asking Python, not by reading our own list.

A method that overrides a documented one (an op's ``macs``, a module's ``forward``) inherits its
documentation (``inspect.getdoc`` finds it on the base), so it needs none of its own. And no class is
over 300 lines."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

import archspec


def modules() -> list[ModuleType]:
    """Every module of the package (``__main__`` left out: importing it runs the command line)."""
    names = [m.name for m in pkgutil.walk_packages(archspec.__path__, "archspec.")]
    return [importlib.import_module(name) for name in names if not name.endswith("__main__")]


def undocumented(module: ModuleType) -> list[str]:
    """The public names defined in ``module`` with no docstring of their own or inherited."""
    missing = []
    for name, value in list(vars(module).items()):
        if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(value) and not value.__doc__:
            missing.append(f"{module.__name__}.{name}")
        elif inspect.isclass(value):
            if not value.__doc__:
                missing.append(f"{module.__name__}.{name}")
            for attribute, member in list(vars(value).items()):  # a lookup may fill a lazy class's dict
                bound = member.fget if isinstance(member, property) else member
                function = getattr(bound, "__func__", bound)
                if attribute.startswith("_") or not inspect.isfunction(function) or function.__doc__:
                    continue
                if not inspect.getdoc(getattr(value, attribute)):
                    missing.append(f"{module.__name__}.{name}.{attribute}")
    return missing


def test_the_check_finds_an_undocumented_function() -> None:
    def public() -> None:
        pass

    class Open:
        """Documented."""

        def method(self) -> None:
            pass

        def __repr__(self) -> str:  # private, and documented by object
            return "Open()"

    module = ModuleType("probe")
    public.__module__ = Open.__module__ = "probe"
    module.public, module.Open = public, Open  # type: ignore[attr-defined]
    assert undocumented(module) == ["probe.public", "probe.Open.method"]


def test_every_public_function_class_and_method_has_a_docstring() -> None:
    found = modules()
    assert len(found) > 100  # the walk reached the subpackages
    assert [name for module in found for name in undocumented(module)] == []


# HELPERS' and issue 27's "no class over ~300 lines": a unit that large hides state (codegen's 722-line
# emitter did). Measured with ast over the source, so every class counts, nested and private ones too.
CLASS_LINES = 300


def test_no_class_is_over_300_lines() -> None:
    root = Path(archspec.__file__).parent
    sizes = {
        f"{path.relative_to(root)}:{node.lineno} {node.name}": (node.end_lineno or 0) + 1 - node.lineno
        for path in sorted(root.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
    }
    assert len(sizes) > 100
    assert {where: lines for where, lines in sizes.items() if lines > CLASS_LINES} == {}
