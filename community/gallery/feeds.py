"""Atom feed of newly accepted community versions (index correction_decided: status, -decided_at)."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from community.models import Correction, CorrectionStatus

FEED_SIZE = 50


class AcceptedVersionsFeed(Feed):
    feed_type = Atom1Feed
    title = "Chroma Commons: newly accepted community versions"
    subtitle = "Colour versions of historical photographs that volunteers corrected and reviewers accepted."

    def get_object(self, request, *args, **kwargs):
        self.request = request  # one Feed instance per request (see accepted_feed)
        return None

    def link(self):
        return reverse("gallery") + "?sort=newest"

    def items(self):
        return (
            Correction.objects.filter(
                status=CorrectionStatus.ACCEPTED, hidden_at__isnull=True, photo__hidden_at__isnull=True
            )
            .select_related("photo", "author", "render")
            .order_by("-decided_at", "-id")[:FEED_SIZE]
        )

    def item_title(self, item: Correction) -> str:
        return f"{item.photo.title}: community version accepted"

    def item_description(self, item: Correction) -> str:
        parts = [
            f"Correction {item.pk} by {item.author.username} ({item.votes_up} for, {item.votes_down} against).",
            item.label + ".",
        ]
        if item.note:
            parts.append(f"Note: {item.note}")
        return " ".join(parts)

    def item_link(self, item: Correction) -> str:
        return item.photo.get_absolute_url()

    def item_guid(self, item: Correction) -> str:
        # An absolute IRI (RFC 4287 §4.2.6), stable across domain moves: a tag URI (RFC 4151)
        # minted from the host and the day the correction was accepted.
        host = self.request.get_host().split(":")[0] if getattr(self, "request", None) else "chroma-commons"
        day = (item.decided_at or item.created_at).strftime("%Y-%m-%d")
        return f"tag:{host},{day}:correction-{item.pk}-accepted"

    def item_guid_is_permalink(self, item: Correction) -> bool:
        return False

    def item_pubdate(self, item: Correction):
        return item.decided_at

    def item_updateddate(self, item: Correction):
        return item.decided_at

    def item_author_name(self, item: Correction) -> str:
        return item.author.username

    def item_author_link(self, item: Correction) -> str:
        return self.request.build_absolute_uri(reverse("profile", args=[item.author.username]))
