"""Every figure archspec gives for one spec, against torch running the module it builds.

``check_network(text, directory)`` asserts, for one spec:

- shapes of every layer, parameters (``numel``), trainable parameters, persistent buffers and MACs
  (``FlopCounterMode``) of a forward pass (``test_crosscheck.assert_counts_match``);
- the receptive field per axis at the last feature maps and at every merge: exactly the extent of the
  input gradient of two neighbouring units in a monotone float64 copy (weights positive, biases 0, batch
  norm the identity, max pools as average pools) with global pooling's output detached (the spatial
  path's field); where the whole field is ``global``, that the gradient of one unit reaches every input
  pixel (random input and weights, no detaching); where the field passes through window attention, that
  the gradient stays inside the analysis's window (the bound: docs/receptive-field.md);
- the bytes autograd saves for backward in training (storages counted once) at batch 2;
- the generated source: the same ``state_dict`` keys and shapes, and the same outputs bit for bit with
  the in-memory module's randomised weights (as ``test_codegen.assert_same_as_in_memory``);
- initialisation: with the same seed the generated ``build()`` draws the in-memory build's weights.
"""

from __future__ import annotations

import functools
import math
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import torch
from oracles import load_source, randomise
from test_crosscheck import (
    assert_counts_match,
    average_pool_like,
    capture,
    detach_global_pooling,
    make_monotone,
)
from test_init import assert_identical
from torch import nn

import archspec
from archspec.analysis import RF, ReceptiveField, feature_nodes, receptive_fields
from archspec.analysis.receptive import node_effects
from archspec.backends import codegen
from archspec.backends.measure import saved_activation_bytes
from archspec.backends.tidy import _SETTINGS as tidy_settings
from archspec.ir import Graph, Node
from archspec.loader import Program, load_program
from archspec.lower import lower
from archspec.ops import RFStep

NAME = "difftest.arch"
# Inputs grow until two neighbouring units of a node see only real pixels; beyond this the check gives up
# (no generated field comes near it).
MAX_SIDE = 1000
MASKED = 1e-30  # relative gradients below this are masked-apart tokens (see assert_extent)


def check_network(text: str, directory: Path, strict: bool = False) -> None:
    """Every check of the module docstring, for the spec ``text``; ``strict`` holds the known open
    disagreements (``OPEN``) to exactness too (the regression files do, the random runs do not)."""
    network = _load(text)
    _check(text, network, network.to_source(), directory, strict)


def check_networks(texts: list[str], directory: Path) -> None:
    """``check_network`` for each of ``texts``, their generated sources tidied together: one pair of
    ruff runs for all (``tidy_together``) instead of a pair each, whose start-up is a good part of one
    network's check. A failure names its network."""
    networks = [_load(text) for text in texts]
    with mock.patch.object(codegen, "tidy", lambda source: source):
        untidied = [network.to_source() for network in networks]
    for text, network, source in zip(texts, networks, tidy_together(untidied), strict=True):
        try:
            _check(text, network, source, directory, strict=False)
        except Exception as error:
            error.add_note(f"in the network:\n{text}")
            raise


def tidy_together(sources: list[str]) -> list[str]:
    """What ``archspec.backends.tidy.tidy`` makes of each source (ruff's safe fixes, then its formatter,
    with the same settings), from one ``ruff check`` and one ``ruff format`` over a folder of them
    (``test_difftest.py`` checks that the two agree)."""
    from ruff.__main__ import find_ruff_bin

    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / f"model_{i}.py" for i in range(len(sources))]
        for path, source in zip(paths, sources, strict=True):
            path.write_text(source, encoding="utf-8")
        for command in (["check", "--fix", "--exit-zero", "--quiet"], ["format", "--quiet"]):
            subprocess.run(
                [find_ruff_bin(), *command, *tidy_settings, folder], check=True, capture_output=True
            )
        return [path.read_text(encoding="utf-8") for path in paths]


def _check(text: str, network: archspec.Network, source: str, directory: Path, strict: bool) -> None:
    """The checks of ``check_network`` for ``network`` (``text`` loaded) and its generated ``source``.

    The spec is parsed and lowered once, its source imported once, and one build serves every check of
    the float32 module: the same-seed weights first (before anything trains them), then the counts (an
    eval forward), the saved tensors (a training forward), and last the generated source with that
    build's weights randomised."""
    analysis = network.analyze()
    generated = load_source(source, directory)
    torch.manual_seed(0)
    module = network.build()
    torch.manual_seed(0)
    twin: nn.Module = generated.build()
    assert_identical(twin.state_dict(), module.state_dict())  # same names, shapes and initial weights
    assert_counts_match(network, analysis, "cpu", module=module)
    check_memory(network, strict=strict, module=module)
    check_fields(text, network)
    assert_generated_outputs(network, module, twin)


def assert_generated_outputs(
    network: archspec.Network, module: nn.Module, twin: nn.Module, batch: int = 2
) -> None:
    """The generated module (``twin``) with ``module``'s weights randomised (real numbers in every tensor)
    computes ``module``'s outputs bit for bit (the same kernels run). Exact equality needs no scale: the
    output need only not be all zero (a random network with a one-unit head can output 0.002)."""
    randomise(module).eval()
    twin.load_state_dict(module.state_dict(), strict=True)
    x = torch.randn(batch, *network.graph.input_shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected, actual = module(x), twin.eval()(x)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    assert bool(expected.ne(0).any()), "the output is all zero: it witnesses nothing"
    assert torch.equal(actual, expected), f"generated source: max |a - b| = {(actual - expected).abs().max()}"


# Known disagreements not yet resolved, each kept as a regression file marked `# open:`: the op and the
# elements torch saves beyond the analysis per node (per sample), added in the random runs (none now: the
# last, window attention with one head, is fixed in ops/swin.py).
OPEN: dict[str, Callable[[Node], int]] = {}


def check_memory(
    network: archspec.Network, batch: int = 2, strict: bool = True, module: nn.Module | None = None
) -> None:
    """The bytes saved for backward, as analysed, against the storages autograd saves (of ``module``, or
    a fresh build): exactly, or (not ``strict``) with the known open disagreements' excess added
    (``OPEN``)."""
    module = module if module is not None else network.build()
    x = torch.randn(batch, *network.graph.input_shape, generator=torch.Generator().manual_seed(3))
    measured = saved_activation_bytes(module, x)
    analysed = network.analyze(batch=batch).activation_bytes
    nodes = [n for n in network.graph.nodes if n.op.kind in OPEN]
    excess = 0 if strict else sum(OPEN[n.op.kind](n) for n in nodes) * batch * 4  # float32
    message = f"saved for backward: {analysed:,} bytes analysed (+{excess:,} open), {measured:,} by torch"
    assert analysed + excess == measured, message


def fields_to_check(graph: Graph) -> list[int]:
    """The last feature maps and every merge of maps (not where a map may be channels-last: after a
    permute, a 3-d shape need not be CxHxW)."""
    result = receptive_fields(graph)
    chosen = set(feature_nodes(graph, result.pooled))
    if not any(n.op.kind == "permute" for n in graph.nodes):
        chosen |= {n.id for n in graph.nodes if len(n.inputs) > 1 and len(n.shape) == 3}
    return sorted(i for i in chosen if len(graph.nodes[i].shape) in (1, 2, 3))


def check_fields(text: str, network: archspec.Network) -> None:
    """The receptive field checks of the module docstring, at ``fields_to_check`` (``network`` is
    ``text`` loaded at its own input size)."""
    graph = network.graph
    result = receptive_fields(graph)
    windowed = any(n.op.kind == "shifted_window_attention" for n in graph.nodes)
    finite, whole_map = [], []
    for node in fields_to_check(graph):
        name = graph.nodes[node].name
        spatial, whole = result.spatial[node], result.fields[node]
        if spatial == "global" or whole == "global":
            whole_map.append(name)
        if isinstance(spatial, ReceptiveField) and len(graph.nodes[node].shape) == 3:
            finite.append(name)
        if isinstance(whole, ReceptiveField):
            assert whole == spatial  # no gate upstream: the two passes agree
    if whole_map:
        assert_gradient_is_global(network, whole_map)
    if finite:
        assert_extents(text, finite, exact=not windowed, base=network)


@functools.lru_cache(maxsize=16)  # a group of networks (check_networks), each lowered at several sizes
def _program(text: str) -> Program:
    """The parsed spec (parsing is most of a load; the checks lower one spec at several input sizes)."""
    return load_program(Path(NAME), text)


def _load(text: str, shape: tuple[int, ...] | None = None) -> archspec.Network:
    program = _program(text)
    return archspec.Network(lower(program, None, {}, shape), program, shape)


def _node(graph: Graph, name: str) -> int:
    return next(n.id for n in graph.nodes if n.name == name)


def _spatial(graph: Graph, name: str) -> RF:
    return receptive_fields(graph).spatial[_node(graph, name)]


def total_stride(graph: Graph) -> tuple[int, int]:
    """The product of every op's stride per axis: growing the input by a multiple of it keeps every
    layer's input size in the same residue modulo its stride (so branches that agree keep agreeing)."""
    product = [1, 1]
    for effect in node_effects(graph).values():  # in image coordinates (a map's H and W may be swapped)
        if isinstance(effect, RFStep):
            product = [product[a] * effect.stride[a] for a in (0, 1)]
    return product[0], product[1]


def _inside(field: ReceptiveField, side: int, units: int, axis: int) -> int | None:
    """The first unit whose window and the next one's lie inside an input of ``side`` pixels."""
    r, j, p = field.size[axis], field.stride[axis], field.padding[axis]
    first = math.ceil(p / j)
    if first + 1 < units and (first + 1) * j - p + r - 1 <= side - 1:
        return first
    return None


def assert_extents(
    text: str, names: list[str], exact: bool = True, base: archspec.Network | None = None
) -> None:
    """The spatial path's field of each of ``names`` against the input gradient of two neighbouring
    units: equal to its extent (``exact``), or containing it (the window-attention bound). One input,
    grown until every node has two such units inside it, and one module serve every node. ``base``:
    ``text`` already loaded at its own input size."""
    base = base if base is not None else _load(text)
    fields = {name: _spatial(base.graph, name) for name in names}
    channels, height, width = base.graph.input_shape
    stride = total_stride(base.graph)
    # the pixels each axis needs for two units inside, and so the first growth step worth trying: per
    # axis (the smallest side and stride of the two once made a tall stride-24 network start past
    # MAX_SIDE, to reach the width its stride-1 axis needed)
    needed = [
        ((math.ceil(f.padding[a] / f.stride[a]) + 2) * f.stride[a] - f.padding[a] + f.size[a], a)
        for f in fields.values()
        if isinstance(f, ReceptiveField)
        for a in (0, 1)
    ]
    sides = (height, width)
    start = max(0, *(math.ceil((n - sides[a]) / stride[a]) for n, a in needed))
    for m in range(start, start + 64):
        shape = (channels, height + m * stride[0], width + m * stride[1])
        if max(shape[1:]) > MAX_SIDE:
            raise AssertionError(f"no input up to {MAX_SIDE} pixels fits two units of {fields}")
        network = _load(text, shape)
        units = {}
        for name, field in fields.items():
            assert _spatial(network.graph, name) == field  # the field does not depend on the input size
            assert isinstance(field, ReceptiveField)
            out = network.graph.nodes[_node(network.graph, name)].shape
            units[name] = [_inside(field, shape[1 + a], out[1 + a], a) for a in (0, 1)]
        if all(None not in pair for pair in units.values()):
            break
    else:  # pragma: no cover - the output grows with the input
        raise AssertionError(f"no input fits two units of {fields}")
    torch.manual_seed(0)
    module = network.build(dtype=torch.float64).eval()
    linearise(module)
    if exact:
        make_monotone(module)
        x = torch.ones(1, *shape, dtype=torch.float64, requires_grad=True)
    else:
        x = _random_input(shape)
    detach_global_pooling(module, network.graph)
    for name, field in fields.items():
        assert isinstance(field, ReceptiveField)
        out = capture(module, network.graph, x, _node(network.graph, name))
        _assert_windows(out, x, field, units[name], exact, name)


def _assert_windows(
    out: torch.Tensor, x: torch.Tensor, field: ReceptiveField, first: list[int | None], exact: bool, name: str
) -> None:
    for step in (0, 1):
        i, j = (u + step for u in first if u is not None)
        (grad,) = torch.autograd.grad(_weighted(out[0, :, i, j], exact), x, retain_graph=True)
        magnitude = grad[0].abs().sum(0)
        # torchvision masks the tokens a shifted window keeps apart with a score of -100, not -inf: their
        # weight e^-100 (4e-44) is no zero in float64. The bound is about what a token attends to.
        seen = magnitude != 0 if exact else magnitude > MASKED * magnitude.max()
        for axis, unit in enumerate((i, j)):
            hits = seen.any(1 - axis).nonzero().flatten().tolist()
            start = unit * field.stride[axis] - field.padding[axis]
            window = (start, start + field.size[axis] - 1)
            assert hits, (name, axis, field)
            if exact:
                assert (hits[0], hits[-1]) == window, (name, unit, axis, field)
            else:
                assert window[0] <= hits[0] and hits[-1] <= window[1], (name, unit, axis, field)


def _random_input(shape: tuple[int, ...]) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(1, *shape, dtype=torch.float64, generator=generator) + 0.5
    return x.requires_grad_(True)


def _weighted(value: torch.Tensor, monotone: bool) -> torch.Tensor:
    """A scalar of one unit: the sum over channels (monotone copy), else a random positive weighting
    (a plain sum can cancel exactly: a layer norm's outputs sum to its bias)."""
    if monotone:
        return value.sum()
    weights = torch.rand(value.shape, dtype=value.dtype, generator=torch.Generator().manual_seed(2))
    return (value * (weights + 0.5)).sum()


def assert_gradient_is_global(network: archspec.Network, names: list[str]) -> None:
    """One unit of each of ``names`` (a map's first position, a sequence's first token, a vector)
    depends on the input as far as the whole of that node does (from the first row and column any unit
    reads to the last: a stride larger than its kernel leaves the last rows unread): random weights and
    input (equal weights would make every layer norm's output 0, and its gradient with it), activations
    as the identity (no ReLU cuts a gate off), nothing detached. One module serves every node."""
    torch.manual_seed(0)
    module = network.build(dtype=torch.float64).eval()
    linearise(module)
    x = _random_input(network.graph.input_shape)
    for name in names:
        out = capture(module, network.graph, x, _node(network.graph, name))
        whole = _extent(out[0], x)
        # A unit that a per-side pad or a border made a constant sees no pixel: the field describes the
        # units that see any, so take the first of the centre and the corners that does.
        units = {
            3: lambda o: [o[0, :, o.shape[2] // 2, o.shape[3] // 2], o[0, :, 0, 0], o[0, :, -1, -1]],
            2: lambda o: [o[0, 0]],
            1: lambda o: [o[0]],
        }[out.dim() - 1](out)
        extents = [_extent(unit, x) for unit in units]
        one = next((e for e in extents if e != [None, None]), [None, None])
        assert one == whole, (name, "one unit, all units", [one, whole])


def _extent(value: torch.Tensor, x: torch.Tensor) -> list[tuple[int, int] | None]:
    """The first and last row and column of ``x`` that ``value`` depends on (None: none)."""
    (grad,) = torch.autograd.grad(_weighted(value, False), x, retain_graph=True)
    seen = grad[0].abs().sum(0) != 0
    hits = [seen.any(1 - axis).nonzero().flatten().tolist() for axis in (0, 1)]
    return [(h[0], h[-1]) if h else None for h in hits]


ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.SiLU, nn.GELU, nn.Hardswish, nn.Hardsigmoid, nn.Sigmoid, nn.Tanh)


def linearise(module: nn.Module) -> None:
    """Activations as the identity and max pools as average pools of the same geometry (the issue's
    recipe: what a unit depends on, not which of its inputs won a max or passed a ReLU)."""
    for layer in module.modules():
        if isinstance(layer, ACTIVATIONS):
            layer.forward = _identity  # type: ignore[method-assign]
        elif isinstance(layer, nn.MaxPool2d):
            layer.forward = average_pool_like(layer)  # type: ignore[method-assign]


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x
