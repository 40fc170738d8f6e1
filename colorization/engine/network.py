"""The colorization network: a small U-Net with user-hint inputs.

Following Zhang et al. 2017 ("Real-Time User-Guided Image Colorization with
Learned Deep Priors"), the input is the lightness channel plus sparse hint
chroma and a hint mask; the output is chroma. Two heads share the trunk:

* ``ab``: a regression of the chroma at 1/2 resolution (Huber loss), which
  follows hints closely;
* ``logits``: a distribution over quantized ab bins at 1/4 resolution, trained
  with class rebalancing as in Zhang et al. 2016 ("Colorful Image
  Colorization"), decoded with the annealed mean. It keeps rare, saturated
  colours that plain regression averages away into sepia.

Which decoding (or blend) the product uses is chosen by measurement; see the
model card. All tensor shapes below are ``(batch, channels, height, width)``;
H and W must be multiples of ``NetworkConfig.multiple``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

L_SCALE = 50.0  # L in [0, 100] -> [-1, 1] after centring
AB_SCALE = 110.0  # ab in [-110, 110] -> [-1, 1]


@dataclass(frozen=True)
class NetworkConfig:
    widths: tuple[int, ...] = (24, 48, 96, 160)  # channels at 1/2, 1/4, 1/8, 1/16
    bin_size: float = 10.0  # ab quantization step for the classification head
    ab_max: float = 110.0  # bins cover [-ab_max, ab_max) on both axes
    temperature: float = 0.38  # annealed-mean temperature (Zhang et al. 2016)
    # A global branch (Iizuka et al. 2016, "Let there be Color!"): the whole photo's pooled
    # bottleneck features, through a small MLP, are added to every bottleneck position, so
    # that a scene's colours can depend on what the whole scene is.
    global_context: bool = False
    # Global colour hints (Zhang et al. 2017, section 3.3): an optional whole-photo colour
    # distribution over the ab bins, plus its mean chroma, from a reference photograph, a palette
    # or a tint (see global_hints.py). It modulates three decoder levels through a zero-initialised
    # FiLM branch that is gated by the hint's "given" flag, so a photo without one is colorized by
    # exactly the network the branch was grown on.
    global_hints: bool = False

    @property
    def multiple(self) -> int:
        return 2 ** len(self.widths)

    @property
    def bins_per_axis(self) -> int:
        return round(2 * self.ab_max / self.bin_size)

    @property
    def n_bins(self) -> int:
        return self.bins_per_axis**2

    @property
    def global_hint_size(self) -> int:
        """Length of a global hint vector: the distribution over the ab bins, its mean chroma, given."""
        return self.n_bins + 2

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> NetworkConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown network config keys: {sorted(unknown)}")
        values = dict(data)
        if "widths" in values:
            values["widths"] = tuple(values["widths"])
        return cls(**values)


def conv_bn(c_in: int, c_out: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class Residual(nn.Module):
    def __init__(self, channels: int, dilation: int = 1):
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(channels, channels, dilation=dilation),
            nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class ColorNet(nn.Module):
    def __init__(self, config: NetworkConfig | None = None):
        super().__init__()
        self.config = config = config or NetworkConfig()
        w1, w2, w3, w4 = config.widths
        # Encoder. Input: L, hint a, hint b, hint mask.
        self.stem = nn.Sequential(conv_bn(4, w1, stride=2), conv_bn(w1, w1))  # 1/2
        self.down2 = nn.Sequential(conv_bn(w1, w2, stride=2), Residual(w2))  # 1/4
        self.down3 = nn.Sequential(conv_bn(w2, w3, stride=2), Residual(w3))  # 1/8
        self.down4 = nn.Sequential(  # 1/16, dilated for a wide receptive field
            conv_bn(w3, w4, stride=2), Residual(w4, dilation=2), Residual(w4, dilation=4)
        )
        if config.global_context:
            self.global_mlp = nn.Sequential(nn.Linear(w4, w4), nn.ReLU(inplace=True), nn.Linear(w4, w4))
            # Zero output at first: a model gains the branch without changing what it does.
            nn.init.zeros_(self.global_mlp[2].weight)
            nn.init.zeros_(self.global_mlp[2].bias)
        if config.global_hints:
            # FiLM (scale, shift) for the bottleneck and the decoder's 1/4 and 1/2 levels.
            self.film_widths = (w4, w2, w1)
            self.global_hint_mlp = nn.Sequential(
                nn.Linear(config.global_hint_size, 256),
                nn.ReLU(inplace=True),
                nn.Linear(256, 256),
                nn.ReLU(inplace=True),
                nn.Linear(256, 2 * sum(self.film_widths)),
            )
            nn.init.zeros_(self.global_hint_mlp[4].weight)
            nn.init.zeros_(self.global_hint_mlp[4].bias)
        # Decoder with additive skips.
        self.lat3 = nn.Conv2d(w4, w3, 1)
        self.up3 = nn.Sequential(Residual(w3))
        self.lat2 = nn.Conv2d(w3, w2, 1)
        self.up2 = nn.Sequential(Residual(w2))
        self.lat1 = nn.Conv2d(w2, w1, 1)
        # Hints go straight to the last stage too, so a hint's colour reaches its
        # neighbourhood without travelling through the bottleneck.
        self.up1 = nn.Sequential(conv_bn(w1 + 3, w1), conv_bn(w1, w1))
        self.ab_head = nn.Conv2d(w1, 2, 1)
        self.class_head = nn.Conv2d(w2, config.n_bins, 1)
        centers = (torch.arange(config.bins_per_axis) + 0.5) * config.bin_size - config.ab_max
        a, b = torch.meshgrid(centers, centers, indexing="ij")
        self.register_buffer("bin_centers", torch.stack((a.flatten(), b.flatten()), 1), persistent=False)

    @staticmethod
    def make_input(L: torch.Tensor, hint_ab: torch.Tensor, hint_mask: torch.Tensor) -> torch.Tensor:
        """L (B,1,H,W) in [0,100]; hint_ab (B,2,H,W) in ab units; mask (B,1,H,W) in {0,1}."""
        return torch.cat((L / L_SCALE - 1, hint_ab / AB_SCALE * hint_mask, hint_mask), 1)

    def forward(self, x: torch.Tensor, global_hint: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B,4,H,W) from ``make_input``, global_hint (B,G) or None
        -> (ab (B,2,H/2,W/2) in ab units, logits (B,Q,H/4,W/4))."""
        e1 = self.stem(x)
        e2 = self.down2(e1)
        e3 = self.down3(e2)
        e4 = self.down4(e3)
        if self.config.global_context:
            e4 = e4 + self.global_mlp(e4.mean(dim=(2, 3)))[:, :, None, None]
        film = self._film(global_hint)
        if film is not None:
            e4 = self._modulate(e4, *film[0])
        d3 = self.up3(e3 + F.interpolate(self.lat3(e4), scale_factor=2.0, mode="nearest"))
        d2 = e2 + F.interpolate(self.lat2(d3), scale_factor=2.0, mode="nearest")
        if film is not None:
            d2 = self._modulate(d2, *film[1])
        d2 = self.up2(d2)
        d1 = e1 + F.interpolate(self.lat1(d2), scale_factor=2.0, mode="nearest")
        if film is not None:
            d1 = self._modulate(d1, *film[2])
        hints = self._pool_hints(x[:, 1:4])
        d1 = self.up1(torch.cat((d1, hints), 1))
        ab = torch.tanh(self.ab_head(d1)) * AB_SCALE
        return ab, self.class_head(d2)

    def _film(self, global_hint: torch.Tensor | None) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
        """(scale, shift) pairs of shape (B,C,1,1) per modulated level, zero where no hint is given."""
        if global_hint is None or not self.config.global_hints:
            return None
        if global_hint.shape[-1] != self.config.global_hint_size:
            raise ValueError(f"global hint has {global_hint.shape[-1]} values, expected {self.config.global_hint_size}")
        given = global_hint[:, -1:]
        out = self.global_hint_mlp(global_hint) * given  # (B, 2*sum(C)); exactly zero without a hint
        pairs, start = [], 0
        for c in self.film_widths:
            scale, shift = out[:, start : start + c], out[:, start + c : start + 2 * c]
            pairs.append((scale[:, :, None, None], shift[:, :, None, None]))
            start += 2 * c
        return pairs

    @staticmethod
    def _modulate(x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        return x * (1 + scale.to(x.dtype)) + shift.to(x.dtype)

    @staticmethod
    def _pool_hints(hints: torch.Tensor) -> torch.Tensor:
        """Hint ab and mask (B,3,H,W) -> mask-weighted means at 1/2 resolution."""
        pooled = F.avg_pool2d(hints, 2)
        mask = pooled[:, 2:3]
        ab = pooled[:, :2] / mask.clamp(min=1e-6)
        return torch.cat((ab * (mask > 0), mask), 1)

    def annealed_mean(self, logits: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """Class logits (B,Q,h,w) -> ab (B,2,h,w) by the annealed mean."""
        t = temperature if temperature is not None else self.config.temperature
        probs = torch.softmax(logits.float().contiguous() / t, dim=1)  # channels_last einsum is ~2x slower
        return torch.einsum("bqhw,qc->bchw", probs, self.bin_centers.to(probs))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def ab_to_bins(ab: torch.Tensor, config: NetworkConfig) -> torch.Tensor:
    """ab (B,2,h,w) -> bin indices (B,h,w) of the classification head."""
    n = config.bins_per_axis
    idx = ((ab + config.ab_max) / config.bin_size).floor().long().clamp(0, n - 1)
    return idx[:, 0] * n + idx[:, 1]


def gaussian_smoothed_prior(counts: torch.Tensor, config: NetworkConfig, sigma: float = 5.0) -> torch.Tensor:
    """Empirical ab-bin histogram -> a prior smoothed with a Gaussian of ``sigma`` ab units."""
    n = config.bins_per_axis
    grid = counts.reshape(1, 1, n, n).float()
    s = sigma / config.bin_size
    radius = max(1, math.ceil(3 * s))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / s) ** 2)
    k = k / k.sum()
    grid = F.conv2d(F.pad(grid, (radius, radius, 0, 0), mode="constant"), k.view(1, 1, 1, -1))
    grid = F.conv2d(F.pad(grid, (0, 0, radius, radius), mode="constant"), k.view(1, 1, -1, 1))
    prior = grid.flatten()
    return prior / prior.sum()


def rebalancing_weights(prior: torch.Tensor, mix: float = 0.5) -> torch.Tensor:
    """Zhang et al. 2016, eq. 4: w ∝ ((1-λ) p + λ/Q)^-1, normalized so E_p[w] = 1."""
    q = prior.numel()
    w = 1.0 / ((1 - mix) * prior + mix / q)
    return w / (prior * w).sum()
