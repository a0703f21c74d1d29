"""What a checkpoint must hold, checked in full before anything in it is used.

A checkpoint is data from strangers (people share them): every key, type and size is checked here against
a schema, sizes by the same limits as a spec's (``archspec/limits.py``), and every recorded spec path
must be a plain absolute path (no ``..``, no control characters) before ``rebuild`` reads it. Tensors are
what torch's ``weights_only`` unpickler made; their sizes are the file's own, so they are not bounded here.
"""

# No `from __future__ import annotations`: pydantic would compile every string annotation (see
# tests/test_startup.py).
import math
import os
import re
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from archspec.errors import UsageError
from archspec.limits import MAX_INT, MAX_LIST, MAX_SPEC_BYTES, MAX_VALUE_DEPTH
from archspec.loader import MAX_FILES

MAX_RANK = 8  # sizes of an input shape (the lowering's own bound)
MAX_CLASSES = 100_000
MAX_NAME = 4_096  # characters of a recorded path or name
_ODD = re.compile(r"[\x00-\x1f\x7f]")


def _tensor(value: Any) -> Any:
    import torch

    if not isinstance(value, torch.Tensor):
        raise ValueError(f"expected a tensor, got {type(value).__name__}")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _spec_path(value: str) -> str:
    if _ODD.search(value):
        raise ValueError("a recorded path holds a control character")
    if not value.startswith("/") or os.path.normpath(value) != value or value.startswith("//"):
        raise ValueError(f"a recorded path must be absolute and plain (no '..', '.', '//'): {value[:200]!r}")
    return value


Tensor = Annotated[Any, AfterValidator(_tensor)]
Size = Annotated[int, Field(ge=1, le=MAX_INT)]
Finite = Annotated[float, AfterValidator(_finite)]
Text = Annotated[str, Field(max_length=MAX_NAME)]
# An input shape: a list, or a tuple where a configuration is made in Python.
Shape = Annotated[
    list[Size],
    BeforeValidator(lambda value: list(value) if isinstance(value, tuple) else value),
    Field(min_length=1, max_length=MAX_RANK),
]
SpecPath = Annotated[str, Field(max_length=MAX_NAME), AfterValidator(_spec_path)]
Source = Annotated[str, Field(max_length=MAX_SPEC_BYTES)]


def _override(value: Any) -> Any:
    """A parameter override: what `--set` evaluates to (numbers, strings, booleans, none, lists of
    them), within the limits a spec's values have."""
    stack, elements = [(value, 0)], 0
    while stack:
        item, depth = stack.pop()
        elements += 1
        if elements > MAX_LIST or depth > MAX_VALUE_DEPTH:
            raise ValueError("a parameter's value is over the limits of a spec's values")
        if isinstance(item, list | tuple):
            stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, float) and not (math.isfinite(item) and abs(item) <= MAX_INT):
            raise ValueError("a parameter's number is not finite or over 10**15")
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_INT:
            raise ValueError("a parameter's number is over 10**15")
        elif isinstance(item, str) and len(item) > MAX_NAME:
            raise ValueError(f"a parameter's string is over {MAX_NAME} characters")
        elif not isinstance(item, bool | int | float | str | None):
            raise ValueError(f"a parameter's value cannot be a {type(item).__name__}")
    return value


Override = Annotated[Any, AfterValidator(_override)]
ParamName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True)


class SpecRecord(_Strict):
    """``archspec.train.model.spec_record``'s dictionary."""

    network: Text
    variant: Text | None
    root: SpecPath
    sources: Annotated[dict[SpecPath, Source], Field(min_length=1, max_length=MAX_FILES)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    overrides: Annotated[dict[ParamName, Override], Field(max_length=1_000)]
    input_shape: Shape | None

    @field_validator("sources")
    @classmethod
    def _imports_are_specs(cls, sources: dict[str, str]) -> dict[str, str]:
        if len(sources) > 1 and any(not path.endswith((".arch", ".yaml", ".yml")) for path in sources):
            raise ValueError("an imported spec's recorded path must end in .arch, .yaml or .yml")
        return sources

    @model_validator(mode="after")
    def _root_is_a_source(self) -> Self:
        if self.root not in self.sources:
            raise ValueError("the root spec is not among the recorded sources")
        return self


class Preprocess(_Strict):
    """How ``predict`` prepares an image: the data set's kind, the input shape, the normalisation."""

    kind: Literal["digits", "synthetic", "folder"]
    shape: Annotated[list[Size], Field(min_length=1, max_length=MAX_RANK)]
    mean: Annotated[list[Finite], Field(max_length=3)] = []
    std: Annotated[list[Annotated[float, Field(gt=0)]], Field(max_length=3)] = []


class Config(_Strict):
    """``TrainConfig``'s values as ``to_dict`` writes them (their ranges: ``TrainConfig.validate``)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    spec: Text
    variant: Text | None
    params: Annotated[dict[ParamName, Override], Field(max_length=1_000)]
    input_shape: Shape | None
    data: Text
    epochs: int
    batch_size: int
    lr: float
    optimizer: str
    momentum: float
    weight_decay: float
    schedule: str
    warmup_epochs: float
    step_epochs: int
    step_gamma: float
    label_smoothing: float
    seed: int
    device: str
    amp: str
    channels_last: bool
    compile: bool
    workers: int
    quiet: bool
    init_from: Text | None
    out: Text | None


class Rng(_Strict):
    """``rng_state``'s dictionary (its values go to the generators' own setters, which check them)."""

    python: Annotated[list[Any], Field(min_length=3, max_length=3)]
    numpy: Annotated[list[Any], Field(min_length=5, max_length=5)]
    torch: Tensor
    cuda: list[Tensor]


class Checkpoint(_Strict):
    """A checkpoint as ``archspec.train.loop`` writes it."""

    format: Literal["archspec-checkpoint"]
    version: Literal[1]
    spec: SpecRecord
    config: Config
    classes: Annotated[list[Text], Field(max_length=MAX_CLASSES)]
    preprocess: Preprocess
    model: dict[Text, Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    scaler: dict[str, Any] | None
    rng: Rng
    epoch: Annotated[int, Field(ge=0, le=MAX_INT)]
    best_acc: float
    best_epoch: Annotated[int, Field(ge=0, le=MAX_INT)]
    history: Annotated[list[dict[str, Any]], Field(max_length=1_000_000)]


def check_checkpoint(payload: dict[str, Any], path: str) -> None:
    """A UsageError naming the first thing in ``payload`` that a checkpoint cannot hold."""
    try:
        Checkpoint.model_validate(payload)
    except ValidationError as error:
        raise UsageError(f"{path}: not a valid archspec checkpoint ({describe(error)})") from None


def check_config(values: dict[str, Any], path: str) -> None:
    """A UsageError naming the first value of a run's ``config.json`` that has the wrong type."""
    try:
        Config.model_validate(values)
    except ValidationError as error:
        raise UsageError(f"{path}: not a valid run configuration ({describe(error)})") from None


def describe(error: ValidationError) -> str:
    """The first problem pydantic found, as ``key.key: message`` (the value is never shown whole)."""
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part)[:300] for part in first["loc"])
    return f"{where}: {first['msg'][:200]}" if where else first["msg"][:200]
