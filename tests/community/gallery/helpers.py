"""Shared steps for the gallery, photo page, collection and IIIF tests."""

from __future__ import annotations

from django.utils import timezone

from colorization.models import DraftPurpose, DraftStatus
from colorization.tasks import colorize_draft
from community.gallery.entries import gallery_entry_update
from community.models import Correction, CorrectionStatus
from community.review.corrections import correction_create
from community.review.signals import correction_decided

HINTS = {"points": [{"x": 30, "y": 20, "color": "#b03020", "size": 5}]}


def finish_drafts(photo) -> None:
    for draft in photo.drafts.filter(status=DraftStatus.QUEUED):
        colorize_draft.apply(args=[draft.pk])


def rendered_correction(photo, author, note="Tram livery was red", evidence=None) -> Correction:
    draft = photo.drafts.filter(status=DraftStatus.DONE, purpose=DraftPurpose.DRAFT).first()
    correction = correction_create(
        author=author,
        photo=photo,
        hints=HINTS,
        base_draft=draft,
        note=note,
        evidence=evidence or [{"text": "Company paint records, 1912", "url": "https://example.org/records"}],
    )
    colorize_draft.apply(args=[correction.render_id])
    correction.refresh_from_db()
    return correction


def decide(correction: Correction, status=CorrectionStatus.ACCEPTED, votes_up=3, votes_down=0, by=None) -> None:
    """What the review work does: a conditional update, the gallery entry's refresh, then the signal."""
    Correction.objects.filter(pk=correction.pk).update(
        status=status,
        decided_at=timezone.now(),
        votes_up=votes_up,
        votes_down=votes_down,
        decided_by=by,
        decision_reason="Quorum reached",
    )
    gallery_entry_update(photo_id=correction.photo_id)
    correction.refresh_from_db()
    correction_decided.send(sender=Correction, correction=correction, photo_id=correction.photo_id, status=status)
