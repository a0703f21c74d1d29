"""The IR: a frozen, validated graph of op nodes in topological order, with the block structure kept.

Every node has its dotted hierarchical name (``layer1.0.conv1``), its op (a discriminated union on
``kind`` with torch's field names), its inputs, the container it sits in, its output shape and the span
of the spec text it came from. Containers (``Scope``) record the block structure: which block a module
instantiates, and which repeat group it belongs to (for ``×N`` folding in diagrams and reports).
"""

import json
import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from archspec.ops import AnyOp, Op, Shape
from archspec.source import Span

JSONValue = Any


class Repeat(BaseModel):
    """Membership of a repeat group: instance ``index`` of ``count`` made by one ``* n`` or loop."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    group: int
    index: int
    count: int


class Scope(BaseModel):
    """A container module: the network, a block instance, or a named sequence."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str = Field(description="Dotted path; '' for the network itself.")
    kind: Literal["network", "block", "sequence"]
    block: str | None = Field(default=None, description="The block definition this instantiates.")
    call: str | None = Field(
        default=None,
        description="The block call with its evaluated arguments, e.g. 'Inception(64, 96, 128, 16, 32, 32)'.",
    )
    label: str | None = Field(
        default=None,
        description="How drawings name a block instance: its definition's label template filled in, or "
        "the call with numbers as people write them, e.g. 'MBConv6 k3×3, 160'.",
    )
    repeat: Repeat | None = None
    span: Span | None = None
    order: tuple[str, ...] = Field(
        default=(),
        description="A block instance's `order:` setting: the local names registered first, in this order "
        "(module and state_dict order); the others follow in data-flow order.",
    )


class Node(BaseModel):
    """One op application."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: int
    name: str
    op: AnyOp
    inputs: tuple[int, ...]
    scope: str = Field(description="Name of the innermost container holding this node.")
    shape: Shape = Field(description="Output shape of one sample (batch dimension excluded).")
    repeat: Repeat | None = None
    span: Span | None = None
    batched: bool = Field(
        default=True,
        description="Whether the output has a batch axis: false for a tensor computed only from "
        "parameters and buffers (a relative-position bias), whose cost does not grow with the batch.",
    )
    formulas: dict[str, str] | None = Field(
        default=None,
        description=(
            "Op arguments the spec computes from the network's parameters by arithmetic, as Python "
            "text over their names ({'length': '(image_size // patch_size) ** 2 + 1'}): the compiled "
            "source writes the formula, so that those parameters can be arguments of the network's class."
        ),
    )

    @property
    def local_name(self) -> str:
        """The name in its container: the last component of the dotted name, or the path within a
        module list of the container (``convs.0``, from a dotted label)."""
        if not self.scope:
            return self.name
        if self.name.startswith(self.scope + "."):
            return self.name[len(self.scope) + 1 :]
        return self.name.rsplit(".", 1)[-1]


class ReportedResult(BaseModel):
    """Results someone reported for this network or variant, and who: the paper, or torchvision's weights.

    ``scope`` is ``"variant"`` for figures of this very variant (a ``per_variant`` entry of ``reported``),
    ``"network"`` for a figure the spec gives for the whole family (the paper's ensemble, say).
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    origin: str = Field(description="Who reported it: 'paper', 'torchvision', ...")
    source: str | None = Field(default=None, description="Where exactly: a table, a weights enum.")
    scope: Literal["variant", "network"]
    figures: dict[str, float]


class Metadata(BaseModel):
    """What the spec says about the network: its paper, its year, its reported results."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str | None = Field(
        default=None,
        description="The network's name as written in prose ('ResNet'): the compiled class's name.",
    )
    title: str | None = None
    authors: tuple[str, ...] = ()
    year: int | None = Field(default=None, strict=True)  # "2015" is a mistake worth reporting
    venue: str | None = None
    paper: str | None = None
    reported: dict[str, JSONValue] = Field(default_factory=dict)
    results: tuple[ReportedResult, ...] = Field(
        default=(), description="The reported results that apply to this variant, per origin."
    )
    notes: str | None = None
    extra: dict[str, JSONValue] = Field(default_factory=dict)


class InitCall(BaseModel):
    """One clause of an init rule: a ``torch.nn.init`` function applied to the parameters of one name."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    parameter: str = Field(
        description="The parameters it sets: those whose torch name is this or ends with '.' and this."
    )
    function: str = Field(description="A torch.nn.init function, without the trailing underscore.")
    args: dict[str, JSONValue] = Field(default_factory=dict, description="Its keyword arguments.")
    formulas: dict[str, str] = Field(
        default_factory=dict,
        description="Keyword arguments computed for each tensor from fan_in and fan_out (spec expressions).",
    )


class InitRule(BaseModel):
    """An ``init:`` rule: how the layers of one op, or of matching names, start."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    target: str = Field(description="The op (spec name) or the name pattern, as written.")
    kind: str | None = Field(default=None, description="The op kind of an op rule.")
    pattern: str | None = Field(default=None, description="The name pattern of a named rule (fnmatch).")
    block: str | None = Field(
        default=None,
        description="The block of a block rule (`MLP: ...`): every layer with parameters inside each "
        "instance of that block definition.",
    )
    when: Literal["built", "after"] = Field(
        description="'built': as each layer is constructed; 'after': once the network is built."
    )
    calls: tuple[InitCall, ...]
    span: Span | None = None


class Graph(BaseModel):
    """A network elaborated for one variant and one set of parameter values."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    network: str
    variant: str | None
    source: str = Field(description="Path of the spec file.")
    params: dict[str, JSONValue] = Field(description="Parameter values this graph was built with.")
    metadata: Metadata
    input_shape: Shape
    scopes: tuple[Scope, ...]
    nodes: tuple[Node, ...]
    output: int
    init: tuple[InitRule, ...] = Field(default=(), description="The init rules, in the spec's order.")

    def node(self, name: str) -> "Node":
        """The node with this dotted name (KeyError when absent)."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def input_shapes(self, node: Node) -> list[Shape]:
        """The shapes a node reads (what its op's counting rules take)."""
        return [self.nodes[i].shape for i in node.inputs]

    @property
    def output_shape(self) -> Shape:
        """Shape of the network's output."""
        return self.nodes[self.output].shape

    def ops(self) -> list[Op]:
        """Every node's op, in order."""
        return [node.op for node in self.nodes]

    def to_json(self) -> str:
        """The IR as indented JSON (what `archspec ir` prints). Span paths are relative to the spec's
        folder, so that the document does not depend on where the spec was checked out."""
        data = self.model_dump(mode="json", exclude_none=True)
        folder = os.path.dirname(os.path.abspath(self.source))
        data["source"] = os.path.basename(self.source)
        for item in (*data["scopes"], *data["nodes"]):
            if "span" in item:
                item["span"]["path"] = os.path.relpath(os.path.abspath(item["span"]["path"]), folder)
        return json.dumps(data, indent=2)


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of the IR (what `archspec schema` prints)."""
    return Graph.model_json_schema()
