"""IR to standalone PyTorch source: one readable file that imports only torch (and einops for
``rearrange``).

The module tree is the one ``torch_build`` makes (same ``state_dict`` keys), written the way a person
would write it: one class per block, named after the block (``Bottleneck``), with the arguments that vary
between instances as constructor parameters (``in_channels``, ``width``, ``stride=1``). Instances that
differ by one step share the class with a flag, as torchvision writes ``Bottleneck`` with an optional
``downsample``; a second class (``Bottleneck_2``) appears only for a structure that differs otherwise.
Chains of modules are written as ``nn.Sequential(...)``, runs of identical instances as list
comprehensions; unnamed parameterless layers as functional calls in ``forward`` (the ones the spec names
stay modules, as in torchvision), with the output shape of each line as a comment. The custom layers are
copied from ``torch_layers``. The spec's ``init:`` rules become one function per rule, written out as
literal ``nn.init`` calls; ``build()`` applies them as the in-memory builder does (same seed, same
numbers), through ``init_weights``: a loop over ``model.modules()`` by layer class with the rules
written in place, as torchvision writes it, where that meets exactly the layers the rules name (else
the layers by name).

Safety: spec text reaches the file only through ``repr()``/sanitised text inside docstrings and comments.
Attribute names are the spec's layer names, which lowering validated; they are checked again here
(identifiers become attributes; positions like ``0`` and other names torch allows, like ``block1-0``, go
through ``add_module``/``getattr`` with ``repr``);
local variable and class parameter names are generated.

The generator in modules, each with one job (this one assembles the file):

- ``emit_ir``: the emit IR, a structural description of one class (members with their constructor
  trees, ``forward``'s lines), and its structural key;
- ``emit_describe``: a container of the graph (``plan``) as emit IR;
- ``class_recovery``: which containers share a class (compared on the emit IR), optional steps merged
  as flags, the classes named; ``class_params``: a class's constructor parameters from its literals;
- ``emit_render``: a recovered class as text;
- ``init_plan`` (how ``init_weights`` applies the rules) and ``init_source`` (that plan as text);
- ``source_text``: how literals, docstrings and names are written; ``exposed``: the network's
  parameters as arguments.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any, Protocol

from archspec.analysis.counts import node_counts
from archspec.analysis.memory import inplace_nodes
from archspec.backends.class_recovery import ClassRecovery
from archspec.backends.emit_describe import Describer
from archspec.backends.emit_ir import Named
from archspec.backends.emit_render import render_class
from archspec.backends.exposed import Exposure, clashes, find_exposure, takers
from archspec.backends.init_plan import InitPlan
from archspec.backends.init_source import InitSource
from archspec.backends.plan import plan_graph
from archspec.backends.source_ops import SOURCE_OPS
from archspec.backends.source_text import (
    LAYER_ORDER,
    doc_text,
    root_class_name,
)
from archspec.backends.tidy import LINE_LENGTH, tidy
from archspec.backends.torch_source import definitions
from archspec.elab.origins import Tracer
from archspec.errors import SpecError
from archspec.ir import Graph
from archspec.ops import format_shape

__all__ = ["emit_source", "root_class_name"]


class Relower(Protocol):
    """The same spec elaborated with other parameter values (``tracer``: recording their origins)."""

    def __call__(self, params: dict[str, Any], tracer: Tracer | None = None) -> Graph: ...


def emit_source(graph: Graph, relower: Relower | None = None) -> str:
    """Standalone PyTorch source for the network (see the module docstring), tidied by ruff.

    ``relower(params, tracer)``, when given, elaborates the same spec again with its origins traced:
    the network's numeric parameters then become arguments of its class and of ``build()``
    (``backends.exposed``), placed in the one generation of the file.
    """
    tracer = None
    # Without parameters there is nothing to expose.
    if relower is not None and graph.params:
        tracer = Tracer()
        if not _same_when_relowered(graph, relower, tracer):
            tracer = None
    return tidy(_File(graph, tracer).render())


def _same_when_relowered(graph: Graph, relower: Relower, tracer: Tracer) -> bool:
    """Whether elaborating the spec again with the graph's own parameters (recording the origins of
    its numbers in ``tracer``) gives the same graph (not so for a graph changed by hand): only then
    can parameters be exposed."""
    try:
        return relower(dict(graph.params), tracer) == graph
    except SpecError:
        return False


class _File:
    """One generated file: its classes (recovered from the graph's containers), the init functions and
    ``init_weights``, ``build()`` and the example run."""

    def __init__(self, graph: Graph, tracer: Tracer | None = None) -> None:
        self.graph = graph
        self.init = InitSource(InitPlan(graph))
        plan = plan_graph(graph)
        inplace = inplace_nodes(graph)
        self.describer = Describer(graph, plan, inplace, self.init.rule_names)
        exposure = None if tracer is None else find_exposure(graph, tracer, self.describer, plan)
        while True:
            self.describer.exposure = exposure
            self.recovery = ClassRecovery(graph, plan, self.describer)
            self.exposure = exposure or Exposure([], {})
            self.takes = takers(self.recovery.classes, self.recovery.root_class, self.exposure)
            clashing = clashes(self.recovery.classes, self.takes)
            if not clashing:
                break
            # A parameter a class already has a name for (rare): the classes are recovered again
            # without it.
            exposure = self.exposure.without(clashing)
            self.describer = Describer(graph, plan, inplace, self.init.rule_names)

    def header(self) -> list[str]:
        """The module docstring's lines: where the file comes from, the paper, the network's figures."""
        graph, meta = self.graph, self.graph.metadata
        counts = node_counts(graph).values()
        params, macs = sum(c.params for c in counts), sum(c.macs for c in counts)
        name, origin = doc_text(graph.variant or graph.network), doc_text(Path(graph.source).name)
        lines = [f"{name}, generated by archspec from {origin}.", ""]
        for label, value in (
            ("Title", meta.title),
            ("Authors", ", ".join(meta.authors) if meta.authors else None),
            ("Year", meta.year),
            ("Venue", meta.venue),
            ("Paper", meta.paper),
        ):
            if value:
                lines.append(f"{label}: {doc_text(value)}")
        if lines[-1]:  # one blank line before the figures, also without a paper to name
            lines.append("")
        lines.append(
            f"Input: {format_shape(graph.input_shape)} per sample; "
            f"output: {format_shape(graph.output_shape)}."
        )
        lines.append(f"Parameters: {params:,}. MACs per sample (conv, linear, matmul): {macs:,}.")
        if graph.params:
            lines.append(
                "Built with: "
                + ", ".join(f"{doc_text(k)}={doc_text(v)}" for k, v in sorted(graph.params.items()))
            )
        # Said as it is: a spec with `rearrange` gives a file that imports einops as well.
        packages = ["PyTorch", *(line.split()[1].split(".")[0] for line in self.extra_imports())]
        needs = "only PyTorch" if len(packages) == 1 else " and ".join(dict.fromkeys(packages))
        lines.append(f"State-dict keys follow the spec's layer names; this file needs {needs}.")
        return lines

    def extra_imports(self) -> list[str]:
        """What the ops' text needs beside torch (``from einops import rearrange``), in the order first
        met."""
        entries = [SOURCE_OPS.get(node.op.kind) for node in self.graph.nodes]
        extra = [line for entry in entries if entry is not None for line in entry.imports]
        return list(dict.fromkeys(extra))

    def render(self) -> str:
        """The file's text, before tidying."""
        root_class = self.recovery.root_class
        by_name = {p.name: p for p in self.exposure.params}

        def passed(cls: Named) -> list[str]:
            return self.takes[id(cls)]

        classes = [
            render_class(
                cls, self.graph, cls is root_class, [by_name[n] for n in self.takes[id(cls)]], passed
            )
            for cls in self.recovery.classes
        ]
        header = self.header()
        wrapped = [*textwrap.wrap(header[0], LINE_LENGTH - 3)]  # after the opening quotes
        for line in header[1:]:
            wrapped += textwrap.wrap(line, LINE_LENGTH, subsequent_indent="    ") or [""]
        out = ['"""' + "\n".join(wrapped) + '\n"""', "", "from __future__ import annotations", ""]
        formulas = any(call.formulas for rule in self.graph.init for call in rule.calls)
        standard = ["import math"] if formulas else []
        if self.describer.needs_ordered_dict:
            standard.append("from collections import OrderedDict")
        if self.init.plan.uses_built:
            standard += ["from collections.abc import Callable", "from typing import TypeVar"]
        if self.describer.computed_buffers:
            standard.append("import functools")
        # isort's order: the plain imports, then the from-imports, each by module
        standard = sorted(s for s in standard if s.startswith("import ")) + sorted(
            s for s in standard if s.startswith("from ")
        )
        out += [*standard, ""] if standard else []
        out += ["import torch", "import torch.nn.functional as F"]
        out += self.extra_imports()
        out += ["from torch import nn", "", ""]
        for name in LAYER_ORDER:
            if name in self.describer.layers:
                out += [*definitions("torch_layers.py")[name].splitlines(), "", ""]
        if self.describer.computed_buffers:
            for name in ("refill_buffer", "computed_buffer"):
                out += [*definitions("torch_layers.py")[name].splitlines(), "", ""]
        out += self.init.functions()  # before the classes: `when built:` rules appear in them
        for lines in classes:
            out += [*lines, "", ""]
        out += self.init.init_weights()
        root = root_class.name
        init_note = " (as the spec's init rules say)" if self.graph.init else ""
        arguments = ", ".join(f"{p.name}: {p.annotation} = {p.default!r}" for p in self.exposure.params)
        given = ", ".join(f"{p.name}={p.name}" for p in self.exposure.params)
        out += [
            f"def build({arguments}) -> nn.Module:",
            f'    """A freshly initialised {root}{init_note}."""',
            f"    model = {root}({given})",
        ]
        if self.init.plan.order:
            out.append("    init_weights(model)")
        out += ["    return model", "", ""]
        shape = ", ".join(str(d) for d in (1, *self.graph.input_shape))
        out += [
            'if __name__ == "__main__":',
            "    model = build().eval()",
            f"    x = torch.randn({shape})",
            "    with torch.no_grad():",
            "        y = model(x)",
            "    params = sum(p.numel() for p in model.parameters())",
            '    print(f"{params:,} parameters; output {tuple(y.shape)}")',
        ]
        text = "\n".join(out) + "\n"
        if not re.search(r"\bF\.", text):  # every layer is a module: the functional import would be unused
            text = text.replace("import torch.nn.functional as F\n", "", 1)
        return text
