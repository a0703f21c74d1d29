"""What a drawing shows: its style, how deep blocks open, which open anyway, figures, direction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from archspec.errors import UsageError

Style = Literal["blocks", "maps"]
RankDir = Literal["TB", "LR"]
STYLES: tuple[Style, ...] = ("blocks", "maps")
RANKDIRS: tuple[RankDir, ...] = ("TB", "LR")
PNG_DPI = 192  # twice Graphviz's 96: a PNG that stays sharp on a slide or a high-density screen


@dataclass(frozen=True)
class DrawOptions:
    """Options of a drawing.

    ``depth``: blocks nested this deep are drawn as one box each, shallower ones are opened (None: every
    block opens and every op is drawn). ``expand``: names of blocks, stages or block definitions to open
    whatever the depth. ``figures``: params and MACs in the nodes. ``rankdir``: top to bottom or left
    to right (``maps`` always runs left to right). ``dpi``: the resolution of a PNG (None: ``PNG_DPI``;
    SVG, PDF and DOT keep their points).
    """

    style: Style = "blocks"
    depth: int | None = 1
    expand: tuple[str, ...] = ()
    figures: bool = True
    rankdir: RankDir = "TB"
    dpi: int | None = None

    def __post_init__(self) -> None:
        if self.dpi is not None and (
            isinstance(self.dpi, bool) or not isinstance(self.dpi, int) or not 10 <= self.dpi <= 1200
        ):
            raise UsageError(f"dpi must be a whole number from 10 to 1200, got {self.dpi!r}")
        if self.style not in STYLES:
            raise UsageError(f"unknown drawing style {self.style!r}; expected one of {', '.join(STYLES)}")
        if self.rankdir not in RANKDIRS:
            raise UsageError(f"unknown rankdir {self.rankdir!r}; expected TB or LR")
        if self.depth is not None and (
            isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 1
        ):
            raise UsageError(f"depth must be a positive integer or None (every op), got {self.depth!r}")
        if isinstance(self.expand, str):  # expand="layer3" would otherwise expand 'l', 'a', ...
            object.__setattr__(self, "expand", (self.expand,))
        else:
            object.__setattr__(self, "expand", tuple(self.expand))


def parse_depth(text: str) -> int | None:
    """``--depth``: a positive integer, or ``all`` (every op: None)."""
    if text.strip().lower() == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(f"--depth expects a positive integer or 'all', got {text!r}")
    return value
