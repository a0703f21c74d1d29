"""Block replay (``archspec.elab.replay``, issue 26): a block instance elaborated once per distinct situation
and copied renamed for the others. The oracle is lowering with replay turned off (every instance walks its
statements again): the IR (every field of every node and scope, and which fields were given), the analysis
and every error, with its position, must be the same."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import archspec
from archspec.analysis import analyze
from archspec.elab import replay
from archspec.errors import SpecError
from archspec.ir import Graph
from archspec.loader import load_program, resolve_spec
from archspec.lower import lower

# Blocks with names (labels, templates, a module list), loops, a repeat, references (`from`, `inputs[i]`),
# params and buffers, `order:`, a block calling a block, and a std import.
SPEC = textwrap.dedent(
    """\
    from "std/se.arch" import SqueezeExcitation

    block Pair(width, extra=false):
      label: "pair {width}"
      order: [b, scale, a]
      a: linear(width)
      param scale: [width], init=normal(std=0.5)
      buffer offsets: [i * 2 for i in range(width)]
      relu
      b: linear(width)
      if extra: c: linear(width)

    block Mix(width):
      for j in range(2):
        "convs.{j}": conv(width, 3, pad=1) >> relu
      gate: SqueezeExcitation(4)
      add from inputs[0], gate

    block Unit(width):
      stem: conv(width, 1)
      Mix(width) * 2
      residual:
        a: conv(width, 3, pad=1) >> batchnorm
      shortcut projection: auto

    network replayed:
      input: 8x6x6
      params:
        w = 8
      layers:
        Unit(w)
        Unit(w)
        Unit(16)
        Unit(16)
        pool: global_avgpool >> flatten
        Pair(8)
        Pair(8)
        Pair(6, extra=true)
        Pair(8) * 3
        head: linear(3)
    """
)


def fresh_lower(monkeypatch: pytest.MonkeyPatch, *args: object) -> Graph:
    """Lowering with replay turned off: every block instance elaborated from its statements."""
    with monkeypatch.context() as patch:
        patch.setattr(replay, "find", lambda key, block: None)
        return lower(*args)  # type: ignore[arg-type]


def dumped(graph: Graph) -> list[object]:
    """Every field of the IR, and which fields of each node and scope were given."""
    sets = [sorted(item.model_fields_set) for item in (*graph.nodes, *graph.scopes)]
    return [graph.to_json(), repr(graph.model_dump()), sets]


def count_replays(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A counter of the instances replayed from then on."""
    replays = [0]
    real = replay.replay

    def counting(*args: object) -> int:
        replays[0] += 1
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(replay, "replay", counting)
    return replays


def test_replayed_blocks_give_the_graph_of_fresh_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "replayed.arch"
    path.write_text(SPEC, encoding="utf-8")
    program = load_program(path)
    replay.clear()
    replays = count_replays(monkeypatch)
    first = lower(program)  # Unit(8) and Unit(16) replayed once each, Mix and Pair(8) inside and out
    within = replays[0]
    second = lower(program)  # every top-level instance replayed
    fresh = fresh_lower(monkeypatch, program)
    assert within >= 5
    assert replays[0] - within == 10  # four Units, three Pairs, and the three copies of `Pair(8) * 3`
    assert dumped(first) == dumped(second) == dumped(fresh)
    assert repr(analyze(first).rows) == repr(analyze(fresh).rows)
    # the replayed copies are renamed: no two nodes or scopes share a name, repeat groups stay apart
    assert len({n.name for n in first.nodes}) == len(first.nodes)
    assert len({s.name for s in first.scopes}) == len(first.scopes)
    assert first.node("2.stem").scope == "2" and first.node("3.2.convs.0").inputs == (first.node("3.1.4").id,)
    copies = [s.repeat for s in first.scopes if s.block == "Pair" and s.repeat is not None]
    assert [(r.index, r.count) for r in copies] == [(0, 3), (1, 3), (2, 3)]


@pytest.mark.parametrize("spec", ["resnet50", "swin_v2_t", "maxvit_t", "googlenet", "mobilenet_v3_large"])
def test_zoo_networks_replayed_are_the_same(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path, variant = resolve_spec(spec)
    program = load_program(path)
    replay.clear()
    cold = lower(program, variant, {})
    warm = lower(program, variant, {"num_classes": 10})
    fresh = fresh_lower(monkeypatch, program, variant, {"num_classes": 10})
    assert dumped(warm) == dumped(fresh)
    assert dumped(cold) == dumped(fresh_lower(monkeypatch, program, variant, {}))


def steps_spec(loops: int) -> str:
    """Six instances of a block whose loop takes about 2 x ``loops`` steps."""
    return textwrap.dedent(
        f"""\
        block Busy(width):
          for i in range({loops}):
            k = i
          linear(width)

        network busy:
          input: [4]
          layers:
            Busy(4) * 6
        """
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (steps_spec(5_000), "the spec takes more than 50,000 steps to elaborate"),
        (
            "block Wide(width):\n  linear(width) * 900\n\nnetwork wide:\n  input: [4]\n  layers:\n"
            "    Wide(4)\n    Wide(4)\n    Wide(4)\n    Wide(4)\n    Wide(4)\n    Wide(4)\n",
            "repeat count of 900 is over the limit of 5000 layers",
        ),
    ],
)
def test_a_replay_over_a_limit_fails_where_a_fresh_elaboration_does(
    text: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    replay.clear()
    with pytest.raises(SpecError) as replayed:
        archspec.load("limits.arch", text=text)
    with monkeypatch.context() as patch:
        patch.setattr(replay, "find", lambda key, block: None)
        with pytest.raises(SpecError) as fresh:
            archspec.load("limits.arch", text=text)
    assert message in str(replayed.value)
    assert str(replayed.value) == str(fresh.value)


def test_a_failing_instance_is_refused_at_its_position_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    text = textwrap.dedent(
        """\
        block Shrink(k):
          conv(4, k)

        network shrink:
          input: 3x8x8
          layers:
            Shrink(1)
            Shrink(1)
            Shrink(3) * 4
        """
    )
    message = (
        "shrink.arch:9:5: error: 5.0: conv: kernel 3x3 does not fit the input 4x2x2 (output would be 0x0) "
        "(line 2 of block Shrink)"
    )
    for _ in range(2):  # Shrink(1) replayed, the last copy refused each time, as without replay
        with pytest.raises(SpecError) as raised:
            archspec.load("shrink.arch", text=text)
        assert str(raised.value).splitlines()[0] == message
    with monkeypatch.context() as patch:
        patch.setattr(replay, "find", lambda key, block: None)
        with pytest.raises(SpecError) as fresh:
            archspec.load("shrink.arch", text=text)
    assert str(fresh.value) == str(raised.value)


def test_no_state_is_shared_between_specs_with_the_same_block(tmp_path: Path) -> None:
    # The same root text over two versions of an imported file, and two roots whose block reads a
    # top-level name of its file: each lowering sees its own files.
    root = 'from "lib.arch" import Inner\n\nblock Outer():\n  Inner()\n\n'
    root += "network n:\n  input: [4]\n  layers:\n    Outer()\n    Outer()\n"
    (tmp_path / "n.arch").write_text(root, encoding="utf-8")
    widths = []
    for width in (5, 7):
        (tmp_path / "lib.arch").write_text(f"block Inner():\n  linear({width})\n", encoding="utf-8")
        widths.append(archspec.load(tmp_path / "n.arch").graph.output_shape)
    assert widths == [(5,), (7,)]
    shapes = []
    for width in (3, 9):
        text = f"w = {width}\nblock B():\n  linear(w)\n\nnetwork m:\n  input: [4]\n"
        text += "  layers:\n    B()\n    B()\n"
        shapes.append(archspec.load("m.arch", text=text).graph.output_shape)
    assert shapes == [(3,), (9,)]


def test_the_templates_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "_TEMPLATES_LIMIT", 3)
    replay.clear()
    for width in range(1, 8):
        archspec.load("resnet18", num_classes=width)
        assert len(replay._TEMPLATES) <= 3


def _clear_analysis_memos() -> None:
    from archspec.analysis import clear_memos

    clear_memos()


def analysed(graph: Graph, cold: bool) -> str:
    """Every figure of the analysis, both conventions, batches 1 and 2 (``cold``: each from empty memos)."""
    parts = []
    for count in ("torchvision", "all"):
        for batch in (1, 2):
            if cold:
                _clear_analysis_memos()
            a = analyze(graph, count=count, batch=batch)
            parts.append(repr((a.rows, sorted(a.nodes.items()), a.fields, a.spatial_fields, a.warnings)))
            parts.append(repr((a.peak_activation_bytes, a.peak_at, a.training_memory, a.depth)))
    return "\n".join(parts)


MISALIGNED = (Path(__file__).parent / "specs" / "misaligned_branches.arch").read_text(encoding="utf-8")


@pytest.mark.parametrize("spec", ["resnet50", "swin_v2_t", "googlenet", "branches"])
def test_the_analysis_memos_give_the_figures_of_a_fresh_analysis(spec: str) -> None:
    # The analysis keeps each op's figures and each node's receptive-field step by the op's identity,
    # which lowering and replay share between alike layers and variants: a second variant analysed from
    # the memos must read as the first one did with them empty (the warnings name their own node).
    if spec == "branches":
        program = load_program(Path("branches.arch"), MISALIGNED)
        variant = None
    else:
        path, variant = resolve_spec(spec)
        program = load_program(path)
    replay.clear()
    fresh = analysed(lower(program, variant, {}), cold=True)
    warm = analysed(lower(program, variant, {}), cold=False)
    assert warm == fresh
    if spec == "branches":
        assert [w.split(":")[0] for w in analyze(lower(program)).warnings] == ["first.2", "second.2"]
