"""Reading what archives send (orientation, CMYK, 16-bit, alpha, pages) and writing the disclosure."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from colorization.engine.color import grey_to_lightness, rgb_to_lightness
from colorization.engine.imageio import (
    DIGITAL_SOURCE_TYPE,
    ImageReadError,
    encode,
    read_disclosure,
    read_luminance,
    save,
)

METADATA = {
    "description": "Colorized by Chroma Commons model base-europe v3 — colours are an estimate.",
    "model": "base-europe",
    "model_version": "3",
    "original_sha256": "ab" * 32,
}


def lightness_of(rgb: np.ndarray) -> np.ndarray:
    return rgb_to_lightness(torch.from_numpy(np.array(rgb)).double() / 255, dim=-1)[..., 0].numpy()


def file_of(im: Image.Image, fmt: str, **kw) -> io.BytesIO:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    buf.seek(0)
    return buf


def gradient(w: int = 40, h: int = 20) -> np.ndarray:
    return (np.add.outer(np.arange(h) * 3, np.arange(w) * 5) % 256).astype(np.uint8)


def test_greyscale_gives_exact_lightness():
    grey = gradient()
    image = read_luminance(file_of(Image.fromarray(grey), "PNG"))
    assert image.L.dtype == np.float32 and image.size == (40, 20) and image.bit_depth == 8
    expected = grey_to_lightness(torch.from_numpy(grey).double() / 255).numpy()
    assert np.abs(image.L - expected).max() < 1e-4
    assert image.L.min() >= 0 and image.L.max() <= 100


def test_exif_orientation_is_applied():
    grey = gradient(40, 20)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display is the stored image turned 90° clockwise
    image = read_luminance(file_of(Image.fromarray(grey), "PNG", exif=exif.tobytes()))
    assert image.size == (20, 40)
    expected = grey_to_lightness(torch.from_numpy(np.rot90(grey, -1).copy()).double() / 255).numpy()
    assert np.abs(image.L - expected).max() < 1e-4
    jpeg = read_luminance(file_of(Image.fromarray(grey), "JPEG", exif=exif.tobytes()))
    assert jpeg.size == (20, 40)


def test_colour_and_sepia_inputs_give_their_lightness():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    image = read_luminance(file_of(Image.fromarray(rgb), "PNG"))
    assert np.abs(image.L - lightness_of(rgb)).max() < 1e-3
    sepia = np.stack([gradient(24, 16), (gradient(24, 16) * 0.8).astype(np.uint8), gradient(24, 16) // 2], -1)
    image = read_luminance(file_of(Image.fromarray(sepia), "PNG"))
    assert np.abs(image.L - lightness_of(sepia)).max() < 1e-3


def test_16_bit_tiff_keeps_its_precision():
    values = (np.arange(64 * 32, dtype=np.uint16).reshape(32, 64) * 31 + 1000).astype(np.uint16)
    image = read_luminance(file_of(Image.fromarray(values), "TIFF"))  # mode I;16
    assert image.bit_depth == 16 and image.size == (64, 32)
    expected = grey_to_lightness(torch.from_numpy(values.astype(np.float64)) / 65535).numpy()
    assert np.abs(image.L - expected).max() < 1e-4
    assert len(np.unique(image.L)) == values.size  # 8 bits would have collapsed these


@pytest.mark.parametrize(("dtype", "fmt"), [(np.uint16, "PNG"), (np.int32, "TIFF")])
def test_16_bit_png_and_32_bit_integer_images_keep_their_precision(dtype, fmt):
    values = np.linspace(0, 65535, 50 * 20).astype(dtype).reshape(20, 50)
    image = read_luminance(file_of(Image.fromarray(values), fmt))  # modes I;16 and I
    assert image.bit_depth == 16
    expected = grey_to_lightness(torch.from_numpy(values.astype(np.float64)) / 65535).numpy()
    assert np.abs(image.L - expected).max() < 1e-4


def test_cmyk_is_read_through_rgb():
    cmyk = Image.new("CMYK", (8, 6), (0, 60, 120, 30))
    image = read_luminance(file_of(cmyk, "TIFF"))
    expected = lightness_of(np.asarray(cmyk.convert("RGB")))
    assert image.size == (8, 6)
    assert np.abs(image.L - expected).max() < 0.01
    jpeg = read_luminance(file_of(cmyk, "JPEG", quality=95))
    assert np.abs(jpeg.L - expected).max() < 1.5


def test_transparent_areas_read_as_white():
    la = Image.new("LA", (4, 4), (0, 0))
    np.testing.assert_allclose(read_luminance(file_of(la, "PNG")).L, 100.0, atol=1e-4)
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 255))
    np.testing.assert_allclose(read_luminance(file_of(rgba, "PNG")).L, 0.0, atol=1e-4)
    palette = Image.new("P", (4, 4), 3)
    palette.putpalette([0, 0, 0] * 3 + [255, 0, 0] + [0, 0, 0] * 252)
    np.testing.assert_allclose(read_luminance(file_of(palette, "PNG")).L, 53.24, atol=0.01)


def test_multi_page_files_give_the_first_page():
    first, second = Image.new("L", (10, 10), 30), Image.new("L", (12, 12), 200)
    buf = file_of(first, "TIFF", save_all=True, append_images=[second])
    image = read_luminance(buf)
    assert image.size == (10, 10)
    np.testing.assert_allclose(image.L, float(grey_to_lightness(torch.tensor(30 / 255))), atol=1e-4)


def test_it_refuses_what_is_not_an_image():
    with pytest.raises(ImageReadError, match="not an image"):
        read_luminance(io.BytesIO(b"%PDF-1.4 definitely not a photo"))
    data = file_of(Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200), np.uint8)), "JPEG")
    with pytest.raises(ImageReadError, match="damaged or truncated"):
        read_luminance(io.BytesIO(data.getvalue()[:800]))
    with pytest.raises(ImageReadError, match="limit is 100"):
        read_luminance(file_of(Image.new("L", (20, 20)), "PNG"), max_pixels=100)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "tiff"])
def test_disclosure_round_trip(fmt):
    rgb = np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    data = encode(rgb, fmt, METADATA)
    disclosure = read_disclosure(data)
    assert disclosure["digital_source_type"] == DIGITAL_SOURCE_TYPE
    for key, value in METADATA.items():
        assert disclosure[key] == value
    assert "base-europe v3" in disclosure["text_description"]
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (16, 12)
        xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp") or im.tag_v2.get(700)
    assert b"Iptc4xmpExt:DigitalSourceType" in (xmp if isinstance(xmp, bytes) else xmp.encode())


def test_png_carries_itxt_fields_and_is_lossless():
    rgb = np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    with Image.open(io.BytesIO(encode(rgb, "png", METADATA))) as im:
        assert im.text["Description"] == METADATA["description"]
        assert im.text["chromacommons:originalSha256"] == METADATA["original_sha256"]
        assert "XML:com.adobe.xmp" in im.text
        assert np.array_equal(np.asarray(im), rgb)


def test_jpeg_carries_exif_description_and_is_4_2_0():
    rgb = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    with Image.open(io.BytesIO(encode(rgb, "jpeg", METADATA))) as im:
        assert im.getexif()[0x010E].startswith("Colorized by Chroma Commons model base-europe v3")
        assert im.layer[0][1:3] == (2, 2)  # luma sampled 2x2 relative to chroma


def test_a_default_sentence_names_model_version_and_original():
    data = encode(
        np.zeros((4, 4, 3), np.uint8), "jpeg", {"model": "base", "model_version": "7", "original_sha256": "f00"}
    )
    sentence = read_disclosure(data)["description"]
    assert "base version 7" in sentence and "sha256 f00" in sentence


def test_save_picks_the_format_from_the_extension(tmp_path):
    rgb = np.zeros((4, 6, 3), np.uint8)
    for name, fmt in [("a.png", "PNG"), ("b.jpg", "JPEG"), ("c.jpeg", "JPEG"), ("d.webp", "WEBP"), ("e.tif", "TIFF")]:
        save(rgb, tmp_path / name, METADATA)
        with Image.open(tmp_path / name) as im:
            assert im.format == fmt
        assert read_disclosure(tmp_path / name)["model"] == "base-europe"
    with pytest.raises(ValueError, match="cannot tell the output format"):
        save(rgb, tmp_path / "x.gif")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.jpg", "c.jpeg", "d.webp", "e.tif"]
