"""Tensor primitives for layers written in the spec (issue 21): learned parameters and constant buffers
declared in a body (``param``, ``buffer``), indexing a table (``gather``) and products of tensors
(``matmul``, ``einsum``).

``param`` and ``buffer`` are statements, not calls: each is a node with no input whose output is the
tensor itself, held by the enclosing module under the declared name (its state-dict key is the module's
path and the name, as torchvision's ``...attn.relative_position_bias_table``). A node computed only from
them has no batch axis (``Node.batched`` is false): its cost does not grow with the batch.

Counting convention: ``torch.utils.flop_counter.FlopCounterMode`` is the oracle. A matmul counts one MAC
per multiply of its ``mm``/``bmm`` (torchvision's attention counts the same); an einsum of two operands is
the ``bmm`` torch lowers it to; indexing counts none.
"""

import math
import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field

from archspec.ops.base import (
    AxisSources,
    Op,
    Operand,
    OpError,
    PosInt,
    Saved,
    Shape,
    aligned_sources,
    format_shape,
    numel,
)

# The dtypes a buffer may hold (torch's names).
BufferDType = Literal["int64", "int32", "float32", "float64", "bool"]
# The init schemes a declaration may name, as `init:` rules name them (archspec.init_rules checks them).
InitArg = float | str


class Param(Op):
    """``param NAME: [d0, d1, ...], init=SCHEME``: a learned tensor of the enclosing module."""

    kind: Literal["param"] = "param"
    own_parameter: ClassVar[bool] = True
    shape: tuple[PosInt, ...]
    init: str = "zeros"
    init_args: dict[str, InitArg] = Field(default_factory=dict)

    spec_names: ClassVar[tuple[str, ...]] = ("param",)
    called_by_specs: ClassVar[bool] = False  # a statement (`param name: [...]`), not a call
    statement: ClassVar[str] = "param NAME: [d0, d1, ...], init=SCHEME"
    min_inputs: ClassVar[int] = 0
    max_inputs: ClassVar[int | None] = 0
    family: ClassVar[str] = "token"
    state: ClassVar[bool] = True
    summary: ClassVar[str] = "a learned tensor of any shape, held by the enclosing module under its name"
    shape_rule: ClassVar[str] = "the declared shape (no batch axis)"
    param_rule: ClassVar[str] = "the product of the declared sizes"
    flop_rule: ClassVar[str] = "0 FLOPs (the tensor itself)"
    saved_rule: ClassVar[str] = "nothing (a parameter, counted with the weights)"
    init_parameters: ClassVar[tuple[str, ...]] = ("weight",)

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return self.shape

    def param_count(self) -> int:
        return numel(self.shape)

    def describe(self) -> str:
        return f"param [{', '.join(map(str, self.shape))}]"

    def label(self) -> str:
        return f"param {'×'.join(map(str, self.shape))}"


class Buffer(Op):
    """``buffer NAME: VALUE, persistent=true, dtype=int64``: a constant tensor the spec computes."""

    kind: Literal["buffer"] = "buffer"
    shape: tuple[int, ...]
    values: tuple[float | int | bool, ...] = Field(description="The elements, row-major (flattened).")
    dtype: BufferDType = "int64"
    persistent: bool = True
    source: str | None = Field(
        default=None,
        description="The value as Python source that computes it (comprehensions over range, numbers): "
        "what the generated file writes instead of the numbers; None where the spec's expression has "
        "no such form.",
    )

    spec_names: ClassVar[tuple[str, ...]] = ("buffer",)
    called_by_specs: ClassVar[bool] = False
    # dtype's default follows the value: bool for true/false, int64 for integers, else float32
    statement: ClassVar[str] = "buffer NAME: VALUE, persistent=true, dtype=DTYPE"
    min_inputs: ClassVar[int] = 0
    max_inputs: ClassVar[int | None] = 0
    family: ClassVar[str] = "token"
    state: ClassVar[bool] = True
    summary: ClassVar[str] = "a constant tensor whose value the spec computes (a nested list)"
    shape_rule: ClassVar[str] = "the nesting of the value (no batch axis)"
    param_rule: ClassVar[str] = "none; its elements count as buffers when it is persistent (the state dict's)"
    flop_rule: ClassVar[str] = "0 FLOPs (the tensor itself)"
    saved_rule: ClassVar[str] = "nothing (a buffer, counted with the weights)"

    def check(self, inputs: Sequence[Shape]) -> None:
        if numel(self.shape) != len(self.values):  # pragma: no cover - the lowering flattens the value
            raise OpError(f"buffer: {len(self.values)} values for the shape {format_shape(self.shape)}")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return self.shape

    def holds_integers(self, inputs: Sequence[int], integer: Callable[[int], bool]) -> bool:
        return self.dtype.startswith("int")

    def buffer_count(self) -> int:
        # The analysis' buffers are the state dict's (as batch norm's running statistics): a buffer that
        # is not persistent is recomputed by the module, like LeNet-5's connection tables.
        return numel(self.shape) if self.persistent else 0

    def describe(self) -> str:
        return f"buffer [{', '.join(map(str, self.shape))}], dtype={self.dtype}"

    def label(self) -> str:
        return f"buffer {'×'.join(map(str, self.shape))}"


def _rank_error(name: str, index: int, shape: Shape, need: str) -> OpError:
    which = ("first", "second")[index] if index < 2 else f"input {index}"
    return OpError(f"{name}: the {which} input is {format_shape(shape)}; it needs {need}")


class Gather(Op):
    """``gather from table, index``: ``table[index]``, rows of a table picked by an integer tensor."""

    kind: Literal["gather"] = "gather"
    table_shape: tuple[int, ...]
    index_shape: tuple[int, ...]

    spec_names: ClassVar[tuple[str, ...]] = ("gather",)
    inferred: ClassVar[frozenset[str]] = frozenset({"table_shape", "index_shape"})
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = 2
    family: ClassVar[str] = "reshape"
    summary: ClassVar[str] = "rows of a table picked by an integer index tensor (`table[index]`)"
    shape_rule: ClassVar[str] = "index's shape followed by the table's shape after its first axis"
    flop_rule: ClassVar[str] = "0 MACs, 0 FLOPs (indexing)"
    saved_rule: ClassVar[str] = "the index (the gradient is scattered back into the table's rows)"

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        return {"table_shape": tuple(inputs[0]), "index_shape": tuple(inputs[1])}

    def check(self, inputs: Sequence[Shape]) -> None:
        if not self.table_shape:
            raise _rank_error("gather", 0, self.table_shape, "at least one axis (the rows picked)")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return (*self.index_shape, *self.table_shape[1:])

    def holds_integers(self, inputs: Sequence[int], integer: Callable[[int], bool]) -> bool:
        return integer(inputs[0])  # the table's rows

    def batch_problem(
        self, inputs: Sequence[Operand], integer: Callable[[int], bool]
    ) -> tuple[str, str] | None:
        if all(node.batched for node in inputs):
            return (
                "gather: both the table and the index have a batch axis",
                "gather picks rows of a table computed once (a param, or from params and buffers)",
            )
        if not integer(1):
            return (
                f"gather: the index '{inputs[1].name}' is not an integer tensor",
                "the index is an integer buffer (`buffer index: [...]`), or a view of one",
            )
        return None

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "index", index=1),)

    def axis_sources(self, inputs: Sequence[Shape], output: Shape) -> AxisSources:
        index = tuple(((1, axis),) for axis in range(len(self.index_shape)))
        return index + tuple(((0, axis),) for axis in range(1, len(self.table_shape)))

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        return ((0, 0),)  # any row of the table may be picked

    def label(self) -> str:
        return "gather"


def matmul_shape(a: Shape, b: Shape) -> tuple[Shape, int] | str:
    """torch.matmul's output for per-sample shapes of rank 2 or more, and the broadcast leading size; or
    what is wrong, in words."""
    if a[-1] != b[-2]:
        return (
            f"the inner sizes differ: {a[-1]} (the first's last axis) and {b[-2]} (the second's second last)"
        )
    lead_a, lead_b = a[:-2], b[:-2]
    rank = max(len(lead_a), len(lead_b))
    lead_a = (1,) * (rank - len(lead_a)) + lead_a
    lead_b = (1,) * (rank - len(lead_b)) + lead_b
    lead = []
    for x, y in zip(lead_a, lead_b, strict=True):
        if x != y and 1 not in (x, y):
            return f"the leading axes do not broadcast: {format_shape(a[:-2])} and {format_shape(b[:-2])}"
        lead.append(max(x, y))
    return (*lead, a[-2], b[-1]), math.prod(lead)


class Matmul(Op):
    """``matmul from a, b``: ``torch.matmul(a, b)`` over per-sample shapes (leading axes broadcast)."""

    kind: Literal["matmul"] = "matmul"

    spec_names: ClassVar[tuple[str, ...]] = ("matmul",)
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = 2
    family: ClassVar[str] = "attention"
    cross_saving: ClassVar[bool] = True
    contracts_inputs: ClassVar[bool] = True
    summary: ClassVar[str] = "matrix product of two inputs, broadcast over their leading axes (torch.matmul)"
    shape_rule: ClassVar[str] = (
        "(..., n, k) and (..., k, m) to (..., n, m); the leading axes broadcast as torch's, aligned from "
        "the end of the per-sample shapes; each input has at least 2 axes"
    )
    flop_rule: ClassVar[str] = (
        "MACs: broadcast leading size x n x k x m per sample (as FlopCounterMode counts mm/bmm); "
        "`--count all` adds nothing"
    )
    saved_rule: ClassVar[str] = "both inputs (each is the other's gradient factor)"

    def check(self, inputs: Sequence[Shape]) -> None:
        for index, shape in enumerate(inputs):
            if len(shape) < 2:
                raise _rank_error("matmul", index, shape, "at least 2 axes (n x k, and k x m)")
        found = matmul_shape(inputs[0], inputs[1])
        if isinstance(found, str):
            raise OpError(
                f"matmul: cannot multiply {format_shape(inputs[0])} by {format_shape(inputs[1])}: {found}",
                hint="matmul takes (..., n, k) and (..., k, m); `permute` or `rearrange` an input to match",
            )

    def batch_problem(
        self, inputs: Sequence[Operand], integer: Callable[[int], bool]
    ) -> tuple[str, str] | None:
        a, b = inputs
        lower = a if len(a.shape) < len(b.shape) else b if len(b.shape) < len(a.shape) else None
        if lower is not None and lower.batched:
            return (
                f"matmul: '{lower.name}' has a batch axis and fewer axes than the other input; torch "
                "would align its batch axis with the other's leading axes",
                "give it the other's leading axes (`rearrange` with a size-1 axis)",
            )
        return None

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        found = matmul_shape(inputs[0], inputs[1])
        assert not isinstance(found, str)
        return found[0]

    def macs(self, inputs: Sequence[Shape], output: Shape) -> int:
        return numel(output) * inputs[0][-1]

    def axis_sources(self, inputs: Sequence[Shape], output: Shape) -> AxisSources:
        # The leading axes broadcast (aligned from their last); then the first's rows, the second's columns.
        leading = aligned_sources([shape[:-2] for shape in inputs], len(output) - 2)
        return (*leading, ((0, len(inputs[0]) - 2),), ((1, len(inputs[1]) - 1),))

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        # Each output element reads a whole row of the first and a whole column of the second: where those
        # hold positions (w @ x, x's rows the tokens) every position is mixed. q @ kᵀ contracts the
        # features and keeps two axes of tokens, which the receptive-field pass makes global.
        return ((0, len(inputs[0]) - 1), (1, len(inputs[1]) - 2))

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        return (Saved("input", "first input", index=0), Saved("input", "second input", index=1))

    def label(self) -> str:
        return "matmul"


_INDEX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_equation(equation: str, count: int) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """The index names of each operand and of the output of an einsum pattern such as ``"n d, m d -> n m"``
    (names separated by spaces, operands by commas). OpError when it is malformed."""
    hint = 'e.g. einsum("n d, m d -> n m"): index names separated by spaces, operands by commas'
    if equation.count("->") != 1:
        raise OpError(
            f'einsum: the pattern "{equation}" needs one "->" before the output\'s indices',
            "equation",
            hint=hint,
        )
    left, right = equation.split("->")
    operands = [part.split() for part in left.split(",")]
    output = right.split()
    for word in [w for part in operands for w in part] + output:
        if not _INDEX.fullmatch(word):
            raise OpError(
                f'einsum: "{word}" in "{equation}" is not an index name '
                "(a letter, then letters, digits or _)",
                "equation",
                hint=hint,
            )
    if len(operands) != count:
        raise OpError(
            f'einsum: the pattern "{equation}" has {len(operands)} '
            f"operand{'s' if len(operands) != 1 else ''}, "
            f"but {count} input{'s are' if count != 1 else ' is'} given",
            "equation",
            hint="one comma-separated group of indices per input of `from`",
        )
    for names, what in [*((p, f"operand {i + 1}") for i, p in enumerate(operands)), (output, "the output")]:
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise OpError(
                f'einsum: index "{repeated[0]}" appears twice in {what} of "{equation}"',
                "equation",
                hint="an index names one axis of each tensor (diagonals are not supported)",
            )
    known = {n for p in operands for n in p}
    for name in output:
        if name not in known:
            raise OpError(
                f'einsum: the output index "{name}" of "{equation}" is in no input', "equation", hint=hint
            )
    return tuple(tuple(p) for p in operands), tuple(output)


class Einsum(Op):
    """``einsum("n d, m d -> n m") from q, k``: ``torch.einsum`` with a per-sample pattern."""

    kind: Literal["einsum"] = "einsum"
    equation: str
    sizes: dict[str, int] = Field(default_factory=dict, description="The size of each index.")

    spec_names: ClassVar[tuple[str, ...]] = ("einsum",)
    inferred: ClassVar[frozenset[str]] = frozenset({"sizes"})
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 2
    family: ClassVar[str] = "attention"
    cross_saving: ClassVar[bool] = True  # of two inputs
    contracts_inputs: ClassVar[bool] = True
    summary: ClassVar[str] = 'sum of products over named indices (`einsum("n d, m d -> n m")`, per sample)'
    shape_rule: ClassVar[str] = (
        "each input has one index per axis; an index has one size everywhere; the output has the sizes "
        "of its indices"
    )
    flop_rule: ClassVar[str] = (
        "MACs of two inputs: the product of the sizes of the indices in the output or in both inputs, "
        "when some index is summed over both (the bmm torch lowers it to, as FlopCounterMode counts it); "
        "else 0 (an elementwise product, a sum or a permutation)"
    )
    saved_rule: ClassVar[str] = "both inputs, when two (each is the other's gradient factor); nothing for one"

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        equation = args.get("equation")
        if not isinstance(equation, str):
            return {}
        operands, output = parse_equation(equation, len(inputs))
        sizes: dict[str, int] = {}
        for index, (names, shape) in enumerate(zip(operands, inputs, strict=True)):
            if len(names) != len(shape):
                raise OpError(
                    f'einsum: operand {index + 1} of "{equation}" names {len(names)} '
                    f"ind{'ices' if len(names) != 1 else 'ex'} ({' '.join(names)}) for a "
                    f"{format_shape(shape)} input of {len(shape)} ax{'es' if len(shape) != 1 else 'is'}",
                    "equation",
                    hint="one index per axis of one sample (the batch is not one of them)",
                )
            for name, size in zip(names, shape, strict=True):
                if sizes.setdefault(name, size) != size:
                    raise OpError(
                        f'einsum: index "{name}" of "{equation}" is {sizes[name]} in one place and {size} '
                        "in another",
                        "equation",
                    )
        for index, names in enumerate(operands):
            others = {n for i, p in enumerate(operands) if i != index for n in p} | set(output)
            alone = [n for n in names if n not in others]
            if len(operands) == 2 and alone:
                raise OpError(
                    f'einsum: index "{alone[0]}" of "{equation}" is summed over operand {index + 1} alone',
                    "equation",
                    hint="sum that axis first (`sum(dim)`), or keep it in the output",
                )
        return {"sizes": sizes}

    def indices(self) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
        """Each operand's index names and the output's."""
        return parse_equation(self.equation, self.operand_count())

    def torch_equation(self, batched: Sequence[bool]) -> str:
        """The equation for ``torch.einsum``, with ``...`` on the operands that have a batch axis only
        (``batched``) and on the output when any has one (ONNX's Einsum refuses an ellipsis standing for no
        axis in one operand beside one standing for an axis in another)."""
        letters, output = self.letters()
        parts = ",".join(("..." if b else "") + part for part, b in zip(letters, batched, strict=True))
        return parts + "->" + ("..." if any(batched) else "") + output

    def letters(self) -> tuple[tuple[str, ...], str]:
        """The pattern in torch's one-letter form: each operand's letters and the output's."""
        operands, out = self.indices()
        letter: dict[str, str] = {}
        names = [n for p in operands for n in p]
        if all(len(n) == 1 and n.isascii() and n.isalpha() for n in names):
            letter = {n: n for n in names}  # the spec's own letters: "n d, m d -> n m" is "nd,md->nm"
        for name in names:
            letter.setdefault(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[len(letter)])
        return tuple("".join(letter[n] for n in p) for p in operands), "".join(letter[n] for n in out)

    def operand_count(self) -> int:
        """How many inputs the pattern takes."""
        return self.equation.split("->")[0].count(",") + 1

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return tuple(self.sizes[name] for name in self.indices()[1])

    def macs(self, inputs: Sequence[Shape], output: Shape) -> int:
        operands, out = self.indices()
        if len(operands) != 2:
            return 0
        left, right = set(operands[0]), set(operands[1])
        summed = (left & right) - set(out)
        if all(self.sizes[n] == 1 for n in summed):
            # nothing summed over both (torch squeezes a size-1 sum away): it multiplies elementwise, no mm
            return 0
        return math.prod(self.sizes[n] for n in (left | right) if n in out or (n in left and n in right))

    def axis_sources(self, inputs: Sequence[Shape], output: Shape) -> AxisSources:
        operands, out = self.indices()
        return tuple(
            tuple((i, axis) for i, names in enumerate(operands) for axis, n in enumerate(names) if n == name)
            for name in out
        )

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        # The summed indices: as matmul, a contraction across tokens mixes positions.
        operands, out = self.indices()
        return tuple((i, a) for i, names in enumerate(operands) for a, n in enumerate(names) if n not in out)

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        if len(inputs) != 2:
            return ()
        return (Saved("input", "first input", index=0), Saved("input", "second input", index=1))

    def label(self) -> str:
        return f"einsum {self.equation}"
