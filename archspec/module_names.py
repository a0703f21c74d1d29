"""The names a layer cannot have: attributes every ``torch.nn.Module`` has (``half``, ``train``, ``forward``)
and those of archspec's built blocks. ``build()`` refuses them; ``check`` reports them from the list the code
generator already keeps (``NN_MODULE_ATTRIBUTES``, held equal to torch's own by tests/test_codegen.py),
without importing torch.
"""

from archspec.backends.torch_source import NN_MODULE_ATTRIBUTES
from archspec.errors import Diagnostic
from archspec.ir import Graph

# What archspec/backends/torch_build.py sets on the blocks it builds.
BUILT_BLOCK_ATTRIBUTES = frozenset(
    {"archspec_chain", "archspec_label", "archspec_output", "archspec_slots", "archspec_steps"}
    | {"archspec_values"}
)


def clashes_with_module(name: str) -> bool:
    """Whether a layer called ``name`` would clash with an attribute of the module holding it."""
    dunder = name.startswith("__") and name.endswith("__")
    return dunder or name in NN_MODULE_ATTRIBUTES or name in BUILT_BLOCK_ATTRIBUTES


def module_name_errors(graph: Graph) -> list[Diagnostic]:
    """A layer or container whose name is an attribute of ``torch.nn.Module`` (``half``): it could be
    analysed but not built. One error per name, at the first layer that carries it. And a parameter of
    its own (``own_parameter``: a class token) under a dotted label, which only a module could carry."""
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
    dotted = [
        Diagnostic(
            f"'{node.local_name}' is a parameter of its own (a {node.op.spec_names[0]}): a module list "
            "(a dotted label) holds modules",
            node.span,
            "give it a name without a dot",
        )
        for node in graph.nodes[1:]
        if node.op.own_parameter and "." in node.local_name
    ]
    return [*found.values(), *dotted]
