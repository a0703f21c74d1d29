"""What a run prints: a rich progress bar on a terminal or in a Jupyter notebook, one plain line per epoch
otherwise, or nothing.

The bar shows the running loss, accuracy and images/s; it is refreshed every few steps, so drawing it costs
the loop nothing measurable.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

REFRESH_STEPS = 8  # update the bar's numbers every this many steps


def bar_console() -> Any:
    """A rich console to draw the bar on, or None: a terminal, or a Jupyter notebook where ipywidgets is
    installed (rich draws a notebook's live display in a widget, and without ipywidgets it would warn at
    every refresh instead). Elsewhere (a file, a pipe, a dumb terminal) a run prints plain lines."""
    from rich.console import Console

    from archspec.terminal import styled_stdout

    # The bar's cursor and colour codes are its own: past the CLI's escaping of spec text.
    console = Console(file=styled_stdout(), highlight=False)
    if console.is_jupyter:
        return console if importlib.util.find_spec("ipywidgets") is not None else None
    return console if console.is_terminal and not console.is_dumb_terminal else None


class Reporter:
    """Progress of one run. ``quiet`` prints only the final line; a non-terminal gets plain lines."""

    def __init__(self, quiet: bool, enabled: bool = True) -> None:
        self.quiet = quiet or not enabled
        self.enabled = enabled  # False on ranks other than 0: they print nothing at all
        self.bar: Any = None
        self.task: Any = None
        console = None if self.quiet else bar_console()
        if console is not None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("epoch {task.fields[epoch]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )

    def start_epoch(self, epoch: int, epochs: int, steps: int) -> None:
        """A new epoch of ``steps`` steps begins."""
        if self.bar is not None:
            if self.task is None:
                self.bar.start()
                self.task = self.bar.add_task("", total=steps, epoch=f"{epoch}/{epochs}", stats="")
            else:
                self.bar.reset(self.task, total=steps, epoch=f"{epoch}/{epochs}", stats="")

    def step(self, step: int, loss: float, accuracy: float, images_per_s: float) -> None:
        """Running figures after ``step`` steps (called every ``REFRESH_STEPS`` steps)."""
        if self.bar is not None:
            stats = f"loss {loss:.4f}  acc {accuracy:6.2%}  {images_per_s:,.0f} img/s"
            self.bar.update(self.task, completed=step, stats=stats)

    def end_epoch(self, metrics: dict[str, Any], epochs: int) -> None:
        """An epoch's line: on a terminal above the bar, elsewhere as a plain log line."""
        if self.quiet:
            return
        line = (
            f"epoch {metrics['epoch']}/{epochs}  train loss {metrics['train_loss']:.4f}  "
            f"acc {metrics['train_acc']:.2%}  test loss {metrics['test_loss']:.4f}  "
            f"acc {metrics['test_acc']:.2%}  {metrics['images_per_s']:,.0f} img/s  {metrics['seconds']:.1f} s"
        )
        if self.bar is not None:
            self.bar.console.print(line, markup=False)
        else:
            print(line, flush=True)

    def warn(self, text: str) -> None:
        """A warning about the run: said even when quiet (only rank 0); above the bar on a terminal."""
        if not self.enabled:
            return
        if self.bar is not None and self.task is not None:
            self.bar.console.print(f"warning: {text}", markup=False, highlight=False)
        else:
            print(f"warning: {text}", file=sys.stderr, flush=True)

    def message(self, text: str) -> None:
        """A line of information (the run folder, resuming), unless quiet."""
        if not self.quiet:
            print(text, flush=True)

    def final(self, text: str) -> None:
        """The last line of a run: printed even when quiet (only rank 0)."""
        self.close()
        if self.enabled:
            print(text, flush=True)

    def close(self) -> None:
        """Take the bar off the terminal."""
        if self.bar is not None and self.task is not None:
            self.bar.stop()
            self.task = None
