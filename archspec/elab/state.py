"""Lowering of ``param`` and ``buffer`` declarations: the op each makes, its shape and value checked.

A declaration is a node with no input, named by the declared name in the enclosing module, and visible to
``from`` like a labelled layer; it takes no position in its sequence (it is not a module) and the flow
goes on past it. A buffer's value is computed by the spec (lists, comprehensions, ``range``) and kept
flattened in the IR with its shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from keyword import iskeyword
from typing import TYPE_CHECKING, Any

from archspec import ast
from archspec.elab.walk import expr_children
from archspec.errors import SpecError, did_you_mean
from archspec.expr import Value, evaluate, show
from archspec.init_rules import init_call
from archspec.limits import MAX_BUFFER, MAX_BUFFER_STEPS, MAX_PARAM, own_budget

if TYPE_CHECKING:  # imported where a declaration is lowered: most networks declare none (start-up cost)
    from archspec.ops.tensor import Buffer, Param

_DTYPES = ("int64", "int32", "float32", "float64", "bool")
_KEYWORDS = {"param": ("init",), "buffer": ("persistent", "dtype")}


# A buffer's value by (its expression, the values of the names it reads): the same block instantiated
# again (Swin's twelve attention blocks) computes its index once.
BufferCache = dict[tuple[int, tuple[tuple[str, Any], ...]], "Buffer"]


def state_op(
    stmt: ast.StateStmt, env: Mapping[str, Value], cache: BufferCache | None = None
) -> Param | Buffer:
    """The op a ``param`` or ``buffer`` declaration makes (a buffer found in ``cache`` when computed
    before from the same names' values)."""
    seen: dict[str, ast.Keyword] = {}
    allowed = _KEYWORDS[stmt.kind]
    for kw in stmt.kwargs:
        if kw.name not in allowed:
            raise SpecError.at(
                kw.span,
                f"{stmt.kind} '{stmt.name}' has no setting '{kw.name}'",
                did_you_mean(kw.name, allowed) or f"its settings: {', '.join(allowed)}",
            )
        if kw.name in seen:
            raise SpecError.at(kw.span, f"{stmt.kind} '{stmt.name}' sets '{kw.name}' twice")
        seen[kw.name] = kw
    if stmt.kind == "param":
        return _param(stmt, seen, env)
    names = sorted({n.id for n in state_names(stmt) if n.id in env})
    key = (id(stmt), tuple((n, env[n]) for n in names))
    try:
        found = cache.get(key) if cache is not None else None
    except TypeError:  # a value that cannot be hashed: computed every time
        return _buffer(stmt, seen, env)
    if found is None:
        found = _buffer(stmt, seen, env)
        if cache is not None:
            cache[key] = found
    return found


def state_names(stmt: ast.StateStmt) -> list[ast.Name]:
    """The names a ``param``/``buffer`` declaration reads (its value's and its settings')."""
    found: list[ast.Name] = []
    stack: list[ast.Expr] = [stmt.value, *(kw.value for kw in stmt.kwargs)]
    while stack:
        expr = stack.pop()
        if isinstance(expr, ast.Name):
            found.append(expr)
        elif isinstance(expr, ast.ListComp):
            stack.extend([expr.element, expr.iterable, *([expr.condition] if expr.condition else [])])
        else:
            stack.extend(expr_children(expr))
    return found


def _param(stmt: ast.StateStmt, kwargs: Mapping[str, ast.Keyword], env: Mapping[str, Value]) -> Param:
    from archspec.ops.tensor import Param

    shape = evaluate(stmt.value, env)
    hint = "a param's shape is a list of sizes: `param table: [169, 3]`"
    if not isinstance(shape, tuple) or not shape:
        raise SpecError.at(
            stmt.value.span,
            f"param '{stmt.name}': the shape must be a list of sizes, got {show(shape)}",
            hint,
        )
    total = 1
    for size in shape:
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise SpecError.at(
                stmt.value.span,
                f"param '{stmt.name}': every size must be a positive integer, "
                f"got {show(size)} in {show(shape)}",
                hint,
            )
        total *= size
    if total > MAX_PARAM:
        raise SpecError.at(
            stmt.value.span, f"param '{stmt.name}': {total} elements are over the limit of {MAX_PARAM}"
        )
    args: dict[str, Any] = {"shape": shape}
    if "init" in kwargs:
        clause = _init_clause(stmt, kwargs["init"])
        call = init_call(clause, "weight", ["param"], env)
        args.update(init=call.function, init_args=dict(call.args))
    return Param(**args)


def _init_clause(stmt: ast.StateStmt, kw: ast.Keyword) -> ast.InitClause:
    """``init=trunc_normal(std=0.02)`` (or ``init=zeros``) as an init rule's clause."""
    value = kw.value
    if isinstance(value, ast.Name):
        return ast.InitClause(None, value.id, (), (), value.span)
    if isinstance(value, ast.FuncCall):
        return ast.InitClause(None, value.func, value.args, value.kwargs, value.span)
    raise SpecError.at(
        value.span,
        f"param '{stmt.name}': init takes an init scheme, such as zeros or trunc_normal(std=0.02)",
        "the schemes are those of `init:` rules (docs/language.md#initialisation)",
    )


def _buffer(stmt: ast.StateStmt, kwargs: Mapping[str, ast.Keyword], env: Mapping[str, Value]) -> Buffer:
    from archspec.ops.tensor import Buffer

    with own_budget(MAX_BUFFER_STEPS):  # bounded by its size (MAX_BUFFER), not by the network's steps
        value = evaluate(stmt.value, env)
    shape, flat = _flatten(stmt, value)
    persistent = True
    if "persistent" in kwargs:
        kw = kwargs["persistent"]
        persistent_value = evaluate(kw.value, env)
        if not isinstance(persistent_value, bool):
            raise SpecError.at(
                kw.value.span,
                f"buffer '{stmt.name}': persistent must be true or false, got {show(persistent_value)}",
            )
        persistent = persistent_value
    if all(isinstance(v, bool) for v in flat):
        dtype = "bool"
    elif all(isinstance(v, int) for v in flat):
        dtype = "int64"
    else:
        dtype = "float32"
    if "dtype" in kwargs:
        dtype = _dtype(stmt, kwargs["dtype"])
        if dtype != "bool" and any(isinstance(v, bool) for v in flat):
            raise SpecError.at(
                stmt.value.span, f"buffer '{stmt.name}': true and false make a bool buffer, not {dtype}"
            )
        if dtype in ("int64", "int32") and any(isinstance(v, float) for v in flat):
            bad = next(v for v in flat if isinstance(v, float))
            raise SpecError.at(
                stmt.value.span, f"buffer '{stmt.name}': the {dtype} value holds the fraction {show(bad)}"
            )
    source = value_python(stmt.value, env)
    return Buffer(shape=shape, values=tuple(flat), dtype=dtype, persistent=persistent, source=source)


def _dtype(stmt: ast.StateStmt, kw: ast.Keyword) -> str:
    # `dtype=int64` names a dtype (not a value of the spec); a string is taken too.
    value = kw.value
    text = (
        value.id if isinstance(value, ast.Name) else value.value if isinstance(value, ast.Literal) else None
    )
    if text not in _DTYPES:
        shown = text if isinstance(text, str) else "that"
        raise SpecError.at(
            value.span,
            f"buffer '{stmt.name}': unknown dtype {shown}",
            did_you_mean(str(text), _DTYPES) or f"the dtypes: {', '.join(_DTYPES)}",
        )
    return str(text)


def _flatten(stmt: ast.StateStmt, value: Value) -> tuple[tuple[int, ...], list[Any]]:
    """The shape of a nested list of numbers (each level of one length) and its elements in order."""
    where = f"buffer '{stmt.name}'"
    if not isinstance(value, tuple):
        raise SpecError.at(
            stmt.value.span, f"{where}: the value must be a list (of lists) of numbers, got {show(value)}"
        )
    shape: list[int] = []
    level: list[Value] = [value]
    while level and isinstance(level[0], tuple):
        size = len(level[0])
        for row in level:
            if not isinstance(row, tuple) or len(row) != size:
                got = f"a list of {len(row)}" if isinstance(row, tuple) else show(row)
                raise SpecError.at(
                    stmt.value.span,
                    f"{where}: the value is not rectangular: at depth {len(shape) + 1} a list of {size} "
                    f"beside {got}",
                    "every list at one depth must have the same length",
                )
        if size == 0:
            raise SpecError.at(stmt.value.span, f"{where}: the value has an empty list")
        shape.append(size)
        level = [item for row in level for item in row]
        if len(level) > MAX_BUFFER:
            raise SpecError.at(
                stmt.value.span, f"{where}: {len(level)} elements are over the limit of {MAX_BUFFER}"
            )
    for item in level:
        if isinstance(item, tuple) or not isinstance(item, int | float | bool):
            raise SpecError.at(
                stmt.value.span,
                f"{where}: the value is not rectangular, or holds {show(item)}: a buffer holds numbers",
            )
    return tuple(shape), level


# The functions a buffer's value may call that the generated file writes as Python's own.
_PYTHON_CALLS = frozenset({"range", "len", "min", "max", "abs"})


def value_python(expr: ast.Expr, env: Mapping[str, Value]) -> str | None:
    """A buffer's value as Python source that computes it (the generated file writes this, not its
    thousands of numbers), every name but a comprehension's own replaced by its value; None when the
    expression holds something this does not write (the file then holds the numbers)."""
    from archspec.python_text import python_expression

    bound: set[str] = set()

    def name(node: ast.Name) -> str | None:
        if node.id in bound:
            return node.id
        value = env.get(node.id)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return repr(value)
        return None

    def call(node: ast.FuncCall, args: list[str]) -> str | None:
        return f"{node.func}({', '.join(args)})" if node.func in _PYTHON_CALLS else None

    def write(node: ast.Expr) -> str | None:
        if isinstance(node, ast.ListExpr) and not node.tuple:
            items = [write(item) for item in node.items]
            return None if any(i is None for i in items) else f"[{', '.join(i for i in items if i)}]"
        if isinstance(node, ast.ListComp) and node.condition is None:
            if any(iskeyword(t) or t in _PYTHON_CALLS or t == "torch" for t in node.targets):
                return None  # a name Python reads otherwise
            iterable = write(node.iterable)
            bound.update(node.targets)
            element = write(node.element)
            if iterable is None or element is None:
                return None
            return f"[{element} for {', '.join(node.targets)} in {iterable}]"
        if isinstance(node, ast.FuncCall) and node.func in _PYTHON_CALLS and not node.kwargs:
            args = [write(a) for a in node.args]
            return None if any(a is None for a in args) else f"{node.func}({', '.join(a for a in args if a)})"
        if isinstance(node, ast.ListExpr | ast.ListComp):
            return None
        return python_expression(node, name, call)

    return write(expr)
