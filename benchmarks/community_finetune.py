"""The product's core benchmark: does fine-tuning on one era's accepted colours beat the base model?

    python benchmarks/community_finetune.py [--threads 2] [--minutes 22] [--limit N]

Takes ../shared/data/era/prokudin-gorskii-1905-1915 (real colour photographs of 1905–1915),
splits it 80/20 by a hash of each file name, and ingests the 80 % through the platform's own
services in a throwaway folder (SQLite database, media): each photo is uploaded as its greyscale
version (``photo_upload``, era 1905–1915) and its real colours are added as an accepted training
example (``training_example_add``, credited to a volunteer account). Then it runs the fine-tuning
job exactly as ``manage.py finetune --bucket any:1900-1919 --now`` does (the job's own gate
evaluates on the bucket's holdout examples, the platform's ~20 % of the ingested photos) and
finally measures the base model and the bucket's active model on the untouched 20 %: PSNR at 0,
10 and 50 simulated hints and the colourfulness ratio. Prints a table and one JSON line, and
writes both to benchmarks/results/community_finetune.{json,md}.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "era" / "prokudin-gorskii-1905-1915"
RESULTS = ROOT / "benchmarks" / "results"


def outer_split(name: str) -> str:
    """The benchmark's own 80/20 split, by file name (independent of the platform's holdout split)."""
    return "test" if int(hashlib.sha256(f"bench:{name}".encode()).hexdigest()[:8], 16) % 100 < 20 else "ingest"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--minutes", type=float, help="training time budget (default: the schedule's)")
    parser.add_argument("--steps", type=int, help="training step limit (default: the schedule's)")
    parser.add_argument("--lr", type=float, help="peak learning rate (default: the schedule's)")
    parser.add_argument("--no-hint-fraction", type=float, help="share of unhinted crops (default: the schedule's)")
    parser.add_argument("--crop", type=int, help="training crop size (default: the schedule's)")
    parser.add_argument("--batch-size", type=int, help="crops per step (default: the schedule's)")
    parser.add_argument(
        "--regression-loss", choices=["mse", "log_mse", "smooth_l1"], help="chroma loss (default: the schedule's)"
    )
    parser.add_argument("--ce-weight", type=float, help="colour-class loss weight (default: the schedule's)")
    parser.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],  # engine.defaults.PRECISIONS (the project is not on sys.path yet)
        help="the network's float format in training (default: the schedule's)",
    )
    parser.add_argument("--members", type=int, help="fine-tunes averaged into the candidate (default: the schedule's)")
    parser.add_argument("--tag", help="write results as community_finetune-TAG.* (an experiment beside the benchmark)")
    parser.add_argument("--limit", type=int, help="use only the first N photos (a quick check, not the benchmark)")
    parser.add_argument("--eval-limit", type=int, help="measure on only the first N held-out photos (time)")
    parser.add_argument("--workdir", type=Path, help="keep the database and media here (default: a temp folder)")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="chroma-finetune-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CHROMA_VAR_DIR": str(workdir),
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "CELERY_BROKER_URL": "filesystem://",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import numpy as np
    import torch
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from PIL import Image

    from colorization import finetuning, model_registry
    from colorization.engine.color import lab_to_srgb8
    from colorization.engine.imageio import rgb_to_lightness_u8
    from colorization.engine.inference import Colorizer
    from colorization.engine.metrics import evaluate_images, load_truth
    from colorization.engine.training import find_images
    from colorization.models import FinetuneSchedule, RunStatus, Split, TrainingExample, TrainingRun
    from colorization.services import photo_upload
    from colorization.training_data import training_example_add

    torch.set_num_threads(args.threads)
    call_command("migrate", verbosity=0)
    paths = find_images([args.data])[: args.limit] if args.limit else find_images([args.data])
    ingest = [p for p in paths if outer_split(p.name) == "ingest"]
    test = [p for p in paths if outer_split(p.name) == "test"]
    print(f"{len(paths)} photos: {len(ingest)} ingested, {len(test)} held out for this benchmark", flush=True)

    User = get_user_model()
    owner, _ = User.objects.get_or_create(username="archive")
    volunteer, _ = User.objects.get_or_create(username="volunteer")
    t0 = time.monotonic()
    done = set(TrainingExample.objects.filter(source__startswith="benchmark:").values_list("source", flat=True))
    for n, path in enumerate(ingest):
        if f"benchmark:{path.name}" in done:  # a re-run in the same --workdir
            continue
        truth = load_truth(path)
        L = rgb_to_lightness_u8(truth)
        grey = lab_to_srgb8(np.stack((L, np.zeros_like(L), np.zeros_like(L)), -1))[..., 0]
        buf = io.BytesIO()
        Image.fromarray(grey).save(buf, "PNG")
        buf.seek(0)
        photo = photo_upload(
            owner=owner,
            file=buf,
            filename=path.name.replace(".jpg", ".png"),
            metadata={"title": f"Prokudin-Gorskii {path.stem}", "year_from": 1905, "year_to": 1915},
        ).photo
        with open(path, "rb") as colour:
            training_example_add(photo=photo, image=colour, source=f"benchmark:{path.name}", contributor=volunteer)
        if (n + 1) % 100 == 0:
            print(f"ingested {n + 1}/{len(ingest)}", flush=True)
    ingest_seconds = time.monotonic() - t0
    examples = TrainingExample.objects.active().filter(era_bucket="1900-1919")
    counts = {s: examples.filter(split=s).count() for s in (Split.TRAIN, Split.HOLDOUT)}
    print(f"ingest {ingest_seconds:.0f} s; examples {counts}", flush=True)

    schedule = FinetuneSchedule.get()
    print(
        f"schedule: {schedule.minutes} min / {schedule.steps} steps, batch {schedule.batch_size}, "
        f"crop {schedule.crop}, lr {schedule.learning_rate}, no-hint share {schedule.no_hint_fraction}, "
        f"loss {schedule.regression_loss} + {schedule.ce_weight} x class loss, {schedule.precision} precision, "
        f"{schedule.members} averaged "
        "fine-tunes (before overrides)",
        flush=True,
    )
    states = {s.key: s for s in finetuning.buckets_overview(schedule)}
    print("buckets:", {k: (s.train, s.holdout, s.due, s.reason) for k, s in states.items()}, flush=True)

    stopped = TrainingRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).update(
        status=RunStatus.FAILED, error="the benchmark process that ran it was stopped"
    )
    if stopped:
        print(f"{stopped} run(s) of an earlier, stopped benchmark process marked failed", flush=True)
    while model_registry.active_model("", "1900-1919") is not None:  # a re-run starts from the base model again
        retired, _ = model_registry.model_rollback("", "1900-1919")
        print(f"rolled back {retired.slug} (from an earlier run in this workdir)", flush=True)
    wall0, cpu0 = time.monotonic(), time.process_time()
    run = finetuning.training_run_now(
        "",
        "1900-1919",
        overrides={
            "minutes": args.minutes,
            "steps": args.steps,
            "lr": args.lr,
            "no_hint_fraction": args.no_hint_fraction,
            "crop": args.crop,
            "batch_size": args.batch_size,
            "regression_loss": args.regression_loss,
            "ce_weight": args.ce_weight,
            "members": args.members,
            "precision": args.precision,
            "device": "cpu",
        },
        log=lambda s: print(s, flush=True),
    )
    job_wall, job_cpu = time.monotonic() - wall0, time.process_time() - cpu0
    print(f"job: {run.status} in {job_wall / 60:.1f} min wall, {job_cpu / 60:.1f} CPU-min: {run.decision}", flush=True)

    truths = [(p.name, load_truth(p)) for p in (test[: args.eval_limit] if args.eval_limit else test)]
    base_path = model_registry.verified_path(model_registry.base_model())
    results = {"base": evaluate_images(Colorizer.load(base_path, "cpu"), truths)}
    candidate = run.candidate
    results["candidate"] = evaluate_images(Colorizer.load(model_registry.verified_path(candidate), "cpu"), truths)
    routed = model_registry.route("", "1900-1919")
    ks = ["0", "10", "50"]

    def row(name, r):
        h = r["hints"]
        return (
            f"| {name} | " + " / ".join(f"{h[k]['psnr']:.2f}" for k in ks) + f" | {h['0']['colourfulness_ratio']:.2f} |"
        )

    gains = {k: round(results["candidate"]["hints"][k]["psnr"] - results["base"]["hints"][k]["psnr"], 3) for k in ks}
    goal = gains["0"] >= 1.0 and gains["10"] >= 0 and gains["50"] >= 0 and job_wall < 30 * 60
    table = "\n".join(
        [
            f"Held-out Prokudin-Gorskii photos: {len(truths)} of the {len(test)} never ingested; grey PSNR "
            f"{results['base']['baseline_grey']['psnr']:.2f} dB",
            "",
            "| model | PSNR at 0 / 10 / 50 hints (dB) | colourfulness ratio (0 hints) |",
            "| --- | --- | ---: |",
            row("base", results["base"]),
            row(f"{candidate.slug} ({candidate.status})", results["candidate"]),
            f"| gain | {gains['0']:+.2f} / {gains['10']:+.2f} / {gains['50']:+.2f} | |",
            "",
            f"Job: {run.steps} steps, training {run.train_seconds / 60:.1f} min, evaluation "
            f"{run.eval_seconds / 60:.1f} min, whole job {job_wall / 60:.1f} min wall / {job_cpu / 60:.1f} CPU-min "
            f"on {args.threads} threads, device {run.device}; gate on {run.holdout_count} platform-holdout photos: "
            f"{run.decision}",
            f"New uploads of 1900-1919 now route to: {routed.slug}.",
            f"Goal (+1.0 dB at 0 hints, no loss at 10 and 50, job under 30 min): {'met' if goal else 'NOT met'}.",
        ]
    )
    print(table)
    summary = {
        "benchmark": "community_finetune",
        "photos": len(paths),
        "ingested": len(ingest),
        "test": len(test),
        "test_measured": len(truths),
        "examples": counts,
        "ingest_seconds": round(ingest_seconds, 1),
        "run": {
            "status": run.status,
            "candidate": candidate.slug,
            "steps": run.steps,
            "train_seconds": run.train_seconds,
            "eval_seconds": run.eval_seconds,
            "job_wall_seconds": round(job_wall, 1),
            "job_cpu_seconds": round(job_cpu, 1),
            "config": run.config,
            "gate_deltas": run.metrics.get("deltas"),
            "decision": run.decision,
            "loss_curve": run.loss_curve,
        },
        "test_psnr": {m: {k: results[m]["hints"][k]["psnr"] for k in ks} for m in results},
        "test_colourfulness_ratio": {m: results[m]["hints"]["0"]["colourfulness_ratio"] for m in results},
        "gain_db": gains,
        "routed_to": routed.slug,
        "goal_met": goal,
        "threads": args.threads,
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end",
    }
    print(json.dumps(summary))
    if not args.no_write and not args.limit:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stem = f"community_finetune-{args.tag}" if args.tag else "community_finetune"
        (RESULTS / f"{stem}.json").write_text(json.dumps(summary, indent=1) + "\n")
        (RESULTS / f"{stem}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
