"""How the IR's containers run: worked out once from the graph, shared by the module builder and codegen.

Every container of ``graph.scopes`` (the network, each block instance, each named sequence) becomes a
``ContainerPlan``: its steps in execution order (an op node, or a child container called as a whole), the
values it takes from outside (the value flowing in first, then references to outer layers) and the value
it returns. No torch here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from archspec.block_order import ordered
from archspec.errors import InternalError
from archspec.ir import Graph, Node, Scope


@dataclass
class Step:
    """One step of a container: an op node, or a child container run as a whole."""

    inputs: tuple[int, ...]
    output: int
    node: Node | None = None
    child: ContainerPlan | None = None

    @property
    def local(self) -> str:
        """The attribute name of the step in its container."""
        if self.node is not None:
            return self.node.local_name
        assert self.child is not None
        return self.child.local


@dataclass
class ContainerPlan:
    """A container module: its steps, its external inputs (the flowing value first) and its output."""

    scope: Scope
    local: str
    inputs: tuple[int, ...] = ()
    output: int = 0
    steps: list[Step] = field(default_factory=list)

    @property
    def is_chain(self) -> bool:
        """Each step consumes exactly the previous value, as in ``nn.Sequential``."""
        if len(self.inputs) != 1 or not self.steps:
            return False
        value = self.inputs[0]
        for step in self.steps:
            if step.inputs != (value,):
                return False
            value = step.output
        return value == self.output

    @property
    def loop_group(self) -> int | None:
        """The repeat group (``Repeat.group``) whose copies are exactly its steps, in order, as a chain
        of at least two (an ``nn.Sequential`` the file may write as a loop); else None."""
        repeats = [
            s.node.repeat if s.node is not None else s.child.scope.repeat if s.child is not None else None
            for s in self.steps
        ]
        found = [r for r in repeats if r is not None]
        if len(found) < 2 or len(found) != len(repeats) or not self.is_chain:
            return None
        count = len(found)
        if {r.group for r in found} != {found[0].group} or [(r.index, r.count) for r in found] != [
            (k, count) for k in range(count)
        ]:
            return None
        return found[0].group

    @property
    def registration(self) -> list[int]:
        """The indices of ``steps`` in the order their modules, parameters and buffers are constructed
        and registered (``__init__``'s order): the block's ``order:`` first, then data-flow order."""
        return ordered([step.local for step in self.steps], self.scope.order)

    def walk(self) -> list[ContainerPlan]:
        """This container and every container below it, children first."""
        found: list[ContainerPlan] = []
        for step in self.steps:
            if step.child is not None:
                found.extend(step.child.walk())
        found.append(self)
        return found


def module_lists(names: list[str]) -> dict[str, bool]:
    """The module lists that dotted names (``convs.0``) make, each with whether its entries are 0, 1,
    2... in order (an ``nn.ModuleList``) or not (an ``nn.ModuleDict``)."""
    entries: dict[str, list[str]] = {}
    for name in names:
        parts = name.split(".")
        for depth in range(1, len(parts)):
            found = entries.setdefault(".".join(parts[:depth]), [])
            if parts[depth] not in found:
                found.append(parts[depth])
    return {prefix: found == [str(i) for i in range(len(found))] for prefix, found in entries.items()}


def module_order(plan: ContainerPlan) -> list[Node]:
    """Every op node below ``plan`` in module order (``modules()``: each container's steps in
    registration order, a child container's nodes where it is registered): the order of the ``init:``
    rules applied once the network is built."""
    found: list[Node] = []
    for index in plan.registration:
        step = plan.steps[index]
        if step.child is not None:
            found.extend(module_order(step.child))
        else:
            assert step.node is not None
            found.append(step.node)
    return found


def consumers(graph: Graph) -> dict[int, list[int]]:
    """For each node id, the ids of the nodes that read it."""
    readers: dict[int, list[int]] = defaultdict(list)
    for node in graph.nodes:
        for source in node.inputs:
            readers[source].append(node.id)
    return readers


def plan_graph(graph: Graph) -> ContainerPlan:
    """The plan of the whole network: the root container, with the input node as its one input."""
    scopes = {scope.name: scope for scope in graph.scopes}
    if "" not in scopes:
        scopes[""] = Scope(name="", kind="network")
    parent: dict[str, str] = {}
    for name in scopes:
        if not name:
            continue
        up = name
        while "." in up:
            up = up.rsplit(".", 1)[0]
            if up in scopes:
                break
        else:
            up = ""
        parent[name] = up
    members: dict[str, set[int]] = defaultdict(set)
    direct: dict[str, list[Node]] = defaultdict(list)
    for node in graph.nodes[1:]:
        scope = node.scope if node.scope in scopes else ""
        direct[scope].append(node)
        while True:
            members[scope].add(node.id)
            if not scope:
                break
            scope = parent[scope]
    children: dict[str, list[str]] = defaultdict(list)
    for name, up in parent.items():
        if members[name]:
            children[up].append(name)
    readers = consumers(graph)

    def build(name: str) -> ContainerPlan:
        inside = members[name]
        # a dotted local is an entry of a module list of the parent (`convs.0: Block()`)
        local = name[len(parent[name]) + 1 :] if parent.get(name) else name
        plan = ContainerPlan(scopes[name], local)
        items: list[tuple[int, Step]] = []
        for node in direct[name]:
            items.append((node.id, Step(node.inputs, node.id, node=node)))
        for child_name in children[name]:
            child = build(child_name)
            items.append((min(members[child_name]), Step(child.inputs, child.output, child=child)))
        items.sort(key=lambda item: item[0])
        plan.steps = [step for _, step in items]
        external: list[int] = []
        for node_id in sorted(inside):
            for source in graph.nodes[node_id].inputs:
                if source not in inside and source not in external:
                    external.append(source)
        outputs = sorted(
            i for i in inside if i == graph.output or any(r not in inside for r in readers.get(i, ()))
        )
        if len(outputs) > 1:
            raise InternalError(f"container '{name}' is read from outside at several layers; not supported")
        plan.inputs = tuple(external) if name else (0,)
        plan.output = outputs[0] if outputs else max(inside)
        available = set(plan.inputs)
        for step in plan.steps:
            missing = [i for i in step.inputs if i not in available]
            if missing:
                raise InternalError(f"container '{name}': layer {missing[0]} is used before it is computed")
            available.add(step.output)
        return plan

    return build("")
