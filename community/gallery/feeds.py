"""Atom feed of changes of community versions: corrections accepted (index correction_decided: status,
-decided_at) and accepted corrections revoked (index revocation_decided: status, -decided_at); and
film clips' AI-colorized renders (issue 19): a clip's draft, and its community version (the community
render that ``clips.community_renders`` names, which carries the accepted keyframe corrections; an
older one leaves the feed when a newer one replaces it, and one carrying a hidden or revoked
correction is never listed). Each has its colour clip as an enclosure (video/mp4, with its length
as recorded when the render finished; left out where it was never measured, as RFC 4287 allows),
marked AI-colorized in its title and category. Nothing of a hidden photo or clip is listed. An
accepted keyframe correction is an entry of its own, without an enclosure (its render is a still)."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Enclosure

from colorization.models import Draft, DraftPurpose, DraftStatus, MediaKind
from community.models import Correction, CorrectionStatus, Revocation, RevocationStatus
from community.review.clips import community_renders, community_version_label

FEED_SIZE = 50


class EnclosureAtomFeed(Atom1Feed):
    """Atom whose enclosure links carry ``length`` only when it is known (optional in RFC 4287
    §4.2.7.6; Django always writes it)."""

    def add_item_elements(self, handler, item):
        enclosures = item.get("enclosures") or []
        super().add_item_elements(handler, {**item, "enclosures": []})
        for enclosure in enclosures:
            attrs = {"rel": "enclosure", "href": enclosure.url, "type": enclosure.mime_type}
            if enclosure.length:
                attrs["length"] = enclosure.length
            handler.addQuickElement("link", "", attrs)


class AcceptedVersionsFeed(Feed):
    feed_type = EnclosureAtomFeed
    title = "Chroma Commons: newly accepted community versions"
    subtitle = (
        "Colour versions of historical photographs that volunteers corrected and reviewers accepted, "
        "accepted versions revoked on new evidence, and film clips newly AI-colorized."
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

        def finished_clip_renders(purpose: str) -> list[Draft]:
            return list(
                Draft.objects.filter(
                    status=DraftStatus.DONE,
                    purpose=purpose,
                    photo__media_kind=MediaKind.VIDEO,
                    photo__hidden_at__isnull=True,
                    finished_at__isnull=False,
                )
                .exclude(video="")
                .select_related("photo")
                .order_by("-finished_at", "-id")[:FEED_SIZE]
            )

        clips = finished_clip_renders(DraftPurpose.DRAFT)
        rendered = finished_clip_renders(DraftPurpose.COMMUNITY)
        current = community_renders({d.photo_id for d in rendered})
        community = [d for d in rendered if d.photo_id in current and current[d.photo_id].pk == d.pk]
        merged = sorted(accepted + revoked + clips + community, key=self.item_pubdate, reverse=True)
        return merged[:FEED_SIZE]

    def item_title(self, item) -> str:
        if isinstance(item, Draft) and item.purpose == DraftPurpose.COMMUNITY:
            return f"{item.photo.title}: film clip's community version (AI-colorized)"
        if isinstance(item, Draft):
            return f"{item.photo.title}: film clip AI-colorized"
        if isinstance(item, Revocation):
            return f"{item.correction.photo.title}: community version revoked"
        return f"{item.photo.title}: community version accepted"

    def item_description(self, item) -> str:
        if isinstance(item, Draft) and item.purpose == DraftPurpose.COMMUNITY:
            photo = item.photo
            keyframes = ", ".join(str(k + 1) for k in sorted(item.keyframe_hints))
            return (
                f"The film clip ({photo.frame_count} frames, {photo.duration_seconds or 0:.1f} s) rendered again "
                f"with the volunteers' accepted corrections of keyframes {keyframes}, each carried through its "
                f"shot: {community_version_label(item)}. The colour clip carries the AI disclosure in its "
                "metadata; the original film is on the clip's page, untouched."
            )
        if isinstance(item, Draft):
            photo = item.photo
            return (
                f"A film clip ({photo.frame_count} frames, {photo.duration_seconds or 0:.1f} s) colorized by the AI: "
                f"{item.label}. The colour clip carries the AI disclosure in its metadata; the original film "
                "is on the clip's page, untouched."
            )
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
        if isinstance(item, Draft):
            return item.photo.get_absolute_url()
        if isinstance(item, Revocation):
            return item.get_absolute_url()
        return item.photo.get_absolute_url()

    def item_guid(self, item) -> str:
        # An absolute IRI (RFC 4287 §4.2.6), stable across domain moves: a tag URI (RFC 4151)
        # minted from the host and the day the correction was accepted (or revoked).
        host = self.request.get_host().split(":")[0] if getattr(self, "request", None) else "chroma-commons"
        if isinstance(item, Draft) and item.purpose == DraftPurpose.COMMUNITY:
            return f"tag:{host},{item.finished_at:%Y-%m-%d}:clip-community-render-{item.pk}"
        if isinstance(item, Draft):  # a clip's AI render: the day it finished
            return f"tag:{host},{item.finished_at:%Y-%m-%d}:clip-draft-{item.pk}-colorized"
        day = (item.decided_at or item.created_at).strftime("%Y-%m-%d")
        if isinstance(item, Revocation):
            return f"tag:{host},{day}:correction-{item.correction_id}-revoked"
        return f"tag:{host},{day}:correction-{item.pk}-accepted"

    def item_guid_is_permalink(self, item) -> bool:
        return False

    def item_pubdate(self, item):
        return item.finished_at if isinstance(item, Draft) else item.decided_at

    def item_updateddate(self, item):
        return self.item_pubdate(item)

    def item_enclosures(self, item) -> list[Enclosure]:
        """A clip render's colour clip, with the size recorded when it finished (no storage request)."""
        if not isinstance(item, Draft):
            return []
        url = default_storage.url(item.video.name)
        url = url if url.startswith("http") else self.request.build_absolute_uri(url)
        length = str(item.video_bytes) if item.video_bytes is not None else ""
        return [Enclosure(url, length, "video/mp4")]

    def item_categories(self, item) -> list[str]:
        if isinstance(item, Draft) and item.purpose == DraftPurpose.COMMUNITY:
            return ["AI-colorized", "film", "community version"]
        if isinstance(item, Draft):
            return ["AI-colorized", "film"]
        return []

    def item_author_name(self, item) -> str:
        if isinstance(item, Draft):
            return "Chroma Commons AI"
        return (item.correction if isinstance(item, Revocation) else item).author.username

    def item_author_link(self, item) -> str | None:
        if isinstance(item, Draft):
            return None
        return self.request.build_absolute_uri(reverse("profile", args=[self.item_author_name(item)]))
