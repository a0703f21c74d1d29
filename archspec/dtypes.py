"""The dtypes the analysis knows, with their sizes: one list for the memory passes and the command line.

A module of its own, importing nothing, so that building the command-line parser does not load the IR.
"""

from collections.abc import Mapping

DTYPE_BYTES: Mapping[str, int] = {"float32": 4, "bfloat16": 2, "float16": 2, "float64": 8, "int64": 8}
# What activations (and so `--dtype`) may be; int64 is only for what an op keeps (max-pooling indices).
ACTIVATION_DTYPES = ("float32", "bfloat16", "float16", "float64")
