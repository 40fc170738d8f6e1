"""Revocation: taking back an accepted (or since superseded) correction when new evidence turns up.

Two doors, one rule. A moderator revokes at once, with a reason and evidence
(``correction_revoke``). Anyone else opens a request with a reason and evidence
(``revocation_propose``) that the community votes on (``revocation_vote_cast``) with the same rule
that accepts corrections (``community.review.rule``: quorum, historians, the Wilson bound): a +1
is for revoking, a -1 for keeping the correction. Who may do what is decided in
``community.review.permissions`` alone.

Every write that can revoke locks the correction's row (``select_for_update``), as votes and
decisions on the correction do (``community.review.decisions``), so a revocation never races a
vote or another revocation: whichever holds the lock first sees the state the other left. It
takes the photo's row first: an acceptance of another correction of the photo locks its own row,
then the photo, then updates (so locks) the community version it supersedes; taking the photo
before the correction here keeps the two from waiting on each other (a deadlock).

Revoking, in one transaction: the correction becomes ``revoked``; the community version it
replaced (``Correction.replaced``, followed back past revoked or hidden versions) becomes the
community version again, if there is a superseded, visible one; revoking a superseded version
(not the community version) restores nothing but withdraws and flags the same way; the revoked
colours' training example is revoked (withdrawn for good, so the next fine-tune of its bucket
excludes it, and the models trained on it are flagged in the registry); the acceptance points of
the author and of the voters who agreed are taken back; the gallery entry and cached pages are
refreshed; the audit log records it (moderator or rule). After the commit, a worker adds the
restored correction's training example again. Manifests, exports and the Atom feed read the
revocation rows (``community.gallery.changelog``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from colorization.models import Photo
from colorization.ratelimit import rate_limit
from colorization.text import validate_text
from colorization.training_data import training_example_revoke
from community.gallery.entries import gallery_entry_update
from community.gallery.page_cache import pages_invalidate_on_commit
from community.models import (
    Correction,
    CorrectionStatus,
    ModerationAction,
    ReputationEvent,
    ReputationReason,
    Revocation,
    RevocationStatus,
    RevocationVote,
    TrainingStatus,
)
from community.review import notifications, permissions, reputation
from community.review.corrections import evidence_clean
from community.review.decisions import MAX_COMMENT, ReviewConflict, _clean_value, votes_tally
from community.review.rule import Tally, rule, vote_weight

logger = logging.getLogger(__name__)

MAX_REASON = 4000


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the correction should be revoked; the reason is shown and audited."})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"The reason is {len(reason)} characters; at most {MAX_REASON}."})
    validate_text(reason, "reason")
    return reason


def _clean_evidence(evidence) -> list[dict]:
    """A revocation, by a moderator or asked for, cites at least one real source (no hint references,
    no "inferred")."""
    evidence = evidence_clean(evidence, sources_only=True)
    if not evidence:
        raise ValidationError({"evidence": "Cite the new evidence: at least one source (text, link or archive)."})
    return evidence


def _audit(*, moderator, action: str, correction: Correction, reason: str, **details) -> None:
    ModerationAction.objects.create(
        moderator=moderator,
        action=action,
        target_type="correction",
        target_id=correction.pk,
        reason=reason,
        details={"photo": correction.photo_id, **details},
    )


def _lock(correction_id: int) -> Correction:
    """Lock the correction's photo, then the correction (the order that cannot deadlock; see above)."""
    photo_id = Correction.objects.values_list("photo_id", flat=True).get(pk=correction_id)
    Photo.objects.select_for_update().only("pk").get(pk=photo_id)
    return Correction.objects.select_for_update().select_related("photo").get(pk=correction_id)


def _refuse(refusal: permissions.VoteRefusal | None) -> None:
    if refusal is None:
        return
    if refusal.forbidden:
        raise PermissionDenied(refusal.message)
    raise ReviewConflict(refusal.message, refusal.code)


# --- the moderator's door --------------------------------------------------------------------------------


def correction_revoke(*, correction_id: int, moderator, reason: str, evidence=None) -> Revocation:
    """A moderator revokes an accepted correction at once, with a reason and evidence (audited).

    An open request on the correction is closed as revoked by this decision (its votes are kept).
    """
    permissions.require_active_moderator(
        moderator, "revoke corrections", message="Only moderators revoke corrections directly; others can ask."
    )
    reason = _clean_reason(reason)
    evidence = _clean_evidence(evidence)
    with transaction.atomic():
        correction = _lock(correction_id)
        _refuse(permissions.revoke_refusal(moderator, correction))
        revocation = Revocation.objects.filter(correction=correction, status=RevocationStatus.OPEN).first()
        if revocation is None:
            revocation = Revocation.objects.create(
                correction=correction, proposed_by=moderator, reason=reason, evidence=evidence
            )
        else:
            revocation.evidence = [*revocation.evidence, *evidence]
            revocation.save(update_fields=["evidence"])
        _revoke_locked(correction, revocation, moderator=moderator, reason=reason)
    revocation.refresh_from_db()
    return revocation


# --- the community's door --------------------------------------------------------------------------------


def revocation_propose(*, correction_id: int, proposer, reason: str, evidence=None) -> Revocation:
    """Open a request to revoke an accepted correction; the community then votes on it."""
    permissions.require_active(proposer, "ask for a revocation")
    reason = _clean_reason(reason)
    evidence = _clean_evidence(evidence)
    rate_limit(user=proposer, scope="comment", rate=settings.CHROMA_COMMENT_RATE)
    with transaction.atomic():
        correction = _lock(correction_id)
        _refuse(permissions.revocation_propose_refusal(proposer, correction))
        revocation = Revocation.objects.create(
            correction=correction, proposed_by=proposer, reason=reason, evidence=evidence
        )
        _audit(
            moderator=None,
            action="revocation_proposed",
            correction=correction,
            reason=reason,
            revocation=revocation.pk,
            proposed_by=proposer.username,
            evidence=evidence,
        )
        notifications.notify(
            recipient=correction.author,
            verb="revocation_proposed",
            text=f"Someone asked to revoke your accepted correction {correction.pk} of “{correction.photo.title}”.",
            url=revocation.get_absolute_url(),
            correction=correction,
        )
        pages_invalidate_on_commit(photo_id=correction.photo_id)
    return revocation


@dataclass(frozen=True)
class RevocationVoteResult:
    vote: RevocationVote
    revocation: Revocation
    created: bool
    decided: str | None  # "revoked" or "declined" when this vote decided the request


def revocation_vote_cast(*, correction_id: int, voter, value, comment: str = "") -> RevocationVoteResult:
    """Vote on the open revocation request of a correction: 1 to revoke, -1 to keep it.

    The acceptance rule decides: once its quorum is met, a Wilson lower bound of the revoking
    share at or above the acceptance threshold revokes; an upper bound at or below the rejection
    threshold declines the request (the correction stays; a new request may follow new evidence).
    """
    profile = permissions.require_active(voter, "vote")
    value = _clean_value(value)
    comment = (comment or "").strip()
    validate_text(comment, "comment")
    if len(comment) > MAX_COMMENT:
        raise ValidationError({"comment": f"The comment is {len(comment)} characters; at most {MAX_COMMENT}."})
    rate_limit(user=voter, scope="vote", rate=settings.CHROMA_VOTE_RATE)
    weight, is_historian = vote_weight(profile)
    with transaction.atomic():
        correction = _lock(correction_id)
        revocation = Revocation.objects.filter(correction=correction, status=RevocationStatus.OPEN).first()
        _refuse(permissions.revocation_vote_refusal(voter, correction, revocation, profile=profile))
        vote, created = RevocationVote.objects.update_or_create(
            revocation=revocation,
            voter=voter,
            defaults={"value": value, "weight": weight, "is_historian": is_historian, "comment": comment},
        )
        tally = votes_tally(RevocationVote.objects.filter(revocation_id=revocation.pk))
        Revocation.objects.filter(pk=revocation.pk).update(**tally)
        for field, number in tally.items():
            setattr(revocation, field, number)
        pages_invalidate_on_commit(photo_id=correction.photo_id)
        current = rule()
        outcome = current.outcome(Tally.of(revocation))
        decided = None
        if outcome == CorrectionStatus.ACCEPTED:
            _revoke_locked(
                correction, revocation, moderator=None, reason="By the rule: " + current.explain(Tally.of(revocation))
            )
            decided = RevocationStatus.REVOKED
        elif outcome == CorrectionStatus.REJECTED:
            _decline_locked(correction, revocation, reason="By the rule: " + current.explain(Tally.of(revocation)))
            decided = RevocationStatus.DECLINED
    revocation.refresh_from_db()
    return RevocationVoteResult(vote=vote, revocation=revocation, created=created, decided=decided)


# --- what a decision does --------------------------------------------------------------------------------


def _decline_locked(correction: Correction, revocation: Revocation, *, reason: str) -> None:
    Revocation.objects.filter(pk=revocation.pk, status=RevocationStatus.OPEN).update(
        status=RevocationStatus.DECLINED, decided_at=timezone.now(), decision_reason=reason[:4000]
    )
    _audit(moderator=None, action="revocation_declined", correction=correction, reason=reason, revocation=revocation.pk)
    notifications.notify(
        recipient=correction.author,
        verb="revocation_declined",
        text=f"The request to revoke your correction {correction.pk} of “{correction.photo.title}” was declined.",
        url=revocation.get_absolute_url(),
        correction=correction,
    )


def _restorable(correction: Correction) -> Correction | None:
    """The community version to restore when ``correction``, the community version, is revoked.

    Walks ``replaced`` back from it past the versions that cannot come back (revoked, hidden, or
    otherwise not superseded) to the newest superseded, visible one; None when there is none.
    """
    seen = {correction.pk}
    candidate_id = correction.replaced_id
    while candidate_id is not None and candidate_id not in seen:
        seen.add(candidate_id)
        candidate = Correction.objects.filter(pk=candidate_id).first()
        if candidate is None:
            return None
        if candidate.status == CorrectionStatus.SUPERSEDED and candidate.hidden_at is None and not candidate.is_gold:
            return candidate
        candidate_id = candidate.replaced_id
    return None


def _revoke_locked(correction: Correction, revocation: Revocation, *, moderator, reason: str) -> None:
    """Revoke ``correction`` (its photo's row and its own locked by this transaction) through ``revocation``."""
    now = timezone.now()
    was_community_version = correction.status == CorrectionStatus.ACCEPTED
    revocable = Correction.objects.filter(pk=correction.pk, status=correction.status, status__in=permissions.REVOCABLE)
    updated = revocable.update(
        status=CorrectionStatus.REVOKED, training_status=TrainingStatus.WITHDRAWN, training_retry_at=None
    )
    if updated != 1:  # cannot happen under the row lock; refuse rather than revoke twice
        raise ReviewConflict("This correction is no longer accepted.", "decided")
    correction.status = CorrectionStatus.REVOKED
    # A superseded version is not the community version: revoking it restores nothing.
    restored = _restorable(correction) if was_community_version else None
    if restored is not None:
        Correction.objects.filter(pk=restored.pk, status=CorrectionStatus.SUPERSEDED).update(
            status=CorrectionStatus.ACCEPTED, training_status=TrainingStatus.PENDING, training_attempts=0
        )
    Revocation.objects.filter(pk=revocation.pk).update(
        status=RevocationStatus.REVOKED,
        decided_at=now,
        decided_by=moderator,
        decision_reason=reason[:4000],
        restored=restored,
    )
    revocation.status, revocation.decided_at, revocation.decided_by = RevocationStatus.REVOKED, now, moderator
    revocation.restored = restored
    # The training example: out for good, and the models trained on it are flagged (a DB write,
    # in this transaction, so a fine-tune that starts after the commit cannot pick it up).
    example = training_example_revoke(
        source=f"correction:{correction.pk}", reason=reason[:300], url=revocation.get_absolute_url()
    )
    _take_back_acceptance_points(correction)
    _audit(
        moderator=moderator,
        action="revoke",
        correction=correction,
        reason=reason,
        revocation=revocation.pk,
        restored=restored.pk if restored else None,
        training_example=example.pk if example else None,
        evidence=revocation.evidence,
        votes_for=revocation.votes_up,
        votes_against=revocation.votes_down,
        historian_votes=revocation.historian_votes,
    )
    notifications.notify(
        recipient=correction.author,
        verb="revoked",
        text=f"Your correction {correction.pk} of “{correction.photo.title}” was revoked: {reason[:200]}",
        url=revocation.get_absolute_url(),
        correction=correction,
    )
    if restored is not None:
        notifications.notify(
            recipient=restored.author,
            verb="restored",
            text=f"Your correction {restored.pk} of “{correction.photo.title}” is the community version again.",
            url=restored.get_absolute_url(),
            correction=restored,
        )
    who = "moderator" if moderator else "rule"
    logger.info("correction %s revoked (%s); restored %s", correction.pk, who, restored and restored.pk)
    gallery_entry_update(photo_id=correction.photo_id)
    pages_invalidate_on_commit(photo_id=correction.photo_id)
    if was_community_version and correction.frame is not None:  # a clip's keyframe: render the clip again
        from community.review.clips import community_render_request

        community_render_request(correction.photo_id)
    if restored is not None:
        from community.tasks import add_training_example

        restored_id = restored.pk
        transaction.on_commit(lambda: add_training_example.delay(restored_id), robust=True)


def _take_back_acceptance_points(correction: Correction) -> None:
    """The author's acceptance points, and the points of the voters who agreed with the acceptance
    (``vote_agreed``), are taken back: one ``correction_revoked`` event each (idempotent: one per
    person and correction)."""
    earned = ReputationEvent.objects.filter(
        correction=correction, reason__in=(ReputationReason.CORRECTION_ACCEPTED, ReputationReason.VOTE_AGREED)
    ).select_related("user")
    for event in earned:
        if event.points == 0:
            continue
        author = event.reason == ReputationReason.CORRECTION_ACCEPTED
        reputation.reputation_award(
            user=event.user,
            points=-event.points,
            reason=ReputationReason.CORRECTION_REVOKED,
            correction=correction,
            note=f"correction {correction.pk} revoked"
            if author
            else f"voted for correction {correction.pk}, since revoked",
        )
