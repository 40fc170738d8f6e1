"""Live previews and colour suggestions for the correction editor.

The editor re-colorizes on every edit, so a preview must cost little more than one
forward pass: the photo's L* at preview size (≤ 512 px) is read from the original once
and kept in a small per-process LRU (keyed by the original's checksum, which never
changes for a photo), and the network runs at the draft's render size (224 by default)
with the hints painted onto that working grid exactly as for the full-resolution render;
its chroma is brought up to the preview size guided by the preview's luminance, as a
render's is to the full size. So the preview shows what the worker will render (mean
|Δab| 0.2–0.3 against the render, area-averaged, where the hints move it by 10–20; tested
in tests/colorization/test_preview.py), at about half the cost of running the network at
512 px (benchmarks/preview_latency.py).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from colorization.engine.hints import HintError, Hints, PointHint, StrokeHint, parse_hints
from colorization.engine.imageio import LumaImage, encode, read_luminance
from colorization.engine.inference import Colorizer, RenderOptions, working_size
from colorization.model_cache import ModelStorageUnavailable
from colorization.model_registry import ModelRef, UnknownModel, model_ref, route_model
from colorization.models import Photo
from colorization.ratelimit import rate_limit

PREVIEW_MAX_SIDE = 512
MIN_RENDER_SIZE = 64
_CACHE_ENTRIES = 32  # ≤ 512×512×4 bytes each: about 32 MB at most
_cache: OrderedDict[tuple[str, int, int | None], LumaImage] = OrderedDict()
_lock = threading.Lock()


def _frame_of(photo: Photo, frame: int | None) -> int | None:
    """A film clip's previews are of one keyframe: ``frame`` is required there, refused for a photo."""
    if not photo.is_video:
        if frame is not None:
            raise ValidationError({"frame": "A photograph has no frames; leave frame out."})
        return None
    if frame is None or not 0 <= frame < (photo.frame_count or 0):
        raise ValidationError(
            {"frame": f"Say which frame of the clip to preview (0 to {(photo.frame_count or 1) - 1}): a keyframe."}
        )
    return frame


def preview_luminance(photo: Photo, size: int, frame: int | None = None) -> LumaImage:
    """The photo's L* (or a clip's frame ``frame``) with its long side at most ``size`` px
    (area-averaged), cached per process."""
    key = (photo.original_sha256, size, frame)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    if frame is not None:
        from colorization.engine.video import VideoError
        from colorization.film import keyframe_luminance

        try:
            full = keyframe_luminance(photo, frame, decode=False)  # a web request: stills only
        except VideoError as exc:
            raise ValidationError({"frame": str(exc)}) from None
    else:
        with default_storage.open(photo.original.name, "rb") as f:
            full = read_luminance(io.BytesIO(f.read()), max_pixels=settings.CHROMA_MAX_IMAGE_PIXELS)
    w, h = working_size(full.width, full.height, size)
    if (w, h) == full.size:
        small = full
    else:
        L = F.interpolate(torch.from_numpy(full.L)[None, None], size=(h, w), mode="area")[0, 0].numpy()
        small = LumaImage(np.ascontiguousarray(L), full.bit_depth, full.source_mode)
    with _lock:
        _cache[key] = small
        while len(_cache) > _CACHE_ENTRIES:
            _cache.popitem(last=False)
    return small


def _model(photo: Photo, model: str | None) -> ModelRef:
    try:
        return route_model(photo) if not model else model_ref(model)
    except UnknownModel as exc:
        raise ValidationError({"model": str(exc)}) from None


def _colorizer(ref: ModelRef) -> Colorizer:
    """The model loaded from this host's cache (fetched from storage the first time this host needs it)."""
    try:
        path = ref.path
    except UnknownModel as exc:
        raise ValidationError({"model": str(exc)}) from None
    except ModelStorageUnavailable:
        raise ValidationError(
            {"model": f"The model {ref.slug} could not be fetched from storage just now; try again in a moment."}
        ) from None
    return Colorizer.load(path, settings.COLORIZE_DEVICE, settings.COLORIZE_PRECISION)


def _hints(photo: Photo, hints: dict | None):
    try:
        return parse_hints(hints or {}, photo.width, photo.height)
    except HintError as exc:
        raise ValidationError({"hints": str(exc)}) from None


def hints_for_preview(hints: Hints, photo: Photo, small: LumaImage) -> Hints:
    """Hints in original pixels re-expressed in the preview's pixels, so that painting them onto
    any working grid of the preview covers exactly the cells a render of the original would.

    ``rasterize`` maps pixel centres ``(x + 0.5) * scale``; the same cell centres and sizes in
    preview units keep the fractional sizes a whole-pixel preview grid would round away.
    """
    kx, ky = small.width / photo.width, small.height / photo.height
    k = (kx + ky) / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return (x + 0.5) * kx - 0.5, (y + 0.5) * ky - 0.5

    return Hints(
        tuple(PointHint(*at(p.x, p.y), p.color, p.size * k) for p in hints.points),
        tuple(StrokeHint(tuple(at(x, y) for x, y in s.points), s.color, s.width * k) for s in hints.strokes),
        hints.global_colours,  # the whole photo's colours: the same at any size
    )


def _render_size(render_size: int | None, size: int) -> int:
    if render_size is None:
        return min(size, settings.CHROMA_DEFAULT_RENDER_SIZE)
    if not MIN_RENDER_SIZE <= render_size <= PREVIEW_MAX_SIDE:
        raise ValidationError(
            {"render_size": f"Choose a render size between {MIN_RENDER_SIZE} and {PREVIEW_MAX_SIDE} pixels."}
        )
    return min(render_size, size)


def preview_render(
    *,
    photo: Photo,
    viewer,
    hints: dict | None,
    model: str | None = None,
    saturation: float = 1.0,
    size: int = PREVIEW_MAX_SIDE,
    render_size: int | None = None,
    frame: int | None = None,
) -> tuple[bytes, ModelRef]:
    """A PNG of the photo colorized with ``hints`` at ≤ ``size`` px (with the AI disclosure embedded).

    ``render_size`` is the network's working resolution (default: the drafts' default,
    never above ``size``); the editor sends the render size of the draft it corrects. Each
    preview counts against ``CHROMA_PREVIEW_RATE`` for ``viewer``, shared with ``suggest_colours``.
    A film clip is previewed at one keyframe (``frame``), its hints in the clip's pixels.
    """
    rate_limit(user=viewer, scope="previews", rate=settings.CHROMA_PREVIEW_RATE)
    if not MIN_RENDER_SIZE <= size <= PREVIEW_MAX_SIDE:
        raise ValidationError(
            {"size": f"Choose a preview size between {MIN_RENDER_SIZE} and {PREVIEW_MAX_SIDE} pixels."}
        )
    if not 0 <= saturation <= 2:
        raise ValidationError({"saturation": "Choose a saturation between 0 and 2."})
    render_size = _render_size(render_size, size)
    frame = _frame_of(photo, frame)
    parsed = _hints(photo, hints)
    ref = _model(photo, model)
    small = preview_luminance(photo, size, frame)
    colorizer = _colorizer(ref)
    # Network at render_size, chroma guided up to the preview grid by its L* (like a draft).
    rgb = colorizer.preview(
        small,
        hints_for_preview(parsed, photo, small),
        size=size,
        render_size=render_size,
        options=RenderOptions(saturation=saturation),
    )
    meta = {
        "description": (
            "Preview colorized by Chroma Commons; colours are an AI estimate. "
            f"Model {ref.slug} version {ref.version}; original sha256 {photo.original_sha256}."
        ),
        "model": ref.slug,
        "model_version": ref.version,
        "original_sha256": photo.original_sha256,
    }
    return encode(rgb, "png", meta), ref


def suggest_colours(
    *,
    photo: Photo,
    viewer,
    x: int,
    y: int,
    hints: dict | None = None,
    model: str | None = None,
    k: int = 6,
    render_size: int | None = None,
    frame: int | None = None,
):
    """The most likely colours at original pixel (x, y), from the model's class distribution.

    Counts against ``CHROMA_PREVIEW_RATE`` for ``viewer``, as a preview does.
    """
    rate_limit(user=viewer, scope="previews", rate=settings.CHROMA_PREVIEW_RATE)
    if not (0 <= x < photo.width and 0 <= y < photo.height):
        raise ValidationError({"x": f"({x}, {y}) is outside the photo, which is {photo.width}×{photo.height} pixels."})
    frame = _frame_of(photo, frame)
    parsed = _hints(photo, hints)
    ref = _model(photo, model)
    small = preview_luminance(photo, PREVIEW_MAX_SIDE, frame)
    sx, sy = small.width / photo.width, small.height / photo.height
    colorizer = _colorizer(ref)
    px = min(small.width - 1, int(x * sx))
    py = min(small.height - 1, int(y * sy))
    size = _render_size(render_size, PREVIEW_MAX_SIDE)
    hints_small = hints_for_preview(parsed, photo, small)
    return colorizer.suggest(small, px, py, k=k, hints=hints_small, render_size=size), ref


def preview_cache_clear() -> None:
    with _lock:
        _cache.clear()
