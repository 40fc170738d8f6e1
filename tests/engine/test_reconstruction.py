"""Full-resolution reconstruction: colour edges follow luminance edges, and the CPU kernel, the torch
kernel and any thread count give the same bytes."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from colorization.engine import reconstruction
from colorization.engine.color import rgb_to_lab


def lab_of(rgb: np.ndarray) -> np.ndarray:
    return rgb_to_lab(torch.from_numpy(rgb).double() / 255, dim=-1).numpy()


def test_colour_does_not_bleed_across_a_luminance_edge():
    # full resolution 64x256 with an edge at x=130; working resolution 4x smaller, edge inside a pixel
    H, W, edge = 64, 256, 130
    L_full = np.where(np.arange(W)[None, :] < edge, 30.0, 70.0).repeat(H, 0).astype(np.float32)
    L_low = F.interpolate(torch.from_numpy(L_full)[None, None], size=(16, 64), mode="area")[0]
    a_low = torch.where(L_low < 50, 40.0, -40.0)
    a_low[L_low.round() == 50] = 0.0  # the mixed pixel: a blurry prediction averages both sides
    ab_low = torch.cat((a_low, torch.zeros_like(a_low)))
    coef = reconstruction.chroma_model(ab_low, L_low)
    a_full = lab_of(reconstruction.reconstruct(L_full, coef))[..., 1]
    # right up to the edge the colour stays its side's (a few units of bleed on the adjacent pixel)
    assert np.abs(a_full[:, edge - 6 : edge] - 40).max() < 8
    assert np.abs(a_full[:, edge : edge + 6] + 40).max() < 8
    assert np.abs(a_full[:, : edge - 6] - 40).max() < 1 and np.abs(a_full[:, edge + 6 :] + 40).max() < 1
    # plain bilinear upsampling would smear it over several pixels
    bilinear = F.interpolate(ab_low[None], size=(H, W), mode="bilinear", align_corners=False)[0, 0].numpy()
    assert np.abs(bilinear[:, edge - 6 : edge] - 40).max() > 30


def _random_chroma_model(h: int, w: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    ab = torch.randn((2, h, w), generator=gen) * 40  # strong enough that many pixels need gamut mapping
    L = torch.rand((1, h, w), generator=gen) * 100
    return reconstruction.chroma_model(ab, L)


def test_cpu_reconstruction_matches_the_accelerator_code(make_luminance):
    # the CPU path is the compiled kernel, accelerators run the torch kernel: both are the same arithmetic
    L = make_luminance(203, 157, seed=5)
    coef = _random_chroma_model(23, 17)
    cpu = reconstruction.reconstruct(L, coef)
    torch_kernel = reconstruction._reconstruct_torch(L, coef, torch.device("cpu"))
    diff = np.abs(cpu.astype(int) - torch_kernel)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
    assert np.abs(lab_of(cpu)[..., 0] - L).max() < 0.5  # the output keeps the input's L*


def test_without_numba_the_cpu_runs_the_torch_kernel(make_luminance, monkeypatch):
    L = make_luminance(60, 45, seed=7)
    coef = _random_chroma_model(12, 9)
    monkeypatch.setattr(reconstruction.kernels, "AVAILABLE", False)
    assert np.array_equal(
        reconstruction.reconstruct(L, coef), reconstruction._reconstruct_torch(L, coef, torch.device("cpu"))
    )


def test_cpu_reconstruction_is_the_same_on_any_number_of_threads(make_luminance, monkeypatch):
    L = make_luminance(180, 97, seed=6)
    coef = _random_chroma_model(40, 22)  # also the case without vertical upsampling below
    monkeypatch.setattr(reconstruction, "CPU_CHUNK_PIXELS", 500)  # many chunks, so the threads share them
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        alone = reconstruction.reconstruct(L, coef), reconstruction.reconstruct(L[:40, :22], coef)
        torch.set_num_threads(3)
        shared = reconstruction.reconstruct(L, coef), reconstruction.reconstruct(L[:40, :22], coef)
    finally:
        torch.set_num_threads(threads)
    assert np.array_equal(alone[0], shared[0]) and np.array_equal(alone[1], shared[1])
