"""Engine tests run a TINY randomly initialized network on the CPU: fast, and no weights to ship."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorization.engine.checkpoint import save_checkpoint
from colorization.engine.inference import Colorizer
from colorization.engine.network import ColorNet, NetworkConfig

TINY = NetworkConfig(widths=(8, 8, 8, 8))


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> str:
    torch.manual_seed(0)
    model = ColorNet(TINY)
    # Random BatchNorm statistics make the random net's output less degenerate than the defaults.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    path = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    save_checkpoint(model, path, {"version": "test"})
    return str(path)


@pytest.fixture(scope="session")
def colorizer(tiny_model_path) -> Colorizer:
    torch.set_num_threads(1)
    return Colorizer.load(tiny_model_path, device="cpu", precision="fp32")


def smooth_luminance(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A photo-like L* field: smooth shapes plus a little texture, in [5, 95]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    L = 50 + 25 * np.sin(x / max(w, 1) * 6 + rng.uniform(0, 6)) * np.cos(y / max(h, 1) * 4 + rng.uniform(0, 6))
    L += rng.normal(0, 2, size=(h, w))
    return np.clip(L, 5, 95).astype(np.float32)


@pytest.fixture
def make_luminance():
    return smooth_luminance
