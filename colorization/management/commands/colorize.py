"""Colorize files on disk, without the database or a running server.

manage.py colorize INPUT OUTPUT [--model SLUG|PATH] [--hints FILE] [--render-size N] [--saturation F]
                   [--reference IMAGE [--reference-box L,T,R,B] | --palette "#rrggbb:w,#rrggbb:w"]
manage.py colorize --input-dir DIR --output-dir DIR [--hints-dir DIR] [--reference-dir DIR] [--format png|jpg]

A global colour hint sets the photo's overall colours: --reference takes the palette of a colour
photograph (optionally of a rectangle of it), --palette gives weighted colours by hand. In the batch
form each input takes the reference in --reference-dir with its own file stem (any image extension);
an input without one gets no global hint.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from colorization.engine.checkpoint import CheckpointError, sha256_of
from colorization.engine.global_hints import palette_document
from colorization.engine.hints import HintError, parse_global
from colorization.engine.imageio import FORMATS, ImageReadError, encode, read_luminance, read_rgb
from colorization.engine.inference import DEFAULT_RENDER_SIZE, Colorizer, RenderOptions
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
        parser.add_argument("--reference", type=Path, help="a colour photograph whose palette sets the overall colours")
        parser.add_argument(
            "--reference-box", help="only this rectangle of the reference: left,top,right,bottom in its pixels"
        )
        parser.add_argument(
            "--palette", help='overall colours by hand: "#rrggbb:weight,#rrggbb:weight" (weight 1 if left out)'
        )
        parser.add_argument("--reference-dir", type=Path, help="batch: a reference per input, by file stem")

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
            if opts["input"] or opts["output"] or opts["hints"] or opts["reference"] or opts["palette"]:
                raise CommandError(
                    "use either INPUT OUTPUT [--hints, --reference, --palette] or --input-dir/--output-dir, not both"
                )
            if opts["reference_dir"] and not opts["reference_dir"].is_dir():
                raise CommandError(f"not a folder: {opts['reference_dir']}")
            if not (opts["input_dir"] and opts["output_dir"]):
                raise CommandError("--input-dir and --output-dir go together")
            return self._batch(colorizer, opts)
        if opts["hints_dir"] or opts["reference_dir"]:
            raise CommandError("--hints-dir and --reference-dir are for the batch form; use --hints / --reference")
        if not (opts["input"] and opts["output"]):
            raise CommandError("give INPUT and OUTPUT, or --input-dir and --output-dir")
        if opts["reference"] and opts["palette"]:
            raise CommandError("give --reference or --palette, not both")
        if opts["reference_box"] and not opts["reference"]:
            raise CommandError("--reference-box needs --reference")
        hints = self._read_hints(opts["hints"]) if opts["hints"] else None
        if opts["reference"]:
            hints = self._with_global(hints, self._reference_global(opts["reference"], opts["reference_box"]))
        elif opts["palette"]:
            hints = self._with_global(
                hints, {"palette": _palette_option(opts["palette"]), "source": {"kind": "palette"}}
            )
        try:
            seconds = self._one(colorizer, opts["input"], opts["output"], hints, opts)
        except (ImageReadError, HintError, OSError, ValueError) as exc:
            raise CommandError(f"{opts['input']}: {exc}") from None
        self.stdout.write(f"{opts['output']} ({slug} v{version}, {seconds:.2f} s)")

    @staticmethod
    def _reference_global(path: Path, box_text: str | None) -> dict:
        box = _box_option(box_text) if box_text else None
        try:
            rgb = read_rgb(path, settings.CHROMA_MAX_IMAGE_PIXELS)
        except (ImageReadError, OSError) as exc:
            raise CommandError(f"reference {path}: {exc}") from None
        height, width = rgb.shape[:2]
        if box and (box[2] > width or box[3] > height):
            raise CommandError(f"--reference-box {box_text} lies outside the reference, which is {width}×{height}")
        source = {"kind": "reference", "name": path.name, **({"box": list(box)} if box else {})}
        return {"palette": palette_document(rgb, box=box), "source": source}

    @staticmethod
    def _with_global(hints: dict | None, member: dict) -> dict:
        hints = dict(hints or {})
        if hints.get("global") is not None:
            raise CommandError("the hints file already has a global member; leave out --reference / --palette")
        try:
            parse_global(member)  # a clear error now rather than per photo
        except HintError as exc:
            raise CommandError(str(exc)) from None
        hints["global"] = member
        return hints

    @staticmethod
    def _references_by_stem(folder: Path | None) -> dict[str, Path]:
        """The reference folder read once: each file stem's first image (by name)."""
        if folder is None:
            return {}
        by_stem: dict[str, Path] = {}
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in INPUT_SUFFIXES:
                by_stem.setdefault(path.stem, path)
        return by_stem

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
        options = RenderOptions(saturation=opts["saturation"])
        rgb = colorizer.colorize(image, hints, render_size=opts["render_size"], options=options)
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
        references = self._references_by_stem(opts["reference_dir"])
        for n, src in enumerate(sources, 1):
            hints = None
            if opts["hints_dir"] and (opts["hints_dir"] / f"{src.stem}.json").is_file():
                hints = self._read_hints(opts["hints_dir"] / f"{src.stem}.json")
            dst = dst_dir / f"{src.stem}{suffix}"
            try:
                reference = references.get(src.stem)
                if reference is not None:
                    hints = self._with_global(hints, self._reference_global(reference, None))
                seconds = self._one(colorizer, src, dst, hints, opts)
            except CommandError as exc:
                failures.append(f"{src.name}: {exc}")
                self.stderr.write(f"[{n}/{len(sources)}] {src.name}: FAILED: {exc}")
                continue
            except (ImageReadError, HintError, OSError, ValueError) as exc:
                failures.append(f"{src.name}: {exc}")
                self.stderr.write(f"[{n}/{len(sources)}] {src.name}: FAILED: {exc}")
                continue
            self.stdout.write(f"[{n}/{len(sources)}] {src.name} -> {dst} ({seconds:.2f} s)")
        done = len(sources) - len(failures)
        self.stdout.write(f"{done} colorized, {len(failures)} failed.")
        if failures:
            raise CommandError("some images failed:\n" + "\n".join(failures))


def _palette_option(text: str) -> list[dict]:
    """'#rrggbb:w,#rrggbb' -> [{"color": ..., "weight": ...}] (validated with the hints rules after)."""
    palette = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        colour, _, weight = part.partition(":")
        try:
            palette.append({"color": colour.strip(), "weight": float(weight) if weight.strip() else 1.0})
        except ValueError:
            raise CommandError(f"--palette: {weight!r} is not a weight; write #rrggbb:0.4") from None
    if not palette:
        raise CommandError('--palette needs at least one colour, for example "#7a5230:0.4,#8da0b8:0.6"')
    return palette


def _box_option(text: str) -> tuple[int, int, int, int]:
    try:
        left, top, right, bottom = (int(v) for v in text.split(","))
    except ValueError:
        raise CommandError(f"--reference-box takes left,top,right,bottom in pixels, not {text!r}") from None
    if left < 0 or top < 0 or right <= left or bottom <= top:
        raise CommandError("--reference-box needs 0 <= left < right and 0 <= top < bottom")
    return left, top, right, bottom
