"""The video engine: decoding every accepted container and codec, refusing bad files, shots, luma kept,
audio kept, hints carried through a shot, temporal stability and resuming a render (tiny model, CPU)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from colorization.engine.inference import Colorizer
from colorization.engine.video import (
    RenderState,
    ShotDetector,
    VideoColorizer,
    VideoError,
    browser_playable,
    check,
    choose_keyframes,
    detect_shots,
    join_chunks,
    probe,
    read_tags,
)
from tests import videos

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
CLIPS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "video"


@pytest.fixture(scope="module")
def colorizer(tiny_model_path) -> Colorizer:
    return Colorizer.load(tiny_model_path, device="cpu")


def renderer(colorizer, **kwargs) -> VideoColorizer:
    return VideoColorizer(colorizer, render_size=64, crf=0, preset="ultrafast", **kwargs)


# --- reading -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("suffix", "fmt", "codec", "pix_fmt"), videos.ACCEPTED, ids=[c[2] for c in videos.ACCEPTED])
def test_it_decodes_each_accepted_container_and_codec(tmp_path, suffix, fmt, codec, pix_fmt):
    path = videos.make_clip(tmp_path / f"clip.{suffix}", fmt=fmt, codec=codec, pix_fmt=pix_fmt, frames=20)
    info = probe(path)
    assert (info.width, info.height, info.frames, info.fps) == (96, 64, 20, 24)
    assert not info.has_audio
    cheap = check(path)  # the upload's check: packets counted, only the ends decoded
    assert (cheap.width, cheap.height, cheap.frames, cheap.fps, cheap.codec) == (96, 64, 20, 24, info.codec)
    assert cheap.duration == pytest.approx(20 / 24, abs=0.01)


def _faststart(src: Path, dst: Path) -> Path:
    """The same packets with the index (moov) first, as most web MP4s are: a cut keeps the header."""
    import av

    with av.open(str(src)) as i, av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as o:
        out = o.add_stream_from_template(i.streams.video[0])
        for packet in i.demux(i.streams.video[0]):
            if packet.dts is not None:
                packet.stream = out
                o.mux(packet)
    return dst


@pytest.mark.parametrize("keep", [0.5, 0.97])
def test_the_cheap_check_refuses_a_clip_whose_packets_stop_before_its_header_says(tmp_path, keep):
    whole = _faststart(videos.make_clip(tmp_path / "c.mp4", frames=96, lossless=False), tmp_path / "fast.mp4")
    assert check(whole).frames == 96
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * keep)])
    # Whether the cut falls inside a packet or between two depends on the encoder's packet sizes.
    with pytest.raises(VideoError, match=r"cut short( or damaged at frame \d+|: \d+ of 96 frames are in it)"):
        check(cut)


def test_the_cheap_check_refuses_bad_files_as_probe_does(tmp_path):
    path = videos.make_clip(tmp_path / "clip.mkv", fmt="matroska", codec="libx264", frames=96, lossless=True)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(VideoError, match="cut short"):
        check(cut)
    with pytest.raises(VideoError, match="only audio"):
        check(videos.audio_only(tmp_path / "song.m4a"))
    with pytest.raises(VideoError, match=r"no frames|no video stream"):
        check(videos.zero_frames(tmp_path / "empty.mp4"))
    with pytest.raises(VideoError, match=r"lasts .* the limit is 0:01"):
        check(videos.make_clip(tmp_path / "long.mp4", frames=48), max_duration=1.0)
    with pytest.raises(VideoError, match="96×64; the limit is 5,000 pixels"):
        check(path, max_pixels=5000)


def test_which_originals_browsers_play_as_they_are():
    assert browser_playable("MP4", "h264", "yuv420p", "aac")
    assert browser_playable("WEBM", "vp9", "yuv420p", None)
    assert not browser_playable("MOV", "prores", "yuv422p10le", None)
    assert not browser_playable("AVI", "mpeg4", "yuv420p", None)
    assert not browser_playable("MKV", "h264", "yuv420p", None)
    assert not browser_playable("MP4", "hevc", "yuv420p", None)
    assert not browser_playable("MP4", "h264", "yuv420p10le", None)  # High 10
    assert not browser_playable("MP4", "h264", "yuv420p", "ac3")


def test_it_refuses_random_bytes(tmp_path):
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError, match="not a video file"):
        probe(path)


def test_it_refuses_a_truncated_file(tmp_path):
    path = videos.make_clip(tmp_path / "clip.mp4", frames=48, lossless=False)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(VideoError):
        probe(cut)


def test_it_refuses_a_truncated_stream_whose_header_survives(tmp_path):
    path = videos.make_clip(tmp_path / "clip.mkv", fmt="matroska", codec="libx264", frames=96, lossless=True)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(VideoError, match=r"cut short|damaged|not a video"):
        probe(cut)


def test_it_refuses_audio_only_files(tmp_path):
    with pytest.raises(VideoError, match="only audio"):
        probe(videos.audio_only(tmp_path / "song.m4a"))


def test_it_refuses_a_clip_without_frames(tmp_path):
    with pytest.raises(VideoError, match=r"no frames|no video stream"):
        probe(videos.zero_frames(tmp_path / "empty.mp4"))


def test_it_checks_the_limits_with_clear_messages(tmp_path):
    path = videos.make_clip(tmp_path / "clip.mp4", frames=48)
    with pytest.raises(VideoError, match=r"lasts .* the limit is 0:01"):
        probe(path, max_duration=1.0)
    with pytest.raises(VideoError, match="96×64; the limit is 5,000 pixels"):
        probe(path, max_pixels=5000)


# --- shots ------------------------------------------------------------------------------------------


def test_shots_are_found_at_the_cuts(tmp_path):
    path = videos.make_clip(tmp_path / "cuts.mp4", frames=60, shots=[0, 17, 40])
    starts, frames, fps = detect_shots(path, render_size=64)
    assert starts == [0, 17, 40]
    assert (frames, fps) == (60, 24)


def test_flicker_of_old_film_is_not_a_cut():
    detector = ShotDetector()
    base = videos.scene(1, 96, 64)[:, :96]
    cuts = [
        detector.update(np.clip(base.astype(int) + (25 if i % 2 else -25), 0, 255).astype(np.uint8)) for i in range(30)
    ]
    assert cuts == [True] + [False] * 29


def test_our_detector_agrees_with_scenedetect(tmp_path):
    from scenedetect import AdaptiveDetector, detect

    path = videos.make_clip(tmp_path / "cuts.mp4", width=160, height=96, frames=72, shots=[0, 20, 45])
    theirs = [scene[0].frame_num for scene in detect(str(path), AdaptiveDetector())]
    ours, _, _ = detect_shots(path, render_size=96)
    assert ours == theirs == [0, 20, 45]


def test_our_detector_agrees_with_scenedetect_on_real_film():
    from scenedetect import AdaptiveDetector, detect

    clip = CLIPS / "colour" / "tos_canal.mp4"
    if not clip.is_file():
        pytest.skip("../shared/data/video is not here")
    theirs = [scene[0].frame_num for scene in detect(str(clip), AdaptiveDetector())]
    ours, _, _ = detect_shots(clip)
    assert len(ours) == len(theirs)
    assert all(abs(a - b) <= 1 for a, b in zip(ours, theirs, strict=True))


def test_long_shots_get_more_keyframes():
    keyframes = choose_keyframes([0, 30], 400, 24, every_seconds=4)
    assert keyframes == [0, 30, 122, 215, 307]  # the 370-frame shot in four even parts, none over 4 s
    assert choose_keyframes([0], 1, 24) == [0]


# --- rendering ----------------------------------------------------------------------------------------


def test_it_keeps_frames_rate_luma_and_audio_and_labels_the_output(colorizer, tmp_path):
    src = videos.make_clip(tmp_path / "in.mp4", frames=30, audio="aac")
    out = tmp_path / "out.mp4"
    result = renderer(colorizer).render(src, out, metadata={"model": "tiny", "original_sha256": "ab" * 32})
    info = probe(out)
    assert (info.frames, info.fps, info.width, info.height) == (30, 24, 96, 64)
    assert info.audio_codec == "aac"
    assert videos.audio_seconds(out) == pytest.approx(videos.audio_seconds(src), abs=0.03)
    before, after = videos.read_planes(src), videos.read_planes(out)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(before, after, strict=True))  # luma bit for bit
    assert max(np.abs(b[1].astype(int) - 128).max() for b in after) > 0  # colour was added
    tags = read_tags(out)
    assert "AI-colorized" in tags["comment"]
    assert tags["chroma_digital_source_type"].endswith("compositeWithTrainedAlgorithmicMedia")
    assert tags["chroma_original_sha256"] == "ab" * 32
    assert result.frames == 30 and result.network_frames < 30


@pytest.mark.parametrize("audio", ["pcm_s16le", "libopus"])
def test_audio_the_mp4_cannot_carry_is_transcoded_not_dropped(colorizer, tmp_path, audio):
    src = videos.make_clip(tmp_path / "in.mkv", fmt="matroska", frames=24, audio=audio)
    out = tmp_path / "out.mp4"
    renderer(colorizer).render(src, out)
    assert probe(out).audio_codec == "aac"
    assert videos.audio_seconds(out) == pytest.approx(1.0, abs=0.05)


def test_webm_output_is_vp9_and_keeps_opus(colorizer, tmp_path):
    src = videos.make_clip(tmp_path / "in.webm", fmt="webm", codec="libvpx-vp9", frames=12, audio="libopus")
    out = tmp_path / "out.webm"
    renderer(colorizer).render(src, out)
    info = probe(out)
    assert (info.codec, info.audio_codec, info.frames) == ("vp9", "opus", 12)


def test_every_frame_is_colorized_in_per_frame_mode(colorizer, tmp_path):
    src = videos.make_clip(tmp_path / "in.mp4", frames=10)
    result = renderer(colorizer, per_frame=True).render(src, tmp_path / "out.mp4")
    assert result.network_frames == 10


def _chroma(planes) -> np.ndarray:
    return np.stack([np.stack((p[1], p[2])) for p in planes]).astype(np.float32)


def test_a_keyframe_correction_recolours_the_rest_of_its_shot_and_only_that_shot(colorizer, tmp_path):
    src = videos.make_clip(tmp_path / "in.mp4", frames=40, shots=[0, 24])
    plain = tmp_path / "plain.mp4"
    hinted = tmp_path / "hinted.mp4"
    hints = {"strokes": [{"points": [[10, 10], [80, 10], [80, 55], [10, 55]], "color": "#c02020", "width": 24}]}
    renderer(colorizer).render(src, plain, shots=[0, 24])
    renderer(colorizer).render(src, hinted, shots=[0, 24], keyframe_hints={0: hints})
    a, b = _chroma(videos.read_planes(plain)), _chroma(videos.read_planes(hinted))
    change = np.abs(a - b).mean(axis=(1, 2, 3))
    assert change[0] > 5
    assert (change[1:24] > 2).all(), change[:24]  # carried through the shot, beyond the keyframe
    assert (change[24:] == 0).all()  # the next shot is untouched
    # and the colour moved towards red: Cr up
    assert (b[10, 1] - a[10, 1]).mean() > 3


def test_it_flickers_less_than_frame_by_frame(colorizer, tmp_path):
    src = videos.make_clip(tmp_path / "in.mp4", frames=40)
    smooth, per_frame = tmp_path / "smooth.mp4", tmp_path / "per_frame.mp4"
    renderer(colorizer).render(src, smooth)
    renderer(colorizer, per_frame=True).render(src, per_frame)

    def roughness(path) -> float:  # mean change of chroma between consecutive frames, after following the pan
        c = _chroma(videos.read_planes(path))
        return float(np.abs(c[1:, :, :, :-1] - c[:-1, :, :, 1:]).mean())

    assert roughness(smooth) < 0.7 * roughness(per_frame)


def test_a_render_resumed_from_its_saved_state_matches_one_pass(colorizer, tmp_path):
    src = videos.make_clip(tmp_path / "in.mp4", frames=30, shots=[0, 18])
    whole = tmp_path / "whole.mp4"
    renderer(colorizer).render(src, whole)
    state = RenderState()
    first = renderer(colorizer).render(src, tmp_path / "a.mp4", state=state, stop_after=13)
    assert (first.frames, first.finished, state.frame) == (13, False, 13)
    state = RenderState.from_bytes(state.to_bytes())  # as a restarted worker would read it
    second = renderer(colorizer).render(src, tmp_path / "b.mp4", state=state)
    assert (second.frames, second.finished) == (17, True)
    chunks = videos.read_planes(tmp_path / "a.mp4") + videos.read_planes(tmp_path / "b.mp4")
    assert np.array_equal(_chroma(chunks), _chroma(videos.read_planes(whole)))


def test_odd_sizes_get_a_clear_error(colorizer, tmp_path):
    src = videos.make_clip(
        tmp_path / "in.mkv", fmt="matroska", codec="ffv1", pix_fmt="yuv444p", width=95, height=63, frames=4
    )
    with pytest.raises(VideoError, match="even width and height"):
        renderer(colorizer).render(src, tmp_path / "out.mp4")


def test_chunks_join_into_one_clip_with_the_audio_and_the_label(colorizer, tmp_path):
    src = videos.make_clip(tmp_path / "in.mp4", frames=30, audio="aac")
    state, chunks = RenderState(), []
    for n, stop in enumerate((10, 20, None)):
        chunks.append(tmp_path / f"chunk{n}.mp4")
        renderer(colorizer).render(src, chunks[-1], state=state, stop_after=stop)
        state = RenderState.from_bytes(state.to_bytes())  # each chunk as a fresh worker would start it
    out = tmp_path / "joined.mp4"
    join_chunks(chunks, src, out, {"model": "tiny"})
    whole = tmp_path / "whole.mp4"
    renderer(colorizer).render(src, whole)
    info = probe(out)
    assert (info.frames, info.fps, info.audio_codec) == (30, 24, "aac")
    assert videos.audio_seconds(out) == pytest.approx(videos.audio_seconds(src), abs=0.03)
    assert np.array_equal(_chroma(videos.read_planes(out)), _chroma(videos.read_planes(whole)))
    assert "AI-colorized" in read_tags(out)["comment"]


def _encoded_chunks(source: Path, folder: Path, chunk: int) -> list[Path]:
    """The source's pictures in chunk files written as ``render(..., stop_after=...)`` writes them."""
    import av

    from colorization.engine.video import _open, _video_stream, iter_planes

    with _open(source) as container:
        stream = _video_stream(container)
        planes, time_base, rate = list(iter_planes(container, stream)), stream.time_base, stream.average_rate
    paths, start = [], planes[0].pts
    for first in range(0, len(planes), chunk):
        path = folder / f"chunk-{first:05d}.mp4"
        with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart+use_metadata_tags"}) as out:
            video = out.add_stream("libx264", rate=rate)
            video.width, video.height, video.pix_fmt = planes[0].y.shape[1], planes[0].y.shape[0], "yuv420p"
            video.time_base = video.codec_context.time_base = time_base
            video.options = {"crf": "20", "preset": "veryfast"}
            for p in planes[first : first + chunk]:
                frame = av.VideoFrame.from_ndarray(
                    np.concatenate((p.y, p.u.reshape(-1, p.y.shape[1]), p.v.reshape(-1, p.y.shape[1]))), "yuv420p"
                )
                frame.pts, frame.time_base = p.pts - start, time_base
                for packet in video.encode(frame):
                    out.mux(packet)
            for packet in video.encode():
                out.mux(packet)
        paths.append(path)
    return paths


def test_joined_chunks_keep_the_sources_timeline_every_time(tmp_path):
    # The worker test's join failed about one run in six ("... .colour.mp4.part returned 22"): the
    # frame times were computed from a closed container's stream, whose freed memory was sometimes
    # reused, so a chunk was shifted by garbage. Here it failed in about half of the joins.
    import av

    source = videos.make_clip(tmp_path / "in.mp4", width=160, height=96, frames=360, audio="aac")
    chunks = _encoded_chunks(source, tmp_path, 16)
    with av.open(str(source)) as container:
        expected = sorted(p.pts for p in container.demux(video=0) if p.size)
    for attempt in range(4):
        out = tmp_path / f"joined-{attempt}.mp4"
        assert join_chunks(chunks, source, out, {"title": "t"}) == 360
        with av.open(str(out)) as container:
            packets = [(p.pts, p.dts) for p in container.demux(video=0) if p.size]
        dts = [d for _, d in packets]
        assert all(b > a for a, b in pairwise(dts)), attempt
        assert sorted(p for p, _ in packets) == [t - expected[0] for t in expected], attempt


def test_the_cheap_check_holds_no_endless_group_of_pictures(tmp_path, monkeypatch):
    import colorization.engine.video as engine

    path = videos.make_clip(tmp_path / "one-gop.mp4", frames=20)  # one keyframe, then 19 P/B frames
    monkeypatch.setattr(engine, "TAIL_PACKETS", 4)  # the last keyframe is further back than this
    info = check(path)
    assert (info.frames, info.codec) == (20, "h264")
    with pytest.raises(VideoError, match="cut short"):  # the demux pass still catches a cut file
        cut = tmp_path / "cut.mkv"
        whole = videos.make_clip(tmp_path / "one-gop.mkv", fmt="matroska", frames=96)
        cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
        check(cut)


def test_encoding_on_its_own_thread_writes_the_same_clip(colorizer, tmp_path):
    src = videos.make_clip(tmp_path / "in.mp4", frames=30, shots=[0, 18], audio="aac")
    inline, threaded = tmp_path / "inline.mp4", tmp_path / "threaded.mp4"
    renderer(colorizer, threads=1).render(src, inline)
    renderer(colorizer, threads=2).render(src, threaded)
    a, b = videos.read_planes(inline), videos.read_planes(threaded)
    assert len(a) == len(b) == 30
    assert np.array_equal(_chroma(a), _chroma(b))
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(a, b, strict=True))
    assert videos.audio_seconds(threaded) == pytest.approx(videos.audio_seconds(src), abs=0.03)


def test_an_encoder_failure_on_its_thread_reaches_the_caller_and_leaves_no_file(colorizer, tmp_path, monkeypatch):
    import av

    from colorization.engine import video

    def broken(self, image, pts, time):
        raise av.FFmpegError(22, "the encoder gave up")

    monkeypatch.setattr(video._Writer, "_write", broken)
    src = videos.make_clip(tmp_path / "in.mp4", frames=20)
    with pytest.raises(av.FFmpegError, match="gave up"):
        renderer(colorizer, threads=2).render(src, tmp_path / "out.mp4")
    assert list(tmp_path.iterdir()) == [src]


def test_the_render_keeps_the_callers_torch_threads(colorizer, tmp_path):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        renderer(colorizer, threads=2).render(videos.make_clip(tmp_path / "in.mp4", frames=6), tmp_path / "out.mp4")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_the_flow_is_trusted_where_forward_and_backward_agree(colorizer):
    r = renderer(colorizer)
    rng = np.random.default_rng(0)
    previous = rng.integers(0, 256, (48, 64), dtype=np.uint8)
    moved = np.roll(previous, 3, axis=1)  # the picture moved 3 px right: consistent flow, except at the left edge
    grid = np.stack(np.meshgrid(np.arange(64), np.arange(48)), -1).astype(np.float32)
    where, confidence = r._motion(previous, moved, grid, confident=True)
    assert np.median(where[..., 0] - grid[..., 0]) == pytest.approx(-3, abs=0.5)
    assert np.median(confidence[:, 8:-8]) > 0.5
    noise = rng.integers(0, 256, (48, 64), dtype=np.uint8)  # unrelated frames: the flow does not agree with itself
    _, confidence = r._motion(previous, noise, grid, confident=True)
    assert np.median(confidence) < 0.8
    assert r._motion(previous, moved, grid, confident=False)[1] is None
