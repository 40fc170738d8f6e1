"""Write operations on photos. Views, API and commands call these; they hold the rules.

Each write first asks ``access.require_writer`` (signed in, not suspended) and counts its limit
(``ratelimit``), so the API, the forms and the commands refuse alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q

from colorization.access import require_writer
from colorization.clips import InspectedClip, inspect_clip, is_clip
from colorization.images import EXTENSIONS, ImageRejected, InspectedImage, inspect_image
from colorization.models import Draft, DraftStatus, Licence, MediaKind, Photo
from colorization.ratelimit import rate_limit
from colorization.text import text_problems, validate_text

logger = logging.getLogger(__name__)

METADATA_FIELDS = (
    "title",
    "description",
    "year_from",
    "year_to",
    "genre",
    "place",
    "source_archive",
    "source_reference",
    "licence",
    "credit_line",
)


@dataclass(frozen=True)
class UploadResult:
    photo: Photo
    created: bool  # False: the same bytes were uploaded before; ``photo`` is that upload


def original_key(sha256: str, image_format: str) -> str:
    """Content-addressed storage key: the same bytes always land in the same place."""
    return f"originals/{sha256[:2]}/{sha256}.{EXTENSIONS.get(image_format, 'bin')}"


def thumbnail_key(sha256: str) -> str:
    return f"thumbnails/{sha256[:2]}/{sha256}.jpg"


def validate_metadata(metadata: dict) -> dict:
    """Clean photo metadata; raises ``ValidationError`` with per-field messages."""
    unknown = set(metadata) - set(METADATA_FIELDS)
    if unknown:
        raise ValidationError({field: "Unknown field." for field in sorted(unknown)})
    cleaned = dict(metadata)
    errors: dict[str, str] = {}
    for field, message in text_problems({k: v for k, v in cleaned.items() if isinstance(v, str)}):
        errors[field] = message
    title = (cleaned.get("title") or "").strip()
    if not title:
        errors["title"] = "A title is required."
    cleaned["title"] = title
    genre = cleaned.get("genre") or "unknown"
    if genre not in settings.CHROMA_GENRES:
        errors["genre"] = f"Unknown genre {genre!r}; choose one of: {', '.join(settings.CHROMA_GENRES)}."
    cleaned["genre"] = genre
    licence = cleaned.get("licence") or Licence.UNKNOWN
    if licence not in Licence.values:
        errors["licence"] = f"Unknown licence {licence!r}; choose one of: {', '.join(Licence.values)}."
    cleaned["licence"] = licence
    for field in ("year_from", "year_to"):
        value = cleaned.get(field)
        if value in (None, ""):
            cleaned[field] = None
            continue
        try:
            year = int(value)
        except (TypeError, ValueError):
            errors[field] = "Enter a year such as 1914."
            continue
        if not 1826 <= year <= 2100:
            errors[field] = "Enter a year between 1826 and 2100."
        cleaned[field] = year
    if cleaned.get("year_from") is not None and cleaned.get("year_to") is None and "year_to" not in errors:
        cleaned["year_to"] = cleaned["year_from"]  # a single year
    yf, yt = cleaned.get("year_from"), cleaned.get("year_to")
    if isinstance(yf, int) and isinstance(yt, int) and yf > yt and "year_from" not in errors:
        errors["year_to"] = "The end year is before the start year."
    if errors:
        raise ValidationError(errors)
    return cleaned


def validate_filename(filename: str) -> str:
    """The uploader's file name as stored (the last 255 characters); the text rule applies to it."""
    validate_text(filename or "", "image")
    return (filename or "")[-255:]


def inspect_upload(file: BinaryIO) -> InspectedImage | InspectedClip:
    """Check a file against the configured upload limits (raises ``ImageRejected``).

    One upload path for photographs and film clips: the first bytes say which it is (a video
    container, or else an image), and each kind has its own limits (``CHROMA_MAX_VIDEO_*``).
    """
    if is_clip(file):
        return inspect_clip(
            file,
            max_bytes=settings.CHROMA_MAX_VIDEO_BYTES,
            max_seconds=settings.CHROMA_MAX_VIDEO_SECONDS,
            max_pixels=settings.CHROMA_MAX_VIDEO_PIXELS,
            thumbnail_size=settings.CHROMA_THUMBNAIL_SIZE,
        )
    return inspect_image(
        file,
        max_bytes=settings.CHROMA_MAX_UPLOAD_BYTES,
        max_pixels=settings.CHROMA_MAX_IMAGE_PIXELS,
        min_side=settings.CHROMA_MIN_IMAGE_SIDE,
        thumbnail_size=settings.CHROMA_THUMBNAIL_SIZE,
    )


def photo_upload(
    *, owner, file: BinaryIO, filename: str = "", metadata: dict, rate_limited: bool = True
) -> UploadResult:
    """Store an original untouched (content-addressed, with its sha256) and create its Photo.

    Uploading bytes that are already here returns the existing photo with
    ``created=False`` instead of making a duplicate. Nothing is left half-saved:
    files are written first under keys derived from their content, and removed
    again if the database row cannot be created.

    Every upload counts against ``CHROMA_UPLOAD_RATE`` per owner (``RateLimited`` above it),
    checked before anything is read or stored; the operators' batch commands (``import_photos``,
    ``gold_import``, ``demo_setup``), run from a shell, pass ``rate_limited=False``. A suspended
    owner is refused either way.
    """
    require_writer(owner, "upload photos")
    if rate_limited:
        rate_limit(user=owner, scope="uploads", rate=settings.CHROMA_UPLOAD_RATE)
    cleaned = validate_metadata(metadata)
    stored_name = validate_filename(filename)
    info = inspect_upload(file)
    existing = _existing_upload(info.sha256, owner)
    if existing is not None:
        return UploadResult(existing, created=False)

    written, wrote = _store_files(file, info)
    committing = False
    try:
        with transaction.atomic():
            photo = Photo.objects.create(
                owner=owner,
                original=written[0],
                thumbnail=written[1],
                original_filename=stored_name,
                original_sha256=info.sha256,
                original_bytes=info.size_bytes,
                image_format=info.format,
                width=info.width,
                height=info.height,
                bit_depth=info.bit_depth,
                is_colour_source=info.is_colour,
                **_clip_fields(info, written[0]),
                **cleaned,
            )
            _after_upload(photo)
            committing = True
    except IntegrityError:
        # Someone uploaded the same bytes at the same moment: theirs won; the
        # content-addressed files are the same ones, so nothing is removed.
        existing = _existing_upload(info.sha256, owner)
        if existing is None:
            raise
        return UploadResult(existing, created=False)
    except BaseException:
        _remove_unclaimed(wrote, row_may_exist=committing)
        raise
    logger.info("photo %s uploaded by %s (%s, %dx%d)", photo.pk, owner, info.format, info.width, info.height)
    return UploadResult(photo, created=True)


def _clip_fields(info: InspectedImage | InspectedClip, original: str) -> dict:
    """A clip's fields; its original is what the player shows when browsers play it (else the worker
    makes a web copy, ``film.ensure_web_video``)."""
    if not isinstance(info, InspectedClip):
        return {}
    return {
        "web_video": original if info.browser_playable else "",
        "media_kind": MediaKind.VIDEO,
        "frame_count": info.frames,
        "fps": info.fps,
        "duration_seconds": info.duration,
        "video_codec": info.video_codec,
        "audio_codec": info.audio_codec,
    }


def _existing_upload(sha256: str, uploader) -> Photo | None:
    """The photo these bytes already belong to, if the uploader may see it.

    A duplicate answer tells only what the uploader is allowed to see: the bytes of a hidden
    photo are refused (409) without its id, title or owner.
    """
    existing = Photo.objects.filter(original_sha256=sha256).first()
    if existing is None:
        return None
    if not Photo.objects.visible_to(uploader).filter(pk=existing.pk).exists():
        raise ImageRejected(
            "This exact file is already here, in a photo that is not public; it cannot be uploaded again.",
            status=409,
            code="duplicate_not_public",
        )
    return existing


def _store_files(file: BinaryIO, info: InspectedImage | InspectedClip) -> tuple[tuple[str, str], list[str]]:
    """The original's and thumbnail's keys, and which of them this call wrote (the others were there)."""
    key = original_key(info.sha256, info.format)
    wrote = []
    if not default_storage.exists(key):
        file.seek(0)
        stored = default_storage.save(key, File(file))
        if stored != key:  # the storage renamed it: never keep two copies under different names
            default_storage.delete(stored)
            raise RuntimeError(f"storage refused the content-addressed key {key}")
        wrote.append(key)
    thumb = thumbnail_key(info.sha256)
    if not default_storage.exists(thumb):
        default_storage.save(thumb, ContentFile(info.thumbnail_jpeg))
        wrote.append(thumb)
    return (key, thumb), wrote


def _remove_unclaimed(keys: list[str], *, row_may_exist: bool) -> None:
    """Remove the files a failed upload wrote, unless a photo row claims them.

    The database is often what failed (a restart, a lost connection). Then it cannot be asked, and
    the files go if the failure came before the commit: no row of this upload exists, and no other
    upload can have claimed a file that was not there before this one wrote it without the database
    either. A commit whose answer was lost (``row_may_exist``) may have saved the row; its files stay
    then, and the log names them (the same bytes uploaded again reuse them).
    """
    for key in keys:
        try:
            claimed = Photo.objects.filter(Q(original=key) | Q(thumbnail=key)).exists()
        except DatabaseError:
            if row_may_exist:
                logger.error("upload's commit lost with the database; kept %s, which its row may need", key)
                continue
            claimed = False
        if claimed:
            continue
        try:
            default_storage.delete(key)
        except Exception:
            logger.exception("could not remove %s after a failed upload", key)


def _after_upload(photo: Photo) -> None:
    """Queue the first draft; it is sent to the workers when the upload's transaction commits.

    A film clip's draft is the same row and task; the worker renders it in chunks (``film``)."""
    from colorization.drafting import draft_request

    try:
        draft_request(photo=photo, requested_by=photo.owner)
    except ValidationError as exc:  # no usable model: keep the upload, say why there is no draft
        logger.error("no draft for photo %s: %s", photo.pk, "; ".join(exc.messages))


def photo_update(*, photo: Photo, editor, metadata: dict) -> Photo:
    """Correct a photo's metadata: its owner or staff, not suspended."""
    require_writer(editor, "edit photos")
    if photo.owner_id != editor.pk and not editor.is_staff:
        raise PermissionDenied("Only the photo's owner can edit its details.")
    current = {field: getattr(photo, field) for field in METADATA_FIELDS}
    current.update(metadata)
    cleaned = validate_metadata(current)
    for field, value in cleaned.items():
        setattr(photo, field, value)
    photo.full_clean(exclude=["original", "thumbnail"])
    photo.save()
    return photo


# --- drafts people ask for ------------------------------------------------------------------------
# ``drafting.draft_request`` is the machinery (validate, create, enqueue after commit); the upload's
# first draft and a correction's render call it under their own service's checks and limits. A
# person asking for a draft -- the API, the photo page's forms, "re-colorize with the newest model",
# a retry -- comes through these three, which check the writer and count CHROMA_DRAFT_RATE.


def _draft_gate(requested_by, cost: int = 1) -> None:
    require_writer(requested_by, "ask for drafts")
    rate_limit(user=requested_by, scope="drafts", rate=settings.CHROMA_DRAFT_RATE, cost=cost)


def draft_ask(
    *,
    photo: Photo,
    requested_by,
    model: str | None = None,
    render_size: int | None = None,
    saturation: float = 1.0,
    hints: dict | None = None,
) -> Draft:
    """One more draft of ``photo`` (model routed when ``model`` is None)."""
    from colorization.drafting import draft_request

    _draft_gate(requested_by)
    return draft_request(
        photo=photo, requested_by=requested_by, model=model, render_size=render_size, saturation=saturation, hints=hints
    )


def drafts_ask_sweep(*, photo: Photo, requested_by, model: str | None = None, saturation: float = 1.0) -> list[Draft]:
    """Drafts at each of ``CHROMA_SWEEP_RENDER_SIZES``; each counts as a draft request."""
    from colorization.drafting import drafts_request_sweep

    _draft_gate(requested_by, cost=len(settings.CHROMA_SWEEP_RENDER_SIZES))
    return drafts_request_sweep(photo=photo, requested_by=requested_by, model=model, saturation=saturation)


def draft_ask_retry(*, draft: Draft, requested_by) -> Draft:
    """A failed draft again, with the same settings: a draft request like any other."""
    from colorization.drafting import draft_retry

    if draft.status != DraftStatus.FAILED:
        raise ValidationError({"status": "Only a failed draft can be retried."})
    _draft_gate(requested_by)
    return draft_retry(draft=draft, requested_by=requested_by)


__all__ = [
    "ImageRejected",
    "UploadResult",
    "draft_ask",
    "draft_ask_retry",
    "drafts_ask_sweep",
    "photo_update",
    "photo_upload",
    "validate_metadata",
]
