"""Drafts: requesting them, and the worker's side of making them.

The flow: ``draft_request`` creates a queued row and enqueues its id after the
transaction commits. A worker ``draft_claim``s it with a conditional update (so a
draft is never made twice at once), also claims compatible waiting drafts to run
them in one forward pass, writes results under keys derived from the draft id,
and marks them done. ``drafts_sweep`` (Celery beat) re-sends drafts whose message
was lost or whose worker died. Nothing here holds a transaction open during slow
work.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from PIL import Image

from colorization import metrics
from colorization.engine.hints import HintError, parse_hints
from colorization.media import key_token
from colorization.model_registry import UnknownModel, model_ref, route_model
from colorization.models import Draft, DraftPurpose, DraftStatus, MediaKind, Photo
from colorization.signals import draft_finished
from colorization.storage import storage_replace

logger = logging.getLogger(__name__)

DISCLOSURE_SENTENCE = "Colorized by Chroma Commons; colours are an AI estimate"
STAGES = {
    "claimed": (5, "Starting"),
    "model": (15, "Loading the model"),
    "read": (30, "Reading the original"),
    "colorize": (50, "Colorizing"),
    "write": (85, "Saving the results"),
}


class PermanentDraftError(Exception):
    """The draft cannot be made however often it is tried (a corrupt file, bad hints)."""


# --- requesting -------------------------------------------------------------------------------------


def draft_request(
    *,
    photo: Photo,
    requested_by=None,
    model: str | None = None,
    render_size: int | None = None,
    saturation: float = 1.0,
    hints: dict | None = None,
    purpose: str = DraftPurpose.DRAFT,
    frame: int | None = None,
) -> Draft:
    """Create a queued draft and enqueue it once the surrounding transaction commits.

    For a film clip, ``frame`` asks for that frame alone as a still (a keyframe correction's render,
    ``hints`` in the clip's pixels); without it the whole clip is rendered, and ``hints`` may give
    hints per keyframe: ``{"keyframes": {"120": hints, ...}}`` (a community render).
    """
    render_size = render_size or settings.CHROMA_DEFAULT_RENDER_SIZE
    errors = {}
    if not 64 <= render_size <= settings.CHROMA_MAX_RENDER_SIZE:
        errors["render_size"] = f"Choose a render size between 64 and {settings.CHROMA_MAX_RENDER_SIZE}."
    if not 0 <= saturation <= 2:
        errors["saturation"] = "Choose a saturation between 0 and 2."
    if frame is not None and not (photo.is_video and 0 <= frame < (photo.frame_count or 0)):
        errors["frame"] = (
            f"Choose a frame between 0 and {(photo.frame_count or 1) - 1}."
            if photo.is_video
            else "A photograph has no frames; leave frame out."
        )
    if hints:
        try:
            if photo.is_video and frame is None:
                keyframe_hints_check(hints, photo)
            else:
                parse_hints(hints, photo.width, photo.height)
        except HintError as exc:
            errors["hints"] = str(exc)
    try:
        ref = route_model(photo) if model is None else model_ref(model)
    except UnknownModel as exc:
        errors["model"] = str(exc)
    if errors:
        raise ValidationError(errors)
    draft = Draft.objects.create(
        photo=photo,
        requested_by=requested_by,
        model_slug=ref.slug,
        model_version=ref.version,
        model_sha256=ref.sha256,
        render_size=render_size,
        saturation=saturation,
        hints=hints or {},
        purpose=purpose,
        frame=frame,
        queue=settings.CHROMA_INFERENCE_QUEUE,
    )
    transaction.on_commit(lambda: draft_enqueue(draft.pk))
    return draft


def keyframe_hints_check(hints: dict, photo: Photo) -> None:
    """A whole-clip render's hints: ``{"keyframes": {"<frame>": hints}}``, each a valid hint set in
    the clip's pixels at a frame of the clip. Raises ``HintError``."""
    if set(hints) - {"keyframes"} or not isinstance(hints.get("keyframes"), dict):
        raise HintError('A clip render\'s hints are {"keyframes": {"<frame>": hints}}.')
    for key, value in hints["keyframes"].items():
        if not str(key).isdigit() or int(key) >= (photo.frame_count or 0):
            raise HintError(f"keyframes: {key!r} is not a frame of this clip.")
        try:
            parse_hints(value, photo.width, photo.height)
        except HintError as exc:
            raise HintError(f"keyframes[{key}]: {exc}") from None


def keyframes_document(keyframe_hints: dict[int, dict]) -> dict:
    """A community render's hints for frame -> hints (``Draft.keyframe_hints`` reads them back)."""
    return {"keyframes": {str(k): keyframe_hints[k] for k in sorted(keyframe_hints)}}


def clip_render_request(*, photo: Photo, keyframe_hints: dict[int, dict], requested_by=None) -> Draft:
    """A film clip rendered again with ``keyframe_hints`` (frame -> hints, each carried through its
    shot): a community render, made with the model, render size and saturation of the clip's latest
    finished draft, so only the hints differ from what volunteers corrected."""
    if not photo.is_video:
        raise ValidationError({"photo": "Only a film clip has keyframes to render with."})
    base = (
        Draft.objects.filter(photo=photo, purpose=DraftPurpose.DRAFT, status=DraftStatus.DONE, frame__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
    settings_ = (
        {"model": base.model_slug, "render_size": base.render_size, "saturation": base.saturation} if base else {}
    )
    return draft_request(
        photo=photo,
        requested_by=requested_by,
        hints=keyframes_document(keyframe_hints),
        purpose=DraftPurpose.COMMUNITY,
        **settings_,
    )


def drafts_request_sweep(*, photo: Photo, requested_by=None, model: str | None = None, saturation: float = 1.0):
    """Three drafts at different render sizes, to compare side by side (no guessing a "render factor")."""
    return [
        draft_request(photo=photo, requested_by=requested_by, model=model, render_size=size, saturation=saturation)
        for size in settings.CHROMA_SWEEP_RENDER_SIZES
    ]


# After a failed send, this process leaves drafts for the sweeper this long instead of trying
# again: during an outage each attempt costs up to the broker timeout, and an upload (or a sweep
# of hundreds of drafts) must not pay it once per draft.
BROKER_BACKOFF_SECONDS = 10.0
_broker_down_until = 0.0


def draft_enqueue(draft_id: int, queue: str | None = None) -> bool:
    """Send the draft's task; if the broker is down, leave it queued for the sweeper.

    A send is bounded by the broker timeouts (``CELERY_BROKER_TIMEOUT``, one attempt); after a
    failure, sends from this process are skipped for ``BROKER_BACKOFF_SECONDS``.
    """
    global _broker_down_until
    from colorization.tasks import colorize_draft

    draft = Draft.objects.filter(pk=draft_id).only("queue").first()
    if draft is None:
        return False
    queue = queue or draft.queue
    if time.monotonic() < _broker_down_until:
        logger.warning("broker down a moment ago; draft %s waits for the sweeper", draft_id)
        return False
    try:
        colorize_draft.apply_async(args=[draft_id], queue=queue, retry=False)
    except Exception as exc:  # noqa: BLE001 - kombu raises many types; an upload must not fail for it
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        logger.warning("could not enqueue draft %s (%s); the sweeper will retry", draft_id, exc)
        return False
    Draft.objects.filter(pk=draft_id).update(enqueued_at=timezone.now(), queue=queue)
    return True


# --- the worker's side -----------------------------------------------------------------------------


def draft_claim(draft_id: int) -> bool:
    """Take a queued draft (or one whose worker stopped sending heartbeats). Exactly one caller wins."""
    return Draft.claim(
        draft_id,
        stale_seconds=settings.CHROMA_DRAFT_STALE_SECONDS,
        progress=STAGES["claimed"][0],
        stage=STAGES["claimed"][1],
    )


def draft_claim_wait(draft_id: int) -> float | None:
    """After a lost claim: seconds until the draft's current holder counts as dead, or None if it is not running."""
    return Draft.seconds_until_claimable(draft_id, stale_seconds=settings.CHROMA_DRAFT_STALE_SECONDS)


def _padded_shape(width: int, height: int, render_size: int, multiple: int) -> tuple[int, int]:
    from colorization.engine.inference import working_size

    w, h = working_size(width, height, render_size)
    return -(-w // multiple) * multiple, -(-h // multiple) * multiple


def _claim_companions(lead: Draft, limit: int, multiple: int) -> list[int]:
    """Claim up to ``limit`` waiting drafts that can share the lead's forward pass.

    Only drafts with the same model, render size, saturation and padded working shape
    are batched, so a batched draft is the image it would have been alone (up to rare
    ±1 rounding differences from the batched matrix kernels).
    """
    if limit <= 0:
        return []
    shape = _padded_shape(lead.photo.width, lead.photo.height, lead.render_size, multiple)
    candidates = (
        Draft.objects.filter(
            status=DraftStatus.QUEUED,
            photo__media_kind=MediaKind.IMAGE,  # clips render alone, in chunks
            model_sha256=lead.model_sha256,
            render_size=lead.render_size,
            saturation=lead.saturation,
        )
        .exclude(pk=lead.pk)
        .order_by("created_at")
        .values_list("pk", "photo__width", "photo__height")
    )
    claimed = []
    for pk, width, height in candidates[: limit * 8]:
        if _padded_shape(width, height, lead.render_size, multiple) != shape:
            continue
        if draft_claim(pk):
            claimed.append(pk)
        if len(claimed) == limit:
            break
    return claimed


def _progress(draft_ids: list[int], stage: str) -> None:
    progress, label = STAGES[stage]
    Draft.heartbeat(draft_ids, progress=progress, stage=label)


def result_keys(draft: Draft) -> dict[str, str]:
    """Where a draft's files live: the same keys on every run (a rerun replaces them), but with a
    token only the server can compute, so nobody reaches a draft's files by counting ids."""
    base = f"drafts/{draft.photo_id}/{draft.pk}-{key_token(f'draft:{draft.pk}')}"
    return {"image": f"{base}.png", "image_jpeg": f"{base}.jpg", "thumbnail": f"{base}-thumb.jpg"}


def disclosure_for(draft: Draft) -> dict:
    return {
        "description": (
            f"{DISCLOSURE_SENTENCE}. Model {draft.model_slug} version {draft.model_version}; "
            f"original sha256 {draft.photo.original_sha256}."
        ),
        "model": draft.model_slug,
        "model_version": draft.model_version,
        "original_sha256": draft.photo.original_sha256,
    }


def _read_source(draft: Draft):
    """What a still draft colorizes: the photo's L*, or a clip's frame ``draft.frame``."""
    if draft.frame is None:
        return _read_original(draft.photo)
    from colorization.engine.video import VideoError
    from colorization.film import keyframe_luminance

    try:
        return keyframe_luminance(draft.photo, draft.frame)
    except VideoError as exc:
        raise PermanentDraftError(f"The clip's frame {draft.frame + 1} could not be read: {exc}") from exc


def _read_original(photo: Photo):
    from colorization.engine.imageio import ImageReadError, read_luminance

    with default_storage.open(photo.original.name, "rb") as f:
        data = f.read()
    try:
        return read_luminance(io.BytesIO(data), max_pixels=settings.CHROMA_MAX_IMAGE_PIXELS)
    except ImageReadError as exc:
        raise PermanentDraftError(f"The original could not be read: {exc}") from exc


def original_working_luminance(photo: Photo, render_size: int, frame: int | None = None):
    """The original's L* on a render's working grid ((h, w) float32 numpy): area-averaged exactly as
    a render at ``render_size`` sees it (what the provenance share measures the hints against). For a
    film clip, ``frame`` is the keyframe's. Raises PermanentDraftError when the original cannot be read."""
    from colorization.engine.inference import working_luminance

    if frame is not None:
        return working_luminance(_read_source(Draft(photo=photo, frame=frame)), render_size)
    return working_luminance(_read_original(photo), render_size)


@dataclass
class RenderReport:
    done: list[int]
    failed: list[int]


def drafts_render(lead_id: int) -> RenderReport:
    """Make the lead draft (already claimed) and any compatible waiting drafts, in one forward pass."""
    held = [lead_id]  # the drafts this worker holds, kept alive between the stage heartbeats
    with Draft.keep_alive(held, interval=settings.CHROMA_DRAFT_HEARTBEAT_SECONDS):
        return _render(lead_id, held)


def _render(lead_id: int, held: list[int]) -> RenderReport:
    from colorization.engine.imageio import encode
    from colorization.engine.inference import Colorizer, RenderOptions

    lead = Draft.objects.select_related("photo").get(pk=lead_id)
    _progress([lead.pk], "model")
    colorizer = Colorizer.load(_model_path(lead), settings.COLORIZE_DEVICE, settings.COLORIZE_PRECISION)
    if colorizer.sha256 != lead.model_sha256:
        raise PermanentDraftError("The model file changed since this draft was requested; request a new draft.")
    if lead.photo.is_video and lead.frame is None:  # a film clip: rendered in resumable chunks, never batched
        return _render_clip(lead, colorizer)
    # A clip's keyframe still renders alone (its companions would be photos of other sizes).
    batch = 0 if lead.photo.is_video else settings.CHROMA_DRAFT_BATCH_MAX - 1
    ids = [lead.pk, *_claim_companions(lead, batch, colorizer.multiple)]
    held[:] = ids
    drafts = {d.pk: d for d in Draft.objects.select_related("photo").filter(pk__in=ids)}
    report = RenderReport(done=[], failed=[])

    _progress(ids, "read")
    items, ready = [], []
    for pk in ids:
        draft = drafts[pk]
        try:
            image = _read_source(draft)
            hints = parse_hints(draft.hints, image.width, image.height) if draft.hints else None
        except (PermanentDraftError, HintError) as exc:
            draft_fail(pk, str(exc))
            report.failed.append(pk)
            continue
        items.append((image, hints))
        ready.append(draft)
    if not ready:
        return report

    _progress([d.pk for d in ready], "colorize")
    started = time.perf_counter()
    rgbs = colorizer.colorize_batch(
        items, render_size=lead.render_size, options=RenderOptions(saturation=lead.saturation)
    )
    outputs = {draft.pk: rgb for draft, rgb in zip(ready, rgbs, strict=True)}
    seconds = time.perf_counter() - started

    _progress([d.pk for d in ready], "write")
    for draft in ready:
        rgb = outputs[draft.pk]
        keys = result_keys(draft)
        meta = disclosure_for(draft)
        storage_replace(keys["image"], encode(rgb, "png", meta))
        storage_replace(keys["image_jpeg"], encode(rgb, "jpeg", meta))
        thumb = Image.fromarray(rgb)
        thumb.thumbnail((settings.CHROMA_THUMBNAIL_SIZE, settings.CHROMA_THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
        storage_replace(keys["thumbnail"], encode(np.asarray(thumb), "jpeg", meta))
        updated = Draft.objects.filter(pk=draft.pk, status=DraftStatus.RUNNING).update(
            status=DraftStatus.DONE,
            progress=100,
            stage="Done",
            image=keys["image"],
            image_jpeg=keys["image_jpeg"],
            thumbnail=keys["thumbnail"],
            device=str(colorizer.device),
            duration_ms=round(seconds * 1000 / len(ready)),
            batch_size=len(ready),
            finished_at=timezone.now(),
        )
        if updated:
            report.done.append(draft.pk)
            finished = timezone.now()
            metrics.draft_done(
                device=str(colorizer.device),
                render_seconds=seconds / len(ready),
                latency_seconds=(finished - draft.created_at).total_seconds() if draft.created_at else None,
            )
            _announce(draft.pk, DraftStatus.DONE)
    return report


def _render_clip(draft: Draft, colorizer) -> RenderReport:
    from colorization.engine.video import VideoError
    from colorization.film import clip_render

    _progress([draft.pk], "colorize")
    try:
        finished = clip_render(draft.pk, colorizer, disclosure=disclosure_for(draft))
    except VideoError as exc:
        raise PermanentDraftError(f"The clip could not be rendered: {exc}") from exc
    if not finished:
        return RenderReport(done=[], failed=[])
    _announce(draft.pk, DraftStatus.DONE)
    return RenderReport(done=[draft.pk], failed=[])


def draft_is_clip(draft_id: int) -> bool:
    return Draft.objects.filter(pk=draft_id, photo__media_kind=MediaKind.VIDEO, frame__isnull=True).exists()


def _model_path(draft: Draft) -> Path:
    """The draft's model as a local file: from this host's cache, fetched from storage on first use.

    Storage that does not answer is transient (ModelStorageUnavailable is a ConnectionError: the task
    retries); a model that is gone or altered is not.
    """
    try:
        return model_ref(draft.model_slug).path
    except UnknownModel as exc:
        raise PermanentDraftError(f"The model {draft.model_slug} is no longer available: {exc}") from exc


def _announce(draft_id: int, status: str) -> None:
    """Tell listeners (community: correction renders, gold scoring); their errors never fail the draft."""
    for receiver, result in draft_finished.send_robust(sender=Draft, draft_id=draft_id, status=status):
        if isinstance(result, Exception):
            logger.error("draft_finished receiver %r failed for draft %s", receiver, draft_id, exc_info=result)


def draft_fail(draft_id: int, reason: str) -> None:
    failed = (
        Draft.objects.filter(pk=draft_id)
        .exclude(status=DraftStatus.DONE)
        .update(status=DraftStatus.FAILED, stage="Failed", error=reason[:2000], finished_at=timezone.now())
    )
    logger.warning("draft %s failed: %s", draft_id, reason)
    if failed:
        metrics.draft_failed()
        _announce(draft_id, DraftStatus.FAILED)


def draft_release(draft_ids: list[int]) -> None:
    """Give running drafts back to the queue (a transient error; the task retries)."""
    Draft.objects.filter(pk__in=draft_ids, status=DraftStatus.RUNNING).update(
        status=DraftStatus.QUEUED, stage="Waiting to retry", progress=0
    )


def draft_retry(*, draft: Draft, requested_by=None) -> Draft:
    """The retry action on a failed draft: a new draft with the same settings (a still of a clip's
    frame stays a still of that frame). A clip's community render is not retried here: which
    hints it should carry changes with the review, so the review services request it again
    (``community.review.clips.community_renders_sweep``)."""
    if draft.purpose == DraftPurpose.COMMUNITY:
        raise ValidationError(
            {"draft": "A community render is requested again, with the corrections accepted then, automatically."}
        )
    return draft_request(
        photo=draft.photo,
        requested_by=requested_by,
        model=draft.model_slug,
        render_size=draft.render_size,
        saturation=draft.saturation,
        hints=draft.hints or None,
        frame=draft.frame,
    )


def drafts_sweep() -> dict[str, int]:
    """Re-send drafts whose message was lost or whose worker died; move slow GPU work to the CPU queue."""
    now = timezone.now()
    resend_before = now - timedelta(seconds=settings.CHROMA_DRAFT_RESEND_SECONDS)
    stale_before = now - timedelta(seconds=settings.CHROMA_DRAFT_STALE_SECONDS)
    counts = {"requeued_running": 0, "resent_queued": 0, "failed_exhausted": 0}
    # Running with no heartbeat: the worker died. Give it back, or give up after too many attempts.
    for draft in Draft.objects.filter(status=DraftStatus.RUNNING, heartbeat_at__lt=stale_before):
        if draft.attempts >= settings.CHROMA_DRAFT_MAX_ATTEMPTS:
            draft_fail(draft.pk, f"Gave up after {draft.attempts} attempts; the workers stopped while making it.")
            counts["failed_exhausted"] += 1
            continue
        if Draft.objects.filter(pk=draft.pk, status=DraftStatus.RUNNING, heartbeat_at__lt=stale_before).update(
            status=DraftStatus.QUEUED, stage="Waiting for a worker (retrying)", progress=0
        ):
            draft_enqueue(draft.pk, _fallback_queue(draft))
            counts["requeued_running"] += 1
    # Queued but never started: the message was lost (or the broker was down when it was sent).
    waiting = Draft.objects.filter(status=DraftStatus.QUEUED).filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=resend_before)
    )
    for draft in waiting.order_by("created_at")[:500]:
        if draft_enqueue(draft.pk, _fallback_queue(draft)):
            counts["resent_queued"] += 1
    return counts


def _fallback_queue(draft: Draft) -> str:
    """A draft that waited too long for a GPU worker goes to the CPU queue."""
    if draft.queue == "gpu" and draft.enqueued_at is not None:
        return "cpu"
    return draft.queue
