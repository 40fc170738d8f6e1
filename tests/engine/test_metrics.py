"""Metrics against known values: Sharma's CIEDE2000 test data, PSNR/SSIM by hand and by scikit-image."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from colorization.engine.metrics import (
    ciede2000,
    colourfulness,
    colourfulness_ratio,
    evaluate_folder,
    mean_ciede2000,
    psnr,
    simulate_eval_hints,
    ssim,
)

# Sharma, Wu & Dalal (2005), Table 1: (Lab 1, Lab 2, ΔE00)
SHARMA = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0011, -2.4900), 4.7461),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


def test_ciede2000_matches_sharmas_test_data():
    lab1 = np.array([p[0] for p in SHARMA])
    lab2 = np.array([p[1] for p in SHARMA])
    expected = np.array([p[2] for p in SHARMA])
    assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)
    assert ciede2000(lab2, lab1) == pytest.approx(expected, abs=1e-4)  # symmetric


def test_ciede2000_agrees_with_scikit_image_on_random_colours():
    skcolor = pytest.importorskip("skimage.color")
    rng = np.random.default_rng(0)
    lab1 = np.stack([rng.uniform(0, 100, 5000), rng.normal(0, 40, 5000), rng.normal(0, 40, 5000)], -1)
    lab2 = lab1 + rng.normal(0, 10, lab1.shape)
    assert ciede2000(lab1, lab2) == pytest.approx(skcolor.deltaE_ciede2000(lab1, lab2), abs=1e-6)


def test_ciede2000_of_identical_images_is_zero():
    rgb = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    assert mean_ciede2000(rgb, rgb) == 0


def test_psnr_known_values():
    a = np.zeros((10, 10, 3), np.uint8)
    b = np.full((10, 10, 3), 10, np.uint8)
    assert psnr(a, b) == pytest.approx(20 * math.log10(255 / 10))
    assert psnr(a / 255, b / 255) == pytest.approx(20 * math.log10(255 / 10))  # floats: peak 1
    assert psnr(a, a) == math.inf
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(a, b[:5])


def test_ssim_known_values():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    assert ssim(a, a) == pytest.approx(1.0)
    # a constant offset leaves structure and contrast intact; only the luminance term drops
    flat = np.full((32, 32), 100.0)
    assert ssim(flat, flat + 50, peak=255) == pytest.approx((2 * 100 * 150 + 6.5025) / (100**2 + 150**2 + 6.5025))


def test_ssim_agrees_with_scikit_image():
    metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (60, 70), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 40, a.shape), 0, 255).astype(np.uint8)
    ref = metrics.structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    assert ssim(a, b) == pytest.approx(ref, abs=1e-6)


def test_colourfulness_of_grey_is_zero_and_colour_is_not():
    grey = np.repeat(np.random.default_rng(0).integers(0, 256, (16, 16, 1), dtype=np.uint8), 3, axis=2)
    assert colourfulness(grey) == pytest.approx(0, abs=1e-9)
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    # uniform pure red: σ = 0, μ_rg = 255, μ_yb = 127.5
    assert colourfulness(red) == pytest.approx(0.3 * math.hypot(255, 127.5))
    assert colourfulness_ratio(red, red) == pytest.approx(1)
    assert math.isnan(colourfulness_ratio(red, grey))


def test_simulated_hints_are_reproducible_3x3_patches():
    ab = np.random.default_rng(0).normal(0, 30, (2, 40, 50)).astype(np.float32)
    one = simulate_eval_hints(ab, 10, seed=5)
    two = simulate_eval_hints(ab, 10, seed=5)
    assert np.array_equal(one.ab, two.ab) and np.array_equal(one.mask, two.mask)
    assert not np.array_equal(one.mask, simulate_eval_hints(ab, 10, seed=6).mask)
    assert 9 <= one.mask.sum() <= 90 and one.mask.sum() % 1 == 0
    assert one.ab.shape == (2, 40, 50) and one.mask.shape == (1, 40, 50)


def test_evaluate_folder_reports_every_k_and_the_grey_baseline(tmp_path, colorizer):
    rng = np.random.default_rng(0)
    for i in range(2):
        y, x = np.mgrid[0:48, 0:64]
        rgb = np.stack([x * 4, y * 5, 255 - x * 3], -1) + rng.integers(0, 20, (48, 64, 3))
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(tmp_path / f"photo{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    result = evaluate_folder(colorizer, tmp_path, hints=(0, 10), render_size=32)
    assert result["images"] == 2
    assert set(result["hints"]) == {"0", "10"}
    for k in ("0", "10"):
        m = result["hints"][k]
        assert {"psnr", "ssim", "ciede2000", "colourfulness_ratio", "delta_L_max", "delta_L_mean"} <= set(m)
        assert m["delta_L_max"] <= 0.5
        assert m["psnr_gain_over_grey"] == pytest.approx(m["psnr"] - result["baseline_grey"]["psnr"], abs=1e-3)
    assert {"psnr", "ssim", "ciede2000"} <= set(result["baseline_grey"])
    # with ground-truth hints and propagation, 10 hints should not be worse than none
    assert result["hints"]["10"]["ciede2000"] <= result["hints"]["0"]["ciede2000"] + 0.5
    again = evaluate_folder(colorizer, tmp_path, hints=(0, 10), render_size=32)
    assert again["hints"] == result["hints"]  # fixed seeds
