"""What every op is: a frozen Pydantic model with torch's field names, plus the analysis rules of the op.

One class per op holds everything archspec knows about it apart from torch itself: the spec-facing
signature (positional order, defaults, aliases), the fields inferred from the input shape, the shape rule,
parameter and buffer counts, MACs, the extra per-element FLOPs counted under ``--count all``, the
receptive-field step, what it saves for backward, its drawing family, its depth weight, the parameters an
init rule may name, its in-place flags. Defining a class with a
``kind`` registers it (``OPS_BY_KIND``, ``OPS_BY_NAME``): no list is kept by hand. The torch realisation
of each op is registered against its class in ``archspec.backends.torch_ops`` and ``source_ops`` (a test
checks that every op has one), so that importing an op never imports torch. ``docs/design.md`` says how
an op is added.
"""

import functools
import inspect
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, Protocol, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

from archspec.errors import spec_repr
from archspec.ops.index import KIND_MODULES, NAME_MODULES
from archspec.records import FrozenRecord, set_field

Shape = tuple[int, ...]

# Every op class, by IR kind and by spec name (and alias), filled as the classes are defined (see
# ``Op.__pydantic_init_subclass__``). Live dicts: an op defined later (a test's) is found as well.
OPS_BY_KIND: dict[str, type["Op"]] = {}
OPS_BY_NAME: dict[str, type["Op"]] = {}


class Operand(Protocol):
    """What an op's checks know of one of its input nodes (``archspec.ir.Node`` is one): no import of
    the IR here, which imports the ops."""

    @property
    def name(self) -> str:
        """The node's dotted name."""
        ...

    @property
    def shape(self) -> Shape:
        """Its per-sample shape."""
        ...

    @property
    def batched(self) -> bool:
        """Whether it has a batch axis (false for a tensor computed from parameters and buffers alone)."""
        ...


class OpError(Exception):
    """A problem with an op's arguments or inputs; the lowering attaches the spec position."""

    def __init__(self, message: str, argument: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.argument = argument
        self.hint = hint


class HintedValueError(ValueError):
    """What a field validator raises for a value it refuses, with a hint for the error the spec gets
    (Pydantic keeps the exception, so its hint reaches the positioned error)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _integer(value: Any) -> Any:
    # Booleans are ints in Python; in a spec `true` is never a size.
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"must be an integer, got {spec_repr(value)}")
    if isinstance(value, float):
        return int(value)
    return value


def _pair(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) == 2:
        return tuple(_integer(v) for v in value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = _integer(value)
        return (value, value)
    raise ValueError(f"must be an integer or a pair [h, w], got {spec_repr(value)}")


Int = Annotated[int, BeforeValidator(_integer)]
PosInt = Annotated[int, BeforeValidator(_integer), Field(gt=0)]
NonNegInt = Annotated[int, BeforeValidator(_integer), Field(ge=0)]
Pair = Annotated[tuple[Int, Int], BeforeValidator(_pair)]
PosPair = Annotated[tuple[PosInt, PosInt], BeforeValidator(_pair)]
NonNegPair = Annotated[tuple[NonNegInt, NonNegInt], BeforeValidator(_pair)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


@dataclass(init=False, repr=False, eq=False)
class RFStep(FrozenRecord):
    """One op's receptive-field step along both spatial axes (kernel, stride, padding, dilation)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int] = (1, 1)

    def __init__(
        self,
        kernel: tuple[int, int],
        stride: tuple[int, int],
        padding: tuple[int, int],
        dilation: tuple[int, int] = (1, 1),
    ) -> None:
        set_field(self, "kernel", kernel)
        set_field(self, "stride", stride)
        set_field(self, "padding", padding)
        set_field(self, "dilation", dilation)


# How an op changes the receptive field: a spatial step, "global" (sees the whole input: global pooling,
# flatten, attention over all tokens), or None (pointwise: activations, norms, channel mixing).
RFEffect = RFStep | Literal["global"] | None

# For each axis of an op's output (one sample), the input axes whose elements it carries, as (input index,
# axis) pairs: the receptive-field pass follows image rows and columns through them (analysis.receptive).
AxisSources = tuple[tuple[tuple[int, int], ...], ...]


def aligned_sources(inputs: Sequence[Shape], rank: int) -> AxisSources:
    """Each of ``rank`` output axes from the input axes aligned with it from the last (an op that keeps
    its input's axes; torch's broadcasting, which aligns a shorter input's axes with the last ones)."""
    return tuple(
        tuple((i, axis + len(shape) - rank) for i, shape in enumerate(inputs) if axis + len(shape) >= rank)
        for axis in range(rank)
    )


@dataclass(init=False, repr=False, eq=False)
class Saved(FrozenRecord):
    """One tensor an op's backward keeps (what torch saves on CPU; ``docs/memory.md`` has every rule).

    ``source`` says which storage: ``"input"`` (the storage of input ``index``, shared with every other op
    that saves it), ``"output"`` (the op's own output storage) or ``"new"`` (a tensor made inside the op:
    ``elements`` per sample, or in all when ``per_sample`` is false). ``dtype`` is None for the network's
    activation dtype, else a fixed one (``"int64"`` for max-pooling indices, ``"float32"`` for attention's
    log-sum-exp).
    """

    source: Literal["input", "output", "new"]
    what: str
    index: int = 0
    elements: int = 0
    per_sample: bool = True
    dtype: str | None = None
    # An input that the op overwrites in place is kept as a copy (torch's in-place hardtanh does this).
    copied_in_place: bool = False

    def __init__(
        self,
        source: Literal["input", "output", "new"],
        what: str,
        index: int = 0,
        elements: int = 0,
        per_sample: bool = True,
        dtype: str | None = None,
        copied_in_place: bool = False,
    ) -> None:
        set_field(self, "source", source)
        set_field(self, "what", what)
        set_field(self, "index", index)
        set_field(self, "elements", elements)
        set_field(self, "per_sample", per_sample)
        set_field(self, "dtype", dtype)
        set_field(self, "copied_in_place", copied_in_place)


def numel(shape: Shape) -> int:
    """Number of elements of one sample of this shape."""
    return math.prod(shape)


def format_shape(shape: Shape) -> str:
    """``64x56x56``: how shapes appear in messages and reports."""
    return "x".join(str(d) for d in shape) if shape else "scalar"


_EXPONENT = re.compile(r"e([+-])0*(\d+)")


def number_text(value: float) -> str:
    """A number as a person writes it: ``4``, ``0.2``, ``1.25``, ``1e-6``; a long computed fraction
    rounded to two significant digits (``0.0058823529411764705`` is ``0.0059``)."""
    if isinstance(value, int):  # bool too
        return str(int(value))
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    short = f"{value:.4g}"
    if abs(float(short) - value) > 1e-9 * abs(value):  # not written short: a computed fraction
        short = f"{value:.2g}"
    return _EXPONENT.sub(lambda m: "e" + ("-" if m.group(1) == "-" else "") + m.group(2), short)


def pair_text(value: tuple[int, int]) -> str:
    """A pair in a label: ``2`` when both are 2, else ``2×3``."""
    return str(value[0]) if value[0] == value[1] else f"{value[0]}×{value[1]}"


def window_text(kernel: tuple[int, int], stride: tuple[int, int] | None) -> str:
    """A kernel and its stride in the papers' terms: ``3×3/2``, ``7×7`` (stride 1 or none left out)."""
    text = f"{kernel[0]}×{kernel[1]}"
    if stride is not None and stride != (1, 1):
        text += f"/{pair_text(stride)}"
    return text


class Op(BaseModel):
    """Base class of every op. Subclasses declare ``kind`` as a Literal and their fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    kind: str

    # --- the spec-facing signature
    spec_names: ClassVar[tuple[str, ...]] = ()
    inferred: ClassVar[frozenset[str]] = frozenset()  # fields filled from the input shape
    # The positional order when it differs from the field order (torch's order, e.g. for maxpool).
    positional_order: ClassVar[tuple[str, ...]] = ()
    aliases: ClassVar[Mapping[str, str]] = {}
    # Keywords that name no field reach ``create`` as they are (rearrange's axis sizes), not as errors.
    open_keywords: ClassVar[bool] = False
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    summary: ClassVar[str] = ""
    shape_rule: ClassVar[str] = "same as the input"
    param_rule: ClassVar[str] = "none"
    # How the op counts under `--count all`, in words (docs and reports quote it).
    flop_rule: ClassVar[str] = "0 FLOPs"
    # What the op keeps for backward, in words (docs and `explain` quote it; `saved` is the rule).
    saved_rule: ClassVar[str] = "nothing"
    # The output is a view of input 0 (flatten, select_token): it shares that storage.
    view: ClassVar[bool] = False
    # The output is the op's own parameter or buffer (`param`, `buffer`): counted with the weights, never
    # an activation (no storage of its own at run time, nothing saved for it).
    state: ClassVar[bool] = False
    # Whether a spec may call the op (`input` is made by the network, never called).
    called_by_specs: ClassVar[bool] = True
    # How a spec writes an op that is a statement, not a call (``param NAME: [d0, d1], init=zeros``):
    # what the op reference shows in place of a call's signature. Empty for the ops that are called.
    statement: ClassVar[str] = ""

    # --- facts the passes and backends read (each has its default here; an op overrides what differs)
    # The drawing's family (a key of ``backends.diagram.labels.FAMILIES``: its colour and legend entry).
    family: ClassVar[str] = "activation"
    # How many layers the op counts as for "depth" (conv, linear, attention: 1); see ``depth()``.
    depth_weight: ClassVar[int] = 0
    # The parameters of the op's torch module, as an init rule's clause names them (a name matches a torch
    # parameter name equal to it or ending in "." and it). An op with parameters must name them (a test
    # checks it), else no init rule can set them.
    init_parameters: ClassVar[tuple[str, ...]] = ()
    # The op's weight has a fan-in and a fan-out (a matrix or a conv kernel): init formulas may use them.
    fan_weight: ClassVar[bool] = False
    # The op's layer is a tensor its enclosing module holds itself (an ``nn.Parameter``: ViT's class
    # token, layer scale, ``param``), not a module of its own, so no module list can hold it.
    own_parameter: ClassVar[bool] = False
    # The op may overwrite its input (torch's `inplace=True`), when that input is a fresh tensor that
    # nobody else reads, made by an ``inplace_producer`` (whose backward does not need its output).
    inplace: ClassVar[bool] = False
    inplace_producer: ClassVar[bool] = False
    # A merge drawn as a small circle with this symbol (add's "+", mul's "×"); "" for a box.
    merge_symbol: ClassVar[str] = ""
    # A residual's merge: input 1 is the shortcut (drawn as one; a generated class whose instances
    # differ by this step takes a `residual` flag).
    shortcut_merge: ClassVar[bool] = False
    # A merge of parallel branches whose heads the drawing lines up side by side (Inception's concat).
    aligns_branches: ClassVar[bool] = False
    # Of two inputs, each is kept for the other's gradient only (x·y keeps y for dx): a factor whose
    # own gradient nobody needs need not keep the other.
    cross_saving: ClassVar[bool] = False
    # Receptive field: a "global" step that only regroups positions (flatten), global only where its
    # input has more than one position (and a pooling only there).
    global_only_when_mixing: ClassVar[bool] = False
    # A product of its inputs summed over shared axes (matmul, einsum). Which positions it mixes follows
    # from the axes it contracts (``mixed_axes``): x @ W over the features none, W @ x over the tokens all.
    contracts_inputs: ClassVar[bool] = False
    # Its output holds values of its inputs (a view, a regrouping, a concatenation): integer inputs give
    # an integer output, as an index for `gather` needs (see ``holds_integers``).
    keeps_dtype: ClassVar[bool] = False
    # Fields holding per-block rates (stochastic depth's `p`, raised block by block): blocks that differ
    # only there are one design, folded as one (``archspec.folding``; drawn as a range).
    rate_fields: ClassVar[tuple[str, ...]] = ()
    # The training loss a network ending in this op asks for, unless its metadata names one.
    default_loss: ClassVar[str] = "cross_entropy"

    def learned_tensor(self, output: Shape) -> tuple[str, Shape] | None:
        """The learned tensor the op brings into the data flow, drawn as a node of its own (ViT's class
        token), as (what it is, its shape) given the op's output shape; None for most ops."""
        return None

    def holds_integers(self, inputs: Sequence[int], integer: Callable[[int], bool]) -> bool:
        """Whether the op's output holds integers, given its input node ids and ``integer`` (whether a
        node holds integers, asked only where needed): by default, where it keeps its inputs' dtype."""
        return self.keeps_dtype and bool(inputs) and all(integer(i) for i in inputs)

    def batch_problem(
        self, inputs: Sequence[Operand], integer: Callable[[int], bool]
    ) -> tuple[str, str] | None:
        """What is wrong with the op over ``inputs`` where some have no batch axis, beyond the axis
        numbering ``archspec.elab.batch`` checks for every op: (message, hint), or None. ``integer``
        tells whether input ``i`` holds integers."""
        return None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Register a class that declares its own ``kind`` (bases such as ``_Pool`` declare none)."""
        super().__pydantic_init_subclass__(**kwargs)
        if "kind" not in inspect.get_annotations(cls):
            return
        kind = cls.model_fields["kind"].default
        names = cls.spec_names if cls.called_by_specs else ()
        # A library op whose module is not imported yet is known by the index (``archspec.ops.index``).
        module = cls.__module__.removeprefix("archspec.ops.")
        clash = [n for n in names if n in OPS_BY_NAME or NAME_MODULES.get(n, module) != module]
        clash += [kind] if kind in OPS_BY_KIND or KIND_MODULES.get(kind, module) != module else []
        if not isinstance(kind, str) or not cls.spec_names or clash:
            raise TypeError(f"op class {cls.__name__}: kind and spec names must be new strings, {clash}")
        OPS_BY_KIND[kind] = cls
        OPS_BY_NAME.update(dict.fromkeys(names, cls))

    # ------------------------------------------------------------ construction
    @classmethod
    def op_kind(cls) -> str:
        """The class's IR kind (``conv2d``)."""
        return _class_facts(cls).kind

    @classmethod
    def spec_arguments(cls) -> list[str]:
        """The arguments a spec may pass, in positional order (``positional_order`` when declared)."""
        return list(_class_facts(cls).arguments)

    @classmethod
    def required_arguments(cls) -> list[str]:
        """Spec arguments without a default."""
        return list(_class_facts(cls).required_order)

    @classmethod
    def infer_fields(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> dict[str, Any]:
        """Fill the fields that come from the input shapes (``in_channels`` …). Default: none."""
        return {}

    @classmethod
    def create(cls, args: dict[str, Any], inputs: Sequence[Shape]) -> "Op":
        """Validate spec arguments (already bound to field names) and infer the rest from the inputs."""
        facts = _class_facts(cls)
        for name, value in args.items():
            # Pydantic would take 1, "yes" or "on" for a boolean; a spec writes true or false.
            if name in facts.booleans and not isinstance(value, bool):
                raise OpError(
                    f"argument '{name}' of {cls.spec_names[0]} must be true or false, got {spec_repr(value)}",
                    argument=name,
                )
        values = dict(args)
        values.update(cls.infer_fields(values, inputs))
        for name, value in values.items():
            # Pydantic would read "16" as 16; in a spec a string is never a number.
            if isinstance(value, str) and name in facts.fields and name not in facts.validated:
                accepted = _accepted(facts.fields[name].annotation)
                coercible = accepted & {"an integer", "a number", "true", "false"}
                if coercible and "a string" not in accepted and f'"{value}"' not in accepted:
                    raise OpError(
                        f"argument '{name}' of {cls.spec_names[0]} must be "
                        f"{_or_list(sorted(accepted, key=_word_order))}, got {spec_repr(value)}",
                        argument=name,
                    )
        try:
            op = cls(kind=facts.kind, **values)
        except ValidationError as error:
            raise _translate(error, cls.spec_names[0]) from None
        op.check(inputs)
        return op

    def check(self, inputs: Sequence[Shape]) -> None:
        """Cross-field and input checks that Pydantic field types cannot express. Raise OpError."""

    # ------------------------------------------------------------ analysis rules
    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        """Shape of the output (batch dimension excluded). Default: same as the input."""
        return inputs[0]

    def param_count(self) -> int:
        """Number of trainable parameters (torch ``p.numel()`` summed). Default: none."""
        return 0

    def buffer_count(self) -> int:
        """Number of elements of non-trainable state (BN running statistics, fixed RBF centres)."""
        return 0

    def macs(self, inputs: Sequence[Shape], output: Shape) -> int:
        """Multiply-accumulates under torchvision's convention: convolutions, linear layers, matmuls.
        Default: none."""
        return 0

    def extra_flops(self, inputs: Sequence[Shape], output: Shape) -> int:
        """FLOPs not in MACs (bias adds, norms, activations, pooling, adds, softmax) for ``--count all``.
        Default: none."""
        return 0

    def depth(self) -> int:
        """Layers the op counts as for "depth": ``depth_weight``."""
        return self.depth_weight

    def receptive_field(self) -> RFEffect:
        """How the op moves the receptive field (see RFEffect): a step along ``step_axes``."""
        return None

    # The axes of input 0 that the step of ``receptive_field()`` slides along, (height, width) from the end:
    # a CxHxW map's H and W (conv, pool, pad); (-3, -2) for an op on a channels-last HxWxC map.
    step_axes: ClassVar[tuple[int, int]] = (-2, -1)

    def axis_sources(self, inputs: Sequence[Shape], output: Shape) -> AxisSources:
        """For each output axis, the input axes it carries (see AxisSources). Default: the inputs' axes
        aligned from the last (an op that keeps its input's axes, a broadcasting merge)."""
        return aligned_sources(inputs, len(output))

    def mixed_axes(self, inputs: Sequence[Shape]) -> tuple[tuple[int, int], ...]:
        """The input axes, as (input, axis), that each output element reads whole: a linear's features, a
        softmax's or a reduction's ``dim``, a matmul's contracted axes. Where such an axis holds image
        positions the field spans it (analysis.receptive). Default: none (the op works per element)."""
        return ()

    def saved(self, inputs: Sequence[Shape], output: Shape) -> tuple[Saved, ...]:
        """The tensors autograd keeps for this op's backward in training (see ``Saved``). Default: none."""
        return ()

    def is_view(self, training: bool) -> bool:
        """Whether the output shares input 0's storage (a view, or an op that is a no-op here)."""
        return self.view

    def scratch(self, inputs: Sequence[Shape], output: Shape, itemsize: int, batch: int) -> int:
        """Bytes of the temporaries live beside the inputs and the output while the op runs at inference
        (a no-grad forward of ``batch`` samples; ``itemsize``: bytes per activation element); they count
        towards the peak. Default: none."""
        return 0

    def label(self) -> str:
        """The op's text in a drawing, in the papers' terms (``conv 3×3/2, 128``, ``maxpool 3×3/2``,
        ``linear 1000``); the drawing reads it nowhere else. Default: its spec name."""
        return self.spec_names[0]

    def count_formulas(self, inputs: Sequence[Shape], params: int, macs: int) -> tuple[str, ...]:
        """How ``archspec explain`` writes out the op's parameter and MAC counts, with its numbers
        (``params = in × out + out = 512 × 1000 + 1000 = 513,000``), given its input shapes and the
        counts. Default: none (explain then states the counts alone)."""
        return ()

    def describe(self) -> str:
        """The op as spec text, e.g. ``conv(64, 7, stride=2, padding=3, bias=false)``: required arguments
        positionally, others only where they differ from their defaults."""
        facts = _class_facts(type(self))
        parts = []
        for name in facts.arguments:
            value = getattr(self, name)
            if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:
                value = value[0]
            if name in facts.required:
                parts.append(_short(value))
            elif getattr(self, name) != facts.fields[name].default:
                parts.append(f"{name}={_short(value)}")
        return f"{self.spec_names[0]}({', '.join(parts)})" if parts else self.spec_names[0]


@dataclass(init=False, repr=False, eq=False)
class _ClassFacts(FrozenRecord):
    """What ``create`` and ``describe`` read of an op class's fields, worked out once per class (Pydantic's
    ``model_fields`` is a descriptor call on every access, and lowering asks for each op it makes)."""

    kind: str
    fields: Mapping[str, FieldInfo]
    arguments: tuple[str, ...]
    required_order: tuple[str, ...]
    required: frozenset[str]
    booleans: frozenset[str]
    validated: frozenset[str]

    def __init__(
        self,
        kind: str,
        fields: Mapping[str, FieldInfo],
        arguments: tuple[str, ...],
        required_order: tuple[str, ...],
        required: frozenset[str],
        booleans: frozenset[str],
        validated: frozenset[str],
    ) -> None:
        set_field(self, "kind", kind)
        set_field(self, "fields", fields)
        set_field(self, "arguments", arguments)
        set_field(self, "required_order", required_order)
        set_field(self, "required", required)
        set_field(self, "booleans", booleans)
        set_field(self, "validated", validated)


@functools.cache
def _class_facts(cls: type[Op]) -> _ClassFacts:
    fields = dict(cls.model_fields)
    names = [n for n in fields if n != "kind" and n not in cls.inferred]
    if cls.positional_order:
        names = [*cls.positional_order, *(n for n in names if n not in cls.positional_order)]
    return _ClassFacts(
        kind=fields["kind"].default,
        fields=fields,
        arguments=tuple(names),
        required_order=tuple(n for n in names if fields[n].is_required()),
        required=frozenset(n for n in names if fields[n].is_required()),
        booleans=frozenset(n for n, f in fields.items() if f.annotation is bool),
        # fields whose op reads the raw value itself (linear's bias): their refusals are the op's own words
        validated=frozenset(
            name
            for decorator in cls.__pydantic_decorators__.field_validators.values()
            if decorator.info.mode == "before"
            for name in decorator.info.fields
        ),
    )


def _accepted(annotation: Any) -> set[str]:
    """What a field's type takes, in words: ``a number``, ``true or false``, ``a string``, ``"same"``."""
    if annotation is str:
        return {"a string"}
    if annotation is bool:
        return {"true", "false"}
    if annotation is int:
        return {"an integer"}
    if annotation is float:
        return {"a number"}
    origin = get_origin(annotation)
    if origin is Literal:
        return {spec_repr(a) for a in get_args(annotation)}
    if origin is Annotated:
        return _accepted(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return set().union(*(_accepted(member) for member in get_args(annotation)))
    return {"a list"} if origin is tuple else {"another type"}


def _word_order(word: str) -> tuple[bool, bool, str]:
    return word.startswith('"'), word not in ("true", "false"), word


def _or_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _short(value: Any) -> str:
    if isinstance(value, tuple) and len(value) > 4:
        return f"[{len(value)} entries]"
    if isinstance(value, float):
        return f"{value:g}"
    return spec_repr(value)


_PYDANTIC_PHRASES = {
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "literal_error": "must be one of {expected}",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
}


def _translate(error: ValidationError, op_name: str) -> OpError:
    first = error.errors(include_url=False)[0]
    field = next((str(part) for part in first["loc"] if isinstance(part, str)), None)
    context = first.get("ctx", {}) or {}
    phrase = _PYDANTIC_PHRASES.get(first["type"])
    hint = None
    if first["type"] == "value_error":
        message = str(context.get("error", first["msg"]))
        hint = getattr(context.get("error"), "hint", None)
    elif phrase is not None:
        if first["type"] == "literal_error":  # pydantic quotes the choices Python's way
            context = {**context, "expected": str(context.get("expected", "")).replace("'", '"')}
        message = phrase.format(**{k: v for k, v in context.items()})
        message = f"{message}, got {spec_repr(first['input'])}"
    else:
        message = first["msg"]
    where = f"argument '{field}' of {op_name}" if field else op_name
    return OpError(f"{where} {message}", argument=field, hint=hint)
