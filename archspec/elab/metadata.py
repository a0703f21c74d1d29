"""A network's metadata section, evaluated into the IR's ``Metadata`` record."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from archspec import ast
from archspec.elab import memo
from archspec.elab.graph import Unkeyed, typed_key
from archspec.elab.variants import variant_names
from archspec.elab.walk import free_names
from archspec.errors import SpecError, did_you_mean
from archspec.expr import BlockRef, Value, evaluate, show
from archspec.ir import Metadata, ReportedResult


def metadata(network: ast.NetworkDef, env: Mapping[str, Value], variant: str | None = None) -> Metadata:
    """The network's metadata section evaluated into a Metadata record (results: those of ``variant``).

    Made once per network (its syntax tree), variant and values of the names the section reads
    (``elab.memo``): each variant of a search loop has the same metadata (issue 26)."""
    key = _memo_key(network, env, variant)
    return memo.memoized(key, (network,), lambda: _metadata(network, env, variant))


_READS: dict[int, tuple[ast.NetworkDef, tuple[str, ...]]] = {}  # each network's names, by identity
_READS_LIMIT = 256


def _memo_key(network: ast.NetworkDef, env: Mapping[str, Value], variant: str | None) -> Hashable | None:
    """The key of ``metadata``'s memo (None: a value that cannot be keyed, made afresh)."""
    found = _READS.get(id(network))
    if found is None or found[0] is not network:
        if len(_READS) >= _READS_LIMIT:
            _READS.clear()
        names = tuple(dict.fromkeys(name.id for entry in network.meta for name in _names(entry)))
        found = _READS[id(network)] = (network, names)
    try:
        values = tuple((name, typed_key(env[name]) if name in env else None) for name in found[1])
    except Unkeyed:
        return None
    return ("metadata", id(network), variant, values)


def _names(entry: ast.MetaEntry) -> Iterator[ast.Name]:
    if isinstance(entry.value, tuple):
        for child in entry.value:
            yield from _names(child)
    else:
        yield from free_names(entry.value)


def _metadata(network: ast.NetworkDef, env: Mapping[str, Value], variant: str | None) -> Metadata:
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    known = set(Metadata.model_fields) - {"extra", "results"}
    for entry in network.meta:
        if entry.key == "reported" and isinstance(entry.value, tuple):
            fields["reported"], fields["results"] = _reported(network, entry.value, env, variant)
            continue
        value = _meta_value(entry, env)
        if entry.key in known:
            fields[entry.key] = value
        else:
            extra[entry.key] = value
    if isinstance(fields.get("authors"), str):
        fields["authors"] = (fields["authors"],)
    try:
        return Metadata(**fields, extra=extra)
    except ValidationError as error:  # a mistyped metadata value
        key = str(error.errors(include_url=False)[0]["loc"][0])
        entry = next(e for e in network.meta if e.key == key)
        got = "a group of entries" if isinstance(entry.value, tuple) else show(evaluate(entry.value, env))
        raise SpecError.at(
            entry.span, f"metadata '{key}' must be {_METADATA_TYPES.get(key, 'another type')}, got {got}"
        ) from None


_METADATA_TYPES = {
    "name": "a string",
    "title": "a string",
    "authors": "a string or a list of strings",
    "year": "an integer",
    "venue": "a string",
    "paper": "a string",
    "reported": "a group of `key: value` entries",
    "notes": "a string",
}


PER_VARIANT = "per_variant"


def _reported(
    network: ast.NetworkDef, entries: tuple[ast.MetaEntry, ...], env: Mapping[str, Value], variant: str | None
) -> tuple[dict[str, Any], tuple[ReportedResult, ...]]:
    """``reported``: network-wide figures (the paper's), and ``per_variant`` groups by origin.

    ``per_variant:`` holds one group per origin (``paper``, ``torchvision``), each with an optional
    ``source: "..."`` and a group of figures per variant name. The raw record keeps the network-wide
    entries; ``results`` holds what applies to ``variant`` (or to the network's own name).
    """
    raw: dict[str, Any] = {}
    results: list[ReportedResult] = []
    names = variant_names(network)
    chosen = variant or names[0]
    for entry in entries:
        if entry.key != PER_VARIANT:
            raw[entry.key] = _meta_value(entry, env)
            continue
        if not isinstance(entry.value, tuple):
            raise SpecError.at(entry.span, "reported 'per_variant' must be a group of origins (paper: ...)")
        for origin in entry.value:
            if not isinstance(origin.value, tuple):
                raise SpecError.at(
                    origin.span,
                    f"per_variant '{origin.key}' must be a group: `source:` and a group per variant",
                )
            source = None
            for item in origin.value:
                if item.key == "source" and not isinstance(item.value, tuple):
                    value = evaluate(item.value, env)
                    if not isinstance(value, str):
                        raise SpecError.at(item.span, f"source must be a string, got {show(value)}")
                    source = value
                    continue
                if item.key not in names:
                    raise SpecError.at(
                        item.span,
                        f"reported {origin.key} figures for '{item.key}', which is not a variant of "
                        f"{network.name}",
                        did_you_mean(item.key, names) or f"its variants: {', '.join(names)}",
                    )
                figures = _figures(item, env)
                if item.key == chosen:
                    results.append(ReportedResult(origin=origin.key, scope="variant", figures=figures))
            results = [
                r.model_copy(update={"source": source}) if r.origin == origin.key else r for r in results
            ]
    # Network-wide results: the error and accuracy figures among the plain entries (not params_millions).
    network_wide = {
        k: float(v)
        for k, v in raw.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and ("error" in k or "acc" in k)
    }
    if network_wide:
        results.append(ReportedResult(origin="paper", scope="network", figures=network_wide))
    return raw, tuple(results)


def _figures(entry: ast.MetaEntry, env: Mapping[str, Value]) -> dict[str, float]:
    if not isinstance(entry.value, tuple):
        raise SpecError.at(entry.span, f"figures of '{entry.key}' must be a group of `name: number` entries")
    figures = {}
    for item in entry.value:
        value = None if isinstance(item.value, tuple) else evaluate(item.value, env)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise SpecError.at(item.span, f"reported figure '{item.key}' must be a number")
        figures[item.key] = float(value)
    return figures


def _meta_value(entry: ast.MetaEntry, env: Mapping[str, Value]) -> Any:
    if isinstance(entry.value, tuple):
        return {child.key: _meta_value(child, env) for child in entry.value}
    return jsonable(evaluate(entry.value, env))


def jsonable(value: Value) -> Any:
    """A value as JSON data: lists for tuples, a block by its name."""
    if isinstance(value, tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, BlockRef):
        return value.name
    return value
