"""The answers to an editor's questions about one snapshot: diagnostics, hover, inlay hints, completion,
definitions, document symbols and formatting, as lsprotocol types. Positions are the protocol's: 0-based
lines and characters; archspec's spans are 1-based."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types as lsp

from archspec import ast
from archspec.elab.walk import statements
from archspec.errors import Diagnostic
from archspec.lsp.document import LineFacts, Snapshot
from archspec.source import Span
from archspec.tokens import KEYWORDS, Token, tokenize

SOURCE = "archspec"


def _range(span: Span) -> lsp.Range:
    end_line = max(span.end_line, span.line)
    end_column = span.end_column if end_line > span.line else max(span.end_column, span.column + 1)
    return lsp.Range(lsp.Position(span.line - 1, span.column - 1), lsp.Position(end_line - 1, end_column - 1))


def diagnostics(snapshot: Snapshot) -> list[lsp.Diagnostic]:
    """`check`'s errors and warnings. One found in an imported file is shown on the first line, with
    its place in the message."""
    found = []
    for d in snapshot.diagnostics:
        found.append(_diagnostic(d, snapshot.key))
    return found


def _diagnostic(d: Diagnostic, key: str) -> lsp.Diagnostic:
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    if d.span is None or d.span.path != key:
        where = f"{d.span}: " if d.span is not None else ""
        place = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 1))
        message = where + message
    else:
        place = _range(d.span)
    severity = lsp.DiagnosticSeverity.Warning if d.severity == "warning" else lsp.DiagnosticSeverity.Error
    return lsp.Diagnostic(range=place, message=message, severity=severity, source=SOURCE)


# ---------------------------------------------------------------- words and lines


def _line_tokens(snapshot: Snapshot, line: int) -> list[Token]:
    lines = snapshot.text.splitlines()
    if not 0 <= line < len(lines):
        return []
    return [t for t in tokenize(lines[line]) if t.kind not in ("SPACE", "NEWLINE", "CONTINUATION")]


def _token_at(snapshot: Snapshot, line: int, character: int) -> tuple[Token | None, Token | None]:
    """The token under the cursor (or just before it) and the token after that one."""
    tokens = _line_tokens(snapshot, line)
    for position, token in enumerate(tokens):
        if token.column <= character <= token.end_column and token.kind != "COMMENT":
            return token, tokens[position + 1] if position + 1 < len(tokens) else None
    return None, None


def _blocks(snapshot: Snapshot) -> dict[str, ast.BlockDef]:
    return dict(snapshot.program.root.blocks) if snapshot.program is not None else {}


def _figures(facts: LineFacts, variant: str) -> str:
    from archspec.ops import format_shape
    from archspec.report import human

    shapes = [format_shape(s) for s in facts.shapes]
    if facts.instances == 1:
        output = f"**output** `{shapes[0]}`"
    else:
        distinct = list(dict.fromkeys(shapes))
        shown = ", ".join(f"`{s}`" for s in distinct[:4]) + (", …" if len(distinct) > 4 else "")
        output = f"**{facts.instances} instances**, outputs {shown}"
    total = "" if facts.instances == 1 else " (all instances)"
    return (
        f"{output}  \n**params** {facts.params:,}{total} · **MACs** {human(facts.macs)}{total} · "
        f"**RF** {facts.receptive_field}  \n*{variant}, the default variant*"
    )


def hover(snapshot: Snapshot, line: int, character: int) -> lsp.Hover | None:
    """A block's signature and comment, an op's reference entry, and the line's figures."""
    from archspec.op_reference import op_entry

    token, after = _token_at(snapshot, line, character)
    parts: list[str] = []
    if token is not None and token.kind == "NAME":
        block = _blocks(snapshot).get(token.text)
        if block is not None:
            parts.append(_block_text(snapshot, block))
        elif token.text not in KEYWORDS and (after is None or after.text != ":"):
            entry = op_entry(token.text)
            if entry is not None:
                parts.append(entry)
    facts = snapshot.lines.get(line + 1)
    if facts is not None and snapshot.graph is not None:
        parts.append(_figures(facts, snapshot.graph.variant or snapshot.graph.network))
    if not parts:
        return None
    return lsp.Hover(
        contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value="\n\n---\n\n".join(parts))
    )


def _block_text(snapshot: Snapshot, block: ast.BlockDef) -> str:
    """``block Name(a, b=1)`` and the comment lines just above its definition."""
    text = _file_text(snapshot, block.span.path)
    lines = text.splitlines()
    header = lines[block.span.line - 1].strip() if block.span.line <= len(lines) else f"block {block.name}"
    comment: list[str] = []
    number = block.span.line - 2
    while number >= 0 and lines[number].lstrip().startswith("#"):
        comment.insert(0, lines[number].lstrip()[1:].strip())
        number -= 1
    where = "" if block.span.path == snapshot.key else f"\n\n*from {block.span.path}*"
    return f"```archspec\n{header.rstrip(':')}\n```" + (f"\n\n{' '.join(comment)}" if comment else "") + where


def _file_text(snapshot: Snapshot, key: str) -> str:
    if key == snapshot.key or snapshot.program is None:
        return snapshot.text
    scope = snapshot.program.files.get(key)
    return scope.text if scope is not None else ""


def inlay_hints(snapshot: Snapshot, start: int, end: int) -> list[lsp.InlayHint]:
    """Each layer line's output shape at its end (lines ``start`` to ``end``, 0-based, inclusive)."""
    from archspec.ops import format_shape

    lines = snapshot.text.splitlines()
    hints = []
    for number in sorted(snapshot.lines):
        if not start <= number - 1 <= end or number > len(lines):
            continue
        facts = snapshot.lines[number]
        shapes = list(dict.fromkeys(format_shape(s) for s in facts.shapes))
        label = shapes[0] if len(shapes) == 1 else f"{shapes[0]} … {shapes[-1]}"
        code = lines[number - 1]
        comment = next((t for t in tokenize(code) if t.kind == "COMMENT"), None)
        column = len(code[: comment.column].rstrip()) if comment is not None else len(code.rstrip())
        hints.append(
            lsp.InlayHint(
                position=lsp.Position(number - 1, column),
                label=f"→ {label}",
                kind=lsp.InlayHintKind.Type,
                padding_left=True,
            )
        )
    return hints


# ---------------------------------------------------------------- completion


def completion(snapshot: Snapshot, line: int, character: int) -> list[lsp.CompletionItem]:
    """Op names (and an op's arguments inside its call), block names, parameters and names in scope."""
    from archspec.expr import FUNCTIONS
    from archspec.op_reference import signature
    from archspec.ops import OPS_BY_NAME

    items: list[lsp.CompletionItem] = []
    call = _enclosing_call(snapshot, line, character)
    if call is not None and call in OPS_BY_NAME:
        op = OPS_BY_NAME[call]
        for name in [*op.spec_arguments(), *sorted(op.aliases)]:
            detail = f"{call}'s argument" + (f" (for {op.aliases[name]})" if name in op.aliases else "")
            field = lsp.CompletionItemKind.Field
            items.append(lsp.CompletionItem(f"{name}=", kind=field, detail=detail, sort_text=f"0{name}"))
    for name, op in sorted(OPS_BY_NAME.items()):
        items.append(lsp.CompletionItem(name, kind=lsp.CompletionItemKind.Function, detail=signature(op)))
    for name, block in sorted(_blocks(snapshot).items()):
        params = ", ".join(p.name for p in block.params)
        items.append(lsp.CompletionItem(name, kind=lsp.CompletionItemKind.Class, detail=f"{name}({params})"))
    for name in sorted(FUNCTIONS):
        items.append(lsp.CompletionItem(name, kind=lsp.CompletionItemKind.Function, detail="function"))
    for name, kind in _names_in_scope(snapshot, line + 1).items():
        items.append(lsp.CompletionItem(name, kind=lsp.CompletionItemKind.Variable, detail=kind))
    return items


def _enclosing_call(snapshot: Snapshot, line: int, character: int) -> str | None:
    """The name of the call whose brackets hold the cursor, on the cursor's line."""
    stack: list[str | None] = []
    previous: Token | None = None
    for token in _line_tokens(snapshot, line):
        if token.column >= character:
            break
        if token.text in ("(", "[") and token.kind == "OP":
            stack.append(previous.text if previous is not None and previous.kind == "NAME" else None)
        elif token.text in (")", "]") and token.kind == "OP" and stack:
            stack.pop()
        previous = token
    return stack[-1] if stack else None


def _names_in_scope(snapshot: Snapshot, line: int) -> dict[str, str]:
    """Names a line can use: the file's bindings, the network's parameters, and inside a block its
    parameters (with ``in_channels`` and ``in_shape``)."""
    module = snapshot.module
    if module is None:
        return {}
    names = {let.name: "binding" for let in module.lets}
    for network in module.networks:
        names.update({let.name: "parameter" for let in network.params})
    for block in module.blocks:
        if block.span.line <= line <= block.span.end_line:
            names.update({p.name: f"parameter of {block.name}" for p in block.params})
            names.update({"in_channels": "input channels", "in_shape": "input shape"})
            names.update({label: "layer (for `from`)" for label in _labels(block.body, line)})
    for network in module.networks:
        names.update({label: "layer (for `from`)" for label in _labels(network.layers or (), line)})
    return names


def _labels(body: tuple[ast.Stmt, ...], line: int) -> list[str]:
    """The names of the layers and groups a body defines above ``line`` (what `from` can name)."""
    found: list[str] = []
    for stmt in body:
        if stmt.span.line >= line:
            break
        if isinstance(stmt, ast.ChainStmt):
            found += [
                item.label.text for item in stmt.items if item.label is not None and not item.label.template
            ]
        elif isinstance(stmt, ast.GroupStmt) and not stmt.label.template:
            found.append(stmt.label.text)
    return found


# ---------------------------------------------------------------- definitions and symbols


def definition(snapshot: Snapshot, line: int, character: int) -> lsp.Location | None:
    """Where the block, parameter, binding or declared tensor (``param``/``buffer``) under the cursor is
    defined (a block also in an imported file)."""
    token, _ = _token_at(snapshot, line, character)
    if token is None or token.kind != "NAME" or snapshot.module is None:
        return None
    block = _blocks(snapshot).get(token.text)
    if block is not None:
        return lsp.Location(_uri(block.span.path), _range(block.span))
    spans: dict[str, Span] = {let.name: let.span for let in snapshot.module.lets}
    for network in snapshot.module.networks:
        spans.update({let.name: let.span for let in network.params})
    for found in snapshot.module.blocks:
        if found.span.line <= line + 1 <= found.span.end_line:
            spans.update({p.name: p.span for p in found.params})
            spans.update({s.name: s.name_span for s in _declarations(found.body)})
    for network in snapshot.module.networks:
        if network.span.line <= line + 1 <= network.span.end_line:
            spans.update({s.name: s.name_span for s in _declarations(network.layers or ())})
    span = spans.get(token.text)
    return lsp.Location(_uri(span.path), _range(span)) if span is not None else None


def _declarations(body: tuple[ast.Stmt, ...]) -> list[ast.StateStmt]:
    """The ``param`` and ``buffer`` statements of a body and of the bodies inside it (what ``from``
    and expressions of the enclosing block or network can name)."""
    return [stmt for stmt in statements(body) if isinstance(stmt, ast.StateStmt)]


def _uri(key: str) -> str:
    return Path(key).resolve().as_uri()


def symbols(snapshot: Snapshot) -> list[lsp.DocumentSymbol]:
    """Networks (their variants, parameters, named groups of layers and declared tensors), blocks (their
    parameters, groups and declared tensors) and bindings."""
    module = snapshot.module
    if module is None:
        return []
    found = [_symbol(let.name, lsp.SymbolKind.Constant, let.span) for let in module.lets]
    for block in module.blocks:
        params = [_symbol(p.name, lsp.SymbolKind.Variable, p.span) for p in block.params]
        found.append(_symbol(block.name, lsp.SymbolKind.Class, block.span, params + _groups(block.body)))
    for network in module.networks:
        children = [_symbol(v.name, lsp.SymbolKind.EnumMember, v.span) for v in network.variants]
        children += [_symbol(let.name, lsp.SymbolKind.Variable, let.span) for let in network.params]
        children += _groups(network.layers or ())
        found.append(_symbol(network.name, lsp.SymbolKind.Module, network.span, children))
    return found


def _symbol(
    name: str, kind: lsp.SymbolKind, span: Span, children: list[lsp.DocumentSymbol] | None = None
) -> lsp.DocumentSymbol:
    whole = _range(span)
    first = lsp.Range(whole.start, lsp.Position(whole.start.line, whole.start.character + len(name)))
    return lsp.DocumentSymbol(
        name, kind, whole, first if whole.end != whole.start else whole, children=children
    )


def _groups(body: tuple[ast.Stmt, ...]) -> list[lsp.DocumentSymbol]:
    """The named groups (``name:`` and an indented body) of a body, nested as they are, and its
    ``param`` and ``buffer`` declarations."""
    found = []
    for stmt in body:
        if isinstance(stmt, ast.GroupStmt):
            found.append(_symbol(stmt.label.text, lsp.SymbolKind.Namespace, stmt.span, _groups(stmt.body)))
        elif isinstance(stmt, ast.StateStmt):  # a tensor of the module: its state-dict key ends in the name
            kind = lsp.SymbolKind.Field if stmt.kind == "param" else lsp.SymbolKind.Constant
            found.append(
                lsp.DocumentSymbol(
                    stmt.name, kind, _range(stmt.span), _range(stmt.name_span), detail=stmt.kind
                )
            )
        elif isinstance(stmt, ast.ForStmt | ast.ResidualStmt | ast.MergeStmt):
            found.extend(_groups(stmt.body))
        elif isinstance(stmt, ast.IfStmt):
            for _, branch in stmt.branches:
                found.extend(_groups(branch))
            found.extend(_groups(stmt.otherwise or ()))
    return found


def formatting(snapshot: Snapshot) -> list[lsp.TextEdit] | None:
    """The whole document in `fmt`'s layout, as one edit (none when it is formatted; None on an error)."""
    from archspec.errors import SpecError
    from archspec.fmt import format_text
    from archspec.yaml_form import is_yaml

    if is_yaml(snapshot.key):  # `fmt` lays out the text form; a YAML file keeps its own layout
        return None
    try:
        formatted = format_text(snapshot.text, snapshot.key)
    except SpecError:
        return None
    if formatted == snapshot.text:
        return []
    lines = snapshot.text.split("\n")
    end = lsp.Position(len(lines) - 1, len(lines[-1]))
    return [lsp.TextEdit(lsp.Range(lsp.Position(0, 0), end), formatted)]
