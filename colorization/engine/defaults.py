"""The engine's defaults, chosen by measurement (benchmarks/choose_decoding.py; see the model card).

A module of plain constants, so settings can read them without importing torch.
"""

DEFAULT_RENDER_SIZE = 256  # long side of the working resolution
DEFAULT_DECODE = "blend"
DEFAULT_BLEND = 0.25  # weight of the annealed mean in "blend"
SWEEP_RENDER_SIZES = (192, 256, 384)  # the photo page's one-click comparison
