"""What a drawing shows: the graph's containers, opened to the chosen depth, with repeated runs folded.

The plan is a tree of ``Part``s. An ``op`` part is one node of the IR; a ``box`` part stands for a whole
block (or a folded run of blocks) drawn as one node; a ``cluster`` part is an opened container, drawn
around its own parts. Depth counts blocks: the parts of the network itself are at depth 0, a block's
parts one deeper; named sequences (``features``, ``encoder.layers``) add no depth, and neither does a
*stage*, a block whose body is one run of another block (ResNet's ``Stage``): it opens with its parent.
Blocks at the chosen depth are boxes; ``--expand`` opens more (see ``docs/drawing.md``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from archspec.backends.diagram.options import DrawOptions
from archspec.errors import UsageError, did_you_mean
from archspec.folding import Instance, fold_runs, run_name, signature
from archspec.ir import Graph, Node, Scope


@dataclass
class Container:
    """A container of the graph (or one op node, as a leaf), with everything inside it."""

    name: str
    scope: Scope | None = None
    node: Node | None = None
    children: list[Container] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)

    @property
    def is_block(self) -> bool:
        """Whether the container is an instance of a block definition (not a sequence or group)."""
        return self.scope is not None and self.scope.kind == "block"


PartKind = Literal["op", "box", "cluster"]


@dataclass
class Part:
    """One thing drawn: an op node, a box for a closed block or folded run, or an opened container."""

    kind: PartKind
    name: str  # full dotted name; a folded run reads ``layer3.1–5``
    local: str  # the name shown, relative to the enclosing cluster
    ids: tuple[int, ...]  # every IR node it stands for (every instance of a folded run)
    container: Container
    count: int = 1  # instances folded into it
    shown: int = 1  # instances drawn (1 when a folded run is opened: one instance stands for all)
    stage: str | None = None  # for a stage's cluster: the block it repeats
    children: list[Part] = field(default_factory=list)
    members: list[Container] = field(default_factory=list)  # every instance of a folded run


@dataclass
class Plan:
    """The parts of the network, and where each IR node is drawn."""

    parts: list[Part]
    # IR node -> the part that draws it. Nodes of the instances a folded run does not show map to the
    # matching node of the instance shown, with the run's id and their instance number.
    drawn: dict[int, Part]
    folded: dict[int, tuple[int, int]]  # node -> (run id, instance number) inside an opened folded run


def containers(graph: Graph) -> Container:
    """The tree of the graph's containers, in module order, with the op nodes as leaves."""
    scopes = {scope.name: scope for scope in graph.scopes}
    root = Container("", scopes.get(""))
    made: dict[str, Container] = {"": root}

    def get(name: str) -> Container:
        if name in made:
            return made[name]
        parent_name = name.rpartition(".")[0]
        while parent_name and parent_name not in scopes:
            parent_name = parent_name.rpartition(".")[0]
        parent = get(parent_name)
        made[name] = Container(name, scopes[name])
        parent.children.append(made[name])
        return made[name]

    for node in graph.nodes:
        scope_name = node.scope if node.scope in scopes else ""
        holder = get(scope_name)
        holder.children.append(Container(node.name, node=node, ids=[node.id]))
        name: str | None = scope_name
        while name is not None:
            made[name].ids.append(node.id)
            name = None if not name else _parent_in(name, made)
    return root


def _parent_in(name: str, made: dict[str, Container]) -> str:
    parent = name.rpartition(".")[0]
    while parent and parent not in made:
        parent = parent.rpartition(".")[0]
    return parent


class _Planner:
    def __init__(self, graph: Graph, options: DrawOptions, root: Container) -> None:
        self.graph = graph
        self.depth = options.depth
        self.fold = options.depth is not None
        self.drawn: dict[int, Part] = {}
        self.folded: dict[int, tuple[int, int]] = {}
        self.runs = 0
        self.signatures: dict[str, Hashable] = {}
        self.open_names, self.open_blocks = self._targets(options.expand, root)
        self.targets = {name for name in options.expand if name in self.open_names}

    # ------------------------------------------------------------ --expand
    def _targets(self, names: Sequence[str], root: Container) -> tuple[set[str], set[str]]:
        """Containers to open (each target and everything above it) and block definitions to open."""
        by_name: dict[str, Container] = {}
        leaves: set[str] = set()

        def walk(c: Container) -> None:
            if c.node is not None:
                leaves.add(c.name)
                return
            by_name[c.name] = c
            for child in c.children:
                walk(child)

        walk(root)
        blocks = {c.scope.block for c in by_name.values() if c.scope is not None and c.scope.block}
        open_names: set[str] = set()
        open_blocks: set[str] = set()
        for name in names:
            if name in by_name and name:
                parts = name.split(".")
                open_names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
            elif name in blocks:
                open_blocks.add(name)
            elif name in leaves:
                raise UsageError(f"--expand {name}: '{name}' is a layer, not a block or a stage")
            else:
                hint = did_you_mean(name, [*by_name, *blocks])
                raise UsageError(
                    f"--expand {name}: no block, stage or block definition named '{name}'"
                    + (f"; {hint}" if hint else "")
                )
        return open_names, open_blocks

    # ------------------------------------------------------------ structure
    def signature(self, c: Container) -> Hashable:
        if c.name not in self.signatures:
            self.signatures[c.name] = signature(self.graph, c.ids, c.name)
        return self.signatures[c.name]

    def instance(self, c: Container) -> Instance:
        if not self.fold or not c.is_block or c.scope is None:
            return Instance(None, "", None, None)
        return Instance(c.scope.block, "", c.scope.repeat, self.signature(c))

    def stage_of(self, c: Container) -> str | None:
        """The block a stage repeats, when ``c`` is a block whose whole body is one run of another."""
        if not c.is_block or not c.children or not all(child.is_block for child in c.children):
            return None
        runs = fold_runs([self._always(child) for child in c.children])
        if len(runs) != 1:
            return None
        first = c.children[0].scope
        return first.block if first is not None else None

    def _always(self, c: Container) -> Instance:
        scope = c.scope
        assert scope is not None
        return Instance(scope.block, "", scope.repeat, self.signature(c))

    def opens(self, c: Container, level: int) -> bool:
        scope = c.scope
        if scope is not None and (c.name in self.open_names or scope.block in self.open_blocks):
            return True
        return self.depth is None or level < self.depth

    # ------------------------------------------------------------ planning
    def parts(self, c: Container, level: int, prefix: str) -> list[Part]:
        """The parts of an opened container ``c`` whose blocks sit at ``level``."""
        unfold = c.name in self.targets
        out: list[Part] = []
        for run in fold_runs([self.instance(child) for child in c.children]):
            members = c.children[run.start : run.stop]
            if len(members) > 1 and self.signature(members[0]) != self.signature(members[1]):
                out.append(self.part(members[0], level, prefix))
                members = members[1:]
            if len(members) == 1 or unfold or any(self._targets_inside(m) for m in members):
                out.extend(self.part(m, level, prefix) for m in members)
            else:
                out.append(self.folded_run(members, level, prefix))
        return out

    def _targets_inside(self, c: Container) -> bool:
        return any(name == c.name or name.startswith(c.name + ".") for name in self.targets)

    def part(self, c: Container, level: int, prefix: str) -> Part:
        local = _relative(c.name, prefix)
        if c.node is not None:
            part = Part("op", c.name, local, tuple(c.ids), c)
            self.drawn[c.node.id] = part
            return part
        stage = self.stage_of(c)
        inner = level if stage is not None or not c.is_block else level + 1
        if not c.is_block or stage is not None or self.opens(c, level + 1):
            children = self.parts(c, inner, c.name)
            if len(children) == 1 and (not c.is_block or stage is not None):
                # a sequence or stage of one thing: that thing, under its full name
                only = children[0]
                only.local = _relative(only.name, prefix)
                return only
            return Part("cluster", c.name, local, tuple(c.ids), c, stage=stage, children=children)
        return self.box(Part("box", c.name, local, tuple(c.ids), c))

    def box(self, part: Part) -> Part:
        for node_id in part.ids:
            self.drawn[node_id] = part
        return part

    def folded_run(self, members: list[Container], level: int, prefix: str) -> Part:
        first, last = members[0], members[-1]
        name = run_name(first.name, last.name)
        ids = tuple(i for m in members for i in m.ids)
        local = _relative(name, prefix)
        if not self.opens(first, level + 1):
            return self.box(Part("box", name, local, ids, first, count=len(members), members=members))
        # Open one instance; the others are drawn by it.
        self.runs += 1
        shown = self.parts(first, level + 1, first.name)
        for number, member in enumerate(members):
            for mine, theirs in zip(member.ids, first.ids, strict=True):
                self.folded[mine] = (self.runs, number)
                if number:
                    self.drawn[mine] = self.drawn[theirs]
        return Part("cluster", name, local, ids, first, count=len(members), children=shown, members=members)


def _relative(name: str, prefix: str) -> str:
    return name[len(prefix) + 1 :] if prefix and name.startswith(prefix + ".") else name


def plan(graph: Graph, options: DrawOptions) -> Plan:
    """The parts to draw for ``options`` (raises UsageError for an ``--expand`` name that is not there)."""
    root = containers(graph)
    planner = _Planner(graph, options, root)
    parts = planner.parts(root, 0, "")
    return Plan(parts, planner.drawn, planner.folded)
