"""The subcommands for writing specs: `fmt` (the formatter), `lsp` (the language server) and `watch`.

Kept apart from ``archspec.cli`` (which adds them with one call) so that the editing tools stay in one
place; like every subcommand, each parses its arguments and calls a module that does the work.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archspec.errors import SpecError, UsageError

EXIT_OK, EXIT_SPEC = 0, 1


def spec_paths(targets: list[str]) -> list[Path]:
    """The files named, and the spec files (``.arch``, ``.yaml``, ``.yml``) of the folders named
    (recursively, in sorted order; YAML files that are not specs passed over)."""
    from archspec.loader import is_spec_in_folder
    from archspec.yaml_form import SPEC_SUFFIXES

    paths: list[Path] = []
    for target in targets:
        path = Path(target)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file())
            paths.extend(p for p in found if is_spec_in_folder(p))  # not a CI workflow's YAML
        elif path.exists():
            paths.append(path)
        else:
            raise UsageError(f"no such file or folder: {target}")
    return paths


def cmd_fmt(args: argparse.Namespace) -> int:
    """Format specs in place, or with --check report (with a diff) those that would change. A YAML spec
    is rewritten in the YAML form's canonical layout, unless it has comments (refused: the YAML writer
    would drop them)."""
    from archspec.fmt import format_text
    from archspec.loader import read_spec
    from archspec.yaml_form import is_yaml
    from archspec.yaml_form.convert import format_yaml

    if "-" in args.files:
        if len(args.files) > 1:
            raise UsageError("`-` (standard input) cannot be given with other files")
        text = sys.stdin.read()
        formatted = format_text(text, "<stdin>")
        if not args.check:
            sys.stdout.write(formatted)
            return EXIT_OK
        sys.stdout.writelines(_diff(text, formatted, "<stdin>"))
        return EXIT_SPEC if formatted != text else EXIT_OK
    changed, unchanged, failed = [], 0, 0
    for path in spec_paths(args.files):
        try:
            text = read_spec(path, str(path))
            formatted = (format_yaml if is_yaml(str(path)) else format_text)(text, str(path))
        except SpecError as error:
            print(error.render(), file=sys.stderr)
            failed += 1
            continue
        if formatted == text:
            unchanged += 1
            continue
        changed.append(path)
        if args.check:
            sys.stdout.writelines(_diff(text, formatted, str(path)))
            print(f"would reformat {path}", file=sys.stderr)
        else:
            from archspec.files import write_atomically

            write_atomically(path, formatted)
            print(f"reformatted {path}", file=sys.stderr)
    verb = "would be reformatted" if args.check else "reformatted"
    summary = f"{len(changed)} file(s) {verb}, {unchanged} file(s) already formatted"
    print(summary + (f", {failed} file(s) with errors" if failed else ""), file=sys.stderr)
    return EXIT_SPEC if failed or (args.check and changed) else EXIT_OK


def _diff(before: str, after: str, name: str) -> list[str]:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), name, f"{name} (formatted)"
    )
    return [line if line.endswith("\n") else line + "\n" for line in lines]


def cmd_lsp(args: argparse.Namespace) -> int:
    """Serve the language server over standard input and output until the editor closes it."""
    from archspec.lsp.server import serve

    serve()
    return EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    """Run a subcommand, then again each time its spec or a file it imports changes."""
    from archspec.watch import watch

    command = list(args.watched[1:] if args.watched[:1] == ["--"] else args.watched)
    if not command or command[0] in ("watch", "lsp"):
        raise UsageError("watch needs a command to run: `archspec watch draw resnet.arch -o resnet.svg`")
    return watch(command, args.run_command_line, args.parse_command_line)


def add_parsers(
    sub: Any,
    run_command_line: Callable[[list[str]], int],
    parse_command_line: Callable[[list[str]], argparse.Namespace],
) -> None:
    """The `fmt`, `lsp` and `watch` subcommands, and `--watch` on `draw` and `report`, added to the
    command line's subparsers (after `draw`'s and `report`'s). ``watch`` runs and parses its command
    with the two functions given (the CLI's own ``main`` and parser)."""

    def command(name: str, help: str, example: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(
            name, help=help, description=help, epilog=f"example: {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip
        return parser

    p = command(
        "fmt",
        "format specs in the canonical layout (comments and aligned tables kept); a YAML spec in the "
        "YAML form's layout, unless it has comments, which the YAML writer would drop (refused)",
        "archspec fmt --check specs/",
    )
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="a .arch/.yaml/.yml file, a folder (its spec files, recursively), or - (standard input "
        "to output, the text form)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="change nothing: print a diff of each file that would change and exit 1 if any would",
    )
    p.set_defaults(handler=cmd_fmt)

    p = command(
        "lsp",
        "run the language server over standard input/output (diagnostics, hover, completion, ...)",
        "archspec lsp   (started by an editor; see docs/editors.md)",
    )
    p.set_defaults(handler=cmd_lsp)

    p = command(
        "watch",
        "run a command again whenever its spec or an imported file changes (errors do not stop it)",
        "archspec watch draw specs/resnet.arch -o resnet.svg",
    )
    p.add_argument(
        "watched", nargs=argparse.REMAINDER, metavar="COMMAND", help="an archspec command and its arguments"
    )
    p.set_defaults(
        handler=cmd_watch, run_command_line=run_command_line, parse_command_line=parse_command_line
    )

    from archspec.watch import add_watch_option

    for name in ("draw", "report"):  # `archspec draw --watch`: the two commands that write what one looks at
        if name in sub.choices:  # a parser built for one command has that command's alone
            add_watch_option(sub.choices[name])
