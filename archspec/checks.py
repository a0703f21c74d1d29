"""``archspec check``: everything that can be found wrong in a spec, in one run, and the warnings.

Lowering stops at a network's first error (later layers need the shapes of earlier ones). ``check`` adds
what needs no shapes, over every block definition (used or not) and the network's layers: unknown ops,
blocks, names and functions, unknown keyword arguments and too many positional ones. It lowers every
variant too, and reports each mistake once, in the order of the file.

Warnings (``path:line:col: warning: ...``) point at specs that are valid but probably not what was meant:

- a labelled chain that goes on with unlabelled layers holding parameters (``classifier: dropout(0.2) >>
  linear(10)`` names only the dropout; the linear is named by its position);
- a computed output that nothing uses: a layer, other than the network's output, whose output no later
  layer reads (the flow moved on with ``from`` without it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from archspec import ast
from archspec.division import division_warnings
from archspec.elab.binding import Signature, bind, block_signature, op_signature, unknown_op
from archspec.elab.blocks import INPUT_NAMES
from archspec.elab.walk import StmtVisitor, free_names, is_auto, statements, subexpressions
from archspec.errors import Diagnostic, SpecError, did_you_mean
from archspec.expr import FUNCTIONS
from archspec.ir import Graph
from archspec.loader import FileScope, Program, load_program, resolve_spec
from archspec.lower import lower, network_of, variant_names
from archspec.module_names import module_name_errors
from archspec.ops import OPS_BY_NAME
from archspec.source import Span


@dataclass
class CheckResult:
    """What ``check`` found: errors (each a one-diagnostic SpecError, in file order) and warnings."""

    errors: list[SpecError] = field(default_factory=list)
    warnings: list[SpecError] = field(default_factory=list)
    # The specs that are libraries (blocks and bindings, no network), checked statically only.
    libraries: list[str] = field(default_factory=list)


def check_specs(specs: Sequence[str], only_variant: str | None = None, **load_options: Any) -> CheckResult:
    """Check each spec (a path or a zoo name): static checks, every variant lowered, warnings.

    ``load_options`` go to ``load_program`` (how imports are found)."""
    result = CheckResult()
    for spec in specs:
        try:
            path, implied = resolve_spec(spec)
            program = load_program(path, **load_options)
            wanted = only_variant or implied
            library = is_library(program)
            if library and only_variant is not None:
                raise SpecError.at(
                    None, f"--variant {only_variant}: {spec} defines no network, only blocks to import"
                )
            names = [] if library else [wanted] if wanted else variant_names(network_of(program))
        except SpecError as error:
            result.errors.append(error)
            continue
        if library:
            result.libraries.append(spec)
        errors = static_errors(program)
        warnings = chain_label_warnings(program) + division_warnings(program)
        for name in names:
            try:
                graph = lower(program, name)
            except SpecError as error:
                errors.extend(error.diagnostics)
                continue
            errors.extend(module_name_errors(graph))
            warnings.extend(unused_output_warnings(graph))
        sources = program.sources
        result.errors += [SpecError([d], dict(sources)) for d in _unique(errors)]
        result.warnings += [SpecError([d], dict(sources)) for d in _unique(warnings, by_place=True)]
    return result


def is_library(program: Program) -> bool:
    """Whether the root file is a library: blocks or bindings, and no network. Its blocks are checked
    statically (names, references, arguments), as no call gives them an input shape."""
    module = program.root.module
    return not module.networks and bool(module.blocks or module.lets)


def _unique(diagnostics: Iterable[Diagnostic], by_place: bool = False) -> list[Diagnostic]:
    """Each (place, message) once (each place once: a block's line is one place for all its instances),
    in the order of the files; the first one found is kept."""
    seen: dict[tuple[object, str], Diagnostic] = {}
    for d in diagnostics:
        seen.setdefault((d.span, "" if by_place else d.message), d)

    def order(d: Diagnostic) -> tuple[int, str, int, int]:
        if d.span is None:
            return (0, "", 0, 0)
        return (1, d.span.path, d.span.line, d.span.column)

    return sorted(seen.values(), key=order)


# ---------------------------------------------------------------- errors found without shapes


def static_errors(program: Program) -> list[Diagnostic]:
    """Unknown ops, blocks, names, functions and arguments in every block and in the network's layers."""
    found: list[Diagnostic] = []
    for file in program.files.values():
        top = _file_names(file)
        for block in file.module.blocks:
            names = top | {p.name for p in block.params} | set(INPUT_NAMES)
            for param in block.params:
                if param.default is not None:
                    _expr(param.default, top | {p.name for p in block.params}, found)
            _Walker(file, found, network_params=_network_params(program)).body(block.body, set(names))
    network = program.root.module.networks[0] if program.root.module.networks else None
    if network is not None and network.layers is not None:
        names = _file_names(program.root) | {let.name for let in network.params}
        _Walker(program.root, found).body(network.layers, names)
    return found


def _file_names(file: FileScope) -> set[str]:
    return {*file.blocks, *(let.name for let in file.module.lets)}


def _network_params(program: Program) -> frozenset[str]:
    networks = program.root.module.networks
    return frozenset(let.name for let in networks[0].params) if networks else frozenset()


class _Walker(StmtVisitor[set[str], None]):
    """Walks a body with the names visible at each point, as lowering would see them."""

    def __init__(
        self, file: FileScope, found: list[Diagnostic], network_params: frozenset[str] = frozenset()
    ) -> None:
        self.file = file
        self.found = found
        self.network_params = network_params

    def body(self, stmts: Sequence[ast.Stmt], names: set[str]) -> None:
        """Each statement, with the names bound before it."""
        for stmt in stmts:
            self.stmt(stmt, names)

    def let(self, stmt: ast.Let, names: set[str]) -> None:
        """The value, then the name is bound."""
        self.expr(stmt.value, names)
        names.add(stmt.name)

    def unpack(self, stmt: ast.Unpack, names: set[str]) -> None:
        """The value, then the names are bound."""
        self.expr(stmt.value, names)
        names.update(stmt.targets)

    def chain(self, stmt: ast.ChainStmt, names: set[str]) -> None:
        """Each item, and the merge the chain ends in."""
        for item in stmt.items:
            self.item(item, names)
        if stmt.merge is not None:
            self.merge(stmt.merge, names)

    def group(self, stmt: ast.GroupStmt, names: set[str]) -> None:
        """The body, whose bindings stay inside it."""
        self.body(stmt.body, set(names))

    def for_loop(self, stmt: ast.ForStmt, names: set[str]) -> None:
        """The values, then the body with the loop's names."""
        self.expr(stmt.iterable, names)
        self.body(stmt.body, names | set(stmt.targets))

    def if_stmt(self, stmt: ast.IfStmt, names: set[str]) -> None:
        """Every condition and every branch."""
        for condition, branch in stmt.branches:
            self.expr(condition, names)
            self.body(branch, names)
        self.body(stmt.otherwise or (), names)

    def residual(self, stmt: ast.ResidualStmt, names: set[str]) -> None:
        """The condition, the body and a written shortcut."""
        if stmt.condition is not None:
            self.expr(stmt.condition, names)
        self.body(stmt.body, names)
        if stmt.shortcut is not None and not is_auto(stmt.shortcut.body):
            self.body(stmt.shortcut.body, names)

    def merge(self, stmt: ast.MergeStmt, names: set[str]) -> None:
        """Every branch."""
        self.body(stmt.body, names)

    def state(self, stmt: ast.StateStmt, names: set[str]) -> None:
        """A declaration's value and settings (``dtype=int64`` and ``init=zeros`` name no value)."""
        self.expr(stmt.value, names)
        for kw in stmt.kwargs:
            if kw.name == "init" and isinstance(kw.value, ast.FuncCall):
                for arg in (*kw.value.args, *(k.value for k in kw.value.kwargs)):
                    self.expr(arg, names)
            elif kw.name not in ("init", "dtype"):
                self.expr(kw.value, names)

    def item(self, item: ast.Item, names: set[str]) -> None:
        """An item's count, arguments and callee."""
        if item.repeat is not None:
            self.expr(item.repeat, names)
        if isinstance(item.atom, ast.InlineGroup):
            for inner in item.atom.items:
                self.item(inner, names)
            return
        call = item.atom
        for expr in (*call.args, *(kw.value for kw in call.kwargs)):
            self.expr(expr, names)
        if call.name in self.file.blocks:
            self.arguments(block_signature(self.file.blocks[call.name]), call)
        elif call.name in names:
            return  # a value: a block-valued parameter, checked where it is called with a known block
        elif call.name in OPS_BY_NAME:
            self.arguments(op_signature(call.name, OPS_BY_NAME[call.name]), call)
        elif call.name != "auto":
            self.found.append(unknown_op(call, [*OPS_BY_NAME, *self.file.blocks]))

    def arguments(self, signature: Signature, call: ast.Call) -> None:
        """How the call's arguments are written: every mistake lowering would stop at."""

        def written(expr: ast.Expr) -> ast.Expr:
            return expr

        bind(signature, call, written, self.found.append)

    def expr(self, expr: ast.Expr, names: set[str]) -> None:
        """Unknown names and functions in ``expr``."""
        _expr(expr, names, self.found, self.network_params)


def _expr(
    expr: ast.Expr, names: set[str], found: list[Diagnostic], network_params: frozenset[str] = frozenset()
) -> None:
    """Unknown names and functions in an expression (the messages lowering gives)."""
    for name in free_names(expr):
        if name.id not in names:
            hint = did_you_mean(name.id, names)
            if hint is None and name.id in network_params:
                hint = (
                    f"'{name.id}' is a parameter of the network; a block sees only its own parameters "
                    "and the file's top-level names: add it to the block's parameters"
                )
            found.append(Diagnostic(f"unknown name '{name.id}'", name.span, hint))
    for sub in subexpressions(expr):
        if isinstance(sub, ast.FuncCall) and sub.func not in FUNCTIONS:
            found.append(
                Diagnostic(f"unknown function '{sub.func}'", sub.span, did_you_mean(sub.func, FUNCTIONS))
            )


# ---------------------------------------------------------------- warnings


def chain_label_warnings(program: Program) -> list[Diagnostic]:
    """A labelled chain that goes on with unlabelled layers holding parameters (in blocks and layers)."""
    found: list[Diagnostic] = []
    for file in program.files.values():
        for block in file.module.blocks:
            _chains(block.body, file, found)
        for network in file.module.networks:
            _chains(network.layers or (), file, found)
    return found


def _chains(stmts: Sequence[ast.Stmt], file: FileScope, found: list[Diagnostic]) -> None:
    for stmt in statements(stmts):
        if isinstance(stmt, ast.ChainStmt):
            _chain(stmt.items, file, found)
            for item in stmt.items:
                if isinstance(item.atom, ast.InlineGroup):
                    _chain(item.atom.items, file, found)


def _chain(items: Sequence[ast.Item], file: FileScope, found: list[Diagnostic]) -> None:
    first = items[0]
    if first.label is None or len(items) < 2:
        return
    for item in items[1:]:
        if item.label is not None:
            return  # the author names items one by one
        if _holds_parameters(item, file, set()):
            label = first.label.text
            whole = _text(file.text, first.atom.span, items[-1].span)
            message = (
                f"the label '{label}' names only '{_text(file.text, first.atom.span)}'; "
                f"'{_text(file.text, item.span)}' after it holds parameters and is named by its position"
            )
            hint = (
                f"to name the whole chain, write `{label}: ({whole})`, or label each layer that needs a name"
            )
            found.append(Diagnostic(message, item.span, hint, severity="warning"))
            return


def _holds_parameters(item: ast.Item, file: FileScope, seen: set[str]) -> bool:
    atom = item.atom
    if isinstance(atom, ast.InlineGroup):
        return any(_holds_parameters(i, file, seen) for i in atom.items)
    op_class = OPS_BY_NAME.get(atom.name)
    if atom.name in file.blocks and atom.name not in seen:
        seen.add(atom.name)
        return _body_holds_parameters(file.blocks[atom.name].body, file, seen)
    return op_class is not None and not op_class.param_rule.startswith("none")


def _body_holds_parameters(stmts: Sequence[ast.Stmt], file: FileScope, seen: set[str]) -> bool:
    return any(
        isinstance(stmt, ast.ChainStmt) and any(_holds_parameters(i, file, seen) for i in stmt.items)
        for stmt in statements(stmts)
    )


def _text(source: str, start: Span, end: Span | None = None) -> str:
    """The spec text from ``start`` to the end of ``end`` (``start`` alone by default), on one line."""
    end = end or start
    lines = source.splitlines()
    if start.line != end.end_line or not 1 <= start.line <= len(lines):
        return "..."
    return lines[start.line - 1][start.column - 1 : end.end_column - 1]


def unused_output_warnings(graph: Graph) -> list[Diagnostic]:
    """Layers whose output no later layer reads and that are not the network's output."""
    read = {source for node in graph.nodes for source in node.inputs}
    found = []
    for node in graph.nodes[1:]:
        if node.id not in read and node.id != graph.output:
            local = node.local_name
            use = "label it and read it with `from`" if local.isdigit() else f"read it with `from {local}`"
            hint = f"no later layer reads it and it is not the network's output; {use}, or remove it"
            found.append(Diagnostic(f"the output of '{node.name}' is never used", node.span, hint, "warning"))
    return found
