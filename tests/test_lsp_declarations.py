"""The language server knows `param` and `buffer` statements: a block's outline lists the tensors it
declares, and go-to-definition on a use (`gather from relative_position_bias_table, ...`) goes to the
declaration. Oracle: the positions of the statements in the file, found by text search. pytest-lsp starts
`python -m archspec lsp` as an editor would (see tests/test_lsp.py)."""

from __future__ import annotations

from pathlib import Path

import lsp_session
import pytest
from lsp_session import ROOT, line_of, open_document
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

SWIN = ROOT / "archspec" / "std" / "swin.arch"

pytestmark = pytest.mark.asyncio(loop_scope="module")
client = lsp_session.client  # the module's language server (a pytest-lsp fixture)

NETWORK = """\
network n:
  input: 4x3
  layers:
    param scale: [4, 3], init=ones
    if true:
      buffer offset: [[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 2, 3]], dtype=float32
    add from scale, offset
"""


async def definition(client: LanguageClient, uri: str, line: int, character: int) -> lsp.Location:
    found = await client.text_document_definition_async(
        lsp.DefinitionParams(lsp.TextDocumentIdentifier(uri), lsp.Position(line, character))
    )
    assert isinstance(found, lsp.Location)
    return found


async def test_go_to_definition_of_a_declared_tensor_in_a_block(client: LanguageClient) -> None:
    uri = await open_document(client, SWIN)
    lines = SWIN.read_text("utf-8").splitlines()
    for use, name, declared in [
        ("table: gather from", "relative_position_bias_table", "param relative_position_bias_table"),
        ("table: gather from", "relative_position_index", "buffer relative_position_index"),
        ('"w n -> w 1 n") from regions', "regions", "buffer regions"),  # declared inside an `if`
    ]:
        line = line_of(SWIN, use)[0]
        found = await definition(client, uri, line, lines[line].rindex(name) + 2)
        line, column = line_of(SWIN, declared)
        start = column + len(declared) - len(name)
        assert (found.uri, found.range) == (
            uri,
            lsp.Range(lsp.Position(line, start), lsp.Position(line, start + len(name))),
        )


async def test_go_to_definition_and_outline_of_a_network_s_declared_tensors(
    client: LanguageClient, tmp_path: Path
) -> None:
    path = tmp_path / "n.arch"
    path.write_text(NETWORK, "utf-8")
    uri = await open_document(client, path)
    found = await definition(client, uri, 6, 16)  # `scale` in `add from scale, offset`
    assert found.range == lsp.Range(lsp.Position(3, 10), lsp.Position(3, 15))
    found = await definition(client, uri, 6, 23)  # `offset`
    assert found.range == lsp.Range(lsp.Position(5, 13), lsp.Position(5, 19))
    symbols = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(uri))
    )
    assert symbols is not None
    [network] = symbols
    assert isinstance(network, lsp.DocumentSymbol) and network.children is not None
    assert [(s.name, s.kind, s.detail, s.selection_range.start) for s in network.children] == [
        ("scale", lsp.SymbolKind.Field, "param", lsp.Position(3, 10)),
        ("offset", lsp.SymbolKind.Constant, "buffer", lsp.Position(5, 13)),
    ]


async def test_a_block_s_outline_lists_its_params_and_buffers(client: LanguageClient) -> None:
    uri = await open_document(client, SWIN)
    symbols = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(uri))
    )
    assert symbols is not None
    tree = {s.name: s.children or [] for s in symbols if isinstance(s, lsp.DocumentSymbol)}
    declared = [(c.name, c.detail) for c in tree["WindowAttention"] if c.detail in ("param", "buffer")]
    assert declared == [
        ("relative_position_bias_table", "param"),
        ("relative_position_index", "buffer"),
        ("regions", "buffer"),
    ]


async def test_hover_on_param_shows_the_statement_s_reference(client: LanguageClient, tmp_path: Path) -> None:
    from archspec.op_reference import op_entry

    path = tmp_path / "n.arch"
    path.write_text(NETWORK, "utf-8")
    uri = await open_document(client, path)
    result = await client.text_document_hover_async(
        lsp.HoverParams(lsp.TextDocumentIdentifier(uri), lsp.Position(3, 6))  # on `param`
    )
    assert result is not None and isinstance(result.contents, lsp.MarkupContent)
    entry = op_entry("param")
    assert entry is not None and result.contents.value.startswith(entry)
    assert "    param NAME: [d0, d1, ...], init=SCHEME\n" in entry
