"""color.py against an independent implementation (scikit-image), plus round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorization.engine.color import (
    grey_to_lightness,
    lab_to_rgb,
    lab_to_srgb8,
    lightness_to_grey,
    rgb_to_lab,
    rgb_to_lightness,
)

skcolor = pytest.importorskip("skimage.color")


@pytest.fixture
def random_rgb() -> np.ndarray:
    rng = np.random.default_rng(1)
    rgb = rng.random((20000, 3))
    # include the corners of the cube and near-black values, where the curves change branch
    corners = np.array(np.meshgrid([0, 1], [0, 1], [0, 1])).reshape(3, -1).T
    return np.concatenate([rgb, corners, rng.random((1000, 3)) * 0.02])


def test_rgb_to_lab_matches_scikit_image(random_rgb):
    ours = rgb_to_lab(torch.from_numpy(random_rgb), dim=-1).numpy()
    ref = skcolor.rgb2lab(random_rgb[None])[0]
    assert np.abs(ours[:, 0] - ref[:, 0]).max() < 0.01
    assert np.abs(ours[:, 1:] - ref[:, 1:]).max() < 0.05


def test_float32_is_accurate_enough(random_rgb):
    ours = rgb_to_lab(torch.from_numpy(random_rgb).float(), dim=-1).double().numpy()
    ref = skcolor.rgb2lab(random_rgb[None])[0]
    assert np.abs(ours[:, 0] - ref[:, 0]).max() < 0.01
    assert np.abs(ours[:, 1:] - ref[:, 1:]).max() < 0.05


def test_lab_to_rgb_matches_scikit_image(random_rgb):
    lab = skcolor.rgb2lab(random_rgb[None])[0]
    ours = lab_to_rgb(torch.from_numpy(lab), dim=-1).numpy()
    assert np.abs(ours - random_rgb).max() < 1e-4


def test_round_trip_rgb_lab_rgb(random_rgb):
    rgb = torch.from_numpy(random_rgb)
    back = lab_to_rgb(rgb_to_lab(rgb, dim=-1), dim=-1)
    # 2e-6: the published 7-digit matrices are not exact inverses (0.0005 of an 8-bit code)
    assert torch.allclose(back, rgb, atol=1e-5)


def test_channels_first_batched_layout():
    rgb = torch.rand(2, 3, 5, 7, dtype=torch.float64)
    lab = rgb_to_lab(rgb)
    assert lab.shape == (2, 3, 5, 7)
    ref = skcolor.rgb2lab(rgb.permute(0, 2, 3, 1).numpy())
    assert np.abs(lab.permute(0, 2, 3, 1).numpy() - ref).max() < 0.05


def test_lightness_agrees_with_lab_L(random_rgb):
    rgb = torch.from_numpy(random_rgb)
    assert torch.allclose(rgb_to_lightness(rgb, dim=-1)[..., 0], rgb_to_lab(rgb, dim=-1)[..., 0], atol=1e-9)


def test_grey_round_trip():
    grey = torch.linspace(0, 1, 1001, dtype=torch.float64)
    assert torch.allclose(lightness_to_grey(grey_to_lightness(grey)), grey, atol=1e-9)
    assert grey_to_lightness(torch.tensor([0.0, 1.0], dtype=torch.float64)).tolist() == pytest.approx([0, 100])


def test_fast_8bit_encoder_matches_the_reference_for_in_gamut_colours(random_rgb):
    lab = rgb_to_lab(torch.from_numpy(random_rgb), dim=-1).float().numpy()
    codes = lab_to_srgb8(lab).astype(int)
    expected = np.round(random_rgb * 255).astype(int)
    assert np.abs(codes - expected).max() <= 1
    assert (codes != expected).mean() < 0.05  # off by one only next to a rounding boundary


def test_fast_8bit_encoder_keeps_lightness_for_out_of_gamut_colours():
    rng = np.random.default_rng(2)
    lab = np.stack([rng.uniform(0, 100, 50000), rng.normal(0, 70, 50000), rng.normal(0, 70, 50000)], -1)
    codes = lab_to_srgb8(lab.astype(np.float32))
    L = rgb_to_lightness(torch.from_numpy(codes).double() / 255, dim=-1)[..., 0].numpy()
    assert np.abs(L - lab[:, 0]).max() <= 0.5
