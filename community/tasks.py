"""Celery entry points of the community app: they take ids or nothing, and call services."""

from __future__ import annotations

from celery import shared_task

from community import review


@shared_task(soft_time_limit=240, time_limit=300)
def retry_training_examples() -> dict:
    """Beat: add the training examples of accepted corrections that failed or were lost after commit."""
    return review.training_examples_retry()
