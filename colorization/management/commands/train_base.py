"""Train the base colorization model from folders of colour photographs.

    manage.py train_base --images DIR [--images DIR ...] [--minutes N | --steps N] [--out PATH]
        [--init WEIGHTS] [--global-context] [--regression-loss smooth_l1|mse|log_mse] [--ce-weight F]
        [--fit-long-side N] ...

Resumable: if a run stops, the same command continues from its last checkpoint. ``--init``
continues an existing model with new settings (how each shipped version was made from the one
before); the new file's metadata names it as the parent.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import torch
from django.core.management.base import BaseCommand, CommandError

from colorization.engine.checkpoint import read_metadata, sha256_of
from colorization.engine.inference import DEFAULT_MODEL_PATH
from colorization.engine.training import add_config_arguments, config_from_arguments, load_training_images, train


def parent_description(path: Path) -> str:
    """How a continued model names its parent: ``base v3 (sha256 …)``, or the file name when it has no slug."""
    meta = read_metadata(path)
    name = f"{meta['slug']} v{meta.get('version', '1')}" if meta.get("slug") else path.name
    return f"{name} (sha256 {sha256_of(path)})"


class Command(BaseCommand):
    help = __doc__
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--images", type=Path, action="append", required=True, help="repeat for several folders")
        parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH)
        add_config_arguments(parser)
        parser.add_argument("--slug", default="base")
        parser.add_argument("--model-version", default="1")

    def handle(self, *args, **opts):
        if not (opts["minutes"] or opts["steps"]):
            raise CommandError("give --minutes or --steps")
        for folder in opts["images"]:
            if not folder.is_dir():
                raise CommandError(f"not a folder: {folder}")
            if "val" in folder.resolve().parts:
                raise CommandError(f"{folder} is a validation folder; never train on validation data")
        if opts["threads"]:
            torch.set_num_threads(opts["threads"])
        try:
            config = config_from_arguments(SimpleNamespace(**opts))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if opts["init"] and not opts["init"].is_file():
            raise CommandError(f"--init: no such file: {opts['init']}")
        started = time.monotonic()
        images = load_training_images(opts["images"], config, opts["cache"])
        self.stdout.write(f"loaded {len(images)} images in {time.monotonic() - started:.0f} s")
        metadata = {
            "slug": opts["slug"],
            "version": opts["model_version"],
            "trained_on": json.dumps([str(p) for p in opts["images"]]),
            "device": "cuda" if torch.cuda.is_available() else "cpu",
        }
        if opts["init"]:
            metadata["parent"] = parent_description(opts["init"])
        summary = train(
            images,
            opts["out"],
            config,
            init_weights=opts["init"],
            metadata=metadata,
            log=lambda s: self.stderr.write(s),
        )
        sha = sha256_of(opts["out"])
        self.stdout.write(
            f"wrote {opts['out']} (sha256 {sha}) after {summary['steps']} steps in {summary['minutes']} min"
        )
