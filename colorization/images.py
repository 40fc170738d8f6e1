"""Inspecting uploaded images: what they really are, and whether we accept them.

The format is sniffed from the bytes (never the extension or the declared
content type), the pixel count is checked before anything is decoded
(decompression bombs), and the first frame is decoded in full so that a
truncated file is refused now rather than failing in a worker later.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

try:  # HEIC/HEIF through the maintained pillow-heif plugin, when it is installed
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - depends on the installation
    HEIF_SUPPORTED = False

ACCEPTED_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "GIF", "BMP") + (("HEIF",) if HEIF_SUPPORTED else ())
ACCEPTED_DESCRIPTION = "JPEG, PNG, TIFF (8 or 16 bit), WebP, GIF, BMP" + (", HEIC/HEIF" if HEIF_SUPPORTED else "")
_ROTATED_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that swap width and height


class ImageRejected(Exception):
    """An upload we refuse; ``status`` is the HTTP status that describes why."""

    def __init__(self, message: str, *, status: int = 400, code: str = "invalid_image"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


@dataclass(frozen=True)
class InspectedImage:
    sha256: str
    size_bytes: int
    format: str
    width: int  # after EXIF orientation
    height: int
    bit_depth: int
    frames: int
    is_colour: bool
    thumbnail_jpeg: bytes


def _size_of(f: BinaryIO) -> int:
    f.seek(0, io.SEEK_END)
    size = f.tell()
    f.seek(0)
    return size


def sha256_of(f: BinaryIO) -> str:
    digest = hashlib.sha256()
    f.seek(0)
    for chunk in iter(lambda: f.read(1 << 20), b""):
        digest.update(chunk)
    f.seek(0)
    return digest.hexdigest()


def _bit_depth(im: Image.Image) -> int:
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return 16
    if im.mode == "1":
        return 1
    return 8


def to_display_rgb(im: Image.Image) -> Image.Image:
    """Any decoded mode -> 8-bit RGB for display (16-bit greys are scaled, not clipped)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im).astype(np.float32)
        peak = 65535.0 if arr.max(initial=0) > 255 or im.mode != "I" else 255.0
        return Image.fromarray(np.clip(arr / peak * 255 + 0.5, 0, 255).astype(np.uint8), "L").convert("RGB")
    if im.mode == "F":
        arr = np.asarray(im)
        return Image.fromarray(np.clip(arr * 255 + 0.5, 0, 255).astype(np.uint8), "L").convert("RGB")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def _looks_colour(rgb: Image.Image) -> bool:
    """True for toned or colour prints; False for greys saved in an RGB container."""
    small = np.asarray(rgb.reduce(max(1, min(rgb.size) // 128)), dtype=np.int16)
    spread = small.max(axis=2) - small.min(axis=2)
    return float(spread.mean()) > 4.0


def inspect_image(
    f: BinaryIO, *, max_bytes: int, max_pixels: int, min_side: int, thumbnail_size: int = 480
) -> InspectedImage:
    """Check an upload and describe it. Raises ``ImageRejected`` with a clear message."""
    size = _size_of(f)
    if size == 0:
        raise ImageRejected("The file is empty.", status=400, code="empty_file")
    if size > max_bytes:
        raise ImageRejected(
            f"The file is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB.", status=413, code="too_large"
        )
    digest = sha256_of(f)
    with warnings.catch_warnings():
        # Our own pixel limit is checked below from the header, before decoding;
        # Pillow's hard limit (DecompressionBombError) still applies far above it.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(f, formats=ACCEPTED_FORMATS)
        except UnidentifiedImageError:
            raise ImageRejected(
                f"This file is not an image we can read. Accepted formats: {ACCEPTED_DESCRIPTION}.",
                status=415,
                code="unsupported_type",
            ) from None
        except Image.DecompressionBombError:
            raise ImageRejected(
                f"The image has more than {max_pixels:,} pixels, the limit.", status=413, code="too_many_pixels"
            ) from None
        except Exception as exc:  # noqa: BLE001 - see _damaged
            raise ImageRejected(_damaged(exc), code="corrupt") from None
    with im:
        try:
            return _inspect_open(im, f, size, digest, max_pixels, min_side, thumbnail_size)
        except ImageRejected:
            raise
        except Image.DecompressionBombError:
            raise ImageRejected(
                f"The image has more than {max_pixels:,} pixels, the limit.", status=413, code="too_many_pixels"
            ) from None
        except Exception as exc:  # noqa: BLE001 - see _damaged
            raise ImageRejected(_damaged(exc), code="corrupt") from None


# Pillow's decoders meet hostile bytes with whatever their code trips over: OSError and
# SyntaxError mostly, but also TypeError ("Missing dimensions" for a TIFF whose next page lies
# past the end of the file), struct.error, IndexError, KeyError, ZeroDivisionError, EOFError...
# None of them is our bug, and each one means the same thing to the uploader: a damaged file.
def _damaged(exc: Exception) -> str:
    return f"The image file is truncated or damaged and cannot be decoded ({type(exc).__name__}: {exc})."[:500]


def _inspect_open(
    im: Image.Image, f: BinaryIO, size: int, digest: str, max_pixels: int, min_side: int, thumbnail_size: int
) -> InspectedImage:
    width, height = im.size
    if width * height > max_pixels:
        raise ImageRejected(
            f"The image is {width}×{height} = {width * height:,} pixels; the limit is {max_pixels:,}.",
            status=413,
            code="too_many_pixels",
        )
    if min(width, height) < min_side:
        raise ImageRejected(
            f"The image is {width}×{height} pixels; both sides must be at least {min_side} pixels.",
            code="too_small",
        )
    image_format = im.format or "unknown"
    frames = getattr(im, "n_frames", 1)
    im.seek(0)
    im.load()  # decode everything now: truncated files fail here, not in a worker
    bit_depth = _bit_depth(im)
    orientation = im.getexif().get(0x0112, 1)
    if orientation in _ROTATED_ORIENTATIONS:
        width, height = height, width
    try:
        rgb = to_display_rgb(ImageOps.exif_transpose(im))
    except (OSError, ValueError) as exc:
        raise ImageRejected(f"The image uses a pixel format we cannot read ({exc}).", status=415) from None
    is_colour = _looks_colour(rgb)
    thumb = rgb.copy()
    thumb.thumbnail((thumbnail_size, thumbnail_size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=85, optimize=True)
    f.seek(0)
    return InspectedImage(
        sha256=digest,
        size_bytes=size,
        format=image_format,
        width=width,
        height=height,
        bit_depth=bit_depth,
        frames=frames,
        is_colour=is_colour,
        thumbnail_jpeg=buf.getvalue(),
    )


EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "TIFF": "tif", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "HEIF": "heic"}
# Film clips' containers (colorization.clips sniffs them) share the storage keys and downloads.
EXTENSIONS.update({"MP4": "mp4", "MOV": "mov", "MKV": "mkv", "WEBM": "webm", "AVI": "avi"})
MIME_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "TIFF": "image/tiff",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "HEIF": "image/heic",
    "MP4": "video/mp4",
    "MOV": "video/quicktime",
    "MKV": "video/x-matroska",
    "WEBM": "video/webm",
    "AVI": "video/x-msvideo",
}
_SUFFIXES = {
    "JPEG": (".jpg", ".jpeg", ".jpe"),
    "MP4": (".mp4", ".m4v"),
    "TIFF": (".tif", ".tiff"),
    "HEIF": (".heic", ".heif", ".hif"),
}


def download_name(filename: str, image_format: str) -> str:
    """The uploader's file name with a suffix that says what the bytes are (``page.html`` -> ``page.html.png``)."""
    extension = EXTENSIONS.get(image_format, "bin")
    if filename.lower().endswith(_SUFFIXES.get(image_format, (f".{extension}",))):
        return filename
    return f"{filename}.{extension}"
