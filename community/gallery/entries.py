"""Gallery entries: one denormalized ``GalleryEntry`` per photo, what a gallery card shows.

The services that change what a card shows call ``gallery_entry_update`` themselves: deciding a
correction (``review.decisions``), hiding or restoring content (``review.moderation``) and
commenting (``review.comments``). Events that start in colorization (a photo saved or deleted, a
draft finished) reach it through ``community.receivers``, since colorization never imports
community.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Q

from colorization.models import Draft, DraftPurpose, DraftStatus, Photo
from community.gallery.page_cache import pages_invalidate_on_commit
from community.models import Comment, Correction, CorrectionStatus, GalleryEntry, GalleryVersion

logger = logging.getLogger(__name__)


def _search_text(photo: Photo) -> str:
    return " ".join(part for part in (photo.title, photo.description, photo.place) if part).lower()


def gallery_entry_refresh(*, photo_id: int) -> GalleryEntry | None:
    """Recompute what the gallery shows for a photo (idempotent; a few indexed queries)."""
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is None:
        return None  # deleted: the entry went with it (CASCADE)
    fields = {
        "is_public": photo.hidden_at is None,
        "created_at": photo.created_at,
        "genre": photo.genre,
        "place": photo.place,
        "source_archive": photo.source_archive,
        "year_from": photo.year_from,
        "year_to": photo.year_to,
        "search_text": _search_text(photo),
        "version": GalleryVersion.NONE,
        "version_thumbnail": "",
        "version_label": "",
        "correction": None,
        "accepted_at": None,
        "endorsements": 0,
    }
    # A clip's community version is a whole-clip render (``clips.community_renders``), not an
    # accepted keyframe's still; until one has finished, the card shows the clip's draft.
    community = _clip_community_fields(photo) if photo.is_video else _photo_community_fields(photo_id)
    if community:
        fields.update(version=GalleryVersion.COMMUNITY, **community)
    else:
        draft = (
            Draft.objects.filter(photo_id=photo_id, status=DraftStatus.DONE, purpose=DraftPurpose.DRAFT)
            .order_by("-finished_at", "-id")
            .first()
        )
        if draft is not None and draft.thumbnail:
            fields.update(
                version=GalleryVersion.DRAFT, version_thumbnail=draft.thumbnail.name, version_label=draft.label
            )
    fields["comments"] = Comment.objects.filter(
        Q(photo_id=photo_id) | Q(correction__photo_id=photo_id, correction__hidden_at__isnull=True),
        hidden_at__isnull=True,
    ).count()
    entry, _ = GalleryEntry.objects.update_or_create(photo_id=photo_id, defaults=fields)
    return entry


def _photo_community_fields(photo_id: int) -> dict:
    """A photo's card: its accepted correction's thumbnail (or its render's)."""
    accepted = (
        Correction.objects.filter(photo_id=photo_id, status=CorrectionStatus.ACCEPTED, hidden_at__isnull=True)
        .select_related("render")
        .first()
    )
    if accepted is None:
        return {}
    thumbnail = accepted.thumbnail.name or (accepted.render.thumbnail.name if accepted.render_id else "")
    if not thumbnail:
        return {}
    return {
        "version_thumbnail": thumbnail,
        "version_label": f"Community version · {accepted.label}",
        "correction": accepted,
        "accepted_at": accepted.decided_at,
        "endorsements": accepted.votes_up,
    }


def _clip_community_fields(photo: Photo) -> dict:
    """A clip's card: its community render's thumbnail (the first colour frame), labelled as the
    community version with the AI label; the newest accepted keyframe correction and the "for"
    votes of all accepted ones (the render carries them all)."""
    from community.review.clips import community_render, community_version_label

    render = community_render(photo)
    if render is None or not render.thumbnail:
        return {}
    accepted = Correction.objects.filter(
        photo_id=photo.pk, status=CorrectionStatus.ACCEPTED, hidden_at__isnull=True, frame__isnull=False
    ).order_by("-decided_at", "-id")
    newest = accepted.first()
    return {
        "version_thumbnail": render.thumbnail.name,
        "version_label": community_version_label(render),
        "correction": newest,
        "accepted_at": newest.decided_at if newest else None,
        "endorsements": sum(accepted.values_list("votes_up", flat=True)),
    }


def gallery_entry_update(*, photo_id: int | None) -> None:
    """Refresh a photo's entry inside the caller's transaction (it commits or rolls back with it) and
    drop the cached pages that show it, now and after the commit.

    Called by every service that changes what a card shows. A failure is logged, never raised:
    a stale card must not break the write that caused it (the admin's "refresh" action mends it).
    """
    if photo_id is None:
        return
    try:
        with transaction.atomic():
            gallery_entry_refresh(photo_id=photo_id)
    except Exception:
        logger.exception("gallery entry refresh failed for photo %s", photo_id)
    pages_invalidate_on_commit(photo_id=photo_id)
