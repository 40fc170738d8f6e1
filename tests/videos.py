"""Synthetic clips made with PyAV for the video tests: every container and codec, sound, shots, bad files.

Each shot is a textured scene that pans steadily (so optical flow has something to follow); a
cut switches to a different scene. Frames are grey (neutral chroma) like a black-and-white film.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# (suffix, container format, video encoder, pixel format) for the uploads the issue accepts.
ACCEPTED = [
    ("mp4", "mp4", "libx264", "yuv420p"),
    ("mp4", "mp4", "libx265", "yuv420p"),
    ("mov", "mov", "prores_ks", "yuv422p10le"),
    ("mkv", "matroska", "mpeg2video", "yuv420p"),
    ("webm", "webm", "libvpx", "yuv420p"),
    ("webm", "webm", "libvpx-vp9", "yuv420p"),
    ("mkv", "matroska", "libsvtav1", "yuv420p"),
    ("avi", "avi", "mpeg4", "yuv420p"),
]


def scene(seed: int, width: int, height: int) -> np.ndarray:
    """A grey texture twice as wide as the frame: blobs of different brightness and a few edges."""
    rng = np.random.default_rng(seed)
    big = np.zeros((height, width * 2), np.float32)
    yy, xx = np.mgrid[0:height, 0 : width * 2]
    for _ in range(12):
        cx, cy = rng.uniform(0, width * 2), rng.uniform(0, height)
        r = rng.uniform(height / 8, height / 3)
        big += rng.uniform(-110, 110) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    big += 128 + (-45 if seed % 2 else 45)  # neighbouring shots differ clearly, as cuts in film do
    return np.clip(big, 16, 235).astype(np.uint8)


def grey_frames(width: int, height: int, shots: list[int], speed: float = 1.5):
    """Frame generator: shot k (frames shots[k]..shots[k+1]-1) pans across scene k."""
    bounds = [*shots]
    scenes = [scene(k + 1, width, height) for k in range(len(bounds) - 1)]
    for k in range(len(bounds) - 1):
        for i in range(bounds[k + 1] - bounds[k]):
            x = int(i * speed) % width
            yield scenes[k][:, x : x + width]


def make_clip(
    path: Path,
    *,
    fmt: str = "mp4",
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    width: int = 96,
    height: int = 64,
    fps: int = 24,
    shots: list[int] | None = None,
    frames: int = 24,
    audio: str | None = None,  # an audio encoder ("aac", "pcm_s16le", "libopus") or None
    lossless: bool = True,
) -> Path:
    """Write a grey clip; ``shots`` lists the first frame of each shot (default: one shot)."""
    shots = shots or [0]
    bounds = [*shots, frames]
    out = av.open(str(path), "w", format=fmt)
    stream = out.add_stream(codec, rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
    if codec == "libx264" and lossless:
        stream.options = {"qp": "0", "preset": "ultrafast"}
    elif codec == "libx265":
        stream.options = {"x265-params": "log-level=error"}
    elif codec == "libsvtav1":
        stream.options = {"preset": "12"}
    audio_stream = None
    if audio:
        rate = 48000
        audio_stream = out.add_stream(audio, rate=rate)
        audio_stream.layout = "stereo"
    for n, grey in enumerate(grey_frames(width, height, bounds)):
        if width % 2 or height % 2:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(grey), format="gray").reformat(format=pix_fmt)
        else:
            planes = np.concatenate((grey, np.full((height // 2, width), 128, np.uint8)))
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        if frame.format.name != pix_fmt:
            frame = frame.reformat(format=pix_fmt)
        frame.pts = n
        frame.time_base = Fraction(1, fps)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    if audio_stream is not None:
        write_tone(out, audio_stream, frames / fps)
    out.close()
    return path


def write_tone(out, stream, seconds: float, hz: float = 440.0) -> None:
    rate = stream.rate
    fmt = stream.format.name
    size = stream.frame_size or 1024
    t0 = 0
    total = int(seconds * rate)
    while t0 < total:
        n = min(size, total - t0)
        t = (np.arange(t0, t0 + n) / rate).astype(np.float32)
        wave = (0.2 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
        if fmt == "s16":
            data = np.repeat((wave * 32767).astype(np.int16)[None], 2, 0).T.reshape(1, -1)
        elif fmt == "fltp":
            data = np.repeat(wave[None], 2, 0)
        else:  # "flt": packed
            data = np.repeat(wave[None], 2, 0).T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt, layout="stereo")
        frame.sample_rate = rate
        frame.pts = t0
        for packet in stream.encode(frame):
            out.mux(packet)
        t0 += n
    for packet in stream.encode(None):
        out.mux(packet)


def audio_only(path: Path, seconds: float = 1.0) -> Path:
    out = av.open(str(path), "w", format="mp4")
    stream = out.add_stream("aac", rate=48000)
    stream.layout = "stereo"
    write_tone(out, stream, seconds)
    out.close()
    return path


def zero_frames(path: Path) -> Path:
    """An MP4 with a video stream and no pictures."""
    out = av.open(str(path), "w", format="mp4")
    stream = out.add_stream("libx264", rate=24)
    stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
    out.start_encoding()  # the header is written although no picture follows
    out.close()
    return path


def read_planes(path: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every frame's (Y, Cb, Cr) planes (test clips are small)."""
    planes = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            arr = frame.reformat(format="yuv420p").to_ndarray()
            h, w = frame.height, frame.width
            chroma = arr[h:].reshape(2, h // 2, w // 2)
            planes.append((arr[:h].copy(), chroma[0].copy(), chroma[1].copy()))
    return planes


def audio_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return 0.0
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.codec_context.sample_rate
