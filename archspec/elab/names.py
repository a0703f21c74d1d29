"""Names: the modules being filled, the local name of each item, and references to earlier layers.

Each node is named by its hierarchical path (``layer1.0.conv1``); anonymous items get their position in
the enclosing sequence, like ``nn.Sequential``. A reference (``from stem``) names an earlier labelled
layer of this sequence or of the sequences around it, up to the enclosing block.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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
    holders: set[str] = field(default_factory=set)  # module lists made by dotted labels (`convs.0:`)

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
    """The local name of the next item: its label, or its position. Checks for duplicates.

    A dotted label (``convs.0``) names a layer of a module list of the container: the list is made by
    its first layer and takes one position there; its layers run where they are written."""
    if label is None:
        local = str(container.counter)
        container.counter += 1
    else:
        local = label_text(label, env)
        *holders, _ = local.split(".")
        if not holders or holders[0] not in container.holders:
            container.counter += 1
        for depth in range(1, len(holders) + 1):
            prefix = ".".join(holders[:depth])
            if prefix in container.holders:
                continue
            if prefix in container.children:
                where = container.path or "the network"
                raise SpecError.at(
                    label.span,
                    f"'{prefix}' in {where} is a layer, not a module list: '{local}' cannot be put in it",
                    f"a dotted label (`{prefix}.0: ...`) makes a module list of its own; name the layer "
                    f"'{prefix}' otherwise",
                )
            container.holders.add(prefix)
            container.children.add(prefix)
    if local in container.children:
        where = container.path or "the network"
        kind = "module list" if local in container.holders else "layer name"
        raise SpecError.at(label.span if label else None, f"duplicate {kind} '{local}' in {where}")
    container.children.add(local)
    return local


def label_text(label: ast.Label, env: Mapping[str, Value]) -> str:
    """A label's text, a template's fields filled in from ``env``; refused where it cannot name a module.

    A dot written in the label separates the levels of a module list (``"convs.{i}"``); a dot that a
    template field puts in (``"drop{0.5}"``) is refused, as a name cannot hold one."""
    parts = _split_dots(label.text) if label.template else label.text.split(".")
    return ".".join(_component(label, part, env) for part in parts)


def _split_dots(text: str) -> list[str]:
    """``text`` split at the dots outside template fields."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "." and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    return [*parts, text[start:]]


def _component(label: ast.Label, text: str, env: Mapping[str, Value]) -> str:
    """One level of a label's name, filled in; refused where it cannot name a module."""
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
            raise SpecError.at(label.span, f"unbalanced brace in the name template {spec_repr(label.text)}")
        text = _TEMPLATE_FIELD.sub(substitute, text)
    # torch names a module by any text without a dot: quoted labels may be `"block1-0"` or `"class"`
    # (the code generator writes such names through add_module/getattr)
    if not text or "." in text or not text.isprintable():
        shown = spec_repr(text)
        if not text and "." in label.text:
            message = f"the dotted name {spec_repr(label.text)} has an empty level"
        else:
            message = (
                f"layer name {shown} cannot name a module (a name is non-empty and printable, without '.')"
            )
        raise SpecError.at(
            label.span,
            message,
            "a dot written in a label separates the levels of a module list (`convs.0`); a template "
            "field cannot put one in: write '_' or '-' instead"
            if "." in text
            else None,
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
    head = ref.path[0]
    whole = ".".join(ref.path)
    scope = container
    visible: list[str] = []
    while scope is not None:
        if whole in scope.labels:  # a layer, or one of a module list (`from convs.0`)
            return scope.labels[whole][0]
        if whole in scope.holders:
            raise SpecError.at(
                ref.span,
                f"'{whole}' is a module list, not a layer: a reference names one of its layers",
                f"name the layer: `from {whole}.0`",
            )
        inside = [
            ".".join(ref.path[:depth])
            for depth in range(1, len(ref.path))
            if ".".join(ref.path[:depth]) in scope.labels
        ]
        if inside:  # `from stem.conv1`, `from convs.0.conv1`
            name = scope.child_name(whole)
            raise SpecError.at(
                ref.span,
                f"'{whole}' is inside '{inside[-1]}': a reference can name only earlier "
                "layers of this sequence or of the sequences around it",
                hint=f"give the layer you want a name at this level instead of '{name}'",
            )
        visible.extend(scope.labels)
        if scope.is_block or head in scope.holders:  # a module list's layers are not looked for further
            break
        scope = scope.parent
    outer: Container | None = container
    while outer is not None and not outer.is_block:
        outer = outer.parent
    where = "block" if outer is not None and outer.parent is not None else "network"
    raise SpecError.at(
        ref.span,
        f"unknown layer '{whole}' (a reference names an earlier named layer of this {where})",
        did_you_mean(whole, [*visible, "input"]),  # `from inptu`: the input is named too
    )


def resolve_sources(
    sources: Sequence[ast.Ref | ast.RefList], container: Container, env: Mapping[str, Value]
) -> list[int]:
    """The nodes ``from a, ["b{i}" for i in ...]`` names, in the order written."""
    found: list[int] = []
    for source in sources:
        if isinstance(source, ast.Ref):
            found.append(resolve_ref(source, container, env))
            continue
        # The loop is evaluated as the comprehension of its names' values, which checks it as any
        # comprehension is checked (a list to loop over, unpacking, the condition, the size limit).
        names = tuple(ast.Name(target, source.span) for target in source.targets)
        loop = ast.ListComp(
            ast.ListExpr(names, source.span), source.targets, source.iterable, source.condition, source.span
        )
        values = evaluate(loop, env)
        assert isinstance(values, tuple)
        for value in values:
            assert isinstance(value, tuple)
            inner = {**env, **dict(zip(source.targets, value, strict=True))}
            found.append(resolve_ref(source.template, container, inner))
    return found


def block_input(ref: ast.Ref, container: Container) -> int:
    """``inputs[i]``: the i-th input of the enclosing block (``Block() from a, b``)."""
    scope: Container | None = container
    while scope is not None and not scope.is_block:
        scope = scope.parent
    if ref.path != ("inputs",):
        holder = container
        while holder.parent is not None and ref.path[0] not in holder.holders and not holder.is_block:
            holder = holder.parent
        raise SpecError.at(
            ref.span,
            f"'{ref.path[0]}[{ref.index}]': only a block's `inputs` can be indexed in a reference",
            f"a layer of a module list is named with a dot: `from {ref.path[0]}.{ref.index}`"
            if ref.path[0] in holder.holders
            else None,
        )
    inputs = scope.inputs if scope is not None and scope.inputs else (scope.input if scope else 0,)
    if scope is None or scope.parent is None:
        raise SpecError.at(ref.span, "`inputs[i]` names the inputs of a block; the network has one input")
    assert ref.index is not None
    if ref.index >= len(inputs):
        count = f"{len(inputs)} input{'s' if len(inputs) != 1 else ''}"
        raise SpecError.at(ref.span, f"inputs[{ref.index}] does not exist: this block instance has {count}")
    return inputs[ref.index]
