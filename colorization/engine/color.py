"""sRGB <-> CIE Lab (D65, 2° observer) in torch, batched and device agnostic.

Tensors are laid out channels-first: ``(..., 3, H, W)`` or any shape whose
``dim`` axis has size 3. sRGB values are in [0, 1]; L is in [0, 100] and a, b
are roughly in [-128, 127].
"""

from __future__ import annotations

from functools import lru_cache

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


# --- Lab -> sRGB uint8 with the L*-preserving gamut mapping (the output path) ------------------------

_DELTA = 6 / 29
SRGB_LUT_STEPS = 4096  # sRGB encoding LUT over sqrt(linear): < 0.1 code error everywhere


@lru_cache(maxsize=8)
def srgb_lut(device: str) -> torch.Tensor:
    """uint8 sRGB code for each step of sqrt(linear); sqrt spreads steps where sRGB is steep (near black)."""
    s = (torch.arange(SRGB_LUT_STEPS + 1, dtype=torch.float64) + 0.5) / SRGB_LUT_STEPS
    codes = (linear_to_srgb((s * s).clamp(0, 1)) * 255).round().clamp(0, 255)
    return codes.to(torch.uint8).to(device)


def _rgb_matrix() -> list[list[float]]:
    """XYZ->linear sRGB with the white point folded in, minus Y, so it gives d = rgb - Y from (X/Xn, Y, Z/Zn)."""
    m = [[row[0] * WHITE_D65[0], row[1], row[2] * WHITE_D65[2]] for row in XYZ_TO_RGB]
    for row in m:
        row[1] -= 1.0
    return m


D_MATRIX = _rgb_matrix()


def _f_inv_(t: torch.Tensor) -> torch.Tensor:
    """CIE f^-1, in place on ``t``: a cube above 6/29 and its tangent line below (no pow, no where)."""
    c = t.clamp(min=_DELTA)
    out = c * c
    out.mul_(c)
    t.sub_(c)
    return out.add_(t, alpha=3 * _DELTA * _DELTA)


def srgb8_from_fxz(L: torch.Tensor, fx: torch.Tensor, fz: torch.Tensor, out: torch.Tensor) -> None:
    """(L*, f(X/Xn), f(Z/Zn)) -> sRGB uint8 written into ``out`` (..., 3), keeping L* exactly.

    The luminance Y follows from L* alone. ``d = rgb_linear - Y`` has zero luminance, so
    ``Y + t*d`` keeps Y for any t; the largest t <= 1 that keeps every channel in [0, 1]
    is the gamut mapping. ``fx``/``fz`` are consumed.
    """
    fy = torch.add(L, 16).mul_(1 / 116)
    Y = _f_inv_(fy)
    X, Z = _f_inv_(fx), _f_inv_(fz)
    d = []
    for row in D_MATRIX:
        dc = X * row[0]
        dc.add_(Y, alpha=row[1]).add_(Z, alpha=row[2])
        d.append(dc)
    # t = min(1, (1 - Y) / max_c d_c, Y / -min_c d_c): room above and below in the worst channel.
    up = torch.maximum(torch.maximum(d[0], d[1]), d[2]).mul_(torch.rsub(Y, 1).clamp_(min=1e-7).reciprocal_())
    down = torch.minimum(torch.minimum(d[0], d[1]), d[2]).mul_(Y.clamp(min=1e-7).reciprocal_().neg_())
    t = torch.maximum(up, down).clamp_(min=1).reciprocal_()
    # Encode: sqrt(linear) indexes a table of sRGB codes; one gather writes all three channels.
    idx = torch.empty((*L.shape, 3), dtype=torch.int32, device=L.device)
    for c, dc in enumerate(d):
        idx[..., c] = torch.addcmul(Y, dc, t).clamp_(0, 1).sqrt_().mul_(SRGB_LUT_STEPS)
    torch.index_select(srgb_lut(str(L.device)), 0, idx.view(-1), out=out.view(-1))


def lab_to_srgb8(lab: np.ndarray | torch.Tensor) -> np.ndarray:
    """Lab (..., 3) -> sRGB uint8 (..., 3) with the L*-preserving gamut mapping (small inputs)."""
    lab = torch.as_tensor(np.asarray(lab, dtype=np.float32))
    L, a, b = lab.unbind(-1)
    fy = (L + 16) / 116
    out = torch.empty((*L.shape, 3), dtype=torch.uint8)
    srgb8_from_fxz(L.contiguous(), fy + a / 500, fy - b / 200, out)
    return out.numpy()
