"""Watch mode: run an archspec command, then again whenever its spec or a file the spec imports changes
(a spec open in one window, its drawing in another). Two forms: `archspec draw --watch ...` and
`archspec report --watch ...`, and `archspec watch COMMAND...` for any command.

The command runs in this process, so each run after the first costs no start-up; its errors are reported
as the command reports them, and the watch goes on. The files watched are found again after every run:
an import added to the spec is watched from then on. Uses watchfiles (inotify and its peers; no polling).
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

DEBOUNCE_MS = 300  # an editor's save can be several writes; one run for them all


def spec_files_of(names: Sequence[str], search_path: Sequence[str] = ()) -> set[Path]:
    """The spec files named, with the files each imports (only the spec itself when it does not load;
    the whole zoo when no name is given)."""
    from archspec.errors import SpecError
    from archspec.loader import load_program, resolve_spec, spec_files, zoo_dir

    if not names:
        return {p.resolve() for p in spec_files(zoo_dir())}
    found: set[Path] = set()
    for name in names:
        try:
            path, _ = resolve_spec(name)
        except SpecError:
            if name.endswith((".arch", ".yaml", ".yml")):
                found.add(Path(name).resolve())  # not there yet, or unreadable: watch for it
            continue
        found.add(path.resolve())
        try:
            program = load_program(path, search_path=[Path(p) for p in search_path])
        except SpecError:
            continue
        found.update(Path(key).resolve() for key in program.files)
    return found


def _files_of_args(args: argparse.Namespace) -> set[Path]:
    names = getattr(args, "specs", None) or ([args.spec] if getattr(args, "spec", None) else [])
    return spec_files_of(names, getattr(args, "search_path", []))


def watch(
    command: list[str],
    run: Callable[[list[str]], int],
    parse: Callable[[list[str]], argparse.Namespace],
    stop: threading.Event | None = None,
) -> int:
    """`archspec watch COMMAND...`: run the command line ``command`` now and on every change of the
    files it reads. ``run`` and ``parse`` are the command line's own (given by it: this module does not
    import the CLI, which imports it)."""
    from archspec.errors import UsageError

    def files() -> set[Path]:
        try:
            return _files_of_args(parse(command))
        except UsageError:
            return set()

    return watch_loop(lambda: run(command), files, f"archspec {' '.join(command)}", stop)


def watching(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A subcommand's handler that, given ``--watch``, runs again on every change of the spec files."""

    def run(args: argparse.Namespace) -> int:
        if not args.watch:
            return handler(args)
        name = f"archspec {args.command}"
        return watch_loop(lambda: _report_errors(handler, args), lambda: _files_of_args(args), name)

    return run


def _report_errors(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a handler as the command line does, its errors printed rather than raised."""
    from archspec.errors import SpecError, UsageError, printable

    try:
        return handler(args)
    except SpecError as error:
        print(error.render(), file=sys.stderr)
        return 1
    except UsageError as error:
        print(f"archspec: error: {printable(str(error), keep=chr(10))}", file=sys.stderr)
        return 2


def watch_loop(
    run: Callable[[], int], files_of: Callable[[], set[Path]], name: str, stop: threading.Event | None = None
) -> int:
    """``run()`` now and whenever one of ``files_of()`` changes, until interrupted (KeyboardInterrupt)
    or ``stop`` is set. Returns the last run's exit code."""
    import watchfiles

    code = run()
    files = files_of()
    if not files:
        _tell("the command reads no spec file to watch")
        return code
    while True:
        _tell(f"watching {_names(files)}; Ctrl-C to stop")
        folders = sorted({str(f.parent) for f in files if f.parent.is_dir()})
        # Ctrl-C: watchfiles ends the loop quietly (raise_interrupt=False: no warning logged). When the
        # signal came during its wait, Python raises nothing on the way out, so an end without `stop` set
        # is raised here as the interrupt it was: the command line ends with 130, as any command does.
        for changes in watchfiles.watch(
            *folders, watch_filter=_only(files), debounce=DEBOUNCE_MS, stop_event=stop, raise_interrupt=False
        ):
            changed = sorted({Path(path) for _, path in changes})
            _tell(f"{_names(changed)} changed: running `{name}` again")
            code = run()
            break
        else:
            if stop is not None and stop.is_set():
                return code  # stopped
            raise KeyboardInterrupt
        files = files_of() or files


def add_watch_option(parser: argparse.ArgumentParser) -> None:
    """``--watch`` on a subcommand's parser: its handler runs again on every change of its specs."""
    parser.add_argument(
        "--watch",
        action="store_true",
        help="run again whenever the spec or a file it imports changes (errors do not stop it; Ctrl-C does)",
    )
    parser.set_defaults(handler=watching(parser.get_default("handler")))


def _only(files: set[Path]) -> Callable[[Any, str], bool]:
    """A watchfiles filter: changes of these files only (their folders hold others)."""
    return lambda _change, path: Path(path).resolve() in files


def _names(paths: Iterable[Path]) -> str:
    from archspec.loader import display_path

    return ", ".join(display_path(p) for p in sorted(paths))


def _tell(message: str) -> None:
    print(f"archspec watch: {message}", file=sys.stderr, flush=True)
