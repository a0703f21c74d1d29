"""Names: the modules being filled, the local name of each item, and references to earlier layers.

Each node is named by its hierarchical path (``layer1.0.conv1``); anonymous items get their position in
the enclosing sequence, like ``nn.Sequential``. A reference (``from stem``) names an earlier labelled
layer of this sequence or of the sequences around it, up to the enclosing block.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from archspec import ast
from archspec.errors import SpecError, did_you_mean, spec_repr
from archspec.expr import BlockRef, Value, evaluate, show
from archspec.loader import FileScope
from archspec.source import Span

_TEMPLATE_FIELD = re.compile(r"\{([^{}]*)\}")


@dataclass
class Container:
    """A module being filled: the network, a block instance or a named sequence."""

    path: str
    input: int
    parent: Container | None
    is_block: bool
    counter: int = 0
    inputs: tuple[int, ...] = ()  # a block's inputs (`Block() from a, b`); the first is `input`
    labels: dict[str, tuple[int, Span]] = field(default_factory=dict)
    children: set[str] = field(default_factory=set)

    def child_name(self, local: str) -> str:
        """The path of a child called ``local``."""
        return f"{self.path}.{local}" if self.path else local


def file_environment(file: FileScope) -> dict[str, Value]:
    """Names visible everywhere in a file: its blocks (as values) and its top-level lets."""
    env: dict[str, Value] = {name: BlockRef(name) for name in file.blocks}
    for let in file.module.lets:
        env[let.name] = evaluate(let.value, env)
    return env


def claim(container: Container, label: ast.Label | None, env: Mapping[str, Value]) -> str:
    """The local name of the next item: its label, or its position. Checks for duplicates."""
    position = container.counter
    container.counter += 1
    local = str(position) if label is None else label_text(label, env)
    if local in container.children:
        where = container.path or "the network"
        raise SpecError.at(label.span if label else None, f"duplicate layer name '{local}' in {where}")
    container.children.add(local)
    return local


def label_text(label: ast.Label, env: Mapping[str, Value]) -> str:
    """A label's text, a template's fields filled in from ``env``; refused where it cannot name a module."""
    text = label.text
    if label.template:

        def substitute(match: re.Match[str]) -> str:
            field = match.group(1).strip()
            if field.isidentifier():
                if field not in env:
                    raise SpecError.at(
                        label.span,
                        f"unknown name '{field}' in the name template",
                        did_you_mean(field, env),
                    )
                value = env[field]
            else:  # an expression: `"denselayer{j - 1}"`
                from archspec.syntax import parse_expression  # Lark loads only when needed

                try:
                    value = evaluate(parse_expression(field), env)
                except SpecError as error:
                    message = error.diagnostics[0].message
                    raise SpecError.at(label.span, f"{message} in the name template {{{field}}}") from None
            return str(show(value) if not isinstance(value, str) else value)

        if "{" in _TEMPLATE_FIELD.sub("", text) or "}" in _TEMPLATE_FIELD.sub("", text):
            raise SpecError.at(label.span, f"unbalanced brace in the name template {spec_repr(text)}")
        text = _TEMPLATE_FIELD.sub(substitute, text)
    # torch names a module by any text without a dot: quoted labels may be `"block1-0"` or `"class"`
    # (the code generator writes such names through add_module/getattr)
    if not text or "." in text or not text.isprintable():
        shown = spec_repr(text)
        raise SpecError.at(
            label.span,
            f"layer name {shown} cannot name a module (a name is non-empty and printable, without '.')",
            "a dot separates the levels of a module path; write '_' or '-' instead" if "." in text else None,
        )
    return text


def resolve_ref(ref: ast.Ref, container: Container, env: Mapping[str, Value]) -> int:
    """The node a reference (``from stem``, ``from input``, ``from inputs[1]``) names."""
    if ref.template:  # `from "denselayer{j}"`: the name a template label makes
        ref = ast.Ref((label_text(ast.Label(ref.path[0], True, ref.span), env),), ref.span)
    if ref.index is not None:
        return block_input(ref, container)
    if ref.path == ("input",) and not ref.template:
        scope: Container | None = container
        while scope is not None and not scope.is_block and scope.parent is not None:
            scope = scope.parent
        return scope.input if scope is not None else container.input
    head, *rest = ref.path
    scope = container
    visible: list[str] = []
    while scope is not None:
        if head in scope.labels:
            if rest:
                name = ".".join((scope.child_name(head), *rest))
                raise SpecError.at(
                    ref.span,
                    f"'{'.'.join(ref.path)}' is inside '{head}': a reference can name only earlier "
                    "layers of this sequence or of the sequences around it",
                    hint=f"give the layer you want a name at this level instead of '{name}'",
                )
            return scope.labels[head][0]
        visible.extend(scope.labels)
        if scope.is_block:
            break
        scope = scope.parent
    where = "block" if scope is not None and scope.parent is not None else "network"
    raise SpecError.at(
        ref.span,
        f"unknown layer '{'.'.join(ref.path)}' (a reference names an earlier named layer of this {where})",
        did_you_mean(head, visible),
    )


def block_input(ref: ast.Ref, container: Container) -> int:
    """``inputs[i]``: the i-th input of the enclosing block (``Block() from a, b``)."""
    scope: Container | None = container
    while scope is not None and not scope.is_block:
        scope = scope.parent
    if ref.path != ("inputs",):
        raise SpecError.at(
            ref.span,
            f"'{ref.path[0]}[{ref.index}]': only a block's `inputs` can be indexed in a reference",
        )
    inputs = scope.inputs if scope is not None and scope.inputs else (scope.input if scope else 0,)
    if scope is None or scope.parent is None:
        raise SpecError.at(ref.span, "`inputs[i]` names the inputs of a block; the network has one input")
    assert ref.index is not None
    if ref.index >= len(inputs):
        count = f"{len(inputs)} input{'s' if len(inputs) != 1 else ''}"
        raise SpecError.at(ref.span, f"inputs[{ref.index}] does not exist: this block instance has {count}")
    return inputs[ref.index]
