"""Block replay (issue 26): a block instance elaborated once per distinct situation, then copied renamed.

What a block's body makes depends only on the block, the program's files, its bound environment (its
arguments, its inputs' shapes, its file's names), its inputs' batch axes and integer dtypes, which of its
inputs are one node, and where it is called (the blocks around it and the nesting depth, which only its
limits read). A later instance with all of these equal makes the same nodes and scopes, but for their
ids, names, scopes and repeat groups: it is made by copying the first one's (``Template``), every other
field copied as it is, instead of walking the statements again. The statements' spans are the block's
own, so they are the same for every instance.

The limits hold as in a fresh elaboration: a template records the steps it charged and the most layers
its checks asked for (``GraphBuilder.reach``); an instance that would go over either is elaborated afresh,
which then fails at the exact position. A failed elaboration records nothing. Templates are shared between
lowerings (the variants of a search loop): the key holds the identity of the block and of every file's
syntax tree (immutable, kept alive by the template), never a mutable object. Bounded: cleared when full.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from archspec import ast
from archspec.elab.graph import GraphBuilder, Unkeyed, typed_key
from archspec.expr import Value
from archspec.ir import Node, Repeat, Scope
from archspec.limits import MAX_NODES, Budget
from archspec.loader import Program
from archspec.source import Span

Model = TypeVar("Model", bound=BaseModel)


class Template:
    """What one block instance made: its nodes and scopes, recorded at ``path`` from node ``start``.

    A plain class rather than a dataclass: lowering imports this module on every start-up, where a
    dataclass's generated methods are compiled at every import (the start-up goal of issue 26). Never
    changed once made."""

    __slots__ = (
        "block",
        "first_group",
        "groups",
        "inputs",
        "last_span",
        "modules",
        "nodes",
        "output",
        "path",
        "reach",
        "scopes",
        "start",
        "steps",
    )

    def __init__(
        self,
        block: ast.BlockDef,
        modules: tuple[ast.Module, ...],
        path: str,
        start: int,
        inputs: tuple[int, ...],
        nodes: tuple[Node, ...],
        scopes: tuple[Scope, ...],
        first_group: int,
        groups: int,
        output: int,
        steps: int,
        reach: int,
        last_span: Span | None,
    ) -> None:
        self.block = block
        self.modules = modules  # the program's syntax trees, kept alive: the key holds their ids
        self.path = path
        self.start = start
        self.inputs = inputs  # the instance's input nodes (made before it)
        self.nodes = nodes
        self.scopes = scopes
        self.first_group = first_group  # the repeat groups it made: first_group + 1, ..., + groups
        self.groups = groups
        self.output = output
        self.steps = steps  # of the elaboration budget
        self.reach = reach  # the most layers its checks asked for, counted from ``start``
        self.last_span = last_span


Key = tuple[Hashable, ...]


def program_key(program: Program) -> tuple[tuple[str, int], ...]:
    """The program's files as the key holds them: each path with the identity of its syntax tree."""
    return tuple((path, id(scope.module)) for path, scope in program.files.items())


def env_key(env: Mapping[str, Value]) -> tuple[tuple[str, Hashable], ...] | None:
    """An instance's bound environment as ``template_key`` holds it (every name with its value's type);
    None when a value cannot be keyed (the instance is then elaborated every time)."""
    try:
        return tuple((name, typed_key(value)) for name, value in env.items())
    except Unkeyed:
        return None


def template_key(
    block: ast.BlockDef,
    files: tuple[tuple[str, int], ...],
    around: tuple[str, ...],
    depth: int,
    values: tuple[tuple[str, Hashable], ...] | None,
    inputs: Sequence[int],
    graph: GraphBuilder,
) -> Key | None:
    """Everything an instance's elaboration reads (see the module docstring), ``values``: its
    environment's ``env_key``; None when that is None."""
    if values is None:
        return None
    facts = tuple(
        (graph.nodes[i].shape, graph.nodes[i].batched, graph.integer(i), inputs.index(i)) for i in inputs
    )
    return (id(block), files, around, depth, values, facts)


# The templates recorded so far, by key. Bounded: cleared when it holds too many, or too many nodes.
_TEMPLATES: dict[Key, Template] = {}
_TEMPLATES_LIMIT = 2_000
_NODES_LIMIT = 200_000
_stored = [0]  # nodes held by the templates


def find(key: Key | None, block: ast.BlockDef) -> Template | None:
    """The template recorded under ``key`` (None when there is none)."""
    if key is None:
        return None
    found = _TEMPLATES.get(key)
    return found if found is not None and found.block is block else None


def store(key: Key, template: Template) -> None:
    """Keep ``template`` under ``key``."""
    if len(_TEMPLATES) >= _TEMPLATES_LIMIT or _stored[0] + len(template.nodes) > _NODES_LIMIT:
        clear()
    _TEMPLATES[key] = template
    _stored[0] += len(template.nodes)


def clear() -> None:
    """Forget every template."""
    _TEMPLATES.clear()
    _stored[0] = 0


def record(
    block: ast.BlockDef,
    program: Program,
    path: str,
    inputs: tuple[int, ...],
    graph: GraphBuilder,
    start: tuple[int, int, int],
    steps: int,
    reach: int,
    output: int,
    last_span: Span | None,
) -> Template | None:
    """The template of the instance just made at ``path`` (``start``: the graph's nodes, scopes and
    repeat groups before it); None when it reads a node made before it other than its inputs, or names
    one outside its path, which replay could not rename (not expected: a reference stops at its block)."""
    nodes, scopes, first_group = start
    made = tuple(graph.nodes[nodes:])
    prefix = path + "."
    for node in made:
        if not node.name.startswith(prefix) or not (node.scope == path or node.scope.startswith(prefix)):
            return None
        if any(i < nodes and i not in inputs for i in node.inputs):
            return None
        if node.repeat is not None and node.repeat.group <= first_group:
            return None
    opened = tuple(graph.scopes[scopes:])
    for scope in opened:
        if not scope.name.startswith(prefix):
            return None
        if scope.repeat is not None and scope.repeat.group <= first_group:
            return None
    if output < nodes and output not in inputs:
        return None
    return Template(
        block=block,
        modules=tuple(scope.module for scope in program.files.values()),
        path=path,
        start=nodes,
        inputs=inputs,
        nodes=made,
        scopes=opened,
        first_group=first_group,
        groups=graph.repeat_groups - first_group,
        output=output,
        steps=steps,
        reach=reach - nodes,
        last_span=last_span,
    )


def fits(template: Template, graph: GraphBuilder, budget: Budget | None) -> bool:
    """Whether a fresh elaboration here would pass the limits the template's did (else it is made
    afresh, to fail where it fails)."""
    if len(graph.nodes) + template.reach > MAX_NODES:
        return False
    return budget is None or budget.left >= template.steps


def replay(
    template: Template, graph: GraphBuilder, path: str, inputs: tuple[int, ...], budget: Budget | None
) -> int:
    """The template's nodes and scopes added to ``graph`` as the instance at ``path`` reading ``inputs``
    (``fits`` first); the instance's output."""
    shift = len(graph.nodes) - template.start
    group_shift = graph.repeat_groups - template.first_group
    if not shift and not group_shift and path == template.path and inputs == template.inputs:
        # The very place the template was recorded at (the same instance of the variant before, in a
        # search loop): every renamed field would be the same, so its nodes and scopes (frozen) are shared.
        return _shared(template, graph, budget)
    outside = dict(zip(template.inputs, inputs, strict=True))
    start, cut = template.start, len(template.path)
    repeats: dict[int, Repeat] = {}

    def regroup(repeat: Repeat | None) -> Repeat | None:
        if repeat is None or not group_shift:
            return repeat
        found = repeats.get(id(repeat))
        if found is None:
            found = repeats[id(repeat)] = copied(repeat, {"group": repeat.group + group_shift})
        return found

    nodes = graph.nodes
    for node in template.nodes:
        values = {
            "id": node.id + shift,
            "name": path + node.name[cut:],
            "inputs": tuple(i + shift if i >= start else outside[i] for i in node.inputs),
            "scope": path + node.scope[cut:],
            "repeat": regroup(node.repeat),
        }
        nodes.append(copied(node, values))
    for scope in template.scopes:
        graph.scopes.append(copied(scope, {"name": path + scope.name[cut:], "repeat": regroup(scope.repeat)}))
    graph.repeat_groups += template.groups
    graph.reach = max(graph.reach, len(nodes) - len(template.nodes) + template.reach)
    if budget is not None:
        budget.left -= template.steps
    out = template.output
    return out + shift if out >= start else outside[out]


def _shared(template: Template, graph: GraphBuilder, budget: Budget | None) -> int:
    """``replay`` where nothing is renamed: the template's own nodes and scopes added to ``graph``."""
    graph.nodes.extend(template.nodes)
    graph.scopes.extend(template.scopes)
    graph.repeat_groups += template.groups
    graph.reach = max(graph.reach, template.start + template.reach)
    if budget is not None:
        budget.left -= template.steps
    return template.output


def copied(model: Model, changes: dict[str, Any]) -> Model:
    """``model`` with ``changes``, every other field (and the record of which fields were given) as it is."""
    instance = model.__class__.__new__(model.__class__)
    object.__setattr__(instance, "__dict__", {**model.__dict__, **changes})
    object.__setattr__(instance, "__pydantic_fields_set__", set(model.__pydantic_fields_set__))
    object.__setattr__(instance, "__pydantic_extra__", model.__pydantic_extra__)
    object.__setattr__(instance, "__pydantic_private__", model.__pydantic_private__)
    return instance
