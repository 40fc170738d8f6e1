"""Inspecting uploaded film clips: what container they are, and whether we accept them.

The container is sniffed from the first bytes (never the extension or the declared content type).
A clip is then checked cheaply (``engine.video.check``), so that a long clip does not hold the
request: the header limits (resolution, duration) before anything is read, then every packet is
demuxed without decoding (a file cut short stops early) and only the first and last frames are
decoded, so that a truncated, damaged at its ends or picture-less file is refused at upload rather
than failing in a worker later.
Refusals are ``ImageRejected`` (the upload path's one error type) with a message the uploader can
act on.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import av
from PIL import Image

from colorization.engine.video import VideoError, browser_playable, check
from colorization.images import ImageRejected, _looks_colour, _size_of, sha256_of

# The containers ``sniff_container`` names; images.EXTENSIONS / MIME_TYPES hold their suffix and type.
CONTAINERS = ("MP4", "MOV", "MKV", "WEBM", "AVI")
ACCEPTED_DESCRIPTION = "MP4, MOV, MKV, WebM, AVI"


@dataclass(frozen=True)
class InspectedClip:
    sha256: str
    size_bytes: int
    format: str  # a key of CONTAINERS
    width: int
    height: int
    frames: int
    fps: str  # exact, as a fraction ("30000/1001")
    duration: float  # seconds
    video_codec: str
    audio_codec: str  # "" without audio
    is_colour: bool
    thumbnail_jpeg: bytes
    bit_depth: int = 8
    media_kind: str = "video"
    browser_playable: bool = False  # browsers play the original as it is (no web copy needed)


_IMAGE_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"mif2", b"msf1", b"avif", b"avis"}


def sniff_container(head: bytes) -> str | None:
    """The container a file's first bytes announce, or None when they are not a clip we know."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:  # HEIC/AVIF stills share the ISO container: they are photographs
            return None
        if brand.startswith((b"M4A", b"M4B")):
            return "MP4"  # an audio-only brand: still inspected, refused there with a clear message
        return "MOV" if brand == b"qt  " else "MP4"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip") and head[:4] != b"RIFF":
        return "MOV"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "WEBM" if b"webm" in head[:64] else "MKV"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    return None


def is_clip(f: BinaryIO) -> bool:
    f.seek(0)
    head = f.read(64)
    f.seek(0)
    return sniff_container(head) is not None


@contextmanager
def _on_disk(f: BinaryIO):
    """A path to the upload's bytes: Django's temporary file when there is one, else a copy."""
    path = getattr(f, "temporary_file_path", None)
    if callable(path):
        yield path()
        return
    fd, name = tempfile.mkstemp(suffix=".clip")
    try:
        with os.fdopen(fd, "wb") as out:
            f.seek(0)
            shutil.copyfileobj(f, out, 1 << 20)
        f.seek(0)
        yield name
    finally:
        os.unlink(name)


def _first_frame(path: str) -> Image.Image:
    with av.open(path, metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            return frame.to_image()
    raise VideoError("the clip has no frames that can be decoded")


def inspect_clip(
    f: BinaryIO, *, max_bytes: int, max_seconds: float, max_pixels: int, thumbnail_size: int = 480
) -> InspectedClip:
    """Check a clip upload and describe it. Raises ``ImageRejected`` with a clear message."""
    size = _size_of(f)
    if size > max_bytes:
        raise ImageRejected(
            f"The clip is {size / 1e6:.1f} MB; the limit for clips is {max_bytes / 1e6:.0f} MB.",
            status=413,
            code="too_large",
        )
    f.seek(0)
    container = sniff_container(f.read(64))
    f.seek(0)
    if container is None:
        raise ImageRejected(f"This file is not a clip we can read. Accepted containers: {ACCEPTED_DESCRIPTION}.", 415)
    digest = sha256_of(f)
    with _on_disk(f) as path:
        try:
            info = check(path, max_duration=max_seconds, max_pixels=max_pixels)
            rgb = _first_frame(path).convert("RGB")
        except VideoError as exc:
            raise ImageRejected(f"This clip cannot be accepted: {exc}.", code="invalid_clip") from None
        except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
            raise ImageRejected(
                f"The clip is truncated or damaged and cannot be decoded ({type(exc).__name__}: {exc})."[:500],
                code="invalid_clip",
            ) from None
    thumb = rgb.copy()
    thumb.thumbnail((thumbnail_size, thumbnail_size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=85, optimize=True)
    f.seek(0)
    return InspectedClip(
        sha256=digest,
        size_bytes=size,
        format=container,
        width=info.width,
        height=info.height,
        frames=info.frames,
        fps=f"{info.fps.numerator}/{info.fps.denominator}",
        duration=round(info.duration, 3),
        video_codec=info.codec,
        audio_codec=info.audio_codec or "",
        is_colour=_looks_colour(rgb),
        thumbnail_jpeg=buf.getvalue(),
        browser_playable=browser_playable(container, info.codec, info.pix_fmt, info.audio_codec),
    )
