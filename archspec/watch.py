"""`archspec watch COMMAND...`: run an archspec command, then again whenever its spec or a file the spec
imports changes (a spec open in one window, its drawing in another).

The command runs in this process, as `archspec COMMAND...` would, so each run after the first costs no
start-up; its errors are reported as the command reports them, and the watch goes on. The files watched
are found again after every run: an import added to the spec is watched from then on. Uses watchfiles
(inotify and its peers; no polling).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

DEBOUNCE_MS = 300  # an editor's save can be several writes; one run for them all


def watched_files(command: list[str]) -> set[Path]:
    """The spec files a command reads: each spec it names, with the files that spec imports (only the
    spec itself when it does not load; the whole zoo for a command that names none)."""
    from archspec.cli import build_parser
    from archspec.errors import SpecError, UsageError
    from archspec.loader import load_program, resolve_spec, spec_files, zoo_dir

    try:
        args = build_parser().parse_args(command)
    except UsageError:
        return set()
    names = getattr(args, "specs", None) or ([args.spec] if getattr(args, "spec", None) else [])
    if not names:
        return {p.resolve() for p in spec_files(zoo_dir())}
    found: set[Path] = set()
    for name in names:
        try:
            path, _ = resolve_spec(name)
        except SpecError:
            candidate = Path(name)
            if candidate.suffix == ".arch":
                found.add(candidate.resolve())
            continue
        found.add(path.resolve())
        try:
            program = load_program(path, search_path=[Path(p) for p in getattr(args, "search_path", [])])
        except SpecError:
            continue
        found.update(Path(key).resolve() for key in program.files)
    return found


def watch(command: list[str], stop: threading.Event | None = None) -> int:
    """Run ``command`` (an archspec command line without the program name) now and on every change of
    the files it reads, until interrupted (KeyboardInterrupt) or ``stop`` is set. Returns the last
    run's exit code."""
    import watchfiles

    from archspec.cli import main

    code = main(command)
    files = watched_files(command)
    if not files:
        print("archspec watch: the command reads no spec file to watch", file=sys.stderr)
        return code
    while True:
        _tell(f"watching {_names(files)}; Ctrl-C to stop")
        folders = sorted({str(f.parent) for f in files if f.parent.is_dir()})
        # Ctrl-C: watchfiles ends the loop (raise_interrupt=False) and Python raises KeyboardInterrupt on
        # its way out, which ends the command line with 130, as for any command.
        for changes in watchfiles.watch(
            *folders,
            watch_filter=_only(files),
            debounce=DEBOUNCE_MS,
            stop_event=stop,
            raise_interrupt=False,
        ):
            changed = sorted({Path(path) for _, path in changes})
            _tell(f"{_names(changed)} changed: running `archspec {' '.join(command)}` again")
            code = main(command)
            break
        else:
            return code  # stopped
        files = watched_files(command) or files


def _only(files: set[Path]) -> Callable[[Any, str], bool]:
    """A watchfiles filter: changes of these files only (their folders hold others)."""
    return lambda _change, path: Path(path).resolve() in files


def _names(paths: Iterable[Path]) -> str:
    from archspec.loader import display_path

    return ", ".join(display_path(p) for p in sorted(paths))


def _tell(message: str) -> None:
    print(f"archspec watch: {message}", file=sys.stderr, flush=True)
