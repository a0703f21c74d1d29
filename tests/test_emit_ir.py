"""The emit IR's structural key: what decides that two containers are one generated class. Literal
values are left out (they become the class's parameters), everything written is kept, and a generated
class is compared by identity, never by its name (which is chosen after)."""

from __future__ import annotations

from dataclasses import dataclass

from archspec.backends.emit_ir import Call, ClassShape, Forward, Line, Member, Sequential
from archspec.backends.source_entry import Arg


@dataclass(eq=False)
class _Class:
    name: str = ""


def _shape(*members: Member, expression: str = "self.conv(x)") -> ClassShape:
    forward = Forward(("x",), (Line("x", expression, "x", None, 1, 0),), "x")
    return ClassShape(members, forward)


def _conv(out: int, stride: int = 1, keyword: str | None = None) -> Call:
    return Call("nn.Conv2d", (Arg(3, hint="in_channels"), Arg(out, keyword), Arg(stride, "stride", 1)))


def test_literal_values_are_no_part_of_the_structure() -> None:
    a = _shape(Member("conv", _conv(64, 1)))
    b = _shape(Member("conv", _conv(128, 2)))
    assert a.key() == b.key()
    assert [arg.value for arg in b.slots()] == [3, 128, 2]
    assert a.marks() == [0, 3]


def test_what_is_written_is_part_of_the_structure() -> None:
    base = _shape(Member("conv", _conv(64)))
    assert base.key() != _shape(Member("conv", _conv(64, keyword="out_channels"))).key()
    assert base.key() != _shape(Member("conv2", _conv(64))).key()
    assert base.key() != _shape(Member("conv", _conv(64)), expression="self.conv(x) + 1").key()
    positional = Sequential(("0", "1"), (_conv(8), _conv(8)), positional=True)
    assert base.key() != _shape(Member("conv", positional)).key()


def test_a_step_written_inline_is_the_same_whatever_its_name() -> None:
    # `forward` writes it (its expression is in the key); `__init__` does not, so its name is not.
    assert _shape(Member("2", None)).key() == _shape(Member("relu_3", None)).key()


def test_generated_classes_compare_by_identity_not_by_name() -> None:
    first, second = _Class("Block"), _Class("Block")
    a = _shape(Member("block", Call("", (Arg(1, "width"),), cls=first)))
    b = _shape(Member("block", Call("", (Arg(2, "width"),), cls=first)))
    c = _shape(Member("block", Call("", (Arg(1, "width"),), cls=second)))
    assert a.key() == b.key()
    assert a.key() != c.key()


def test_a_buffer_is_its_whole_line_and_a_module_list_entry_its_holder() -> None:
    # A buffer's value is written out in `__init__` (no slot): instances with other values differ.
    one = _shape(Member("index", None, fixed="self.register_buffer('index', torch.tensor([0, 1]))"))
    other = _shape(Member("index", None, fixed="self.register_buffer('index', torch.tensor([1, 0]))"))
    assert one.key() != other.key() and one.slots() == []
    # `self.convs.append(...)` after `self.convs = nn.ModuleList()` is not `self.convs_0 = ...`.
    listed = Member(
        "convs.0", _conv(8), holder=("self.convs.append(", ")"), made=("self.convs = nn.ModuleList()",)
    )
    plain = Member("convs.0", _conv(8), holder=("self.convs[0] = ", ""))
    assert _shape(listed).key() != _shape(plain).key()
