"""The Python front door: ``archspec.load(...)`` returns a Network that the capabilities hang on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archspec.elab.origins import Tracer
from archspec.ir import Graph
from archspec.loader import Program, load_program, resolve_spec
from archspec.lower import lower, network_of, variant_names
from archspec.ops import Shape

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only; torch stays unimported at run time
    import torch

    from archspec.analysis import Analysis
    from archspec.export import ExportResult


@dataclass
class Network:
    """One network, elaborated for one variant and parameter set. ``graph`` is its IR."""

    graph: Graph
    program: Program = field(repr=False)
    input_override: Shape | None = field(default=None, repr=False)  # ``--input``: else the spec's
    # The parameter values given to ``load`` (``--set``): what, with the spec, makes this network again.
    overrides: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """The variant name, or the network's name when it has no variants."""
        return self.graph.variant or self.graph.network

    @property
    def params(self) -> int:
        """Trainable parameter count."""
        return sum(node.op.param_count() for node in self.graph.nodes)

    def analyze(self, **options: Any) -> Analysis:
        """Static analysis: shapes, parameters, MACs/FLOPs, memory, receptive field (no torch)."""
        from archspec.analysis import analyze

        return analyze(self.graph, **options)

    def build(
        self, device: Any = None, dtype: Any = None, weights: str | Path | None = None, **options: Any
    ) -> torch.nn.Module:
        """The network as a ``torch.nn.Module`` (``device="meta"`` builds without memory).

        ``weights``: a ``state_dict`` file (torchvision's format, or an archspec checkpoint) loaded
        strictly; a UsageError lists the keys and shapes that differ.
        """
        from archspec.backends.torch_build import build_module

        self._check_buildable()
        module = build_module(self.graph, device=device, dtype=dtype, **options)
        if weights is not None:
            from archspec.train.checkpoint import load_weights, read_state_dict

            load_weights(module, read_state_dict(weights), str(weights), self.name)
        return module

    def draw(self, path: str | Path | None = None, **options: Any) -> Path:
        """Draw the network to ``path`` (default ``NAME.svg`` in the current folder) and return the path.

        The format follows the extension: ``.svg``, ``.png``, ``.pdf`` (rendered by Graphviz's ``dot``) or
        ``.dot`` (the source; needs no Graphviz). ``options`` are the fields of
        :class:`archspec.backends.diagram.DrawOptions` (``style``, ``depth``, ``expand``, ``figures``,
        ``rankdir``, ``dpi``). The file is written atomically. Raises UsageError for a bad extension or
        option, or when ``dot`` is missing.
        """
        from archspec.backends.diagram import draw_to

        target = Path(path) if path is not None else Path(f"{self.name}.svg")
        return draw_to(self.graph, target, **options)

    def export(
        self,
        path: str | Path,
        format: str = "onnx",
        *,
        weights: str | Path | None = None,
        seed: int = 0,
        batch: int | None = None,
    ) -> ExportResult:
        """Write the network as ONNX (opset 17) or a ``torch.export`` program (``format="pt2"``), run the
        file on a random input and keep it only when it computes what the module computes.

        ``weights``: a ``state_dict`` file or an archspec checkpoint (strict); else a fresh initialisation
        with ``seed``. ``batch``: None for a dynamic batch axis, else a fixed size. See archspec.export.
        """
        from archspec.export import export_network

        self._check_buildable()
        return export_network(self, path, format, weights=weights, seed=seed, batch=batch)

    def _check_buildable(self) -> None:
        """SpecError, at the layer's line and column, for a layer name torch cannot register
        (``training``, ``forward``): ``check`` reports the same error, and building or compiling would
        otherwise stop at it with a UsageError that names no place in the spec."""
        from archspec.errors import SpecError
        from archspec.module_names import module_name_errors

        errors = module_name_errors(self.graph)
        if errors:
            raise SpecError(errors, dict(self.program.sources))

    def _repr_html_(self) -> str:
        """Jupyter's view: the analysis summary and layer table (and the diagram, folded)."""
        from archspec.notebook import network_html

        return network_html(self.graph)

    def _repr_svg_(self) -> str | None:
        """Jupyter's view as an image: the diagram (None without Graphviz)."""
        from archspec.notebook import network_svg

        return network_svg(self.graph)

    def to_source(self) -> str:
        """Standalone, readable PyTorch source for this network (imports only torch, and einops where
        the spec uses ``rearrange``); the spec's numeric parameters (``num_classes``, ``dropout``...) are
        arguments of its class and of ``build()``."""
        from archspec.backends.codegen import emit_source

        self._check_buildable()

        def relower(params: dict[str, Any], tracer: Tracer | None = None) -> Graph:
            overrides = overrides_from_mapping(params)
            return lower(self.program, self.graph.variant, overrides, self.input_override, tracer)

        return emit_source(self.graph, relower)


def load(
    name_or_path: str | Path,
    variant: str | None = None,
    *,
    input_shape: Shape | None = None,
    text: str | None = None,
    search_path: Sequence[str | Path] = (),
    allow_absolute_imports: bool = False,
    **params: Any,
) -> Network:
    """Load a zoo network or a spec file, pick a variant and override parameters.

    ``load("resnet50")``, ``load("specs/vgg.arch", "vgg16_bn", num_classes=10)``,
    ``load("mobilenet_v1", alpha=0.5, resolution=160)``. A block-valued parameter takes the block's name.
    Imports may read ``.arch`` files in the spec's folder and in ``search_path`` folders (also searched
    for them); absolute import paths need ``allow_absolute_imports=True``.
    Raises :class:`archspec.errors.SpecError` for any problem with the spec.
    """
    if text is not None:
        path, implied = Path(str(name_or_path)), None
    else:
        path, implied = resolve_spec(str(name_or_path))
    program = load_program(
        path,
        text,
        search_path=[Path(folder) for folder in search_path],
        allow_absolute_imports=allow_absolute_imports,
    )
    chosen = variant if variant is not None else implied
    graph = lower(program, chosen, overrides_from_mapping(params), input_shape)
    return Network(graph, program, input_shape, dict(params))


def variants_of(name_or_path: str | Path) -> list[str]:
    """Every variant a spec file (or zoo name) defines."""
    path, _ = resolve_spec(str(name_or_path))
    return variant_names(network_of(load_program(path)))


def overrides_from_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter overrides with Python lists turned into the tuples specs use."""
    return {key: _freeze(value) for key, value in values.items()}


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value
