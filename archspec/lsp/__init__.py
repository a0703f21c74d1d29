"""`archspec lsp`: the language server (document.py: what a file holds; features.py: what the editor
asks; server.py: the protocol, with pygls)."""
