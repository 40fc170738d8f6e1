"""Bounded fuzzing of the upload check: whatever the bytes, an InspectedImage or ImageRejected."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from colorization.images import ImageRejected, InspectedImage, inspect_image
from tests import images
from tests.colorization.hostile import tiff_next_ifd_past_end

SEEDS = [
    images.jpeg(32, 32),
    images.png(32, 32),
    images.encode(images.grey_photo(32, 32), "TIFF"),
    images.webp(),
    images.animated_gif(),
    tiff_next_ifd_past_end(),
]


def _check(data: bytes) -> None:
    try:
        result = inspect_image(io.BytesIO(data), max_bytes=10**6, max_pixels=4 * 10**6, min_side=16)
    except ImageRejected as exc:
        assert exc.status in (400, 413, 415) and exc.message
    else:
        assert isinstance(result, InspectedImage) and result.width >= 16 and result.height >= 16


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), max_size=12),
    cut=st.integers(1, 8192),
)
def test_mutated_images_are_accepted_or_refused_cleanly(seed, edits, cut):
    data = bytearray(seed[:cut])
    for position, value in edits:
        if position < len(data):
            data[position] = value
    _check(bytes(data))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_are_refused_cleanly(data):
    _check(data)
