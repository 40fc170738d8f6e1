"""Global colour hints: a photo's overall colours as one input to the network.

A volunteer can give them as a reference photograph (optionally a rectangle of it), as a palette of
weighted colours, or as an overall tint. All three become a ``GlobalHint``: weighted ab colours and
a saturation multiplier. The network sees it as one vector (``NetworkConfig.global_hint_size``):

* the colours' distribution over the classification head's ab bins, smoothed with a Gaussian
  (so that a palette and a full histogram of the same photo look alike);
* their weighted mean chroma |ab| / 110;
* a "given" flag (1), which gates the network's global branch: a zero vector is "no global hint".

Training simulates global hints from each crop's own colours (``simulate_global_hints``): its full
distribution, a sub-region's, a 3-8 colour palette of it, a jittered palette, or its mean alone,
so that the network learns to follow a reference that is only roughly right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .color import lab_to_srgb8, rgb_to_lab
from .network import AB_SCALE, NetworkConfig, ab_to_bins, gaussian_smoothed_prior

SMOOTH_SIGMA = 6.0  # ab units of the Gaussian that spreads each colour over neighbouring bins
MAX_PALETTE_COLOURS = 32
REFERENCE_PALETTE_COLOURS = 16  # colours kept from a reference photograph
SATURATION_RANGE = (0.0, 2.0)
KMEANS_SAMPLES = 1024
KMEANS_ITERATIONS = 12


@dataclass(frozen=True)
class GlobalHint:
    """Weighted colours in Lab ab units (``ab``: (N,2), ``weights``: (N,), summing to 1) and a
    saturation multiplier applied to their chroma."""

    ab: tuple[tuple[float, float], ...]
    weights: tuple[float, ...]
    saturation: float = 1.0

    def __post_init__(self) -> None:
        if not self.ab or len(self.ab) != len(self.weights):
            raise ValueError("a global hint needs at least one colour and one weight per colour")
        if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
            raise ValueError("global hint weights must be non-negative and not all zero")
        lo, hi = SATURATION_RANGE
        if not lo <= self.saturation <= hi:
            raise ValueError(f"saturation must be in [{lo}, {hi}], got {self.saturation}")

    @classmethod
    def from_palette(cls, ab: np.ndarray, weights: np.ndarray, saturation: float = 1.0) -> GlobalHint:
        ab = np.asarray(ab, dtype=np.float64).reshape(-1, 2)
        weights = np.asarray(weights, dtype=np.float64).reshape(-1)
        total = float(weights.sum())
        if total <= 0:
            raise ValueError("global hint weights must be non-negative and not all zero")
        return cls(
            ab=tuple((float(a), float(b)) for a, b in ab),
            weights=tuple(float(w / total) for w in weights),
            saturation=float(saturation),
        )

    def vector(self, config: NetworkConfig) -> torch.Tensor:
        """The network's input (``config.global_hint_size``,) float32."""
        ab = torch.tensor(self.ab, dtype=torch.float32) * self.saturation
        weights = torch.tensor(self.weights, dtype=torch.float32)
        return hint_vector(ab, weights, config)

    def mean_ab(self) -> tuple[float, float]:
        w = np.asarray(self.weights)
        ab = np.asarray(self.ab) * self.saturation
        return tuple(float(v) for v in (w[:, None] * ab).sum(0))  # type: ignore[return-value]


def no_hint(config: NetworkConfig) -> torch.Tensor:
    return torch.zeros(config.global_hint_size)


def hint_vector(ab: torch.Tensor, weights: torch.Tensor, config: NetworkConfig) -> torch.Tensor:
    """Weighted colours ab (N,2) -> the network's global hint vector (G,)."""
    bins = ab_to_bins(ab.T.reshape(1, 2, -1, 1), config).reshape(-1)
    counts = torch.zeros(config.n_bins).index_add_(0, bins, weights.float())
    dist = gaussian_smoothed_prior(counts, config, sigma=SMOOTH_SIGMA)
    chroma = (weights * ab.norm(dim=1)).sum() / weights.sum()
    return torch.cat((dist, (chroma / AB_SCALE).reshape(1), torch.ones(1)))


def kmeans_palette(ab: torch.Tensor, k: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixels' ab (N,2) -> ``k`` colours (k',2) with the share of pixels nearest each (k' <= k).

    k-means++ seeding and a few Lloyd iterations on at most ``KMEANS_SAMPLES`` pixels; empty
    clusters are dropped.
    """
    n = ab.shape[0]
    if n > KMEANS_SAMPLES:
        ab = ab[torch.randperm(n, generator=generator)[:KMEANS_SAMPLES]]
        n = KMEANS_SAMPLES
    k = max(1, min(k, n))
    centres = ab[torch.randint(0, n, (1,), generator=generator)]
    for _ in range(1, k):
        d2 = torch.cdist(ab, centres).min(dim=1).values.pow(2)
        if float(d2.sum()) <= 0:
            break
        centres = torch.cat((centres, ab[torch.multinomial(d2, 1, generator=generator)]))
    for _ in range(KMEANS_ITERATIONS):
        assign = torch.cdist(ab, centres).argmin(dim=1)
        sums = torch.zeros_like(centres).index_add_(0, assign, ab)
        counts = torch.bincount(assign, minlength=centres.shape[0]).float()
        keep = counts > 0
        centres = sums[keep] / counts[keep, None]
    assign = torch.cdist(ab, centres).argmin(dim=1)
    counts = torch.bincount(assign, minlength=centres.shape[0]).float()
    keep = counts > 0
    return centres[keep], counts[keep] / counts[keep].sum()


def _lab_samples(rgb: np.ndarray, box: tuple[int, int, int, int] | None) -> torch.Tensor:
    """A photograph (H,W,3 uint8), optionally limited to ``box`` = (left, top, right, bottom) in its
    pixels -> the Lab of at most ~65k of its pixels, (N,3)."""
    if box is not None:
        left, top, right, bottom = box
        rgb = rgb[top:bottom, left:right]
    if rgb.size == 0:
        raise ValueError("the reference region is empty")
    step = max(1, int(math.sqrt(rgb.shape[0] * rgb.shape[1] / 65536)))
    small = np.array(rgb[::step, ::step, :3])  # a writable copy, at most ~65k pixels
    return rgb_to_lab(torch.from_numpy(small).permute(2, 0, 1).float().div(255)).reshape(3, -1).T.contiguous()


def _palette(lab: torch.Tensor, colours: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    centres, weights = kmeans_palette(lab[:, 1:].contiguous(), colours, torch.Generator().manual_seed(seed))
    order = torch.argsort(weights, descending=True)
    return centres[order], weights[order]


def palette_from_rgb(
    rgb: np.ndarray,
    colours: int = REFERENCE_PALETTE_COLOURS,
    box: tuple[int, int, int, int] | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A reference photograph (H,W,3 uint8), optionally limited to ``box`` = (left, top, right, bottom)
    in its pixels -> its palette: ab colours (k,2) and weights (k,), heaviest first. Deterministic."""
    centres, weights = _palette(_lab_samples(rgb, box), colours, seed)
    return centres.numpy(), weights.numpy()


def palette_document(
    rgb: np.ndarray, colours: int = REFERENCE_PALETTE_COLOURS, box: tuple[int, int, int, int] | None = None
) -> list[dict]:
    """A reference photograph's palette as the hints document writes it: ``[{"color": "#rrggbb",
    "weight": w}, ...]``, heaviest first. Each colour is its cluster's mean Lab, so the sRGB code is
    a colour the photo really shows (and within gamut: only its chroma is read back)."""
    lab = _lab_samples(rgb, box)
    centres, weights = _palette(lab, colours, seed=0)
    nearest = torch.cdist(lab[:, 1:], centres).argmin(dim=1)
    out = []
    for i, (a, b) in enumerate(centres.tolist()):
        members = lab[nearest == i]
        L = float(members[:, 0].mean()) if len(members) else 50.0
        r, g, bl = lab_to_srgb8(np.array([[L, a, b]], np.float32))[0].tolist()
        out.append({"color": f"#{r:02x}{g:02x}{bl:02x}", "weight": round(float(weights[i]), 4)})
    return out


def simulate_global_hints(
    ab: torch.Tensor, config: NetworkConfig, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """True chroma of a batch (B,2,H,W) -> global hint vectors (B,G) of the kinds people give, and
    each hint's mean colour (B,2) (what ``GlobalHint.mean_ab`` gives for it).

    Shares: the crop's whole distribution 30 %, a random sub-region's 15 %, a 3-8 colour palette
    30 %, that palette with each colour moved by ~6 ab units 10 %, the mean colour alone 15 %.
    """
    b, _, h, w = ab.shape
    vectors, means = [], []
    for i in range(b):
        r = float(torch.rand((), generator=generator))
        pixels = ab[i].reshape(2, -1).T
        if r < 0.45:
            if r >= 0.30:  # a sub-region of 30-80 % of each side
                sh = max(2, int(h * (0.3 + 0.5 * float(torch.rand((), generator=generator)))))
                sw = max(2, int(w * (0.3 + 0.5 * float(torch.rand((), generator=generator)))))
                y = int(torch.randint(0, h - sh + 1, (), generator=generator))
                x = int(torch.randint(0, w - sw + 1, (), generator=generator))
                pixels = ab[i, :, y : y + sh, x : x + sw].reshape(2, -1).T
            colours = pixels[:: max(1, pixels.shape[0] // 4096)]
            weights = torch.ones(colours.shape[0])
        elif r < 0.85:
            k = int(torch.randint(3, 9, (), generator=generator))
            colours, weights = kmeans_palette(pixels.contiguous(), k, generator)
            if r >= 0.75:
                colours = colours + 6.0 * torch.randn(colours.shape, generator=generator)
        else:
            colours, weights = pixels.mean(0, keepdim=True), torch.ones(1)
        vectors.append(hint_vector(colours, weights, config))
        means.append((weights[:, None] * colours).sum(0) / weights.sum())
    return torch.stack(vectors).to(ab.device), torch.stack(means).to(ab.device)
