"""Film clips' community renders (issue 19): a clip re-rendered with every accepted keyframe correction.

A photo's community version is its accepted correction's image. A clip has one accepted correction
per keyframe at most (``one_accepted_correction_per_keyframe``), and its community version is a
whole-clip render that carries each accepted keyframe's hints through its shot: a ``Draft`` with
purpose "community", made by the same chunked, resumable Celery job as the clip's draft
(``colorization.film``). The services that change which corrections are accepted call
``community_render_request`` inside their transaction: an acceptance (``decisions._decide_locked``),
a revocation (``revocations._revoke_locked``) and hiding or showing an accepted correction
(``moderation``); ``community_renders_sweep`` (beat) requests again what failed. colorization is
handed the hints; it never reads corrections. What the clip page, API, gallery, IIIF and feed show
is ``community_renders``: the newest finished render that carries no withdrawn correction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from colorization.drafting import clip_render_request, keyframes_document
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


def community_renders(photo_ids) -> dict[int, Draft]:
    """Clip id -> its community version: the one rule, used by the clip page, the API, gallery
    cards, IIIF and the feed. It is the newest finished community render (by request) when the clip
    has an accepted, visible keyframe correction, skipping any render that carries a withdrawn one
    (hidden by a moderator, or revoked): as for a photo, withdrawn colours stop being shown at
    once, not when the next render finishes. A render that lacks only a newer acceptance (or
    carries a superseded correction) stays the community version while the next one renders.
    Clips without one are left out (their draft plays). Three queries for any number of clips."""
    photo_ids = list(photo_ids)
    if not photo_ids:
        return {}
    keyframe = Correction.objects.filter(photo_id__in=photo_ids, frame__isnull=False)
    with_accepted = set(
        keyframe.filter(status=CorrectionStatus.ACCEPTED, hidden_at__isnull=True).values_list("photo_id", flat=True)
    )
    if not with_accepted:
        return {}
    withdrawn: dict[int, list[tuple[int, dict]]] = {}
    rows = keyframe.filter(photo_id__in=with_accepted).filter(
        Q(hidden_at__isnull=False) | Q(status=CorrectionStatus.REVOKED)
    )
    for photo_id, frame, hints in rows.values_list("photo_id", "frame", "hints"):
        withdrawn.setdefault(photo_id, []).append((frame, hints))
    renders = (
        Draft.objects.filter(photo_id__in=with_accepted, purpose=DraftPurpose.COMMUNITY, status=DraftStatus.DONE)
        .exclude(video="")
        .order_by("photo_id", "-created_at", "-id")
    )
    chosen: dict[int, Draft] = {}
    for render in renders:
        if render.photo_id in chosen:
            continue
        carried = render.keyframe_hints
        if any(carried.get(frame) == hints for frame, hints in withdrawn.get(render.photo_id, ())):
            continue
        chosen[render.photo_id] = render
    return chosen


def community_render(photo: Photo) -> Draft | None:
    """The clip's community version (``community_renders``), or None: then its draft plays."""
    if not photo.is_video:
        return None
    render = community_renders([photo.pk]).get(photo.pk)
    if render is not None:
        render.photo = photo  # the row already read
    return render


def community_render_pending(renders: Iterable[Draft], shown: Draft | None) -> Draft | None:
    """Of a clip's ``renders``, the newest community render requested after ``shown`` (its community
    version, or None) that is still queued or running: the page says a new community version is on
    its way while the one shown keeps playing."""
    after = (shown.created_at, shown.pk) if shown is not None else None
    waiting = [
        r
        for r in renders
        if r.purpose == DraftPurpose.COMMUNITY
        and r.status in (DraftStatus.QUEUED, DraftStatus.RUNNING)
        and (after is None or (r.created_at, r.pk) > after)
    ]
    return max(waiting, key=lambda r: (r.created_at, r.pk), default=None)


COMMUNITY_VERSION_LABEL = "Community version"


def community_version_label(render: Draft) -> str:
    """What a clip's community version is called wherever it is shown (with the AI label)."""
    return f"{COMMUNITY_VERSION_LABEL} · {render.label}"
