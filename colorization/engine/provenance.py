"""Where a colour comes from: documented hints, volunteer-inferred hints, disputed sources, or the model.

Each hint spreads its colour over an area of influence exactly as the render spreads it
(``propagation.propagate_hint_residual``): a sum of bilateral-grid Gaussians over (L*, y, x) at a
few scales, and a confidence ``1 - exp(-density / kappa)`` that grows with the kernel-weighted hint
density. Here the hints are split into groups (documented, inferred, disputed); at each pixel the
hints' total confidence ``c`` is the share of its colour that comes from hints, divided between
the groups in proportion to their densities there; ``1 - c`` comes from the model. Hinted pixels
belong wholly to their own group, as they get exactly their hint's colour.

The image-wide share weights every pixel by its chroma in the final colours (``sqrt(a² + b²)``),
so a documented red coat counts for more than a documented grey wall. Pure PyTorch and numpy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .propagation import PROPAGATION_KAPPA, PROPAGATION_SCALES, _bilateral_grid_spread

GROUPS = ("documented", "inferred", "disputed")


@dataclass(frozen=True)
class Influence:
    """Per-pixel shares (each (H, W) float32, summing to 1 with ``model``) and the image-wide shares."""

    maps: dict[str, np.ndarray]  # group -> (H, W) share of the pixel's colour; plus "model"
    shares: dict[str, float]  # group -> share of the image's chroma; plus "model"

    def labels(self, threshold: float = 0.5) -> np.ndarray:
        """(H, W) uint8: 0 model, 1 documented, 2 inferred, 3 disputed — the largest hint group
        where hints give at least ``threshold`` of the colour (the overlay)."""
        stack = np.stack([self.maps[g] for g in GROUPS])
        best = stack.argmax(0)
        strong = stack.max(0) >= threshold
        return np.where(strong, best + 1, 0).astype(np.uint8)


def hint_influence(
    L: np.ndarray,
    masks: Mapping[str, np.ndarray] | Sequence[tuple[str, np.ndarray]],
    chroma: np.ndarray | None = None,
    scales: Sequence[tuple[float, float]] | None = None,
    kappa: float | None = None,
) -> Influence:
    """Shares of documented, inferred and disputed hints and of the model, per pixel and overall.

    ``L``: (H, W) L* of the photo (0-100) at the working resolution. ``masks``: the hints' (H, W)
    coverage in {0, 1}, as (group, mask) layers in the order they were painted, or a mapping
    group -> mask (its order is taken as the painting order; groups left out have none). A pixel
    covered by several layers counts once, for the layer painted last, as the render shows that
    hint's colour there. ``chroma``: (H, W) weights, usually the final colours' chroma; None weighs
    every pixel alike.
    """
    scales = PROPAGATION_SCALES if scales is None else scales
    kappa = PROPAGATION_KAPPA if kappa is None else kappa
    h, w = L.shape
    L_t = torch.from_numpy(np.asarray(L, np.float32))[None]
    layers = list(masks.items()) if isinstance(masks, Mapping) else list(masks)
    # Paint the layers in order onto one "which group" image, so that a later hint painted over an
    # earlier one owns the pixel.
    owner = np.full((h, w), -1, np.int64)
    for group, mask in layers:
        if group not in GROUPS:
            raise ValueError(f"unknown hint group {group!r}; expected one of {GROUPS}")
        owner[np.asarray(mask) > 0] = GROUPS.index(group)
    stacked = np.stack([(owner == i).astype(np.float32) for i in range(len(GROUPS))])
    values = torch.from_numpy(stacked)
    den = torch.zeros_like(values)
    if values.any():
        for sigma_s, sigma_r in scales:
            # One spread per group; the spread's last channel marks where to splat, so add the union.
            for i in range(len(GROUPS)):
                if values[i].any():
                    spread = _bilateral_grid_spread(torch.stack((values[i], values[i])), L_t, sigma_s, sigma_r)
                    den[i] += spread[0].clamp(min=0) / sigma_s**2
    total = den.sum(0)
    confidence = 1 - torch.exp(-total / kappa)
    shares_px = confidence * den / total.clamp(min=1e-12)
    hinted = values.sum(0) > 0
    shares_px = torch.where(hinted, values, shares_px)
    maps = {g: shares_px[i].numpy().astype(np.float32) for i, g in enumerate(GROUPS)}
    maps["model"] = np.clip(1 - sum(maps[g] for g in GROUPS), 0, 1).astype(np.float32)
    weight = np.ones((h, w), np.float32) if chroma is None else np.asarray(chroma, np.float32)
    if float(weight.sum()) <= 0:
        weight = np.ones((h, w), np.float32)
    total_weight = float(weight.sum())
    shares = {g: float((maps[g] * weight).sum() / total_weight) for g in (*GROUPS, "model")}
    return Influence(maps=maps, shares=shares)


def format_shares(shares: dict[str, float]) -> str:
    """'documented 38 % · volunteer-inferred 21 % · model 41 %' (disputed only when there is some)."""
    names = {"documented": "documented", "inferred": "volunteer-inferred", "disputed": "disputed", "model": "model"}
    parts = []
    for key in ("documented", "inferred", "disputed", "model"):
        if key == "disputed" and shares.get(key, 0) < 0.005:
            continue
        parts.append(f"{names[key]} {round(100 * shares.get(key, 0))} %")
    return " · ".join(parts)
