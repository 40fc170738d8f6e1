"""CSV and JSON exports of a collection: each photo's metadata, provenance and the decisions on its colours."""

from __future__ import annotations

from django.db.models import Prefetch
from django.urls import reverse

from colorization.models import Licence
from community.gallery.changelog import photo_changelogs, version_of
from community.gallery.collections import collection_photos
from community.gallery.iiif import colour_provenance_text, colour_versions, licence_uri
from community.models import Correction, CorrectionStatus, Revocation, RevocationStatus, Vote

CSV_COLUMNS = [
    "position",
    "photo_id",
    "title",
    "description",
    "year_from",
    "year_to",
    "era",
    "genre",
    "place",
    "source_archive",
    "source_reference",
    "licence",
    "licence_uri",
    "credit_line",
    "original_sha256",
    "width",
    "height",
    "page_url",
    "manifest_url",
    "colour_version",
    "community_correction_id",
    "community_correction_author",
    "accepted_at",
    "accepted_by",
    "votes_for",
    "votes_against",
    "historian_votes",
    "decision_reason",
    "evidence",
    "decisions",
    "version",
    "changelog",
    "colour_provenance",
]


def _decisions(request, photo_ids: list[int]) -> dict[int, list[dict]]:
    """Every decided, visible correction of these photos with its evidence and revocation (4 queries)."""
    corrections = (
        Correction.objects.filter(
            photo_id__in=photo_ids,
            status__in=[
                CorrectionStatus.ACCEPTED,
                CorrectionStatus.REJECTED,
                CorrectionStatus.SUPERSEDED,
                CorrectionStatus.REVOKED,
            ],
            hidden_at__isnull=True,
        )
        .select_related("author", "decided_by")
        .prefetch_related(
            "evidence",
            Prefetch("votes", queryset=Vote.objects.only("correction_id", "is_historian")),
            Prefetch(
                "revocations",
                queryset=Revocation.objects.filter(status=RevocationStatus.REVOKED).select_related("decided_by"),
                to_attr="revoked",
            ),
        )
        .order_by("photo_id", "decided_at", "id")
    )
    out: dict[int, list[dict]] = {}
    for c in corrections:
        out.setdefault(c.photo_id, []).append(
            {
                "correction_id": c.pk,
                "url": request.build_absolute_uri(reverse("correction-detail", args=[c.pk])),
                "status": c.status,
                "kind": c.kind,
                "author": c.author.username,
                "note": c.note,
                "submitted_at": c.created_at.isoformat(),
                "decided_at": c.decided_at.isoformat() if c.decided_at else None,
                "decided_by": c.decided_by.username if c.decided_by_id else "vote rule",
                "reason": c.decision_reason,
                "votes_for": c.votes_up,
                "votes_against": c.votes_down,
                "historian_votes": c.historian_votes,
                "evidence": [
                    {"text": e.text, "url": e.url, "archive_reference": e.archive_reference} for e in c.evidence.all()
                ],
                "label": c.label,
                "revocation": _revocation(c.revoked[0]) if c.revoked else None,
            }
        )
    return out


def _revocation(r: Revocation) -> dict:
    return {
        "revoked_at": r.decided_at.isoformat() if r.decided_at else None,
        "revoked_by": r.decided_by.username if r.decided_by_id else "vote rule",
        "reason": r.reason,
        "evidence": r.evidence,
        "restored_correction_id": r.restored_public_id,
        "votes_for": r.votes_up,
        "votes_against": r.votes_down,
        "historian_votes": r.historian_votes,
    }


def collection_records(request, collection) -> list[dict]:
    photos = collection_photos(request, collection)
    ids = [p.pk for p in photos]
    decisions = _decisions(request, ids)
    colours = colour_versions(ids)
    changelogs = photo_changelogs(ids)
    shares = colour_provenance_text(ids)
    records = []
    for photo in photos:
        photo_decisions = decisions.get(photo.pk, [])
        accepted = next((d for d in photo_decisions if d["status"] == CorrectionStatus.ACCEPTED), None)
        entry = getattr(photo, "gallery_entry", None)
        records.append(
            {
                "position": photo.position,
                "photo_id": photo.pk,
                "title": photo.title,
                "description": photo.description,
                "year_from": photo.year_from,
                "year_to": photo.year_to,
                "era": photo.era,
                "genre": photo.genre,
                "place": photo.place,
                "source_archive": photo.source_archive,
                "source_reference": photo.source_reference,
                "licence": Licence(photo.licence).label,
                "licence_uri": licence_uri(photo.licence),
                "credit_line": photo.credit_line,
                "original_sha256": photo.original_sha256,
                "width": photo.width,
                "height": photo.height,
                "page_url": request.build_absolute_uri(photo.get_absolute_url()),
                "manifest_url": request.build_absolute_uri(reverse("iiif-photo-manifest", args=[photo.pk])),
                "colour_version": ("community" if accepted else "draft" if photo.pk in colours else "none")
                if entry is None
                else entry.version,
                "colour_label": colours[photo.pk][1] if photo.pk in colours else "",
                "community_correction": accepted,
                "decisions": photo_decisions,
                "curator_note": photo.note,
                "version": version_of(changelogs.get(photo.pk, [])),
                "changelog": [c.as_dict() for c in changelogs.get(photo.pk, [])],
                "colour_provenance": shares.get(photo.pk, ""),
            }
        )
    return records
