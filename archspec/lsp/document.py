"""What the language server knows of one open spec: `check`'s errors and warnings, and the figures of
`analyze` (default variant) per source line. Plain data, built from the text alone (no editor, no
protocol), so that the server's features and the latency benchmark call it directly.

A snapshot is built in two steps: ``analyse`` (the file loaded, the static checks and the default
variant lowered and analysed: enough for diagnostics on most edits and for hovers) and
``check_other_variants`` (the remaining variants, as `check` lowers them all).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from archspec import ast
from archspec.analysis import Analysis
from archspec.errors import Diagnostic, SpecError
from archspec.ir import Graph
from archspec.loader import Program, display_path


@dataclass(frozen=True)
class LineFacts:
    """The figures of the layers a line makes, over every instance (a block's line has one a call)."""

    shapes: tuple[tuple[int, ...], ...]  # each instance's output shape, in network order
    params: int
    macs: int
    receptive_field: str
    instances: int
    names: tuple[str, ...]


@dataclass
class Snapshot:
    """One version of a document and what archspec found in it."""

    path: Path
    text: str
    key: str = ""  # the file's name in spans (``display_path``)
    program: Program | None = None
    module: ast.Module | None = None
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    graph: Graph | None = None
    analysis: Analysis | None = None
    lines: dict[int, LineFacts] = field(default_factory=dict)  # 1-based line -> facts
    variants_left: list[str] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Errors, then warnings, each place and message once."""
        seen: dict[tuple[object, str, str], Diagnostic] = {}
        for found in [*self.errors, *self.warnings]:
            seen.setdefault((found.span, found.message, found.severity), found)
        return list(seen.values())


def analyse(path: Path, text: str) -> Snapshot:
    """Load ``text`` as the file ``path`` (its imports read from disk), check it statically and lower and
    analyse its default variant."""
    from archspec.analysis import analyze
    from archspec.checks import chain_label_warnings, static_errors
    from archspec.loader import load_program
    from archspec.lower import lower, network_of, variant_names

    snapshot = Snapshot(path, text, display_path(path))
    try:
        snapshot.program = load_program(path, text=text)
    except SpecError as error:
        snapshot.errors = list(error.diagnostics)
        return snapshot
    program = snapshot.program
    snapshot.module = program.root.module
    snapshot.errors = static_errors(program)
    snapshot.warnings = chain_label_warnings(program)
    if not snapshot.module.networks:
        return snapshot  # a file of blocks: `check` lowers nothing either
    try:
        names = variant_names(network_of(program))
    except SpecError as error:
        snapshot.errors += error.diagnostics
        return snapshot
    snapshot.variants_left = names[1:]
    try:
        snapshot.graph = lower(program, names[0])
    except SpecError as error:
        snapshot.errors += error.diagnostics
        return snapshot
    _graph_warnings(snapshot, snapshot.graph)
    snapshot.analysis = analyze(snapshot.graph)
    snapshot.lines = line_facts(snapshot.analysis, snapshot.key)
    return snapshot


def check_other_variants(snapshot: Snapshot) -> bool:
    """Lower the variants ``analyse`` left; True when that found something new."""
    from archspec.lower import lower

    before = len(snapshot.diagnostics)
    if snapshot.program is None:
        return False
    for name in snapshot.variants_left:
        try:
            graph = lower(snapshot.program, name)
        except SpecError as error:
            snapshot.errors += error.diagnostics
            continue
        _graph_warnings(snapshot, graph)
    snapshot.variants_left = []
    return len(snapshot.diagnostics) > before


def _graph_warnings(snapshot: Snapshot, graph: Graph) -> None:
    from archspec.checks import unused_output_warnings

    snapshot.warnings += unused_output_warnings(graph)


def line_facts(analysis: Analysis, key: str) -> dict[int, LineFacts]:
    """The figures per line of the file ``key``: the layers whose op is written on the line, and the
    block instances and named sequences that start there (with everything inside them)."""
    from archspec.report import rf_text

    graph = analysis.graph
    by_line: dict[int, set[int]] = defaultdict(set)
    last_of_call: dict[int, list[int]] = defaultdict(list)  # line -> each instance's output node
    for node in graph.nodes:
        if node.span is not None and node.span.path == key:
            by_line[node.span.line].add(node.id)
            last_of_call[node.span.line].append(node.id)
    for scope in graph.scopes:
        if scope.span is None or scope.span.path != key or not scope.name:
            continue
        inside = [n.id for n in graph.nodes if n.name.startswith(scope.name + ".")]
        if inside:
            by_line[scope.span.line].update(inside)
            last_of_call[scope.span.line].append(max(inside))
    facts = {}
    for line, ids in by_line.items():
        outputs = _instance_outputs(graph, sorted(set(last_of_call[line])))
        counts = [analysis.nodes[i] for i in ids]
        facts[line] = LineFacts(
            shapes=tuple(graph.nodes[i].shape for i in outputs),
            params=sum(c.params for c in counts),
            macs=sum(c.macs for c in counts),
            receptive_field=rf_text(analysis.fields.get(outputs[-1])),
            instances=len(outputs),
            names=tuple(graph.nodes[i].name for i in outputs),
        )
    return facts


def _instance_outputs(graph: Graph, ids: list[int]) -> list[int]:
    """The output node of each instance: of the nodes a line makes in one container, the last."""
    last: dict[str, int] = {}
    for i in ids:
        last[graph.nodes[i].scope] = i
    return sorted(last.values())
