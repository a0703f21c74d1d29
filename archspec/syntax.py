"""Text to AST: the Lark LALR parser for ``grammar.lark`` and the transformer that builds ``archspec.ast``.

Syntax errors become :class:`~archspec.errors.SpecError` with a position, the offending token and, for
common mistakes, a friendly message chosen by example (Lark's ``match_examples``).
"""

from __future__ import annotations

import ast as pyast
import json
import re
import warnings
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import lark
from lark import Lark, Token, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)
from lark.grammar import Rule
from lark.indenter import DedentError, Indenter
from lark.lexer import TerminalDef
from lark.parsers.lalr_interactive_parser import InteractiveParser
from lark.tree import Meta
from lark.visitors import Transformer_NonRecursive

from archspec import ast
from archspec.block_order import check_order
from archspec.errors import Diagnostic, SpecError, printable
from archspec.limits import MAX_INT, MAX_LINE, MAX_NESTING, MAX_SPEC_BYTES, check_nesting
from archspec.parsed import text_digest
from archspec.source import Span, point


class _ArchIndenter(Indenter):
    """Turns leading whitespace into _INDENT/_DEDENT tokens; newlines inside brackets are ignored."""

    NL_type = "_NL"
    OPEN_PAREN_types: ClassVar[list[str]] = ["LPAR", "LSQB"]
    CLOSE_PAREN_types: ClassVar[list[str]] = ["RPAR", "RSQB"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8


# How the parser is built. Kept in one place: tools/gen_parser.py builds the same parser ahead of time.
_LARK_OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "propagate_positions": True,
    "maybe_placeholders": True,
    "start": ["start", "expr"],
}
TABLES_FILE = "grammar.tables.json"
# The grammar and its tables are files of the package folder (archspec is installed unzipped: the zoo is
# read from it the same way, loader.zoo_dir); a plain path skips importlib.resources' zip support.
PACKAGE = Path(__file__).parent


def grammar_text() -> str:
    """The text of ``grammar.lark``, as shipped in the package."""
    return (PACKAGE / "grammar.lark").read_text(encoding="utf-8")


def build_parser(grammar: str) -> Lark:
    """The parser, built from the grammar in memory: never cached on disk (see ``_parser``)."""
    return Lark(grammar, postlex=_ArchIndenter(), **_LARK_OPTIONS)


def serialize_tables(parser: Lark, grammar: str) -> str:
    """The JSON text ``tools/gen_parser.py`` writes into the package: the grammar's SHA-256, the Lark
    release and the parser as Lark's ``memo_serialize`` data (what its standalone generator embeds)."""
    data, memo = parser.memo_serialize([TerminalDef, Rule])
    data["options"] = {k: v for k, v in data["options"].items() if k != "postlex"}  # an object: given at load
    data["parser"]["parser"] = _canonical_table(data["parser"]["parser"])
    document = {"grammar_sha256": text_digest(grammar), "lark": lark.__version__, "data": data, "memo": memo}
    return json.dumps(document, separators=(",", ":")) + "\n"


def _canonical_table(table: dict[str, Any]) -> dict[str, Any]:
    """The LALR table numbered the same way on every run: Lark numbers its tokens and states in the order
    it meets them in sets of objects hashed by identity, so that the same grammar gives other numbers
    (and another file) on each run. Tokens are numbered by name; states in breadth-first order from the
    start states (by start name), each state's transitions taken by token name."""
    names: dict[int, str] = table["tokens"]
    token_id = {name: number for number, name in enumerate(sorted(names.values()))}
    states: dict[int, dict[int, Any]] = table["states"]
    order: list[int] = []
    number: dict[int, int] = {}
    starts = [table["start_states"][name] for name in sorted(table["start_states"])]
    for state in starts + sorted(states):  # the start states' reach first; then any state left, as given
        queue = [state]
        while queue:
            current = queue.pop(0)
            if current in number:
                continue
            number[current] = len(order)
            order.append(current)
            for token in sorted(states[current], key=names.__getitem__):
                kind, argument = states[current][token]
                if kind == 0:  # a shift: the next state
                    queue.append(argument)
    return {
        "tokens": {token_id[name]: name for name in sorted(names.values())},
        "states": {
            number[state]: {
                token_id[names[token]]: [kind, number[argument] if kind == 0 else argument]
                for token, (kind, argument) in sorted(states[state].items(), key=lambda item: names[item[0]])
            }
            for state in order
        },
        "start_states": {name: number[table["start_states"][name]] for name in sorted(table["start_states"])},
        "end_states": {name: number[table["end_states"][name]] for name in sorted(table["end_states"])},
    }


def load_tables(grammar: str) -> Lark | None:
    """The parser from the tables shipped in the package, or None when they are missing or were made
    from another grammar text or another Lark release. JSON, read from the package itself: nothing is
    unpickled and nothing is read from a shared folder."""
    try:
        text = (PACKAGE / TABLES_FILE).read_text(encoding="utf-8")
        document = json.loads(text)
    except (OSError, ValueError):
        return None
    if document.get("grammar_sha256") != text_digest(grammar) or document.get("lark") != lark.__version__:
        return None
    data, memo = document["data"], document["memo"]
    # JSON keys are strings; Lark's tables are keyed by integers (token, state and memo numbers).
    table = data["parser"]["parser"]
    table["tokens"] = {int(k): v for k, v in table["tokens"].items()}
    table["states"] = {int(k): {int(t): a for t, a in v.items()} for k, v in table["states"].items()}
    memo = {int(k): v for k, v in memo.items()}
    return Lark._load_from_dict(data, memo, postlex=_ArchIndenter())  # type: ignore[no-any-return,no-untyped-call]


@cache
def _parser() -> Lark:
    # Lark's cache=True would unpickle a file of the system temp folder (anyone there can plant one):
    # the tables are generated ahead of time and shipped in the package instead (tools/gen_parser.py).
    # An edited grammar whose tables were not regenerated still works, built in memory (slower start).
    grammar = grammar_text()
    return load_tables(grammar) or build_parser(grammar)


_REF_LIST_LOOP = 'a list of references is a loop in brackets: `["d{k}" for k in range(n)]`'
_REF_LIST_START = 'a list of references starts with a quoted name template: `["d{k}" for k in range(n)]`'
_REF_LIST_BRACKETS = 'references made by a loop go in brackets: `from ["d{k}" for k in range(n)]`'
_REF_LIST_IN = "missing 'in' in the loop of a list of references"
_REF_LIST_NAMES = "the loop of a list of references binds plain names"
_DOTTED_NAME = "after '.' in a name comes its next level, a name or a number: `convs.0`"
_LIST_LABEL_INDEX = "a layer of a module list is labelled with a dot: `convs.0: conv(64, 3)`"
_REF_INDEX = "only a block's inputs are indexed in a reference, by a number: `from inputs[1]`"
_DOTTED_TEMPLATE = 'a name template is quoted, dots and all: `"convs.{i}": conv(64, 3)`'

# Friendly messages for common mistakes, chosen by example (Lark's match_examples).
_EXAMPLES: dict[str, list[str]] = {
    "missing ':' after the network name": ["network lenet\n"],
    "missing ':' after the block header": ["block B(x)\n  relu\n"],
    "'>>' must be followed by a layer": [
        "network n:\n  layers:\n    relu >>\n",
        "network n:\n  layers:\n    relu >> >> relu\n",
        "network n:\n  layers:\n    relu >> * 2\n",
    ],
    "a layer name must be followed by ':'": [
        "network n:\n  layers:\n    conv1 conv(3, 3)\n",
        "network n:\n  layers:\n    convs.0 conv(3, 3)\n",
    ],
    "missing ')' to close the argument list": ["network n:\n  layers:\n    conv(3, 3\n"],
    "an argument list is missing a ',' between arguments": [
        f"network n:\n  layers:\n    conv({a} {b})\n" for a in ("3", "w", "w[0]", "f(1)") for b in ("3", "w")
    ],
    "expected an indented body after ':'": [
        "network n:\n  layers:\n  input: 1x2x2\n",
        "network n:\n  layers:\n  title: 1\n",
        "block B():\nnetwork n:\n",
        "block B():\nblock C():\n",
        "block B():\nx = 1\n",
        "network n:\n  layers:\n    stem:\n    relu\n",
        "network n:\n  layers:\n    stem:\n    a: relu\n",
        "network n:\ninput: 1x2x2\n",
        "network n:\nlayers:\n",
        "network n:\ntitle: 1\n",
    ],
    "positional argument after a keyword argument": ["network n:\n  layers:\n    conv(stride=2, 3)\n"],
    "a network needs a name: `network resnet:`": ["network:\n"],
    "a repeat count is a number, a name or an expression in parentheses: `* (depth - 1)`": [
        "network n:\n  layers:\n    relu * -1\n",
        "network n:\n  layers:\n    relu * n - 1\n",
        "network n:\n  layers:\n    relu * 2 * 2\n",
    ],
    "a block needs a name and a parameter list: `block Name(a, b=1):`": ["block B:\n"],
    "a binding is written `name = value`": ["network n:\n  params:\n    w: 3\n"],
    "missing ':' after the condition": [
        f"network n:\n  layers:\n    if {c} relu\n"
        for c in ("true", "x", "x > 0", "x == 1", "f(x)", "x[0]", "not x")
    ],
    # Unpacking, slices, loops over enumerate/zip, merges at the end of a chain, a shortcut written first.
    "missing the value after '=' of an unpacking": ["network n:\n  layers:\n    t, k =\n"],
    "after the names 'a, b' comes '=' (an unpacking) or 'in' (a loop)": [
        f"network n:\n  layers:\n    t, k {rest}\n" for rest in ("[1, 2]", "row", ": relu", "(1, 2)", "3")
    ],
    "an unpacking binds names: `t, k = row`": [
        f"network n:\n  layers:\n    t, {bad} = row\n" for bad in ("3", "k[0]", '"k"')
    ]
    + ["network n:\n  layers:\n    t, = row\n"],
    "a loop unpacks into plain names: `for i, row in enumerate(rows):`": [
        "network n:\n  layers:\n    for i, (a, b) in rows:\n      relu\n",
        "network n:\n  layers:\n    for (a, b) in rows:\n      relu\n",
    ],
    "unpacking (`a, b = row`) is written in a layer body": [
        "network n:\n  params:\n    a, b = row\n",
        "a, b = row\n",
    ],
    "items inside '( )' are joined by '>>', not ','": ["network n:\n  layers:\n    (t, k) = row\n"],
    "a slice has at most three parts: `row[start:stop:step]`": ["x = r[1:2:3:4]\n", "x = r[::2:1]\n"],
    "an index is one integer, or a slice: `row[1:3]`": ["x = r[1, 2]\n", "x = r[a, b]\n"],
    "a list or tuple is written in brackets: `[1, 2]` or `(1, 2)`": [
        "x = 1, 2\n",
        "network n:\n  layers:\n    x = 1, 2\n",
    ],
    "the branches of a merge at the end of a chain go on the lines below it, indented": [
        "network n:\n  layers:\n    relu >> concat: relu\n",
        "network n:\n  layers:\n    relu >> add: relu\n",
    ],
    "a line cannot start with '>>'": [
        "network n:\n  layers:\n    relu\n    >> relu\n",
        "network n:\n  layers:\n    relu >> concat:\n      relu\n      relu\n    >> relu\n",
        "network n:\n  layers:\n    concat:\n      relu\n      relu\n    >> relu\n",
    ],
    "a residual needs a body after its shortcut": [
        "network n:\n  layers:\n    residual:\n      shortcut: relu\n    relu\n",
        "network n:\n  layers:\n    residual:\n      shortcut:\n        relu\n    relu\n",
    ],
    # Lists of references (`from ["d{k}" for k in range(i)]`) and dotted names (`convs.0: conv(...)`).
    _REF_LIST_LOOP: [
        f"network n:\n  layers:\n    concat from {refs}\n" for refs in ('["d{k}"]', '["a", "b"]')
    ],
    _REF_LIST_START: [
        f"network n:\n  layers:\n    concat from {refs}\n"
        for refs in ("[d1, d2]", '[f"d{k}" for k in x]', "[1, 2]", "[]", "[(a)]")
    ],
    _REF_LIST_BRACKETS: [
        'network n:\n  layers:\n    concat from "d{k}" for k in x\n',
        "network n:\n  layers:\n    concat from d for k in x\n",
        "network n:\n  layers:\n    concat from a, input for k in x\n",
        "network n:\n  layers:\n    concat from a.b for k in x\n",
        "network n:\n  layers:\n    concat from inputs[0] for k in x\n",
    ],
    _REF_LIST_IN: [
        f'network n:\n  layers:\n    concat from ["d{{k}}" for {loop}]\n'
        for loop in ("k range(3)", "k of x", "k, j range(3)", "k", "k, j")
    ],
    _REF_LIST_NAMES: [
        f'network n:\n  layers:\n    concat from ["d{{k}}" for {loop} in x]\n'
        for loop in ("(a, b)", "1", "k, (a, b)", '"k"', "k, 1")
    ],
    _DOTTED_NAME: [
        f"network n:\n  layers:\n    {line}\n"
        for line in (
            "convs.: relu",
            "convs.0.: relu",
            "convs..0: relu",
            'convs."a": relu',
            "relu from convs.",
            'relu from convs."a"',
            "relu from convs..0",
            "relu from convs.:",
        )
    ],
    _LIST_LABEL_INDEX: ["network n:\n  layers:\n    convs[0]: conv(8, 1)\n"],
    _REF_INDEX: [
        f"network n:\n  layers:\n    relu from {ref}\n"
        for ref in ("convs[i]", "convs[-1]", "convs[i + 1]", "convs[0:2]")
    ],
}

# An indented body under a chain that ends in a merge op without ':' (the parser state is that of any
# item followed by an indented line, so the line itself tells this case apart).
_MERGE_AT_END = re.compile(r">>\s*(concat|add|mul)\s*(#.*)?$")
_MISSING_MERGE_COLON = "unexpected indentation: missing ':' after the merge at the end of the chain"

# The hint under a friendly message: how the construct is written.
_HINTS: dict[str, str] = {
    "a layer name must be followed by ':'": (
        "`conv1: conv(64, 3)` names a layer, `convs.0: conv(64, 3)` one of a module list; two layers "
        "in a row are joined by `>>`"
    ),
    _REF_LIST_LOOP: "layers named one by one need no brackets: `concat from d1, d2`",
    _REF_LIST_START: (
        "the template is filled in as a label's is, without an f prefix; layers named one by one need "
        "no brackets: `concat from d1, d2`"
    ),
    _REF_LIST_BRACKETS: "the brackets hold the template and its loop, as a list comprehension does",
    _REF_LIST_IN: (
        '`["d{k}" for k in range(n)]`; several names unpack each value: `["b{i}_{j}" for i, j in pairs]`'
    ),
    _REF_LIST_NAMES: 'one name a value, or several to unpack it: `["b{i}_{j}" for i, j in pairs]`',
    _DOTTED_NAME: (
        "a dotted name is a layer of a module list (`convs.0: conv(64, 3)`, `from convs.0`); in a loop, "
        'quote it as a template: `"convs.{i}"`'
    ),
    _LIST_LABEL_INDEX: 'in a loop, quote the label as a template: `"convs.{i}": conv(64, 3)`',
    _REF_INDEX: (
        'a layer of a module list is `from convs.0`; in a loop, quote it as a template, `from "convs.{i}"`, '
        'or name several: `from ["convs.{k}" for k in range(i)]`'
    ),
    _DOTTED_TEMPLATE: (
        "a dotted label is a layer of a module list; its fields are filled in as any template's"
    ),
    "missing the value after '=' of an unpacking": "one name per element: `t, k, s = row`",
    "after the names 'a, b' comes '=' (an unpacking) or 'in' (a loop)": (
        "`t, k, s = row` binds the elements of a list; `for t, k in rows:` binds those of each row"
    ),
    "an unpacking binds names: `t, k = row`": (
        "one name per element, at least two (for one element write `t = row[0]`)"
    ),
    "a loop unpacks into plain names: `for i, row in enumerate(rows):`": (
        "unpack the row in the body: `a, b = row`"
    ),
    "unpacking (`a, b = row`) is written in a layer body": (
        "in `params:` and at the top of a file, bind one name at a time: `a = row[0]`"
    ),
    "items inside '( )' are joined by '>>', not ','": (
        "an unpacking is written without parentheses: `t, k = row`"
    ),
    "a slice has at most three parts: `row[start:stop:step]`": (
        "each part may be left out: `row[:4]`, `row[::2]`"
    ),
    "an index is one integer, or a slice: `row[1:3]`": "index twice for a nested list: `rows[1][2]`",
    "a list or tuple is written in brackets: `[1, 2]` or `(1, 2)`": (
        "to bind several names at once, put them left of '=': `a, b = row`"
    ),
    "the branches of a merge at the end of a chain go on the lines below it, indented": (
        "`conv(48, 1) >> concat:`, then one branch a line, each starting from the chain's output"
    ),
    _MISSING_MERGE_COLON: (
        "`conv(48, 1) >> concat:` opens the branches; `concat from a, b` merges named layers instead"
    ),
    "a line cannot start with '>>'": (
        "a chain goes on within its line; the next line already reads the previous one's output"
    ),
    "a residual needs a body after its shortcut": (
        "a shortcut written first is followed by the body, at the same indentation: "
        "`residual:` / `shortcut: conv(64, 1)` / `conv(64, 3, pad=1)`"
    ),
}


def _span_of(meta: Meta, path: str) -> Span:
    return Span(
        path=path,
        line=meta.line,
        column=meta.column,
        end_line=meta.end_line,
        end_column=meta.end_column,
    )


def _unknown_setting(key: ast.Label, misused: str | None) -> None:
    """The error for a block setting other than ``label: "..."`` and ``order: [names]``."""
    if misused == "order":
        raise SpecError.at(key.span, "a block's order is a list of names", "`order: [qkv, proj]`")
    if misused == "label":
        raise SpecError.at(key.span, "a block's label is a string", '`label: "MBConv{t} k{k}×{k}"`')
    raise SpecError.at(
        key.span,
        f"unknown block setting '{printable(key.text)}'",
        'a block\'s first lines may set only `label: "..."` (how drawings name it) and `order: [names]` '
        "(the layers registered first); a layer is a call such as conv(64, 3)",
    )


def _token_span(token: Token, path: str) -> Span:
    line = token.line or 1
    column = token.column or 1
    end_line = token.end_line or line
    end_column = token.end_column or column + max(1, len(str(token)))
    return Span(path=path, line=line, column=column, end_line=end_line, end_column=end_column)


def _unquote(token: Token, path: str) -> str:
    # Python's literal syntax for strings is the documented string syntax; literal_eval only accepts
    # literals (never runs code), and the token's regex has already guaranteed a single string literal.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an unknown escape such as "\q" is an error, not a warning
            value = pyast.literal_eval(str(token))
    except (SyntaxError, ValueError, Warning):
        raise SpecError.at(
            _token_span(token, path), "invalid escape sequence in a string", "write a backslash as \\\\"
        ) from None
    assert isinstance(value, str)
    return value


def _integer(digits: str, span: Span) -> int:
    """An integer literal; one too long to be a size is an error before Python converts it (Python
    refuses over 4,300 digits, and converting is quadratic in the digits)."""
    if len(digits.lstrip("0")) > len(str(MAX_INT)):
        raise SpecError.at(span, f"integer of {len(digits)} digits is too large (the limit is 10**15)")
    return int(digits)


class _ExprBuilder(Transformer_NonRecursive[Token, Any]):
    """Lark tree to archspec AST, one method per grammar rule: the expressions (``_BodyBuilder`` adds the
    layer bodies, ``_Builder`` the files). Non-recursive: a deeply nested spec gets a positioned error
    from ``check_nesting``, not a RecursionError from here."""

    def __init__(self, path: str, text: str) -> None:
        super().__init__()
        self.path = path
        self._text = text  # keyword labels are recovered from their span

    def span(self, meta: Meta) -> Span:
        return _span_of(meta, self.path)

    @v_args(meta=True)
    def int_literal(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return ast.Literal(_integer(children[0], self.span(meta)), self.span(meta))

    @v_args(meta=True)
    def float_literal(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return ast.Literal(float(children[0]), self.span(meta))

    @v_args(meta=True)
    def string_literal(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return ast.Literal(_unquote(children[0], self.path), self.span(meta))

    @v_args(meta=True)
    def true_literal(self, meta: Meta, children: list[Any]) -> ast.Literal:
        return ast.Literal(True, self.span(meta))

    @v_args(meta=True)
    def false_literal(self, meta: Meta, children: list[Any]) -> ast.Literal:
        return ast.Literal(False, self.span(meta))

    @v_args(meta=True)
    def none_literal(self, meta: Meta, children: list[Any]) -> ast.Literal:
        return ast.Literal(None, self.span(meta))

    @v_args(meta=True)
    def name(self, meta: Meta, children: list[Token]) -> ast.Name:
        return ast.Name(str(children[0]), self.span(meta))

    @v_args(meta=True)
    def list_literal(self, meta: Meta, children: list[Any]) -> ast.ListExpr:
        return ast.ListExpr(tuple(c for c in children if c is not None), self.span(meta))

    @v_args(meta=True)
    def list_comprehension(self, meta: Meta, children: list[Any]) -> ast.ListComp:
        element, *names, iterable, condition = children
        targets = tuple(str(name) for name in names)
        return ast.ListComp(element, targets, iterable, condition, self.span(meta))

    @v_args(meta=True)
    def tuple_literal(self, meta: Meta, children: list[Any]) -> ast.ListExpr:
        return ast.ListExpr(tuple(c for c in children if c is not None), self.span(meta), tuple=True)

    @v_args(meta=True)
    def conditional(self, meta: Meta, children: list[Any]) -> ast.Conditional:
        then, condition, otherwise = children
        return ast.Conditional(condition, then, otherwise, self.span(meta))

    @v_args(meta=True)
    def or_(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return children[0] if len(children) == 1 else ast.BoolOp("or", tuple(children), self.span(meta))

    @v_args(meta=True)
    def and_(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return children[0] if len(children) == 1 else ast.BoolOp("and", tuple(children), self.span(meta))

    @v_args(meta=True)
    def not_(self, meta: Meta, children: list[Any]) -> ast.UnaryOp:
        return ast.UnaryOp("not", children[0], self.span(meta))

    @v_args(meta=True)
    def compare(self, meta: Meta, children: list[Any]) -> ast.Expr:
        if len(children) == 1:
            return children[0]  # type: ignore[no-any-return]
        rest = tuple((str(children[i]), children[i + 1]) for i in range(1, len(children), 2))
        return ast.Compare(children[0], rest, self.span(meta))

    @v_args(meta=True)
    def binary(self, meta: Meta, children: list[Any]) -> ast.Expr:
        result = children[0]
        for i in range(1, len(children), 2):
            right = children[i + 1]
            span = Span(
                path=self.path,
                line=result.span.line,
                column=result.span.column,
                end_line=right.span.end_line,
                end_column=right.span.end_column,
            )
            result = ast.BinaryOp(str(children[i]), result, right, span)
        return result  # type: ignore[no-any-return]

    @v_args(meta=True)
    def power(self, meta: Meta, children: list[Any]) -> ast.Expr:
        if len(children) == 1:
            return children[0]  # type: ignore[no-any-return]
        return ast.BinaryOp("**", children[0], children[1], self.span(meta))

    @v_args(meta=True)
    def negate(self, meta: Meta, children: list[Any]) -> ast.UnaryOp:
        return ast.UnaryOp("-", children[0], self.span(meta))

    @v_args(meta=True)
    def factor(self, meta: Meta, children: list[Any]) -> Any:  # unary plus
        return children[0]

    @v_args(meta=True)
    def subscript(self, meta: Meta, children: list[Any]) -> ast.Subscript:
        return ast.Subscript(children[0], children[1], self.span(meta))

    @v_args(meta=True)
    def slice(self, meta: Meta, children: list[Any]) -> ast.Slice:
        value, start, stop, step = children
        return ast.Slice(value, start, stop, None if step is None else step[0], self.span(meta))

    def slice_step(self, children: list[Any]) -> tuple[ast.Expr | None]:
        return (children[0],)

    def _split_arguments(self, arguments: Any) -> tuple[tuple[ast.Expr, ...], tuple[ast.Keyword, ...]]:
        if arguments is None:
            return (), ()
        args: list[ast.Expr] = []
        kwargs: list[ast.Keyword] = []
        for argument in arguments:
            if isinstance(argument, ast.Keyword):
                kwargs.append(argument)
            elif kwargs:
                raise SpecError.at(argument.span, "positional argument after a keyword argument")
            else:
                args.append(argument)
        return tuple(args), tuple(kwargs)

    def arguments(self, children: list[Any]) -> list[Any]:
        return [c for c in children if c is not None]

    @v_args(meta=True)
    def kwarg(self, meta: Meta, children: list[Any]) -> ast.Keyword:
        return ast.Keyword(str(children[0]), children[1], self.span(meta))

    @v_args(meta=True)
    def func_call(self, meta: Meta, children: list[Any]) -> ast.FuncCall:
        args, kwargs = self._split_arguments(children[1])
        return ast.FuncCall(str(children[0]), args, kwargs, self.span(meta))


class _BodyBuilder(_ExprBuilder):
    """The rules of layer bodies: items, chains, sources and the statements."""

    @v_args(meta=True)
    def label(self, meta: Meta, children: list[Token]) -> ast.Label:
        if not children or children[0] is None:  # a keyword used as a label ("layers:")
            return ast.Label(self._keyword_label(meta), False, self.span(meta))
        token = children[0]
        if token.type == "STRING":
            return ast.Label(_unquote(token, self.path), True, self.span(meta))
        return ast.Label(str(token), False, self.span(meta))

    def _keyword_label(self, meta: Meta) -> str:
        # Anonymous keyword tokens are filtered out of the tree; recover the word from the span.
        return self._text[meta.start_pos : meta.end_pos]

    @v_args(meta=True)
    def call(self, meta: Meta, children: list[Any]) -> ast.Call:
        args, kwargs = self._split_arguments(children[1])
        return ast.Call(str(children[0]), args, kwargs, self.span(meta))

    merge_call = call

    @v_args(meta=True)
    def inline_group(self, meta: Meta, children: list[Any]) -> ast.InlineGroup:
        return ast.InlineGroup(children[0], self.span(meta))

    def repeat(self, children: list[Any]) -> ast.Expr:
        return children[0]  # type: ignore[no-any-return]

    @v_args(meta=True)
    def ref(self, meta: Meta, children: list[Token]) -> ast.Ref:
        return ast.Ref(tuple(str(c) for c in children), self.span(meta))

    @v_args(meta=True)
    def indexed_ref(self, meta: Meta, children: list[Token]) -> ast.Ref:
        return ast.Ref((str(children[0]),), self.span(meta), index=int(children[1]))

    @v_args(meta=True)
    def template_ref(self, meta: Meta, children: list[Token]) -> ast.Ref:
        return ast.Ref((_unquote(children[0], self.path),), self.span(meta), template=True)

    @v_args(meta=True)
    def input_ref(self, meta: Meta, children: list[Token]) -> ast.Ref:
        return ast.Ref(("input",), self.span(meta))

    @v_args(meta=True)
    def ref_list(self, meta: Meta, children: list[Any]) -> ast.RefList:
        template, *names, iterable, condition = children
        ref = ast.Ref((_unquote(template, self.path),), _token_span(template, self.path), template=True)
        return ast.RefList(ref, tuple(str(n) for n in names), iterable, condition, self.span(meta))

    @v_args(meta=True)
    def dotted_label(self, meta: Meta, children: list[Token]) -> ast.Label:
        return ast.Label(".".join(str(c) for c in children), False, self.span(meta))

    def sources(self, children: list[ast.Ref | ast.RefList]) -> tuple[ast.Ref | ast.RefList, ...]:
        return tuple(children)

    @v_args(meta=True)
    def item(self, meta: Meta, children: list[Any]) -> ast.Item:
        label, atom, repeat, sources = children
        return ast.Item(label, atom, repeat, sources or (), self.span(meta))

    def chain(self, children: list[ast.Item]) -> tuple[ast.Item, ...]:
        return tuple(children)

    @v_args(meta=True)
    def chain_stmt(self, meta: Meta, children: list[Any]) -> ast.ChainStmt:
        return ast.ChainStmt(children[0], self.span(meta))

    @v_args(meta=True)
    def chain_merge_stmt(self, meta: Meta, children: list[Any]) -> ast.ChainStmt:
        *items, merge = children
        return ast.ChainStmt(tuple(items), self.span(meta), merge)

    @v_args(meta=True)
    def inline_body(self, meta: Meta, children: list[Any]) -> tuple[ast.Stmt, ...]:
        return (ast.ChainStmt(children[0], self.span(meta)),)

    def body(self, children: list[Any]) -> tuple[ast.Stmt, ...]:
        return tuple(children)

    @v_args(meta=True)
    def let_stmt(self, meta: Meta, children: list[Any]) -> ast.Let:
        return ast.Let(str(children[0]), children[1], self.span(meta))

    @v_args(meta=True)
    def unpack_stmt(self, meta: Meta, children: list[Any]) -> ast.Unpack:
        *targets, value = children
        names = tuple(str(t) for t in targets)
        for index, name in enumerate(names):
            if name in names[:index]:
                raise SpecError.at(
                    _token_span(targets[index], self.path),
                    f"'{name}' is bound twice in one unpacking",
                    "each name takes one element: use another name, or `_` and `__` for unused ones",
                )
        return ast.Unpack(names, value, self.span(meta))

    @v_args(meta=True)
    def param_stmt(self, meta: Meta, children: list[Any]) -> ast.StateStmt:
        return self._state("param", meta, children)

    @v_args(meta=True)
    def buffer_stmt(self, meta: Meta, children: list[Any]) -> ast.StateStmt:
        return self._state("buffer", meta, children)

    def _state(self, kind: str, meta: Meta, children: list[Any]) -> ast.StateStmt:
        name, value, *kwargs = children
        return ast.StateStmt(
            kind, str(name), value, tuple(kwargs), self.span(meta), _token_span(name, self.path)
        )

    @v_args(meta=True)
    def group_stmt(self, meta: Meta, children: list[Any]) -> ast.GroupStmt:
        return ast.GroupStmt(children[0], children[1], self.span(meta))

    @v_args(meta=True)
    def for_stmt(self, meta: Meta, children: list[Any]) -> ast.ForStmt:
        *targets, iterable, body = children
        return ast.ForStmt(tuple(str(t) for t in targets), iterable, body, self.span(meta))

    def elif_clause(self, children: list[Any]) -> tuple[ast.Expr, tuple[ast.Stmt, ...]]:
        return children[0], children[1]

    def else_clause(self, children: list[Any]) -> tuple[ast.Stmt, ...]:
        return children[0]  # type: ignore[no-any-return]

    @v_args(meta=True)
    def if_stmt(self, meta: Meta, children: list[Any]) -> ast.IfStmt:
        condition, body, *rest = children
        otherwise = rest.pop() if rest else None
        branches = ((condition, body), *rest)
        return ast.IfStmt(branches, otherwise, self.span(meta))

    def residual_when(self, children: list[Any]) -> ast.Expr:
        return children[0]  # type: ignore[no-any-return]

    @v_args(meta=True)
    def shortcut(self, meta: Meta, children: list[Any]) -> ast.Shortcut:
        return ast.Shortcut(children[0], children[1], self.span(meta))

    @v_args(meta=True)
    def residual_stmt(self, meta: Meta, children: list[Any]) -> ast.ResidualStmt:
        condition, first, body, after = children
        if first is not None and after is not None:
            raise SpecError.at(
                after.span,
                "a residual has one shortcut, and this one has a shortcut in its body already",
                "keep the shortcut first in the body (made before the body) or after it (made after)",
            )
        for stmt in body:  # `shortcut:` among the layers is lexed as a label: say where it goes
            label = (
                stmt.label
                if isinstance(stmt, ast.GroupStmt)
                else stmt.items[0].label
                if isinstance(stmt, ast.ChainStmt)
                else None
            )
            if label is not None and not label.template and label.text == "shortcut":
                raise SpecError.at(
                    label.span,
                    "a shortcut is written first in a residual's body or after the body, "
                    "not among its layers",
                    "move it to the top of the body (made first) or after the body, at the indentation of "
                    "`residual:` (made last)",
                )
        shortcut = first or after
        return ast.ResidualStmt(condition, body, shortcut, self.span(meta), first is not None)

    @v_args(meta=True)
    def merge_stmt(self, meta: Meta, children: list[Any]) -> ast.MergeStmt:
        return ast.MergeStmt(str(children[0]), children[1], self.span(meta))


class _Builder(_BodyBuilder):
    """Lark tree to archspec AST: the rules of files (blocks, networks, their sections, imports) and of
    ``init:`` rules, over those of bodies and expressions."""

    @v_args(meta=True)
    def param(self, meta: Meta, children: list[Any]) -> ast.Param:
        return ast.Param(str(children[0]), children[1], self.span(meta))

    @v_args(meta=True)
    def block_setting(self, meta: Meta, children: list[Any]) -> tuple[ast.Label, ast.Label]:
        key, value = children
        if key.template or key.text != "label":
            _unknown_setting(key, "order" if key.text == "order" else None)
        return key, ast.Label(_unquote(value, self.path), True, _token_span(value, self.path))

    @v_args(meta=True)
    def block_order(self, meta: Meta, children: list[Any]) -> tuple[ast.Label, tuple[ast.Label, ...]]:
        key, *names = children
        if key.template or key.text != "order":
            _unknown_setting(key, "label" if key.text == "label" else None)
        listed = tuple(ast.Label(str(n), False, _token_span(n, self.path)) for n in names if n is not None)
        return key, listed

    @v_args(meta=True)
    def block_def(self, meta: Meta, children: list[Any]) -> ast.BlockDef:
        name, *params, body = children
        settings = [p for p in params if isinstance(p, tuple)]
        params = [p for p in params if p is not None and not isinstance(p, tuple)]
        found: dict[str, Any] = {}
        for key, value in settings:
            if key.text in found:
                raise SpecError.at(key.span, f"block {name} sets its {key.text} twice")
            found[key.text] = value
        order = found.get("order", ())
        check_order(str(name), order, tuple(params), body)
        label = found.get("label")
        return ast.BlockDef(str(name), tuple(params), body, self.span(meta), self.path, label, order)

    @v_args(meta=True)
    def meta_entry(self, meta: Meta, children: list[Any]) -> ast.MetaEntry:
        return ast.MetaEntry(str(children[0]), children[1], self.span(meta))

    @v_args(meta=True)
    def meta_group(self, meta: Meta, children: list[Any]) -> ast.MetaEntry:
        return ast.MetaEntry(str(children[0]), tuple(children[1:]), self.span(meta))

    @v_args(meta=True)
    def input_entry(self, meta: Meta, children: list[Any]) -> tuple[str, ast.Expr]:
        value = children[0]
        if isinstance(value, Token):  # the 3x224x224 shorthand
            span = _token_span(value, self.path)
            dims = tuple(ast.Literal(_integer(d, span), span) for d in str(value).split("x"))
            value = ast.ListExpr(dims, span)
        return "input", value

    def params_section(self, children: list[ast.Let]) -> tuple[str, tuple[ast.Let, ...]]:
        return "params", tuple(children)

    @v_args(meta=True)
    def variant(self, meta: Meta, children: list[Any]) -> ast.Variant:
        return ast.Variant(str(children[0]), tuple(c for c in children[1:] if c is not None), self.span(meta))

    def variants_section(self, children: list[ast.Variant]) -> tuple[str, tuple[ast.Variant, ...]]:
        return "variants", tuple(children)

    def layers_section(self, children: list[Any]) -> tuple[str, tuple[ast.Stmt, ...]]:
        return "layers", children[0]

    # ------------------------------------------------------------ initialisation
    @v_args(meta=True)
    def init_call(self, meta: Meta, children: list[Any]) -> ast.InitClause:
        args, kwargs = self._split_arguments(children[1])
        return ast.InitClause(None, str(children[0]), args, kwargs, self.span(meta))

    @v_args(meta=True)
    def init_clause(self, meta: Meta, children: list[Any]) -> ast.InitClause:
        parameter, call = children
        return ast.InitClause(
            None if parameter is None else str(parameter),
            call.function,
            call.args,
            call.kwargs,
            self.span(meta),
        )

    @v_args(meta=True)
    def init_rule(self, meta: Meta, children: list[Any]) -> ast.InitRule:
        target, *clauses = children
        pattern = target.type == "STRING"
        text = _unquote(target, self.path) if pattern else str(target)
        span = _token_span(target, self.path)
        return ast.InitRule(text, pattern, tuple(clauses), False, self.span(meta), span)

    def init_built(self, children: list[ast.InitRule]) -> list[ast.InitRule]:
        return [ast.replace(rule, built=True) for rule in children]

    def init_section(self, children: list[Any]) -> tuple[str, tuple[ast.InitRule, ...]]:
        rules: list[ast.InitRule] = []
        for child in children:
            rules.extend(child if isinstance(child, list) else [child])
        return "init", tuple(rules)

    @v_args(meta=True)
    def init_named(self, meta: Meta, children: list[Any]) -> tuple[str, tuple[ast.InitRule, ...]]:
        end = children[0].span
        raise SpecError.at(
            Span(self.path, meta.line, meta.column, end.end_line, end.end_column),
            "`init:` takes rules, one a line, not a scheme name",
            'write, for example, `init:` then `conv: kaiming_normal(mode="fan_out"), bias=zeros` '
            "on an indented line (see docs/language.md#initialisation)",
        )

    @v_args(meta=True)
    def network_def(self, meta: Meta, children: list[Any]) -> ast.NetworkDef:
        name, *entries = children
        metas: list[ast.MetaEntry] = []
        sections: dict[str, Any] = {}
        for entry in entries:
            if isinstance(entry, ast.MetaEntry):
                metas.append(entry)
                continue
            key, value = entry
            if key in sections:
                first = value[0] if isinstance(value, tuple) and value else value
                where = getattr(first, "span", None) or self.span(meta)
                raise SpecError.at(where, f"network '{name}' has two '{key}' sections")
            sections[key] = value
        return ast.NetworkDef(
            name=str(name),
            meta=tuple(metas),
            input=sections.get("input"),
            params=sections.get("params", ()),
            variants=sections.get("variants", ()),
            layers=sections.get("layers"),
            span=self.span(meta),
            init=sections.get("init", ()),
        )

    @v_args(meta=True)
    def import_names(self, meta: Meta, children: list[Token]) -> ast.Import:
        names = tuple((str(t), _token_span(t, self.path)) for t in children[1:])
        return ast.Import(_unquote(children[0], self.path), names, self.span(meta))

    @v_args(meta=True)
    def import_all(self, meta: Meta, children: list[Token]) -> ast.Import:
        return ast.Import(_unquote(children[0], self.path), None, self.span(meta))

    def start(self, children: list[Any]) -> ast.Module:
        imports = tuple(c for c in children if isinstance(c, ast.Import))
        lets = tuple(c for c in children if isinstance(c, ast.Let))
        blocks = tuple(c for c in children if isinstance(c, ast.BlockDef))
        networks = tuple(c for c in children if isinstance(c, ast.NetworkDef))
        return ast.Module(self.path, imports, lets, blocks, networks)


def parse(text: str, path: str = "<string>") -> ast.Module:
    """Parse spec text into an AST. Raises SpecError (with position) on any syntax error."""
    if not text.endswith("\n"):
        text += "\n"
    _check_tabs(text, path)
    _check_depth(text, path)
    parser = _parser()
    try:
        tree = parser.parse(text, start="start")
    except UnexpectedInput as error:
        first = _syntax_error(error, text, path)
        message = first.diagnostics[0].message
        if message.endswith("was never closed") or message.startswith("unmatched"):
            raise first from None  # what follows a bracket error is read wrongly: the first one says it
        try:
            later = [_syntax_error(e, text, path) for e in _later_errors(parser, text, error)]
        except Exception:  # the search is a best effort: it never stands in the way of the first error
            later = []
        raise SpecError([d for e in [first, *later] for d in e.diagnostics], {path: text}) from None
    except DedentError as error:
        line = _dedent_line(text, error)
        raise SpecError(
            [
                Diagnostic(
                    "unindent does not match any outer indentation level",
                    Span(path=path, line=line, column=1, end_line=line, end_column=2),
                )
            ],
            {path: text},
        ) from None
    module = _build(tree, text, path)
    assert isinstance(module, ast.Module)
    _check_nesting(module, text, path)
    return module


def parse_expression(text: str, path: str = "<expression>") -> ast.Expr:
    """Parse one expression (``--set`` values and API overrides). Raises SpecError."""
    _check_depth(text, path)
    try:
        tree = _parser().parse(text, start="expr")
    except UnexpectedInput as error:
        raise _syntax_error(error, text, path) from None
    expression = _build(tree, text, path)
    _check_nesting(expression, text, path)
    return expression  # type: ignore[no-any-return]


def _check_nesting(root: Any, text: str, path: str) -> None:
    try:
        check_nesting(root)
    except SpecError as error:
        error.sources[path] = text
        raise


def _build(tree: Any, text: str, path: str) -> Any:
    """The AST of a parse tree; a SpecError raised by a rule surfaces as itself, with the source."""
    try:
        return _Builder(path, text).transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, SpecError):
            error.orig_exc.sources[path] = text
            raise error.orig_exc from None
        if isinstance(error.orig_exc, RecursionError):  # the limits should prevent it; never a traceback
            message = "nested too deeply to parse"
            raise SpecError([Diagnostic(message, point(path, 1, 1))], {path: text}) from None
        raise
    except RecursionError:
        raise SpecError([Diagnostic("nested too deeply to parse", point(path, 1, 1))], {path: text}) from None


def _dedent_line(text: str, error: DedentError) -> int:
    # Lark's DedentError carries no position; find the first line whose indent is not a previous level.
    levels = [0]
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        if indent > levels[-1]:
            levels.append(indent)
            continue
        while indent < levels[-1]:
            levels.pop()
        if indent != levels[-1]:
            return number
    return 1


_TOKEN_NAMES = {
    "_NL": "end of line",
    "_INDENT": "an indented block",
    "_DEDENT": "end of the indented block",
    "$END": "end of file",
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": "a string",
    "SHAPE": "a shape like 3x224x224",
    "COLON": "':'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "EQUAL": "'='",
    "MERGE_OP": "'concat' or 'add'",
    "COMPARE_OP": "a comparison",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*', '/', '//' or '%'",
}


def _token_name(token_type: str) -> str:
    """How a terminal is named in messages: never Lark's own names (``__ANON_0``, ``RPAR``)."""
    if token_type in _TOKEN_NAMES:
        return _TOKEN_NAMES[token_type]
    for terminal in _parser().terminals:
        if terminal.name == token_type and terminal.pattern.type == "str":
            return f"'{terminal.pattern.value}'"
    return token_type.lower().strip("_")


def _describe_token(token: Token) -> str:
    if token.type in ("_NL", "_INDENT", "_DEDENT", "$END"):
        return _TOKEN_NAMES[token.type]
    return f"'{token}'"


def _expected(tokens: set[str]) -> str:
    names = sorted({_token_name(t) for t in tokens})
    if len(names) > 6:
        return ""
    return " (expected " + ", ".join(names) + ")" if names else ""


def _check_tabs(text: str, path: str) -> None:
    """Indentation is spaces only: a tab's width is a matter of taste, so it would make nesting ambiguous."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" \t")
        indent = line[: len(line) - len(stripped)]
        if "\t" in indent and stripped and not stripped.startswith("#"):
            column = indent.index("\t") + 1
            message = "tabs are not allowed in indentation; indent with spaces"
            raise SpecError([Diagnostic(message, point(path, number, column))], {path: text})


def _check_depth(text: str, path: str) -> None:
    """Brackets and indentation nested deeper than ``MAX_NESTING``: an error before parsing, which
    would take time quadratic in the depth (Lark looks for positions through the nested nodes)."""
    if len(text) > MAX_SPEC_BYTES:
        message = f"the text is longer than the limit of {MAX_SPEC_BYTES:,} characters"
        raise SpecError([Diagnostic(message, point(path, 1, 1))], {path: text[:1000]})
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) > MAX_LINE:
            message = f"a line of {len(line):,} characters is longer than the limit of {MAX_LINE:,}"
            raise SpecError([Diagnostic(message, point(path, number, MAX_LINE + 1))], {path: text})
    depth = 0
    levels = [0]
    line_start = True
    skip_to = -1
    for offset, char in enumerate(text):
        if offset < skip_to:
            continue
        if char in "#\"'":  # a comment or a string: brackets inside do not nest
            end = text.find("\n", offset + 1) if char == "#" else text.find(char, offset + 1)
            newline = text.find("\n", offset + 1)
            skip_to = len(text) if end < 0 else min(end, newline) if newline >= 0 else end
            skip_to += 0 if char == "#" or (newline >= 0 and newline < end) else 1
            continue
        if line_start and char not in " \n":
            indent = offset - (text.rfind("\n", 0, offset) + 1)
            while levels and indent < levels[-1]:
                levels.pop()
            if indent > (levels[-1] if levels else 0):
                levels.append(indent)
            line_start = False
            if len(levels) > MAX_NESTING // 2:
                raise _too_deep(text, path, offset)
        if char == "\n":
            line_start = depth == 0
        elif char in "([":
            depth += 1
            if depth > MAX_NESTING // 2:
                raise _too_deep(text, path, offset)
        elif char in ")]":
            depth = max(0, depth - 1)


def _too_deep(text: str, path: str, offset: int) -> SpecError:
    line, column = _line_column(text, offset)
    message = f"nested too deeply: more than {MAX_NESTING // 2} levels of brackets or of indented bodies"
    return SpecError([Diagnostic(message, point(path, line, column))], {path: text})


_BRACKETS = {"(": ")", "[": "]"}


def _open_brackets(text: str, end: int) -> list[int]:
    """Offsets of the brackets still open at offset ``end`` (strings and comments skipped); a stray
    closing bracket is reported as the offset ``-1 - offset``."""
    stack: list[int] = []
    position = 0
    while position < end:
        char = text[position]
        if char == "#":
            newline = text.find("\n", position)
            position = len(text) if newline < 0 else newline
            continue
        if char in "\"'":
            close = text.find(char, position + 1)
            newline = text.find("\n", position + 1)
            if close < 0 or (0 <= newline < close):
                return stack
            position = close + 1
            continue
        if char in _BRACKETS:
            stack.append(position)
        elif char in ")]":
            if not stack or _BRACKETS[text[stack[-1]]] != char:
                return [-1 - position]
            stack.pop()
        position += 1
    return stack


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


@cache
def _example_states() -> tuple[tuple[str, int, frozenset[str], str], ...]:
    """(message, LALR state, acceptable tokens, token type) of each known-bad example in ``_EXAMPLES``."""
    found = []
    for message, examples in _EXAMPLES.items():
        for example in examples:
            try:
                _parser().parse(example, start="start")
            except UnexpectedToken as error:
                found.append((message, error.state.position, frozenset(error.accepts), error.token.type))
            except (UnexpectedInput, DedentError):
                continue
    return tuple(found)


def _friendly(error: UnexpectedInput) -> str | None:
    """The message of a known-bad example that failed in the same parser state, with the same acceptable
    tokens, on the same kind of token. Unlike Lark's ``match_examples``, the depth of the parser's stack
    is ignored, so an example need not have the same number of entries before the mistake."""
    if not isinstance(error, UnexpectedToken) or error.state is None:
        return None
    accepts = frozenset(error.accepts)
    for message, state, example_accepts, token_type in _example_states():
        if (state, example_accepts, token_type) == (error.state.position, accepts, error.token.type):
            return message
    return None


MAX_SYNTAX_ERRORS = 20  # a file's syntax errors reported at once; beyond, the first of them suffice


def _later_errors(parser: Lark, text: str, first: UnexpectedInput) -> list[UnexpectedInput]:
    """The syntax errors on the lines after ``first``'s, found by Lark's interactive parser with a
    recovery of our own: at an error, the parser goes back to where the line began and the line is
    skipped (with the indented body after it, when it opens one), as if it were not there; parsing
    goes on with the next line. Each error is on a later line than the one before it; an error in
    the characters themselves (which the lexer cannot get past) ends the search."""
    found: list[UnexpectedInput] = []
    interactive = parser.parse_interactive(text, start="start")
    state = interactive.parser_state
    saved = (list(state.state_stack), list(state.value_stack))  # where the current line began
    # feed; skip the "line"; "after" the skipped line; skip its "body"; the body has "ended"
    mode, depth = "feed", 0
    last_line = getattr(first, "line", None) or 0

    def recover(error: UnexpectedToken, token: Token) -> str:
        nonlocal last_line
        line = token.line or last_line + 1
        if line > last_line:
            error.state = state.copy()  # as it was at the error: `state` itself goes back
            error.interactive_parser = InteractiveParser(
                interactive.parser, state.copy(), interactive.lexer_thread
            )
            found.append(error)
            last_line = line
        state.state_stack[:], state.value_stack[:] = list(saved[0]), list(saved[1])
        return {"_NL": "after", "_INDENT": "body"}.get(token.type, "line")

    thread = interactive.lexer_thread
    connector: Any = thread.lexer  # lark's PostLexConnector: the contextual lexer, then the indenter

    def raw_tokens() -> Any:
        # The contextual lexer raises on a token the parser cannot take here (`conv(8 3)`): that token
        # goes to the parser like any other, which finds the error, and lexing goes on after it.
        while True:
            try:
                yield from connector.lexer.lex(thread.state, state)
                return
            except UnexpectedToken as error:
                yield error.token

    connector.postlexer.process(iter(()))  # a fresh indentation state
    try:
        for token in connector.postlexer._process(raw_tokens()):
            if mode == "line":
                mode = "after" if token.type == "_NL" else "line"
                continue
            if mode == "after" and token.type == "_INDENT":
                mode, depth = "body", 0
            if mode == "body":
                depth += {"_INDENT": 1, "_DEDENT": -1}.get(token.type, 0)
                mode = "body" if depth > 0 else "ended"
                continue
            just_skipped, mode = mode in ("after", "ended"), "feed"
            try:
                state.feed_token(token)
            except UnexpectedToken as error:
                if just_skipped and token.type == "_DEDENT":
                    break  # the skipped line (or body) was its body's only one: what follows is noise
                mode = recover(error, token)
                depth = 1 if mode == "body" else 0
                if len(found) >= MAX_SYNTAX_ERRORS:
                    break
                continue
            if token.type in ("_NL", "_INDENT", "_DEDENT"):  # a statement begins after them
                saved = (list(state.state_stack), list(state.value_stack))
        else:
            end = Token("$END", "", line=_end_position(text)[0])
            try:
                state.feed_token(end, True)
            except UnexpectedToken as error:
                if mode == "feed":
                    recover(error, end)
    except (UnexpectedCharacters, DedentError):
        pass
    return [error for error in found if (getattr(error, "line", None) or 0) > (first.line or 0)]


def _syntax_error(error: UnexpectedInput, text: str, path: str) -> SpecError:
    line = max(1, getattr(error, "line", 1) or 1)
    column = max(1, getattr(error, "column", 1) or 1)
    width = 1
    bracket = _bracket_error(error, text, path)
    if bracket is not None:
        return bracket
    friendly = _friendly(error)
    if isinstance(error, UnexpectedToken):
        token = error.token
        width = max(1, len(str(token))) if token.type not in ("_NL", "_INDENT", "_DEDENT") else 1
        if token.type == "$END":
            line, column = _end_position(text)
        message = friendly or f"unexpected {_describe_token(token)}{_expected(error.expected)}"
        if token.type == "_INDENT" and not friendly:
            # The indent token carries the line break before it; point at the indented line itself.
            line, column = token.end_line or line, token.end_column or column
            message = "unexpected indentation (only a line that ends with ':' opens an indented body)"
            if line >= 2 and _MERGE_AT_END.search(text.splitlines()[line - 2]):
                message = _MISSING_MERGE_COLON
    elif isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream or 0
        char = text[position] if position < len(text) else "?"
        message = friendly or f"unexpected character {char!r}"
        if char == "{" and position > 0 and text[position - 1] == ".":
            message = _DOTTED_TEMPLATE
        if char in "\"'":
            message = "unterminated string (a string ends on the line it starts)"
    elif isinstance(error, UnexpectedEOF):
        line, column = _end_position(text)
        message = friendly or "unexpected end of file"
    else:  # pragma: no cover - Lark has no other UnexpectedInput subclasses
        message = friendly or "syntax error"
    span = Span(path=path, line=line, column=column, end_line=line, end_column=column + width)
    hint = _HINTS.get(message)
    token = getattr(error, "token", None)
    at_end = token is not None and token.type in ("_NL", "_DEDENT", "$END")
    if hint is None:
        hint = _declaration_hint((text.splitlines()[line - 1 : line] or [""])[0])
    if message == "'>>' must be followed by a layer" and at_end:  # the chain was meant to go on below
        written = (text.splitlines()[line - 1 : line] or [""])[0].strip()
        hint = (
            "a line break ends a chain; to go on on the next line, put the chain in parentheses: "
            f"`({written}` and the rest of it, then `)`"
        )
    return SpecError([Diagnostic(message, span, hint)], {path: text})


_DECLARATION = re.compile(r"\s*(param|buffer)(?![A-Za-z0-9_])\s*(:?)")
_DECLARATION_FORMS = {
    "param": (
        "a parameter is declared `param NAME: [sizes], init=SCHEME`, e.g. `param scale: [96], init=ones`"
    ),
    "buffer": (
        "a buffer is declared `buffer NAME: VALUE` with optional `, persistent=false` and `, dtype=int64`; "
        "the value is a list the spec computes, e.g. `buffer index: [i % 7 for i in range(49)]`"
    ),
}


_ORDER_SETTING = re.compile(r"\s*order\s*:\s*[A-Za-z_]")
_REPEAT_STATEMENT = re.compile(r"\s*(repeat|loop|times)\s+[^:]+:")
_NETWORK_ARGUMENTS = re.compile(r"\s*network\s+[A-Za-z_][A-Za-z0-9_]*\s*\(")


def _declaration_hint(written: str) -> str | None:
    """The form of a `param`/`buffer` declaration, of a block's `order:` or of a network's parameters, for
    a syntax error on a line that starts with one."""
    if _NETWORK_ARGUMENTS.match(written):  # written as a block is: `network ConvMixer(dim=768):`
        return (
            "a network takes no argument list: its parameters go in a `params:` section of its body, one "
            "`name = default` a line (`params:`, then `dim = 768` indented below it); `--set dim=1536` "
            "changes one"
        )
    repeat = _REPEAT_STATEMENT.match(written)
    if repeat:  # `repeat depth:`, as in other spec languages
        return (
            f"there is no `{repeat.group(1)}` statement: a loop is `for i in range(n):` with its body below "
            "it, and `item * n` repeats one item (`Block(64) * n`, `(conv(64, 3) >> relu) * n`)"
        )
    if _ORDER_SETTING.match(written):
        return "a block's order lists names in brackets, first in its body: `order: [qkv, proj]`"
    match = _DECLARATION.match(written)
    if match is None:
        return None
    keyword = match.group(1)
    if match.group(2):  # `param: ...`: a layer meant to be called so
        return (
            f'`{keyword}` starts a declaration; a layer of that name takes a quoted label: `"{keyword}": ...`'
        )
    return _DECLARATION_FORMS[keyword]


def _bracket_error(error: UnexpectedInput, text: str, path: str) -> SpecError | None:
    """``'(' was never closed`` / ``unmatched ')'``: Python's messages, at the bracket itself. Inside
    brackets line breaks are ignored, so the parser itself only notices lines later."""
    token = getattr(error, "token", None)
    start = getattr(token, "start_pos", None)
    if start is None:
        start = getattr(error, "pos_in_stream", None)
    at_end = start is None or (token is not None and token.type in ("$END", "_DEDENT", "_NL"))
    end = len(text) if start is None else start
    if token is not None and token.type in ("RPAR", "RSQB"):
        end += 1
    stack = _open_brackets(text, end)
    if stack and stack[-1] < 0:
        offset = -1 - stack[-1]
        line, column = _line_column(text, offset)
        return SpecError([Diagnostic(f"unmatched '{text[offset]}'", point(path, line, column))], {path: text})
    if not stack:
        return None
    line, column = _line_column(text, stack[-1])
    error_line = getattr(error, "line", None) or line
    if at_end or error_line > line:
        message = f"'{text[stack[-1]]}' was never closed"
        return SpecError([Diagnostic(message, point(path, line, column))], {path: text})
    return None


def _end_position(text: str) -> tuple[int, int]:
    lines = text.rstrip("\n").splitlines() or [""]
    return len(lines), len(lines[-1]) + 1
