"""The engine's defaults, chosen by measurement (benchmarks/choose_decoding.py; see the model card).

A module of plain constants, so settings can read them without importing torch.
"""

DEFAULT_RENDER_SIZE = 224  # long side of the working resolution: best PSNR at 0, 10 and 50 hints
DEFAULT_DECODE = "regression"  # best PSNR; colourfulness ratio 0.72 (bsds-val) and 0.65 (urban100) without hints
DEFAULT_BLEND = 0.25  # weight of the annealed mean when "blend" is asked for
SWEEP_RENDER_SIZES = (192, 224, 320)  # the photo page's one-click comparison
