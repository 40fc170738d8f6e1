"""How fast is our network next to the classic Zhang et al. 2016 ECCV colorizer?

``python benchmarks/peer_eccv16.py [--size 256] [--threads 2] [--runs 10] [--model PATH]``

The ECCV16 network ("Colorful Image Colorization", Zhang, Isola & Efros 2016) is rebuilt
here from the paper and the authors' released model definition: eight conv blocks (VGG-like,
dilated in blocks 5-6, a transposed convolution in block 8), 313 ab bins, annealed-mean
decoding by a 1x1 convolution, output at 1/4 resolution upsampled. Weights are random:
speed does not depend on them. Both networks get the same working resolution, thread count
and memory format (channels_last, which speeds up CPU convolutions for both).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from colorization.engine.checkpoint import load_model
from colorization.engine.inference import DEFAULT_MODEL_PATH
from colorization.engine.network import ColorNet, NetworkConfig


def block(c_in: int, c_out: int, n: int, stride_last: int = 1, dilation: int = 1) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(n):
        stride = stride_last if i == n - 1 else 1
        layers += [
            nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, stride, padding=dilation, dilation=dilation),
            nn.ReLU(inplace=True),
        ]
    layers.append(nn.BatchNorm2d(c_out))
    return nn.Sequential(*layers)


class ECCV16(nn.Module):
    """Zhang et al. 2016: L (B,1,H,W) -> ab (B,2,H,W) via a 313-bin distribution at H/4."""

    def __init__(self, n_bins: int = 313, temperature: float = 0.38):
        super().__init__()
        self.model1 = block(1, 64, 2, stride_last=2)  # 1/2
        self.model2 = block(64, 128, 2, stride_last=2)  # 1/4
        self.model3 = block(128, 256, 3, stride_last=2)  # 1/8
        self.model4 = block(256, 512, 3)
        self.model5 = block(512, 512, 3, dilation=2)
        self.model6 = block(512, 512, 3, dilation=2)
        self.model7 = block(512, 512, 3)
        self.model8 = nn.Sequential(
            nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1),  # back to 1/4
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, n_bins, 1),
        )
        self.temperature = temperature
        self.model_out = nn.Conv2d(n_bins, 2, 1, bias=False)  # annealed mean as a 1x1 conv over bin centres
        self.upsample = nn.Upsample(scale_factor=4, mode="bilinear")

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        x = self.model1((L - 50) / 100)
        for m in (self.model2, self.model3, self.model4, self.model5, self.model6, self.model7, self.model8):
            x = m(x)
        probs = torch.softmax(x / self.temperature, dim=1)
        return self.upsample(self.model_out(probs)) * 110


def time_model(model: nn.Module, x: torch.Tensor, runs: int) -> float:
    with torch.inference_mode():
        for _ in range(2):
            model(x)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--model", type=Path, help="our network's checkpoint, whose config is timed (default: the base model)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cl = torch.channels_last
    # the shipped network (the checkpoint's config, e.g. with its global branch); the default config only
    # when no --model is given and no base model is installed; a --model that is missing is an error
    model = args.model or (DEFAULT_MODEL_PATH if DEFAULT_MODEL_PATH.is_file() else None)
    ours = load_model(model)[0] if model else ColorNet(NetworkConfig())
    ours = ours.eval().to(memory_format=cl)
    peer = ECCV16().eval().to(memory_format=cl)
    s = args.size
    t_ours = time_model(ours, torch.randn(1, 4, s, s).contiguous(memory_format=cl), args.runs)
    t_peer = time_model(peer, torch.randn(1, 1, s, s).contiguous(memory_format=cl), args.runs)
    n_ours, n_peer = ours.num_parameters(), sum(p.numel() for p in peer.parameters())
    print(f"{'network':<28}{'parameters':>14}{'ms / image':>14}")
    print(f"{'ColorNet (ours)':<28}{n_ours:>14,}{t_ours * 1000:>14.1f}")
    print(f"{'Zhang et al. 2016 (ECCV16)':<28}{n_peer:>14,}{t_peer * 1000:>14.1f}")
    print(f"ours is {t_peer / t_ours:.1f}x faster at {s}x{s}, {args.threads} threads, median of {args.runs} runs")
    print(
        json.dumps(
            {
                "size": s,
                "threads": args.threads,
                "ours_ms": round(t_ours * 1000, 2),
                "eccv16_ms": round(t_peer * 1000, 2),
                "speedup": round(t_peer / t_ours, 2),
                "ours_params": n_ours,
                "eccv16_params": n_peer,
            }
        )
    )


if __name__ == "__main__":
    main()
