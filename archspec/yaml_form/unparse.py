"""The text of AST pieces: expressions, layer chains, labels, init clauses, as the text language writes
them, parenthesised only where the grammar needs it (the parser reads the text back to the same tree).
"""

from __future__ import annotations

import json
import math

from archspec import ast

# How tightly each form binds (the grammar's levels, loosest first).
_CONDITIONAL, _OR, _AND, _NOT, _COMPARE, _ARITH, _TERM, _FACTOR, _POWER, _ATOM = range(10)
_LEVELS = {"+": _ARITH, "-": _ARITH, "*": _TERM, "/": _TERM, "//": _TERM, "%": _TERM, "**": _POWER}


def string(text: str) -> str:
    """A string literal of the text language (Python's escapes; JSON's are a subset of them)."""
    return json.dumps(text, ensure_ascii=False)


def expression(node: ast.Expr) -> str:
    """The text of an expression."""
    return _expr(node)[0]


def _wrap(node: ast.Expr, level: int) -> str:
    text, own = _expr(node)
    return f"({text})" if own < level else text


def _literal(value: object) -> tuple[str, int]:
    if value is True or value is False:
        return ("true" if value else "false"), _ATOM
    if value is None:
        return "none", _ATOM
    if isinstance(value, str):
        return string(value), _ATOM
    text = (repr(value) if math.isfinite(value) else "none") if isinstance(value, float) else str(value)
    return text, (_FACTOR if text.startswith("-") else _ATOM)


def _arguments(args: tuple[ast.Expr, ...], kwargs: tuple[ast.Keyword, ...]) -> str:
    return ", ".join([*(expression(a) for a in args), *(f"{k.name}={expression(k.value)}" for k in kwargs)])


def _expr(node: ast.Expr) -> tuple[str, int]:
    if isinstance(node, ast.Literal):
        return _literal(node.value)
    if isinstance(node, ast.Name):
        return node.id, _ATOM
    if isinstance(node, ast.ListExpr):
        inner = ", ".join(expression(item) for item in node.items)
        if node.tuple:
            return (f"({inner},)" if len(node.items) == 1 else f"({inner})"), _ATOM
        return f"[{inner}]", _ATOM
    if isinstance(node, ast.ListComp):
        text = f"[{expression(node.element)} for {', '.join(node.targets)} in {_wrap(node.iterable, _OR)}"
        if node.condition is not None:
            text += f" if {_wrap(node.condition, _OR)}"
        return text + "]", _ATOM
    if isinstance(node, ast.BinaryOp):
        level = _LEVELS[node.op]
        if node.op == "**":
            return f"{_wrap(node.left, _ATOM)} ** {_wrap(node.right, _FACTOR)}", _POWER
        return f"{_wrap(node.left, level)} {node.op} {_wrap(node.right, level + 1)}", level
    if isinstance(node, ast.UnaryOp):
        if node.op == "not":
            return f"not {_wrap(node.operand, _NOT)}", _NOT
        return f"{node.op}{_wrap(node.operand, _FACTOR)}", _FACTOR
    if isinstance(node, ast.Compare):
        parts = [_wrap(node.first, _ARITH)]
        parts.extend(f"{op} {_wrap(operand, _ARITH)}" for op, operand in node.rest)
        return " ".join(parts), _COMPARE
    if isinstance(node, ast.BoolOp):
        level = _OR if node.op == "or" else _AND
        return f" {node.op} ".join(_wrap(value, level + 1) for value in node.values), level
    if isinstance(node, ast.Conditional):
        then, condition = _wrap(node.then, _OR), _wrap(node.condition, _OR)
        return f"{then} if {condition} else {_wrap(node.otherwise, _CONDITIONAL)}", _CONDITIONAL
    if isinstance(node, ast.Subscript):
        return f"{_wrap(node.value, _ATOM)}[{expression(node.index)}]", _ATOM
    if isinstance(node, ast.Slice):
        bounds = ["" if part is None else expression(part) for part in (node.start, node.stop)]
        step = "" if node.step is None else f":{expression(node.step)}"
        return f"{_wrap(node.value, _ATOM)}[{bounds[0]}:{bounds[1]}{step}]", _ATOM
    assert isinstance(node, ast.FuncCall)
    return f"{node.func}({_arguments(node.args, node.kwargs)})", _ATOM


def label(node: ast.Label) -> str:
    """A label as the text writes it: a name, or a quoted template."""
    return string(node.text) if node.template else node.text


def _source(node: ast.Ref | ast.RefList) -> str:
    if isinstance(node, ast.RefList):
        loop = f"{_ref(node.template)} for {', '.join(node.targets)} in {_wrap(node.iterable, _OR)}"
        if node.condition is not None:
            loop += f" if {_wrap(node.condition, _OR)}"
        return f"[{loop}]"
    return _ref(node)


def _ref(node: ast.Ref) -> str:
    if node.template:
        return string(node.path[0])
    if node.index is not None:
        return f"{node.path[0]}[{node.index}]"
    return ".".join(node.path)


def item(node: ast.Item, with_label: bool = True) -> str:
    """One item of a chain: ``[label: ]atom[ * count][ from refs]``."""
    atom = node.atom
    if isinstance(atom, ast.InlineGroup):
        text = f"({chain(atom.items)})"
    else:
        text = atom.name
        if atom.args or atom.kwargs:
            text += f"({_arguments(atom.args, atom.kwargs)})"
    if node.repeat is not None:
        text += f" * {_wrap(node.repeat, _ATOM)}"
    if node.sources:
        text += " from " + ", ".join(_source(source) for source in node.sources)
    if with_label and node.label is not None:
        text = f"{label(node.label)}: {text}"
    return text


def chain(items: tuple[ast.Item, ...], first_label: bool = True) -> str:
    """Items joined by ``>>`` (the first one's label left out when ``first_label`` is false)."""
    return " >> ".join(item(node, first_label or index > 0) for index, node in enumerate(items))


def clause(node: ast.InitClause) -> str:
    """An init clause: ``[parameter=]function[(arguments)]``."""
    text = node.function
    if node.args or node.kwargs:
        text += f"({_arguments(node.args, node.kwargs)})"
    return text if node.parameter is None else f"{node.parameter}={text}"


def signature(block: ast.BlockDef) -> str:
    """``Name(param, param=default)``."""
    params = ", ".join(
        p.name if p.default is None else f"{p.name}={expression(p.default)}" for p in block.params
    )
    return f"{block.name}({params})"
