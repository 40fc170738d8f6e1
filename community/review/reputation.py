"""Reputation: an append-only ledger (``ReputationEvent``) and its running sum on ``Profile``.

Points come from accepted corrections, from votes that agree with the final decision, and from
gold-standard scores (measured accuracy against a photograph's true colours). Awarding is
idempotent: one event per person, reason and correction (a database constraint).
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from community.accounts.services import profile_for
from community.models import (
    Correction,
    CorrectionStatus,
    Profile,
    ReputationEvent,
    ReputationReason,
    Vote,
)


def reputation_award(*, user, points: int, reason: str, correction: Correction | None = None, note: str = "") -> bool:
    """Record ``points`` for ``user``; False when this cause was already rewarded."""
    profile_for(user)
    try:
        with transaction.atomic():
            ReputationEvent.objects.create(
                user=user, points=points, reason=reason, correction=correction, note=note[:300]
            )
            Profile.objects.filter(user=user).update(reputation=F("reputation") + points)
    except IntegrityError:
        return False
    return True


def award_for_decision(*, correction: Correction, status: str) -> None:
    """The author of an accepted correction, and every voter who agreed with the decision."""
    if status == CorrectionStatus.ACCEPTED and settings.CHROMA_REPUTATION_ACCEPTED:
        reputation_award(
            user=correction.author,
            points=settings.CHROMA_REPUTATION_ACCEPTED,
            reason=ReputationReason.CORRECTION_ACCEPTED,
            correction=correction,
            note=f"correction {correction.pk} accepted",
        )
    if not settings.CHROMA_REPUTATION_VOTE_AGREED:
        return
    agreeing = 1 if status == CorrectionStatus.ACCEPTED else -1
    for vote in Vote.objects.filter(correction=correction, value=agreeing).select_related("voter"):
        reputation_award(
            user=vote.voter,
            points=settings.CHROMA_REPUTATION_VOTE_AGREED,
            reason=ReputationReason.VOTE_AGREED,
            correction=correction,
            note=f"voted {'for' if agreeing > 0 else 'against'} correction {correction.pk}, which was {status}",
        )


def gold_points(ciede2000: float, baseline: float) -> int:
    """Points for a gold-standard score: the maximum for the truth, none for grey, negative if worse.

    ``1 - ΔE/ΔE_grey`` is 1 for the true colours and 0 for the grey photo; colours further
    from the truth than grey lose points (at most half the maximum), so guessing wildly
    does not pay.
    """
    if baseline <= 0:
        return 0
    quality = max(-0.5, min(1.0, 1 - ciede2000 / baseline))
    return round(settings.CHROMA_REPUTATION_GOLD_MAX * quality)


def leaderboard(limit: int = 50):
    return (
        Profile.objects.select_related("user")
        .filter(user__is_active=True, suspended_at__isnull=True, reputation__gt=0)
        .order_by("-reputation", "user__username")[:limit]
    )
