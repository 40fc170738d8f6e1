"""sRGB <-> CIE Lab (D65, 2° observer) in torch, batched and device agnostic.

Tensors are laid out channels-first: ``(..., 3, H, W)`` or any shape whose
``dim`` axis has size 3. sRGB values are in [0, 1]; L is in [0, 100] and a, b
are roughly in [-128, 127].
"""

from __future__ import annotations

import numpy as np
import torch

# sRGB primaries -> XYZ (D65), IEC 61966-2-1.
RGB_TO_XYZ = (
    (0.4124564, 0.3575761, 0.1804375),
    (0.2126729, 0.7151522, 0.0721750),
    (0.0193339, 0.1191920, 0.9503041),
)
# The exact inverse of the matrix above, so conversions round-trip to float precision.
XYZ_TO_RGB = tuple(tuple(float(v) for v in row) for row in np.linalg.inv(np.array(RGB_TO_XYZ, dtype=np.float64)))
# D65 reference white.
WHITE_D65 = (0.95047, 1.0, 1.08883)

_EPSILON = 216 / 24389  # CIE's (6/29)^3
_KAPPA = 24389 / 27  # CIE's (29/3)^3


def _mix(x: torch.Tensor, matrix, dim: int) -> torch.Tensor:
    """Apply a 3x3 matrix along ``dim``."""
    m = torch.tensor(matrix, dtype=x.dtype, device=x.device)
    x = x.movedim(dim, -1)
    return (x @ m.T).movedim(-1, dim)


def srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    return torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(lin: torch.Tensor) -> torch.Tensor:
    return torch.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin.clamp(min=0.0031308) ** (1 / 2.4) - 0.055)


def _f(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t > _EPSILON, t.clamp(min=_EPSILON) ** (1 / 3), (_KAPPA * t + 16) / 116)


def _f_inv(t: torch.Tensor) -> torch.Tensor:
    t3 = t**3
    return torch.where(t3 > _EPSILON, t3, (116 * t - 16) / _KAPPA)


def rgb_to_lab(rgb: torch.Tensor, dim: int = -3) -> torch.Tensor:
    """sRGB in [0, 1] -> Lab. ``dim`` is the channel axis."""
    xyz = _mix(srgb_to_linear(rgb), RGB_TO_XYZ, dim)
    x, y, z = xyz.unbind(dim)
    fx, fy, fz = _f(x / WHITE_D65[0]), _f(y / WHITE_D65[1]), _f(z / WHITE_D65[2])
    return torch.stack((116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)), dim)


def lab_to_rgb(lab: torch.Tensor, dim: int = -3, clip: bool = True) -> torch.Tensor:
    """Lab -> sRGB in [0, 1] (clipped to the gamut unless ``clip`` is False)."""
    L, a, b = lab.unbind(dim)
    fy = (L + 16) / 116
    fx = fy + a / 500
    fz = fy - b / 200
    xyz = torch.stack((_f_inv(fx) * WHITE_D65[0], _f_inv(fy) * WHITE_D65[1], _f_inv(fz) * WHITE_D65[2]), dim)
    rgb = linear_to_srgb(_mix(xyz, XYZ_TO_RGB, dim).clamp(min=0))
    return rgb.clamp(0, 1) if clip else rgb


def rgb_to_lightness(rgb: torch.Tensor, dim: int = -3) -> torch.Tensor:
    """CIE L* of sRGB colours (the luminance a greyscale photo records)."""
    lin = srgb_to_linear(rgb)
    r, g, b = lin.unbind(dim)
    y = RGB_TO_XYZ[1][0] * r + RGB_TO_XYZ[1][1] * g + RGB_TO_XYZ[1][2] * b
    return (116 * _f(y) - 16).unsqueeze(dim)


def lightness_to_grey(L: torch.Tensor) -> torch.Tensor:
    """L* -> the sRGB grey value in [0, 1] with that lightness."""
    return linear_to_srgb(_f_inv((L + 16) / 116)).clamp(0, 1)


def grey_to_lightness(grey: torch.Tensor) -> torch.Tensor:
    """sRGB grey value in [0, 1] -> L*."""
    return 116 * _f(srgb_to_linear(grey)) - 16
