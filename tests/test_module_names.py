"""A layer named like an attribute of torch.nn.Module (``half``) is reported by ``check``, which imports no
torch, from the code generator's list (test_codegen.py holds it equal to torch's own)."""

from pathlib import Path

import pytest

import archspec
from archspec.cli import main
from archspec.errors import SpecError, UsageError
from archspec.module_names import BUILT_BLOCK_ATTRIBUTES, clashes_with_module

SPEC = """\
network clash:
  input: 3x8x8
  layers:
    half: conv(4, 3)
    flatten
    fc: linear(10)
"""


def test_build_refuses_every_name_check_refuses() -> None:
    # The oracle is the torch builder itself (it asks a real module ``hasattr``): each listed name, as a
    # layer name, makes it fail; an ordinary one does not. ``Network.build`` says so first, with the place.
    from archspec.backends.torch_build import build_module

    for name in ["half", "train", "forward", "__class__", *sorted(BUILT_BLOCK_ATTRIBUTES)[:1], "conv"]:
        network = archspec.load("clash", text=SPEC.replace("half:", f"{name}:"))
        if clashes_with_module(name):
            with pytest.raises(UsageError):
                build_module(network.graph)
            with pytest.raises(SpecError):
                network.build()
        else:
            build_module(network.graph)
            network.build()


def test_build_compile_and_export_give_checks_error_with_its_place(tmp_path: Path) -> None:
    """Not a UsageError that names no line (exit 2): the spec error ``check`` gives (exit 1)."""
    spec = tmp_path / "clash.arch"
    spec.write_text(SPEC, encoding="utf-8")
    network = archspec.load(spec)
    expected = (
        f"{spec}:4:5: error: layer name 'half' clashes with an attribute of torch.nn.Module\n"
        "   4 |     half: conv(4, 3)\n"
        "           ^^^^^^^^^^^^^^^^\n"
        "  hint: rename it: torch has a method or field of that name, so no layer can be registered"
        " under it"
    )
    for make in (network.build, network.to_source, lambda: network.export(tmp_path / "clash.onnx")):
        with pytest.raises(SpecError) as error:
            make()
        assert str(error.value) == expected
    assert main(["compile", str(spec), "-o", str(tmp_path / "clash.py")]) == 1
    assert not (tmp_path / "clash.py").exists()


def test_check_reports_the_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "clash.arch"
    spec.write_text(SPEC, encoding="utf-8")
    assert main(["check", str(spec)]) == 1
    assert capsys.readouterr().err == (
        f"{spec}:4:5: error: layer name 'half' clashes with an attribute of torch.nn.Module\n"
        "   4 |     half: conv(4, 3)\n"
        "           ^^^^^^^^^^^^^^^^\n"
        "  hint: rename it: torch has a method or field of that name, so no layer can be registered"
        " under it\n"
    )


def test_an_own_parameter_is_what_both_backends_hold_as_a_parameter() -> None:
    """``Op.own_parameter`` (the fact ``check`` reads) against the backends: torch's builder makes those
    ops' layers a tensor of the module, and the source writes them as an ``nn.Parameter``."""
    from archspec.backends.source_ops import SOURCE_OPS
    from archspec.backends.torch_ops import TORCH_OPS
    from archspec.ops import OP_CLASSES

    for op in OP_CLASSES:
        if op.op_kind() in TORCH_OPS:
            torch_side = TORCH_OPS[op.op_kind()].parameter is not None
            source_side = SOURCE_OPS[op.op_kind()].parameter_source is not None
            assert op.own_parameter == torch_side == source_side, op.__name__


DOTTED = """\
network dotted:
  input: 3x32x32
  layers:
    patch_embed(8, 16)
    tok.0: class_token
    select_token(0)
    linear(2)
"""


def test_a_parameter_under_a_dotted_label_is_a_spec_error(tmp_path: Path) -> None:
    """``check`` said it was valid, and building it stopped at a UsageError that named no place."""
    from archspec.checks import check_specs

    spec = tmp_path / "dotted.arch"
    spec.write_text(DOTTED, encoding="utf-8")
    expected = (
        f"{spec}:5:5: error: 'tok.0' is a parameter of its own (a class_token): a module list (a dotted "
        "label) holds modules\n"
        "   5 |     tok.0: class_token\n"
        "           ^^^^^^^^^^^^^^^^^^\n"
        "  hint: give it a name without a dot"
    )
    assert [str(error) for error in check_specs([str(spec)]).errors] == [expected]
    for make in (archspec.load(spec).build, archspec.load(spec).to_source):
        with pytest.raises(SpecError) as error:
            make()
        assert str(error.value) == expected
