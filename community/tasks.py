"""Celery entry points of the community app: they take ids or nothing, and call services."""

from __future__ import annotations

from celery import shared_task

from community.review import decisions, gold


@shared_task(soft_time_limit=240, time_limit=300)
def retry_training_examples() -> dict:
    """Beat: add the training examples of accepted corrections that failed or were lost after commit."""
    return decisions.training_examples_retry()


@shared_task(soft_time_limit=120, time_limit=150)
def score_gold_correction(correction_id: int) -> bool:
    """Score one gold-standard correction against the true colours (idempotent)."""
    return gold.gold_score_safely(correction_id)


@shared_task(soft_time_limit=240, time_limit=300)
def score_missed_gold_corrections() -> int:
    """Beat: score gold corrections whose scoring message was lost."""
    return gold.gold_score_missed()
