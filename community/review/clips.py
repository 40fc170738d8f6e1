"""Film clips' community renders (issue 19): a clip re-rendered with every accepted keyframe correction.

A photo's community version is its accepted correction's image. A clip has one accepted correction
per keyframe at most (``one_accepted_correction_per_keyframe``), and its community version is a
whole-clip render that carries each accepted keyframe's hints through its shot: a ``Draft`` with
purpose "community", made by the same chunked, resumable Celery job as the clip's draft
(``colorization.film``). The services that change which corrections are accepted call
``community_render_request`` after their transaction commits: an acceptance
(``decisions._decide_locked``), a revocation (``revocations._revoke_locked``) and hiding or
showing an accepted correction (``moderation``). colorization is handed the hints; it never reads
corrections.
"""

from __future__ import annotations

import logging

from django.db import transaction

from colorization.drafting import clip_render_request
from colorization.models import Draft, DraftPurpose, DraftStatus, Photo
from community.models import Correction, CorrectionStatus

logger = logging.getLogger(__name__)


def accepted_keyframe_hints(photo: Photo) -> dict[int, dict]:
    """Frame -> hints of the clip's accepted, visible keyframe corrections."""
    rows = Correction.objects.filter(
        photo=photo, status=CorrectionStatus.ACCEPTED, hidden_at__isnull=True, frame__isnull=False
    ).values_list("frame", "hints")
    return {frame: hints for frame, hints in rows}


def community_render_request(photo_id: int) -> Draft | None:
    """Queue the clip's community render with the keyframe corrections accepted now; None for a
    photo, or when no keyframe correction is accepted (the page then plays the clip's draft)."""
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is None or not photo.is_video:
        return None
    hints = accepted_keyframe_hints(photo)
    if not hints:
        return None
    with transaction.atomic():
        draft = clip_render_request(photo=photo, keyframe_hints=hints)
    logger.info("clip %s: community render %s with keyframes %s", photo_id, draft.pk, sorted(hints))
    return draft


def community_render_on_commit(photo_id: int) -> None:
    """``community_render_request`` once the surrounding transaction commits (a decision's)."""
    transaction.on_commit(lambda: community_render_request(photo_id), robust=True)


def community_render(photo: Photo) -> Draft | None:
    """The clip's community render to play: the newest finished one, when a keyframe correction is
    accepted (with none accepted, or none rendered yet, the clip's draft is played)."""
    if not Correction.objects.filter(
        photo=photo, status=CorrectionStatus.ACCEPTED, hidden_at__isnull=True, frame__isnull=False
    ).exists():
        return None
    return (
        Draft.objects.filter(photo=photo, purpose=DraftPurpose.COMMUNITY, status=DraftStatus.DONE)
        .exclude(video="")
        .order_by("-created_at", "-id")
        .first()
    )
