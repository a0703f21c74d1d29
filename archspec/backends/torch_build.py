"""IR to ``torch.nn.Module``: the module tree mirrors the spec's containers, so names match torchvision's.

Every container of the IR (the network, each block instance, each named sequence) becomes a module that
holds its layers under their local names, so ``state_dict`` keys are the dotted node names plus
``.weight`` and so on (``layer1.0.downsample.0.weight``). A container whose steps form a chain of modules
is an ``nn.Sequential``; any other is a ``Block`` that runs a plan computed once at build time: a list of
``(callable, input slots, output slot)`` over a small list of slots reused as values die. There is no
per-call interpretation of the IR, no string-keyed lookups and no data-dependent Python, so the modules
work under ``torch.compile(fullgraph=True)``, ``torch.export``, autocast and channels_last.

Initialisation: the spec's ``init:`` rules (``archspec.backends.init``): those of ``when built:`` run on a
layer as soon as it is constructed, the others on the whole network at the end, as torchvision's
constructors do; without rules, every layer keeps torch's own initialisation. Layers are constructed in
the spec's order, parameters of functional ops (the position embedding) included, so the random numbers
drawn match torchvision's where its constructors build in the same order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from archspec.analysis.memory import inplace_nodes
from archspec.backends.init import apply_rule, layer_of, parameters_of
from archspec.backends.plan import ContainerPlan, Step, module_lists, module_order, plan_graph
from archspec.backends.torch_layers import computed_buffer
from archspec.backends.torch_ops import torch_op
from archspec.errors import UsageError
from archspec.init_rules import after_order, block_built_rules, built_rules
from archspec.ir import Graph, Node
from archspec.ops.tensor import Buffer

FALLBACK_BUDGET_BYTES = 64 * 2**30


class Block(nn.Module):
    """A container that is not a plain chain: it runs its precomputed plan.

    ``forward(x, *outer)`` takes the value flowing in and the outer layers its layers refer to.
    """

    def __init__(self, label: str) -> None:
        super().__init__()
        self.archspec_label = label
        self.archspec_steps: list[tuple[Callable[..., Any], tuple[int, ...], int]] = []
        self.archspec_slots = 1
        self.archspec_output = 0
        self.archspec_values: list[int] = []  # the node id each step computes (for tracing, not forward)
        self.archspec_chain = False  # every step reads only the previous value: run as nn.Sequential does

    def _get_name(self) -> str:
        return self.archspec_label

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.archspec_chain:
            x = inputs[0]
            for function, _, _ in self.archspec_steps:
                x = function(x)
            return x
        slots: list[Any] = [*inputs, *([None] * (self.archspec_slots - len(inputs)))]
        for function, sources, target in self.archspec_steps:
            slots[target] = function(*[slots[i] for i in sources])
        result: torch.Tensor = slots[self.archspec_output]
        return result


def parameter_bytes(graph: Graph, dtype: torch.dtype | None = None) -> int:
    """Bytes of parameters and buffers at ``dtype`` (the default dtype when None), from the IR alone."""
    itemsize = torch.empty((), dtype=dtype or torch.get_default_dtype(), device="meta").element_size()
    return sum((n.op.param_count() + n.op.buffer_count()) * itemsize for n in graph.nodes)


def default_budget() -> int:
    """The memory available to this process now: the smallest of the cgroup v2 limit less what the
    cgroup uses, the cgroup v1 limit less its usage, and the kernel's ``MemAvailable``; 64 GiB when
    none of them can be read (not Linux)."""
    candidates = [value for value in (_cgroup_v2_free(), _cgroup_v1_free(), _mem_available()) if value]
    return min(candidates) if candidates else FALLBACK_BUDGET_BYTES


def _read(path: str) -> str | None:
    """A small system file's text, or None (missing, unreadable)."""
    try:
        with open(path, encoding="ascii") as stream:
            return stream.read(4096)
    except (OSError, UnicodeDecodeError):
        return None


def _number(text: str | None) -> int | None:
    if text is None or not text.strip().isdigit():
        return None  # also "max": no limit
    return int(text.strip())


def _cgroup_v2_free() -> int | None:
    """``memory.max - memory.current`` of this process's cgroup (v2), or None."""
    membership = _read("/proc/self/cgroup") or ""
    group = next((line[3:] for line in membership.splitlines() if line.startswith("0::")), "/")
    for folder in (f"/sys/fs/cgroup{group.rstrip('/')}", "/sys/fs/cgroup"):
        limit = _number(_read(f"{folder}/memory.max"))
        used = _number(_read(f"{folder}/memory.current"))
        if limit is not None:
            return max(0, limit - (used or 0))
    return None


def _cgroup_v1_free() -> int | None:
    """``memory.limit_in_bytes - memory.usage_in_bytes`` (cgroup v1), or None; v1 writes a huge number
    for "no limit", which ``MemAvailable`` then undercuts."""
    limit = _number(_read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
    used = _number(_read("/sys/fs/cgroup/memory/memory.usage_in_bytes"))
    return None if limit is None else max(0, limit - (used or 0))


def _mem_available() -> int | None:
    """``MemAvailable`` from /proc/meminfo in bytes, or None."""
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemAvailable:"):
            fields = line.split()
            return int(fields[1]) * 1024 if len(fields) >= 2 and fields[1].isdigit() else None
    return None


def check_budget(graph: Graph, dtype: torch.dtype | None, max_param_bytes: int | None) -> None:
    """UsageError when the weights would not fit the memory budget."""
    size = parameter_bytes(graph, dtype)
    budget = default_budget() if max_param_bytes is None else max_param_bytes
    if size > budget:
        raise UsageError(
            f"{graph.variant or graph.network}: parameters and buffers need {size / 1e9:.2f} GB, more than "
            f"the budget of {budget / 1e9:.2f} GB; pass allow_large=True (or a larger max_param_bytes), "
            'or build on device="meta" to inspect it without memory'
        )


def build_module(
    graph: Graph,
    device: Any = None,
    dtype: torch.dtype | None = None,
    max_param_bytes: int | None = None,
    allow_large: bool = False,
) -> nn.Module:
    """The network as an ``nn.Module`` (see the module docstring). ``device="meta"`` allocates nothing."""
    meta = device is not None and torch.device(device).type == "meta"
    if not allow_large and not meta:
        check_budget(graph, dtype, max_param_bytes)
    plan = plan_graph(graph)
    inplace = inplace_nodes(graph)
    with torch.device(device) if device is not None else contextlib.nullcontext():
        module = _container(plan, graph, inplace, not meta, root=True, dtype=dtype)
        if not meta:  # nothing to initialise on meta
            for node, rule in after_order(graph.init, module_order(plan), graph.scopes):
                apply_rule(rule, parameters_of(layer_of(module, node.name)))
    if dtype is not None:
        module = module.to(dtype=dtype)
    return module


def _label(plan: ContainerPlan, graph: Graph, root: bool) -> str:
    if root:
        return graph.variant or graph.network
    return plan.scope.block or "Sequence"


def _container(
    plan: ContainerPlan,
    graph: Graph,
    inplace: set[int],
    initialise: bool,
    root: bool = False,
    dtype: torch.dtype | None = None,
) -> nn.Module:
    # Everything is constructed in registration order (modules and parameters alike: the block's
    # `order:`, then data-flow order), as the random numbers that construction draws must come in the
    # spec's module order; `initialise` is False on meta (nothing to set). The steps run in data-flow order.
    registration = plan.registration
    made: dict[int, tuple[str, nn.Module | None, Step]] = {}
    parameters: dict[int, nn.Parameter] = {}
    buffers: dict[int, torch.Tensor] = {}
    for index in registration:
        step = plan.steps[index]
        if step.child is not None:
            made[index] = (step.local, _child(step.child, graph, inplace, initialise, dtype), step)
            continue
        assert step.node is not None
        entry = torch_op(step.node.op)
        built = entry.module(step.node.op, step.node.id in inplace) if entry.module else None
        if entry.parameter is not None:
            parameters[index] = nn.Parameter(entry.parameter(step.node.op))
        if entry.buffer is not None:
            buffers[index] = entry.buffer(step.node.op)
        for rule in built_rules(graph.init, step.node) if initialise else ():
            apply_rule(rule, parameters_of(built if built is not None else parameters[index]))
        # Each layer goes to the target dtype as soon as it is made (and initialised in float32 when built):
        # the whole network never exists in float32 first (the budget is checked at the target dtype).
        if dtype is not None:
            if built is not None:
                built = built.to(dtype=dtype)
            if index in parameters:
                parameters[index] = nn.Parameter(parameters[index].detach().to(dtype=dtype))
        made[index] = (step.local, built, step)
    children = [made[index] for index in range(len(plan.steps))]
    lists = module_lists([name for name, _, _ in children])
    in_order = registration == list(range(len(plan.steps)))  # nn.Sequential runs in registration order
    if not root and plan.is_chain and in_order and not lists and all(m is not None for _, m, _ in children):
        sequential = nn.Sequential()
        for name, child, _ in children:
            _check_name(sequential, name, plan)
            sequential.add_module(name, child)
        return sequential
    block = Block(_label(plan, graph, root))
    for index in registration:
        _register(block, made[index], parameters.get(index), buffers.get(index), lists, plan)
    slots = _Slots(plan)
    for name, child, step in children:
        function: Callable[..., Any]
        if child is not None:
            node = step.node
            wrap = torch_op(node.op).wrap if node is not None else None
            function = wrap(child) if wrap is not None else child
        else:
            node = step.node
            assert node is not None
            entry = torch_op(node.op)
            assert entry.function is not None, node.op.kind
            function = entry.function(node.op, block, name)
        sources = tuple(slots.read(i) for i in step.inputs)
        slots.release(step)
        block.archspec_steps.append((function, sources, slots.write(step.output)))
        block.archspec_values.append(step.output)
    block.archspec_slots = slots.count
    block.archspec_chain = plan.is_chain
    block.archspec_output = slots.read(plan.output)
    return block


def _child(
    plan: ContainerPlan, graph: Graph, inplace: set[int], initialise: bool, dtype: torch.dtype | None
) -> nn.Module:
    """A child container's module; a block instance that `when built:` rules name is set by them as
    soon as it is constructed (in float32, then converted), over its parameters in module order."""
    rules = block_built_rules(graph.init, plan.scope) if initialise else []
    module = _container(plan, graph, inplace, initialise, dtype=None if rules else dtype)
    for rule in rules:
        apply_rule(rule, parameters_of(module))
    return module.to(dtype=dtype) if rules and dtype is not None else module


def _register(
    block: Block,
    made: tuple[str, nn.Module | None, Step],
    parameter: nn.Parameter | None,
    buffer: torch.Tensor | None,
    lists: dict[str, bool],
    plan: ContainerPlan,
) -> None:
    """One step's module, parameter or buffer registered in ``block`` under its local name."""
    name, child, step = made
    if "." not in name:
        _check_name(block, name, plan)
    if child is not None:
        _add_module(block, name, child, lists, plan)
        return
    if parameter is not None:
        if "." in name:
            raise UsageError(
                f"'{name}' in {plan.scope.name or 'the network'} is a parameter of its own: a "
                "module list (a dotted label) holds modules; give it a name without a dot"
            )
        block.register_parameter(name, parameter)
    if buffer is not None:
        assert step.node is not None
        op = step.node.op
        if isinstance(op, Buffer) and not op.persistent:  # not in checkpoints: set again on every load
            computed_buffer(block, name, op.values, buffer.dtype, op.shape)
        else:
            block.register_buffer(name, buffer, persistent=getattr(op, "persistent", True))


def _add_module(
    owner: nn.Module, name: str, module: nn.Module, lists: dict[str, bool], plan: ContainerPlan
) -> None:
    """``module`` under ``name`` in ``owner``; a dotted name goes into module lists made at its first
    entry, so that a list is registered where its first layer is written (the ``state_dict`` order)."""
    *path, last = name.split(".")
    for depth, part in enumerate(path):
        holder = owner._modules.get(part)
        if holder is None:
            holder = nn.ModuleList() if lists[".".join(path[: depth + 1])] else nn.ModuleDict()
            _check_name(owner, part, plan)
            owner.add_module(part, holder)
        owner = holder
    if isinstance(owner, nn.ModuleList):
        owner.append(module)
    else:
        _check_name(owner, last, plan)
        owner.add_module(last, module)


def _check_name(module: nn.Module, name: str, plan: ContainerPlan) -> None:
    if hasattr(module, name) or not name:
        where = plan.scope.name or "the network"
        raise UsageError(
            f"layer name '{name}' in {where} clashes with an attribute of torch.nn.Module; rename it"
        )


class _Slots:
    """Assigns values to a few reusable slots: a value's slot is freed after its last reader."""

    def __init__(self, plan: ContainerPlan) -> None:
        self.last_read: dict[int, int] = {}
        for index, step in enumerate(plan.steps):
            for source in step.inputs:
                self.last_read[source] = index
        self.last_read[plan.output] = len(plan.steps)
        self.slot_of = {value: slot for slot, value in enumerate(plan.inputs)}
        self.count = len(plan.inputs)
        self.free: list[int] = [s for v, s in self.slot_of.items() if v not in self.last_read]
        self.index = 0

    def read(self, value: int) -> int:
        return self.slot_of[value]

    def release(self, step: Step) -> None:
        for source in set(step.inputs):
            if self.last_read.get(source) == self.index:
                self.free.append(self.slot_of[source])

    def write(self, value: int) -> int:
        self.index += 1
        if self.free:
            slot = self.free.pop()
        else:
            slot = self.count
            self.count += 1
        self.slot_of[value] = slot
        if value not in self.last_read:  # nobody reads it: the slot is free again at once
            self.free.append(slot)
        return slot


def node_modules(module: nn.Module, graph: Graph) -> dict[int, nn.Module]:
    """The module of each node that has one (for hooks: shapes, FLOPs per layer)."""
    found = {}
    named = dict(module.named_modules())
    for node in graph.nodes:
        if node.name in named:
            found[node.id] = named[node.name]
    return found


def forward_shapes(module: nn.Module, graph: Graph, x: torch.Tensor) -> dict[int, tuple[int, ...]]:
    """Run ``x`` through a built module and record each node's output shape (batch excluded)."""
    shapes: dict[int, tuple[int, ...]] = {0: tuple(x.shape[1:])}

    def record(node_id: int, value: Any) -> None:
        value = value[0] if isinstance(value, tuple) else value
        # a tensor computed from parameters alone has no batch axis (Node.batched)
        shapes[node_id] = tuple(value.shape[1:] if graph.nodes[node_id].batched else value.shape)

    handles = [
        m.register_forward_hook(lambda _m, _i, out, node_id=i: record(node_id, out))
        for i, m in node_modules(module, graph).items()
    ]
    saved: list[tuple[Block, list[tuple[Callable[..., Any], tuple[int, ...], int]]]] = []
    for block in module.modules():
        if isinstance(block, Block):
            saved.append((block, block.archspec_steps))
            block.archspec_steps = [
                (_recording(function, value, record), sources, target)
                for (function, sources, target), value in zip(
                    block.archspec_steps, block.archspec_values, strict=True
                )
            ]
    try:
        with torch.no_grad():
            module(x)
    finally:
        for handle in handles:
            handle.remove()
        for block, steps in saved:
            block.archspec_steps = steps
    return shapes


def _recording(
    function: Callable[..., Any], node_id: int, record: Callable[[int, Any], None]
) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        out = function(*args)
        record(node_id, out)
        return out

    return run


__all__ = [
    "Block",
    "Node",
    "build_module",
    "check_budget",
    "forward_shapes",
    "node_modules",
    "parameter_bytes",
]
