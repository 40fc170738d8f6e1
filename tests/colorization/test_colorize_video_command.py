"""manage.py colorize_video: a clip on disk, without the database (tiny model on the CPU)."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from colorization.engine.video import probe, read_tags
from tests import videos

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def clip(tmp_path):
    return videos.make_clip(tmp_path / "film.mp4", frames=30, fps=25, shots=[0, 14], audio="aac")


def test_the_output_has_the_inputs_frames_rate_and_audio(tiny_model_file, clip, tmp_path, capsys):
    out = tmp_path / "colour.mp4"
    call_command("colorize_video", str(clip), str(out), "--model", str(tiny_model_file), "--render-size", "64")
    info = probe(out)
    assert (info.frames, info.fps, info.audio_codec) == (30, 25, "aac")
    assert videos.audio_seconds(out) == pytest.approx(videos.audio_seconds(clip), abs=0.03)
    assert "AI-colorized" in read_tags(out)["comment"]
    assert "30 frames, 2 shots" in capsys.readouterr().out


def test_per_frame_runs_the_network_on_every_frame(tiny_model_file, clip, tmp_path, capsys):
    out = tmp_path / "colour.mkv"
    call_command(
        "colorize_video", str(clip), str(out), "--model", str(tiny_model_file), "--render-size", "64", "--per-frame"
    )
    assert "30 network frames" in capsys.readouterr().out
    assert probe(out).frames == 30


def test_keyframe_hints_are_read_from_files(tiny_model_file, clip, tmp_path):
    hints = tmp_path / "k0.json"
    hints.write_text(json.dumps({"points": [{"x": 40, "y": 30, "color": "#2040c0", "size": 9}]}))
    out = tmp_path / "colour.mp4"
    call_command(
        "colorize_video", str(clip), str(out), "--model", str(tiny_model_file), "--render-size", "64",
        "--hints", f"0:{hints}",
    )  # fmt: skip
    assert probe(out).frames == 30


def test_bad_input_is_a_clear_error(tiny_model_file, tmp_path):
    bad = tmp_path / "not-a-film.mp4"
    bad.write_text("hello")
    with pytest.raises(CommandError, match="not a video file"):
        call_command("colorize_video", str(bad), str(tmp_path / "o.mp4"), "--model", str(tiny_model_file))
    with pytest.raises(CommandError, match="only audio"):
        song = videos.audio_only(tmp_path / "song.m4a")
        call_command("colorize_video", str(song), str(tmp_path / "o.mp4"), "--model", str(tiny_model_file))
    with pytest.raises(CommandError, match="unknown output format"):
        call_command("colorize_video", str(bad), str(tmp_path / "o.gif"))
    with pytest.raises(CommandError, match="FRAME:FILE"):
        call_command("colorize_video", str(bad), str(tmp_path / "o.mp4"), "--hints", "first.json")
