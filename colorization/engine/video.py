"""Colorize film: stream a clip's frames through the colorizer without flicker, keep its luma and audio.

The pipeline, and why each step is there:

1. Decoding streams (PyAV, FFmpeg inside the wheel): one frame at a time, so a ten-minute 1080p
   clip needs no more memory than a ten-second one. Frames are brought to 8-bit 4:2:0
   (``yuv420p``, limited range), the format of nearly every archive transfer; for such input
   the luma plane (Y') goes to the encoder **bit for bit unchanged**: only the two chroma planes
   are written. Turning the result grey again (dropping chroma) gives the original back.
2. Every frame is area-downsampled to the colorizer's working resolution (``render_size`` on
   the long side) and its L* computed there; shot boundaries are found on the same small grey
   frames (``ShotDetector``: a causal, flicker-tolerant detector, checked against scenedetect in
   the tests).
3. Temporal stability (chosen by measurement, ``benchmarks/video.py``): the network runs on the
   first frame of each shot, on keyframes and on every ``network_every``-th frame; in between,
   the previous frame's chroma is carried along dense optical flow (OpenCV DIS, ``flow_preset``,
   computed on the small grey frames) and, where the network runs, blended with the carried
   chroma by ``carry`` × the flow's forward-backward consistency (a causal filter along the
   flow), so occluded and new regions take the network's colour and everything else keeps its
   colour from frame to frame. Frame-by-frame colorization (``per_frame=True``) is the baseline
   the benchmark compares with.
4. A keyframe's hints (the editor's hints JSON, in the clip's pixel coordinates) are rasterized
   on the working grid at the keyframe and carried through the rest of its shot along the same
   flow (positions moved, occluded hints dropped); the next keyframe with hints of its own
   replaces them.
5. Chroma reaches full resolution with a guided filter whose guide is the luma at chroma
   resolution (as ``reconstruction.py`` does for photos), so colour edges sit on luminance
   edges. The output is H.264 in MP4 (VP9 in WebM where the wheel has no H.264 encoder), the
   original audio copied (or transcoded where the container cannot carry its codec), and the AI
   disclosure in the container metadata.
6. Cores: the per-frame torch work is small and runs on one thread (``_torch_threads``);
   FFmpeg decodes with its own threads, and encoding runs on a thread of its own (``_Writer``),
   overlapping the colorization of the next frame.

Rendering can stop after any chunk and resume (``render(..., state=...)``): the carried state
at a chunk boundary is a handful of small arrays (``RenderState``), saved without pickle.
"""

from __future__ import annotations

import io
import math
import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from .color import lab_to_rgb
from .global_hints import GlobalHint
from .hints import Hints, parse_hints, rasterize
from .imageio import DIGITAL_SOURCE_TYPE, _grey_lut, default_description
from .inference import Colorizer, RenderOptions, working_size
from .reconstruction import guided_coefficients

# Chosen with benchmarks/video.py on the first 96 frames of the five colour clips
# (benchmarks/results/video-sweep-2026-12-07b.md: chroma-only warping error vs frame by frame, 53.8 % lower
# with these values, +0.02 dB PSNR; every 16th frame or carry 0.95 remove a little more flicker, 55.4-55.9 %,
# but take the network's colour up more slowly and lose 0.01-0.02 dB); whole clips and the held-out frames
# after the 96th: video-2026-12-07b.md, video-heldout-2026-12-07.md.
DEFAULT_NETWORK_EVERY = 8  # frames between network runs inside a shot
DEFAULT_CARRY = 0.85  # weight of the flow-carried chroma where the network runs and the flow is reliable
# Forward-backward disagreement (working pixels) at which the carried chroma is trusted ~37%. One-off runs
# with the benchmark's metric (first 96 frames of tos_canal + marathon_street, DIS ultrafast): 2 removed as
# much flicker as trusting the flow everywhere (55.6 % vs 55.8 %), 0.5 less (52.4 %), and the photometric
# confidence it replaces 50.8 %.
FB_SIGMA = 2.0
FLOW_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
# OpenCV DIS preset for the flow the chroma is carried along: medium 53.8 %, fast 51.3 %, ultrafast 50.8 %
# (sweep above), for about 2 ms more CPU per 480p frame than ultrafast (14.6 vs 12.0 ms in that sweep).
DEFAULT_FLOW_PRESET = "medium"
KEYFRAME_SECONDS = 4.0  # a long shot gets a keyframe at least this often
# Reproducible encodes, the same frames giving the same bits on every run (so a resumed render equals a
# one-pass render): one encoder thread, and no macroblock-tree rate control. Measured with this wheel's
# x264 (8 frames, CRF 20, veryfast, 30 encodes each): one thread with mbtree gave 5 different streams,
# mbtree=0 one; two threads differed almost every time.
ENCODER_THREADS = 1
X264_REPRODUCIBLE = {"x264-params": "mbtree=0"}
CONTAINERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}

HintsLike = Hints | dict | None


class VideoError(ValueError):
    """A clip that cannot be used (not a video, truncated, no frames, over a limit); shown to users."""


class NoFramesLeft(VideoError):
    """A render (or chunk) asked to start at or after the clip's last decodable frame: nothing written."""


# --- reading ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoInfo:
    """What a clip is, from its headers and (with ``decode=True``) from decoding every frame."""

    width: int
    height: int
    fps: Fraction
    frames: int  # decoded count with decode=True, else the header's (0 when unknown)
    duration: float  # seconds
    container: str
    codec: str
    pix_fmt: str
    audio_codec: str | None  # None: no audio stream

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


def _open(source: str | os.PathLike) -> av.container.InputContainer:
    try:
        return av.open(str(source), metadata_errors="ignore")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoError(f"not a video file we can read ({_why(exc)})") from None


def _why(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    # FFmpeg errors repeat the path; the user knows which file they sent.
    return text.split(": '", 1)[0]


def _video_stream(container) -> av.video.stream.VideoStream:
    if not container.streams.video:
        kind = "only audio" if container.streams.audio else "no video stream"
        raise VideoError(f"the file has {kind}; upload a clip with pictures")
    return container.streams.video[0]


def _fps(stream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0:
        raise VideoError("the clip does not say its frame rate")
    return Fraction(rate)


def _headers(container, max_duration: float | None, max_pixels: int | None):
    """The video stream and what its headers say (size, rate, duration, audio codec), checked against
    the limits: ``probe`` and ``check`` begin with this."""
    stream = _video_stream(container)
    ctx = stream.codec_context
    width, height = ctx.width, ctx.height
    if not width or not height:
        raise VideoError("the video stream has no picture size; the file may be damaged")
    if max_pixels and width * height > max_pixels:
        raise VideoError(f"the clip is {width}×{height}; the limit is {max_pixels:,} pixels per frame")
    fps = _fps(stream)
    header_duration = _header_duration(container, stream)
    if max_duration and header_duration and header_duration > max_duration + 0.5:
        raise VideoError(f"the clip lasts {_clock(header_duration)}; the limit is {_clock(max_duration)}")
    audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
    return stream, width, height, fps, header_duration, audio


def probe(
    source: str | os.PathLike,
    *,
    decode: bool = True,
    max_duration: float | None = None,
    max_pixels: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> VideoInfo:
    """Read a clip's headers, check the limits, and (``decode``) decode every frame.

    Decoding catches what headers hide: damaged streams, files cut short (fewer frames or less
    time than the headers promise), clips with no pictures at all. Every refusal is a
    ``VideoError`` whose message a user can act on.
    """
    with _open(source) as container:
        stream, width, height, fps, header_duration, audio = _headers(container, max_duration, max_pixels)
        ctx = stream.codec_context
        frames, last_time = stream.frames or 0, header_duration or 0.0
        if decode:
            frames, last_time = _decode_all(container, stream, fps, max_duration, progress)
            if frames == 0:
                raise VideoError("the clip has no frames that can be decoded")
            if stream.frames and frames < stream.frames * 0.98 - 1:
                raise VideoError(f"the file is cut short: {frames} of {stream.frames} frames can be decoded")
            if header_duration and last_time < header_duration * 0.9 - 1:
                raise VideoError(
                    f"the file is cut short: pictures stop at {_clock(last_time)} of {_clock(header_duration)}"
                )
        return VideoInfo(
            width=width,
            height=height,
            fps=fps,
            frames=frames,
            duration=max(last_time, header_duration or 0.0) if not decode else last_time,
            container=container.format.name,
            codec=ctx.name,
            pix_fmt=ctx.format.name if ctx.format else "",
            audio_codec=audio,
        )


EDGE_FRAMES = 3  # frames ``check`` decodes at each end of a clip
TAIL_PACKETS = 600  # at most this many packets held to decode the last frames from their keyframe
# What browsers play in a <video> element without help: (container, video codecs, audio codecs).
# MOV, MKV, AVI, H.265, MPEG-2/4 part 2, ProRes and 10-bit or 4:2:2 pictures need a web copy.
BROWSER_PLAYABLE = {
    "MP4": ({"h264", "vp9", "av1"}, {"", "aac", "mp3", "opus", "flac"}),
    "WEBM": ({"vp8", "vp9", "av1"}, {"", "opus", "vorbis"}),
}

DECODER_CODECS = {"libdav1d": "av1", "libaom-av1": "av1", "libvpx": "vp8", "libvpx-vp9": "vp9"}  # decoder -> codec


def check(
    source: str | os.PathLike,
    *,
    max_duration: float | None = None,
    max_pixels: int | None = None,
    edge_frames: int = EDGE_FRAMES,
) -> VideoInfo:
    """``probe`` without decoding the whole clip, for the upload request.

    Headers and limits as ``probe``; then every video packet is demuxed but not decoded (cheap: it
    reads the file once and catches a file cut short, whose packets stop before the headers' end),
    and only the first and the last ``edge_frames`` frames are decoded (catching a damaged stream
    start and a damaged or half-written last packet). The frame count is the packet count. Damage
    inside the clip that only decoding would find is left to the render, which reports it.
    """
    with _open(source) as container:
        stream, width, height, fps, header_duration, audio = _headers(container, max_duration, max_pixels)
        ctx = stream.codec_context
        tb = stream.time_base
        packets = decoded = 0
        first: float | None = None
        end = 0.0
        gops: list[list] = []  # the last groups of pictures (keyframe first), enough for ``edge_frames``
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                if packet.is_corrupt:
                    raise VideoError(f"the file is cut short or damaged at frame {packets + 1}")
                packets += 1
                if packet.pts is not None and tb:
                    t = float(packet.pts * tb)
                    first = t if first is None else min(first, t)
                    step = float(packet.duration * tb) if packet.duration else float(1 / fps)
                    end = max(end, t + step)
                    if max_duration and end - first > max_duration + 0.5:
                        raise VideoError(f"the clip lasts more than {_clock(max_duration)}, the limit")
                if decoded < edge_frames:  # the first frames, decoded as they come
                    decoded += len(packet.decode())
                if packet.is_keyframe:
                    gops.append([])
                if gops:
                    gops[-1].append(packet)
                while len(gops) > 1 and sum(len(g) for g in gops[1:]) >= edge_frames:
                    gops.pop(0)
                if gops and len(gops[-1]) > TAIL_PACKETS:  # a very long group of pictures: not held
                    gops.clear()
            if decoded < edge_frames:
                decoded += len(ctx.decode(None))  # the decoder's delayed frames
        except av.FFmpegError as exc:
            raise VideoError(f"the video is damaged at frame {packets + 1} ({_why(exc)})") from None
        if packets == 0 or decoded == 0:
            raise VideoError("the clip has no frames that can be decoded")
        last_time = end - first if first is not None else packets / float(fps)
        if stream.frames and packets < stream.frames * 0.98 - 1:
            raise VideoError(f"the file is cut short: {packets} of {stream.frames} frames are in it")
        if header_duration and last_time < header_duration * 0.9 - 1:
            stop = f"{_clock(last_time)} of {_clock(header_duration)}"
            raise VideoError(f"the file is cut short: pictures stop at {stop}")
        tail = [p for g in gops for p in g]
        if tail:  # else no keyframe in the last TAIL_PACKETS packets: the demux pass is the check there
            ctx.flush_buffers()
            frames = 0
            try:
                for packet in tail:
                    frames += len(packet.decode())
                frames += len(ctx.decode(None))
            except av.FFmpegError as exc:
                raise VideoError(f"the video is damaged near its end ({_why(exc)})") from None
            if frames == 0:
                raise VideoError("the last frames of the clip cannot be decoded; the file may be cut short")
        return VideoInfo(
            width=width,
            height=height,
            fps=fps,
            frames=packets,
            duration=last_time,
            container=container.format.name,
            codec=ctx.name,
            pix_fmt=ctx.format.name if ctx.format else "",
            audio_codec=audio,
        )


def browser_playable(container: str, codec: str, pix_fmt: str, audio_codec: str | None) -> bool:
    """Whether browsers play the file as it is (``container`` as ``clips.sniff_container`` names it)."""
    video, audio = BROWSER_PLAYABLE.get(container, (set(), set()))
    codec = DECODER_CODECS.get(codec, codec)
    return codec in video and pix_fmt in ("yuv420p", "yuvj420p") and (audio_codec or "") in audio


def _header_duration(container, stream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return None


def _decode_all(container, stream, fps, max_duration, progress) -> tuple[int, float]:
    frames, start, end = 0, None, 0.0
    try:
        for frame in container.decode(stream):
            t = frame.time if frame.time is not None else frames / fps
            start = t if start is None else start
            frames += 1
            end = float(t - start) + float(1 / fps)
            if max_duration and end > max_duration + 0.5:
                raise VideoError(f"the clip lasts more than {_clock(max_duration)}, the limit")
            if progress and frames % 100 == 0:
                progress(frames)
    except av.FFmpegError as exc:
        raise VideoError(f"the video is damaged at frame {frames + 1} ({_why(exc)})") from None
    return frames, end


def _clock(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m}:{s:02d}"


@dataclass
class Planes:
    """One frame as 8-bit limited-range 4:2:0: Y (H,W), Cb and Cr (H/2,W/2), and its timing."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    pts: int | None
    time: float | None


def iter_planes(container, stream) -> Iterator[Planes]:
    """Decode ``stream`` frame by frame as yuv420p planes (the conversion is a no-op for most clips)."""
    stream.thread_type = "AUTO"
    for frame in container.decode(stream):
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        arr = frame.to_ndarray()  # (H*3/2, W): Y, then U and V quarter planes
        h, w = frame.height, frame.width
        cw, ch = w // 2, h // 2
        y = arr[:h]
        chroma = arr[h:].reshape(2, ch, cw)
        yield Planes(y, chroma[0], chroma[1], frame.pts, frame.time)


def read_frame(source: str | os.PathLike, index: int) -> tuple[Planes, str]:
    """Frame ``index`` (0-based, in decoding order as the renderer counts) as planes, and its matrix.

    Streams up to the frame (a keyframe near the end of a long clip costs one decode pass, as a
    render does); raises ``VideoError`` when the clip has fewer frames.
    """
    if index < 0:
        raise VideoError(f"frame {index} does not exist; frames count from 0")
    with _open(source) as container:
        stream = _video_stream(container)
        matrix = matrix_for(stream.codec_context.colorspace, stream.codec_context.height)
        count = 0
        for count, planes in enumerate(iter_planes(container, stream), 1):
            if count - 1 == index:
                return Planes(planes.y.copy(), planes.u.copy(), planes.v.copy(), planes.pts, planes.time), matrix
    raise VideoError(f"the clip has no frame {index + 1}; it has {count} frames")


def frame_luminance(y: np.ndarray):
    """A frame's L* at full size as a ``LumaImage`` (the photo pipeline's input) from its 8-bit luma
    plane (H,W): the renderer's own luma -> L* table, so a keyframe still, its preview and the clip
    render see the same lightness."""
    from .imageio import LumaImage

    return LumaImage(np.ascontiguousarray(LUMA_TO_L[y]), 8, "L")


# --- colour --------------------------------------------------------------------------------------------

# (Kr, Kb) of the luma/chroma matrices.
MATRICES = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}


def matrix_for(colorspace: int | None, height: int) -> str:
    """The Y'CbCr matrix a player applies: the stream's tag (1 = BT.709; 5, 6 = BT.601), else BT.709 from
    720 lines up and BT.601 below, as browsers and FFmpeg's players guess."""
    if colorspace == 1:
        return "bt709"
    if colorspace in (5, 6):
        return "bt601"
    return "bt709" if height >= 720 else "bt601"


@torch.inference_mode()
def lab_to_ycbcr(L: torch.Tensor, ab: torch.Tensor, matrix: str) -> torch.Tensor:
    """L* (1,h,w) + ab (2,h,w) -> 8-bit limited-range code values (Y', Cb, Cr) as float (3,h,w)."""
    kr, kb = MATRICES[matrix]
    rgb = lab_to_rgb(torch.cat((L, ab)), dim=0)
    r, g, b = rgb.unbind(0)
    y = kr * r + (1 - kr - kb) * g + kb * b
    cb = (b - y) / (2 * (1 - kb))
    cr = (r - y) / (2 * (1 - kr))
    return torch.stack((16 + 219 * y, 128 + 224 * cb, 128 + 224 * cr))


def ycbcr_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, matrix: str) -> np.ndarray:
    """8-bit limited-range 4:2:0 planes -> sRGB uint8 (H,W,3), chroma upsampled bilinearly (for measuring)."""
    kr, kb = MATRICES[matrix]
    h, w = y.shape
    Y = (y.astype(np.float32) - 16) / 219
    Cb = (cv2.resize(u, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32) - 128) / 224
    Cr = (cv2.resize(v, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32) - 128) / 224
    r = Y + 2 * (1 - kr) * Cr
    b = Y + 2 * (1 - kb) * Cb
    g = (Y - kr * r - kb * b) / (1 - kr - kb)
    return np.clip(np.stack((r, g, b), -1) * 255 + 0.5, 0, 255).astype(np.uint8)


def _luma_lut() -> np.ndarray:
    """L* of each limited-range luma code (16 black, 235 white), read as an sRGB grey."""
    grey = _grey_lut(256)
    codes = np.clip((np.arange(256) - 16) * 255 / 219, 0, 255)
    return np.interp(codes, np.arange(256), grey).astype(np.float32)


LUMA_TO_L = _luma_lut()


# --- shots ----------------------------------------------------------------------------------------------


class ShotDetector:
    """Causal shot-boundary detection on small grey frames.

    The score of a frame is the mean absolute difference from the previous frame after both are
    normalized to zero mean and unit contrast, so the brightness flicker of old film does not
    count; a cut is a score both above ``threshold`` and ``ratio`` times the median of the
    recent scores (fast motion raises the median, so it is not mistaken for a cut). A shot lasts
    at least ``min_frames``, which also keeps a single damaged frame (a blotch) from being a
    shot of its own.
    """

    THUMB = (64, 36)

    def __init__(self, threshold: float = 0.45, ratio: float = 3.0, min_frames: int = 8, window: int = 12):
        self.threshold, self.ratio, self.min_frames, self.window = threshold, ratio, min_frames, window
        self.previous: np.ndarray | None = None
        self.scores: list[float] = []
        self.since_cut = 0

    def update(self, grey: np.ndarray) -> bool:
        """Feed the next frame (uint8 (h,w), any small size); True when it starts a new shot."""
        thumb = cv2.resize(grey, self.THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)
        thumb -= thumb.mean()
        thumb /= thumb.std() + 4.0
        previous, self.previous = self.previous, thumb
        if previous is None:
            self.since_cut = 1
            return True
        score = float(np.abs(thumb - previous).mean())
        recent = self.scores[-self.window :]
        self.scores.append(score)
        self.since_cut += 1
        baseline = float(np.median(recent)) if len(recent) >= 3 else 0.0
        if self.since_cut > self.min_frames and score > self.threshold and score > self.ratio * baseline:
            self.since_cut = 1
            return True
        return False


def detect_shots(source: str | os.PathLike, render_size: int = 224) -> tuple[list[int], int, Fraction]:
    """First frames of the clip's shots (frame 0 included), the frame count and the frame rate."""
    detector = ShotDetector()
    starts: list[int] = []
    n = 0
    with _open(source) as container:
        stream = _video_stream(container)
        fps = _fps(stream)
        for n, planes in enumerate(iter_planes(container, stream)):
            h, w = planes.y.shape
            sw, sh = working_size(w, h, render_size)
            if detector.update(cv2.resize(planes.y, (sw, sh), interpolation=cv2.INTER_AREA)):
                starts.append(n)
        return starts, (n + 1) if starts else 0, fps


def choose_keyframes(
    shot_starts: list[int], frames: int, fps: float, every_seconds: float = KEYFRAME_SECONDS
) -> list[int]:
    """A keyframe at each shot's start and, in long shots, at least every ``every_seconds`` (evenly spaced)."""
    keyframes = []
    bounds = [*shot_starts, frames]
    step = max(1, round(every_seconds * float(fps)))
    for start, end in pairwise(bounds):
        length = end - start
        parts = max(1, math.ceil(length / step))
        keyframes.extend(start + (i * length) // parts for i in range(parts))
    return keyframes


# --- the renderer ----------------------------------------------------------------------------------


@dataclass
class RenderState:
    """What the next frame needs from the frames before it; small, and saved as plain arrays (npz)."""

    frame: int = 0  # frames finished
    grey: np.ndarray | None = None  # previous frame, working resolution uint8 (h,w)
    ab: np.ndarray | None = None  # previous frame's chroma (2,h,w)
    hint_ab: np.ndarray | None = None  # hints carried through the shot (2,h,w), (1,h,w)
    hint_mask: np.ndarray | None = None
    since_network: int = 0
    detector_scores: list[float] = field(default_factory=list)
    detector_since_cut: int = 0
    detector_thumb: np.ndarray | None = None

    def to_bytes(self) -> bytes:
        arrays = {"frame": np.array(self.frame), "since_network": np.array(self.since_network)}
        arrays["detector_scores"] = np.array(self.detector_scores[-64:], np.float32)
        arrays["detector_since_cut"] = np.array(self.detector_since_cut)
        for name in ("grey", "ab", "hint_ab", "hint_mask", "detector_thumb"):
            value = getattr(self, name)
            if value is not None:
                arrays[name] = value
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> RenderState:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            get = lambda name: z[name] if name in z.files else None  # noqa: E731
            return cls(
                frame=int(z["frame"]),
                grey=get("grey"),
                ab=get("ab"),
                hint_ab=get("hint_ab"),
                hint_mask=get("hint_mask"),
                since_network=int(z["since_network"]),
                detector_scores=[float(s) for s in z["detector_scores"]],
                detector_since_cut=int(z["detector_since_cut"]),
                detector_thumb=get("detector_thumb"),
            )


@dataclass(frozen=True)
class RenderResult:
    frames: int
    fps: Fraction
    width: int
    height: int
    network_frames: int
    shots: list[int]
    seconds: float
    output: str
    finished: bool  # False when ``stop_after`` ended the render before the last frame


def disclosure(metadata: dict) -> dict[str, str]:
    """Container tags: the plain-text AI disclosure every colorized output carries."""
    description = default_description(metadata)
    tags = {
        "title": str(metadata.get("title") or "AI-colorized film"),
        "comment": f"AI-colorized. {description} IPTC digital source type: {DIGITAL_SOURCE_TYPE}",
        "description": description,
        "encoder": "Chroma Commons colorize_video",
    }
    for key in ("model", "model_version", "original_sha256"):
        if metadata.get(key):
            tags[f"chroma_{key}"] = str(metadata[key])
    tags["chroma_digital_source_type"] = DIGITAL_SOURCE_TYPE
    return tags


def read_tags(path: str | os.PathLike) -> dict[str, str]:
    with _open(path) as container:
        return {k.lower(): v for k, v in container.metadata.items()}


def _pick_encoder(suffix: str) -> tuple[str, str, str]:
    """(container format, video encoder, audio encoder) for an output path's extension."""
    codecs = av.codecs_available
    if suffix == ".webm" or "libx264" not in codecs:
        return "webm", "libvpx-vp9", "libopus"
    return "mp4", "libx264", "aac"


class VideoColorizer:
    """A colorizer for clips: ``render(src, dst)`` streams ``src`` to an AI-colorized ``dst``."""

    def __init__(
        self,
        colorizer: Colorizer,
        *,
        render_size: int = 224,
        network_every: int = DEFAULT_NETWORK_EVERY,
        carry: float = DEFAULT_CARRY,
        per_frame: bool = False,
        options: RenderOptions | None = None,
        crf: int = 20,
        preset: str = "veryfast",
        flow_preset: str = DEFAULT_FLOW_PRESET,
        threads: int | None = None,
        torch_threads: int = 1,
    ):
        if network_every < 1:
            raise ValueError("network_every must be at least 1")
        if not 0 <= carry < 1:
            raise ValueError("carry must be in [0, 1)")
        self.colorizer = colorizer
        self.render_size = render_size
        self.network_every = 1 if per_frame else network_every
        self.carry = 0.0 if per_frame else carry
        self.per_frame = per_frame
        self.options = options
        self.crf, self.preset = crf, preset
        if flow_preset not in FLOW_PRESETS:
            raise ValueError(f"flow_preset must be one of {', '.join(FLOW_PRESETS)}")
        self.flow_preset = flow_preset
        self._flow = cv2.DISOpticalFlow_create(FLOW_PRESETS[flow_preset])
        # Cores for FFmpeg's decoder and encoder threads; the per-frame torch work stays on one thread.
        self.threads = threads if threads is not None else max(1, torch.get_num_threads())
        self.torch_threads = torch_threads  # more only to measure what they cost (benchmarks/video.py)

    # -- one frame

    def _hints_on_grid(self, hints: HintsLike, width: int, height: int, w: int, h: int):
        if hints is None:
            return None, None, None
        if isinstance(hints, dict):
            hints = parse_hints(hints, width, height)
        hint_ab, mask = rasterize(hints, width, height, w, h)
        return hint_ab, mask, hints.global_hint()

    @staticmethod
    def _global_of(hints: HintsLike) -> GlobalHint | None:
        if isinstance(hints, dict):
            hints = parse_hints(hints, 1 << 20, 1 << 20)
        return hints.global_hint() if hints is not None else None

    def _warp(self, image: np.ndarray, grid: np.ndarray, nearest: bool = False) -> np.ndarray:
        """Sample ``image`` (C,h,w) or (h,w) at ``grid`` (h,w,2): the previous frame moved onto this one."""
        interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
        if image.ndim == 2:
            return cv2.remap(image, grid[..., 0], grid[..., 1], interp, borderMode=cv2.BORDER_REPLICATE)
        return np.stack(
            [cv2.remap(c, grid[..., 0], grid[..., 1], interp, borderMode=cv2.BORDER_REPLICATE) for c in image]
        )

    def _motion(self, previous: np.ndarray, grey: np.ndarray, pixel_grid: np.ndarray, confident: bool):
        """Where each pixel of ``grey`` was in ``previous`` (a remap grid), and (``confident``) how far to trust it.

        The confidence is the forward-backward consistency of the flow (Sundaram et al. 2010): following
        the flow back to the previous frame and forward again should come home; where it does not
        (occlusions, new regions, flow errors) the carried chroma is not trusted. It is only needed
        where the network runs or hints are carried, so the forward flow is computed only then.
        """
        back = self._flow.calc(grey, previous, None)
        grid = back + pixel_grid
        if not confident:
            return grid, None
        forward = self._flow.calc(previous, grey, None)
        forward_at = cv2.remap(forward, grid[..., 0], grid[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        miss = np.sum((back + forward_at) ** 2, -1)
        return grid, np.exp(miss * (-1 / FB_SIGMA**2)).astype(np.float32)

    def _chroma(self, planes: Planes, grey: np.ndarray, L: torch.Tensor, ab: torch.Tensor, matrix: str):
        """Working-res chroma -> Cb, Cr planes at chroma resolution, guided by the frame's luma there."""
        ycc = lab_to_ycbcr(L, ab, matrix)
        guide = torch.from_numpy(grey.astype(np.float32) / 255)[None]
        A, B = guided_coefficients(guide, ycc[1:], radius=1, eps=2e-3)
        ch, cw = planes.u.shape
        luma_c = cv2.resize(planes.y, (cw, ch), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        out = []
        for i in range(2):
            a = cv2.resize(A[i].numpy(), (cw, ch), interpolation=cv2.INTER_LINEAR)
            b = cv2.resize(B[i].numpy(), (cw, ch), interpolation=cv2.INTER_LINEAR)
            out.append(np.clip(a * luma_c + b + 0.5, 16, 240).astype(np.uint8))
        return out

    # -- the clip

    def render(
        self,
        source: str | os.PathLike,
        output: str | os.PathLike,
        *,
        keyframe_hints: dict[int, HintsLike] | None = None,
        shots: list[int] | None = None,
        metadata: dict | None = None,
        progress: Callable[[int, int], None] | None = None,
        state: RenderState | None = None,
        stop_after: int | None = None,
        audio: bool = True,
        stills: set[int] | frozenset[int] = frozenset(),
        on_still: Callable[[int, np.ndarray, np.ndarray, np.ndarray], None] | None = None,
    ) -> RenderResult:
        """Colorize ``source`` into ``output`` (the extension picks MP4/MOV/MKV or WebM).

        ``keyframe_hints`` maps frame numbers to hints; ``shots`` gives the shots' first frames
        (otherwise they are detected on the fly). ``state`` and ``stop_after`` render a chunk:
        frames ``state.frame`` .. ``stop_after - 1`` go to ``output`` (video only, no tags), and the
        state to continue from is left in ``state``; ``join_chunks`` puts the chunks and the audio
        together. For each frame number in ``stills``, ``on_still(index, colour, original, luma)`` gets
        the frame as rendered and as decoded (sRGB uint8 (H,W,3), the same luma) and its luma plane
        (uint8 (H,W), limited range): a keyframe's draft image, which volunteers correct in the editor.
        """
        import time

        started = time.perf_counter()
        keyframe_hints = dict(keyframe_hints or {})
        shot_set = set(shots) if shots is not None else None
        state = state if state is not None else RenderState()
        first = state.frame
        output = Path(output)
        suffix = output.suffix.lower()
        fmt, vcodec, acodec = _pick_encoder(suffix)
        if suffix in (".mov", ".mkv") and fmt == "mp4":
            fmt = CONTAINERS[suffix]
        detector = ShotDetector()
        detector.scores, detector.since_cut, detector.previous = (
            list(state.detector_scores),
            state.detector_since_cut,
            state.detector_thumb,
        )
        global_hint: GlobalHint | None = None
        if state.hint_mask is not None:  # resuming inside a shot whose keyframe had hints: its global hint too
            earlier = [k for k in keyframe_hints if k < first and keyframe_hints[k] is not None]
            global_hint = self._global_of(keyframe_hints[max(earlier)]) if earlier else None
        found_shots: list[int] = []
        network_frames = 0
        with _open(source) as container, _torch_threads(self.torch_threads):
            stream = _video_stream(container)
            fps = _fps(stream)
            total = stream.frames or 0
            width, height = stream.codec_context.width, stream.codec_context.height
            if width % 2 or height % 2:
                raise VideoError(f"the clip is {width}×{height}; 4:2:0 video needs an even width and height")
            matrix = matrix_for(stream.codec_context.colorspace, height)
            w, h = working_size(width, height, self.render_size)
            pixel_grid = np.stack(np.meshgrid(np.arange(w), np.arange(h)), -1).astype(np.float32)
            tmp = output.with_name(f".{output.name}.part")
            muxer_options = {"movflags": "+faststart+use_metadata_tags"} if fmt in ("mp4", "mov") else {}
            out = av.open(str(tmp), "w", format=fmt, options=muxer_options)
            writer = None
            try:
                out_stream = out.add_stream(vcodec, rate=fps)
                out_stream.width, out_stream.height, out_stream.pix_fmt = width, height, "yuv420p"
                out_stream.time_base = stream.time_base
                out_stream.codec_context.time_base = stream.time_base
                out_stream.codec_context.colorspace = 1 if matrix == "bt709" else 6
                out_stream.codec_context.color_range = 1  # limited ("MPEG") range
                out_stream.options = (
                    {"crf": str(self.crf), "preset": self.preset, **X264_REPRODUCIBLE}
                    if vcodec == "libx264"
                    else {"crf": str(self.crf + 12), "b": "0", "deadline": "realtime", "cpu-used": "8"}
                )
                # One encoder thread: x264 with frame threads gave different bits from run to run on a
                # loaded machine, so a resumed render's chunks differed from a one-pass render's. The
                # encoder is a small share of the time (the network and the flow dominate).
                out_stream.thread_count = ENCODER_THREADS
                whole = stop_after is None and first == 0
                if whole:
                    out.metadata.update(disclosure(metadata or {}))
                audio_mux = _AudioCopy(source, out, acodec, fmt) if (audio and whole) else None
                writer = _Writer(out, out_stream, stream.time_base, audio_mux, threaded=self.threads > 1)
                start_pts = None
                for index, planes in enumerate(iter_planes(container, stream)):
                    start_pts = planes.pts if start_pts is None else start_pts
                    if index < first:
                        continue
                    if stop_after is not None and index >= stop_after:
                        break
                    grey = cv2.resize(planes.y, (w, h), interpolation=cv2.INTER_AREA)
                    cut = detector.update(grey) if shot_set is None else (index in shot_set or index == 0)
                    if cut or state.grey is None:
                        found_shots.append(index)
                        state.ab = state.hint_ab = state.hint_mask = None
                        global_hint = None
                    L = torch.from_numpy(LUMA_TO_L[grey])[None]
                    run = state.ab is None or index in keyframe_hints or state.since_network + 1 >= self.network_every
                    carried = confidence = None
                    if state.ab is not None and (self.carry > 0 or state.hint_mask is not None):
                        # The forward-backward confidence is only used where the network runs or hints move.
                        confident = (run and self.carry > 0) or state.hint_mask is not None
                        grid, confidence = self._motion(state.grey, grey, pixel_grid, confident)
                        carried = self._warp(state.ab, grid)
                        if state.hint_mask is not None:
                            mask = self._warp(state.hint_mask, grid, nearest=True) * (confidence > 0.5)
                            state.hint_ab = self._warp(state.hint_ab, grid, nearest=True) * mask
                            state.hint_mask = mask
                    if index in keyframe_hints and keyframe_hints[index] is not None:
                        hint_ab, mask, global_hint = self._hints_on_grid(keyframe_hints[index], width, height, w, h)
                        state.hint_ab, state.hint_mask = hint_ab, mask
                    if run or carried is None:
                        hint_ab = torch.from_numpy(state.hint_ab) if state.hint_mask is not None else None
                        mask = torch.from_numpy(state.hint_mask) if state.hint_mask is not None else None
                        net = self.colorizer.predict_working_ab(L, hint_ab, mask, global_hint, self.options).cpu()
                        network_frames += 1
                        state.since_network = 0
                        if carried is None or self.carry == 0:
                            ab = net
                        else:
                            weight = torch.from_numpy(self.carry * confidence)[None]
                            if mask is not None:  # a hinted pixel takes its hint now, not in a few frames
                                weight = weight * (1 - mask)
                            ab = torch.lerp(net, torch.from_numpy(carried), weight)
                    else:
                        ab = torch.from_numpy(carried)
                        state.since_network += 1
                    u, v = self._chroma(planes, grey, L, ab, matrix)
                    if on_still is not None and index in stills:
                        on_still(
                            index,
                            ycbcr_to_rgb(planes.y, u, v, matrix),
                            ycbcr_to_rgb(planes.y, planes.u, planes.v, matrix),
                            planes.y,
                        )
                    writer.put(
                        np.concatenate((planes.y, u.reshape(-1, width), v.reshape(-1, width))),
                        (planes.pts - start_pts) if planes.pts is not None else index,
                        planes.time,
                    )
                    state.grey, state.ab, state.frame = grey, ab.numpy(), index + 1
                    if progress is not None:
                        progress(index + 1, total)
                if state.frame == first:
                    raise NoFramesLeft(f"the clip has no frames from frame {first + 1} on")
                writer.close()
            except BaseException:
                if writer is not None:
                    writer.abort()
                out.close()
                tmp.unlink(missing_ok=True)
                raise
            out.close()
            tmp.replace(output)
        state.detector_scores = detector.scores[-64:]
        state.detector_since_cut, state.detector_thumb = detector.since_cut, detector.previous
        finished = stop_after is None or (total and state.frame >= total)
        return RenderResult(
            frames=state.frame - first,
            fps=fps,
            width=width,
            height=height,
            network_frames=network_frames,
            shots=found_shots,
            seconds=time.perf_counter() - started,
            output=str(output),
            finished=bool(finished),
        )


def web_copy(
    source: str | os.PathLike,
    output: str | os.PathLike,
    *,
    crf: int = 18,
    preset: str = "veryfast",
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """A copy of ``source`` that browsers play: H.264 (8-bit 4:2:0) and AAC in an MP4. Returns its frames.

    For the player's "original" side when the original itself does not play in browsers (ProRes/MOV,
    MPEG-2, MPEG-4 part 2 in AVI, MKV, 10-bit...). The pictures are not touched: no scaling, the
    luma plane of 8-bit 4:2:0 limited-range input goes to the encoder bit for bit (other input is
    only converted to that format) and the colour matrix tag is kept; AAC and MP3 audio is copied,
    anything else is encoded to AAC. The original file itself is never changed.
    """
    output = Path(output)
    tmp = output.with_name(f".{output.name}.part")
    frames = 0
    with _open(source) as container:
        stream = _video_stream(container)
        fps = _fps(stream)
        total = stream.frames or 0
        width, height = stream.codec_context.width, stream.codec_context.height
        if width % 2 or height % 2:
            raise VideoError(f"the clip is {width}×{height}; 4:2:0 video needs an even width and height")
        matrix = matrix_for(stream.codec_context.colorspace, height)
        out = av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"})
        try:
            out_stream = out.add_stream("libx264", rate=fps)
            out_stream.width, out_stream.height, out_stream.pix_fmt = width, height, "yuv420p"
            out_stream.time_base = stream.time_base
            out_stream.codec_context.time_base = stream.time_base
            out_stream.codec_context.colorspace = 1 if matrix == "bt709" else 6
            out_stream.codec_context.color_range = 1
            out_stream.options = {"crf": str(crf), "preset": preset, **X264_REPRODUCIBLE}
            out_stream.thread_count = ENCODER_THREADS
            audio = _AudioCopy(source, out, "aac", "mp4", copy={"aac", "mp3"})
            start_pts = None
            for index, planes in enumerate(iter_planes(container, stream)):
                start_pts = planes.pts if start_pts is None else start_pts
                frame = av.VideoFrame.from_ndarray(
                    np.concatenate((planes.y, planes.u.reshape(-1, width), planes.v.reshape(-1, width))),
                    format="yuv420p",
                )
                frame.pts = (planes.pts - start_pts) if planes.pts is not None else index
                frame.time_base = stream.time_base
                audio.until(planes.time)
                for packet in out_stream.encode(frame):
                    out.mux(packet)
                frames = index + 1
                if progress is not None:
                    progress(frames, total)
            if frames == 0:
                raise VideoError("the clip has no frames that can be decoded")
            for packet in out_stream.encode():
                out.mux(packet)
            audio.until(None)
        except BaseException:
            out.close()
            tmp.unlink(missing_ok=True)
            raise
        out.close()
    tmp.replace(output)
    return frames


class _Writer:
    """Encodes and muxes the finished frames (and the audio beside them), in order.

    With ``threaded`` this happens on a thread of its own: PyAV lets go of the GIL while FFmpeg
    encodes, so the encoder works on frame t while the colorizer works on frame t+1 (a short queue
    bounds the frames in flight). An error on that thread is raised in the caller at its next
    ``put`` or at ``close``.
    """

    def __init__(self, out, stream, time_base: Fraction, audio_mux: _AudioCopy | None, threaded: bool):
        self.out, self.stream, self.time_base, self.audio = out, stream, time_base, audio_mux
        self.error: BaseException | None = None
        self.queue: queue.Queue | None = None
        if threaded:
            self.queue = queue.Queue(maxsize=4)
            self.thread = threading.Thread(target=self._drain, name="video-encoder", daemon=True)
            self.thread.start()

    def put(self, image: np.ndarray, pts: int, time: float | None) -> None:
        """``image``: the yuv420p planes stacked as ``VideoFrame.from_ndarray`` takes them."""
        if self.queue is None:
            self._write(image, pts, time)
            return
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.queue.put((image, pts, time), timeout=0.5)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Write what is queued, flush the encoder and the rest of the audio."""
        self._stop()
        if self.error is not None:
            raise self.error
        for packet in self.stream.encode():
            self.out.mux(packet)
        if self.audio is not None:
            self.audio.until(None)

    def abort(self) -> None:
        self._stop()

    def _stop(self) -> None:
        if self.queue is not None and self.thread.is_alive():
            self.queue.put(None)  # the thread keeps taking items until this one, so this never waits for long
            self.thread.join()

    def _drain(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self._write(*item)
                except BaseException as exc:  # noqa: BLE001 (raised again in the rendering thread)
                    self.error = exc

    def _write(self, image: np.ndarray, pts: int, time: float | None) -> None:
        frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
        frame.pts, frame.time_base = pts, self.time_base
        if self.audio is not None:
            self.audio.until(time)
        for packet in self.stream.encode(frame):
            self.out.mux(packet)


@contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    """Run the per-frame torch work on ``count`` (1) intra-op threads; give the caller's setting back after.

    The tensors are a few tens of thousands of pixels: a second OpenMP thread saves nothing on them,
    and while FFmpeg's decoder and encoder threads (or anything else on a shared machine) hold the
    other core, OpenMP's threads wait on each other at every operation. Measured at 480p on 2 cores
    with one competing process: 4.9 frames/s with 2 torch threads, 42.6 with 1.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def join_chunks(
    chunks: list[str | os.PathLike], source: str | os.PathLike, output: str | os.PathLike, metadata: dict | None = None
) -> int:
    """Put chunk renders (``render(..., stop_after=...)``, same settings) together with the source's audio.

    The chunks' packets are copied, not re-encoded: their timestamps are already the clip's, and
    every chunk starts with a keyframe, so the joined stream plays and seeks like one render. Returns
    the number of video packets written.
    """
    output = Path(output)
    suffix = output.suffix.lower()
    fmt, _, acodec = _pick_encoder(suffix)
    if suffix in (".mov", ".mkv") and fmt == "mp4":
        fmt = CONTAINERS[suffix]
    tmp = output.with_name(f".{output.name}.part")
    muxer_options = {"movflags": "+faststart+use_metadata_tags"} if fmt in ("mp4", "mov") else {}
    written = 0
    with _open(chunks[0]) as first:
        template = _video_stream(first)
        out = av.open(str(tmp), "w", format=fmt, options=muxer_options)
        try:
            out_stream = out.add_stream_from_template(template)
            out.metadata.update(disclosure(metadata or {}))
            audio = _AudioCopy(source, out, acodec, fmt)
            source_times = _frame_times(source)
            for chunk in chunks:
                # A container may move a chunk's first timestamp a little (an MP4 edit list); each chunk
                # is put back where its first frame is in the source.
                chunk_times = _frame_times(chunk)
                with _open(chunk) as container:
                    stream = _video_stream(container)
                    if written >= len(source_times) or not chunk_times:
                        raise VideoError("the chunks have more frames than the source")
                    target = source_times[written] - source_times[0]  # renders count from the first frame
                    shift = round((target - chunk_times[0]) / stream.time_base)
                    for packet in container.demux(stream):
                        if packet.dts is None and packet.size == 0:
                            continue
                        packet.pts = packet.pts + shift if packet.pts is not None else None
                        packet.dts = packet.dts + shift if packet.dts is not None else None
                        if packet.pts is not None:
                            audio.until(float(packet.pts * packet.time_base))
                        packet.stream = out_stream
                        out.mux(packet)
                        written += 1
            audio.until(None)
        except BaseException:
            out.close()
            tmp.unlink(missing_ok=True)
            raise
        out.close()
    tmp.replace(output)
    return written


def _frame_times(path: str | os.PathLike) -> list[Fraction]:
    """Presentation times of the video stream's frames, in order, from the packets (nothing decoded)."""
    with _open(path) as container:
        stream = _video_stream(container)
        # Read inside the ``with``: once the container is closed its streams' memory is freed, and
        # ``stream.time_base`` read afterwards returned garbage whenever that memory was reused (the
        # "... .colour.mp4.part returned 22" join failure: non-monotonic, absurd timestamps).
        time_base = Fraction(stream.time_base)
        pts = sorted(p.pts for p in container.demux(stream) if p.pts is not None and p.size)
    return [Fraction(t) * time_base for t in pts]


class _AudioCopy:
    """Muxes the source's first audio stream into ``out`` alongside the video, in time order.

    Packets are copied as they are when the output container takes the codec (AAC into MP4, Opus
    into WebM, anything into MKV/MOV; or the codecs in ``copy``); otherwise the audio is decoded
    and encoded to ``acodec``.
    A second demuxer on the same file reads the audio, so neither stream is held in memory.
    """

    COPY = {"mp4": {"aac", "mp3", "alac", "ac3", "eac3"}, "webm": {"opus", "vorbis"}}

    def __init__(self, source, out, acodec: str, fmt: str, copy: set[str] | None = None):
        self.container = _open(source)
        self.stream = self.container.streams.audio[0] if self.container.streams.audio else None
        self.out = out
        self.done = self.stream is None
        if self.done:
            self.container.close()
            return
        name = self.stream.codec_context.name
        allowed = copy if copy is not None else self.COPY.get(fmt)
        self.copy = allowed is None or name in allowed
        if self.copy:
            self.out_stream = out.add_stream_from_template(self.stream)
        else:
            rate = self.stream.codec_context.sample_rate or 48000
            if acodec == "libopus":
                rate = 48000
            self.out_stream = out.add_stream(acodec, rate=rate)
            # By channel count: a layout without channel order ("2 channels", from PCM) is refused by AAC.
            channels = self.stream.codec_context.layout.nb_channels
            self.out_stream.layout = {1: "mono", 2: "stereo", 6: "5.1"}.get(channels, "stereo")
            self.resampler = av.AudioResampler(
                format=self.out_stream.format.name, layout=self.out_stream.layout, rate=rate
            )
        self.packets = self.container.demux(self.stream)
        self.start: float | None = None

    def until(self, t: float | None) -> None:
        """Mux audio up to video time ``t`` (+0.5 s); ``None``: everything that is left, then close."""
        while not self.done:
            try:
                packet = next(self.packets)
            except StopIteration:
                self.done = True
                break
            except av.FFmpegError:  # a damaged tail of the audio: keep what was read
                self.done = True
                break
            if packet.dts is None and packet.size == 0:
                continue
            self._write(packet)
            if t is not None and packet.pts is not None and float(packet.pts * packet.time_base) > t + 0.5:
                break
        if t is None and self.stream is not None:
            if not self.copy:
                for p in self.out_stream.encode(None):
                    self.out.mux(p)
            self.container.close()
            self.stream = None

    def _write(self, packet) -> None:
        if self.copy:
            packet.stream = self.out_stream
            self.out.mux(packet)
            return
        try:
            frames = packet.decode()
        except av.FFmpegError:
            return
        for frame in frames:
            frame.pts = None
            for resampled in self.resampler.resample(frame):
                for p in self.out_stream.encode(resampled):
                    self.out.mux(p)
