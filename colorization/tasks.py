"""Celery entry points: they take ids, call services, and decide retries. Nothing else."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError

from colorization import drafting

logger = logging.getLogger(__name__)

TRANSIENT = (DatabaseError, ConnectionError, TimeoutError)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
    soft_time_limit=600,
    time_limit=660,
)
def colorize_draft(self, draft_id: int) -> str:
    """Make a draft (and compatible waiting ones, batched). Safe to run twice: only a claim does work."""
    try:
        claimed = drafting.draft_claim(draft_id)
    except TRANSIENT as exc:  # the database restarting: the message must not be dropped
        logger.warning("draft %s: could not claim (%s); retrying", draft_id, exc)
        raise self.retry(exc=exc, countdown=min(60, 2 * 2**self.request.retries)) from exc
    if not claimed:
        wait = drafting.draft_claim_wait(draft_id)
        if wait is None:
            return "not claimable (done or failed)"
        # Running elsewhere with a recent heartbeat: a live worker, or a dead one on another host
        # whose message came back. Look again once that heartbeat would be stale, rather than
        # dropping the message and leaving a dead worker's draft to the sweeper.
        if self.request.retries >= self.max_retries:
            return "not claimable (running elsewhere)"
        raise self.retry(countdown=wait + 1)
    try:
        report = drafting.drafts_render(draft_id)
    except drafting.PermanentDraftError as exc:
        drafting.draft_fail(draft_id, str(exc))
        return "failed"
    except SoftTimeLimitExceeded:
        if drafting.draft_is_clip(draft_id):  # its finished chunks are stored: the next run continues
            drafting.draft_release([draft_id])
            drafting.draft_enqueue(draft_id)
            return "continues in a new task (time limit)"
        drafting.draft_fail(draft_id, "Colorizing took longer than the time limit; try a smaller render size.")
        return "failed"
    except TRANSIENT as exc:
        drafting.draft_release([draft_id])
        logger.warning("draft %s: transient error %s; retrying", draft_id, exc)
        raise self.retry(exc=exc, countdown=min(300, 5 * 2**self.request.retries)) from exc
    except Exception as exc:
        drafting.draft_fail(draft_id, f"An unexpected error stopped this draft ({type(exc).__name__}: {exc}).")
        raise
    return f"done {report.done}, failed {report.failed}"


@shared_task(soft_time_limit=120, time_limit=180)
def sweep_drafts() -> dict:
    """Beat: re-send lost drafts, recover those of dead workers."""
    return drafting.drafts_sweep()


@shared_task(soft_time_limit=120, time_limit=180)
def finetune_tick() -> dict:
    """Beat, every few minutes: when the admin's fine-tuning crontab fired, enqueue due buckets."""
    from colorization import finetuning

    return finetuning.finetune_tick()


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=3,
    soft_time_limit=4 * 3600,
    time_limit=4 * 3600 + 120,
)
def run_training(self, run_id: int) -> str:
    """Fine-tune one bucket (the ``training`` queue). Only the worker that claims the run does work."""
    from colorization import finetuning

    if not finetuning.training_run_claim(run_id):
        return "not claimable (finished, or running elsewhere)"
    try:
        run = finetuning.training_run_execute(run_id)
    except SoftTimeLimitExceeded:
        return "failed: time limit"
    except TRANSIENT as exc:
        logger.warning("training run %s failed with a transient error %s", run_id, exc)
        return "failed (transient); the next scheduled run retries the bucket"
    return run.status
