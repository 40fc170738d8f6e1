"""Image quality metrics for colorization, and the evaluation that promotes or rejects a model.

No single number captures "good colorization": PSNR and SSIM reward playing safe
(a greyish sepia scores well), colourfulness rewards boldness, and CIEDE2000 is
the perceptual colour difference. We report all of them, and the greyscale
input's own scores as the baseline, so "gain over grey" is visible.
"""

from __future__ import annotations

import dataclasses
import math
import time
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from .color import rgb_to_lab, rgb_to_lightness
from .global_hints import GlobalHint
from .hints import HintRaster
from .imageio import rgb_to_lightness_u8
from .training import find_images, simulate_hints

# BT.601 luma, the usual choice for "SSIM on Y"
_LUMA = (0.299, 0.587, 0.114)


def _as_float(image: np.ndarray, peak: float | None) -> tuple[np.ndarray, float]:
    if peak is None:
        peak = 255.0 if image.dtype == np.uint8 else 1.0
    return np.asarray(image, dtype=np.float64), float(peak)


def psnr(pred: np.ndarray, truth: np.ndarray, peak: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB; peak 255 for uint8 inputs, else 1 unless given."""
    if pred.shape != truth.shape:
        raise ValueError(f"shapes differ: {pred.shape} vs {truth.shape}")
    p, peak = _as_float(pred, peak)
    t, _ = _as_float(truth, peak)
    mse = float(np.mean((p - t) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)


def _gaussian_window(sigma: float = 1.5, size: int = 11) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def _ssim_plane(x: torch.Tensor, y: torch.Tensor, peak: float) -> float:
    """Wang et al. 2004 on one (H,W) plane: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, 'valid' region."""
    g = _gaussian_window()
    size = len(g)
    if min(x.shape) < size:  # too small for the window: use what fits
        size = min(x.shape) if min(x.shape) % 2 else min(x.shape) - 1
        g = _gaussian_window(size=max(1, size))
        size = len(g)

    def blur(t: torch.Tensor) -> torch.Tensor:
        t = F.conv2d(t[None, None], g.view(1, 1, 1, -1))
        return F.conv2d(t, g.view(1, 1, -1, 1))[0, 0]

    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s.mean())


def ssim(pred: np.ndarray, truth: np.ndarray, peak: float | None = None, channels: str = "mean") -> float:
    """Structural similarity. For RGB, ``channels="mean"`` averages the per-channel SSIM (sensitive to
    colour, which is what colorization changes); ``"luma"`` compares BT.601 luma only."""
    if pred.shape != truth.shape:
        raise ValueError(f"shapes differ: {pred.shape} vs {truth.shape}")
    p, peak = _as_float(pred, peak)
    t, _ = _as_float(truth, peak)
    if p.ndim == 2:
        return _ssim_plane(torch.from_numpy(p), torch.from_numpy(t), peak)
    if channels == "luma":
        w = np.asarray(_LUMA)
        return _ssim_plane(torch.from_numpy(p @ w), torch.from_numpy(t @ w), peak)
    if channels != "mean":
        raise ValueError(f"channels must be 'mean' or 'luma', got {channels!r}")
    return float(
        np.mean([_ssim_plane(torch.from_numpy(p[..., c]), torch.from_numpy(t[..., c]), peak) for c in range(3)])
    )


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk 2003: sqrt(σ_rg² + σ_yb²) + 0.3 sqrt(μ_rg² + μ_yb²), on a 0-255 scale."""
    x = np.asarray(rgb, dtype=np.float64)
    if rgb.dtype != np.uint8:
        x = x * 255
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    return float(np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


def colourfulness_ratio(pred: np.ndarray, truth: np.ndarray) -> float:
    """1.0 means as colourful as the real photo; NaN for a grey ground truth."""
    c = colourfulness(truth)
    return colourfulness(pred) / c if c > 1e-9 else math.nan


def ciede2000(lab1: np.ndarray, lab2: np.ndarray, kL: float = 1, kC: float = 1, kH: float = 1) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005) of Lab arrays (..., 3), elementwise."""
    lab1, lab2 = np.asarray(lab1, np.float64), np.asarray(lab2, np.float64)
    L1, a1, b1 = np.moveaxis(lab1, -1, 0)
    L2, a2, b2 = np.moveaxis(lab2, -1, 0)
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    c7 = c_bar**7
    G = 0.5 * (1 - np.sqrt(c7 / (c7 + 25.0**7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    chroma_zero = (C1p * C2p) == 0

    dLp = L2 - L1
    dCp = C2p - C1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(chroma_zero, 0.0, dh)
    dHp = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh) / 2)

    Lbp = (L1 + L2) / 2
    Cbp = (C1p + C2p) / 2
    hsum = h1p + h2p
    hbp = np.where(np.abs(h1p - h2p) <= 180, hsum / 2, np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2))
    hbp = np.where(chroma_zero, hsum, hbp)
    T = (
        1
        - 0.17 * np.cos(np.radians(hbp - 30))
        + 0.24 * np.cos(np.radians(2 * hbp))
        + 0.32 * np.cos(np.radians(3 * hbp + 6))
        - 0.20 * np.cos(np.radians(4 * hbp - 63))
    )
    d_theta = 30 * np.exp(-(((hbp - 275) / 25) ** 2))
    cb7 = Cbp**7
    RC = 2 * np.sqrt(cb7 / (cb7 + 25.0**7))
    SL = 1 + 0.015 * (Lbp - 50) ** 2 / np.sqrt(20 + (Lbp - 50) ** 2)
    SC = 1 + 0.045 * Cbp
    SH = 1 + 0.015 * Cbp * T
    RT = -np.sin(np.radians(2 * d_theta)) * RC
    dl, dc, dh = dLp / (kL * SL), dCp / (kC * SC), dHp / (kH * SH)
    return np.sqrt(dl * dl + dc * dc + dh * dh + RT * dc * dh)


def _lab(rgb: np.ndarray) -> np.ndarray:
    t = torch.from_numpy(np.asarray(rgb)).double()
    if rgb.dtype == np.uint8:
        t = t / 255
    return rgb_to_lab(t, dim=-1).numpy()


def mean_ciede2000(pred_rgb: np.ndarray, truth_rgb: np.ndarray) -> float:
    return float(ciede2000(_lab(pred_rgb), _lab(truth_rgb)).mean())


def lightness_change(pred_rgb: np.ndarray, L: np.ndarray) -> tuple[float, float]:
    """(max, mean) |ΔL*| between an output and the L* it was made from: should be rounding only."""
    t = torch.from_numpy(np.asarray(pred_rgb)).double() / 255
    diff = np.abs(rgb_to_lightness(t, dim=-1)[..., 0].numpy() - L)
    return float(diff.max()), float(diff.mean())


def simulate_eval_hints(ab: np.ndarray | torch.Tensor, k: int, seed: int) -> HintRaster:
    """k random 3×3 patches of the true chroma ab (2,H,W), reproducible from ``seed``."""
    ab_t = torch.as_tensor(np.asarray(ab, dtype=np.float32))[None]
    generator = torch.Generator().manual_seed(int(seed))
    hint_ab, mask = simulate_hints(ab_t, [k], generator)
    return HintRaster(hint_ab[0].numpy(), mask[0].numpy())


def load_truth(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"), dtype=np.uint8).copy()


def evaluate_folder(
    colorizer,
    folder: str | Path | Iterable[str | Path],
    hints: Iterable[int] = (0, 10, 50),
    render_size: int | None = None,
    limit: int | None = None,
    seed: int = 0,
    options=None,
    log: Callable[[str], None] | None = None,
    global_hint: Callable[[str, np.ndarray], GlobalHint | None] | None = None,
) -> dict:
    """Grey each colour photo, colorize it with k simulated hints per k in ``hints``, compare with the truth.

    Hints are 3×3 patches of the ground truth at the ORIGINAL resolution, from a seed derived
    from the file name, so the same folder always gives the same numbers. Returns per-k means
    and the greyscale baseline.
    """
    folders = [folder] if isinstance(folder, str | Path) else list(folder)
    paths = find_images(folders)[:limit] if limit else find_images(folders)
    if not paths:
        raise ValueError(f"no images found in {folders}")
    return evaluate_images(
        colorizer,
        ((path.name, load_truth(path)) for path in paths),
        hints=hints,
        render_size=render_size,
        seed=seed,
        options=options,
        log=log,
        total=len(paths),
        global_hint=global_hint,
    )


def evaluate_images(
    colorizer,
    items: Iterable[tuple[str, np.ndarray]],
    hints: Iterable[int] = (0, 10, 50),
    render_size: int | None = None,
    seed: int = 0,
    options=None,
    log: Callable[[str], None] | None = None,
    total: int | None = None,
    keep_outputs: Callable[[str], bool] | None = None,
    global_hint: Callable[[str, np.ndarray], GlobalHint | None] | None = None,
    perceptual: bool = True,
) -> dict:
    """``evaluate_folder`` over in-memory ``(name, rgb uint8)`` pairs (e.g. a bucket's holdout examples).

    The hint seed depends on the name, so the same photos give the same numbers for every model
    compared. ``keep_outputs(name)`` true: the 0-hint output is returned under ``"outputs"``.
    ``global_hint(name, truth)``: the global colour hint each photo gets (at every hint count), or None.
    ``options``: an ``inference.RenderOptions`` (decoding, blend, propagation), default the colorizer's.
    ``perceptual=False`` leaves out SSIM and CIEDE2000 (most of the time of a small render).
    """
    from .color import lab_to_srgb8
    from .inference import DEFAULT_RENDER_SIZE  # here to keep metrics importable alone

    render_size = render_size or DEFAULT_RENDER_SIZE
    ks = [int(k) for k in hints]
    sums: dict[int, dict[str, list[float]]] = {k: {} for k in ks}
    base: dict[str, list[float]] = {}
    outputs: dict[str, np.ndarray] = {}
    start = time.monotonic()
    n = -1

    def add(into: dict, **values: float) -> None:
        for key, value in values.items():
            into.setdefault(key, []).append(value)

    for n, (name, truth) in enumerate(items):
        L = rgb_to_lightness_u8(truth)
        lab = _lab(truth)
        grey = lab_to_srgb8(np.stack((L, np.zeros_like(L), np.zeros_like(L)), -1))
        add(base, psnr=psnr(grey, truth))
        if perceptual:
            add(base, ssim=ssim(grey, truth), ciede2000=float(ciede2000(_lab(grey), lab).mean()))
        ab = np.moveaxis(lab[..., 1:], -1, 0)
        given = global_hint(name, truth) if global_hint is not None else None
        for k in ks:
            raster = simulate_eval_hints(ab, k, seed + zlib.crc32(name.encode()) + k) if k else None
            if given is not None:
                empty = (np.zeros_like(ab, dtype=np.float32), np.zeros((1, *ab.shape[1:]), np.float32))
                raster = dataclasses.replace(raster, global_hint=given) if raster else HintRaster(*empty, given)
            out = colorizer.colorize(L, raster, render_size=render_size, options=options)
            if k == 0 and keep_outputs is not None and keep_outputs(name):
                outputs[name] = out
            dl_max, dl_mean = lightness_change(out, L)
            add(
                sums[k],
                psnr=psnr(out, truth),
                colourfulness_ratio=colourfulness_ratio(out, truth),
                delta_L_max=dl_max,
                delta_L_mean=dl_mean,
            )
            if perceptual:
                add(sums[k], ssim=ssim(out, truth), ciede2000=float(ciede2000(_lab(out), lab).mean()))
        if log:
            log(f"{n + 1}/{total or '?'} {name}")
    if n < 0:
        raise ValueError("no images to evaluate")

    def means(d: dict[str, list[float]]) -> dict[str, float]:
        return {k: round(float(np.nanmean(v)), 4) for k, v in d.items()}

    baseline = means(base)
    per_k = {}
    for k in ks:
        m = means(sums[k])
        m["delta_L_max"] = round(float(np.max(sums[k]["delta_L_max"])), 4)  # worst image, not the mean
        m["psnr_gain_over_grey"] = round(m["psnr"] - baseline["psnr"], 4)
        per_k[str(k)] = m
    result = {
        "images": n + 1,
        "render_size": render_size,
        "decode": (options and options.decode) or colorizer.decode,
        "blend": colorizer.blend if options is None or options.blend is None else options.blend,
        "propagate_hints": (
            colorizer.propagate_hints if options is None or options.propagate_hints is None else options.propagate_hints
        ),
        "model_sha256": getattr(colorizer, "sha256", None),
        "precision": getattr(colorizer, "precision", None),
        "baseline_grey": baseline,
        "hints": per_k,
        "seconds": round(time.monotonic() - start, 1),
    }
    if keep_outputs is not None:
        result["outputs"] = outputs
    return result
