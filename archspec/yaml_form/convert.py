"""`archspec convert`: a spec from one form to the other (text and YAML), or to its own form's layout."""

from __future__ import annotations

from pathlib import Path

from archspec.errors import UsageError
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
