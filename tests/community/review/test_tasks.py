"""The community's Celery tasks: idempotent, retried on transient errors only, queued after the commit."""

from __future__ import annotations

import smtplib

import pytest
from django.core import mail

from colorization.models import TrainingExample
from community.models import Correction, Notification, TrainingStatus
from community.review import decisions, notifications
from community.tasks import add_training_example, send_notification_email

pytestmark = pytest.mark.django_db


def accept(correction, people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        decisions.correction_decide(
            correction_id=correction.pk, moderator=people["moderator"], decision="accept", reason="Matches the records"
        )


def test_accepting_queues_the_training_example_after_the_commit(
    correction, people, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(add_training_example, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decisions.correction_decide(
            correction_id=correction.pk, moderator=people["moderator"], decision="accept", reason="Matches the records"
        )
    assert not queued and not TrainingExample.objects.exists()  # nothing slow inside the transaction
    for callback in callbacks:
        callback()
    assert queued == [correction.pk]


def test_the_training_example_task_is_idempotent(correction, people, django_capture_on_commit_callbacks):
    accept(correction, people, django_capture_on_commit_callbacks)
    assert TrainingExample.objects.count() == 1
    assert add_training_example.apply(args=[correction.pk]).get() is True
    assert TrainingExample.objects.count() == 1


def test_transient_errors_are_retried_a_bounded_number_of_times(
    correction, people, monkeypatch, django_capture_on_commit_callbacks
):
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        raise ConnectionError("storage unreachable")

    monkeypatch.setattr(decisions, "training_example_add", flaky)
    accept(correction, people, django_capture_on_commit_callbacks)
    assert len(calls) == 1 + add_training_example.max_retries
    correction.refresh_from_db()
    assert correction.training_status == TrainingStatus.FAILED and correction.training_retry_at is not None


def test_permanent_errors_are_not_retried(correction, people, monkeypatch, django_capture_on_commit_callbacks):
    calls = []

    def broken(**kwargs):
        calls.append(1)
        raise ValueError("not an image")

    monkeypatch.setattr(decisions, "training_example_add", broken)
    accept(correction, people, django_capture_on_commit_callbacks)
    assert len(calls) == 1
    assert Correction.objects.get(pk=correction.pk).training_status == TrainingStatus.FAILED


def test_a_notification_is_e_mailed_once_however_often_the_task_runs(people):
    note = notifications.notify(recipient=people["author"], verb="voted", text="Someone voted")
    mail.outbox.clear()
    send_notification_email.apply(args=[note.pk])
    send_notification_email.apply(args=[note.pk])
    assert len(mail.outbox) == 1


def test_a_mail_server_that_goes_away_is_retried_and_the_claim_given_back(people, monkeypatch):
    note = notifications.notify(recipient=people["author"], verb="voted", text="Someone voted")
    calls = []

    def down(**kwargs):
        calls.append(1)
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr(notifications, "send_mail", down)
    send_notification_email.apply(args=[note.pk])
    assert len(calls) == 1 + send_notification_email.max_retries
    assert Notification.objects.get(pk=note.pk).emailed_at is None
