"""Spec texts that several test files read (no torch here: the analysis tests stay light)."""

# Two independent lines (a projection and a gated branch, both from `stem`) before the `add` that merges
# them: the receptive field must not depend on their order. `ORDERED_SWAPPED` is the other order.
ORDERED = """
block SE(squeeze):
  avgpool: global_avgpool
  fc1: conv(squeeze, 1) >> relu
  fc2: conv(in_channels, 1) >> sigmoid
  mul from input, fc2

network order:
  input: 3x16x16
  layers:
    stem: conv(4, 3, stride=2, pad=1)
    proj: conv(4, 3, stride=2, pad=1) from stem
    gated: (conv(4, 1, stride=2) >> SE(2)) from stem
    sum: add from proj, gated
    head: global_avgpool >> flatten >> linear(2)
"""
_PROJ = "    proj: conv(4, 3, stride=2, pad=1) from stem\n"
ORDERED_SWAPPED = ORDERED.replace(_PROJ, "").replace("    sum:", _PROJ + "    sum:")
assert ORDERED_SWAPPED != ORDERED
