"""Celery entry points of the community app: they take ids or nothing, load the row through a
service, and decide retries. Services queue them after the commit; every one is idempotent.

Retries: only transient errors (the database, the network, the mail server going away) are
retried, with exponential backoff and a bounded count; anything else is recorded by the service.
The training example also has beat's sweep (``retry_training_examples``) behind it, for messages
lost while the broker was down.
"""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.db import DatabaseError

from community.review import decisions, gold, notifications

logger = logging.getLogger(__name__)

TRANSIENT = (DatabaseError, ConnectionError, TimeoutError)
MAIL_TRANSIENT = (*TRANSIENT, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)


def _backoff(retries: int) -> int:
    return min(600, 30 * 2**retries)


@shared_task(bind=True, acks_late=True, max_retries=5, soft_time_limit=120, time_limit=150)
def add_training_example(self, correction_id: int) -> bool:
    """Store an accepted correction's colours as a training example (idempotent per correction)."""
    try:
        return decisions.correction_training_example_add(correction_id, reraise=TRANSIENT)
    except TRANSIENT as exc:
        logger.warning("training example for correction %s: transient error %s; retrying", correction_id, exc)
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(bind=True, acks_late=True, max_retries=5, soft_time_limit=30, time_limit=60)
def send_notification_email(self, notification_id: int) -> bool:
    """E-mail one notification (claimed with a conditional update: sent once, however often it runs)."""
    try:
        return notifications.notification_email(notification_id, reraise=MAIL_TRANSIENT)
    except MAIL_TRANSIENT as exc:
        logger.warning("e-mail of notification %s: transient error %s; retrying", notification_id, exc)
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


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


@shared_task(soft_time_limit=240, time_limit=300)
def sweep_community_renders() -> dict:
    """Beat: film clips whose accepted keyframe corrections have no community render get one requested."""
    from community.review.clips import community_renders_sweep

    return community_renders_sweep()
