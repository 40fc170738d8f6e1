"""Review: votes on a correction's historical authenticity, the acceptance rule, and decisions.

Every write that can decide a correction locks the correction's row (``select_for_update``)
inside one transaction, recomputes the tallies from the votes themselves, applies the rule and
claims the decision with a conditional update, so votes arriving at the same moment never decide
a correction twice and never lose a vote. The gallery entry is refreshed in the same
transaction (``gallery_entry_update``); what must not hold a transaction runs after the commit:
the training example and the e-mails in Celery tasks (``community.tasks``), then the
``correction_decided`` signal for outside listeners.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from colorization.models import Photo
from colorization.ratelimit import rate_limit
from colorization.text import validate_text
from colorization.training_data import training_example_add, training_example_revoke, training_example_withdraw
from community.gallery.entries import gallery_entry_update
from community.gallery.page_cache import pages_invalidate_on_commit
from community.models import (
    Correction,
    CorrectionStatus,
    Evidence,
    ModerationAction,
    Revocation,
    RevocationStatus,
    TrainingStatus,
    Vote,
)
from community.review import clips, notifications, permissions, reputation
from community.review.rule import Tally, rule, vote_weight
from community.review.signals import correction_decided

logger = logging.getLogger(__name__)

MAX_COMMENT = 4000


class ReviewConflict(Exception):
    """The action cannot happen in the correction's current state (decided, gold, not rendered yet)."""

    def __init__(self, message: str, code: str = "conflict"):
        super().__init__(message)
        self.message = message
        self.code = code


# --- voting ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteResult:
    vote: Vote
    correction: Correction
    created: bool
    decided: str | None  # the status the vote decided, if it did


def _clean_value(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number not in (1, -1) or str(value).strip() not in ("1", "-1", "+1"):
        raise ValidationError({"value": "A vote is 1 (historically plausible) or -1 (not plausible)."})
    return number


def votes_tally(votes) -> dict:
    """The stored tally fields of a correction or a revocation request, from its votes (one query)."""
    totals = votes.aggregate(
        up=Count("id", filter=Q(value=1)),
        down=Count("id", filter=Q(value=-1)),
        weight_up=Sum("weight", filter=Q(value=1)),
        weight_down=Sum("weight", filter=Q(value=-1)),
        historians=Count("id", filter=Q(is_historian=True)),
    )
    return {
        "votes_up": totals["up"],
        "votes_down": totals["down"],
        "weight_up": round(totals["weight_up"] or 0.0, 6),
        "weight_down": round(totals["weight_down"] or 0.0, 6),
        "historian_votes": totals["historians"],
    }


def vote_cast(*, correction_id: int, voter, value, comment: str = "", evidence=None) -> VoteResult:
    """Cast or change ``voter``'s vote; decides the correction when the rule says so."""
    from community.review.corrections import evidence_clean

    profile = permissions.require_active(voter, "vote")
    value = _clean_value(value)
    comment = (comment or "").strip()
    validate_text(comment, "comment")
    if len(comment) > MAX_COMMENT:
        raise ValidationError({"comment": f"The comment is {len(comment)} characters; at most {MAX_COMMENT}."})
    evidence = evidence_clean(evidence) if evidence is not None else None
    rate_limit(user=voter, scope="vote", rate=settings.CHROMA_VOTE_RATE)
    weight, is_historian = vote_weight(profile)

    with transaction.atomic():
        correction = Correction.objects.select_for_update().get(pk=correction_id)
        refusal = permissions.vote_refusal(voter, correction, profile=profile)
        if refusal is not None and refusal.forbidden:
            raise PermissionDenied(refusal.message)
        if refusal is not None:
            raise ReviewConflict(refusal.message, refusal.code)
        vote = Vote.objects.filter(correction=correction, voter=voter).first()
        created = vote is None
        if created:
            vote = Vote.objects.create(
                correction=correction,
                voter=voter,
                value=value,
                weight=weight,
                is_historian=is_historian,
                comment=comment,
            )
        else:
            vote.value, vote.weight, vote.is_historian, vote.comment = value, weight, is_historian, comment
            vote.save(update_fields=["value", "weight", "is_historian", "comment", "updated_at"])
        if evidence is not None:
            Evidence.objects.filter(vote=vote).delete()
            Evidence.objects.bulk_create([Evidence(vote=vote, position=i, **item) for i, item in enumerate(evidence)])
        pages_invalidate_on_commit(photo_id=correction.photo_id)  # the photo page lists votes
        tally = votes_tally(Vote.objects.filter(correction_id=correction.pk))
        Correction.objects.filter(pk=correction.pk).update(**tally)
        for field, number in tally.items():
            setattr(correction, field, number)
        who = "A historian" if is_historian else "Someone"
        notifications.notify(
            recipient=correction.author,
            verb="voted",
            text=(
                f"{who} {'voted' if created else 'changed their vote'} "
                f"{'for' if value > 0 else 'against'} your correction {correction.pk} of “{correction.photo.title}”."
            ),
            url=correction.get_absolute_url(),
            correction=correction,
        )
        current = rule()
        outcome = current.outcome(Tally.of(correction))
        if outcome is not None:
            _decide_locked(
                correction, outcome, moderator=None, reason="By the rule: " + current.explain(Tally.of(correction))
            )
    correction.refresh_from_db()
    return VoteResult(vote=vote, correction=correction, created=created, decided=outcome)


# --- deciding -------------------------------------------------------------------------------------------


def correction_decide(*, correction_id: int, moderator, decision: str, reason: str) -> Correction:
    """A moderator accepts or rejects a pending correction by hand, with a reason (audited)."""
    permissions.require_active_moderator(
        moderator, "decide corrections", message="Only moderators decide corrections by hand."
    )
    status = {"accept": CorrectionStatus.ACCEPTED, "reject": CorrectionStatus.REJECTED}.get(decision)
    if status is None:
        raise ValidationError({"decision": "Choose accept or reject."})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why: the reason is shown with the decision and kept in the audit log."})
    with transaction.atomic():
        correction = Correction.objects.select_for_update().get(pk=correction_id)
        if correction.author_id == moderator.pk:
            raise PermissionDenied("You cannot decide your own correction.")
        if correction.is_gold:
            raise ReviewConflict("Corrections of gold-standard photos are scored, not decided.", "gold")
        if correction.status != CorrectionStatus.PENDING:
            raise ReviewConflict(f"This correction is already {correction.status}.", "decided")
        if status == CorrectionStatus.ACCEPTED and correction.result_file is None:
            raise ReviewConflict(
                "This correction has no colour image yet; accept it once it is rendered.", "not_rendered"
            )
        _decide_locked(correction, status, moderator=moderator, reason=reason)
    correction.refresh_from_db()
    return correction


def _decide_locked(correction: Correction, status: str, *, moderator, reason: str) -> None:
    """Record a decision on a correction whose row this transaction has locked."""
    now = timezone.now()
    if status == CorrectionStatus.ACCEPTED:
        # Lock the photo too: two corrections of one photo accepted at once must not both win.
        Photo.objects.select_for_update().only("pk").get(pk=correction.photo_id)
        # A film clip's keyframe correction replaces the accepted one of the same keyframe only.
        superseded = list(
            Correction.objects.filter(
                photo_id=correction.photo_id, frame=correction.frame, status=CorrectionStatus.ACCEPTED
            )
            .exclude(pk=correction.pk)
            .values_list("pk", flat=True)
        )
        Correction.objects.filter(pk__in=superseded).update(
            status=CorrectionStatus.SUPERSEDED, training_status=TrainingStatus.WITHDRAWN, training_retry_at=None
        )
    else:
        superseded = []
    updated = Correction.objects.filter(
        pk=correction.pk, status=CorrectionStatus.PENDING
    ).update(
        replaced_id=superseded[0] if superseded else None,  # what a revocation restores
        status=status,
        decided_at=now,
        decided_by=moderator,
        decision_reason=reason[:4000],
        training_status=TrainingStatus.PENDING if status == CorrectionStatus.ACCEPTED else TrainingStatus.NONE,
    )
    if updated != 1:  # cannot happen under the row lock; refuse rather than decide twice
        raise ReviewConflict("This correction was decided meanwhile.", "decided")
    correction.status, correction.decided_at, correction.decided_by = status, now, moderator
    correction.decision_reason = reason
    if moderator is not None:
        ModerationAction.objects.create(
            moderator=moderator,
            action="accept" if status == CorrectionStatus.ACCEPTED else "reject",
            target_type="correction",
            target_id=correction.pk,
            reason=reason,
            details={"photo": correction.photo_id, "superseded": superseded, **_tally_dict(correction)},
        )
    reputation.award_for_decision(correction=correction, status=status)
    verb = "accepted" if status == CorrectionStatus.ACCEPTED else "rejected"
    notifications.notify(
        recipient=correction.author,
        verb=verb,
        text=(
            f"Your correction {correction.pk} of “{correction.photo.title}” was {verb}"
            + (" and is now the photo's community version." if verb == "accepted" else ".")
        ),
        url=correction.get_absolute_url(),
        correction=correction,
    )
    correction_id, photo_id = correction.pk, correction.photo_id
    logger.info("correction %s %s (%s)", correction_id, status, "moderator" if moderator else "rule")

    # The gallery card and cached pages change with the decision, in this transaction.
    gallery_entry_update(photo_id=photo_id)
    if status == CorrectionStatus.ACCEPTED:
        # Decoding the image and writing the example's PNG is a worker's job, after the commit.
        from community.tasks import add_training_example

        transaction.on_commit(lambda: add_training_example.delay(correction_id), robust=True)
        if correction.frame is not None:  # a film clip's keyframe: the clip is rendered again with it
            clips.community_render_request(photo_id)
    transaction.on_commit(lambda: _announce_decision(correction_id, photo_id, status))


def _announce_decision(correction_id: int, photo_id: int, status: str) -> None:
    """Send ``correction_decided`` for listeners outside the review work (after the commit)."""
    fresh = Correction.objects.filter(pk=correction_id).first()
    if fresh is None:
        return
    for receiver, result in correction_decided.send_robust(
        sender=Correction, correction=fresh, photo_id=photo_id, status=status
    ):
        if isinstance(result, Exception):
            logger.error("correction_decided receiver %r failed", receiver, exc_info=result)


def _tally_dict(correction: Correction) -> dict:
    return {
        "votes_up": correction.votes_up,
        "votes_down": correction.votes_down,
        "weight_up": correction.weight_up,
        "weight_down": correction.weight_down,
        "historian_votes": correction.historian_votes,
    }


# --- training examples ----------------------------------------------------------------------------------

TRAINING_RETRY_MAX_SECONDS = 3600


def correction_training_example_add(correction_id: int, *, reraise: tuple[type[BaseException], ...] = ()) -> bool:
    """Add the accepted correction's colours as a training example; on failure, schedule a retry.

    Idempotent (``training_example_add`` is idempotent per source). Returns whether it is added.
    Every failure is recorded (``training_status`` failed, a retry time for beat's sweep); errors
    of the ``reraise`` types are raised afterwards, so the Celery task can retry them sooner.
    """
    correction = Correction.objects.select_related("photo", "render", "author").filter(pk=correction_id).first()
    if correction is None:
        return False
    if correction.status != CorrectionStatus.ACCEPTED or correction.is_gold or correction.hidden_at is not None:
        return False
    source = f"correction:{correction.pk}"
    try:
        result = correction.result_file
        if result is None:
            raise FileNotFoundError("the accepted correction has no colour image")
        with default_storage.open(result.name, "rb") as image:
            training_example_add(
                photo=correction.photo,
                image=image,
                source=source,
                contributor=correction.author,
                global_hint=(correction.hints or {}).get("global"),
                frame=correction.frame,  # a clip's keyframe: its still with the accepted colours
            )
    except Exception as exc:
        attempts = correction.training_attempts + 1
        delay = min(TRAINING_RETRY_MAX_SECONDS, 60 * 2 ** min(attempts, 10))
        Correction.objects.filter(pk=correction.pk, status=CorrectionStatus.ACCEPTED).update(
            training_status=TrainingStatus.FAILED,
            training_attempts=attempts,
            training_error=f"{type(exc).__name__}: {exc}"[:2000],
            training_retry_at=timezone.now() + timedelta(seconds=delay),
        )
        logger.exception("training example for correction %s failed (attempt %s)", correction.pk, attempts)
        if isinstance(exc, reraise):
            raise
        return False
    # If it was superseded, hidden or revoked meanwhile, take the example back out. The row lock
    # orders this after a revocation that committed first (which found no example to revoke: it is
    # revoked here, so the models trained on it are flagged) and a later revocation after this (it
    # finds the example and revokes it itself).
    with transaction.atomic():
        now_status = (
            Correction.objects.select_for_update().filter(pk=correction.pk).values_list("status", flat=True).first()
        )
        added = Correction.objects.filter(
            pk=correction.pk, status=CorrectionStatus.ACCEPTED, hidden_at__isnull=True
        ).update(
            training_status=TrainingStatus.ADDED,
            training_attempts=correction.training_attempts + 1,
            training_error="",
            training_retry_at=None,
        )
        if not added and now_status == CorrectionStatus.REVOKED:
            revocation = (
                Revocation.objects.filter(correction_id=correction.pk, status=RevocationStatus.REVOKED)
                .order_by("-decided_at")
                .first()
            )
            training_example_revoke(
                source=source,
                reason=(revocation.decision_reason or revocation.reason)[:300] if revocation else "revoked",
                url=revocation.get_absolute_url() if revocation else "",
            )
        elif not added:
            training_example_withdraw(source=source, reason="the correction is no longer the community version")
    return bool(added)


def training_examples_retry(*, limit: int = 50) -> dict:
    """Beat: retry accepted corrections whose training example is missing (failed, or lost after commit)."""
    now = timezone.now()
    due = (
        Correction.objects.filter(status=CorrectionStatus.ACCEPTED, is_gold=False, hidden_at__isnull=True)
        .filter(
            Q(training_status=TrainingStatus.FAILED, training_retry_at__lte=now)
            # pending for more than a minute: the after-commit call never ran (the process died)
            | Q(training_status=TrainingStatus.PENDING, decided_at__lte=now - timedelta(minutes=1))
        )
        .order_by("decided_at")
        .values_list("pk", flat=True)[:limit]
    )
    report = {"added": 0, "failed": 0}
    for correction_id in list(due):
        report["added" if correction_training_example_add(correction_id) else "failed"] += 1
    return report
