"""Which float format the network runs in: float32, or bfloat16 where the hardware computes it natively.

Only the network's forward (and in training its backward) runs under bf16 autocast: its layers
compute in bf16 and its outputs are cast back to float32, so the chroma is rounded to about 0.5 ab
units. Losses, weights, the optimizer, colour conversion, hint propagation and the full-resolution
reconstruction stay float32, and a colorization's L* is always the original's. Measured on the
base model (bsds-val and urban100, 0/10/50 hints): the same PSNR to 0.01 dB.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import torch

from .defaults import PRECISIONS

__all__ = ["PRECISIONS", "autocast", "cpu_has_native_bf16", "resolve_precision"]


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX), where bf16 convolutions are ~2x faster.

    Elsewhere bf16 on the CPU is emulated and slower than float32, so "auto" keeps float32.
    """
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:  # not Linux: say no rather than guess
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def _native_bf16(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    return device.type == "cpu" and cpu_has_native_bf16()


def resolve_precision(device: torch.device, precision: str | None = None) -> str:
    """ "fp32" or "bf16": an explicit ``precision``; for None or "auto", $COLORIZE_PRECISION, else the hardware.

    The hardware's choice is bf16 where it computes bf16 natively (CUDA from Ampere on, CPUs
    with AVX512-BF16 or AMX), float32 elsewhere.
    """
    if precision not in (None, *PRECISIONS):
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision in ("fp32", "bf16"):
        return precision
    from_env = os.environ.get("COLORIZE_PRECISION") or "auto"
    if from_env not in PRECISIONS:
        raise ValueError(f"COLORIZE_PRECISION={from_env!r} must be one of {', '.join(PRECISIONS)}")
    if from_env != "auto":
        return from_env
    return "bf16" if _native_bf16(device) else "fp32"


def autocast(device: torch.device, precision: str):
    """The network's forward pass context: bf16 autocast, or nothing."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
