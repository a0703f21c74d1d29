"""The memory and receptive-field passes against straightforward versions of their rules, kept here.

``analysis.memory`` works each graph's facts out in one pass with integer ids (``_Structure``) and
``analysis.receptive`` takes each node's step from a memo keyed by tokens of its inputs' steps; both
must give exactly what the rules in their docstrings say. The oracles below follow those rules the long
way: the containers holding a node found by comparing every scope name with the node's, a value's release
step found among every node, a live set walked node by node, each saved storage counted at its first
saver by a search through the savers before it, and every receptive-field step worked out afresh with no
memo. Each zoo variant, some overridden variants, the kept specs of the random-network tests and a batch of
generated networks are compared whole: both counting conventions, four dtypes, batch 1, 2 and 3, with the
memos warm from the graphs before and with memos bounded to a handful of entries.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from difftest.generator import networks
from hypothesis import HealthCheck, given, settings

import archspec
from archspec.analysis import analyze, memory, receptive
from archspec.catalog import catalog
from archspec.dtypes import ACTIVATION_DTYPES, DTYPE_BYTES
from archspec.ir import Graph
from archspec.ops import numel

ROOT = Path(__file__).parents[1]
VARIANTS = [variant for entry in catalog() for variant in entry.variants]

# Two blocks whose branches' fields do not line up (a warning per merge), and a dropout (a view at
# inference only) feeding an in-place ReLU's producer.
MISALIGNED = (
    (Path(__file__).parent / "specs" / "misaligned_branches.arch").read_text(encoding="utf-8")
    + """\
    drop: dropout(0.5)
    conv: conv(4, 3, pad=1)
    act: relu
"""
)


# ---------------------------------------------------------------- the oracles


def oracle_inplace(graph: Graph) -> set[int]:
    """ReLUs over a fresh conv/bn/linear/add/concat output that only they read."""
    found = set()
    for node in graph.nodes:
        if node.op.inplace and len(node.inputs) == 1:
            source = node.inputs[0]
            readers = sum(other.inputs.count(source) for other in graph.nodes)
            if graph.nodes[source].op.inplace_producer and readers == 1:
                found.add(node.id)
    return found


def oracle_storage(graph: Graph, node_id: int, training: bool, inplace: set[int] | None = None) -> int:
    """The node whose storage a node's output is: followed back through views and in-place ops."""
    inplace = oracle_inplace(graph) if inplace is None else inplace
    node = graph.nodes[node_id]
    while node.inputs and (node.id in inplace or node.op.is_view(training)):
        node = graph.nodes[node.inputs[0]]
    return node.id


def oracle_recorded(graph: Graph) -> dict[int, bool]:
    """Whether some op with parameters runs on the way from the input to each node."""
    found: dict[int, bool] = {}
    for node in graph.nodes:  # (in order: the inputs come first)
        found[node.id] = node.op.param_count() > 0 or any(found[i] for i in node.inputs)
    return found


def containers(graph: Graph, node_id: int) -> list[str]:
    """The containers holding a node, outermost first ('' the network): every scope named by the node's
    scope or a dotted prefix of it."""
    scope = graph.nodes[node_id].scope
    names = [s.name for s in graph.scopes if s.name and (scope == s.name or scope.startswith(s.name + "."))]
    return ["", *sorted(names, key=lambda name: name.count("."))]


def oracle_release(graph: Graph) -> dict[int, int]:
    """After which node each output is dropped: after its last reader's step in the lowest container
    shared with the source (the reader itself, or the child container holding it, to its last node)."""
    held = {node.id: containers(graph, node.id) for node in graph.nodes}
    found = {}
    for source in graph.nodes:
        last = source.id
        theirs = held[source.id]
        for reader in graph.nodes:
            if source.id not in reader.inputs:
                continue
            mine = held[reader.id]
            shared = [name for name in mine if name in theirs]
            inner = mine[len(shared)] if len(shared) < len(mine) else None
            step_end = reader.id if inner is None else max(n.id for n in graph.nodes if inner in held[n.id])
            last = max(last, step_end)
        found[source.id] = last
    return found


def oracle_peak(graph: Graph, dtype: str, batch: int) -> tuple[int, int]:
    """(bytes, node id) of the largest live set plus temporaries over a walk of the nodes."""
    size = DTYPE_BYTES[dtype]
    release = oracle_release(graph)
    inplace = oracle_inplace(graph)
    owner = {node.id: oracle_storage(graph, node.id, False, inplace) for node in graph.nodes}
    kept = {owner[0], owner[graph.output]}  # the caller holds the input and the output throughout
    # a storage is dropped after the last release among the nodes that use it
    dropped = {o: max(release[n] for n in owner if owner[n] == o) for o in set(owner.values())}
    live: set[int] = set()
    best, at = 0, 0
    for node in graph.nodes:
        if owner[node.id] == node.id and not node.op.state:
            live.add(node.id)
        bytes_ = sum(numel(graph.nodes[o].shape) * (batch if graph.nodes[o].batched else 1) for o in live)
        shapes = [graph.nodes[i].shape for i in node.inputs]
        scratch = node.op.scratch(shapes, node.shape, size, batch if node.batched else 1)
        if bytes_ * size + scratch > best:
            best, at = bytes_ * size + scratch, node.id
        live -= {o for o in live if o not in kept and dropped[o] == node.id}
    return best, at


def oracle_saved(graph: Graph, dtype: str, batch: int) -> dict[int, int]:
    """Each node's saved bytes: what its op keeps, each storage at the first node that keeps it."""
    size = DTYPE_BYTES[dtype]
    inplace = oracle_inplace(graph)
    recorded = oracle_recorded(graph)
    savers: list[int] = []  # the storages counted so far
    found = {}
    for node in graph.nodes:
        share = 0
        if recorded[node.id]:
            shapes = [graph.nodes[i].shape for i in node.inputs]
            for saved in node.op.saved(shapes, node.shape):
                itemsize = DTYPE_BYTES[saved.dtype] if saved.dtype else size
                if saved.copied_in_place and node.id in inplace:  # a copy of the input, made anew
                    share += numel(shapes[saved.index]) * (batch if node.batched else 1) * itemsize
                    continue
                if saved.source == "new":
                    copies = batch if saved.per_sample and node.batched else 1
                    share += saved.elements * copies * itemsize
                    continue
                if saved.source == "input":
                    if node.op.cross_saving and len(node.inputs) == 2:
                        other = node.inputs[1 - saved.index]
                        if not recorded[other]:
                            continue  # nobody needs the other input's gradient
                    kept = node.inputs[saved.index]
                else:
                    kept = node.id
                storage = oracle_storage(graph, kept, True, inplace)
                if storage in savers or graph.nodes[storage].op.state:
                    continue
                savers.append(storage)
                share += (
                    numel(graph.nodes[storage].shape) * (batch if graph.nodes[storage].batched else 1) * size
                )
        found[node.id] = share
    return found


def oracle_fields(graph: Graph) -> tuple[Any, ...]:
    """Every node's step worked out afresh from its inputs' (no memo): (fields, spatial fields shown,
    warnings, pooled nodes)."""
    axes: dict[int, Any] = {}
    fields: dict[int, Any] = {}
    spatial: dict[int, Any] = {}
    warnings = []
    for node in graph.nodes:
        _, fields[node.id], spatial[node.id], misaligned = receptive._step(graph, node, axes, fields, spatial)
        if misaligned is not None:
            warnings.append(f"{node.name}: {misaligned}")
    pooled = frozenset(k for k, v in spatial.items() if v == "pooled")
    shown = {k: "global" if v == "pooled" else v for k, v in spatial.items()}
    return fields, shown, tuple(warnings), pooled


# ---------------------------------------------------------------- the comparison


def assert_passes_match(graph: Graph) -> None:
    """Every memory and receptive-field figure of ``graph`` equals the oracles'."""
    inplace = oracle_inplace(graph)
    assert memory.inplace_nodes(graph) == inplace
    for training in (False, True):
        expected = {n.id: oracle_storage(graph, n.id, training, inplace) for n in graph.nodes}
        assert memory.storages(graph, training) == expected
    assert memory.tracked(graph) == oracle_recorded(graph)
    assert memory.release_points(graph) == oracle_release(graph)
    fields, shown, warnings, pooled = oracle_fields(graph)
    result = receptive.receptive_fields(graph)
    assert (result.fields, result.spatial, result.warnings, result.pooled) == (
        fields,
        shown,
        warnings,
        pooled,
    )
    for dtype in ACTIVATION_DTYPES:
        for batch in (1, 2, 3):
            saved = oracle_saved(graph, dtype, batch)
            got = memory.saved_activations(graph, dtype, batch)
            assert (got.total, got.per_node) == (sum(saved.values()), saved), (dtype, batch)
            peak = memory.peak_activation(graph, dtype, batch)
            assert (peak.bytes, peak.at_node) == oracle_peak(graph, dtype, batch), (dtype, batch)
    for count in ("torchvision", "all"):
        for dtype, batch in (("float32", 1), ("bfloat16", 2)):
            analysis = analyze(graph, dtype=dtype, count=count, batch=batch)
            saved = oracle_saved(graph, dtype, batch)
            best, at = oracle_peak(graph, dtype, batch)
            assert analysis.activation_bytes == sum(saved.values())
            layers = [row for row in analysis.rows if row.kind == "layer"]
            assert [row.saved_bytes for row in layers] == [saved[row.node_ids[0]] for row in layers]
            assert (analysis.peak_activation_bytes, analysis.peak_at) == (best, graph.nodes[at].name)
            assert analysis.training_memory["activations_bytes"] == sum(saved.values())
            assert (analysis.fields, analysis.spatial_fields, analysis.warnings) == (fields, shown, warnings)
            whole, path = receptive.network_fields(graph, result)
            assert (analysis.receptive_field, analysis.spatial_receptive_field) == (whole, path)


def graphs() -> Iterator[Any]:
    """The fixed cases: every zoo variant, overridden variants (a new classifier, other depths, another
    input), the inception spec of the tests, the random-network tests' kept specs and a misaligned merge."""
    for variant in VARIANTS:
        yield pytest.param(lambda variant=variant: archspec.load(variant).graph, id=variant)
    overridden: list[tuple[str, dict[str, Any]]] = [
        ("resnet50", {"num_classes": 11}),
        ("resnet50", {"depths": [3, 4, 5, 3], "num_classes": 7}),
        ("resnet18", {"input_shape": (3, 64, 64)}),
        ("mobilenet_v2", {"input_shape": (3, 96, 96)}),
    ]
    for variant, params in overridden:
        name = f"{variant}-{'-'.join(map(str, params.values()))}"
        yield pytest.param(lambda v=variant, p=params: archspec.load(v, **p).graph, id=name)
    yield pytest.param(
        lambda: archspec.load(str(ROOT / "tests/specs/inception_v3.arch")).graph, id="inception_v3"
    )
    for path in sorted((ROOT / "tests/difftest_regressions").glob("*.arch")):
        yield pytest.param(lambda path=path: archspec.load(str(path)).graph, id=path.stem)
    yield pytest.param(lambda: archspec.load("branches.arch", text=MISALIGNED).graph, id="misaligned")


@pytest.mark.parametrize("make", list(graphs()))
def test_the_passes_give_what_their_rules_say(make: Any) -> None:
    assert_passes_match(make())


@settings(max_examples=25, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=networks())
def test_the_passes_give_what_their_rules_say_on_generated_networks(text: str) -> None:
    assert_passes_match(archspec.load("generated.arch", text=text).graph)


@pytest.mark.parametrize("variant", ["resnet50", "googlenet", "swin_t"])
def test_memos_bounded_to_a_few_entries_give_the_same_figures(
    variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each memo is emptied when full, in the middle of a pass too: a token made before must never be
    # taken for a value made after (the token count goes on), nor an op's facts for another op's.
    monkeypatch.setattr(receptive, "_STEPS_LIMIT", 3)
    monkeypatch.setattr(memory, "_MEMO_LIMIT", 3)
    for memo in (receptive._STEPS, receptive._TOKENS, memory._SAVED, memory._FACTS):
        memo.clear()
    for num_classes in (5, 6):
        assert_passes_match(archspec.load(variant, num_classes=num_classes).graph)
    assert len(receptive._STEPS) <= 3 and len(receptive._TOKENS) <= 3
    assert len(memory._SAVED) <= 3 and len(memory._FACTS) <= 3
