"""Colorize files on disk, without the database or a running server.

manage.py colorize INPUT OUTPUT [--model SLUG|PATH] [--hints FILE] [--render-size N] [--saturation F]
manage.py colorize --input-dir DIR --output-dir DIR [--hints-dir DIR] [--format png|jpg]
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from colorization.engine.checkpoint import CheckpointError, sha256_of
from colorization.engine.hints import HintError
from colorization.engine.imageio import FORMATS, ImageReadError, encode, read_luminance
from colorization.engine.inference import DEFAULT_RENDER_SIZE, Colorizer
from colorization.model_registry import UnknownModel, model_identity, resolve_model

INPUT_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".heic", ".heif"}


class Command(BaseCommand):
    help = __doc__
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("input", nargs="?", type=Path, help="a photo to colorize")
        parser.add_argument("output", nargs="?", type=Path, help="where to write it; the extension picks the format")
        parser.add_argument("--input-dir", type=Path)
        parser.add_argument("--output-dir", type=Path)
        parser.add_argument("--hints-dir", type=Path, help="hints per image as <stem>.json")
        parser.add_argument("--format", choices=["png", "jpg"], default="png", help="batch output format")
        parser.add_argument("--model", help="a model slug (base) or a .safetensors path")
        parser.add_argument("--hints", type=Path, help="a hints JSON file (DESIGN.md format)")
        parser.add_argument(
            "--render-size", type=int, default=DEFAULT_RENDER_SIZE, help="working resolution, long side"
        )
        parser.add_argument("--saturation", type=float, default=1.0, help="0 (grey) to 2; 1 is the model's own")

    def handle(self, *args, **opts):
        if not 64 <= opts["render_size"] <= 4096:
            raise CommandError("--render-size must be between 64 and 4096")
        if not 0 <= opts["saturation"] <= 2:
            raise CommandError("--saturation must be between 0 and 2")
        try:
            colorizer = Colorizer.load(
                resolve_model(opts["model"]), settings.COLORIZE_DEVICE, settings.COLORIZE_PRECISION
            )
        except (UnknownModel, CheckpointError) as exc:
            raise CommandError(str(exc)) from None
        slug, version = model_identity(colorizer.metadata, colorizer.sha256)
        self.identity = {"model": slug, "model_version": version}
        if opts["input_dir"] or opts["output_dir"]:
            if opts["input"] or opts["output"] or opts["hints"]:
                raise CommandError("use either INPUT OUTPUT [--hints] or --input-dir/--output-dir, not both")
            if not (opts["input_dir"] and opts["output_dir"]):
                raise CommandError("--input-dir and --output-dir go together")
            return self._batch(colorizer, opts)
        if opts["hints_dir"]:
            raise CommandError("--hints-dir is for the batch form; use --hints FILE for one photo")
        if not (opts["input"] and opts["output"]):
            raise CommandError("give INPUT and OUTPUT, or --input-dir and --output-dir")
        hints = self._read_hints(opts["hints"]) if opts["hints"] else None
        try:
            seconds = self._one(colorizer, opts["input"], opts["output"], hints, opts)
        except (ImageReadError, HintError, OSError, ValueError) as exc:
            raise CommandError(f"{opts['input']}: {exc}") from None
        self.stdout.write(f"{opts['output']} ({slug} v{version}, {seconds:.2f} s)")

    def _read_hints(self, path: Path) -> dict:
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"cannot read hints {path}: {exc}") from None

    def _one(self, colorizer: Colorizer, src: Path, dst: Path, hints: dict | None, opts) -> float:
        fmt = FORMATS.get(dst.suffix.lower())
        if fmt is None:
            raise ValueError(f"unknown output format {dst.suffix!r}; use one of {', '.join(sorted(FORMATS))}")
        started = time.perf_counter()
        image = read_luminance(src)
        rgb = colorizer.colorize(image, hints, render_size=opts["render_size"], saturation=opts["saturation"])
        metadata = {**self.identity, "original_sha256": sha256_of(src)}
        data = encode(rgb, fmt, metadata)
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(dst)
        return time.perf_counter() - started

    def _batch(self, colorizer: Colorizer, opts) -> None:
        src_dir, dst_dir = opts["input_dir"], opts["output_dir"]
        if not src_dir.is_dir():
            raise CommandError(f"not a folder: {src_dir}")
        sources = sorted(p for p in src_dir.iterdir() if p.suffix.lower() in INPUT_SUFFIXES and p.is_file())
        if not sources:
            raise CommandError(f"no images in {src_dir}")
        suffix = ".jpg" if opts["format"] == "jpg" else ".png"
        failures = []
        for n, src in enumerate(sources, 1):
            hints = None
            if opts["hints_dir"] and (opts["hints_dir"] / f"{src.stem}.json").is_file():
                hints = self._read_hints(opts["hints_dir"] / f"{src.stem}.json")
            dst = dst_dir / f"{src.stem}{suffix}"
            try:
                seconds = self._one(colorizer, src, dst, hints, opts)
            except (ImageReadError, HintError, OSError, ValueError) as exc:
                failures.append(f"{src.name}: {exc}")
                self.stderr.write(f"[{n}/{len(sources)}] {src.name}: FAILED: {exc}")
                continue
            self.stdout.write(f"[{n}/{len(sources)}] {src.name} -> {dst} ({seconds:.2f} s)")
        done = len(sources) - len(failures)
        self.stdout.write(f"{done} colorized, {len(failures)} failed.")
        if failures:
            raise CommandError("some images failed:\n" + "\n".join(failures))
