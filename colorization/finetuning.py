"""Community fine-tuning: which buckets are due, one training run per bucket, the evaluation gate.

The flow (issue 7, DESIGN.md): Celery beat calls ``finetune_tick`` every few minutes; when the
admin-editable crontab of ``FinetuneSchedule`` has fired, every bucket (genre × era, era alone,
genre alone) with at least M training examples and K new ones since its last run gets one
``TrainingRun`` on the ``training`` queue. A run fine-tunes the bucket's active model (or, the
first time, its routing parent) with the engine's training loop, evaluates parent and candidate
on the bucket's holdout examples at 0, 10 and 50 simulated hints, and promotes the candidate only
when it wins at 0 hints by the margin and loses nothing beyond noise elsewhere.

Two runs of one bucket never overlap: a partial unique index allows one queued-or-running run
per bucket, and a worker claims a run with a conditional update. The candidate is trained in a local
staging folder, copied to storage at each checkpoint (so another host can resume it), and stored
under its sha256 only when finished; its sha256 is recorded.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from PIL import Image

from colorization import metrics, model_registry
from colorization.cron import fired_between
from colorization.eras import bucket_label, parse_era_buckets
from colorization.model_cache import staging_delete, staging_pull, staging_push
from colorization.models import (
    ColorModel,
    FinetuneSchedule,
    ModelStatus,
    RunStatus,
    Split,
    TrainingExample,
    TrainingRun,
    bucket_key,
)
from colorization.storage import storage_replace

logger = logging.getLogger(__name__)

PENDING = (RunStatus.QUEUED, RunStatus.RUNNING)
SAMPLE_COUNT = 4


class FinetuneError(Exception):
    """A request the fine-tuning service refuses, with a message for people."""


class RunAlreadyPending(FinetuneError):
    def __init__(self, run: TrainingRun | None):
        self.run = run
        super().__init__(
            f"the bucket already has a {run.status} training run (#{run.pk})" if run else "a run is already pending"
        )


# -- buckets ------------------------------------------------------------------------------------


def parse_bucket(text: str) -> tuple[str, str]:
    """``GENRE:ERA`` with ``any`` for either side -> (genre, era) as stored ("" = any)."""
    genre, sep, era = text.strip().partition(":")
    if not sep:
        raise FinetuneError(
            f"write the bucket as GENRE:ERA, e.g. street:1900-1919, any:1900-1919 or street:any (got {text!r})"
        )
    genre = "" if genre.lower() in ("any", "") else genre.lower()
    era = "" if era.lower() in ("any", "") else era
    if not genre and not era:
        raise FinetuneError("the bucket any:any is the base model's; name a genre, an era or both")
    genres = [g for g in settings.CHROMA_GENRES if g != "unknown"]
    if genre and genre not in genres:
        raise FinetuneError(f"unknown genre {genre!r}; choose one of {', '.join(genres)}")
    eras = [bucket_label(lo, hi) for lo, hi in parse_era_buckets(settings.CHROMA_ERA_BUCKETS)]
    if era and era not in eras:
        raise FinetuneError(f"unknown era bucket {era!r}; choose one of {', '.join(eras)}")
    return genre, era


def bucket_examples(genre: str, era: str):
    qs = TrainingExample.objects.active()
    if genre:
        qs = qs.filter(genre=genre)
    if era:
        qs = qs.filter(era_bucket=era)
    return qs


def _last_completed_run(genre: str, era: str) -> TrainingRun | None:
    return (
        TrainingRun.objects.filter(genre=genre, era=era, status__in=[RunStatus.SUCCEEDED, RunStatus.REJECTED])
        .order_by("-started_at", "-id")
        .first()
    )


@dataclass
class BucketState:
    genre: str
    era: str
    train: int
    holdout: int
    new: int
    pending: TrainingRun | None
    due: bool
    reason: str

    @property
    def key(self) -> str:
        return bucket_key(self.genre, self.era)


def bucket_state(genre: str, era: str, schedule: FinetuneSchedule, *, ignore_new: bool = False) -> BucketState:
    examples = bucket_examples(genre, era)
    train = examples.filter(split=Split.TRAIN).count()
    holdout = examples.filter(split=Split.HOLDOUT).count()
    last = _last_completed_run(genre, era)
    new_qs = examples.filter(split=Split.TRAIN)
    if last is not None and last.started_at is not None:
        new_qs = new_qs.filter(created_at__gt=last.started_at)
    new = new_qs.count()
    pending = TrainingRun.objects.filter(genre=genre, era=era, status__in=PENDING).first()
    if pending is not None:
        due, reason = False, f"run #{pending.pk} is {pending.status}"
    elif train < max(1, schedule.min_examples) and not ignore_new:
        due, reason = False, f"{train} training examples, needs {schedule.min_examples}"
    elif train < 1:
        due, reason = False, "no training examples"
    elif holdout < 1:
        due, reason = False, "no holdout examples to evaluate on"
    elif new < schedule.min_new_examples and not ignore_new:
        due, reason = False, f"{new} new since the last run, needs {schedule.min_new_examples}"
    else:
        due, reason = True, f"{train} training, {holdout} holdout, {new} new"
    return BucketState(genre, era, train, holdout, new, pending, due, reason)


def candidate_buckets() -> list[tuple[str, str]]:
    """Every bucket some active example falls in: genre × era, era alone, genre alone."""
    pairs = set(TrainingExample.objects.active().values_list("genre", "era_bucket").distinct())
    buckets: set[tuple[str, str]] = set()
    for genre, era in pairs:
        genre = "" if genre == "unknown" else genre
        if genre and era:
            buckets.add((genre, era))
        if era:
            buckets.add(("", era))
        if genre:
            buckets.add((genre, ""))
    return sorted(buckets)


def buckets_overview(schedule: FinetuneSchedule | None = None) -> list[BucketState]:
    schedule = schedule or FinetuneSchedule.get()
    return [bucket_state(g, e, schedule) for g, e in candidate_buckets()]


# -- enqueueing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FinetuneConfig:
    """A run's settings, as ``TrainingRun.config`` stores them (copied from the schedule when queued).

    The defaults serve runs queued before those settings existed.
    """

    steps: int
    minutes: float
    batch_size: int
    crop: int
    lr: float
    no_hint_fraction: float
    margin_db: float
    noise_db: float
    colourfulness_tolerance: float
    max_holdout: int
    render_size: int
    hints: list[int]
    regression_loss: str = "smooth_l1"  # as the base model trained
    ce_weight: float = 1.0
    precision: str = "fp32"
    members: int = 1
    device: str = ""  # "": settings.COLORIZE_DEVICE
    # Share of crops given a global colour hint simulated from their own colours, as the base model
    # trained (only a parent with the global-hint branch uses it): the fine-tune keeps following them.
    global_hint_fraction: float = 0.5
    checkpoint_every_s: float = 300.0
    log_every_s: float = 30.0

    @classmethod
    def from_run(cls, config: dict) -> FinetuneConfig:
        """The stored JSON, typed; keys it does not know are ignored."""
        values = {}
        for field in dataclasses.fields(cls):
            if field.name in config and config[field.name] is not None:
                value = config[field.name]
                convert = {"int": int, "float": float, "str": str}.get(field.type)
                values[field.name] = convert(value) if convert else value
        return cls(**values)


def _run_config(schedule: FinetuneSchedule, overrides: dict | None = None) -> dict:
    config = {
        "steps": schedule.steps,
        "minutes": schedule.minutes,
        "batch_size": schedule.batch_size,
        "crop": schedule.crop,
        "lr": schedule.learning_rate,
        "no_hint_fraction": schedule.no_hint_fraction,
        "regression_loss": schedule.regression_loss,
        "ce_weight": schedule.ce_weight,
        "precision": schedule.precision,
        "members": schedule.members,
        "margin_db": schedule.margin_db,
        "noise_db": schedule.noise_db,
        "colourfulness_tolerance": schedule.colourfulness_tolerance,
        "max_holdout": schedule.max_holdout,
        "render_size": settings.CHROMA_DEFAULT_RENDER_SIZE,
        "hints": [0, 10, 50],
    }
    config.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return config


def training_run_create(
    genre: str, era: str, *, trigger: str = "schedule", requested_by=None, overrides: dict | None = None
) -> TrainingRun:
    """A queued run for the bucket (not sent anywhere); RunAlreadyPending if one is queued or running."""
    schedule = FinetuneSchedule.get()
    try:
        with transaction.atomic():
            return TrainingRun.objects.create(
                genre=genre,
                era=era,
                trigger=trigger,
                requested_by=requested_by,
                config=_run_config(schedule, overrides),
            )
    except IntegrityError:
        raise RunAlreadyPending(TrainingRun.objects.filter(genre=genre, era=era, status__in=PENDING).first()) from None


def training_run_enqueue(genre: str, era: str, **kwargs) -> TrainingRun:
    """Create a run and send it to the ``training`` queue once the transaction commits."""
    run = training_run_create(genre, era, **kwargs)
    transaction.on_commit(lambda: _send(run.pk))
    return run


def _send(run_id: int) -> None:
    from colorization.tasks import run_training

    try:
        run_training.apply_async((run_id,), queue="training")
    except Exception as exc:  # noqa: BLE001 (broker down: the run stays queued; the next tick re-sends it)
        logger.warning("training run %s: could not reach the broker (%s); it stays queued", run_id, exc)


def finetune_due(*, trigger: str = "schedule", requested_by=None) -> list[TrainingRun]:
    """One run for every due bucket."""
    schedule = FinetuneSchedule.get()
    runs = []
    for state in buckets_overview(schedule):
        if state.due:
            try:
                runs.append(training_run_enqueue(state.genre, state.era, trigger=trigger, requested_by=requested_by))
            except RunAlreadyPending:
                continue
    return runs


def training_runs_sweep(now=None) -> dict[str, int]:
    """Fail runs whose worker died (stale heartbeat) so their bucket can run again; re-send lost queued runs."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.CHROMA_TRAINING_STALE_SECONDS)
    dead = list(
        TrainingRun.objects.filter(status=RunStatus.RUNNING)
        .filter(Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale))
        .values_list("pk", flat=True)
    )
    failed = 0
    for pk in dead:
        failed += TrainingRun.objects.filter(pk=pk, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED,
            finished_at=now,
            error="Its worker stopped answering (no heartbeat); nothing was installed. The bucket can run again.",
        )
        _clean_staging(pk)
    resent = 0
    for pk in TrainingRun.objects.filter(status=RunStatus.QUEUED, queued_at__lt=stale).values_list("pk", flat=True):
        _send(pk)
        resent += 1
    return {"failed": failed, "resent": resent}


def finetune_tick(now=None) -> dict:
    """Beat: sweep dead runs; when the schedule's crontab fired since the last look, enqueue due buckets."""
    now = now or timezone.now()
    report = training_runs_sweep(now)
    with transaction.atomic():
        FinetuneSchedule.get()
        schedule = FinetuneSchedule.objects.select_for_update().order_by("pk").first()
        after = schedule.last_checked_at or now - timedelta(seconds=settings.CHROMA_FINETUNE_TICK_SECONDS)
        fired = fired_between(schedule.crontab, after, now) if schedule.enabled else None
        schedule.last_checked_at = now
        if fired is not None:
            schedule.last_fired_at = now
        schedule.save(update_fields=["last_checked_at", "last_fired_at"])
        runs = finetune_due() if fired is not None else []
    report.update(fired=fired is not None, enqueued=[r.pk for r in runs])
    return report


# -- running ------------------------------------------------------------------------------------


def training_run_claim(run_id: int) -> bool:
    """Take a queued run (or a running one whose worker died) for this process; False if another has it."""
    return TrainingRun.claim(run_id, stale_seconds=settings.CHROMA_TRAINING_STALE_SECONDS)


def staging_dir(run_id: int) -> Path:
    """This host's working copy of a run's staging (its copy in storage: model_cache.staging_prefix)."""
    return Path(settings.CHROMA_MODEL_CACHE_DIR) / "staging" / f"run-{run_id}"


def _clean_staging(run_id: int) -> None:
    shutil.rmtree(staging_dir(run_id), ignore_errors=True)
    staging_delete(run_id)


def _read_example(example: TrainingExample) -> np.ndarray:
    with default_storage.open(example.image.name, "rb") as f, Image.open(f) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


class _Beat:
    """Throttled heartbeat and progress text for a running run (every few seconds at most)."""

    def __init__(self, run_id: int, every: float = 5.0):
        self.run_id, self.every, self.last = run_id, every, 0.0

    def __call__(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= self.every:
            self.last = now
            TrainingRun.heartbeat([self.run_id], progress=text[:120])


def gate(parent: dict, candidate: dict, config: FinetuneConfig) -> tuple[bool, str, dict]:
    """The promotion rule. ``parent``/``candidate``: evaluation results (``{"hints": {"0": {...}}}``)."""

    def value(result, k, key):
        return result["hints"][str(k)][key]

    deltas = {f"psnr_{k}": round(value(candidate, k, "psnr") - value(parent, k, "psnr"), 4) for k in config.hints}
    c_parent = value(parent, 0, "colourfulness_ratio")
    c_cand = value(candidate, 0, "colourfulness_ratio")
    deltas["colourfulness_0"] = round(c_cand - c_parent, 4)
    reasons = []
    if deltas["psnr_0"] < config.margin_db:
        reasons.append(f"at 0 hints it gains {deltas['psnr_0']:+.2f} dB, needs +{config.margin_db:.2f} dB")
    for k in config.hints:
        if k and deltas[f"psnr_{k}"] < -config.noise_db:
            reasons.append(f"at {k} hints it loses {-deltas[f'psnr_{k}']:.2f} dB (allowed {config.noise_db:.2f})")
    if not (math.isnan(c_parent) or math.isnan(c_cand)) and deltas["colourfulness_0"] < -config.colourfulness_tolerance:
        reasons.append(
            f"colourfulness ratio falls from {c_parent:.2f} to {c_cand:.2f} "
            f"(allowed {config.colourfulness_tolerance:.2f})"
        )
    if reasons:
        return False, "Rejected: " + "; ".join(reasons) + ".", deltas
    gains = ", ".join(f"{deltas[f'psnr_{k}']:+.2f} dB at {k} hints" for k in config.hints)
    return True, f"Promoted: {gains}; colourfulness ratio {c_parent:.2f} → {c_cand:.2f}.", deltas


def _save_samples(slug: str, outputs: dict[str, dict[str, np.ndarray]], examples: dict[str, TrainingExample], meta):
    from colorization.engine.imageio import encode

    samples = []
    for name, by_model in outputs.items():
        example = examples[name]
        entry = {"example": example.pk, "photo": example.photo_id}
        for role, rgb in by_model.items():
            key = f"models/samples/{slug}/{example.pk}-{role}.png"
            entry[role] = storage_replace(key, encode(rgb, "png", meta(role)))
        samples.append(entry)
    return samples


def _next_version(genre: str, era: str) -> int:
    return (ColorModel.objects.filter(genre=genre, era=era).aggregate(v=Max("version"))["v"] or 0) + 1


def _merge_summaries(summaries: list[dict]) -> dict:
    """One loss curve and step count for a run of several members, laid end to end."""
    if len(summaries) == 1:
        return summaries[0]
    steps, seconds, curve = 0, 0.0, []
    for s in summaries:
        curve.extend((step + steps, round(t + seconds, 1), loss) for step, t, loss in s["curve"])
        steps += s["steps"]
        seconds += 60 * s["minutes"]
    members = [{k: v for k, v in s.items() if k != "curve"} for s in summaries]
    return {
        "steps": steps,
        "minutes": round(seconds / 60, 2),
        "precision": summaries[0].get("precision"),
        "curve": curve,
        "train_config": summaries[0]["train_config"],  # the members differ only in seed and share of the budget
        "members": members,
    }


def training_run_execute(run_id: int, *, log: Callable[[str], None] | None = None) -> TrainingRun:
    """Do a claimed run: train, evaluate, register the candidate, promote or reject. Raises on failure
    (after marking the run failed: nothing installed, the bucket free to run again)."""
    started = time.monotonic()
    try:
        run = _execute(run_id, log or (lambda s: logger.info("training run %s: %s", run_id, s)))
    except Exception as exc:
        TrainingRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        _clean_staging(run_id)
        metrics.training_run_finished(status=RunStatus.FAILED, seconds=time.monotonic() - started)
        raise
    metrics.training_run_finished(status=run.status, seconds=time.monotonic() - started)
    return run


@dataclass
class _RunContext:
    """What the steps of one run share."""

    run: TrainingRun
    config: FinetuneConfig
    log: Callable[[str], None]
    beat: _Beat
    device: str
    precision: str
    staging: Path

    @property
    def staged(self) -> Path:
        return self.staging / "candidate.safetensors"


@dataclass
class _Candidate:
    slug: str
    version: int
    summary: dict
    seconds: float


@dataclass
class _Evaluation:
    results: dict[str, dict]  # role ("parent", "candidate") -> evaluate_images' result
    outputs: dict[str, dict[str, np.ndarray]]  # sample name -> role -> image
    examples: dict[str, TrainingExample]  # sample name -> its holdout example
    seconds: float


def _execute(run_id: int, log: Callable[[str], None]) -> TrainingRun:
    from colorization.engine.inference import resolve_device
    from colorization.engine.precision import resolve_precision

    run = TrainingRun.objects.get(pk=run_id)
    if run.status != RunStatus.RUNNING:
        raise FinetuneError(f"run {run_id} is {run.status}, not claimed")
    config = FinetuneConfig.from_run(run.config)
    wall0, cpu0 = time.monotonic(), time.process_time()
    device = resolve_device(config.device or settings.COLORIZE_DEVICE)
    # training and the gate's evaluation in one format (runs queued before it was a setting: float32)
    ctx = _RunContext(
        run=run,
        config=config,
        log=log,
        beat=_Beat(run_id),
        device=device,
        precision=resolve_precision(device, config.precision),
        staging=staging_dir(run_id),
    )
    parent, parent_path, train_examples, holdout_examples = _select(ctx)
    candidate = _train_candidate(ctx, parent, parent_path, train_examples)
    evaluation = _evaluate(ctx, parent_path, holdout_examples)
    promote = _register(ctx, parent, candidate, evaluation, cpu0)
    _clean_staging(run_id)
    log(
        f"run {run_id} finished in {time.monotonic() - wall0:.0f} s: "
        f"{candidate.slug} {'promoted' if promote else 'rejected'}"
    )
    return TrainingRun.objects.get(pk=run_id)


def _select(ctx: _RunContext) -> tuple[ColorModel, Path, list[TrainingExample], list[TrainingExample]]:
    """The parent to fine-tune (the bucket's active model, else its routing parent) and the examples."""
    run = ctx.run
    parent = model_registry.active_model(run.genre, run.era) or model_registry.route(run.genre, run.era, skip_own=True)
    parent_path = model_registry.verified_path(parent)
    examples = bucket_examples(run.genre, run.era).order_by("id")
    train_examples = list(examples.filter(split=Split.TRAIN))
    holdout_examples = list(examples.filter(split=Split.HOLDOUT)[: ctx.config.max_holdout])
    if not train_examples or not holdout_examples:
        raise FinetuneError(
            f"the bucket has {len(train_examples)} training and {len(holdout_examples)} holdout examples; it needs both"
        )
    TrainingRun.objects.filter(pk=run.pk).update(
        parent=parent, train_count=len(train_examples), holdout_count=len(holdout_examples)
    )
    run.examples.set(train_examples + holdout_examples)
    return parent, parent_path, train_examples, holdout_examples


def _train_candidate(
    ctx: _RunContext, parent: ColorModel, parent_path: Path, train_examples: list[TrainingExample]
) -> _Candidate:
    """Fine-tune the parent into the staging folder (``members`` seeds averaged); resumes a re-claimed run."""
    from colorization.engine.checkpoint import average_checkpoints, read_metadata
    from colorization.engine.training import TrainConfig, fit_long_side, train

    run, config, beat = ctx.run, ctx.config, ctx.beat
    beat(f"reading {len(train_examples)} training examples", force=True)
    train_images = fit_long_side([_read_example(e) for e in train_examples], config.render_size)
    # A run re-claimed after its worker died resumes from the staging that worker copied to storage
    # (possibly from another host).
    if pulled := staging_pull(run.pk, ctx.staging):
        ctx.log(f"resuming from the staging in storage: {', '.join(sorted(pulled))}")
    train_config = TrainConfig(
        crop=config.crop,
        batch_size=config.batch_size,
        lr=config.lr,
        warmup_steps=min(50, max(1, config.steps // 10)),
        steps=config.steps,
        minutes=config.minutes,
        seed=run.pk,
        no_hint_fraction=config.no_hint_fraction,
        global_hint_fraction=config.global_hint_fraction,
        regression_loss=config.regression_loss,
        ce_weight=config.ce_weight,
        precision=ctx.precision,
        checkpoint_every_s=config.checkpoint_every_s,
        log_every_s=config.log_every_s,
    )
    members = max(1, config.members)

    def heartbeat_for(member: int):
        def heartbeat(step: int, progress: float) -> None:
            overall = (member + min(1.0, progress)) / members
            which = f" model {member + 1} of {members}" if members > 1 else ""
            beat(f"training{which}: step {step}, {100 * overall:.0f}%")

        return heartbeat

    # The slug is fixed before training so the file names itself (colorize's disclosure reads it); the
    # bucket lock means no other run can take this version meanwhile.
    version = _next_version(run.genre, run.era)
    slug = model_registry.model_slug(run.genre, run.era, version)
    metadata = {
        "slug": slug,
        "version": str(version),
        "parent": parent.slug,
        "parent_sha256": parent.sha256,
        "bucket": bucket_key(run.genre, run.era),
    }
    # ``members`` fine-tunes with different seeds share the budget and are averaged (a model soup):
    # measured on the core benchmark, the mean of several fine-tunes beats the typical single one.
    t_train = time.monotonic()
    summaries = []
    for member in range(members):
        path = ctx.staged if members == 1 else ctx.staging / f"member-{member}.safetensors"
        finished = read_metadata(path).get("summary") if members > 1 and path.is_file() else None
        if finished:  # this member finished before its worker died
            summaries.append(json.loads(finished))
            continue
        summaries.append(
            train(
                train_images,
                path,
                dataclasses.replace(
                    train_config,
                    seed=run.pk + 1000 * member,
                    minutes=train_config.minutes / members,
                    steps=max(1, train_config.steps // members + (member < train_config.steps % members)),
                ),
                init_weights=parent_path,
                resume=True,  # a run re-claimed after its worker died continues from its last state
                log=ctx.log,
                metadata={**metadata, "member": str(member)} if members > 1 else metadata,
                device=ctx.device,
                heartbeat=heartbeat_for(member),
                on_checkpoint=lambda: staging_push(run.pk, ctx.staging),
            )
        )
        if members > 1:
            staging_push(run.pk, ctx.staging)  # this member is done, whatever happens to the worker next
    summary = _merge_summaries(summaries)
    if members > 1:
        average_checkpoints(
            [ctx.staging / f"member-{m}.safetensors" for m in range(members)],
            ctx.staged,
            {**metadata, "step": str(summary["steps"]), "members": str(members), "summary": json.dumps(summary)},
        )
    seconds = time.monotonic() - t_train
    TrainingRun.objects.filter(pk=run.pk).update(steps=summary["steps"], loss_curve=summary["curve"])
    return _Candidate(slug=slug, version=version, summary=summary, seconds=seconds)


def _evaluate(ctx: _RunContext, parent_path: Path, holdout_examples: list[TrainingExample]) -> _Evaluation:
    """Parent and candidate on the bucket's holdout at each hint count; keeps a few outputs as samples."""
    from colorization.engine.checkpoint import load_model, sha256_of
    from colorization.engine.inference import Colorizer
    from colorization.engine.metrics import evaluate_images

    t_eval = time.monotonic()
    truths = [(f"example-{e.pk}", _read_example(e)) for e in holdout_examples]
    by_name = {name: e for (name, _), e in zip(truths, holdout_examples, strict=True)}
    sample_names = {name for name, _ in truths[:SAMPLE_COUNT]}
    results, outputs = {}, {}
    for role, path in (("parent", parent_path), ("candidate", ctx.staged)):
        # not Colorizer.load: its per-process cache would keep every evaluated candidate in memory
        net, meta = load_model(path, expected_sha256=sha256_of(path))
        colorizer = Colorizer(net, ctx.device, sha256=meta.get("sha256"), metadata=meta, precision=ctx.precision)
        result = evaluate_images(
            colorizer,
            truths,
            hints=ctx.config.hints,
            render_size=ctx.config.render_size,
            log=lambda s, role=role: ctx.beat(f"evaluating the {role}: {s}"),
            total=len(truths),
            keep_outputs=lambda name: name in sample_names,
        )
        for name, rgb in result.pop("outputs").items():
            outputs.setdefault(name, {})[role] = rgb
        results[role] = result
    return _Evaluation(results=results, outputs=outputs, examples=by_name, seconds=time.monotonic() - t_eval)


def _register(
    ctx: _RunContext, parent: ColorModel, candidate: _Candidate, evaluation: _Evaluation, cpu0: float
) -> bool:
    """Install the candidate's file, record it and the run, and promote it if it passed the gate."""
    run, results = ctx.run, evaluation.results
    promote, decision, deltas = gate(results["parent"], results["candidate"], ctx.config)
    ctx.log(decision)
    genre, era, slug, version = run.genre, run.era, candidate.slug, candidate.version
    weights, sha, size = model_registry.install_weights(ctx.staged)
    disclosure = {
        "parent": {"model": parent.slug, "model_version": str(parent.version)},
        "candidate": {"model": slug, "model_version": str(version)},
    }
    samples = _save_samples(
        slug, evaluation.outputs, evaluation.examples, lambda role: {**disclosure[role], "original_sha256": ""}
    )
    metrics = {
        "bucket": bucket_key(genre, era),
        "holdout_images": len(evaluation.examples),
        "render_size": ctx.config.render_size,
        "parent": {"slug": parent.slug, **{k: results["parent"]["hints"][k] for k in results["parent"]["hints"]}},
        "candidate": {k: results["candidate"]["hints"][k] for k in results["candidate"]["hints"]},
        "baseline_grey": results["candidate"]["baseline_grey"],
        "deltas": deltas,
    }
    now = timezone.now()
    with transaction.atomic():
        model = ColorModel.objects.create(
            slug=slug,
            version=version,
            genre=genre,
            era=era,
            parent=parent,
            weights=weights,
            sha256=sha,
            size_bytes=size,
            status=ModelStatus.CANDIDATE,
            metrics=metrics,
            samples=samples,
        )
        if promote:
            model_registry.model_promote(model, note=decision)
        else:
            ColorModel.objects.filter(pk=model.pk).update(status=ModelStatus.REJECTED, note=decision[:300])
        TrainingRun.objects.filter(pk=run.pk).update(
            status=RunStatus.SUCCEEDED if promote else RunStatus.REJECTED,
            candidate=model,
            metrics={"parent": results["parent"], "candidate": results["candidate"], "deltas": deltas},
            decision=decision,
            finished_at=now,
            heartbeat_at=now,
            progress="finished",
            train_seconds=round(candidate.seconds, 1),
            eval_seconds=round(evaluation.seconds, 1),
            cpu_seconds=round(time.process_time() - cpu0, 1),
            device=f"{ctx.device} ({ctx.precision})",
        )
    return promote


def training_run_now(genre: str, era: str, *, trigger: str = "command", overrides=None, log=None) -> TrainingRun:
    """Create, claim and execute a run in this process (``finetune --now``)."""
    run = training_run_create(genre, era, trigger=trigger, overrides=overrides)
    if not training_run_claim(run.pk):
        raise RunAlreadyPending(run)
    return training_run_execute(run.pk, log=log)


def contributors(model: ColorModel) -> list[dict]:
    """Volunteers whose accepted colours a model learnt from (its own run's training examples), most first."""
    from django.db.models import Count

    run = TrainingRun.objects.filter(candidate=model).first()
    if run is None:
        return []
    rows = (
        run.examples.filter(split=Split.TRAIN, contributor__isnull=False)
        .values("contributor__username")
        .annotate(n=Count("id"))
        .order_by("-n", "contributor__username")
    )
    return [{"username": r["contributor__username"], "examples": r["n"]} for r in rows]


def _redacted_if_hidden(example: TrainingExample) -> TrainingExample:
    """An example whose photo or correction a moderator hid keeps flagging its models, but its
    revocation's reason, link and photo are not shown (``redacted``; the row itself is unchanged)."""
    example.redacted = example.source_hidden_at is not None or example.photo.hidden_at is not None
    if example.redacted:
        example.revoked_reason = example.revoked_url = ""
    return example


def models_trained_on_revoked(models) -> dict[int, list[TrainingExample]]:
    """model id -> the revoked training examples it learnt from, for the given models (two queries).

    A model learnt from its own run's training split and, through fine-tuning from its parent,
    from everything its ancestors learnt; so a revoked example flags the model trained on it and
    every model descended from that one. Holdout examples only judged a candidate; they do not
    flag it. Examples from hidden photos or corrections come back ``redacted`` (no reason, no link).
    """
    models = list(models)
    if not models:
        return {}
    runs = (
        TrainingRun.objects.filter(
            candidate__isnull=False, examples__revoked_at__isnull=False, examples__split=Split.TRAIN
        )
        .values_list("candidate_id", "examples")
        .distinct()
    )
    by_model: dict[int, set[int]] = {}
    for candidate_id, example_id in runs:
        by_model.setdefault(candidate_id, set()).add(example_id)
    if not by_model:
        return {}
    examples = {
        e.pk: _redacted_if_hidden(e)
        for e in TrainingExample.objects.filter(pk__in=set().union(*by_model.values())).select_related("photo")
    }
    parents = dict(ColorModel.objects.values_list("pk", "parent_id"))
    out: dict[int, list[TrainingExample]] = {}
    for model in models:
        found: set[int] = set()
        node, steps = model.pk, 0
        while node is not None and steps < 50:  # the lineage, as ``ColorModel.lineage``
            found |= by_model.get(node, set())
            node, steps = parents.get(node), steps + 1
        if found:
            out[model.pk] = sorted((examples[i] for i in found), key=lambda e: (e.revoked_at, e.pk))
    return out
