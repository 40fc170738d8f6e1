"""Train the base colorization model from folders of colour photographs.

    manage.py train_base --images DIR [--images DIR ...] [--minutes N | --steps N] [--out PATH]

Resumable: if a run stops, the same command continues from its last checkpoint.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from django.core.management.base import BaseCommand, CommandError

from colorization.engine.checkpoint import sha256_of
from colorization.engine.training import TrainConfig, load_folder, train
from colorization.modelfiles import SHIPPED


class Command(BaseCommand):
    help = __doc__
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--images", type=Path, action="append", required=True, help="repeat for several folders")
        parser.add_argument("--minutes", type=float, help="wall-clock budget (the schedule follows it)")
        parser.add_argument("--steps", type=int, help="number of optimizer steps")
        parser.add_argument("--out", type=Path, default=SHIPPED["base"])
        parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
        parser.add_argument("--crop", type=int, default=TrainConfig.crop)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--threads", type=int, help="CPU threads (default: torch's choice)")
        parser.add_argument("--cache", type=Path, help="an .npz file to cache the decoded images in")
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
        config = TrainConfig(
            minutes=opts["minutes"],
            steps=opts["steps"],
            batch_size=opts["batch_size"],
            crop=opts["crop"],
            seed=opts["seed"],
        )
        started = time.monotonic()
        images = load_folder(opts["images"], config.short_side, opts["cache"])
        self.stdout.write(f"loaded {len(images)} images in {time.monotonic() - started:.0f} s")
        metadata = {
            "slug": opts["slug"],
            "version": opts["model_version"],
            "trained_on": json.dumps([str(p) for p in opts["images"]]),
            "device": "cuda" if torch.cuda.is_available() else "cpu",
        }
        summary = train(images, opts["out"], config, metadata=metadata, log=lambda s: self.stderr.write(s))
        sha = sha256_of(opts["out"])
        self.stdout.write(
            f"wrote {opts['out']} (sha256 {sha}) after {summary['steps']} steps in {summary['minutes']} min"
        )
