"""The protocol side of `archspec lsp`, on pygls: documents are kept in sync by pygls; each open or change
builds a fresh snapshot (``document.analyse``), publishes its diagnostics at once, then lowers the other
variants and publishes again when they add any. Every request is answered from the latest snapshot.

The server speaks over standard input and output; anything it logs goes to standard error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from archspec.lsp import features
from archspec.lsp.document import Snapshot, analyse, check_other_variants


class ArchspecServer(LanguageServer):
    """The language server, with the snapshot of each open document."""

    def __init__(self) -> None:
        super().__init__("archspec", "0.1.0")
        self.snapshots: dict[str, Snapshot] = {}

    def refresh(self, uri: str) -> None:
        """Analyse the document's current text and publish what was found."""
        document = self.workspace.get_text_document(uri)
        snapshot = analyse(path_of(uri), document.source)
        self.snapshots[uri] = snapshot
        self._publish(uri, snapshot, document.version)
        if check_other_variants(snapshot):
            self._publish(uri, snapshot, document.version)

    def _publish(self, uri: str, snapshot: Snapshot, version: int | None) -> None:
        params = lsp.PublishDiagnosticsParams(uri, features.diagnostics(snapshot), version=version)
        self.text_document_publish_diagnostics(params)

    def snapshot(self, uri: str) -> Snapshot:
        """The latest snapshot of a document (built now if the editor asks before opening it)."""
        if uri not in self.snapshots:
            self.refresh(uri)
        return self.snapshots[uri]


def path_of(uri: str) -> Path:
    """The file a ``file:`` URI names (an unsaved buffer's URI: a file of that name here)."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return Path.cwd() / (Path(unquote(parsed.path)).name or "untitled.arch")


def build_server() -> ArchspecServer:
    """The server with every feature registered."""
    server = ArchspecServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ArchspecServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ArchspecServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ArchspecServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.snapshots.pop(params.text_document.uri, None)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(params.text_document.uri, []))

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: ArchspecServer, params: lsp.HoverParams) -> lsp.Hover | None:
        snapshot = ls.snapshot(params.text_document.uri)
        return features.hover(snapshot, params.position.line, params.position.character)

    @server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT)
    def inlay_hint(ls: ArchspecServer, params: lsp.InlayHintParams) -> list[lsp.InlayHint]:
        snapshot = ls.snapshot(params.text_document.uri)
        return features.inlay_hints(snapshot, params.range.start.line, params.range.end.line)

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["(", ",", " "]))
    def completion(ls: ArchspecServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        snapshot = ls.snapshot(params.text_document.uri)
        items = features.completion(snapshot, params.position.line, params.position.character)
        return lsp.CompletionList(is_incomplete=False, items=items)

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: ArchspecServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        snapshot = ls.snapshot(params.text_document.uri)
        return features.definition(snapshot, params.position.line, params.position.character)

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbol(ls: ArchspecServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        return features.symbols(ls.snapshot(params.text_document.uri))

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: ArchspecServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
        return features.formatting(ls.snapshot(params.text_document.uri))

    return server


def serve(**options: Any) -> None:
    """Serve over standard input and output until the client exits."""
    import logging

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    build_server().start_io(**options)
