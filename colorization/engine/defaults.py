"""The engine's defaults, chosen by measurement (benchmarks/choose_decoding.py; see the model card).

A module of plain constants, so settings can read them without importing torch.
"""

DEFAULT_RENDER_SIZE = 224  # long side of the working resolution: best PSNR at 0, 10 and 50 hints
# base v2: regression alone is the most conservative (colourfulness ratio 0.56 / 0.53 on bsds-val /
# urban100 without hints); a tenth of the annealed mean brings it to 0.63 / 0.60 for ~0 dB on bsds-val
# (base v3, with the same blend: 0.64 / 0.62)
DEFAULT_DECODE = "blend"
DEFAULT_BLEND = 0.1  # weight of the annealed mean in the blend
# With a global colour hint, how far a network with the global-hint branch has its output's mean
# colour moved to the hint's after the forward pass (0: the network alone; networks without the
# branch always get the whole shift). Chosen with benchmarks/global_hints.py.
DEFAULT_GLOBAL_SHIFT = 1.0
# With local hints as well, their propagation moves the mean colour again; it is moved back to the
# hint's by 1 - exp(-free / GLOBAL_HINT_FREE_SCALE) of the way, where free is the photo's mean share
# left to the network by the local hints (1 - their propagation's confidence): ~0.2 at 10 clicks,
# ~0.003 at 50, so dense local hints keep the last word. Chosen on a validation split with
# benchmarks/global_hint_combination.py. 0 turns the correction off (the rule before 2026-12-07).
GLOBAL_HINT_FREE_SCALE = 0.1
PRECISIONS = ("auto", "fp32", "bf16")  # the network's float format (precision.py)
SWEEP_RENDER_SIZES = (192, 224, 320)  # the photo page's one-click comparison
