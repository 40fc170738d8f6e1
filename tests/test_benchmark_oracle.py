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
