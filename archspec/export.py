"""`archspec export`: a network as an ONNX file or a ``torch.export`` program (``.pt2``), checked by
running the written file.

ONNX goes through ``torch.onnx.export``'s TorchScript-based exporter at opset 17 (``OPSET``). On torch 2.14
it is deprecated, but it works offline without onnxscript, names every node after the module path it came
from (``/layer1/layer1.0/conv1/Conv``: the spec's layer names, which Netron shows) and exports the zoo in
seconds; the dynamo exporter names nodes after aten ops (``node_conv2d``) and took six times as long for
LeNet-5 on this machine. Both drop ``avg_pool2d``'s ``divisor_override``, which LeNet-5's subsampling
layers use: the file would compute means where the network computes sums (the check below caught it), so
those layers are exported as ``avg_pool2d`` times the window's area, the same sum when no window is cut
by ``ceil_mode``.

The weights come from a ``state_dict`` file (torchvision's format), an archspec checkpoint (validated as
``archspec eval`` validates it) or a fresh initialisation with a seed. The file is written in a temporary
folder, run on a random input (onnxruntime for ONNX, ``torch.export.load`` for pt2) and compared with the
PyTorch module; only when the largest difference is within ``RTOL`` of the output's scale is it moved to
its destination (atomically), so a wrong file is never left behind.
"""

from __future__ import annotations

import math
import tempfile
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archspec.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover - torch is imported only when a network is exported
    import torch
    from torch import nn

    from archspec.api import Network

FORMATS = ("onnx", "pt2")
OPSET = 17  # what onnxruntime 1.17 and later, and Netron, read; the TorchScript exporter's tested range
# The largest difference the written file may show against the PyTorch module, relative to the largest
# output magnitude: float32 reordered by onnxruntime's fusions stays far inside it (about 1e-6), while a
# mistranslated layer (a mean for a sum) is off by tens of percent.
RTOL = 1e-3
TRACE_BATCH = 2  # traced with 2, checked with 3: a batch size baked into the graph would show
CHECK_BATCH = 3


@dataclass(frozen=True)
class ExportResult:
    """What ``export_network`` wrote and how far the file's output was from the module's."""

    path: Path
    format: str
    max_difference: float
    output_scale: float  # the largest magnitude of the module's output on the check input
    batch: int | None  # None: a dynamic batch axis


def parse_batch(text: str) -> int | None:
    """``--batch``: ``dynamic`` (None) or a positive integer."""
    if text == "dynamic":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise UsageError(f"--batch: expected 'dynamic' or a positive integer, got {text!r}")
    return value


def export_network(
    network: Network,
    path: str | Path,
    format: str,
    *,
    weights: str | Path | None = None,
    seed: int = 0,
    batch: int | None = None,
) -> ExportResult:
    """Write ``network`` to ``path`` as ``format`` (``onnx`` or ``pt2``), check it and return the result.

    ``weights``: a ``state_dict`` file or an archspec checkpoint, loaded strictly; without it the module
    is initialised with ``seed``. ``batch``: None for a dynamic batch axis, else a fixed batch size.
    Raises UsageError for a bad argument, weights that do not fit, or a file whose output differs.
    """
    if format not in FORMATS:
        raise UsageError(f"unknown export format {format!r}; expected one of: {', '.join(FORMATS)}")
    if format == "onnx":
        _require_onnx()
    import torch

    module = _module(network, weights, seed)
    target = Path(path)
    trace_batch = batch if batch is not None else TRACE_BATCH
    check_batch = batch if batch is not None else CHECK_BATCH
    generator = torch.Generator().manual_seed(seed)
    shape = tuple(network.graph.input_shape)
    example = torch.randn((trace_batch, *shape), generator=generator)
    check = torch.randn((check_batch, *shape), generator=generator)
    with tempfile.TemporaryDirectory(prefix="archspec-export-") as folder:
        written = Path(folder) / f"model.{format}"
        with warnings.catch_warnings():  # the exporters' deprecation and tracer notices are not ours
            warnings.simplefilter("ignore")
            if format == "onnx":
                _write_onnx(module, example, written, batch is None)
                output = _run_onnx(written, check)
            else:
                _write_pt2(module, example, written, batch is None)
                output = _run_pt2(written, check)
        with torch.no_grad():
            expected = module(check)
        difference = float((output - expected).abs().max())
        scale = float(expected.abs().max())
        if not math.isfinite(difference) or difference > RTOL * max(scale, 1e-6):
            raise UsageError(
                f"the exported {format} file does not compute what {network.name} computes: its output "
                f"differs by up to {difference:.3g} (the output's scale is {scale:.3g}; at most "
                f"{RTOL:g} of it is allowed); {target} was not written"
            )
        from archspec.files import write_atomically

        write_atomically(target, written.read_bytes())
    return ExportResult(target, format, difference, scale, batch)


def _module(network: Network, weights: str | Path | None, seed: int) -> nn.Module:
    import torch

    from archspec.backends.torch_layers import Subsample
    from archspec.train.checkpoint import load_weights, read_state_dict

    torch.manual_seed(seed)  # the fresh initialisation, and what weights then replace
    module = network.build()
    if weights is not None:
        load_weights(module, read_state_dict(weights), str(weights), network.name)
    for layer in module.modules():
        if isinstance(layer, Subsample) and not layer.ceil_mode:
            layer.forward = types.MethodType(_window_sum, layer)  # type: ignore[method-assign]
    return module.eval()


def _window_sum(self: Any, x: torch.Tensor) -> torch.Tensor:
    """``Subsample.forward`` without ``divisor_override``, which the ONNX exporters drop: the window's
    mean times its area (every window is whole without ``ceil_mode``, and padding counts)."""
    import torch.nn.functional as F

    height, width = _pair(self.kernel_size)
    total = F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, False, True) * (height * width)
    result: torch.Tensor = total * self.weight.view(-1, 1, 1) + self.bias.view(-1, 1, 1)
    return result


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else value


def _require_onnx() -> None:
    """UsageError, before anything is built, when the packages an ONNX export needs are missing."""
    import importlib.util

    missing = [name for name in ("onnx", "onnxruntime") if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(
            f"--format onnx needs {' and '.join(missing)}: pip install 'archspec[export]' "
            "(--format pt2 needs only torch)"
        )


def _write_onnx(module: nn.Module, example: torch.Tensor, path: Path, dynamic: bool) -> None:
    import torch

    axes = {"input": {0: "batch"}, "output": {0: "batch"}} if dynamic else None
    torch.onnx.export(
        module,
        (example,),
        str(path),
        dynamo=False,
        input_names=["input"],
        output_names=["output"],
        dynamic_axes=axes,
        opset_version=OPSET,
        do_constant_folding=True,
    )


def _run_onnx(path: Path, check: torch.Tensor) -> torch.Tensor:
    import onnxruntime
    import torch

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # a check, not a benchmark: stay off the other cores
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (output, *_) = session.run(None, {"input": check.numpy()})
    return torch.from_numpy(output)


def _write_pt2(module: nn.Module, example: torch.Tensor, path: Path, dynamic: bool) -> None:
    import torch

    # The root module's ``forward(*inputs)`` takes its inputs as one variadic tuple: its spec is a tuple.
    shapes = (({0: torch.export.Dim.DYNAMIC},),) if dynamic else None
    program = torch.export.export(module, (example,), dynamic_shapes=shapes)
    torch.export.save(program, str(path))


def _run_pt2(path: Path, check: torch.Tensor) -> torch.Tensor:
    import torch

    loaded = torch.export.load(str(path)).module()
    with torch.no_grad():
        output: torch.Tensor = loaded(check)
    return output
