"""Texts and colours of a drawing: op summaries in the papers' terms, op families, escaping."""

from __future__ import annotations

import html

from archspec.ops import Op, Shape

# Each op's family is its ``Op.family``. Each family has a fill colour (light, so that black text stays
# readable) and a name for the legend.
FAMILIES: dict[str, tuple[str, str]] = {  # family -> (fill colour, legend text)
    "input": ("#e0e0e0", "input"),
    "conv": ("#bcd8f0", "convolution"),
    "pool": ("#c9e6c0", "pooling"),
    "norm": ("#fbe7a7", "normalisation"),
    "activation": ("#f4f4f4", "activation"),
    "dense": ("#f9cfa5", "fully connected"),
    "attention": ("#d3c4ea", "attention"),
    "token": ("#f3c0c8", "tokens, embeddings"),
    "merge": ("#ffffff", "add, multiply, concat"),
    "reshape": ("#ececec", "reshape, split, dropout, pad"),
    "block": ("#e3e8f8", "block (closed)"),
}


def family(op: Op) -> str:
    """The op's family (see FAMILIES)."""
    return op.family


def esc(text: object) -> str:
    """Text for an HTML-like label: every markup character escaped, line breaks as spaces."""
    flat = " ".join(str(text).splitlines()) if "\n" in str(text) or "\r" in str(text) else str(text)
    return html.escape(flat, quote=True)


def dims(shape: Shape) -> str:
    """``64×56×56``."""
    return "×".join(str(d) for d in shape) if shape else "scalar"


def summary(op: Op) -> str:
    """A short op summary in the papers' terms: ``conv 3×3/2, 128``, ``maxpool 3×3/2``, ``linear 1000``:
    the op's own ``Op.label()``, so that an op's drawing text is written once, in its definition."""
    return op.label()


def human(value: float) -> str:
    """``25.6M``, ``4.09G``, ``9.41K``: three significant digits."""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= factor:
            scaled = value / factor
            return f"{scaled:.3g}{suffix}" if scaled < 1000 else f"{scaled:.0f}{suffix}"
    return f"{value:g}"


def figures(params: int, macs: int) -> str:
    """``1.22M params · 219M MACs`` (the zero ones left out)."""
    parts = []
    if params:
        parts.append(f"{human(params)} params")
    if macs:
        parts.append(f"{human(macs)} MACs")
    return " · ".join(parts)
