"""`archspec lsp` as an editor sees it: pytest-lsp starts `python -m archspec lsp` and talks to it over
stdio as a real LSP client. The figures a hover shows are checked against torchvision and torch's flop
counter; the positions of diagnostics against `archspec check`'s output; an op's hover against
docs/language.md."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import lsp_session
import pytest
from lsp_session import ENV, ROOT, line_of, open_document
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

RESNET = ROOT / "specs" / "resnet.arch"

pytestmark = pytest.mark.asyncio(loop_scope="module")
client = lsp_session.client  # the module's language server (a pytest-lsp fixture)


async def hover_text(client: LanguageClient, uri: str, line: int, character: int) -> str:
    result = await client.text_document_hover_async(
        lsp.HoverParams(lsp.TextDocumentIdentifier(uri), lsp.Position(line, character))
    )
    assert result is not None and isinstance(result.contents, lsp.MarkupContent)
    return result.contents.value


# ---------------------------------------------------------------- diagnostics

BROKEN = (
    "network n:\n  input: 3x8x8\n  layers:\n    conv(4, 3) >> relu >> flatten\n    linear(10, bais=false)\n"
)
WARNED = "network n:\n  input: 3x8x8\n  layers:\n    a: conv(4, 3)\n    b: conv(4, 3) from input\n"


async def test_diagnostics_on_open_are_checks_errors_at_checks_places(
    client: LanguageClient, tmp_path: Path
) -> None:
    path = tmp_path / "broken.arch"
    path.write_text(BROKEN, "utf-8")
    uri = await open_document(client, path)
    [found] = client.diagnostics[uri]
    check = subprocess.run(
        [sys.executable, "-m", "archspec", "check", str(path)], capture_output=True, text=True, env=ENV
    )
    place, message = re.match(r"\S+?:(\d+:\d+): error: (.*)", check.stderr).groups()  # type: ignore[union-attr]
    start = found.range.start
    assert f"{start.line + 1}:{start.character + 1}" == place
    assert found.message.split("\n")[0] == message
    assert found.severity == lsp.DiagnosticSeverity.Error and found.source == "archspec"


async def test_diagnostics_follow_every_change_and_warnings_are_warnings(
    client: LanguageClient, tmp_path: Path
) -> None:
    path = tmp_path / "edited.arch"
    path.write_text(BROKEN, "utf-8")
    uri = await open_document(client, path)
    assert len(client.diagnostics[uri]) == 1
    for version, text in enumerate([BROKEN.replace("bais", "bias"), WARNED], start=2):
        change = lsp.TextDocumentContentChangeWholeDocument(text=text)
        client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                lsp.VersionedTextDocumentIdentifier(uri=uri, version=version), [change]
            )
        )
        await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if version == 2:
            assert list(client.diagnostics[uri]) == []
    [warning] = client.diagnostics[uri]
    assert warning.severity == lsp.DiagnosticSeverity.Warning
    assert warning.range.start.line == 3  # `a`'s output is never read


# ---------------------------------------------------------------- hover and inlay hints


async def test_hover_on_a_layer_line_shows_the_figures_of_torchvision(client: LanguageClient) -> None:
    import torch
    import torchvision
    from torch.utils.flop_counter import FlopCounterMode

    uri = await open_document(client, RESNET)
    line, column = line_of(RESNET, "layer1: Stage")
    text = await hover_text(client, uri, line, column + 2)
    model = torchvision.models.resnet18()
    params = sum(p.numel() for p in model.layer1.parameters())
    with FlopCounterMode(display=False) as counter:
        out = model.layer1(torch.zeros(1, 64, 56, 56))
    macs = counter.get_total_flops() // 2
    assert f"**output** `{'x'.join(map(str, out.shape[1:]))}`" in text
    assert f"**params** {params:,} " in text
    shown = re.search(r"\*\*MACs\*\* ([0-9.]+)M", text)
    assert shown is not None and abs(float(shown.group(1)) * 1e6 - macs) <= 0.005 * macs
    # conv1 7x7/2 (7), maxpool 3/2 (11, stride 4), four 3x3 convs at stride 4 (+8 each): 43.
    assert "**RF** 43 /4 p21" in text
    assert "resnet18, the default variant" in text


async def test_hover_on_a_block_shows_its_signature_and_comment(client: LanguageClient) -> None:
    uri = await open_document(client, RESNET)
    line, column = line_of(RESNET, "unit = Bottleneck")
    text = await hover_text(client, uri, line, column + len("unit = B"))
    assert text.startswith("```archspec\nblock Bottleneck(width, stride=1, v1=false)\n```\n\n")
    assert "torchvision puts a stage's stride on the 3x3 conv" in text


async def test_hover_on_an_op_is_its_entry_in_the_language_reference(client: LanguageClient) -> None:
    uri = await open_document(client, RESNET)
    line, column = line_of(RESNET, "maxpool: maxpool(")
    text = await hover_text(client, uri, line, column + len("maxpool: max"))
    document = (ROOT / "docs" / "language.md").read_text("utf-8")
    entry = re.search(r"^### `maxpool`.*?(?=\n\n### |\n\n<!--)", document, re.MULTILINE | re.DOTALL)
    assert entry is not None
    assert text.startswith(entry.group(0) + "\n\n---\n\n**output** `64x56x56`")


async def test_inlay_hints_give_each_layer_lines_shape(client: LanguageClient) -> None:
    uri = await open_document(client, RESNET)
    end = len(RESNET.read_text("utf-8").splitlines())
    hints = await client.text_document_inlay_hint_async(
        lsp.InlayHintParams(
            lsp.TextDocumentIdentifier(uri), lsp.Range(lsp.Position(0, 0), lsp.Position(end, 0))
        )
    )
    assert hints is not None
    by_line = {hint.position.line: hint.label for hint in hints}
    assert by_line[line_of(RESNET, "fc: linear")[0]] == "→ 1000"
    assert by_line[line_of(RESNET, "conv1: conv(64, 7")[0]] == "→ 64x112x112"
    assert by_line[line_of(RESNET, "layer4: Stage")[0]] == "→ 512x7x7"
    # A block's line: its instances' shapes, first to last (resnet18: 64x56x56 ... 512x7x7).
    assert by_line[line_of(RESNET, "conv2: conv(width, 3, pad=1")[0]] == "→ 64x56x56 … 512x7x7"


# ---------------------------------------------------------------- completion, definitions, symbols


async def test_completion_offers_an_ops_arguments_ops_blocks_and_parameters(client: LanguageClient) -> None:
    uri = await open_document(client, RESNET)
    line, column = line_of(RESNET, "maxpool: maxpool(3, ")
    result = await client.text_document_completion_async(
        lsp.CompletionParams(
            lsp.TextDocumentIdentifier(uri), lsp.Position(line, column + len("maxpool: maxpool(3, "))
        )
    )
    assert isinstance(result, lsp.CompletionList)
    labels = {item.label for item in result.items}
    assert {"stride=", "pad=", "ceil_mode=", "conv", "batchnorm", "Bottleneck", "Stage", "depths"} <= labels
    assert "out_channels=" not in labels  # conv's argument, not maxpool's
    assert "conv1" in labels and "layer1" not in labels  # layers named above the line (for `from`)


async def test_definition_of_a_block_also_across_an_import_and_of_a_parameter(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = await open_document(client, RESNET)
    line, column = line_of(RESNET, "unit = Bottleneck")
    found = await client.text_document_definition_async(
        lsp.DefinitionParams(lsp.TextDocumentIdentifier(uri), lsp.Position(line, column + 9))
    )
    assert isinstance(found, lsp.Location)
    assert (found.uri, found.range.start.line) == (uri, line_of(RESNET, "block Bottleneck")[0])
    line, column = line_of(RESNET, "depths[0]")
    found = await client.text_document_definition_async(
        lsp.DefinitionParams(lsp.TextDocumentIdentifier(uri), lsp.Position(line, column + 1))
    )
    assert isinstance(found, lsp.Location) and found.range.start.line == line_of(RESNET, "depths = [3, 4")[0]

    path = tmp_path / "mine.arch"
    path.write_text(
        'from "resnet.arch" import BasicBlock\n\nnetwork mine:\n'
        "  input: 3x32x32\n  layers:\n    BasicBlock(3)\n",
        "utf-8",
    )
    uri = await open_document(client, path)
    found = await client.text_document_definition_async(
        lsp.DefinitionParams(lsp.TextDocumentIdentifier(uri), lsp.Position(5, 6))
    )
    assert isinstance(found, lsp.Location)
    assert Path(found.uri.removeprefix("file://")).resolve() == RESNET.resolve()
    assert found.range.start.line == line_of(RESNET, "block BasicBlock")[0]


async def test_document_symbols_are_the_blocks_and_the_network_with_its_parts(client: LanguageClient) -> None:
    uri = await open_document(client, ROOT / "specs" / "mobilenet_v2.arch")
    symbols = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(uri))
    )
    assert symbols is not None
    tree = {s.name: [c.name for c in s.children or []] for s in symbols if isinstance(s, lsp.DocumentSymbol)}
    assert list(tree) == ["ConvBNReLU", "InvertedResidual", "mobilenet_v2"]
    assert tree["ConvBNReLU"] == ["out", "kernel", "stride", "groups"]
    assert tree["mobilenet_v2"] == [
        "num_classes",
        "width_mult",
        "dropout",
        "settings",
        "features",
        "classifier",
    ]


async def test_formatting_is_fmts_layout(client: LanguageClient, tmp_path: Path) -> None:
    from archspec.fmt import format_text

    text = "network n:\n    input: 3x8x8\n    layers:\n        conv(4,3)>>relu\n"
    uri = await open_document(client, tmp_path / "messy.arch", text)
    edits = await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(lsp.TextDocumentIdentifier(uri), lsp.FormattingOptions(2, True))
    )
    assert edits is not None and len(edits) == 1
    assert edits[0].range.start == lsp.Position(0, 0)
    assert (
        edits[0].new_text
        == format_text(text)
        == "network n:\n  input: 3x8x8\n  layers:\n    conv(4, 3) >> relu\n"
    )
