"""Backends: what the IR becomes. ``torch_build`` builds an ``nn.Module``; ``codegen`` writes its source.

``plan`` (no torch) works out, once, how the IR's containers run; ``torch_ops`` says per op kind how it
becomes torch; ``torch_layers`` holds the custom layers, written to be copied verbatim into generated files.
``diagram`` (no torch) draws the IR with Graphviz.
"""
