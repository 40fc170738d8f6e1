"""The full-resolution CPU kernel of ``inference.reconstruct``, compiled with numba.

Per pixel it does what ``inference._srgb8_from_fxz`` does with tensors (the accelerator path):
interpolate the chroma model between two low-resolution rows, evaluate f(X/Xn) and f(Z/Zn)
from L*, invert CIE f, move to linear sRGB as ``Y + t*d`` (d has zero luminance, t the gamut
mapping) and encode through the sqrt-indexed sRGB table. As numpy code that was ~70 passes
over the image, memory-bound; compiled it is one pass that stays in registers. ``nogil``
lets Python threads run row ranges in parallel (numba's own prange pool is not safe to call
from several threads at once, which a web process does).

``numba`` is optional at import: ``AVAILABLE`` is False without it and callers use the torch
kernel instead.
"""

from __future__ import annotations

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; this keeps the engine importable without it
    numba = None

AVAILABLE = numba is not None

# float32 constants: numba keeps module-level numpy scalars at their own type
_DELTA = np.float32(6 / 29)
_TANGENT = np.float32(3 * (6 / 29) ** 2)
_EPS = np.float32(1e-7)
_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)
_F_SCALE = np.float32(1 / 116)
_F_OFFSET = np.float32(16 / 116)


def _f_inv(t):
    c = max(t, _DELTA)
    return c * c * c + _TANGENT * (t - c)


def _srgb8_rows(L, base, step, i0, wy, matrix, lut, lut_scale, r0, r1, out):  # pragma: no cover - compiled
    """Rows r0..r1 of ``out`` (H,W,3 uint8) from L* (H,W) and the column-interpolated chroma model.

    base (h,4,W): (Px, Qx, Pz, Qz) per low-res row; step (h,4,W): the next row minus this one;
    row y uses base[i0[y]] + wy[y] * step[i0[y]].
    """
    W = L.shape[1]
    top = np.int32(lut.shape[0] - 1)
    m00, m01, m02 = matrix[0, 0], matrix[0, 1], matrix[0, 2]
    m10, m11, m12 = matrix[1, 0], matrix[1, 1], matrix[1, 2]
    m20, m21, m22 = matrix[2, 0], matrix[2, 1], matrix[2, 2]
    idx = np.empty((3, W), np.int32)
    for y in range(r0, r1):
        k = i0[y]
        t = wy[y]
        # pass 1 (vectorizes): the three table indices of each pixel of the row
        for x in range(W):
            lum = L[y, x]
            X = _f_inv((base[k, 0, x] + t * step[k, 0, x]) * lum + base[k, 1, x] + t * step[k, 1, x])
            Y = _f_inv(lum * _F_SCALE + _F_OFFSET)
            Z = _f_inv((base[k, 2, x] + t * step[k, 2, x]) * lum + base[k, 3, x] + t * step[k, 3, x])
            d0 = X * m00 + Y * m01 + Z * m02
            d1 = X * m10 + Y * m11 + Z * m12
            d2 = X * m20 + Y * m21 + Z * m22
            # 1/t of the gamut mapping: max(1, max_c d_c / (1 - Y), -min_c d_c / Y)
            up = max(d0, max(d1, d2)) / max(_ONE - Y, _EPS)
            down = -min(d0, min(d1, d2)) / max(Y, _EPS)
            s = lut_scale / max(max(up, down), _ONE)
            y_scaled = Y * lut_scale
            idx[0, x] = min(top, np.int32(np.sqrt(max(d0 * s + y_scaled, _ZERO))))
            idx[1, x] = min(top, np.int32(np.sqrt(max(d1 * s + y_scaled, _ZERO))))
            idx[2, x] = min(top, np.int32(np.sqrt(max(d2 * s + y_scaled, _ZERO))))
        # pass 2: the table lookups
        for x in range(W):
            out[y, x, 0] = lut[idx[0, x]]
            out[y, x, 1] = lut[idx[1, x]]
            out[y, x, 2] = lut[idx[2, x]]


if AVAILABLE:
    _f_inv = numba.njit(inline="always", nogil=True)(_f_inv)
    try:
        srgb8_rows = numba.njit(nogil=True, cache=True, error_model="numpy")(_srgb8_rows)
    except RuntimeError:  # no writable cache location (a read-only install): compile per process instead
        srgb8_rows = numba.njit(nogil=True, error_model="numpy")(_srgb8_rows)
else:  # pragma: no cover
    srgb8_rows = None
