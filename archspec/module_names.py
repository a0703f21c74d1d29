"""The names a layer cannot have: attributes every ``torch.nn.Module`` has (``half``, ``train``, ``forward``)
and those of archspec's built blocks. ``build()`` refuses them; ``check`` reports them from this list without
importing torch (tests/test_module_names.py holds it equal to torch's own).
"""

from archspec.errors import Diagnostic
from archspec.ir import Graph

# dir(torch.nn.Module()) without the dunder names, which are refused by their shape.
TORCH_MODULE_ATTRIBUTES = frozenset(
    {
        "T_destination",
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
    }
)
# What archspec/backends/torch_build.py sets on the blocks it builds.
BUILT_BLOCK_ATTRIBUTES = frozenset(
    {
        "archspec_chain",
        "archspec_label",
        "archspec_output",
        "archspec_slots",
        "archspec_steps",
        "archspec_values",
    }
)


def clashes_with_module(name: str) -> bool:
    """Whether a layer called ``name`` would clash with an attribute of the module holding it."""
    dunder = name.startswith("__") and name.endswith("__")
    return dunder or name in TORCH_MODULE_ATTRIBUTES or name in BUILT_BLOCK_ATTRIBUTES


def module_name_errors(graph: Graph) -> list[Diagnostic]:
    """A layer or container whose name is an attribute of ``torch.nn.Module`` (``half``): it could be
    analysed but not built. One error per name, at the first layer that carries it."""
    found: dict[str, Diagnostic] = {}
    for node in graph.nodes[1:]:
        for part in node.name.split("."):
            if part not in found and clashes_with_module(part):
                message = f"layer name '{part}' clashes with an attribute of torch.nn.Module"
                hint = (
                    "rename it: torch has a method or field of that name, so no layer can be registered "
                    "under it"
                )
                found[part] = Diagnostic(message, node.span, hint)
    return list(found.values())
