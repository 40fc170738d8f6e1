"""Atom feed of changes of community versions: corrections accepted (index correction_decided: status,
-decided_at) and accepted corrections revoked (index revocation_decided: status, -decided_at)."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from community.models import Correction, CorrectionStatus, Revocation, RevocationStatus

FEED_SIZE = 50


class AcceptedVersionsFeed(Feed):
    feed_type = Atom1Feed
    title = "Chroma Commons: newly accepted community versions"
    subtitle = (
        "Colour versions of historical photographs that volunteers corrected and reviewers accepted, "
        "and accepted versions revoked on new evidence."
    )

    def get_object(self, request, *args, **kwargs):
        self.request = request  # one Feed instance per request (see accepted_feed)
        return None

    def link(self):
        return reverse("gallery") + "?sort=newest"

    def items(self):
        accepted = list(
            Correction.objects.filter(
                status=CorrectionStatus.ACCEPTED, hidden_at__isnull=True, photo__hidden_at__isnull=True
            )
            .select_related("photo", "author", "render")
            .order_by("-decided_at", "-id")[:FEED_SIZE]
        )
        revoked = list(
            Revocation.objects.filter(
                status=RevocationStatus.REVOKED,
                correction__hidden_at__isnull=True,
                correction__photo__hidden_at__isnull=True,
            )
            .select_related("correction", "correction__photo", "correction__author", "decided_by", "restored")
            .order_by("-decided_at", "-id")[:FEED_SIZE]
        )
        merged = sorted(accepted + revoked, key=lambda item: item.decided_at, reverse=True)
        return merged[:FEED_SIZE]

    def item_title(self, item) -> str:
        if isinstance(item, Revocation):
            return f"{item.correction.photo.title}: community version revoked"
        return f"{item.photo.title}: community version accepted"

    def item_description(self, item) -> str:
        if isinstance(item, Revocation):
            by = f"moderator {item.decided_by.username}" if item.decided_by_id else "community vote"
            if item.restored_public_id:
                restored = f"Correction {item.restored_public_id} is the community version again."
            elif item.restored_id:
                restored = "An earlier version (since hidden by a moderator) was the community version again."
            else:
                restored = "The photo has no community version now."
            return f"Correction {item.correction_id} was revoked by {by}. Reason: {item.reason} {restored}"
        parts = [
            f"Correction {item.pk} by {item.author.username} ({item.votes_up} for, {item.votes_down} against).",
            item.label + ".",
        ]
        if item.note:
            parts.append(f"Note: {item.note}")
        return " ".join(parts)

    def item_link(self, item) -> str:
        if isinstance(item, Revocation):
            return item.get_absolute_url()
        return item.photo.get_absolute_url()

    def item_guid(self, item) -> str:
        # An absolute IRI (RFC 4287 §4.2.6), stable across domain moves: a tag URI (RFC 4151)
        # minted from the host and the day the correction was accepted (or revoked).
        host = self.request.get_host().split(":")[0] if getattr(self, "request", None) else "chroma-commons"
        day = (item.decided_at or item.created_at).strftime("%Y-%m-%d")
        if isinstance(item, Revocation):
            return f"tag:{host},{day}:correction-{item.correction_id}-revoked"
        return f"tag:{host},{day}:correction-{item.pk}-accepted"

    def item_guid_is_permalink(self, item) -> bool:
        return False

    def item_pubdate(self, item):
        return item.decided_at

    def item_updateddate(self, item):
        return item.decided_at

    def item_author_name(self, item) -> str:
        return (item.correction if isinstance(item, Revocation) else item).author.username

    def item_author_link(self, item) -> str:
        return self.request.build_absolute_uri(reverse("profile", args=[self.item_author_name(item)]))
