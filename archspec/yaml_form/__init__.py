"""The YAML form of a spec (docs/yaml.md): the same language written as YAML, read into the same AST.

``reader`` turns a YAML spec into ``archspec.ast`` (through the text parser, with every span pointing
into the YAML file), ``writer`` writes a parsed spec as YAML, ``schema`` gives the JSON Schema of the
form. Nothing here imports torch.
"""

from __future__ import annotations

from pathlib import Path

YAML_SUFFIXES = (".yaml", ".yml")
SPEC_SUFFIXES = (".arch", *YAML_SUFFIXES)


def is_yaml(path: str) -> bool:
    """Whether a spec path names a file in the YAML form (by its suffix)."""
    return path.lower().endswith(YAML_SUFFIXES)


def is_spec_in_folder(path: Path) -> bool:
    """Whether a file found in a folder (``list``, ``report``, ``fmt`` of a folder) is a spec: every
    ``.arch`` file, and a YAML file whose top-level keys are a spec's (``network ...``, ``block ...``,
    ``imports``, ``lets``), so that a project's other YAML files (a CI workflow, a data set's
    description) are passed over rather than reported as broken specs. A file that cannot be read
    counts as a spec: reading it again reports why."""
    if not is_yaml(str(path)):
        return True
    from archspec.errors import SpecError
    from archspec.loader import read_spec
    from archspec.yaml_form.reader import is_spec_document

    try:
        text = read_spec(path, str(path))
    except SpecError:
        return True
    return is_spec_document(text, str(path))
