"""Hints JSON: strict validation with readable messages, and exact rasterization positions."""

from __future__ import annotations

import numpy as np
import pytest

from colorization.engine.hints import HintError, HintRaster, Hints, color_to_ab, parse_hints, rasterize


def point(**kw) -> dict:
    return {"x": 10, "y": 20, "color": "#7a5230", "size": 3} | kw


def stroke(**kw) -> dict:
    return {"points": [[10, 10], [40, 12], [80, 30]], "color": "#3b5e2b", "width": 6} | kw


def test_it_parses_the_design_example():
    hints = parse_hints({"points": [point(x=120, y=48)], "strokes": [stroke()]}, 200, 100)
    assert hints.points[0].x == 120 and hints.points[0].color == "#7a5230" and hints.points[0].size == 3
    assert hints.strokes[0].points == ((10, 10), (40, 12), (80, 30)) and hints.strokes[0].width == 6


def test_empty_and_missing_lists_are_no_hints():
    assert parse_hints({}, 10, 10).is_empty
    assert parse_hints(None, 10, 10).is_empty
    assert parse_hints({"points": [], "strokes": []}, 10, 10).is_empty


def test_canonical_form_round_trips():
    hints = parse_hints({"points": [point(color="#AABBCC")], "strokes": [stroke()]}, 200, 100)
    assert hints.points[0].color == "#aabbcc"
    assert parse_hints(hints.to_dict(), 200, 100) == hints


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a JSON object"),
        ({"dots": []}, "unknown field(s) ['dots']"),
        ({"points": {}}, '"points" must be a list'),
        ({"points": [point(x=100)]}, "points[0] (100, 20) is outside the image, which is 100×50 pixels"),
        ({"points": [point(y=-1)]}, "points[0] (10, -1) is outside the image"),
        ({"points": [point(x="10")]}, "points[0] x must be a number, got str '10'"),
        ({"points": [point(x=True)]}, "points[0] x must be a number"),
        ({"points": [point(x=float("nan"))]}, "must be a finite number"),
        ({"points": [point(color="red")]}, 'points[0] color must be a colour written as "#rrggbb"'),
        ({"points": [point(color="#12345")]}, "color must be a colour"),
        ({"points": [point(color="#12345g")]}, "color must be a colour"),
        ({"points": [point(size=0)]}, "points[0] size must be from 1 to 9, got 0"),
        ({"points": [point(size=10)]}, "points[0] size must be from 1 to 9, got 10"),
        ({"points": [point(size=2.5)]}, "points[0] size must be a whole number from 1 to 9"),
        ({"points": [{"x": 1, "y": 1}]}, "points[0] is missing ['color']"),
        ({"points": [point(extra=1)]}, "points[0] has unknown field(s) ['extra']"),
        ({"points": ["10,20"]}, "points[0] must be an object"),
        ({"strokes": [stroke(width=0)]}, "strokes[0] width must be from 1 to 64, got 0"),
        ({"strokes": [stroke(width=65)]}, "strokes[0] width must be from 1 to 64, got 65"),
        ({"strokes": [stroke(points=[])]}, "strokes[0] points must be a non-empty list"),
        ({"strokes": [stroke(points=[[1, 2, 3]])]}, "strokes[0] points[0] must be an [x, y] pair"),
        ({"strokes": [stroke(points=[[1, 2], [100, 2]])]}, "strokes[0] points[1] (100, 2) is outside the image"),
        ({"strokes": [stroke(color=None)]}, "strokes[0] color must be a colour"),
    ],
)
def test_it_rejects_bad_hints_with_a_clear_message(data, message):
    with pytest.raises(HintError) as err:
        parse_hints(data, 100, 50)
    assert message in str(err.value)


def test_it_limits_the_number_of_points_and_strokes():
    with pytest.raises(HintError, match=r"too many points: 4 \(at most 3\)"):
        parse_hints({"points": [point()] * 4}, 100, 50, max_points=3)
    with pytest.raises(HintError, match=r"too many strokes: 3 \(at most 2\)"):
        parse_hints({"strokes": [stroke()] * 3}, 100, 50, max_strokes=2)
    assert len(parse_hints({"points": [point()] * 3}, 100, 50, max_points=3).points) == 3


def test_hint_error_is_a_value_error():
    assert issubclass(HintError, ValueError)


def test_only_chroma_of_the_colour_is_used():
    a, b = color_to_ab("#ff0000")
    assert a == pytest.approx(80.1, abs=0.2) and b == pytest.approx(67.2, abs=0.2)
    assert color_to_ab("#808080") == pytest.approx((0, 0), abs=1e-3)
    # a light and a dark version of one hue give similar ab direction; lightness is not part of the hint
    assert len(color_to_ab("#7a5230")) == 2


def test_empty_hints_rasterize_to_zeros():
    ab, mask = rasterize(Hints(), 100, 50, 64, 32)
    assert ab.shape == (2, 32, 64) and mask.shape == (1, 32, 64)
    assert not ab.any() and not mask.any()


def test_points_are_squares_of_their_size_at_the_same_resolution():
    hints = parse_hints({"points": [point(x=10, y=20, size=3, color="#ff0000")]}, 100, 50)
    ab, mask = rasterize(hints, 100, 50, 100, 50)
    ys, xs = np.nonzero(mask[0])
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (19, 21, 9, 11)
    assert mask.sum() == 9
    assert ab[:, 20, 10] == pytest.approx(color_to_ab("#ff0000"), abs=1e-4)
    assert not ab[:, 0, 0].any()


def test_even_sized_points_and_single_pixels():
    hints = parse_hints({"points": [point(x=10, y=20, size=2), point(x=50, y=5, size=1)]}, 100, 50)
    _, mask = rasterize(hints, 100, 50, 100, 50)
    assert mask[0, 5, 50] == 1 and mask[0, 4:7, 49:52].sum() == 1
    assert mask[0, 19:22, 9:12].sum() == 4


def test_points_are_mapped_to_the_working_resolution():
    # 400x200 original -> 100x50 working: pixel (200, 100) lands at (50, 25); a 9 px point covers ~2.25 px
    hints = parse_hints({"points": [point(x=200, y=100, size=9), point(x=399, y=199, size=1)]}, 400, 200)
    _, mask = rasterize(hints, 400, 200, 100, 50)
    ys, xs = np.nonzero(mask[0])
    assert mask[0, 25, 50] == 1
    assert set(zip(ys.tolist(), xs.tolist(), strict=True)) >= {(25, 50), (49, 99)}
    assert 4 <= mask[0, 20:30, 45:55].sum() <= 9
    assert mask[0, 49, 99] == 1  # a 1 px point at the corner still covers a working pixel


def test_strokes_are_thick_polylines():
    hints = parse_hints({"strokes": [stroke(points=[[10, 25], [90, 25]], width=5, color="#00ff00")]}, 100, 50)
    ab, mask = rasterize(hints, 100, 50, 100, 50)
    assert mask[0, 25, 10:91].all()
    assert mask[0, 23:28, 50].sum() == 5 and mask[0, 20, 50] == 0 and mask[0, 30, 50] == 0
    assert ab[:, 25, 50] == pytest.approx(color_to_ab("#00ff00"), abs=1e-4)


def test_thin_strokes_survive_downscaling():
    hints = parse_hints({"strokes": [stroke(points=[[0, 100], [999, 100]], width=1)]}, 1000, 500)
    _, mask = rasterize(hints, 1000, 500, 100, 50)
    assert mask[0, 10, :].sum() >= 99


def test_points_are_painted_over_strokes():
    data = {"points": [point(x=50, y=25, size=1, color="#ff0000")], "strokes": [stroke(points=[[10, 25], [90, 25]])]}
    ab, _ = rasterize(parse_hints(data, 100, 50), 100, 50, 100, 50)
    assert ab[:, 25, 50] == pytest.approx(color_to_ab("#ff0000"), abs=1e-4)
    assert ab[:, 25, 40] == pytest.approx(color_to_ab("#3b5e2b"), abs=1e-4)


def test_a_raster_is_area_averaged_to_the_working_resolution():
    ab = np.zeros((2, 40, 40), np.float32)
    mask = np.zeros((1, 40, 40), np.float32)
    ab[:, 0:3, 0:3] = 30.0
    mask[:, 0:3, 0:3] = 1
    small_ab, small_mask = HintRaster(ab, mask).resize(10, 10)
    assert small_mask[0, 0, 0] == 1 and small_mask.sum() == 1
    assert small_ab[:, 0, 0] == pytest.approx([30, 30])  # the hint's own colour, not diluted
