"""What a decision does: community version, history, training example (with retry), reputation,
notifications and e-mail, the ``correction_decided`` signal, moderators' decisions in the audit log."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from colorization.models import Split, TrainingExample
from community.models import (
    CorrectionStatus,
    ModerationAction,
    Notification,
    Profile,
    ReputationEvent,
    TrainingStatus,
)
from community.review import decisions
from community.review.signals import correction_decided
from tests.community.conftest import correction_for

pytestmark = pytest.mark.django_db


def accept_by_votes(correction, people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("volunteer", "volunteer2", "historian"):
            decisions.vote_cast(correction_id=correction.pk, voter=people[name], value=1)
    correction.refresh_from_db()
    return correction


def test_an_accepted_correction_becomes_the_community_version_and_a_training_example(
    correction, people, api, django_capture_on_commit_callbacks
):
    received = []

    def listener(sender, correction, photo_id, status, **kwargs):
        received.append((correction.pk, photo_id, status))

    correction_decided.connect(listener)
    try:
        accept_by_votes(correction, people, django_capture_on_commit_callbacks)
    finally:
        correction_decided.disconnect(listener)
    assert received == [(correction.pk, correction.photo_id, "accepted")]
    assert correction.training_status == TrainingStatus.ADDED
    example = TrainingExample.objects.get(source=f"correction:{correction.pk}")
    assert example.photo_id == correction.photo_id and example.contributor == people["author"]
    assert example.split in (Split.TRAIN, Split.HOLDOUT)
    body = api().get(f"/api/v1/photos/{correction.photo_id}/").json()
    assert body["community_version"]["id"] == correction.pk


def test_a_later_acceptance_supersedes_the_earlier_one_and_keeps_history(
    photo, people, django_capture_on_commit_callbacks
):
    first = accept_by_votes(correction_for(photo, people["author"]), people, django_capture_on_commit_callbacks)
    second = correction_for(photo, people["volunteer3"])
    with django_capture_on_commit_callbacks(execute=True):
        decisions.correction_decide(
            correction_id=second.pk, moderator=people["moderator"], decision="accept", reason="Matches the archive"
        )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (CorrectionStatus.SUPERSEDED, CorrectionStatus.ACCEPTED)
    assert first.decided_at is not None  # its own decision is kept
    assert first.training_status == TrainingStatus.WITHDRAWN
    examples = TrainingExample.objects.filter(photo=photo)
    assert examples.get(withdrawn_at__isnull=True).source == f"correction:{second.pk}"
    assert examples.get(source=f"correction:{first.pk}").withdrawn_at is not None
    action = ModerationAction.objects.get(action="accept", target_id=second.pk)
    assert action.moderator == people["moderator"] and action.reason == "Matches the archive"
    assert action.details["superseded"] == [first.pk]
    assert second.decided_by == people["moderator"]


def test_reputation_goes_to_the_author_and_the_voters_who_agreed(
    correction, people, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        decisions.vote_cast(correction_id=correction.pk, voter=people["volunteer3"], value=-1)
        for name in ("volunteer", "historian"):
            decisions.vote_cast(correction_id=correction.pk, voter=people[name], value=1)
    before = {u: Profile.objects.get(user=people[u]).reputation for u in ("author", "volunteer", "volunteer3")}
    assert before["volunteer"] == settings.CHROMA_VOTE_TRUSTED_REPUTATION  # nothing before the decision
    with django_capture_on_commit_callbacks(execute=True):
        decisions.correction_decide(
            correction_id=correction.pk, moderator=people["moderator"], decision="accept", reason="Well documented"
        )
    after = {u: Profile.objects.get(user=people[u]).reputation for u in ("author", "volunteer", "volunteer3")}
    assert after["author"] - before["author"] == settings.CHROMA_REPUTATION_ACCEPTED
    assert after["volunteer"] - before["volunteer"] == settings.CHROMA_REPUTATION_VOTE_AGREED
    assert after["volunteer3"] == before["volunteer3"]  # disagreed
    assert Profile.objects.get(user=people["historian"]).reputation == settings.CHROMA_REPUTATION_VOTE_AGREED
    reasons = set(ReputationEvent.objects.filter(correction=correction).values_list("reason", flat=True))
    assert reasons == {"correction_accepted", "vote_agreed"}


def test_the_author_is_notified_in_the_app_and_by_e_mail(correction, people, django_capture_on_commit_callbacks):
    accept_by_votes(correction, people, django_capture_on_commit_callbacks)
    verbs = list(Notification.objects.filter(recipient=people["author"]).values_list("verb", flat=True))
    assert sorted(verbs) == ["accepted", "voted", "voted", "voted"]
    assert len(mail.outbox) == 4 and all(m.to == ["author@example.org"] for m in mail.outbox)
    assert any("was accepted" in m.body and f"/corrections/{correction.pk}/" in m.body for m in mail.outbox)
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 0


def test_a_failed_training_example_is_retried_by_the_beat_task(
    correction, people, monkeypatch, django_capture_on_commit_callbacks
):
    calls = []

    def broken(**kwargs):
        calls.append(kwargs["source"])
        raise OSError("storage is down")

    monkeypatch.setattr(decisions, "training_example_add", broken)
    accept_by_votes(correction, people, django_capture_on_commit_callbacks)
    assert correction.status == CorrectionStatus.ACCEPTED  # the decision stands
    assert (correction.training_status, correction.training_attempts) == (TrainingStatus.FAILED, 1)
    assert "storage is down" in correction.training_error
    assert decisions.training_examples_retry() == {"added": 0, "failed": 0}  # not due yet
    monkeypatch.undo()
    type(correction).objects.filter(pk=correction.pk).update(training_retry_at=timezone.now())
    from community.tasks import retry_training_examples

    assert retry_training_examples.apply().get() == {"added": 1, "failed": 0}
    correction.refresh_from_db()
    assert correction.training_status == TrainingStatus.ADDED and correction.training_error == ""
    assert TrainingExample.objects.filter(source=f"correction:{correction.pk}").exists()


def test_a_rejection_adds_no_training_example(correction, people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        decisions.correction_decide(
            correction_id=correction.pk, moderator=people["moderator"], decision="reject", reason="Anachronistic dye"
        )
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.REJECTED and correction.decision_reason == "Anachronistic dye"
    assert not TrainingExample.objects.exists()


def test_a_moderator_decision_needs_a_reason_and_a_pending_correction(correction, people):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        decisions.correction_decide(
            correction_id=correction.pk, moderator=people["moderator"], decision="accept", reason=" "
        )
    with pytest.raises(ValidationError):
        decisions.correction_decide(
            correction_id=correction.pk, moderator=people["moderator"], decision="maybe", reason="x"
        )
    decisions.correction_decide(
        correction_id=correction.pk, moderator=people["moderator"], decision="reject", reason="No"
    )
    with pytest.raises(decisions.ReviewConflict):
        decisions.correction_decide(
            correction_id=correction.pk, moderator=people["moderator"], decision="accept", reason="x"
        )
