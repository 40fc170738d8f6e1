"""Colorize photos with a trained ColorNet: working resolution in, full resolution out.

The pipeline, and why each step is there:

1. The photo's L* is area-downsampled so its long side is ``render_size`` (never
   upscaled, aspect kept) and padded by reflection to a multiple of the network's
   stride. The network predicts chroma from L* plus hints; it only has to be right
   at low frequencies, because chroma carries little detail.
2. Decoding: the regression head follows hints closely but averages rare colours
   into sepia; the classification head's annealed mean keeps them. ``blend`` mixes
   the two. The default is chosen by measurement (see ``DEFAULT_DECODE``).
3. Hint residual propagation (``propagation.py``): where a hint disagrees with the
   prediction, the difference is spread edge-aware, so a user's hint reliably
   recolours its region even where the network hedges.
4. Full-resolution reconstruction (``reconstruction.py``): chroma is brought up with
   guided-filter coefficients applied to the full-resolution L* and combined with the
   ORIGINAL L*, so the output's lightness equals the input's up to 8-bit rounding.

A global colour hint (``global_hints.py``: a reference photograph, a palette or a tint)
reaches the network as one vector per image; how an image is rendered (saturation,
decoding, propagation) is a ``RenderOptions``.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .checkpoint import CheckpointError, load_model, model_sha256
from .color import lab_to_srgb8
from .defaults import (
    DEFAULT_BLEND,
    DEFAULT_DECODE,
    DEFAULT_GLOBAL_SHIFT,
    DEFAULT_RENDER_SIZE,
    GLOBAL_HINT_FREE_SCALE,
)
from .global_hints import GlobalHint, no_hint
from .hints import HintRaster, Hints, parse_hints, rasterize
from .imageio import LumaImage
from .network import ColorNet
from .precision import autocast, resolve_precision
from .propagation import propagate_with_confidence
from .reconstruction import chroma_model, reconstruct, warm_up_cpu_kernel

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "weights" / "colornet-base.safetensors"
PREVIEW_SIZE = 512
MIN_FREE_SHARE = 0.1  # the mean shift around local hints never grows more than 10x (a photo almost all hinted)
DECODES = ("regression", "annealed", "blend")

ImageLike = LumaImage | np.ndarray


@dataclass(frozen=True)
class RenderOptions:
    """How an image is rendered apart from its hints; ``None`` means the colorizer's own setting.

    ``saturation`` scales the final chroma (0 grey, 1 the model's own, up to 2); ``decode`` and
    ``blend`` choose how the network's two heads become chroma (see ``DEFAULT_DECODE``);
    ``propagate_hints`` turns the hint residual propagation on or off.
    """

    saturation: float = 1.0
    decode: str | None = None
    blend: float | None = None
    propagate_hints: bool | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.saturation <= 2:
            raise ValueError(f"saturation must be in [0, 2], got {self.saturation}")
        if self.decode is not None:
            _check_decode(self.decode)
        if self.blend is not None and not 0 <= self.blend <= 1:
            raise ValueError(f"blend must be in [0, 1], got {self.blend}")


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


# --- working resolution -----------------------------------------------------------------------------


def working_size(width: int, height: int, render_size: int) -> tuple[int, int]:
    """Long side ``render_size`` at most (never upscaled), aspect kept, at least 1 px."""
    if render_size < 1:
        raise ValueError(f"render_size must be positive, got {render_size}")
    scale = min(1.0, render_size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def working_luminance(image: ImageLike, render_size: int) -> np.ndarray:
    """``image``'s L* on the render's working grid ((h, w) float32, ``working_size``), area-averaged
    exactly as a render at ``render_size`` computes it (for measuring what the render did)."""
    image = _as_luma(image)
    w, h = working_size(image.width, image.height, render_size)
    return _cached_L(image, "L", w, h)[0].numpy()


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
    global_hint: GlobalHint | None = None

    @property
    def has_hints(self) -> bool:
        return bool(self.mask.any())


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
        global_shift: float = DEFAULT_GLOBAL_SHIFT,
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
        if not 0 <= global_shift <= 1:
            raise ValueError(f"global_shift must be in [0, 1], got {global_shift}")
        self.global_shift = global_shift

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

    def _shift(self) -> float:
        # A network without the branch cannot use the hint at all: its mean colour is imposed.
        return self.global_shift if self.model.config.global_hints else 1.0

    @property
    def multiple(self) -> int:
        return self.model.config.multiple

    # -- preparing inputs

    def _job(self, image: ImageLike, hints: HintsLike, render_size: int) -> _Job:
        image = _as_luma(image)
        w, h = working_size(image.width, image.height, render_size)
        L = _cached_L(image, "L", w, h)
        global_hint = None
        if hints is None:
            hint_ab, mask = np.zeros((2, h, w), np.float32), np.zeros((1, h, w), np.float32)
        elif isinstance(hints, HintRaster | tuple):  # full resolution: (hint_ab (2,H,W), mask (1,H,W))
            hints = hints if isinstance(hints, HintRaster) else HintRaster(*hints)
            if hints.size != image.size:
                raise ValueError(f"hint raster is {hints.size}, the image is {image.size}")
            hint_ab, mask = hints.resize(w, h)
            global_hint = hints.global_hint
        else:
            if isinstance(hints, dict):
                hints = parse_hints(hints, image.width, image.height)
            hint_ab, mask = rasterize(hints, image.width, image.height, w, h)
            global_hint = hints.global_hint()
        return _Job(image, w, h, L, torch.from_numpy(hint_ab), torch.from_numpy(mask), global_hint)

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
        global_hints = None
        config = self.model.config
        if config.global_hints and any(j.global_hint is not None for j in jobs):
            global_hints = torch.stack(
                [j.global_hint.vector(config) if j.global_hint is not None else no_hint(config) for j in jobs]
            ).to(self.device)
        with autocast(self.device, self.precision):
            ab, logits = self.model(x, global_hints)
        return ab.float(), logits.float()

    @torch.inference_mode()
    def predict_ab(self, jobs: Sequence[_Job], options: RenderOptions | None = None) -> list[torch.Tensor]:
        """Working-resolution ab (2,h,w) for each job, after decoding, hint propagation and saturation."""
        options = options or RenderOptions()
        decode = options.decode or self.decode
        blend = self.blend if options.blend is None else options.blend
        propagate = self.propagate_hints if options.propagate_hints is None else options.propagate_hints
        saturation = options.saturation
        ab_half, logits = self._forward(jobs)
        ab_all = decode_chroma(self.model, ab_half, logits, decode, blend)
        results = []
        for i, job in enumerate(jobs):
            ab = ab_all[i, :, : job.h, : job.w].contiguous()
            target = None
            if job.global_hint is not None:
                target = torch.tensor(job.global_hint.mean_ab(), dtype=ab.dtype, device=ab.device)
            local = (None, None, None)
            if propagate and job.has_hints:
                local = (job.L.to(ab.device), job.hint_ab.to(ab.device), job.mask.to(ab.device))
            ab = apply_hints(ab, *local, target, self._shift())
            results.append(ab * saturation if saturation != 1 else ab)
        return results

    @torch.inference_mode()
    def predict_working_ab(
        self,
        L: torch.Tensor,
        hint_ab: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        global_hint: GlobalHint | None = None,
        options: RenderOptions | None = None,
    ) -> torch.Tensor:
        """Chroma (2,h,w) for an L* (1,h,w) that is already at the working resolution (video frames:
        the caller downsamples once and keeps the frame's own luminance); hints on the same grid."""
        h, w = L.shape[-2:]
        if hint_ab is None or mask is None:
            hint_ab, mask = torch.zeros((2, h, w)), torch.zeros((1, h, w))
        image = LumaImage(L[0].numpy())
        return self.predict_ab([_Job(image, w, h, L, hint_ab, mask, global_hint)], options)[0]

    # -- public API

    @torch.inference_mode()
    def colorize(
        self,
        image: ImageLike,
        hints: HintsLike = None,
        render_size: int = DEFAULT_RENDER_SIZE,
        options: RenderOptions | None = None,
    ) -> np.ndarray:
        """A LumaImage (or L* array (H,W)) -> sRGB uint8 (H,W,3) whose L* is the input's.

        ``hints``: hints JSON (dict, validated against the image size), parsed ``Hints``, or a
        full-resolution ``HintRaster``.
        """
        return self.colorize_batch([(image, hints)], render_size, options)[0]

    @torch.inference_mode()
    def colorize_batch(
        self,
        items: Sequence[tuple[ImageLike, HintsLike]],
        render_size: int = DEFAULT_RENDER_SIZE,
        options: RenderOptions | None = None,
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
        abs_ = self.predict_ab(jobs, options)
        out = []
        for job, ab in zip(jobs, abs_, strict=True):
            coef = chroma_model(ab, job.L.to(ab.device))
            out.append(reconstruct(job.image.L, coef, self.device))
        return out

    @torch.inference_mode()
    def preview(
        self,
        image: ImageLike,
        hints: HintsLike = None,
        size: int = PREVIEW_SIZE,
        render_size: int = DEFAULT_RENDER_SIZE,
        options: RenderOptions | None = None,
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
        ab = self.predict_ab([job], options)[0]
        coef = chroma_model(ab, job.L.to(ab.device))
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


def decode_chroma(
    model: ColorNet, ab_half: torch.Tensor, logits: torch.Tensor, decode: str, blend: float
) -> torch.Tensor:
    """Network outputs -> ab at the padded working resolution (B,2,H,W).

    The annealed mean (1/4 resolution) is brought to 1/2 and blended there, so only one
    interpolation runs at the working resolution. Differentiable: training's render loss
    (``TrainConfig.render_loss``) decodes with it too.
    """
    half = ab_half.shape[-2:]
    size = (half[0] * 2, half[1] * 2)
    ab = ab_half.contiguous()
    if decode != "regression":
        # contiguous: the softmax over bins is ~2x faster than on the channels_last layout
        annealed = model.annealed_mean(logits.contiguous())
        annealed = F.interpolate(annealed, size=half, mode="bilinear", align_corners=False)
        ab = annealed if decode == "annealed" else torch.lerp(ab, annealed, blend)
    return F.interpolate(ab, size=size, mode="bilinear", align_corners=False)


def apply_hints(
    ab: torch.Tensor,
    L: torch.Tensor | None,
    hint_ab: torch.Tensor | None,
    mask: torch.Tensor | None,
    global_mean: torch.Tensor | None,
    shift: float,
) -> torch.Tensor:
    """One image's decoded ab (2,h,w) -> its chroma after the hints: the global hint's mean shift,
    the local hints' propagation (when ``mask`` is given), then the mean moved back.

    ``global_mean`` is the global hint's mean ab (2,) or None; ``shift`` how much of the way the
    output's mean is moved to it. Differentiable (training's render loss runs it too).
    """
    if global_mean is not None and shift > 0:
        ab = _shift_mean(ab, global_mean, shift)
    if mask is None:
        return ab
    ab, confidence = propagate_with_confidence(ab, L, hint_ab, mask)
    if global_mean is not None and shift > 0 and GLOBAL_HINT_FREE_SCALE > 0:
        # The local hints' propagation moves the mean away from the hint's again: move it
        # back, all but the hinted pixels themselves, as far as the local hints leave
        # room (few hints: nearly all the way; dense hints: they decide).
        free = float((1 - confidence).detach().mean())
        room = 1 - math.exp(-free / GLOBAL_HINT_FREE_SCALE)
        ab = _shift_mean(ab, global_mean, shift * room, keep=mask)
    return ab


def _shift_mean(
    ab: torch.Tensor, target: torch.Tensor, strength: float = 1.0, keep: torch.Tensor | None = None
) -> torch.Tensor:
    """Move the prediction's mean ab ``strength`` of the way to the global hint's mean colour ``target`` (2,).

    A network without the global-hint branch (base v4 and its fine-tunes) gets the whole shift: it is
    all such a network can take from the hint. With the branch, the network uses the whole
    distribution and ``Colorizer.global_shift`` (chosen by measurement) says how much of the shift
    is added after it. ``keep`` (1,h,w), the local hints' mask: those pixels keep their colour and
    the others move a little further, so that the mean still moves as far."""
    step = strength * (target[:, None, None] - ab.mean(dim=(1, 2), keepdim=True))
    if keep is None:
        return ab + step
    free = 1 - keep.clamp(0, 1)
    return ab + free * step / free.mean().clamp(min=MIN_FREE_SHARE)


def _check_decode(decode: str) -> str:
    if decode not in DECODES:
        raise ValueError(f"decode must be one of {DECODES}, got {decode!r}")
    return decode
