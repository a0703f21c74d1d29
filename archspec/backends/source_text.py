"""Text helpers of the code generator: how literals, docstrings, comments, attribute names and class
names are written in a generated file, and the names a generated file reserves.

Safety: spec text reaches the file only through ``repr()``/sanitised text inside docstrings and comments
(``doc``); a layer name becomes an attribute only where ``attribute_ok`` says ``self.<name>`` means it
(``check_local`` refuses the names no torch attribute can have).
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
import textwrap
from collections.abc import Sequence
from typing import Any

from archspec.backends.plan import ContainerPlan
from archspec.backends.source_entry import Formula
from archspec.backends.tidy import LINE_LENGTH
from archspec.backends.torch_source import NN_MODULE_ATTRIBUTES, class_names
from archspec.errors import InternalError, UsageError, spec_repr
from archspec.ir import Graph

POSITION = re.compile(r"^[0-9]+$")
RESERVED = {"torch", "nn", "F", "OrderedDict", "build", "init_weights", "self", "annotations", "rearrange"}
# Module-level names a file may also define (helpers, `init_*` rule functions): no class takes them.
GLOBALS = {
    "math",
    "matches",
    "fans",
    "layer_of",
    "parameters_of",
    "built",
    "refill_buffer",
    "computed_buffer",
    "functools",
    "Layer",
    "Callable",
    "TypeVar",
}
BUILTINS = frozenset(dir(builtins))  # `super`, `print`, `True`...: the generated code uses some of them
LAYER_ORDER = class_names("torch_layers.py")


def doc_text(value: Any) -> str:
    """Spec text made safe for a docstring or a comment: repr'd, one line, no quotes or backslashes."""
    text = value if isinstance(value, str) else spec_repr(value)
    text = repr(text)[1:-1]
    return "".join(c for c in text if c.isprintable()).replace("\\", "/").replace('"', "'")


def docstring(text: str, indent: int) -> list[str]:
    """A docstring wrapped at ``LINE_LENGTH`` columns, as a careful person writes one."""
    pad = " " * indent
    if len(pad) + len(text) + 6 <= LINE_LENGTH:
        return [f'{pad}"""{text}"""']
    wrapped = textwrap.wrap(text, width=LINE_LENGTH - indent - 3)
    return [f'{pad}"""{wrapped[0]}', *(f"{pad}{line}" for line in wrapped[1:]), f'{pad}"""']


def runs(items: Sequence[str]) -> list[tuple[str, int]]:
    """Consecutive equal items as (item, count) pairs."""
    runs: list[tuple[str, int]] = []
    for item in items:
        if runs and runs[-1][0] == item:
            runs[-1] = (item, runs[-1][1] + 1)
        else:
            runs.append((item, 1))
    return runs


def numbered(names: Sequence[str]) -> str | None:
    """The common prefix of names ``<prefix>0``, ``<prefix>1``, ... in order (at least two), when
    it is plain enough to sit in an f-string (letters, digits, underscores); else None."""
    matches = [re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*?)(0|[1-9][0-9]*)", name) for name in names]
    if len(names) < 2 or not all(matches):
        return None
    prefixes = {m.group(1) for m in matches if m is not None}
    numbers = [int(m.group(2)) for m in matches if m is not None]
    return prefixes.pop() if len(prefixes) == 1 and numbers == list(range(len(names))) else None


def literal(value: Any) -> str:
    """An op field's value as Python source: a formula as its text, an infinity as ``float('inf')``,
    a list as a tuple; InternalError for a value no op field holds."""
    if isinstance(value, Formula):
        return value.text
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, bool | int | float | str) or value is None:
        return repr(value)
    if isinstance(value, tuple | list):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise InternalError(f"cannot write {value!r} as source")  # an op field of a type it cannot hold


def atom(value: Any) -> str:
    """A number as an operand Python reads as one: a negative one in parentheses (`(-3) ** 2` is 9,
    `-3 ** 2` is -9)."""
    text = literal(value)
    return f"({text})" if value < 0 else text


def type_name(value: Any) -> str:
    """The annotation of one literal: ``int``, ``tuple[int, int]``, ``None``."""
    if value is None:
        return "None"
    if isinstance(value, tuple | list):
        return f"tuple[{', '.join(type_name(v) for v in value)}]" if value else "tuple[()]"
    return type(value.value if isinstance(value, Formula) else value).__name__


def annotation(values: Sequence[Any]) -> str:
    """The annotation of a constructor parameter that takes ``values`` (``int | tuple[int, int]``)."""
    names = list(dict.fromkeys(type_name(v) for v in values))
    return " | ".join(names)


def attribute_ok(name: str) -> bool:
    """Whether ``self.<name>`` means the attribute ``name``: not for a keyword, nor for ``__x``, which
    Python would mangle to ``_Class__x`` inside a class body (and so change the state-dict key)."""
    mangled = name.startswith("__") and not name.endswith("__")
    return name.isidentifier() and not keyword.iskeyword(name) and name not in RESERVED and not mangled


def check_local(name: str, where: str) -> None:
    """UsageError unless ``name`` (a layer's local name in ``where``) can name a module's child."""
    # Identifiers become attributes; any other name (positions, "block1-0", keywords) goes through
    # add_module/getattr with repr(), as torch allows any name without a dot.
    if not name or "." in name or not name.isprintable() or name in NN_MODULE_ATTRIBUTES:
        raise UsageError(
            f"layer name {name!r} in {where or 'the network'} cannot name a torch module attribute"
        )


def root_class_name(identifier: str, written: str | None) -> str:
    """The network's class in PEP 8's CapWords, from its spec name and the name its paper writes
    (metadata ``name``): ``resnet50`` and ``ResNet`` give ``ResNet50``; ``vgg16_bn`` and ``VGG`` give
    ``VGG16Bn``; a written name that names one variant (``ResNet-20``) lends its longest leading words
    that begin the spec name, so every variant is spelt alike (``resnet56`` gives ``ResNet56``); without
    a written name, or one whose first word does not begin the spec name, ``vit_b_16`` gives ``VitB16``.
    (Not yet checked to be an identifier: the caller does that.)"""
    for words in _leading_words(written or ""):
        end = _spelt(identifier, words)
        if end is not None:
            return re.sub(r"[^0-9A-Za-z]", "", words) + _cap_words(identifier[end:])
    return _cap_words(identifier)


def _cap_words(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"\W|_", text))


def _leading_words(written: str) -> list[str]:
    """``ResNet-20``, then ``ResNet``: the written name cut at each word boundary (punctuation, a change
    between letters and digits; not inside a word: `LeNet` does not lend `Le` to `lecun1989`), longest
    first."""
    cuts = [
        k
        for k in range(1, len(written) + 1)
        if k == len(written) or not written[k].isalnum() or written[k - 1].isdigit() != written[k].isdigit()
    ]
    return [written[:k] for k in reversed(cuts) if written[k - 1].isalnum()]


def _spelt(identifier: str, words: str) -> int | None:
    """Where ``identifier`` ends spelling ``words`` (case and `_` aside), or None when it does not."""
    letters = re.sub(r"[^0-9a-z]", "", words.lower())
    matched = 0
    for end, char in enumerate(identifier, 1):
        if char.lower() == letters[matched]:
            matched += 1
        elif char != "_":
            return None
        if matched == len(letters):
            return end
    return None


def class_base(plan: ContainerPlan, graph: Graph, root: bool) -> str:
    """The name a container's class starts from (before two classes of one name are told apart): the
    network's in CapWords, a block's own, or a group's local name capitalised; always a safe identifier."""
    if root:
        raw = root_class_name(graph.variant or graph.network, graph.metadata.name)
    elif plan.scope.block:
        raw = plan.scope.block
    else:
        raw = "".join(part.capitalize() for part in plan.local.split("_"))
    # Leading underscores go: `__builtins__`, `__name__` or `__class__` as a class name would change
    # what the generated file means (and a leading `__` is mangled inside a class body).
    name = re.sub(r"\W", "_", raw).lstrip("_")
    name = name[:1].upper() + name[1:] if name else "Module"
    if not name.isidentifier() or keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name = "Module_" + re.sub(r"\W", "", name)
    if name in RESERVED or name in GLOBALS or name in LAYER_ORDER or name in BUILTINS:
        name += "_"
    return name if name.isidentifier() else "Module"
