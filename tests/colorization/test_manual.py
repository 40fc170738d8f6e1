"""Manual colorizations: the luminance check, its thresholds on real material, and the composite."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from PIL import Image, ImageEnhance

from colorization.engine.imageio import read_luminance, rgb_to_lightness_u8
from colorization.images import ImageRejected
from colorization.manual import compose, manual_colorization_check
from tests import images
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db
SHARED_VAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "val" / "bsds-val"


def jpeg_bytes(im: Image.Image, quality: int = 85) -> bytes:
    return images.encode(im, "JPEG", quality=quality)


@pytest.fixture
def scene():
    """A colour photograph and the greyscale photo an archive would hold of it."""
    files = sorted(SHARED_VAL.glob("*.jpg"))[:1] if SHARED_VAL.exists() else []
    colour = Image.open(files[0]).convert("RGB") if files else images.colour_photo(240, 160, seed=3)
    return colour, images.luminance_of(colour)


@pytest.fixture
def grey_photo(owner, make_photo, scene, tiny_base_model):
    _, grey = scene
    return make_photo(owner, data=images.encode(grey, "PNG"))


def check(photo, data: bytes):
    return manual_colorization_check(photo=photo, file=upload_file(data, "colour.jpg"))


def test_an_honest_colorization_passes_even_as_a_jpeg_at_half_size(grey_photo, scene):
    colour, _ = scene
    full = check(grey_photo, jpeg_bytes(colour))
    half = colour.resize((colour.width // 2, colour.height // 2), Image.Resampling.LANCZOS)
    small = check(grey_photo, jpeg_bytes(half))
    # Measured margins (documented in colorization/manual.py): well below the 3.0 limit.
    print(f"mean |ΔL*| full {full.mean_delta_l:.2f} (p99 {full.p99_delta_l:.1f}), half {small.mean_delta_l:.2f}")
    assert full.mean_delta_l < 2.0
    assert small.mean_delta_l < 2.0
    assert small.rgb.shape == (grey_photo.height, grey_photo.width, 3)


def test_the_composite_keeps_the_original_luminance_and_the_uploads_colour(grey_photo, scene):
    colour, _ = scene
    result = check(grey_photo, jpeg_bytes(colour, 95))
    with grey_photo.original.open("rb") as f:
        original = read_luminance(io.BytesIO(f.read()))
    assert np.abs(rgb_to_lightness_u8(result.rgb) - original.L).max() <= 0.6  # 8-bit rounding only
    # The chroma is the upload's: the composite is close to the colour photograph itself.
    difference = np.abs(result.rgb.astype(int) - np.asarray(colour).astype(int)).mean()
    assert difference < 6


@pytest.mark.parametrize(
    "change",
    [
        lambda im: ImageEnhance.Brightness(im).enhance(1.15),
        lambda im: ImageEnhance.Contrast(im).enhance(1.3),
        lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    ],
    ids=["brighter", "more-contrast", "mirrored"],
)
def test_a_colorization_with_other_tones_is_refused_with_the_numbers(grey_photo, scene, change):
    colour, _ = scene
    with pytest.raises(ValidationError) as error:
        check(grey_photo, jpeg_bytes(change(colour)))
    message = error.value.message_dict["image"][0]
    assert "lightness differs" in message
    assert "limits are 3 and 20" in message


def test_a_painted_over_region_is_caught_by_the_percentile(grey_photo, scene):
    colour, _ = scene
    arr = np.asarray(colour).copy()
    h, w = arr.shape[:2]
    arr[h // 3 : h // 3 + h // 5, w // 3 : w // 3 + w // 5] = (250, 250, 250)  # 4 % of the photo repainted white
    with pytest.raises(ValidationError, match="99th percentile"):
        check(grey_photo, jpeg_bytes(Image.fromarray(arr)))


def test_a_cropped_upload_is_refused_for_its_shape(grey_photo, scene):
    colour, _ = scene
    cropped = colour.crop((0, 0, colour.width * 3 // 4, colour.height))
    with pytest.raises(ValidationError, match="different shape"):
        check(grey_photo, jpeg_bytes(cropped))


def test_a_file_that_is_not_an_image_is_refused_as_such(grey_photo):
    with pytest.raises(ImageRejected) as error:
        check(grey_photo, images.html_file())
    assert error.value.status == 415


def test_compose_is_exact_on_luminance_for_out_of_gamut_chroma():
    L = np.linspace(0, 100, 64 * 48, dtype=np.float32).reshape(48, 64)
    vivid = np.zeros((48, 64, 3), np.uint8)
    vivid[..., 0] = 255  # saturated red chroma on every lightness, most of it out of gamut
    out = compose(L, vivid)
    assert np.abs(rgb_to_lightness_u8(out) - L).max() <= 0.6
    assert (out[24, 32, 0] > out[24, 32, 1]) and (out[24, 32, 0] > out[24, 32, 2])
