"""The global-colour oracle of benchmarks/global_colour_oracle.py measures what it says."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

SPEC = importlib.util.spec_from_file_location(
    "global_colour_oracle", Path(__file__).resolve().parents[1] / "benchmarks" / "global_colour_oracle.py"
)
oracle = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(oracle)


def _photo() -> np.ndarray:
    rng = np.random.default_rng(0)
    rgb = rng.integers(60, 200, (24, 32, 3)).astype(np.uint8)
    rgb[:, :16, 2] = 40  # a yellowish half and a bluish half: chroma that varies across the photo
    return rgb


def test_an_output_with_the_wrong_cast_is_fixed_by_the_shift_oracle():
    truth = _photo()
    lab = oracle._lab(truth)
    cast = lab.clone()
    cast[1] += 12  # the right colours, all pushed towards red
    out = oracle._rgb(cast)
    r = oracle.oracles(out, truth)
    assert r["model"] < 35  # the cast costs many dB
    assert r["shift"] > 45 and r["affine"] > 45  # knowing the mean colour (or scale and mean) removes it


def test_a_perfect_output_gains_nothing_and_grey_is_the_lightness_alone():
    truth = _photo()
    r = oracle.oracles(truth, truth)
    assert r["model"] > 40 and r["shift"] > 40
    assert r["grey"] < r["model"] - 10


def test_cast_prediction_compares_the_model_with_the_set_average():
    truth = np.array([[0.0, 10.0], [4.0, -2.0], [-4.0, 4.0]])
    perfect = oracle.cast_prediction(truth, truth)
    assert perfect["cast_error_model"] == 0 and perfect["explained"] == 1
    average = oracle.cast_prediction(truth, np.repeat(truth.mean(0, keepdims=True), 3, 0))
    assert average["explained"] == 0 and average["cast_error_model"] == average["cast_error_constant"] > 0
    wrong = oracle.cast_prediction(truth, -truth)
    assert wrong["explained"] < 0


def test_mean_chroma_reads_the_cast():
    truth = _photo()
    lab = oracle._lab(truth)
    lab[1] += 12
    shifted = oracle.mean_chroma(oracle._rgb(lab)) - oracle.mean_chroma(truth)
    assert abs(shifted[0] - 12) < 1.5 and abs(shifted[1]) < 1.5
