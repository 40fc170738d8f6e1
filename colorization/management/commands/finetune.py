"""Fine-tune community models by hand: the same job Celery beat runs on the fine-tuning schedule.

manage.py finetune                       enqueue every due bucket (>= M examples, >= K new) on the training queue
manage.py finetune --bucket GENRE:ERA    only that bucket (any for either side: any:1900-1919, street:any)
manage.py finetune ... --now             run here and now instead of enqueueing (prints the loss and the decision)
manage.py finetune --list                the buckets, their example counts and whether they are due
manage.py finetune --rollback GENRE:ERA  retire the bucket's active model and restore the one it replaced
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from colorization import finetuning, model_registry
from colorization.models import FinetuneSchedule, bucket_key


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--bucket", help="GENRE:ERA, e.g. street:1900-1919, any:1900-1919 or street:any")
        parser.add_argument("--now", action="store_true", help="run in this process instead of the training queue")
        parser.add_argument("--list", action="store_true", help="show buckets and exit")
        parser.add_argument("--rollback", metavar="GENRE:ERA", help="roll the bucket back to its previous model")
        parser.add_argument("--steps", type=int, help="override the schedule's step limit")
        parser.add_argument("--minutes", type=float, help="override the schedule's training time limit")
        parser.add_argument("--threads", type=int, help="torch CPU threads")
        parser.add_argument("--json", action="store_true", help="print the finished run as JSON (with --now)")

    def handle(self, *args, **options):
        try:
            self._handle(options)
        except finetuning.FinetuneError as exc:
            raise CommandError(str(exc)) from exc

    def _handle(self, options):
        if options["threads"]:
            import torch

            torch.set_num_threads(options["threads"])
        if options["rollback"]:
            genre, era = finetuning.parse_bucket(options["rollback"])
            try:
                retired, restored = model_registry.model_rollback(genre, era)
            except (ValueError, model_registry.ModelFileMismatch) as exc:
                raise CommandError(str(exc)) from exc
            target = restored.slug if restored else "its parent buckets (then the base model)"
            self.stdout.write(f"Retired {retired.slug}; {bucket_key(genre, era)} now routes to {target}.")
            return
        schedule = FinetuneSchedule.get()
        if options["list"]:
            for state in finetuning.buckets_overview(schedule):
                self.stdout.write(
                    f"{state.key:28} train {state.train:5} holdout {state.holdout:5} new {state.new:5}  "
                    f"{'DUE' if state.due else '-':3}  {state.reason}"
                )
            return
        overrides = {"steps": options["steps"], "minutes": options["minutes"]}
        if options["bucket"]:
            genre, era = finetuning.parse_bucket(options["bucket"])
            state = finetuning.bucket_state(genre, era, schedule, ignore_new=True)
            if not state.due:
                raise CommandError(f"{state.key}: {state.reason}")
            buckets = [(genre, era)]
        else:
            buckets = [(s.genre, s.era) for s in finetuning.buckets_overview(schedule) if s.due]
            if not buckets:
                self.stdout.write("No bucket is due (see --list).")
                return
        for genre, era in buckets:
            if options["now"]:
                run = finetuning.training_run_now(
                    genre, era, overrides=overrides, log=lambda s: print(s, file=sys.stderr, flush=True)
                )
                self.stdout.write(f"Run #{run.pk} {bucket_key(genre, era)}: {run.status}. {run.decision}")
                if options["json"]:
                    self.stdout.write(json.dumps(_run_json(run)))
            else:
                run = finetuning.training_run_enqueue(genre, era, trigger="command", overrides=overrides)
                self.stdout.write(f"Queued run #{run.pk} for {bucket_key(genre, era)} on the training queue.")


def _run_json(run) -> dict:
    return {
        "id": run.pk,
        "bucket": bucket_key(run.genre, run.era),
        "status": run.status,
        "candidate": run.candidate.slug if run.candidate else None,
        "parent": run.parent.slug if run.parent else None,
        "steps": run.steps,
        "train_seconds": run.train_seconds,
        "eval_seconds": run.eval_seconds,
        "wall_seconds": run.wall_seconds,
        "cpu_seconds": run.cpu_seconds,
        "deltas": run.metrics.get("deltas"),
        "decision": run.decision,
    }
