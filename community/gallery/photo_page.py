"""The photo page: the original and its colour versions, the version timeline, provenance, downloads."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404
from PIL import Image

from colorization import credentials
from colorization.compiled_queries import CompiledQuery
from colorization.engine.imageio import encode, read_disclosure
from colorization.models import Draft, DraftStatus, Licence, Photo, role_viewer, viewer_role
from community.gallery.iiif import licence_uri
from community.models import Correction, CorrectionKind, CorrectionStatus, Vote

IN_PROGRESS = (DraftStatus.QUEUED, DraftStatus.RUNNING)
logger = logging.getLogger(__name__)


def page_photo(user, pk: int) -> Photo:
    """The photo of a page if the user may see it (else 404), with its owner, and for a signed-in
    viewer ``my_hidden_correction``: whether a hidden correction of theirs is on it (it decides
    whether the page's shared fragments are theirs to read). One compiled statement."""
    photo = _PAGE_PHOTO.first(viewer_role(user), pk=pk, user_id=user.pk)
    if photo is None:
        raise Http404("No such photo.")
    return photo


def _page_photo(role: str, *, pk: int, user_id: int | None = None):
    photos = Photo.objects.visible_to(role_viewer(role, user_id)).select_related("owner")
    if role != "anonymous":
        mine = Correction.objects.filter(photo=OuterRef("pk"), author_id=user_id, hidden_at__isnull=False)
        photos = photos.annotate(my_hidden_correction=Exists(mine))
    return photos.filter(pk=pk)


_PAGE_PHOTO = CompiledQuery(Photo, _page_photo)


def draft_states(photo: Photo) -> list[tuple[int, str]]:
    """Each of the photo's drafts (AI drafts, renders of corrections, community renders) as
    (id, status), oldest first: what the page's fragments are keyed by. One compiled statement."""
    return _DRAFT_STATES(photo_id=photo.pk)


_DRAFT_STATES = CompiledQuery(
    Draft, lambda _, *, photo_id: Draft.objects.filter(photo_id=photo_id).order_by("pk").values_list("pk", "status")
)


def visible_corrections(user, photo: Photo):
    return (
        Correction.objects.visible_to(user)
        .filter(photo=photo)
        .select_related("author", "render", "base_draft", "base_correction", "base_correction__render", "decided_by")
        .prefetch_related(
            "evidence",
            Prefetch("votes", queryset=Vote.objects.select_related("voter").prefetch_related("evidence")),
        )
    )


@dataclass
class ShownVersion:
    """The colour version the page shows first: the community version, else the newest draft."""

    what: str  # "community" | "draft"
    image: object  # a FieldFile (PNG with the disclosure)
    image_jpeg: object | None
    label: str
    correction: Correction | None = None
    draft: Draft | None = None

    @property
    def description(self) -> str:
        return "the community version" if self.what == "community" else "the newest AI draft"


def shown_version(drafts: list[Draft], corrections: list[Correction]) -> ShownVersion | None:
    community = next((c for c in corrections if c.status == CorrectionStatus.ACCEPTED), None)
    if community is not None and community.result_file:
        jpeg = community.render.image_jpeg if community.render_id and community.render.image_jpeg else None
        return ShownVersion("community", community.result_file, jpeg, community.label, correction=community)
    newest = next((d for d in drafts if d.status == DraftStatus.DONE and d.image), None)
    if newest is not None:
        return ShownVersion("draft", newest.image, newest.image_jpeg or None, newest.label, draft=newest)
    return None


@dataclass
class TimelineEvent:
    at: datetime
    kind: str  # uploaded | draft | draft_failed | correction | vote | decision
    actor: object | None  # a User, or None for the system
    title: str
    text: str = ""
    evidence: tuple = ()
    value: int | None = None
    correction: Correction | None = None
    draft: Draft | None = None


def timeline(photo: Photo, drafts: list[Draft], corrections: list[Correction]) -> list[TimelineEvent]:
    """Everything that happened to the photo's colours, oldest first (all from prefetched rows)."""
    events = [TimelineEvent(photo.created_at, "uploaded", photo.owner, "Original uploaded")]
    for draft in drafts:
        if draft.status == DraftStatus.DONE:
            events.append(
                TimelineEvent(
                    draft.finished_at or draft.created_at,
                    "draft",
                    None,
                    f"AI draft {draft.pk} by model {draft.model_slug} v{draft.model_version}",
                    f"Render {draft.render_size} px, saturation {draft.saturation:.1f}"
                    + (f", {draft.duration_ms} ms on {draft.device}" if draft.duration_ms else ""),
                    draft=draft,
                )
            )
        elif draft.status == DraftStatus.FAILED:
            events.append(
                TimelineEvent(
                    draft.finished_at or draft.created_at,
                    "draft_failed",
                    None,
                    f"AI draft {draft.pk} failed",
                    draft.error,
                    draft=draft,
                )
            )
    for correction in corrections:
        base = (
            f"draft {correction.base_draft_id}"
            if correction.base_draft_id
            else f"correction {correction.base_correction_id}"
            if correction.base_correction_id
            else "the original"
        )
        events.append(
            TimelineEvent(
                correction.created_at,
                "correction",
                correction.author,
                f"Correction {correction.pk} ({correction.get_kind_display().lower()}) on {base}",
                correction.note,
                tuple(correction.evidence.all()),
                correction=correction,
            )
        )
        for vote in correction.votes.all():
            events.append(
                TimelineEvent(
                    vote.created_at,
                    "vote",
                    vote.voter,
                    f"{'For' if vote.value > 0 else 'Against'} correction {correction.pk}"
                    + (" (historian)" if vote.is_historian else ""),
                    vote.comment,
                    tuple(vote.evidence.all()),
                    value=vote.value,
                    correction=correction,
                )
            )
        if correction.decided_at and correction.status != CorrectionStatus.PENDING:
            who = "a moderator" if correction.decided_by_id else "the vote rule"
            # A superseded correction was the community version until a newer one was accepted.
            outcome = {
                CorrectionStatus.SUPERSEDED: "accepted (later superseded)",
                CorrectionStatus.REVOKED: "accepted (later revoked; see the correction's page)",
            }.get(correction.status, correction.status)
            events.append(
                TimelineEvent(
                    correction.decided_at,
                    "decision",
                    correction.decided_by,
                    f"Correction {correction.pk} {outcome} by {who}"
                    f" ({correction.votes_up} for, {correction.votes_down} against)",
                    correction.decision_reason,
                    correction=correction,
                )
            )
    events.sort(key=lambda e: e.at)
    return events


def _absolute(request, url: str) -> str:
    return url if url.startswith(("http://", "https://")) else request.build_absolute_uri(url)


def linked_data(request, photo: Photo, shown: ShownVersion | None, provenance=None) -> str:
    """schema.org Photograph with Dublin Core terms, as JSON-LD for the page's <head>."""
    page = request.build_absolute_uri(photo.get_absolute_url())
    data = {
        "@context": {
            "@vocab": "https://schema.org/",
            "dc": "http://purl.org/dc/elements/1.1/",
            "dcterms": "http://purl.org/dc/terms/",
        },
        "@type": "Photograph",
        "@id": page,
        "url": page,
        "name": photo.title,
        "dc:title": photo.title,
        "description": photo.description or None,
        "dc:description": photo.description or None,
        "dateCreated": photo.era if photo.year_from or photo.year_to else None,
        "dc:date": (
            f"{photo.year_from}/{photo.year_to}"
            if photo.year_from and photo.year_to and photo.year_from != photo.year_to
            else str(photo.year_from or photo.year_to)
            if (photo.year_from or photo.year_to)
            else None
        ),
        "genre": photo.genre,
        "dc:type": "StillImage",
        "contentLocation": {"@type": "Place", "name": photo.place} if photo.place else None,
        "dc:coverage": photo.place or None,
        "dc:source": " · ".join(p for p in (photo.source_archive, photo.source_reference) if p) or None,
        "isBasedOn": photo.source_reference if photo.source_reference.startswith("http") else None,
        "provider": {"@type": "Organization", "name": photo.source_archive} if photo.source_archive else None,
        "license": licence_uri(photo.licence),
        "dc:rights": Licence(photo.licence).label,
        "creditText": photo.credit_line or None,
        "copyrightNotice": photo.credit_line or None,
        "dc:identifier": f"sha256:{photo.original_sha256}",
        "image": {
            "@type": "ImageObject",
            "contentUrl": _absolute(request, photo.original.url),
            "encodingFormat": Image.MIME.get(photo.image_format.upper(), "application/octet-stream"),
            "width": photo.width,
            "height": photo.height,
            "sha256": photo.original_sha256,
            "description": "The original upload, untouched",
        },
        "workExample": (
            {
                "@type": "ImageObject",
                "contentUrl": _absolute(request, shown.image.url),
                "encodingFormat": "image/png",
                "description": shown.label,
                "digitalSourceType": "https://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
                **(
                    {
                        "dcterms:provenance": f"Colours: {provenance.text}",
                        "additionalProperty": [
                            {"@type": "PropertyValue", "name": f"{key} share of the colours", "value": value}
                            for key, value in provenance.shares.items()
                        ],
                    }
                    if provenance
                    else {}
                ),
            }
            if shown
            else None
        ),
    }
    clean = {k: v for k, v in data.items() if v is not None}
    # </script> cannot appear inside the JSON: escape the characters HTML would react to.
    return json.dumps(clean, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --- downloads ----------------------------------------------------------------------------------------


def community_jpeg_key(correction: Correction) -> str:
    return f"corrections/{correction.photo_id}/community-{correction.pk}.jpg"


def community_jpeg(correction: Correction) -> str:
    """A JPEG of a community version with the same disclosure as its PNG (made once, then kept).

    Hint corrections are rendered by the worker in both formats; a manual colorization is stored
    as PNG only, so its JPEG is encoded here from that PNG, carrying the PNG's disclosure fields.
    """
    if correction.kind == CorrectionKind.HINTS and correction.render_id and correction.render.image_jpeg:
        return correction.render.image_jpeg.name
    key = community_jpeg_key(correction)
    if default_storage.exists(key):
        return key
    with default_storage.open(correction.result_file.name, "rb") as fh:
        data = fh.read()
    disclosure = read_disclosure(data)
    metadata = {
        k: v
        for k, v in disclosure.items()
        if k not in ("digital_source_type", "text_description") and v not in (None, "")
    }
    metadata.setdefault("original_sha256", correction.photo.original_sha256)
    metadata.setdefault("description", "Colour version by Chroma Commons volunteers; the colours are an estimate.")
    metadata["correction"] = correction.pk
    with Image.open(io.BytesIO(data)) as im:
        rgb = np.asarray(im.convert("RGB"))
    default_storage.save(key, ContentFile(encode(rgb, "jpeg", metadata)))
    return key


# --- content credentials (C2PA) --------------------------------------------------------------------------


def colour_claims(request, photo: Photo, *, correction: Correction | None = None, draft: Draft | None = None):
    """What a colour file's C2PA manifest asserts: model, original, and the contributors of the
    corrections that made its colours (the correction and those it builds on) that the community
    accepted (accepted or since superseded) and that are not hidden. A correction that is not the
    accepted community version states its review status."""
    contributors: list[str] = []
    model_slug = model_version = status = ""
    manual = False
    if correction is not None:
        node, seen = correction, set()
        while node is not None and node.pk not in seen and len(seen) < 20:
            seen.add(node.pk)
            credited = node.status in (CorrectionStatus.ACCEPTED, CorrectionStatus.SUPERSEDED)
            if credited and node.hidden_at is None and node.author.username not in contributors:
                contributors.append(node.author.username)
            node = node.base_correction
        if correction.status != CorrectionStatus.ACCEPTED:
            status = f"correction {correction.pk}, {correction.get_status_display().lower()}: not the community version"
        manual = correction.kind == CorrectionKind.MANUAL
        if correction.render_id:
            model_slug, model_version = correction.render.model_slug, str(correction.render.model_version)
        label = correction.label
    else:
        model_slug, model_version, label = draft.model_slug, str(draft.model_version), draft.label
    return credentials.Claims(
        title=photo.title,
        original_sha256=photo.original_sha256,
        original_format=photo.image_format,
        model_slug=model_slug,
        model_version=model_version,
        contributors=tuple(contributors),
        manual=manual,
        label=label,
        page_url=request.build_absolute_uri(photo.get_absolute_url()),
        status=status,
    )


# After a signing failure the file is served without credentials for this long before signing is
# tried again, so a broken signer or storage does not cost every page view and download a retry.
SIGNING_FAILURE_SECONDS = 60


def with_credentials(image_key: str, fmt: str, claims) -> tuple[str, credentials.Report]:
    """The signed copy of a colour file and its read-back report; the unsigned file if signing fails
    (and, for ``SIGNING_FAILURE_SECONDS``, without trying again)."""
    marker = "c2pa-failed:" + hashlib.sha256(f"{image_key}\n{fmt}".encode()).hexdigest()[:32]
    if _cache_call(cache.get, marker):
        return image_key, credentials.Report(state="unavailable")
    try:
        return credentials.signed_copy(image_key, fmt, claims)
    except Exception:
        logger.exception("content credentials for %s failed; serving it without", image_key)
        _cache_call(cache.set, marker, True, SIGNING_FAILURE_SECONDS)
        return image_key, credentials.Report(state="unavailable")


def _cache_call(method, *args):
    """The cache is an optimisation here: if it fails, carry on as if it had nothing."""
    try:
        return method(*args)
    except Exception:
        logger.warning("cache unavailable for the content-credentials failure marker", exc_info=True)
        return None
