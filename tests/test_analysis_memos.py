"""The analysis's shortcuts (issue 26) change no figure: the counts memoised by op identity (``counts.tally``)
and the rows made on first reading (``Analysis.rows``). The oracles: each op's own counting rules called
directly, ``node_depths`` (a walk of its own), and the whole analysis of every zoo network and some variants
made with every memo emptied first and its rows read at once, against the same analyses made after all the
others (memos full) with their rows read last."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import pickle
import threading
from pathlib import Path
from typing import Any

import pytest

import archspec
from archspec import analysis
from archspec.analysis import Analysis, analyze, node_depths
from archspec.analysis.counts import NodeCounts, tally
from archspec.ir import Graph
from archspec.loader import load_program, zoo_index
from archspec.lower import lower
from archspec.report import render_analysis

MISALIGNED = (Path(__file__).parent / "specs" / "misaligned_branches.arch").read_text(encoding="utf-8")

VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("resnet50", {"num_classes": 10}),
    ("resnet50", {"num_classes": 11}),
    ("resnet50", {"depths": [3, 4, 9, 3], "num_classes": 12}),
    ("resnet18", {"num_classes": 7}),
    ("mobilenet_v2", {"num_classes": 5}),
]


def clear_memos() -> None:
    """Empty every memo of the analysis (a first analysis in a fresh process)."""
    analysis.clear_memos()


def graphs() -> list[tuple[str, Graph]]:
    """Every zoo network and variant, some overridden variants, and a spec with misaligned merges."""
    found = [(name, archspec.load(name).graph) for name in sorted(zoo_index())]
    found += [(f"{name} {params}", archspec.load(name, **params).graph) for name, params in VARIANTS]
    found.append(("branches", lower(load_program(Path("branches.arch"), MISALIGNED))))
    return found


def analyses(graph: Graph) -> list[Analysis]:
    """The analyses of both counting conventions, batches 1 and 2."""
    return [analyze(graph, count=count, batch=batch) for count in ("torchvision", "all") for batch in (1, 2)]


def everything(analysis: Analysis) -> str:
    """Every field of an analysis (the rows' every field too); of ResNet-50's, its JSON, CSV and Markdown
    reports too (made from those fields: one network shows that they read them)."""
    names = [f.name for f in dataclasses.fields(Analysis) if f.name != "graph"]
    text = repr([(name, getattr(analysis, name)) for name in names])
    if analysis.graph.variant == "resnet50":
        text += "".join(render_analysis(analysis, fmt) for fmt in ("json", "csv", "markdown"))
    return hashlib.sha256(text.encode()).hexdigest()


def test_memoised_lazy_analyses_are_fresh_eager_ones() -> None:
    cases = graphs()
    fresh = {}
    for name, graph in cases:
        made = []
        for _ in range(4):
            clear_memos()  # each analysis from empty memos, its rows read at once
            made.append(
                analyze(graph, count="all" if len(made) > 1 else "torchvision", batch=1 + len(made) % 2)
            )
            _ = made[-1].rows
        fresh[name] = [everything(a) for a in made]
    later = {name: analyses(graph) for name, graph in cases}  # memos full, rows not read yet
    for name, _graph in cases:
        assert [everything(a) for a in later[name]] == fresh[name], name


def test_the_counts_are_each_ops_own_rules() -> None:
    for _name, graph in graphs()[::3]:
        for _ in range(2):  # from empty memos, then from full ones
            nodes, totals, depth = tally(graph)
            for node in graph.nodes:
                op, shapes = node.op, tuple(graph.input_shapes(node))
                params = op.param_count()
                expected = NodeCounts(
                    params,
                    params,
                    op.buffer_count(),
                    op.macs(shapes, node.shape),
                    op.extra_flops(shapes, node.shape),
                )
                assert nodes[node.id] == expected
            fields = ("params", "trainable_params", "buffers", "macs", "extra_flops")
            assert totals == tuple(sum(getattr(c, f) for c in nodes.values()) for f in fields)
            assert depth == node_depths(graph)[graph.output]


def test_an_op_read_over_other_input_shapes_is_counted_for_them() -> None:
    # One op object over two input sizes (a ReLU): the memo holds an op's last input shapes, and
    # must not answer for the others.
    graph = archspec.load("resnet18").graph
    relus = [node for node in graph.nodes if node.op.kind == "relu"]
    small, large = relus[-1], relus[0]
    assert small.op is not large.op and graph.input_shapes(small) != graph.input_shapes(large)
    shared = graph.model_copy(
        update={
            "nodes": tuple(n.model_copy(update={"op": small.op}) if n is large else n for n in graph.nodes)
        }
    )
    clear_memos()
    for _ in range(2):
        nodes = tally(shared)[0]
        assert nodes[large.id] == tally(graph)[0][large.id] != nodes[small.id]


def test_rows_made_on_reading_are_kept_and_travel_with_the_analysis() -> None:
    graph = archspec.load("resnet18").graph
    eager = analyze(graph)
    rows = eager.rows
    assert eager.rows is rows and "_rows_from" not in vars(eager)
    for made in (
        lambda a: pickle.loads(pickle.dumps(a)),
        copy.copy,
        copy.deepcopy,
        lambda a: dataclasses.replace(a, warnings=a.warnings),
    ):
        lazy = analyze(graph)
        other = made(lazy)
        assert "_rows_from" not in vars(other) and other.rows == rows and other == eager
        assert vars(lazy).keys() - {"_rows_from"} == vars(eager).keys()
    assert analyze(graph) == eager and repr(analyze(graph)) == repr(eager)
    assert dataclasses.asdict(analyze(graph)) == dataclasses.asdict(eager)
    with pytest.raises(AttributeError, match=r"^'Analysis' object has no attribute 'rowz'$"):
        analyze(graph).rowz  # noqa: B018 (the attribute's error, as any other name's)


def test_threads_reading_the_rows_at_once_get_the_same_rows() -> None:
    analysis = analyze(archspec.load("resnet50").graph)
    barrier = threading.Barrier(6)
    seen: list[object] = []

    def read() -> None:
        barrier.wait()
        seen.append(analysis.rows)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 6 and all(rows is analysis.rows for rows in seen)
