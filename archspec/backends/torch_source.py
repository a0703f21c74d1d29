"""Python source of this package's torch-side definitions, read as text: ``archspec compile`` copies the
custom layers (``torch_layers``) and the init helpers (``init``) into generated files without importing
them, so that writing source needs no torch.

``NN_MODULE_ATTRIBUTES`` are the names an ``nn.Module`` instance has (``dir(nn.Module())`` of the pinned
torch): a layer may not be named like one, or ``self.<name> = ...`` would clobber a method or attribute.
``tests/test_codegen.py`` checks the list against the installed torch.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

NN_MODULE_ATTRIBUTES = frozenset(
    [
        "T_destination",
        "__annotations__",
        "__call__",
        "__class__",
        "__delattr__",
        "__dict__",
        "__dir__",
        "__doc__",
        "__eq__",
        "__format__",
        "__ge__",
        "__getattr__",
        "__getattribute__",
        "__getstate__",
        "__gt__",
        "__hash__",
        "__init__",
        "__init_subclass__",
        "__le__",
        "__lt__",
        "__module__",
        "__ne__",
        "__new__",
        "__reduce__",
        "__reduce_ex__",
        "__repr__",
        "__setattr__",
        "__setstate__",
        "__sizeof__",
        "__str__",
        "__subclasshook__",
        "__weakref__",
        "_apply",
        "_backward_hooks",
        "_backward_pre_hooks",
        "_buffers",
        "_call_impl",
        "_compiled_call_impl",
        "_forward_hooks",
        "_forward_hooks_always_called",
        "_forward_hooks_with_kwargs",
        "_forward_pre_hooks",
        "_forward_pre_hooks_with_kwargs",
        "_get_backward_hooks",
        "_get_backward_pre_hooks",
        "_get_name",
        "_is_full_backward_hook",
        "_load_from_state_dict",
        "_load_state_dict_post_hooks",
        "_load_state_dict_pre_hooks",
        "_maybe_warn_non_full_backward_hook",
        "_modules",
        "_named_members",
        "_non_persistent_buffers_set",
        "_parameters",
        "_register_load_state_dict_pre_hook",
        "_register_state_dict_hook",
        "_replicate_for_data_parallel",
        "_save_to_state_dict",
        "_slow_forward",
        "_state_dict_hooks",
        "_state_dict_pre_hooks",
        "_version",
        "_wrapped_call_impl",
        "add_module",
        "apply",
        "bfloat16",
        "buffers",
        "call_super_init",
        "children",
        "compile",
        "cpu",
        "cuda",
        "double",
        "dump_patches",
        "eval",
        "extra_repr",
        "float",
        "forward",
        "get_buffer",
        "get_extra_state",
        "get_parameter",
        "get_submodule",
        "half",
        "ipu",
        "load_state_dict",
        "modules",
        "mtia",
        "named_buffers",
        "named_children",
        "named_modules",
        "named_parameters",
        "parameters",
        "register_backward_hook",
        "register_buffer",
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_full_backward_hook",
        "register_full_backward_pre_hook",
        "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook",
        "register_module",
        "register_parameter",
        "register_state_dict_post_hook",
        "register_state_dict_pre_hook",
        "requires_grad_",
        "set_extra_state",
        "set_submodule",
        "share_memory",
        "state_dict",
        "to",
        "to_empty",
        "train",
        "training",
        "type",
        "xpu",
        "zero_grad",
    ]
)


@cache
def definitions(module_file: str) -> dict[str, str]:
    """The source of each top-level class and function of ``module_file`` (a file of this folder, such as
    ``torch_layers.py``), by name, in file order, decorators included."""
    text = (Path(__file__).parent / module_file).read_text(encoding="utf-8")
    lines = text.splitlines()
    return {node.name: "\n".join(lines[_first_line(node) - 1 : node.end_lineno]) for node in _top_level(text)}


@cache
def class_names(module_file: str) -> list[str]:
    """The names of the classes ``module_file`` defines, sorted."""
    return sorted(node.name for node in _class_definitions(module_file))


@cache
def layer_bases(module_file: str) -> dict[str, tuple[str, ...]]:
    """The base classes of each class ``module_file`` defines, as written (``PatchEmbed``:
    ``("nn.Conv2d",)``)."""
    return {
        node.name: tuple(ast.unparse(base) for base in node.bases) for node in _class_definitions(module_file)
    }


@cache
def leaf_classes(module_file: str) -> frozenset[str]:
    """The classes of ``module_file`` whose instances hold no submodule: no attribute of theirs is
    assigned a module (anything but an ``nn.Parameter``, a tensor or a plain value built in place)."""
    return frozenset(
        node.name
        for node in _class_definitions(module_file)
        if not any(_assigns_module(n) for n in ast.walk(node))
    )


@cache
def _class_definitions(module_file: str) -> tuple[ast.ClassDef, ...]:
    """The top-level classes of ``module_file`` (a file of this folder), parsed once."""
    text = (Path(__file__).parent / module_file).read_text(encoding="utf-8")
    return tuple(node for node in _top_level(text) if isinstance(node, ast.ClassDef))


def _assigns_module(node: ast.AST) -> bool:
    """Whether ``node`` assigns ``self`` a module: ``nn.X(...)`` but a parameter, or ``Layer(...)``."""
    if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
        return False
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    on_self = [t for t in targets if isinstance(t, ast.Attribute) and ast.unparse(t.value) == "self"]
    if not on_self:
        return False
    call = node.value
    if not isinstance(call, ast.Call):
        return False
    callee = ast.unparse(call.func)
    return (callee.startswith("nn.") and callee != "nn.Parameter") or callee[:1].isupper()


def _top_level(text: str) -> list[ast.ClassDef | ast.FunctionDef]:
    return [node for node in ast.parse(text).body if isinstance(node, ast.ClassDef | ast.FunctionDef)]


def _first_line(node: ast.ClassDef | ast.FunctionDef) -> int:
    return min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
