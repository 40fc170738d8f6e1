"""Colorize photos with a trained ColorNet: working resolution in, full resolution out.

The pipeline, and why each step is there:

1. The photo's L* is area-downsampled so its long side is ``render_size`` (never
   upscaled, aspect kept) and padded by reflection to a multiple of the network's
   stride. The network predicts chroma from L* plus hints; it only has to be right
   at low frequencies, because chroma carries little detail.
2. Decoding: the regression head follows hints closely but averages rare colours
   into sepia; the classification head's annealed mean keeps them. ``blend`` mixes
   the two. The default is chosen by measurement (see ``DEFAULT_DECODE``).
3. Hint residual propagation: where a hint disagrees with the prediction, the
   difference is spread edge-aware (a multi-scale bilateral grid, guided by L*),
   so a user's hint reliably recolours its region even where the network hedges.
4. Full-resolution reconstruction: chroma is brought up with guided-filter
   coefficients (He & Sun 2015, fast guided filter; see ``guided_coefficients``)
   applied to the full-resolution L*, so colour edges snap to luminance edges
   instead of bleeding; it is combined with the ORIGINAL L*,
   and out-of-gamut colours are desaturated along a direction of zero luminance,
   so the output's lightness equals the input's up to 8-bit rounding. This stage
   runs in chunks of rows so a 50 MP scan needs far less than 4 GB. On the CPU the
   chunks are one compiled pass per pixel (``kernels.srgb8_rows``, numba) spread over
   ``torch.get_num_threads()`` Python threads; the same arithmetic as numpy array
   operations made ~70 passes over memory and took 4-5x longer.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import kernels
from .checkpoint import CheckpointError, load_model, model_sha256
from .color import WHITE_D65, XYZ_TO_RGB, linear_to_srgb
from .defaults import DEFAULT_BLEND, DEFAULT_DECODE, DEFAULT_RENDER_SIZE
from .hints import HintRaster, Hints, parse_hints, rasterize
from .imageio import LumaImage
from .network import ColorNet
from .precision import autocast, resolve_precision

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "weights" / "colornet-base.safetensors"
PREVIEW_SIZE = 512
DECODES = ("regression", "annealed", "blend")
GUIDE_RADIUS = 1  # guided filter window radius, in working pixels
GUIDE_EPS = 2e-3  # regularization in (L*/100)^2: luminance steps of more than ~5 L* steer the colour
STRIP_PIXELS = 2_000_000  # full-resolution rows moved to an accelerator at once (bounds peak memory)
CHUNK_PIXELS = 1 << 17  # inner chunk on an accelerator (measured best of 2^14..2^20)
CPU_CHUNK_PIXELS = 1 << 16  # a CPU thread's unit of work (rows handed to one thread at a time)
# Hint propagation: bilateral grid scales (spatial sigma in working px, range sigma in L*).
PROPAGATION_SCALES = ((4.0, 6.0), (12.0, 6.0), (32.0, 8.0))
PROPAGATION_KAPPA = 0.0001  # hint density (hinted px per px², kernel-weighted) trusted to ~63%

_DELTA = 6 / 29
_SRGB_LUT_STEPS = 4096  # sRGB encoding LUT over sqrt(linear): < 0.1 code error everywhere

ImageLike = LumaImage | np.ndarray
HintsLike = Hints | HintRaster | tuple[np.ndarray, np.ndarray] | dict | None


# --- device and model loading ----------------------------------------------------------------------


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Explicit ``device``, else $COLORIZE_DEVICE, else CUDA when available, else CPU.

    A request for an accelerator that is not there falls back to the CPU with a warning
    rather than failing the job: a slow draft beats no draft.
    """
    requested = device if device is not None else (os.environ.get("COLORIZE_DEVICE") or None)
    if requested is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(requested)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {requested!r} (use cpu, cuda or cuda:N)") from exc
    available = {"cuda": torch.cuda.is_available, "mps": torch.backends.mps.is_available}
    if dev.type in available and not available[dev.type]():
        warnings.warn(f"device {requested!r} was requested but is not available; using the CPU", stacklevel=2)
        return torch.device("cpu")
    return dev


_cache: dict[tuple[str, str, str, str], Colorizer] = {}
_cache_lock = threading.Lock()


# --- colour helpers ---------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _srgb_lut(device: str) -> torch.Tensor:
    """uint8 sRGB code for each step of sqrt(linear); sqrt spreads steps where sRGB is steep (near black)."""
    s = (torch.arange(_SRGB_LUT_STEPS + 1, dtype=torch.float64) + 0.5) / _SRGB_LUT_STEPS
    codes = (linear_to_srgb((s * s).clamp(0, 1)) * 255).round().clamp(0, 255)
    return codes.to(torch.uint8).to(device)


def _rgb_matrix() -> list[list[float]]:
    """XYZ->linear sRGB with the white point folded in, minus Y, so it gives d = rgb - Y from (X/Xn, Y, Z/Zn)."""
    m = [[row[0] * WHITE_D65[0], row[1], row[2] * WHITE_D65[2]] for row in XYZ_TO_RGB]
    for row in m:
        row[1] -= 1.0
    return m


_D_MATRIX = _rgb_matrix()


def _f_inv_(t: torch.Tensor) -> torch.Tensor:
    """CIE f^-1, in place on ``t``: a cube above 6/29 and its tangent line below (no pow, no where)."""
    c = t.clamp(min=_DELTA)
    out = c * c
    out.mul_(c)
    t.sub_(c)
    return out.add_(t, alpha=3 * _DELTA * _DELTA)


def _srgb8_from_fxz(L: torch.Tensor, fx: torch.Tensor, fz: torch.Tensor, out: torch.Tensor) -> None:
    """(L*, f(X/Xn), f(Z/Zn)) -> sRGB uint8 written into ``out`` (..., 3), keeping L* exactly.

    The luminance Y follows from L* alone. ``d = rgb_linear - Y`` has zero luminance, so
    ``Y + t*d`` keeps Y for any t; the largest t <= 1 that keeps every channel in [0, 1]
    is the gamut mapping. ``fx``/``fz`` are consumed.
    """
    fy = torch.add(L, 16).mul_(1 / 116)
    Y = _f_inv_(fy)
    X, Z = _f_inv_(fx), _f_inv_(fz)
    d = []
    for row in _D_MATRIX:
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
        idx[..., c] = torch.addcmul(Y, dc, t).clamp_(0, 1).sqrt_().mul_(_SRGB_LUT_STEPS)
    torch.index_select(_srgb_lut(str(L.device)), 0, idx.view(-1), out=out.view(-1))


def lab_to_srgb8(lab: np.ndarray | torch.Tensor) -> np.ndarray:
    """Lab (..., 3) -> sRGB uint8 (..., 3) with the L*-preserving gamut mapping (small inputs)."""
    lab = torch.as_tensor(np.asarray(lab, dtype=np.float32))
    L, a, b = lab.unbind(-1)
    fy = (L + 16) / 116
    out = torch.empty((*L.shape, 3), dtype=torch.uint8)
    _srgb8_from_fxz(L.contiguous(), fy + a / 500, fy - b / 200, out)
    return out.numpy()


# --- working resolution -----------------------------------------------------------------------------


def working_size(width: int, height: int, render_size: int) -> tuple[int, int]:
    """Long side ``render_size`` at most (never upscaled), aspect kept, at least 1 px."""
    if render_size < 1:
        raise ValueError(f"render_size must be positive, got {render_size}")
    scale = min(1.0, render_size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _round_up(n: int, multiple: int) -> int:
    return max(multiple, -(-n // multiple) * multiple)


def _downsample(L: np.ndarray, w: int, h: int) -> torch.Tensor:
    """L* (H,W) -> (1,h,w) by area averaging (the guided filter's low-resolution guide)."""
    t = torch.from_numpy(L)[None, None]
    if t.shape[-2:] == (h, w):
        return t[0].clone()
    return F.interpolate(t, size=(h, w), mode="area")[0]


def _cached_L(image: LumaImage, role: str, w: int, h: int) -> torch.Tensor:
    """``image``'s L* area-averaged to (1,h,w), kept on the image: one copy per role ("L": the network's
    working grid, "preview": the preview's grid), since the editor re-renders one size repeatedly."""
    key = (role, w, h)
    L = image._cache.get(key)
    if L is None:
        L = _downsample(image.L, w, h)
        for stale in [k for k in image._cache if k[0] == role]:
            del image._cache[stale]
        image._cache[key] = L
    return L


def _as_luma(image: ImageLike) -> LumaImage:
    if isinstance(image, LumaImage):
        return image
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise ValueError(f"expected an L* array (H,W) or a LumaImage, got shape {arr.shape}")
    return LumaImage(np.ascontiguousarray(arr, dtype=np.float32))


@dataclass
class _Job:
    """One image on its way through the network."""

    image: LumaImage
    w: int
    h: int
    L: torch.Tensor  # (1,h,w) working-resolution L*
    hint_ab: torch.Tensor  # (2,h,w)
    mask: torch.Tensor  # (1,h,w)

    @property
    def has_hints(self) -> bool:
        return bool(self.mask.any())


# --- edge-aware filters at working resolution ---------------------------------------------------------


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


def _blur_1_4_6_4_1(grid: torch.Tensor) -> torch.Tensor:
    """Separable [1 4 6 4 1]/16 blur over the last three axes, zero outside (shifted adds: no slow conv3d)."""
    weights = (1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)
    for dim in (-3, -2, -1):
        n = grid.shape[dim]
        out = grid * weights[2]
        for offset in (1, 2):
            if offset < n:
                out.narrow(dim, offset, n - offset).add_(grid.narrow(dim, 0, n - offset), alpha=weights[2 - offset])
                out.narrow(dim, 0, n - offset).add_(grid.narrow(dim, offset, n - offset), alpha=weights[2 + offset])
        grid = out
    return grid


def _bilateral_grid_spread(values: torch.Tensor, L: torch.Tensor, sigma_s: float, sigma_r: float) -> torch.Tensor:
    """Splat (C,h,w) ``values`` (zero where there is nothing) into a grid over (L*, y, x), blur, slice back.

    Coarse scales are sliced on a coarser pixel grid and upsampled: their result is smooth in
    space, and the slicing dominates the cost.
    """
    c, h, w = values.shape
    dev = values.device
    pad = 2
    gd = math.ceil(100 / sigma_r) + 1 + 2 * pad
    gh = math.ceil(h / sigma_s) + 1 + 2 * pad
    gw = math.ceil(w / sigma_s) + 1 + 2 * pad
    ys, xs = torch.nonzero(values[-1] != 0, as_tuple=True)
    grid = torch.zeros((c, gd * gh * gw), device=dev)
    if len(ys):
        gz = (L[0, ys, xs] / sigma_r).round().long() + pad
        gy = (ys / sigma_s).round().long() + pad
        gx = (xs / sigma_s).round().long() + pad
        grid.index_add_(1, (gz * gh + gy) * gw + gx, values[:, ys, xs])
    grid = _blur_1_4_6_4_1(grid.view(1, c, gd, gh, gw))
    # Slice: trilinear lookup at each (sub-sampled) pixel's (x, y, L*) grid position.
    step = max(1, round(sigma_s / 8))
    sh, sw = -(-h // step), -(-w // step)
    L_s = L if step == 1 else F.interpolate(L[None], size=(sh, sw), mode="area")[0]
    yy = ((torch.arange(sh, device=dev, dtype=torch.float32) + 0.5) * (h / sh) - 0.5) / sigma_s + pad
    xx = ((torch.arange(sw, device=dev, dtype=torch.float32) + 0.5) * (w / sw) - 0.5) / sigma_s + pad
    zz = L_s[0] / sigma_r + pad
    norm = torch.tensor([gw - 1, gh - 1, gd - 1], device=dev, dtype=torch.float32)
    coords = torch.stack((xx.expand(sh, sw), yy[:, None].expand(sh, sw), zz), -1) / norm * 2 - 1
    out = F.grid_sample(grid, coords[None, None], mode="bilinear", align_corners=True)[:, :, 0]
    if step > 1:
        out = F.interpolate(out, size=(h, w), mode="bilinear", align_corners=False)
    return out[0]


def propagate_hint_residual(
    ab: torch.Tensor,
    L: torch.Tensor,
    hint_ab: torch.Tensor,
    mask: torch.Tensor,
    scales: Sequence[tuple[float, float]] | None = None,
    kappa: float | None = None,
) -> torch.Tensor:
    """Spread (hint - prediction) from hinted pixels to their region, guided by L*.

    Normalized convolution, spread(r*m) / spread(m), with a kernel that is a sum of
    bilateral-grid Gaussians of equal mass at a few spatial scales (so it is sharp near a
    hint and heavy-tailed), blended in with a confidence that grows with the kernel-weighted
    hint density: it falls off with distance from hints and across luminance edges, and a
    long stroke reaches further than a click. Hinted pixels get exactly their hint.
    """
    scales = PROPAGATION_SCALES if scales is None else scales
    kappa = PROPAGATION_KAPPA if kappa is None else kappa
    residual = (hint_ab - ab) * mask
    num = torch.zeros_like(ab)
    den = torch.zeros_like(mask)
    for sigma_s, sigma_r in scales:
        spread = _bilateral_grid_spread(torch.cat((residual, mask)), L, sigma_s, sigma_r) / sigma_s**2
        num += spread[:2]
        den += spread[2:]
    confidence = 1 - torch.exp(-den.clamp(min=0) / kappa)
    out = ab + confidence * num / den.clamp(min=1e-12)
    return torch.where(mask > 0, hint_ab, out)


# --- full resolution ------------------------------------------------------------------------------------


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
            _srgb8_from_fxz(Lc, fx, fz, out_strip[r0 - s0 : r1 - s0])
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


_D_MATRIX_NP = np.array(_D_MATRIX, np.float32)
_LUT_SCALE = np.float32(_SRGB_LUT_STEPS * _SRGB_LUT_STEPS)  # sqrt(v * steps^2) = steps * sqrt(v)


@lru_cache(maxsize=1)
def _srgb_lut_np() -> np.ndarray:
    return _srgb_lut("cpu").numpy()


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
        kernels.srgb8_rows(L_full, base, step, i0, wy, _D_MATRIX_NP, lut, _LUT_SCALE, r0, min(H, r0 + chunk_rows), out)

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


def _chroma_model(ab: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
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


# --- the colorizer ------------------------------------------------------------------------------------------


class Colorizer:
    """A loaded model plus the pipeline around it. Stateless per call, so one instance serves all threads."""

    def __init__(
        self,
        model: ColorNet,
        device: torch.device | str | None = None,
        *,
        sha256: str | None = None,
        metadata: dict | None = None,
        decode: str = DEFAULT_DECODE,
        blend: float = DEFAULT_BLEND,
        propagate_hints: bool = True,
        precision: str | None = None,
    ):
        self.device = resolve_device(device)
        self.precision = resolve_precision(self.device, precision)
        self.model = model.eval().to(self.device)
        if self.device.type == "cpu":
            warm_up_cpu_kernel()
            self.model = self.model.to(memory_format=torch.channels_last)  # ~40% faster convolutions
        self.sha256 = sha256
        self.metadata = dict(metadata or {})
        self.decode = _check_decode(decode)
        self.blend = blend
        self.propagate_hints = propagate_hints

    @classmethod
    def load(
        cls,
        path: str | os.PathLike | None = None,
        device: str | torch.device | None = None,
        precision: str | None = None,
    ) -> Colorizer:
        """Load a safetensors checkpoint (never pickle), cached per process by (path, sha256, device, precision)."""
        path = Path(path) if path is not None else DEFAULT_MODEL_PATH
        if not path.is_file():
            raise CheckpointError(f"model file not found: {path}")
        dev = resolve_device(device)
        digest = model_sha256(path)
        prec = resolve_precision(dev, precision)
        key = (str(path.resolve()), digest, str(dev), prec)
        with _cache_lock:
            if key not in _cache:
                model, meta = load_model(path, expected_sha256=digest)
                _cache[key] = cls(model, dev, sha256=digest, metadata=meta, precision=prec)
            return _cache[key]

    @property
    def multiple(self) -> int:
        return self.model.config.multiple

    # -- preparing inputs

    def _job(self, image: ImageLike, hints: HintsLike, render_size: int) -> _Job:
        image = _as_luma(image)
        w, h = working_size(image.width, image.height, render_size)
        L = _cached_L(image, "L", w, h)
        if hints is None:
            hint_ab, mask = np.zeros((2, h, w), np.float32), np.zeros((1, h, w), np.float32)
        elif isinstance(hints, HintRaster | tuple):  # full resolution: (hint_ab (2,H,W), mask (1,H,W))
            hints = hints if isinstance(hints, HintRaster) else HintRaster(*hints)
            if hints.size != image.size:
                raise ValueError(f"hint raster is {hints.size}, the image is {image.size}")
            hint_ab, mask = hints.resize(w, h)
        else:
            if isinstance(hints, dict):
                hints = parse_hints(hints, image.width, image.height)
            hint_ab, mask = rasterize(hints, image.width, image.height, w, h)
        return _Job(image, w, h, L, torch.from_numpy(hint_ab), torch.from_numpy(mask))

    # -- the network

    @torch.inference_mode()
    def _forward(self, jobs: Sequence[_Job]) -> tuple[torch.Tensor, torch.Tensor]:
        """All jobs in one batch, each reflection-padded to the common shape (hints zero in the padding)."""
        m = self.multiple
        ph = max(_round_up(j.h, m) for j in jobs)
        pw = max(_round_up(j.w, m) for j in jobs)
        L = np.stack([np.pad(j.L[0].numpy(), ((0, ph - j.h), (0, pw - j.w)), mode="reflect") for j in jobs])
        hint_ab = torch.stack([F.pad(j.hint_ab, (0, pw - j.w, 0, ph - j.h)) for j in jobs])
        mask = torch.stack([F.pad(j.mask, (0, pw - j.w, 0, ph - j.h)) for j in jobs])
        x = ColorNet.make_input(torch.from_numpy(L)[:, None], hint_ab, mask).to(self.device)
        if self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(self.device, self.precision):
            ab, logits = self.model(x)
        return ab.float(), logits.float()

    def _decode(self, ab_half: torch.Tensor, logits: torch.Tensor, decode: str, blend: float) -> torch.Tensor:
        """Network outputs -> ab at the padded working resolution (B,2,H,W).

        The annealed mean (1/4 resolution) is brought to 1/2 and blended there, so only one
        interpolation runs at the working resolution.
        """
        half = ab_half.shape[-2:]
        size = (half[0] * 2, half[1] * 2)
        ab = ab_half.contiguous()
        if decode != "regression":
            # contiguous: the softmax over bins is ~2x faster than on the channels_last layout
            annealed = self.model.annealed_mean(logits.contiguous())
            annealed = F.interpolate(annealed, size=half, mode="bilinear", align_corners=False)
            ab = annealed if decode == "annealed" else torch.lerp(ab, annealed, blend)
        return F.interpolate(ab, size=size, mode="bilinear", align_corners=False)

    @torch.inference_mode()
    def predict_ab(
        self,
        jobs: Sequence[_Job],
        saturation: float = 1.0,
        decode: str | None = None,
        blend: float | None = None,
        propagate_hints: bool | None = None,
    ) -> list[torch.Tensor]:
        """Working-resolution ab (2,h,w) for each job, after decoding, hint propagation and saturation."""
        decode = _check_decode(decode or self.decode)
        blend = self.blend if blend is None else float(blend)
        if not 0 <= blend <= 1:
            raise ValueError(f"blend must be in [0, 1], got {blend}")
        if not 0 <= saturation <= 2:
            raise ValueError(f"saturation must be in [0, 2], got {saturation}")
        propagate = self.propagate_hints if propagate_hints is None else propagate_hints
        ab_half, logits = self._forward(jobs)
        ab_all = self._decode(ab_half, logits, decode, blend)
        results = []
        for i, job in enumerate(jobs):
            ab = ab_all[i, :, : job.h, : job.w].contiguous()
            if propagate and job.has_hints:
                ab = propagate_hint_residual(ab, job.L.to(ab.device), job.hint_ab.to(ab.device), job.mask.to(ab.device))
            results.append(ab * saturation if saturation != 1 else ab)
        return results

    # -- public API

    @torch.inference_mode()
    def colorize(
        self,
        image: ImageLike,
        hints: HintsLike = None,
        render_size: int = DEFAULT_RENDER_SIZE,
        saturation: float = 1.0,
        decode: str | None = None,
        blend: float | None = None,
        propagate_hints: bool | None = None,
    ) -> np.ndarray:
        """A LumaImage (or L* array (H,W)) -> sRGB uint8 (H,W,3) whose L* is the input's.

        ``hints``: hints JSON (dict, validated against the image size), parsed ``Hints``, or a
        full-resolution ``HintRaster``.
        """
        return self.colorize_batch([(image, hints)], render_size, saturation, decode, blend, propagate_hints)[0]

    @torch.inference_mode()
    def colorize_batch(
        self,
        items: Sequence[tuple[ImageLike, HintsLike]],
        render_size: int = DEFAULT_RENDER_SIZE,
        saturation: float = 1.0,
        decode: str | None = None,
        blend: float | None = None,
        propagate_hints: bool | None = None,
    ) -> list[np.ndarray]:
        """Several (image, hints) in ONE forward pass; results as from ``colorize``.

        Images are padded to a common working shape. Images whose padded working shape is
        the same as alone (the usual case for photos of one aspect) give the same result up to
        rare ±1 codes (batched convolutions round differently); others also differ slightly
        near their bottom/right border, where the padding differs (and, with a network that has
        the global branch, a little everywhere: the pooled features see the padding). So a job that must be
        reproducible to the byte (a Draft re-run) should be rendered alone.
        """
        if not items:
            return []
        jobs = [self._job(image, hints, render_size) for image, hints in items]
        abs_ = self.predict_ab(jobs, saturation, decode, blend, propagate_hints)
        out = []
        for job, ab in zip(jobs, abs_, strict=True):
            coef = _chroma_model(ab, job.L.to(ab.device))
            out.append(reconstruct(job.image.L, coef, self.device))
        return out

    @torch.inference_mode()
    def preview(
        self,
        image: ImageLike,
        hints: HintsLike = None,
        size: int = PREVIEW_SIZE,
        render_size: int = DEFAULT_RENDER_SIZE,
        saturation: float = 1.0,
        decode: str | None = None,
        blend: float | None = None,
        propagate_hints: bool | None = None,
    ) -> np.ndarray:
        """The editor's live preview: uint8 RGB at most ``size`` px on the long side, made as the full render is.

        The network runs at ``render_size`` (the working resolution of the draft being corrected; never
        above ``size``) with the hints rasterized onto that grid, exactly as ``colorize`` does, and its
        chroma is guided up to the preview's grid by the preview's own L* (area-averaged from ``image``),
        so what the volunteer sees is the final render at a smaller size, not a different rendering.
        Hints are in ``image``'s pixel coordinates.
        """
        image = _as_luma(image)
        job = self._job(image, hints, min(render_size, size))
        ab = self.predict_ab([job], saturation, decode, blend, propagate_hints)[0]
        coef = _chroma_model(ab, job.L.to(ab.device))
        w, h = working_size(image.width, image.height, size)
        L_preview = image.L if (w, h) == image.size else _cached_L(image, "preview", w, h)[0].numpy()
        return reconstruct(L_preview, coef, self.device)

    @torch.inference_mode()
    def suggest(
        self,
        image: ImageLike,
        x: int,
        y: int,
        k: int = 5,
        hints: HintsLike = None,
        render_size: int = DEFAULT_RENDER_SIZE,
    ) -> list[str]:
        """The ``k`` most likely colours ("#rrggbb") at original pixel (x, y), for the editor's palette.

        From the classification head's distribution there: bins are taken in order of
        probability and a bin next to an already chosen one joins it (its colour becomes the
        probability-weighted mean), so one broad mode gives one swatch. Each colour is shown
        at the pixel's own L*, since that is what a hint of it would produce.
        """
        image = _as_luma(image)
        if not (0 <= x < image.width and 0 <= y < image.height):
            raise ValueError(f"({x}, {y}) is outside the image, which is {image.width}×{image.height}")
        job = self._job(image, hints, render_size)
        _, logits = self._forward([job])
        lh, lw = logits.shape[-2:]
        # Position of the pixel centre in the logits' grid (1/4 of the padded working grid).
        gx = ((x + 0.5) * job.w / image.width) / 4
        gy = ((y + 0.5) * job.h / image.height) / 4
        coords = torch.tensor([[[[gx / lw * 2 - 1, gy / lh * 2 - 1]]]], dtype=torch.float32, device=logits.device)
        at = F.grid_sample(logits, coords, mode="bilinear", padding_mode="border", align_corners=False)
        probs = torch.softmax(at.flatten(), 0).cpu()
        n = self.model.config.bins_per_axis
        centers = self.model.bin_centers.cpu()
        clusters: list[dict] = []
        for q in torch.argsort(probs, descending=True).tolist():
            i, j = divmod(q, n)
            home = next((c for c in clusters if any(abs(i - a) <= 1 and abs(j - b) <= 1 for a, b in c["bins"])), None)
            if home is None:
                clusters.append({"bins": [(i, j)], "mass": 0.0, "ab": torch.zeros(2)})
                home = clusters[-1]
            else:
                home["bins"].append((i, j))
            home["mass"] += float(probs[q])
            home["ab"] += float(probs[q]) * centers[q]
            if len(clusters) > 2 * k:  # enough candidates; the rest only adds mass to the tail
                break
        clusters.sort(key=lambda c: -c["mass"])
        L = float(image.L[y, x])
        colours: list[str] = []
        for c in clusters:
            a, b = (c["ab"] / c["mass"]).tolist()
            r, g, bl = lab_to_srgb8(np.array([[L, a, b]], np.float32))[0].tolist()
            hex_ = f"#{r:02x}{g:02x}{bl:02x}"
            if hex_ not in colours:
                colours.append(hex_)
            if len(colours) == k:
                break
        return colours


def _check_decode(decode: str) -> str:
    if decode not in DECODES:
        raise ValueError(f"decode must be one of {DECODES}, got {decode!r}")
    return decode
