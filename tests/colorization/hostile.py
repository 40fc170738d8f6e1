"""A corpus of hostile uploads: truncated, bombs by header, polyglots, malformed metadata,
odd multi-page files, huge frame counts, empty files and wrong extensions (>= 200 files)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

from tests import images


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_with_header(width: int, height: int, extra: bytes = b"") -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + extra + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    )


def jpeg_with_size(width: int, height: int) -> bytes:
    data = bytearray(images.jpeg(32, 32))
    i = data.find(b"\xff\xc0")
    data[i + 5 : i + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def jpeg_with_segment(marker: int, payload: bytes) -> bytes:
    data = images.jpeg(48, 48)
    segment = struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload
    return data[:2] + segment + data[2:]


def tiff_next_ifd_past_end() -> bytes:
    """A TIFF whose first page's next-page pointer lies past the end of the file."""
    data = bytearray(images.encode(images.grey_photo(32, 32), "TIFF"))
    (ifd,) = struct.unpack("<I", data[4:8])
    (count,) = struct.unpack("<H", data[ifd : ifd + 2])
    pointer = ifd + 2 + count * 12
    data[pointer : pointer + 4] = struct.pack("<I", len(data) + 10_000)
    return bytes(data)


def tiff_ifd_loop() -> bytes:
    data = bytearray(images.encode(images.grey_photo(32, 32), "TIFF"))
    (ifd,) = struct.unpack("<I", data[4:8])
    (count,) = struct.unpack("<H", data[ifd : ifd + 2])
    pointer = ifd + 2 + count * 12
    data[pointer : pointer + 4] = struct.pack("<I", ifd)
    return bytes(data)


def tiff_size(width: int, height: int) -> bytes:
    data = bytearray(images.encode(images.grey_photo(32, 32), "TIFF"))
    (ifd,) = struct.unpack("<I", data[4:8])
    (count,) = struct.unpack("<H", data[ifd : ifd + 2])
    for n in range(count):
        entry = ifd + 2 + n * 12
        tag, _kind = struct.unpack("<HH", data[entry : entry + 4])
        if tag in (256, 257):
            value = width if tag == 256 else height
            data[entry + 2 : entry + 4] = struct.pack("<H", 4)
            data[entry + 8 : entry + 12] = struct.pack("<I", value)
    return bytes(data)


def many_page_tiff(pages: int) -> bytes:
    frames = [Image.new("L", (16, 16), i % 256) for i in range(pages)]
    return images.encode(frames[0], "TIFF", save_all=True, append_images=frames[1:])


def many_frame_gif(frames: int) -> bytes:
    seq = [Image.new("L", (16, 16), i % 256) for i in range(frames)]
    return images.encode(seq[0], "GIF", save_all=True, append_images=seq[1:], duration=10)


def gif_screen(width: int, height: int) -> bytes:
    data = bytearray(images.encode(images.grey_photo(32, 32), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


def bmp_size(width: int, height: int) -> bytes:
    data = bytearray(images.encode(images.grey_photo(32, 32).convert("RGB"), "BMP"))
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


def _bases() -> dict[str, bytes]:
    grey = images.grey_photo(64, 48, seed=7)
    return {
        "jpeg": images.jpeg(64, 48, seed=7),
        "png": images.png(64, 48, seed=7),
        "tiff": images.encode(grey, "TIFF"),
        "tiff16": images.tiff16(),
        "tiff_multi": images.multipage_tiff(),
        "webp": images.webp(),
        "gif": images.animated_gif(),
        "bmp": images.encode(grey.convert("RGB"), "BMP"),
        "progressive_jpeg": images.encode(grey, "JPEG", progressive=True),
        "cmyk_jpeg": images.cmyk_jpeg(),
    }


def corpus() -> list[tuple[str, str, bytes]]:
    """``(case, file name, bytes)`` for every hostile file; each is distinct."""
    rng = np.random.default_rng(20)
    files: list[tuple[str, str, bytes]] = []
    bases = _bases()
    for name, data in bases.items():
        for fraction in (0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 0.995):
            files.append((f"truncated-{name}-{fraction}", f"{name}.jpg", data[: max(1, int(len(data) * fraction))]))
        for seed in range(4):
            corrupt = bytearray(data)
            positions = np.random.default_rng(seed).integers(8, len(corrupt), size=8)
            for p in positions:
                corrupt[p] ^= 0xFF
            files.append((f"bitflip-{name}-{seed}", f"{name}.png", bytes(corrupt)))
        files.append((f"wrong-extension-{name}", f"{name}.html", data))
        files.append((f"appended-html-{name}", f"{name}.png", data + images.html_file()))
        files.append((f"appended-zip-{name}", f"{name}.zip", data + images.zip_file()))
        magic = data[:12]
        for size in (12, 200, 5000):
            files.append((f"magic-noise-{name}-{size}", f"{name}.bin", magic + rng.bytes(size)))
    for side in ((100_000, 100_000), (65_535, 65_535), (1, 100_000), (100_000, 1), (0, 0), (2**31 - 1, 2**31 - 1)):
        w, h = side
        files.append((f"bomb-png-{w}x{h}", "bomb.png", png_with_header(w, h)))
        files.append((f"bomb-tiff-{w}x{h}", "bomb.tif", tiff_size(w, h)))
        files.append((f"bomb-gif-{w}x{h}", "bomb.gif", gif_screen(min(w, 65535), min(h, 65535))))
        files.append((f"bomb-bmp-{w}x{h}", "bomb.bmp", bmp_size(min(w, 2**31 - 1), min(h, 2**31 - 1))))
        files.append((f"bomb-jpeg-{w}x{h}", "bomb.jpg", jpeg_with_size(min(w, 65535), min(h, 65535))))
    files.append(("bomb-png-real", "bomb.png", images.decompression_bomb(12_000)))
    exif_payloads = {
        "garbage": b"Exif\x00\x00" + rng.bytes(300),
        "bad-ifd-offset": b"Exif\x00\x00II*\x00\xff\xff\xff\x7f",
        "huge-count": b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff" + b"\x00" * 40,
        "orientation-99": b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00c\x00\x00\x00"
        + b"\x00\x00\x00\x00",
        "big-endian-garbage": b"Exif\x00\x00MM\x00*" + rng.bytes(100),
        "empty": b"Exif\x00\x00",
    }
    for name, payload in exif_payloads.items():
        files.append((f"exif-{name}", "exif.jpg", jpeg_with_segment(0xE1, payload)))
        files.append((f"png-exif-{name}", "exif.png", png_with_header(32, 32, _png_chunk(b"eXIf", payload[6:]))))
    icc_payloads = {
        "garbage": b"ICC_PROFILE\x00\x01\x01" + rng.bytes(200),
        "lying-length": b"ICC_PROFILE\x00\x01\x01" + struct.pack(">I", 10_000_000) + rng.bytes(100),
        "bad-chunk-index": b"ICC_PROFILE\x00\x05\x02" + rng.bytes(50),
    }
    for name, payload in icc_payloads.items():
        files.append((f"icc-{name}", "icc.jpg", jpeg_with_segment(0xE2, payload)))
        iccp = b"x\x00\x00" + zlib.compress(payload)
        files.append((f"png-icc-{name}", "icc.png", png_with_header(32, 32, _png_chunk(b"iCCP", iccp))))
    files.append(("png-iccp-not-deflate", "icc.png", png_with_header(32, 32, _png_chunk(b"iCCP", b"x\x00\x00junk"))))
    xmp = b"http://ns.adobe.com/xap/1.0/\x00"
    for name, body in {
        "unclosed": b"<x:xmpmeta><rdf:RDF>",
        "entity-bomb": b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><x>&b;&b;&b;</x>',
        "external-entity": b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        "binary": rng.bytes(200),
    }.items():
        files.append((f"xmp-{name}", "xmp.jpg", jpeg_with_segment(0xE1, xmp + body)))
        files.append(
            (
                f"png-xmp-{name}",
                "xmp.png",
                png_with_header(32, 32, _png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + body)),
            )
        )
    files += [
        ("tiff-next-page-past-end", "pages.tif", tiff_next_ifd_past_end()),
        ("tiff-ifd-loop", "loop.tif", tiff_ifd_loop()),
        ("tiff-1000-pages", "pages.tif", many_page_tiff(1000)),
        ("gif-2000-frames", "frames.gif", many_frame_gif(2000)),
        ("zero-bytes", "empty.jpg", b""),
        ("one-byte", "one.jpg", b"\xff"),
        ("jpeg-soi-only", "soi.jpg", b"\xff\xd8"),
        ("png-signature-only", "sig.png", b"\x89PNG\r\n\x1a\n"),
        ("html", "page.jpg", images.html_file()),
        ("svg", "image.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("zip", "photo.jpg", images.zip_file()),
        ("pdf", "scan.tif", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"),
        ("gifar", "x.gif", images.encode(images.grey_photo(32, 32), "GIF") + images.zip_file()),
        ("html-in-jpeg-comment", "c.jpg", jpeg_with_segment(0xFE, images.html_file())),
        ("thin", "thin.png", images.thin_image()),
        ("tiny", "tiny.png", images.png(4, 4)),
        ("nul-filename", "photo\x00.jpg", images.jpeg(40, 40, seed=99)),
        ("long-filename", "a" * 400 + ".jpg", images.jpeg(40, 40, seed=98)),
    ]
    seen: set[bytes] = set()
    unique = []
    for case, name, data in files:
        if data in seen:
            continue
        seen.add(data)
        unique.append((case, name, data))
    return unique


def _smoke() -> None:  # pragma: no cover - a helper for looking at the corpus by hand
    for case, _name, data in corpus():
        try:
            Image.open(io.BytesIO(data)).load()
        except Exception as exc:  # noqa: BLE001
            print(case, type(exc).__name__)
