"""Manual colorizations: a volunteer's colour version made in another tool.

Only its chroma is used. The check: after resizing the upload to the original's size,
its lightness must match the original's, otherwise it is probably a different
photograph, a different crop, or a retouched one. The numbers, and why:

* the shapes must agree within ``ASPECT_TOLERANCE`` (2 %): a crop moves every pixel;
* mean |ΔL*| ≤ ``settings.CHROMA_MANUAL_MAX_MEAN_DELTA_L`` (default 3.0 L* units) and the
  99th percentile ≤ ``settings.CHROMA_MANUAL_MAX_P99_DELTA_L`` (default 20). An artist's
  honest colorization exported as JPEG (quality 85) measured 1.58 mean / 5.5 p99 at full
  size and 1.14 mean at half size on a BSDS photograph (``tests/colorization/test_manual.py``); a
  brightness change of 15 %, a contrast change of 30 %, a mirrored or other print of
  the photo goes above it. The percentile bound catches local retouching (a repainted
  region of a few percent of the photo) that a mean over the whole photo would hide.

Both lightness maps are area-averaged to the upload's own resolution (at most
``COMPARE_SIDE`` px on the long side) before comparing, so detail a smaller export never
had is not held against it, and a 50 MP scan is checked in well under a second. The stored result is the
ORIGINAL's full-resolution L* with the upload's chroma (a* b* resized to the original size),
converted with the engine's L*-preserving gamut mapping, so its luminance is the original's.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import torch
import torch.nn.functional as F
from django.conf import settings
from django.core.exceptions import ValidationError
from PIL import Image, ImageOps

from colorization.engine.color import lab_to_srgb8, rgb_to_lab
from colorization.engine.imageio import LumaImage, read_luminance
from colorization.images import ImageRejected, inspect_image, to_display_rgb
from colorization.models import Photo

ASPECT_TOLERANCE = 0.02
COMPARE_SIDE = 1024
_ROWS = 512  # rows converted at once when composing (bounds memory on large scans)


@dataclass(frozen=True)
class ManualColorization:
    rgb: np.ndarray  # uint8 (H,W,3) at the original's size: original L*, upload's chroma
    mean_delta_l: float
    p99_delta_l: float
    upload_sha256: str
    upload_format: str


def _area(L: np.ndarray, side: int) -> np.ndarray:
    h, w = L.shape
    scale = min(1.0, side / max(h, w))
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    if size == (h, w):
        return L
    return F.interpolate(torch.from_numpy(L)[None, None], size=size, mode="area")[0, 0].numpy()


def luminance_difference(upload_L: np.ndarray, original_L: np.ndarray, side: int = COMPARE_SIDE) -> tuple[float, float]:
    """(mean, 99th percentile) of |ΔL*| with both area-averaged to ``side`` px; same shapes in."""
    delta = np.abs(_area(upload_L, side) - _area(original_L, side))
    return float(delta.mean()), float(np.percentile(delta, 99))


def _lab_of(rgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 (H,W,3) -> Lab float32 (H,W,3), in row blocks."""
    out = np.empty(rgb.shape, np.float32)
    for y in range(0, rgb.shape[0], _ROWS):
        block = torch.from_numpy(rgb[y : y + _ROWS].astype(np.float32) / 255)
        out[y : y + _ROWS] = rgb_to_lab(block, dim=-1).numpy()
    return out


def compose(original_L: np.ndarray, chroma_rgb: np.ndarray) -> np.ndarray:
    """The original's L* with the chroma of ``chroma_rgb`` (same size) -> sRGB uint8 keeping L*."""
    out = np.empty((*original_L.shape, 3), np.uint8)
    for y in range(0, original_L.shape[0], _ROWS):
        lab = _lab_of(chroma_rgb[y : y + _ROWS])
        lab[..., 0] = original_L[y : y + _ROWS]
        out[y : y + _ROWS] = lab_to_srgb8(lab)
    return out


def _reason(mean: float, p99: float) -> str:
    return (
        f"The uploaded image's lightness differs from the original photo's (mean difference {mean:.1f}, "
        f"99th percentile {p99:.1f} L* units; the limits are {settings.CHROMA_MANUAL_MAX_MEAN_DELTA_L:g} and "
        f"{settings.CHROMA_MANUAL_MAX_P99_DELTA_L:g}). A manual colorization must keep the original's tones: "
        "colour it without changing brightness, contrast, crop or retouching, and export it at the original's "
        "size (or a scaled copy of it). Only its colours are used."
    )


def manual_colorization_check(*, photo: Photo, file: BinaryIO, original: LumaImage | None = None) -> ManualColorization:
    """Check an uploaded colour version of ``photo`` and compose it onto the original's luminance.

    Raises ``ImageRejected`` for files that are not usable images and ``ValidationError``
    (field ``image``) when the upload does not match the original.
    """
    info = inspect_image(
        file,
        max_bytes=settings.CHROMA_MAX_UPLOAD_BYTES,
        max_pixels=settings.CHROMA_MAX_IMAGE_PIXELS,
        min_side=settings.CHROMA_MIN_IMAGE_SIDE,
    )
    file.seek(0)
    with Image.open(file) as im:
        im.seek(0)
        rgb_im = to_display_rgb(ImageOps.exif_transpose(im))
    W, H = photo.width, photo.height
    w, h = rgb_im.size
    if abs((w / h) / (W / H) - 1) > ASPECT_TOLERANCE:
        raise ValidationError(
            {
                "image": (
                    f"The uploaded image is {w}×{h} pixels, a different shape from the original's {W}×{H}. "
                    "Upload the whole photograph, uncropped, at its original proportions."
                )
            }
        )
    if (w, h) != (W, H):
        rgb_im = rgb_im.resize((W, H), Image.Resampling.LANCZOS, reducing_gap=3.0)
    rgb = np.asarray(rgb_im, dtype=np.uint8)
    if original is None:
        with photo.original.open("rb") as f:
            original = read_luminance(io.BytesIO(f.read()))
    if original.size != (W, H):
        raise ValidationError({"image": "The original photo could not be read at its recorded size."})
    from colorization.engine.imageio import rgb_to_lightness_u8

    # Compared at the upload's own resolution (at most COMPARE_SIDE): detail a smaller export
    # never had is not held against it.
    mean, p99 = luminance_difference(rgb_to_lightness_u8(rgb), original.L, min(COMPARE_SIDE, max(w, h)))
    if mean > settings.CHROMA_MANUAL_MAX_MEAN_DELTA_L or p99 > settings.CHROMA_MANUAL_MAX_P99_DELTA_L:
        raise ValidationError({"image": _reason(mean, p99)})
    return ManualColorization(
        rgb=compose(original.L, rgb),
        mean_delta_l=mean,
        p99_delta_l=p99,
        upload_sha256=info.sha256,
        upload_format=info.format,
    )


__all__ = ["ImageRejected", "ManualColorization", "compose", "luminance_difference", "manual_colorization_check"]
