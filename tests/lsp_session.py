"""What the language-server tests share: pytest-lsp's client fixture, which starts `python -m archspec
lsp` as an editor would (module-scoped: one server per test file), and small helpers over it."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = Path(__file__).resolve().parents[1]
ENV = {"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "archspec", "lsp"], server_env=ENV),
    scope="module",
)
async def client(lsp_client: LanguageClient) -> AsyncIterator[None]:
    """A language server started for the test module, initialised as VS Code would."""
    await lsp_client.initialize_session(
        lsp.InitializeParams(capabilities=client_capabilities("visual-studio-code"), root_uri=ROOT.as_uri())
    )
    yield
    await lsp_client.shutdown_session()


async def open_document(client: LanguageClient, path: Path, text: str | None = None) -> str:
    """Open ``path`` (with ``text``, or its contents) and wait for its diagnostics; its URI."""
    uri = path.as_uri()
    text = path.read_text("utf-8") if text is None else text
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "archspec", 1, text))
    )
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return uri


def line_of(path: Path, needle: str) -> tuple[int, int]:
    """0-based line and character of the first occurrence of ``needle``."""
    for number, line in enumerate(path.read_text("utf-8").splitlines()):
        if needle in line:
            return number, line.index(needle)
    raise AssertionError(needle)
