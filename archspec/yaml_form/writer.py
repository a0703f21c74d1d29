"""Writing a spec in the other form: a parsed spec (``archspec.ast``) as YAML, and a YAML spec as text.

YAML to text writes the text the reader generates (the strings as they were written) in ``archspec fmt``'s
layout. Text to YAML writes each expression and chain with ``unparse``. Comments are not carried over
either way: the parser keeps none.
"""

from __future__ import annotations

import io
from typing import Any

from archspec import ast
from archspec.yaml_form import unparse
from archspec.yaml_form.pieces import CHAIN_MERGE, KEYWORD, MERGES, NAME, RESERVED, SECTIONS

_WIDTH = 4096  # YAML lines are not wrapped: a layer stays on its line


def to_yaml(module: ast.Module) -> str:
    """The YAML form of a parsed spec (docs/yaml.md)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    root = CommentedMap()
    if module.imports:
        root["imports"] = [_import(imported) for imported in module.imports]
    if module.lets:
        root["lets"] = CommentedMap((let.name, _value(let.value)) for let in module.lets)
    for block in module.blocks:
        body: Any = _body(block.body)
        if block.label is not None or block.order:
            settings: list[tuple[str, Any]] = [] if block.label is None else [("label", block.label.text)]
            if block.order:
                settings.append(("order", _flow([name.text for name in block.order])))
            body = CommentedMap([*settings, ("layers", body)])
        root[f"block {unparse.signature(block)}"] = body
    for network in module.networks:
        root[f"network {network.name}"] = _network(network)
    yaml = YAML(typ="rt")
    yaml.width = _WIDTH
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = io.StringIO()
    yaml.dump(root, stream)
    # A blank line before each top-level entry (a block, the network), as the text form has.
    lines = stream.getvalue().splitlines(keepends=True)
    return "".join(("\n" + line) if index and line[:1].strip() else line for index, line in enumerate(lines))


def _flow(items: list[Any]) -> Any:
    from ruamel.yaml.comments import CommentedSeq

    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _flow_map(pairs: list[tuple[str, Any]]) -> Any:
    from ruamel.yaml.comments import CommentedMap

    mapping = CommentedMap(pairs)
    mapping.fa.set_flow_style()
    return mapping


def _import(imported: ast.Import) -> Any:
    if imported.names is None:
        return imported.path
    return _flow_map([(imported.path, _flow([name for name, _ in imported.names]))])


def _plain(node: ast.Expr) -> bool:
    """Whether an expression is written as a YAML value: a number, a boolean, none, or a list of them."""
    if isinstance(node, ast.Literal):
        return not isinstance(node.value, str)
    if isinstance(node, ast.UnaryOp):
        return (
            node.op == "-"
            and isinstance(node.operand, ast.Literal)
            and type(node.operand.value) in (int, float)
        )
    return isinstance(node, ast.ListExpr) and not node.tuple and all(_plain(item) for item in node.items)


def _yaml_of(node: ast.Expr) -> Any:
    if isinstance(node, ast.Literal):
        return node.value
    if isinstance(node, ast.UnaryOp):
        return -_yaml_of(node.operand)
    assert isinstance(node, ast.ListExpr)
    return _flow([_yaml_of(item) for item in node.items])


def _value(node: ast.Expr) -> Any:
    """An expression as a YAML value: plain values as YAML's, anything else as a string of the text. A
    table (a list of rows) is written a row a line."""
    if not _plain(node):
        return unparse.expression(node)
    if (
        isinstance(node, ast.ListExpr)
        and len(node.items) > 1
        and all(isinstance(i, ast.ListExpr) for i in node.items)
    ):
        return [_yaml_of(row) for row in node.items]
    return _yaml_of(node)


def _folded(node: ast.Expr) -> str | None:
    """A string literal, or literals joined by ``+`` (a long metadata text), as one string."""
    if isinstance(node, ast.Literal) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinaryOp) and node.op == "+":
        left, right = _folded(node.left), _folded(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def _meta_value(node: ast.Expr) -> Any:
    """A metadata value: text as YAML text, plain values as YAML's, anything else as ``=expression``."""
    text = _folded(node)
    if text is not None:
        return text
    if isinstance(node, ast.ListExpr) and not node.tuple:
        values = [_meta_value(item) for item in node.items]
        if not any(isinstance(v, str) and v.startswith("=") for v in values):
            return _flow(values)
    if _plain(node):
        return _yaml_of(node)
    return "=" + unparse.expression(node)


def _meta(entries: tuple[ast.MetaEntry, ...]) -> list[tuple[str, Any]]:
    from ruamel.yaml.comments import CommentedMap

    out: list[tuple[str, Any]] = []
    for entry in entries:
        if isinstance(entry.value, tuple):
            out.append((entry.key, CommentedMap(_meta(entry.value))))
        else:
            out.append((entry.key, _meta_value(entry.value)))
    return out


def _input(node: ast.Expr) -> Any:
    if (
        isinstance(node, ast.ListExpr)
        and not node.tuple
        and len(node.items) > 1
        and all(isinstance(i, ast.Literal) and type(i.value) is int and i.value >= 0 for i in node.items)
    ):
        return "x".join(str(i.value) for i in node.items if isinstance(i, ast.Literal))
    return _value(node)


def _network(network: ast.NetworkDef) -> Any:
    from ruamel.yaml.comments import CommentedMap

    out = CommentedMap(_meta(network.meta))
    if network.init:
        out["init"] = _init(network.init)
    if network.input is not None:
        out["input"] = _input(network.input)
    if network.params:
        out["params"] = CommentedMap((let.name, _value(let.value)) for let in network.params)
    if network.variants:
        out["variants"] = CommentedMap(
            (
                row.name,
                _flow_map([(k.name, _value(k.value)) for k in row.overrides]) if row.overrides else None,
            )
            for row in network.variants
        )
    if network.layers is not None:
        out["layers"] = _body(network.layers)
    return out


def _target(rule: ast.InitRule) -> str:
    if not rule.pattern:
        return rule.target
    if NAME.match(rule.target) or rule.target[:1] in ("'", '"') or rule.target == "when built":
        return unparse.string(rule.target)
    return rule.target


def _init(rules: tuple[ast.InitRule, ...]) -> Any:
    from ruamel.yaml.comments import CommentedMap

    out = CommentedMap()
    built = CommentedMap()
    for rule in rules:
        (built if rule.built else out)[_target(rule)] = ", ".join(unparse.clause(c) for c in rule.clauses)
    if built:
        out["when built"] = built
    return out


# ---------------------------------------------------------------- bodies


def _label_key(node: ast.Label) -> str:
    """A label as a YAML key: a name as it is; a template as its text, quoted inside the string where the
    bare text would read as a name or a statement's keyword."""
    if not node.template:
        return node.text
    text = node.text
    if (
        NAME.match(text)
        or text[:1] in ("'", '"', " ")
        or text != text.strip()
        or KEYWORD.match(text)
        or text in MERGES
        or CHAIN_MERGE.match(text)
        or text in SECTIONS
        or text in RESERVED
    ):
        return unparse.string(text)
    return text


def _suite(body: tuple[ast.Stmt, ...]) -> Any:
    """A body after ``for``/``if``/``shortcut``: one chain on the line, else a list."""
    if len(body) == 1 and isinstance(body[0], ast.ChainStmt) and body[0].merge is None:
        return unparse.chain(body[0].items)
    return _body(body)


def _body(body: tuple[ast.Stmt, ...]) -> list[Any]:
    return [_statement(statement) for statement in body]


def _statement(node: ast.Stmt) -> Any:
    from ruamel.yaml.comments import CommentedMap

    if isinstance(node, ast.Let):
        return f"{node.name} = {unparse.expression(node.value)}"
    if isinstance(node, ast.Unpack):
        return f"{', '.join(node.targets)} = {unparse.expression(node.value)}"
    if isinstance(node, ast.ChainStmt):
        if node.merge is not None:
            key = f"{unparse.chain(node.items)} >> {node.merge.op}"
            return CommentedMap([(key, _body(node.merge.body))])
        first = node.items[0]
        if first.label is not None:
            return CommentedMap([(_label_key(first.label), unparse.chain(node.items, first_label=False))])
        return unparse.chain(node.items)
    if isinstance(node, ast.GroupStmt):
        return CommentedMap([(_label_key(node.label), _body(node.body))])
    if isinstance(node, ast.ForStmt):
        header = f"for {', '.join(node.targets)} in {unparse.expression(node.iterable)}"
        return CommentedMap([(header, _suite(node.body))])
    if isinstance(node, ast.IfStmt):
        out = CommentedMap()
        for index, (condition, branch) in enumerate(node.branches):
            out[f"{'elif' if index else 'if'} {unparse.expression(condition)}"] = _suite(branch)
        if node.otherwise is not None:
            out["else"] = _suite(node.otherwise)
        return out
    if isinstance(node, ast.ResidualStmt):
        header = "residual" if node.condition is None else f"residual if {unparse.expression(node.condition)}"
        pairs: list[tuple[str, Any]] = [(header, _body(node.body))]
        if node.shortcut is not None:
            name = (
                "shortcut"
                if node.shortcut.label is None
                else f"shortcut {unparse.label(node.shortcut.label)}"
            )
            shortcut = (name, _suite(node.shortcut.body))
            pairs.insert(0 if node.shortcut_first else 1, shortcut)
        return CommentedMap(pairs)
    if isinstance(node, ast.StateStmt):
        value = ", ".join(
            [
                unparse.expression(node.value),
                *(f"{k.name}={unparse.expression(k.value)}" for k in node.kwargs),
            ]
        )
        return CommentedMap([(f"{node.kind} {node.name}", value)])
    assert isinstance(node, ast.MergeStmt)
    return CommentedMap([(node.op, _body(node.body))])


def to_text(text: str, path: str) -> str:
    """The text form of a YAML spec, in ``archspec fmt``'s layout. Raises SpecError (positioned in the
    YAML file) when the YAML spec has a mistake the parser finds."""
    from archspec.fmt import format_text
    from archspec.yaml_form.reader import text_of

    return format_text(text_of(text, path), path)
