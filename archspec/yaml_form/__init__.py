"""The YAML form of a spec (docs/yaml.md): the same language written as YAML, read into the same AST.

``reader`` turns a YAML spec into ``archspec.ast`` (through the text parser, with every span pointing
into the YAML file), ``writer`` writes a parsed spec as YAML, ``schema`` gives the JSON Schema of the
form. Nothing here imports torch.
"""

from __future__ import annotations

YAML_SUFFIXES = (".yaml", ".yml")
SPEC_SUFFIXES = (".arch", *YAML_SUFFIXES)


def is_yaml(path: str) -> bool:
    """Whether a spec path names a file in the YAML form (by its suffix)."""
    return path.lower().endswith(YAML_SUFFIXES)
