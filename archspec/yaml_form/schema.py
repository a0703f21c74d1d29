"""The JSON Schema of the YAML form (`archspec schema --yaml`), for editors that validate and complete YAML.

It checks the structure (which keys go where, what each value is); what the strings say (expressions,
chains) is checked by `archspec check`, as for text specs.
"""

from __future__ import annotations

from typing import Any

NAME = "^[A-Za-z_][A-Za-z0-9_]*$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name}"}


def yaml_schema() -> dict[str, Any]:
    """The JSON Schema (draft-07, which editors' YAML support reads) of a YAML spec."""
    string = {"type": "string", "minLength": 1}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://archspec.invalid/schema/spec.yaml.json",
        "title": "archspec spec (YAML form)",
        "description": "A network spec written in YAML; see docs/yaml.md.",
        "type": "object",
        "properties": {
            "imports": {
                "description": "Files whose blocks this spec uses: `file.arch` (every block) or "
                "`file.arch: [Name]`.",
                "type": "array",
                "items": {
                    "anyOf": [
                        {"type": "string", "pattern": r"\.(arch|yaml|yml)$"},
                        {
                            "type": "object",
                            "minProperties": 1,
                            "maxProperties": 1,
                            "propertyNames": {"pattern": r"\.(arch|yaml|yml)$"},
                            "additionalProperties": {
                                "anyOf": [
                                    {"type": "string", "pattern": NAME},
                                    {
                                        "type": "array",
                                        "minItems": 1,
                                        "items": {"type": "string", "pattern": NAME},
                                    },
                                ]
                            },
                        },
                    ]
                },
            },
            "lets": {
                "description": "Top-level bindings, visible in the whole file: `name: expression`.",
                **_ref("bindings"),
            },
        },
        "patternProperties": {
            r"^block\s+[A-Za-z_][A-Za-z0-9_]*\s*\(.*\)\s*$": {
                "description": "A block: its body (a list), or `label` and `layers`.",
                **_ref("block"),
            },
            r"^network\s+[A-Za-z_][A-Za-z0-9_]*\s*$": {"description": "The network.", **_ref("network")},
        },
        "additionalProperties": False,
        "definitions": {
            "value": {
                "description": "A number, true/false, null, an expression in a string, or a list of values.",
                "anyOf": [
                    {"type": ["number", "boolean", "null"]},
                    string,
                    {"type": "array", "items": _ref("value")},
                ],
            },
            "bindings": {
                "type": "object",
                "propertyNames": {"pattern": NAME},
                "additionalProperties": _ref("value"),
            },
            "meta": {
                "description": "Metadata: text, a number, a list, `=expression`, or a group of entries.",
                "anyOf": [
                    _ref("value"),
                    {
                        "type": "object",
                        "propertyNames": {"pattern": NAME},
                        "additionalProperties": _ref("meta"),
                    },
                ],
            },
            "block": {
                "anyOf": [
                    _ref("body"),
                    {
                        "type": "object",
                        "properties": {
                            "label": {"type": "string", "description": "How drawings name an instance."},
                            "order": {
                                "type": "array",
                                "items": {"type": "string", "pattern": NAME},
                                "minItems": 1,
                                "description": "The layers registered first, in this order (module order).",
                            },
                            "layers": _ref("body"),
                        },
                        "required": ["layers"],
                        "additionalProperties": False,
                    },
                ]
            },
            "rules": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"type": "string", "minLength": 1},
            },
            "network": {
                "type": "object",
                "properties": {
                    "input": {
                        "description": "One sample's shape: `3x224x224`, `[784]` or an expression.",
                        "anyOf": [string, {"type": "array", "items": _ref("value")}],
                    },
                    "params": {
                        "description": "Parameters: `name: expression`, in order.",
                        **_ref("bindings"),
                    },
                    "variants": {
                        "description": "Rows `name: {param: value}` (the first is the default).",
                        "type": "object",
                        "propertyNames": {"pattern": NAME},
                        "additionalProperties": {
                            "anyOf": [{"type": "null"}, string, _ref("bindings")],
                        },
                    },
                    "init": {
                        "description": "Initialisation rules: `op: clauses`, a quoted name pattern, "
                        "`when built`.",
                        "type": "object",
                        "minProperties": 1,
                        "properties": {"when built": _ref("rules")},
                        "additionalProperties": {"type": "string", "minLength": 1},
                    },
                    "layers": {"description": "The network's layers.", **_ref("body")},
                },
                "required": ["input", "layers"],
                "propertyNames": {"pattern": NAME},
                "additionalProperties": _ref("meta"),
            },
            "body": {"type": "array", "minItems": 1, "items": _ref("statement")},
            "suite": {"anyOf": [string, _ref("body")]},
            "statement": {
                "description": "A layer chain or binding (a string), or a mapping: a named layer or group, "
                "for, if/elif/else, residual (with shortcut), concat/add/mul.",
                "anyOf": [
                    string,
                    {
                        "type": "object",
                        "minProperties": 1,
                        "patternProperties": {
                            r"^for\s": _ref("suite"),
                            r"^(if|elif)\s": _ref("suite"),
                            "^else$": _ref("suite"),
                            r"^residual(\s+if\s.*)?$": _ref("body"),
                            r"^shortcut(\s.*)?$": _ref("suite"),
                            r"^(concat|add|mul)$": _ref("body"),
                            r">>\s*(concat|add|mul)\s*$": _ref("body"),
                        },
                        "additionalProperties": _ref("suite"),
                    },
                ],
            },
        },
    }
