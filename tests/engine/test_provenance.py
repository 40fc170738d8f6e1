"""Documented vs inferred vs model shares, on synthetic images whose hints' influence is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorization.engine.propagation import propagate_hint_residual
from colorization.engine.provenance import format_shares, hint_influence


def two_regions(h: int = 64, w: int = 128) -> np.ndarray:
    """Left half L*=20, right half L*=80: a luminance edge the propagation does not cross."""
    L = np.full((h, w), 20.0, np.float32)
    L[:, w // 2 :] = 80.0
    return L


def test_a_region_painted_entirely_by_documented_hints_is_documented_and_the_rest_is_the_model():
    L = two_regions()
    documented = np.zeros_like(L)
    documented[:, :64] = 1  # the whole left region is hinted
    influence = hint_influence(L, {"documented": documented})
    assert influence.shares["documented"] == pytest.approx(0.5, abs=0.02)
    assert influence.shares["model"] == pytest.approx(0.5, abs=0.02)
    assert influence.shares["inferred"] == 0 and influence.shares["disputed"] == 0
    # Per pixel the shares sum to one.
    total = sum(influence.maps[k] for k in ("documented", "inferred", "disputed", "model"))
    np.testing.assert_allclose(total, 1.0, atol=1e-5)


def test_documented_and_inferred_hints_split_the_image_and_chroma_weights_the_share():
    L = two_regions()
    documented, inferred = np.zeros_like(L), np.zeros_like(L)
    documented[:, :64] = 1
    inferred[:, 64:] = 1
    influence = hint_influence(L, {"documented": documented, "inferred": inferred})
    assert influence.shares["documented"] == pytest.approx(0.5, abs=1e-6)
    assert influence.shares["inferred"] == pytest.approx(0.5, abs=1e-6)
    # The right half is grey in the final colours: its chroma weighs nothing.
    chroma = np.zeros_like(L)
    chroma[:, :64] = 30
    weighted = hint_influence(L, {"documented": documented, "inferred": inferred}, chroma=chroma)
    assert weighted.shares["documented"] == pytest.approx(1.0, abs=1e-6)
    assert format_shares(weighted.shares) == "documented 100 % · volunteer-inferred 0 % · model 0 %"


def test_a_single_click_influences_its_surroundings_as_the_render_spreads_it():
    """The influence map is the render's own confidence: where a hint's colour reaches, its share does."""
    L = np.full((64, 64), 50.0, np.float32)
    mask = np.zeros((64, 64), np.float32)
    mask[30:33, 30:33] = 1
    influence = hint_influence(L, {"documented": mask})
    share = influence.maps["documented"]
    assert share[31, 31] == 1.0  # the hinted pixels themselves
    assert share[31, 40] > share[31, 55] > 0  # falls off with distance
    # Compare with the render: a hint's chroma 10 over a prediction of 0 moves each pixel by 10 × confidence.
    ab = torch.zeros(2, 64, 64)
    hint_ab = torch.zeros(2, 64, 64)
    hint_ab[0] = 10.0
    out = propagate_hint_residual(
        ab, torch.from_numpy(L)[None], hint_ab * torch.from_numpy(mask), torch.from_numpy(mask)[None]
    )
    np.testing.assert_allclose(out[0].numpy() / 10.0, share, atol=1e-4)


def test_a_disputed_source_moves_its_region_to_disputed_and_the_overlay_says_so():
    L = two_regions()
    disputed = np.zeros_like(L)
    disputed[:, :64] = 1
    influence = hint_influence(L, {"disputed": disputed})
    assert influence.shares["disputed"] == pytest.approx(0.5, abs=0.02)
    labels = influence.labels()
    assert (labels[:, :60] == 3).all() and (labels[:, 70:] == 0).all()
    assert "documented 0 % · volunteer-inferred 0 % · disputed 5" in format_shares(influence.shares)


def test_no_hints_is_all_model():
    influence = hint_influence(two_regions(), {})
    assert influence.shares["model"] == 1.0 and (influence.labels() == 0).all()


def test_overlapping_hints_count_for_the_hint_painted_last():
    L = two_regions()
    big, small = np.zeros_like(L), np.zeros_like(L)
    big[:, :64] = 1  # a wide stroke over the whole left region
    small[20:40, 20:40] = 1  # a click painted on top of it
    # The documented click is painted after the inferred stroke: its pixels are documented...
    later = hint_influence(L, [("inferred", big), ("documented", small)])
    assert later.maps["documented"][30, 30] == 1 and later.maps["inferred"][30, 30] == 0
    # ...and painted before it, the stroke covers it and they are inferred, whatever the group order.
    earlier = hint_influence(L, [("documented", small), ("inferred", big)])
    assert earlier.maps["documented"][30, 30] == 0 and earlier.maps["inferred"][30, 30] == 1
    assert earlier.shares["documented"] < 0.01 < later.shares["documented"]
    # A group can be painted more than once: the last layer over a pixel decides.
    again = hint_influence(L, [("documented", big), ("inferred", small), ("documented", small)])
    assert again.maps["documented"][30, 30] == 1


def test_rasterize_index_says_which_hint_each_pixel_shows_the_last_painted_winning():
    from colorization.engine.hints import parse_hints, rasterize, rasterize_index

    hints = parse_hints(
        {
            "points": [{"x": 30, "y": 30, "color": "#ff0000", "size": 8}],
            "strokes": [
                {"points": [[0, 30], [60, 30]], "color": "#00ff00", "width": 10},
                {"points": [[30, 0], [30, 60]], "color": "#0000ff", "width": 10},
            ],
        },
        64,
        64,
    )
    index, palette = rasterize_index(hints, 64, 64, 64, 64)
    assert len(palette) == 4
    assert index[30, 30] == 3  # the point, painted after both strokes
    assert index[30, 5] == 1 and index[5, 30] == 2 and index[60, 60] == 0
    assert index[34, 34] == 2  # where the strokes cross outside the point, the second stroke
    ab, mask = rasterize(hints, 64, 64, 64, 64)
    np.testing.assert_array_equal(mask[0] > 0, index > 0)
    np.testing.assert_allclose(ab[:, 30, 30], palette[3])
