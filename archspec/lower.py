"""AST to IR: resolve names, evaluate arguments, pick a variant, expand blocks and repeats, infer shapes.

Every node of the IR comes out with all of its fields resolved and its output shape known; the pieces
of the work are in ``archspec.elab`` (names, call binding, blocks, formulas, variants and metadata, the
lowering of items and statements). This module runs them for one variant and parameter set.
"""

from __future__ import annotations

from collections.abc import Mapping

from archspec.elab import memo
from archspec.elab.binding import unknown_op
from archspec.elab.graph import trusted
from archspec.elab.metadata import jsonable, metadata
from archspec.elab.names import Container, file_environment
from archspec.elab.origins import Tracer
from archspec.elab.statements import Lowerer
from archspec.elab.traced import deps_of, parameter, plain, tracing, value_at
from archspec.elab.variants import input_shape, network_of, parameters, variant_names
from archspec.errors import SpecError, header
from archspec.expr import Value
from archspec.init_rules import lower_init
from archspec.ir import Graph, Scope
from archspec.limits import budget
from archspec.loader import Program
from archspec.ops import Shape
from archspec.ops.structure import Input

__all__ = ["file_environment", "lower", "metadata", "network_of", "unknown_op", "variant_names"]


def lower(
    program: Program,
    variant: str | None = None,
    overrides: Mapping[str, Value] | None = None,
    input_override: Shape | None = None,
    tracer: Tracer | None = None,
) -> Graph:
    """Elaborate the program's network for one variant and parameter set into a shaped IR graph.
    ``tracer``: record the origins of its numbers there (``elab.origins``; the graph is the same)."""
    try:
        with budget():
            if tracer is None:
                return _lower(program, variant, dict(overrides or {}), input_override)
            with tracing(tracer):
                return _lower(program, variant, dict(overrides or {}), input_override, tracer)
    except SpecError as error:
        for path, text in program.sources.items():
            error.sources.setdefault(path, text)
        raise


def _lower(
    program: Program,
    variant: str | None,
    overrides: dict[str, Value],
    input_override: Shape | None,
    tracer: Tracer | None = None,
) -> Graph:
    network = network_of(program)
    chosen, params = parameters(program, network, variant, overrides)
    if tracer is not None:  # each numeric parameter by its own name (each is one of the overrides)
        params = {name: parameter(name, value) for name, value in params.items()}
    env = {**file_environment(program.root), **params}
    traced_shape = input_shape(network, env, input_override)
    shape = plain(traced_shape)
    if network.layers is None:
        raise SpecError.at(
            header(network.span, f"network {network.name}"),
            f"network '{network.name}' has no `layers:` section",
        )
    lowerer = Lowerer(program, params)
    graph = lowerer.graph
    graph.tracer = tracer
    root = Container("", 0, None, is_block=True)
    graph.scopes.append(Scope(name="", kind="network", span=network.span))
    root.children.add("input")
    first = Input(shape=shape)
    if tracer is not None:
        tracer.made(first, lambda ctx: Input(shape=value_at(traced_shape, ctx)), deps_of(traced_shape))
    x = graph.add_node(root, "input", first, [], network.span)
    root.counter = 0
    try:
        out = lowerer.body(network.layers, root, env, x)
    except RecursionError:  # the limits above should make this unreachable; never a traceback
        raise SpecError.at(
            lowerer.last_span, "nested too deeply to elaborate (blocks, bodies and expressions)"
        ) from None
    init = memo.memoized(  # (each variant of a search loop has the same rules: elab.memo)
        memo.init_key(network.init, env),
        (network.init,),
        lambda: lower_init(network.init, env, graph.nodes, graph.scopes),
    )
    if tracer is not None:  # the init rules' values (`std=1 / hidden_dim`) computed again, as a whole
        tracer.init_again = lambda ctx, nodes: lower_init(
            network.init, value_at(env, ctx), nodes, graph.scopes
        )
    # Every node and op was validated as it was made; the graph record needs no second pass (nor
    # model_construct's search of every field for a default: each is given, in the fields' order).
    return trusted(
        Graph,
        {
            "network": network.name,
            "variant": chosen,
            "source": program.root.module.path,
            "params": {k: jsonable(plain(v)) for k, v in params.items()},
            "metadata": metadata(network, env, chosen),
            "input_shape": shape,
            "scopes": tuple(graph.scopes),
            "nodes": tuple(graph.nodes),
            "output": out,
            "init": init,
        },
    )
