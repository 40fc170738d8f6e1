"""Moderation: reports, hiding content, suspending accounts, and the audit log of all of it.

Every moderator action writes a ``ModerationAction`` row in the same transaction as the change;
the log is append-only (no code updates or deletes it).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from colorization.models import Photo
from colorization.ratelimit import rate_limit
from colorization.training_data import training_example_source_hidden, training_example_withdraw
from community.accounts.services import profile_for
from community.gallery.entries import gallery_entry_update
from community.gallery.page_cache import pages_invalidate_on_commit
from community.models import (
    Comment,
    Correction,
    CorrectionStatus,
    ModerationAction,
    Profile,
    Report,
    ReportStatus,
    Role,
    TrainingStatus,
)
from community.review.permissions import require_active, require_active_moderator
from community.review.signals import content_hidden

KINDS = {"photo": Photo, "correction": Correction, "comment": Comment}


def audit(*, moderator, action: str, target_type: str, target_id: int, reason: str = "", **details) -> ModerationAction:
    return ModerationAction.objects.create(
        moderator=moderator,
        action=action,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        details=details,
    )


def _photo_id(kind: str, obj) -> int | None:
    if kind == "photo":
        return obj.pk
    if kind == "correction":
        return obj.photo_id
    if obj.photo_id:
        return obj.photo_id
    return Correction.objects.filter(pk=obj.correction_id).values_list("photo_id", flat=True).first()


# --- reports --------------------------------------------------------------------------------------------


def report_create(*, reporter, kind: str, obj, reason: str) -> Report:
    require_active(reporter, "report content")
    if kind not in KINDS:
        raise ValidationError({"kind": f"Report a photo, a correction or a comment, not {kind!r}."})
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ValidationError({"reason": "Tell the moderators what is wrong (at least a few words)."})
    if len(reason) > 2000:
        raise ValidationError({"reason": "At most 2000 characters, please."})
    rate_limit(user=reporter, scope="comment", rate=settings.CHROMA_COMMENT_RATE)
    return Report.objects.create(reporter=reporter, reason=reason, **{kind: obj})


def report_target(report: Report) -> tuple[str, object]:
    for kind in KINDS:
        if getattr(report, f"{kind}_id"):
            return kind, getattr(report, kind)
    raise ValueError(f"report {report.pk} is about nothing")


def report_resolve(*, report_id: int, moderator, status: str, resolution: str = "") -> Report:
    require_active_moderator(moderator)
    if status not in (ReportStatus.RESOLVED, ReportStatus.DISMISSED):
        raise ValidationError({"status": "Resolve or dismiss."})
    with transaction.atomic():
        updated = Report.objects.filter(pk=report_id, status=ReportStatus.OPEN).update(
            status=status, resolved_by=moderator, resolved_at=timezone.now(), resolution=resolution.strip()[:2000]
        )
        if not updated:
            raise ValidationError("This report is already closed.")
        audit(
            moderator=moderator, action=f"report_{status}", target_type="report", target_id=report_id, reason=resolution
        )
    return Report.objects.get(pk=report_id)


# --- hiding ---------------------------------------------------------------------------------------------


def content_hide(*, moderator, kind: str, obj, hidden: bool = True, reason: str = "") -> None:
    """Hide (or restore) a photo, correction or comment; only moderators and its author still see it."""
    require_active_moderator(moderator)
    if kind not in KINDS:
        raise ValidationError({"kind": "Hide a photo, a correction or a comment."})
    reason = (reason or "").strip()
    if hidden and not reason:
        raise ValidationError({"reason": "Say why it is hidden; the reason is kept in the audit log."})
    model = KINDS[kind]
    now = timezone.now()
    with transaction.atomic():
        if hidden:
            changed = model.objects.filter(pk=obj.pk, hidden_at__isnull=True).update(hidden_at=now)
        else:
            changed = model.objects.filter(pk=obj.pk, hidden_at__isnull=False).update(hidden_at=None)
        if not changed:
            raise ValidationError(f"This {kind} is already {'hidden' if hidden else 'visible'}.")
        obj.hidden_at = now if hidden else None
        photo_id = _photo_id(kind, obj)
        audit(
            moderator=moderator,
            action="hide" if hidden else "unhide",
            target_type=kind,
            target_id=obj.pk,
            reason=reason,
            photo=photo_id,
        )
        if kind == "correction":
            # Whatever its status: a revoked correction's example still flags models, without its details.
            training_example_source_hidden(source=f"correction:{obj.pk}", hidden=hidden)
            _correction_visibility_changed(Correction.objects.get(pk=obj.pk), hidden)
        if photo_id is None:
            pages_invalidate_on_commit()
        gallery_entry_update(photo_id=photo_id)
        transaction.on_commit(
            lambda: content_hidden.send_robust(sender=model, kind=kind, obj=obj, photo_id=photo_id, hidden=hidden)
        )


def _correction_visibility_changed(correction: Correction, hidden: bool) -> None:
    """A hidden community version stops training models; restored, it trains again."""
    if correction.status != CorrectionStatus.ACCEPTED or correction.is_gold:
        return
    if correction.frame is not None:  # a clip's keyframe: its community render goes with or without it
        from community.review.clips import community_render_request

        community_render_request(correction.photo_id)
    source = f"correction:{correction.pk}"
    if hidden:
        Correction.objects.filter(pk=correction.pk).update(
            training_status=TrainingStatus.WITHDRAWN, training_retry_at=None
        )
        transaction.on_commit(lambda: training_example_withdraw(source=source, reason="hidden by a moderator"))
    else:
        from community.tasks import add_training_example

        Correction.objects.filter(pk=correction.pk).update(training_status=TrainingStatus.PENDING, training_attempts=0)
        transaction.on_commit(lambda: add_training_example.delay(correction.pk), robust=True)


# --- accounts -------------------------------------------------------------------------------------------


def user_suspend(*, moderator, user, suspend: bool = True, reason: str = "") -> Profile:
    require_active_moderator(moderator)
    if user.pk == moderator.pk:
        raise PermissionDenied("You cannot suspend yourself.")
    target = profile_for(user)
    mine = profile_for(moderator)
    if target.is_moderator and mine.role != Role.ADMIN and not moderator.is_superuser:
        raise PermissionDenied("Only administrators can suspend moderators.")
    reason = (reason or "").strip()
    if suspend and not reason:
        raise ValidationError({"reason": "Say why the account is suspended; the person is told."})
    with transaction.atomic():
        qs = Profile.objects.filter(pk=target.pk)
        changed = (
            qs.filter(suspended_at__isnull=True).update(suspended_at=timezone.now(), suspended_reason=reason)
            if suspend
            else qs.filter(suspended_at__isnull=False).update(suspended_at=None, suspended_reason="")
        )
        if not changed:
            raise ValidationError(f"{user.username} is already {'suspended' if suspend else 'active'}.")
        audit(
            moderator=moderator,
            action="suspend" if suspend else "unsuspend",
            target_type="user",
            target_id=user.pk,
            reason=reason,
            username=user.username,
        )
    target.refresh_from_db()
    return target
