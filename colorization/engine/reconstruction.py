"""Full-resolution reconstruction: working-resolution chroma + the ORIGINAL L* -> sRGB uint8.

Chroma is brought up with guided-filter coefficients (He & Sun 2015, fast guided filter; see
``guided_coefficients``) applied to the full-resolution L*, so colour edges snap to luminance edges
instead of bleeding; it is combined with the original L*, and out-of-gamut colours are desaturated
along a direction of zero luminance, so the output's lightness equals the input's up to 8-bit
rounding. It runs in chunks of rows so a 50 MP scan needs far less than 4 GB. On the CPU the chunks
are one compiled pass per pixel (``kernels.srgb8_rows``, numba) spread over
``torch.get_num_threads()`` Python threads; the same arithmetic as numpy array operations made ~70
passes over memory and took 4-5x longer.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import torch

from . import kernels
from .color import D_MATRIX, SRGB_LUT_STEPS, srgb8_from_fxz, srgb_lut

GUIDE_RADIUS = 1  # guided filter window radius, in working pixels
GUIDE_EPS = 2e-3  # regularization in (L*/100)^2: luminance steps of more than ~5 L* steer the colour
STRIP_PIXELS = 2_000_000  # full-resolution rows moved to an accelerator at once (bounds peak memory)
CHUNK_PIXELS = 1 << 17  # inner chunk on an accelerator (measured best of 2^14..2^20)
CPU_CHUNK_PIXELS = 1 << 16  # a CPU thread's unit of work (rows handed to one thread at a time)


# --- the guided filter at working resolution ----------------------------------------------------


def _box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over the (2r+1)² window, shrunk at the borders, of (B,C,H,W). Separable shifted adds:
    for the small radii used here this is several times faster than avg_pool2d on the CPU."""
    for dim in (-1, -2):
        n = x.shape[dim]
        total = x.clone()
        for k in range(1, min(r, n - 1) + 1):
            total.narrow(dim, k, n - k).add_(x.narrow(dim, 0, n - k))
            total.narrow(dim, 0, n - k).add_(x.narrow(dim, k, n - k))
        i = torch.arange(n, device=x.device)
        count = (torch.clamp(i + r, max=n - 1) - torch.clamp(i - r, min=0) + 1).to(x.dtype)
        x = total / (count if dim == -1 else count[:, None])
    return x


def guided_coefficients(
    guide: torch.Tensor,
    p: torch.Tensor,
    radius: int = GUIDE_RADIUS,
    eps: float = GUIDE_EPS,
    smooth_intercept: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Guided-filter coefficients (He & Sun 2015) for edge-aware upsampling: p ≈ A*guide + B.

    guide (1,h,w) is L*/100, p (C,h,w). A is the guided filter's box-averaged local slope.
    The classic filter also box-averages the intercept (``smooth_intercept=True``), which
    blurs p in flat regions; we measured that to cost ~3 dB against plain bilinear
    upsampling. With B = p - A*guide per pixel, each low-res pixel's linear model passes
    through its own (guide, p): flat regions upsample (nearly) bilinearly, and near
    luminance edges the local slope moves the colour edge onto the full-resolution edge.
    """
    c = p.shape[0]
    g = guide.expand(c, -1, -1)
    means = _box(torch.stack((g, p, g * p, g * g)).flatten(0, 1)[None], radius)[0].unflatten(0, (4, c))
    mean_I, mean_p, mean_Ip, mean_II = means
    A = (mean_Ip - mean_I * mean_p) / ((mean_II - mean_I * mean_I).clamp(min=0) + eps)
    if smooth_intercept:
        AB = _box(torch.cat((A, mean_p - A * mean_I))[None], radius)[0]
        return AB[:c], AB[c:]
    A = _box(A[None], radius)[0]
    return A, p - A * g


# --- full resolution ----------------------------------------------------------------------------


def _linear_taps(n_out: int, n_in: int, start: int = 0, stop: int | None = None):
    """Bilinear (align_corners=False, as F.interpolate) source taps for outputs start..stop: (i0, i1, w1)."""
    stop = n_out if stop is None else stop
    pos = ((torch.arange(start, stop, dtype=torch.float64) + 0.5) * (n_in / n_out) - 0.5).clamp(min=0)
    i0 = pos.floor().long().clamp(max=n_in - 1)
    i1 = (i0 + 1).clamp(max=n_in - 1)
    return i0, i1, (pos - i0).clamp(max=1).float()


def reconstruct(L_full: np.ndarray, coef: torch.Tensor, device: torch.device | None = None) -> np.ndarray:
    """Full-resolution L* (H,W) + low-res chroma model -> sRGB uint8 (H,W,3).

    ``coef`` is (4,h,w): (Px, Qx, Pz, Qz) with f(X/Xn) = Px*L + Qx and f(Z/Zn) = Pz*L + Qz, i.e.
    the guided-filter coefficients with the Lab -> XYZ algebra folded in, so each full-resolution
    pixel costs a few multiply-adds, cubes and one table lookup per channel. The coefficients
    are upsampled bilinearly: columns once at low height, rows per chunk.
    """
    device = torch.device(device) if device is not None else coef.device
    if device.type == "cpu":
        return _reconstruct_cpu(L_full, coef.cpu())
    return _reconstruct_torch(L_full, coef, device)


def _columns(coef: torch.Tensor, W: int) -> torch.Tensor:
    """(4,h,w) -> (4,h,W), bilinear along x."""
    w = coef.shape[2]
    if w == W:
        return coef.contiguous()
    j0, j1, wx = (t.to(coef.device) for t in _linear_taps(W, w))
    return torch.lerp(coef.index_select(2, j0), coef.index_select(2, j1), wx)


def _reconstruct_torch(L_full: np.ndarray, coef: torch.Tensor, device: torch.device) -> np.ndarray:
    """``reconstruct`` on an accelerator: strips of L* go to the device, chunks of rows are computed there."""
    H, W = L_full.shape
    _, h, _ = coef.shape
    cols = _columns(coef.to(device), W)  # (4,h,W)
    rows = cols.transpose(0, 1).reshape(h, 4 * W)  # one row per low-res row: a fast gather (2D index_select)
    out = np.empty((H, W, 3), np.uint8)
    strip_rows = max(1, STRIP_PIXELS // W)
    chunk_rows = max(1, CHUNK_PIXELS // W)
    for s0 in range(0, H, strip_rows):
        s1 = min(H, s0 + strip_rows)
        L_strip = torch.from_numpy(L_full[s0:s1]).to(device)
        out_strip = (
            torch.from_numpy(out[s0:s1]) if device.type == "cpu" else torch.empty((s1 - s0, W, 3), **_u8(device))
        )
        for r0 in range(s0, s1, chunk_rows):
            r1 = min(s1, r0 + chunk_rows)
            if h == H:
                c = rows[r0:r1].view(r1 - r0, 4, W)
            else:
                i0, i1, wy = (t.to(device) for t in _linear_taps(H, h, r0, r1))
                c = torch.lerp(rows.index_select(0, i0), rows.index_select(0, i1), wy[:, None]).view(r1 - r0, 4, W)
            Lc = L_strip[r0 - s0 : r1 - s0]
            fx = torch.addcmul(c[:, 1], c[:, 0], Lc)
            fz = torch.addcmul(c[:, 3], c[:, 2], Lc)
            srgb8_from_fxz(Lc, fx, fz, out_strip[r0 - s0 : r1 - s0])
        if device.type != "cpu":
            out[s0:s1] = out_strip.cpu().numpy()
    return out


# The CPU path: the same arithmetic as ``_srgb8_from_fxz`` in one compiled pass per pixel
# (``kernels.srgb8_rows``), with row ranges spread over Python threads (the kernel releases the GIL).
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _thread_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 1) - 1), thread_name_prefix="reconstruct")
        return _pool


D_MATRIX_NP = np.array(D_MATRIX, np.float32)
_LUT_SCALE = np.float32(SRGB_LUT_STEPS * SRGB_LUT_STEPS)  # sqrt(v * steps^2) = steps * sqrt(v)


@lru_cache(maxsize=1)
def _srgb_lut_np() -> np.ndarray:
    return srgb_lut("cpu").numpy()


@lru_cache(maxsize=1)
def warm_up_cpu_kernel() -> None:
    """Compile (or load from numba's cache) the CPU kernel now, not inside the first request."""
    _reconstruct_cpu(np.zeros((2, 2), np.float32), torch.zeros((4, 1, 1)))


def _reconstruct_cpu(L_full: np.ndarray, coef: torch.Tensor) -> np.ndarray:
    if not kernels.AVAILABLE:  # pragma: no cover - numba is a dependency
        return _reconstruct_torch(L_full, coef, torch.device("cpu"))
    H, W = L_full.shape
    L_full = np.ascontiguousarray(L_full, dtype=np.float32)
    base = _columns(coef, W).transpose(0, 1).contiguous().numpy()  # (h,4,W)
    step = np.diff(base, axis=0, append=base[-1:])  # row k+1 minus row k (zero for the last row)
    i0, _, wy = _linear_taps(H, base.shape[0])
    i0, wy = i0.numpy(), wy.numpy()
    out = np.empty((H, W, 3), np.uint8)
    lut = _srgb_lut_np()
    chunk_rows = max(1, CPU_CHUNK_PIXELS // W)
    starts = list(range(0, H, chunk_rows))

    def rows(r0: int) -> None:
        kernels.srgb8_rows(L_full, base, step, i0, wy, D_MATRIX_NP, lut, _LUT_SCALE, r0, min(H, r0 + chunk_rows), out)

    def share(n: int) -> None:
        for r0 in starts[n::threads]:
            rows(r0)

    threads = min(torch.get_num_threads(), len(starts))
    futures = [_thread_pool().submit(share, n) for n in range(1, threads)]
    share(0)  # this thread works too, so one thread needs no pool
    for f in futures:
        f.result()
    return out


def _u8(device: torch.device) -> dict:
    return {"dtype": torch.uint8, "device": device}


def chroma_model(ab: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """Working-res ab (2,h,w) and L* (1,h,w) -> coefficients (4,h,w) for ``reconstruct``."""
    A, B = guided_coefficients(L / 100, ab)
    # a = A_a * (L/100) + B_a  ->  f(X/Xn) = L/116 + 16/116 + a/500, and f(Z/Zn) = ... - b/200
    return torch.stack(
        (
            1 / 116 + A[0] / 50000,
            16 / 116 + B[0] / 500,
            1 / 116 - A[1] / 20000,
            16 / 116 - B[1] / 200,
        )
    )
