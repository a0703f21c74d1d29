"""Lowering's memos (issue 26): block replay sharing a template's own nodes, and ``elab.memo``'s layers'
ops, block instances' environments and the metadata kept for the next variant. The oracle is lowering
with every memo and template turned off: the IR (every field of every node and scope, and which fields
were given), every error with its position, and where the step budget runs out must be the same."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import archspec
from archspec.elab import memo, replay
from archspec.errors import SpecError
from archspec.ir import Graph
from archspec.limits import budget
from archspec.loader import load_program, resolve_spec, zoo_dir
from archspec.lower import lower, network_of, variant_names


@contextmanager
def nothing_kept(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Lowering as without memos: every block instance elaborated, every op and value made afresh."""
    with monkeypatch.context() as patch:
        patch.setattr(replay, "find", lambda key, block: None)
        patch.setattr(memo, "memoized", lambda key, keep, make: make())
        yield


def dumped(graph: Graph) -> list[object]:
    """Every field of the IR, and which fields of each node and scope were given."""
    sets = [sorted(item.model_fields_set) for item in (*graph.nodes, *graph.scopes)]
    return [graph.to_json(), repr(graph.model_dump()), sets]


def outcome(make: Callable[[], Graph]) -> list[object]:
    """The IR ``make`` returns, or its error in full."""
    try:
        return dumped(make())
    except SpecError as error:
        return [str(error)]


ZOO = [
    (path.name, variant)
    for path in sorted(zoo_dir().glob("*.arch"))
    for variant in variant_names(network_of(load_program(path))) or [None]
]


@pytest.mark.parametrize(("file", "variant"), ZOO)
def test_every_zoo_variant_lowered_from_the_memos_is_the_same(
    file: str, variant: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = load_program(zoo_dir() / file)
    with nothing_kept(monkeypatch):
        fresh = dumped(lower(program, variant))
    first = dumped(lower(program, variant))
    again = lower(program, variant)  # each instance, op and record from the first lowering's
    assert dumped(again) == first == fresh


@pytest.mark.parametrize(
    "params",
    [
        {"num_classes": 10},
        {"num_classes": 11, "depths": [3, 4, 2, 3]},
        {"depths": [2, 2, 2, 2], "unit": "BasicBlock"},
        {"v1": True},
        {"num_classes": 0},  # invalid: the error must be the same
        {"depths": [3, 4, 0, 3]},  # invalid inside a block instance (a repeat count of -1)
        {"num_classes": 2.5},
    ],
)
def test_resnet_variants_of_a_search_loop_are_the_same(
    params: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    def load() -> Graph:
        return archspec.load("resnet50", **params).graph

    with nothing_kept(monkeypatch):
        fresh = outcome(load)
    archspec.load("resnet50", num_classes=12)  # the memos of another variant
    assert outcome(load) == fresh
    assert outcome(load) == fresh  # and of this one's


SPEC = textwrap.dedent(
    """\
    block Unit(width, stride=1):
      label: "unit {width}"
      conv(width, 3, stride=stride, pad=1) >> batchnorm >> relu

    network memos:
      name: "Memos"
      year: 2000 + years
      notes: "made for the memos' test"
      init:
        conv: kaiming_normal(mode="fan_out", nonlinearity="relu")
        linear: normal(std=1 / w), bias=zeros
      input: 3x16x16
      params:
        w = 8
        years = 3
        classes = 10
      variants:
        small: w=4
        large: w=8
      layers:
        stem: conv(w, 3, pad=1)
        Unit(w * 2, stride=2)
        Unit(w * 2)
        Unit(w * 2) * 2
        global_avgpool >> flatten
        fc: linear(classes * 2)
    """
)


def test_the_budget_runs_out_where_it_does_without_memos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each memo charges the steps its making charged, and is refused where fewer are left: with every
    # budget from none to enough, the memoized lowering fails at the same step, or succeeds, as a fresh one.
    path = tmp_path / "memos.arch"
    path.write_text(SPEC, encoding="utf-8")
    program = load_program(path)
    with budget() as whole:
        lower(program, "large", {"classes": 5})
        steps = whole.limit - whole.left
    assert steps > 20

    def within(limit: int) -> list[object]:
        with budget(limit):
            return outcome(lambda: lower(program, "large", {"classes": 7}))

    stds = [lower(program, variant).init[1].calls[0].args["std"] for variant in ("small", "large")]
    assert stds == [1 / 4, 1 / 8]  # the init rules read `w`: each variant its own
    for limit in range(steps + 2):
        with nothing_kept(monkeypatch):
            fresh = within(limit)
        assert within(limit) == fresh, limit
        assert ("takes more than" in fresh[0]) == (limit < steps), limit


def test_a_memo_tells_apart_values_equal_in_python() -> None:
    # 1, 1.0 and true are equal in Python, not in a spec: each makes its own op and metadata.
    text = "network n:\n  year: y\n  input: [4]\n  params:\n    y = 2000\n    k = 2\n  layers:\n"
    text += "    linear(4 * k)\n"
    shapes = [archspec.load("n.arch", text=text, k=k).graph.nodes[1].shape for k in (2, 2.0)]
    assert shapes == [(8,), (8,)]
    with pytest.raises(SpecError) as raised:
        archspec.load("n.arch", text=text, y=2000.0)
    assert "metadata 'year' must be an integer, got 2000.0" in str(raised.value)
    assert archspec.load("n.arch", text=text, y=1999).graph.metadata.year == 1999


def test_a_resolved_zoo_spec_loads_from_any_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The loader keeps each working folder resolved: a spec's file name in spans follows a change of it.
    paths = []
    for folder in (tmp_path, zoo_dir()):
        monkeypatch.chdir(folder)
        graph = archspec.load("resnet18").graph
        assert graph.nodes[1].span is not None
        paths.append(graph.nodes[1].span.path)
    assert paths[1] == "resnet.arch" and paths[0] == str(resolve_spec("resnet18")[0].resolve())


def test_instances_of_one_call_site_with_other_values_make_their_own_layers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One call (`Lin(width)` in Outer, `linear(width)` in Lin) over the same input with other values of
    # its names, a loop
    # variable shadowing a parameter of the network, and a parameter's formula: each layer its own.
    text = textwrap.dedent(
        """\
        block Lin(width):
          linear(width)

        block Outer(width):
          Lin(width)

        network lin:
          input: [4]
          params:
            k = 2
          layers:
            a: Lin(3)
            b: Lin(5) from input
            for k in range(3, 5):
              "c{k}": linear(k * 3) from input
            d: linear(k * 3) from input
            e: Outer(3) from input
            f: Outer(5) from input
            concat from a, b, c3, c4, d, e, f
        """
    )
    graph = archspec.load("lin.arch", text=text).graph
    assert [n.shape for n in graph.nodes[1:]] == [(3,), (5,), (9,), (12,), (6,), (3,), (5,), (43,)]
    formulas = [n.formulas for n in graph.nodes[1:]]
    assert formulas[4] == {"out_features": "k * 3"} and formulas.count(None) == 7
    with nothing_kept(monkeypatch):
        fresh = dumped(archspec.load("lin.arch", text=text, k=3).graph)
    assert dumped(archspec.load("lin.arch", text=text, k=3).graph) == fresh
