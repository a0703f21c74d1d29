"""`archspec convert`: a spec from one form to the other (text and YAML), or to its own form's layout."""

from __future__ import annotations

from pathlib import Path

from archspec.errors import SpecError, UsageError
from archspec.source import point
from archspec.yaml_form import is_yaml

FORMS = ("yaml", "arch")


def convert(path: Path, to: str) -> str:
    """The spec file ``path`` written in the form ``to`` (``yaml`` or ``arch``). Comments are not kept.
    Raises SpecError when the spec does not parse, UsageError for an unknown form."""
    from archspec.loader import display_path, read_spec

    if to not in FORMS:
        raise UsageError(f"--to takes {' or '.join(FORMS)}, not {to!r}")
    key = display_path(path)
    text = read_spec(path, key)
    if is_yaml(key):
        if to == "arch":
            from archspec.yaml_form.writer import to_text

            return to_text(text, key)
        from archspec.yaml_form.reader import read_yaml

        module = read_yaml(text, key)
    else:
        from archspec.syntax import parse

        if to == "arch":
            from archspec.fmt import format_text

            return format_text(text, key)
        module = parse(text, key)
    from archspec.yaml_form.writer import to_yaml

    return to_yaml(module)


def format_yaml(text: str, key: str) -> str:
    """``archspec fmt`` of a YAML spec: the spec in the YAML form's canonical layout (the writer's, as
    ``convert --to yaml`` writes it). The writer keeps no comments, so a spec with a comment is refused
    (a SpecError at the first one) rather than rewritten without it; so is a spec that does not parse."""
    from archspec.yaml_form.reader import read_yaml
    from archspec.yaml_form.writer import to_yaml

    module = read_yaml(text, key)  # first: a file that is not a spec says so, at its mistake
    comment = first_comment(text)
    if comment is not None:
        line, column = comment
        width = len(text.splitlines()[line - 1].rstrip()) - column + 1  # the comment, to the line's end
        raise SpecError.at(
            point(key, line, column, width),
            "fmt does not rewrite a YAML spec that has comments: the YAML writer would drop them",
            "leave the file's layout as it is, or remove the comments; "
            f"`archspec convert {key} --to yaml` prints the canonical layout",
        )
    return to_yaml(module)


def first_comment(text: str) -> tuple[int, int] | None:
    """The line and column (1-based) of the first comment of a YAML text, or None. Outside its tokens,
    ``#`` in YAML only starts a comment: every ``#`` that no token (a scalar, an indicator) covers is
    one. ``text`` has been read by ``load_document`` already (bounded, valid YAML)."""
    from ruamel.yaml import YAML

    covered = [(t.start_mark.index, t.end_mark.index) for t in YAML(typ="rt").scan(text)]
    covered.sort()
    at, position = 0, text.find("#")
    while position != -1:
        while at < len(covered) and covered[at][1] <= position:
            at += 1
        if at == len(covered) or covered[at][0] > position:
            before = text[:position]
            return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1
        position = text.find("#", position + 1)
    return None
