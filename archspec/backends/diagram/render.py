"""Rendering DOT source with Graphviz's ``dot`` binary (through the ``graphviz`` package)."""

from __future__ import annotations

from typing import Any, Literal

from archspec.errors import UsageError

Format = Literal["svg", "png", "pdf"]
FORMATS: tuple[str, ...] = ("svg", "png", "pdf")
INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: `apt-get install graphviz`), or write the source with a .dot file"
)


# Seconds `dot` may take on one drawing before it is killed (the zoo's largest takes under one).
DOT_SECONDS = 20.0
DOT_MEMORY = 2 * 2**30  # address space `dot` may use: a layout that needs more fails, not the machine


class DotTimeout(UsageError):
    """``dot`` ran past ``DOT_SECONDS`` and was killed."""


def render(dot_source: str, fmt: Format, seconds: float = DOT_SECONDS) -> bytes:
    """The drawing as SVG, PNG or PDF bytes. Raises UsageError when ``dot`` is missing or fails, and
    DotTimeout when it runs past ``seconds`` (it is killed, with any process it started)."""
    if fmt not in FORMATS:
        raise UsageError(f"cannot render to {fmt!r}; expected one of {', '.join(FORMATS)}")
    import shutil
    import subprocess

    executable = shutil.which("dot")
    if executable is None:
        raise UsageError(f"Graphviz's `dot` was not found on PATH: {INSTALL_HINT}")
    process = subprocess.Popen(
        [executable, f"-T{fmt}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: killed as a whole
        preexec_fn=_limit_memory,
    )
    try:
        data, errors = process.communicate(dot_source.encode("utf-8"), timeout=seconds)
    except subprocess.TimeoutExpired:
        raise DotTimeout(f"Graphviz's `dot` did not finish in {seconds:g} s") from None
    finally:
        if process.poll() is None:  # a timeout, an interrupt, any exception: never leave `dot` running
            _kill(process)
    if process.returncode != 0:
        detail = errors.decode("utf-8", "replace").strip()
        raise UsageError(f"`dot` failed to render the drawing: {detail or f'exit {process.returncode}'}")
    return data


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (DOT_MEMORY, DOT_MEMORY))


def _kill(process: Any) -> None:
    import contextlib
    import os
    import signal

    with contextlib.suppress(OSError):  # already gone
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
