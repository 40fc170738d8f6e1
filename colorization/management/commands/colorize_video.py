"""Colorize a film clip on disk, without the database or a running server.

manage.py colorize_video INPUT OUTPUT [--model SLUG|PATH] [--per-frame] [--hints FRAME:FILE ...]
                         [--render-size N] [--network-every N]

The output has the input's frame count, frame rate and audio; its luma plane is the input's
(only colour is added), and the AI disclosure is in the container metadata. OUTPUT's extension
picks the container: .mp4 (H.264/AAC), .mov, .mkv, or .webm (VP9/Opus). ``--per-frame`` runs the
network on every frame independently: the flickering baseline the benchmark compares with.
``--hints 120:frame120.json`` gives a keyframe's hints (DESIGN.md's hints format, in the clip's
pixels); they are carried through the rest of that frame's shot.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from colorization.engine.checkpoint import CheckpointError, sha256_of
from colorization.engine.hints import HintError
from colorization.engine.inference import DEFAULT_RENDER_SIZE, Colorizer
from colorization.engine.video import CONTAINERS, DEFAULT_NETWORK_EVERY, VideoColorizer, VideoError
from colorization.model_registry import UnknownModel, model_identity, resolve_model


class Command(BaseCommand):
    help = __doc__
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("input", type=Path, help="a clip (MP4, MOV, MKV, WebM, AVI)")
        parser.add_argument("output", type=Path, help="where to write it: .mp4, .mov, .mkv or .webm")
        parser.add_argument("--model", help="a model slug (base) or a .safetensors path")
        parser.add_argument("--per-frame", action="store_true", help="colorize every frame on its own (baseline)")
        parser.add_argument(
            "--hints", action="append", default=[], metavar="FRAME:FILE", help="a keyframe's hints JSON"
        )
        parser.add_argument("--render-size", type=int, default=DEFAULT_RENDER_SIZE, help="working resolution")
        parser.add_argument(
            "--network-every", type=int, default=DEFAULT_NETWORK_EVERY, help="frames between network runs"
        )

    def handle(self, *args, **opts):
        src, dst = opts["input"], opts["output"]
        if not src.is_file():
            raise CommandError(f"no such file: {src}")
        if dst.suffix.lower() not in CONTAINERS or dst.suffix.lower() == ".avi":
            raise CommandError(f"unknown output format {dst.suffix!r}; use .mp4, .mov, .mkv or .webm")
        if not 64 <= opts["render_size"] <= 1024:
            raise CommandError("--render-size must be between 64 and 1024")
        if opts["network_every"] < 1:
            raise CommandError("--network-every must be at least 1")
        keyframe_hints = {}
        for spec in opts["hints"]:
            frame, _, path = spec.partition(":")
            if not frame.isdigit() or not path:
                raise CommandError(f"--hints takes FRAME:FILE, for example 120:frame120.json, not {spec!r}")
            try:
                keyframe_hints[int(frame)] = json.loads(Path(path).read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise CommandError(f"cannot read hints {path}: {exc}") from None
        try:
            colorizer = Colorizer.load(
                resolve_model(opts["model"]), settings.COLORIZE_DEVICE, settings.COLORIZE_PRECISION
            )
        except (UnknownModel, CheckpointError) as exc:
            raise CommandError(str(exc)) from None
        slug, version = model_identity(colorizer.metadata, colorizer.sha256)
        renderer = VideoColorizer(
            colorizer,
            render_size=opts["render_size"],
            network_every=opts["network_every"],
            per_frame=opts["per_frame"],
        )
        metadata = {"model": slug, "model_version": version, "original_sha256": sha256_of(src)}
        dst.parent.mkdir(parents=True, exist_ok=True)

        def progress(done: int, total: int) -> None:
            if done % 100 == 0:
                self.stderr.write(f"  {done}/{total or '?'} frames")

        try:
            result = renderer.render(src, dst, keyframe_hints=keyframe_hints, metadata=metadata, progress=progress)
        except (VideoError, HintError) as exc:
            raise CommandError(f"{src}: {exc}") from None
        self.stdout.write(
            f"{dst} ({slug} v{version}, {result.frames} frames, {len(result.shots)} shots, "
            f"{result.network_frames} network frames, {result.seconds:.1f} s, "
            f"{result.frames / max(result.seconds, 1e-9):.1f} frames/s)"
        )
