"""Film clips' community renders (issue 19): a clip re-rendered with every accepted keyframe correction.

A photo's community version is its accepted correction's image. A clip has one accepted correction
per keyframe at most (``one_accepted_correction_per_keyframe``), and its community version is a
whole-clip render that carries each accepted keyframe's hints through its shot: a ``Draft`` with
purpose "community", made by the same chunked, resumable Celery job as the clip's draft
(``colorization.film``). The services that change which corrections are accepted call
``community_render_request`` inside their transaction: an acceptance (``decisions._decide_locked``),
a revocation (``revocations._revoke_locked``) and hiding or showing an accepted correction
(``moderation``); ``community_renders_sweep`` (beat) requests again what failed. colorization is
handed the hints; it never reads corrections. What the clip page, API, IIIF and feed play is
``community_render``: a render only while every keyframe it used is still accepted with its hints.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

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


MAX_FAILED_RENDERS = 3  # a hint set whose render failed this often is not requested again by the sweep
SUPERSEDED = "Superseded"  # the stage of a queued community render nobody will play any more


def keyframes_document(hints: dict[int, dict]) -> dict:
    """The community render's hints document for frame -> hints (what ``clip_render_request`` stores)."""
    return {"keyframes": {str(k): hints[k] for k in sorted(hints)}}


def community_render_request(photo_id: int) -> Draft | None:
    """Make sure the clip has a community render of the keyframe corrections accepted now.

    Called by the services that change them, inside their transaction (the draft row commits with the
    decision, and the drafts sweeper re-sends its message if the send is lost). The clip's row is
    locked, so two decisions read and request one after the other. A queued, running or finished
    render of the same hints is reused; queued renders of hints no longer accepted are superseded
    (nobody would play them). None for a photo, when no keyframe correction is accepted (the page then
    plays the clip's draft), or when the request is refused (logged; the decision stands).
    """
    with transaction.atomic():
        photo = Photo.objects.select_for_update().filter(pk=photo_id).first()
        if photo is None or not photo.is_video:
            return None
        hints = accepted_keyframe_hints(photo)
        document = keyframes_document(hints)
        renders = Draft.objects.filter(photo=photo, purpose=DraftPurpose.COMMUNITY)
        same = [
            d
            for d in renders.filter(status__in=[DraftStatus.QUEUED, DraftStatus.RUNNING, DraftStatus.DONE])
            .order_by("-created_at", "-id")
            .only("pk", "hints", "status")
            if d.hints == document
        ]
        renders.filter(status=DraftStatus.QUEUED).exclude(pk__in=[d.pk for d in same]).update(
            status=DraftStatus.FAILED,
            stage=SUPERSEDED,
            error="The accepted keyframe corrections changed before this render started.",
            finished_at=timezone.now(),
        )
        if not hints:
            return None
        if same:
            return same[0]
        try:
            with transaction.atomic():  # a savepoint: a refused request never undoes the decision
                draft = clip_render_request(photo=photo, keyframe_hints=hints)
        except ValidationError as exc:
            logger.error("clip %s: the community render could not be requested: %s", photo_id, exc)
            return None
    logger.info("clip %s: community render %s with keyframes %s", photo_id, draft.pk, sorted(hints))
    return draft


def community_renders_sweep(*, limit: int = 50) -> dict:
    """Beat: clips whose accepted keyframe corrections have no queued, running or finished render (one
    failed, or its request was refused) are requested again, up to ``MAX_FAILED_RENDERS`` failures of
    the same hints."""
    report = {"requested": 0, "given_up": 0}
    clips = (
        Correction.objects.filter(status=CorrectionStatus.ACCEPTED, hidden_at__isnull=True, frame__isnull=False)
        .values_list("photo_id", flat=True)
        .distinct()
    )
    for photo_id in list(clips[:limit]):
        photo = Photo.objects.get(pk=photo_id)
        document = keyframes_document(accepted_keyframe_hints(photo))
        renders = Draft.objects.filter(photo=photo, purpose=DraftPurpose.COMMUNITY).only("hints", "status", "stage")
        if any(d.hints == document and d.status != DraftStatus.FAILED for d in renders):
            continue
        failures = sum(
            d.hints == document and d.status == DraftStatus.FAILED and d.stage != SUPERSEDED for d in renders
        )
        if failures >= MAX_FAILED_RENDERS:
            report["given_up"] += 1
            continue
        if community_render_request(photo_id) is not None:
            report["requested"] += 1
    return report


def playable(render: Draft, accepted: dict[int, dict]) -> bool:
    """Whether a finished community render may be played: each keyframe it was rendered with is still
    accepted with the same hints (so a hidden or revoked correction's colours never show; a render that
    lacks a newer acceptance is played until the new one is done)."""
    used = (render.hints or {}).get("keyframes", {})
    return bool(used) and all(accepted.get(int(k)) == h for k, h in used.items())


def community_render(photo: Photo) -> Draft | None:
    """The clip's community render to play: the newest finished one that is ``playable`` with the
    keyframe corrections accepted now (with none accepted, or none playable yet, the clip's draft is)."""
    accepted = accepted_keyframe_hints(photo)
    if not accepted:
        return None
    renders = (
        Draft.objects.filter(photo=photo, purpose=DraftPurpose.COMMUNITY, status=DraftStatus.DONE)
        .exclude(video="")
        .order_by("-created_at", "-id")
    )
    return next((render for render in renders if playable(render, accepted)), None)
