"""A photo's colour history as versions: what the IIIF manifest, the exports and the Atom feed report.

Version 1 is the photo as uploaded (with its AI draft, if any). Every change of the community
version adds a version: a correction accepted (replacing the previous one, if any) or a
correction revoked (restoring the one it had replaced, if any). The list is derived from the
corrections' decisions and the revocations, so it cannot drift from them: two queries for any
number of photos. Gold-standard corrections (scored, never the community version) are left out.
A correction hidden by a moderator keeps its entries, so the version numbers never change, but
they are redacted: no number, author or reason, and other entries do not name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from community.models import Correction, CorrectionStatus, Revocation, RevocationStatus

# Statuses of corrections that were the community version at some point.
WAS_ACCEPTED = [CorrectionStatus.ACCEPTED, CorrectionStatus.SUPERSEDED, CorrectionStatus.REVOKED]


@dataclass(frozen=True)
class Change:
    version: int
    at: datetime
    kind: str  # "accepted" | "revoked"
    correction_id: int | None  # None when the correction is hidden (the entry is redacted)
    text: str

    def as_dict(self) -> dict:
        return {
            "version": self.version,
            "date": self.at.isoformat(),
            "change": self.kind,
            "correction_id": self.correction_id,
            "text": self.text,
        }


def photo_changelogs(photo_ids: list[int]) -> dict[int, list[Change]]:
    """photo id -> its changes, oldest first, numbered from version 2 (version 1 is the upload)."""
    events: dict[int, list[tuple[datetime, int, str, int, int | None, str]]] = {}
    accepted = list(
        Correction.objects.filter(
            photo_id__in=photo_ids,
            status__in=WAS_ACCEPTED,
            decided_at__isnull=False,
            is_gold=False,
        )
        .select_related("author")
        .only("pk", "photo_id", "decided_at", "replaced_id", "hidden_at", "author__username")
    )
    hidden = {c.pk for c in accepted if c.hidden_at is not None}

    def name(pk: int | None) -> str:
        return "an earlier version (since hidden by a moderator)" if pk in hidden else f"correction {pk}"

    for c in accepted:
        if c.pk in hidden:
            text = "A correction, since hidden by a moderator, was accepted as the community version"
        else:
            text = f"Correction {c.pk} by {c.author.username} accepted as the community version"
        if c.replaced_id:
            text += f", replacing {name(c.replaced_id)}"
        shown = None if c.pk in hidden else c.pk
        events.setdefault(c.photo_id, []).append((c.decided_at, 0, "accepted", c.pk, shown, text + "."))
    revoked = (
        Revocation.objects.filter(correction__photo_id__in=photo_ids, status=RevocationStatus.REVOKED)
        .select_related("correction", "decided_by")
        .only("pk", "decided_at", "reason", "restored_id", "correction__photo_id", "decided_by__username")
    )
    for r in revoked:
        by = f"by moderator {r.decided_by.username}" if r.decided_by_id else "by community vote"
        if r.correction_id in hidden:
            text = f"A correction, since hidden by a moderator, was revoked {by}."
        else:
            text = f"Correction {r.correction_id} revoked {by}: {r.reason}"
        text += (
            f" {name(r.restored_id)[0].upper()}{name(r.restored_id)[1:]} is the community version again."
            if r.restored_id
            else " The photo has no community version now."
        )
        shown = None if r.correction_id in hidden else r.correction_id
        events.setdefault(r.correction.photo_id, []).append((r.decided_at, 1, "revoked", r.correction_id, shown, text))
    out: dict[int, list[Change]] = {}
    for photo_id, items in events.items():
        items.sort(key=lambda e: (e[0], e[1], e[3]))
        out[photo_id] = [
            Change(version=i + 2, at=at, kind=kind, correction_id=shown, text=text)
            for i, (at, _, kind, _pk, shown, text) in enumerate(items)
        ]
    return out


def version_of(changes: list[Change]) -> int:
    return changes[-1].version if changes else 1
