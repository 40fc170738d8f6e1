"""Measure a model on colour photographs: each is greyed, colorized with k simulated hints, compared.

manage.py evaluate_model --images DIR [--model SLUG|PATH] [--hints 0,10,50] [--global-hints] [--json]

--global-hints also measures every photo with a global colour hint made from its own colours (its
16-colour palette, as the editor's reference photograph gives it), beside the run without.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from colorization.engine.checkpoint import CheckpointError
from colorization.engine.global_hints import GlobalHint, palette_from_rgb
from colorization.engine.inference import DECODES, DEFAULT_RENDER_SIZE, Colorizer, RenderOptions
from colorization.engine.metrics import evaluate_folder
from colorization.model_registry import UnknownModel, model_identity, resolve_model


def _hint_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"--hints takes whole numbers separated by commas, not {text!r}") from None
    if not counts or any(k < 0 for k in counts):
        raise CommandError("--hints needs at least one count, none negative")
    return counts


class Command(BaseCommand):
    help = __doc__
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--images", type=Path, action="append", required=True, help="repeat for several folders")
        parser.add_argument("--model", help="a model slug (base) or a .safetensors path")
        parser.add_argument("--hints", default="0,10,50", help="numbers of simulated hints, comma-separated")
        parser.add_argument("--render-size", type=int, default=DEFAULT_RENDER_SIZE)
        parser.add_argument("--limit", type=int, help="only the first N images (sorted by name)")
        parser.add_argument("--decode", choices=DECODES, help="override the model's decoding")
        parser.add_argument("--blend", type=float, help="weight of the annealed mean when decoding by blend")
        parser.add_argument("--no-propagation", action="store_true", help="turn off hint residual propagation")
        parser.add_argument(
            "--global-hints", action="store_true", help="also measure with each photo's own palette as a global hint"
        )
        parser.add_argument("--json", action="store_true", help="print the results as JSON")

    def handle(self, *args, **opts):
        counts = _hint_counts(opts["hints"])
        for folder in opts["images"]:
            if not folder.is_dir():
                raise CommandError(f"not a folder: {folder}")
        try:
            colorizer = Colorizer.load(
                resolve_model(opts["model"]), settings.COLORIZE_DEVICE, settings.COLORIZE_PRECISION
            )
        except (UnknownModel, CheckpointError) as exc:
            raise CommandError(str(exc)) from None

        try:
            options = RenderOptions(
                decode=opts["decode"], blend=opts["blend"], propagate_hints=False if opts["no_propagation"] else None
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None

        def run(global_hint=None) -> dict:
            return evaluate_folder(
                colorizer,
                opts["images"],
                hints=counts,
                render_size=opts["render_size"],
                limit=opts["limit"],
                options=options,
                log=None if opts["json"] else lambda line: self.stderr.write(line, ending="\r"),
                global_hint=global_hint,
            )

        try:
            result = run()
            if opts["global_hints"]:
                result["with_global_hints"] = {
                    "global_hint": "each photo's own 16-colour palette",
                    "hints": run(lambda name, truth: GlobalHint.from_palette(*palette_from_rgb(truth)))["hints"],
                }
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        slug, version = model_identity(colorizer.metadata, colorizer.sha256)
        result = {"model": slug, "version": version, "folders": [str(p) for p in opts["images"]], **result}
        if opts["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(self._table(result))

    @staticmethod
    def _table(result: dict) -> str:
        base = result["baseline_grey"]
        lines = [
            f"model {result['model']} v{result['version']} on {result['images']} images "
            f"({', '.join(result['folders'])}), render size {result['render_size']}, decode {result['decode']}",
            f"greyscale baseline: PSNR {base['psnr']:.2f} dB, SSIM {base['ssim']:.4f}, "
            f"CIEDE2000 {base['ciede2000']:.2f}",
            "hints  PSNR    gain    SSIM    CIEDE2000  colourfulness  max|ΔL|",
        ]
        for label, per_k in (("", result["hints"]), ("+global", result.get("with_global_hints", {}).get("hints", {}))):
            for k, m in per_k.items():
                lines.append(
                    f"{k + label:>5}  {m['psnr']:6.2f}  {m['psnr_gain_over_grey']:+5.2f}  {m['ssim']:.4f}  "
                    f"{m['ciede2000']:9.2f}  {m['colourfulness_ratio']:13.3f}  {m['delta_L_max']:.3f}"
                )
        if "with_global_hints" in result:
            lines.append("+global: with a global colour hint made from each photo's own 16-colour palette")
        return "\n".join(lines)
