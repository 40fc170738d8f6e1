"""Real image files made by the tests: good ones and every kind of bad one."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image


def grey_photo(width: int = 64, height: int = 48, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = (x * 3 + y * 2 + seed * 17) % 256
    noise = rng.integers(0, 20, size=(height, width))
    return Image.fromarray(((base + noise) % 256).astype(np.uint8), "L")


def encode(im: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def jpeg(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    return encode(grey_photo(width, height, seed), "JPEG", quality=90)


def png(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    return encode(grey_photo(width, height, seed), "PNG")


def truncated_jpeg() -> bytes:
    data = jpeg(256, 256, seed=3)
    return data[: len(data) // 2]


def zip_file() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("photo.jpg", jpeg())
    return buf.getvalue()


def html_file() -> bytes:
    return b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def thin_image() -> bytes:
    return png(1, 20000)


def decompression_bomb(side: int = 20000) -> bytes:
    """A PNG of side×side pixels that compresses to a few hundred kilobytes."""
    return encode(Image.new("L", (side, side), 0), "PNG", optimize=True)


def cmyk_jpeg() -> bytes:
    return encode(grey_photo(80, 60).convert("CMYK"), "JPEG", quality=90)


def tiff16(width: int = 64, height: int = 48) -> bytes:
    arr = (np.linspace(0, 65535, width * height).reshape(height, width)).astype(np.uint16)
    return encode(Image.fromarray(arr), "TIFF")  # uint16 -> mode I;16


def multipage_tiff() -> bytes:
    frames = [grey_photo(64, 48, seed=i) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def animated_gif() -> bytes:
    frames = [grey_photo(40, 30, seed=i).convert("P") for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def exif_rotated_jpeg(width: int = 80, height: int = 40) -> bytes:
    """Stored 80×40 with EXIF orientation 6 (rotate 90° clockwise): shown 40×80."""
    im = grey_photo(width, height)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(im, "JPEG", exif=exif.tobytes())


def sepia_jpeg() -> bytes:
    grey = np.asarray(grey_photo(64, 48), dtype=np.float32)
    rgb = np.stack([grey * 1.0, grey * 0.85, grey * 0.65], axis=2).clip(0, 255).astype(np.uint8)
    return encode(Image.fromarray(rgb, "RGB"), "JPEG", quality=92)


def webp() -> bytes:
    return encode(grey_photo(64, 48).convert("RGB"), "WEBP")


def heic() -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return encode(grey_photo(64, 48).convert("RGB"), "HEIF")


def colour_photo(width: int = 96, height: int = 64, seed: int = 0) -> Image.Image:
    """A colourful RGB scene: smooth hue gradients with a few saturated blocks and texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 128 + 100 * np.sin(x / width * 3.1 + seed)
    g = 128 + 100 * np.sin(y / height * 2.7 + 1 + seed)
    b = 128 + 100 * np.cos((x + y) / (width + height) * 4.0 + seed)
    rgb = np.stack([r, g, b], -1) + rng.normal(0, 6, (height, width, 3))
    rgb[height // 4 : height // 2, width // 5 : width // 2] = (200, 40, 30)
    rgb[height // 2 : 3 * height // 4, width // 2 : 4 * width // 5] = (40, 70, 190)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def luminance_of(im: Image.Image) -> Image.Image:
    """The CIE L* of an RGB image as an 8-bit greyscale photo (what an archive would scan)."""
    from colorization.engine.imageio import rgb_to_lightness_u8

    L = rgb_to_lightness_u8(np.asarray(im.convert("RGB")))
    # Grey code whose sRGB lightness is L*: invert the sRGB-encoded grey ramp.
    import torch

    from colorization.engine.color import lightness_to_grey

    grey = lightness_to_grey(torch.from_numpy(L) / 1.0).numpy()
    return Image.fromarray(np.clip(grey * 255 + 0.5, 0, 255).astype(np.uint8), "L")
