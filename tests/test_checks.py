"""``archspec check``: every error in one run (blocks used or not), warnings, and the zoo checks cleanly.

Messages are compared whole, as in ``test_errors.py``.
"""

# ruff: noqa: E501 - the expected messages are verbatim, long lines included

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from archspec.checks import check_specs
from archspec.cli import main
from archspec.errors import did_you_mean
from archspec.loader import spec_files, zoo_dir


def dedent(text: str) -> str:
    return textwrap.dedent(text).removeprefix("\n")


def rendered(spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """(errors, warnings) of checking ``spec`` as ``t.arch``, each as the text a user reads."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.arch").write_text(dedent(spec), encoding="utf-8")
    found = check_specs(["t.arch"])
    return (
        "".join(e.render() + "\n" for e in found.errors),
        "".join(w.render() + "\n" for w in found.warnings),
    )


def test_every_error_of_every_block_in_one_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    errors, warnings = rendered(
        """
        block Unused(w):
          conv(w, 3) >> relux >> zebra(3)
          linear(w, bias=true, biass=2)
          x = widht + 1

        block Used(w):
          conv(w, 3, 1, 1, 1, 1, 1, 1, 1)

        network n:
          input: 3x16x16
          params:
            n = 10
          layers:
            Used(8, k=2)
            conv(n, 3, strid=2)
            linear(numclasses)
        """,
        tmp_path,
        monkeypatch,
    )
    assert warnings == ""
    assert errors == dedent(
        """
        t.arch:2:17: error: unknown op or block 'relux'
           2 |   conv(w, 3) >> relux >> zebra(3)
                               ^^^^^
          hint: did you mean 'relu'?
        t.arch:2:26: error: there is no op or block named 'zebra'
           2 |   conv(w, 3) >> relux >> zebra(3)
                                        ^^^^^^^^
          hint: the ops are listed in docs/language.md#ops; a block must be defined in this file or imported
        t.arch:3:24: error: linear has no argument 'biass'
           3 |   linear(w, bias=true, biass=2)
                                      ^^^^^^^
          hint: did you mean 'bias'?
        t.arch:4:7: error: unknown name 'widht'
           4 |   x = widht + 1
                     ^^^^^
        t.arch:7:32: error: conv takes at most 8 positional arguments (out_channels, kernel_size, stride, padding, dilation, groups, bias, table), got 9
           7 |   conv(w, 3, 1, 1, 1, 1, 1, 1, 1)
                                              ^
        t.arch:14:13: error: block Used has no parameter 'k'
          14 |     Used(8, k=2)
                           ^^^
          hint: its parameters: w
        t.arch:15:16: error: conv has no argument 'strid'
          15 |     conv(n, 3, strid=2)
                              ^^^^^^^
          hint: did you mean 'stride'?
        t.arch:16:12: error: unknown name 'numclasses'
          16 |     linear(numclasses)
                          ^^^^^^^^^^
        """
    )


def test_a_network_parameter_used_in_a_block_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors, _ = rendered(
        """
        block Head():
          linear(num_classes)

        network n:
          input: [8]
          params:
            num_classes = 10
          layers:
            relu
        """,
        tmp_path,
        monkeypatch,
    )
    assert errors == dedent(
        """
        t.arch:2:10: error: unknown name 'num_classes'
           2 |   linear(num_classes)
                        ^^^^^^^^^^^
          hint: 'num_classes' is a parameter of the network; a block sees only its own parameters and the file's top-level names: add it to the block's parameters
        """
    )


def test_a_labelled_chain_with_unlabelled_parameters_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors, warnings = rendered(
        """
        block Head(classes):
          pool: global_avgpool >> flatten >> Fc(classes)

        block Fc(classes):
          linear(classes)

        network n:
          input: 3x8x8
          layers:
            conv1: conv(8, 3) >> bn1: batchnorm >> relu
            features: conv(8, 3) >> relu
            classifier: Head(10) >> dropout(0.5)
        """,
        tmp_path,
        monkeypatch,
    )
    assert errors == ""
    assert warnings == dedent(
        """
        t.arch:2:38: warning: the label 'pool' names only 'global_avgpool'; 'Fc(classes)' after it holds parameters and is named by its position
           2 |   pool: global_avgpool >> flatten >> Fc(classes)
                                                    ^^^^^^^^^^^
          hint: to name the whole chain, write `pool: (global_avgpool >> flatten >> Fc(classes))`, or label each layer that needs a name
        """
    )


def test_outputs_nothing_uses_warn_once_per_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    errors, warnings = rendered(
        """
        block Unit():
          side: conv(4, 1)
          conv(4, 3, pad=1) from input

        network n:
          input: 4x8x8
          layers:
            stem: conv(8, 3) >> relu
            conv(8, 1) from stem
            Unit() * 2
        """,
        tmp_path,
        monkeypatch,
    )
    assert errors == ""
    assert warnings == dedent(
        """
        t.arch:2:3: warning: the output of '3.side' is never used
           2 |   side: conv(4, 1)
                 ^^^^^^^^^^^^^^^^
          hint: no later layer reads it and it is not the network's output; read it with `from side`, or remove it
        t.arch:8:25: warning: the output of '1' is never used
           8 |     stem: conv(8, 3) >> relu
                                       ^^^^
          hint: no later layer reads it and it is not the network's output; label it and read it with `from`, or remove it
        """
    )


def test_check_passes_with_warnings_unless_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w.arch").write_text(
        "network w:\n  input: [32]\n  layers:\n    classifier: dropout(0.2) >> linear(10)\n"
    )
    warning = (
        "w.arch:4:33: warning: the label 'classifier' names only 'dropout(0.2)'; 'linear(10)' after it holds parameters and is named by its position\n"
        "   4 |     classifier: dropout(0.2) >> linear(10)\n"
        "                                       ^^^^^^^^^^\n"
        "  hint: to name the whole chain, write `classifier: (dropout(0.2) >> linear(10))`, or label each layer that needs a name\n"
    )
    assert main(["check", "w.arch"]) == 0
    assert capsys.readouterr() == ("ok: 1 spec(s) valid (1 warning(s))\n", warning)
    assert main(["check", "--strict", "w.arch"]) == 1
    assert capsys.readouterr() == ("", warning)


def test_the_zoo_checks_cleanly_without_warnings() -> None:
    found = check_specs([str(path) for path in spec_files(zoo_dir())])
    assert [e.render() for e in found.errors + found.warnings] == []


@pytest.mark.parametrize(
    ("word", "hint"),
    [
        ("relux", "did you mean 'relu'?"),
        ("linaer", "did you mean 'linear'?"),  # two neighbours swapped: one edit
        ("batchnrom", "did you mean 'batchnorm'?"),
        ("Conv", "did you mean 'conv'?"),
        ("attn", None),  # looks like 'flatten' to difflib, but is no typo of it
        ("mul", None),  # nor 'mlp'
        ("hardsigmoid", None),  # another op, not a misspelt 'sigmoid'
    ],
)
def test_did_you_mean_only_for_near_misses(word: str, hint: str | None) -> None:
    assert did_you_mean(word, ["relu", "linear", "batchnorm", "conv", "flatten", "mlp", "sigmoid"]) == hint


def test_names_inside_comprehensions_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A comprehension's own variables are bound inside it; every other name it reads must exist. The
    # block is never used, so only the static check can see it (lowering never reads it).
    errors, _ = rendered(
        """
        block Unused(w):
          conv([c * 2 for c in [w, 8] if c > limit][0], 3)
          conv(sum([c for c in widthz]), 3)

        network n:
          input: 3x8x8
          layers:
            conv(4, 3)
        """,
        tmp_path,
        monkeypatch,
    )
    assert errors == (
        "t.arch:2:38: error: unknown name 'limit'\n"
        "   2 |   conv([c * 2 for c in [w, 8] if c > limit][0], 3)\n"
        "                                            ^^^^^\n"
        "t.arch:3:24: error: unknown name 'widthz'\n"
        "   3 |   conv(sum([c for c in widthz]), 3)\n"
        "                              ^^^^^^\n"
    )
