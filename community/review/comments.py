"""Comments on photos and corrections: plain text (escaped when shown), rate-limited, moderated."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from colorization.compiled_queries import CompiledQuery
from colorization.ratelimit import rate_limit
from community.gallery.entries import gallery_entry_update
from community.models import Comment
from community.review import notifications
from community.review.permissions import is_moderator, require_active

MAX_BODY = 5000


def comment_add(*, author, body: str, photo=None, correction=None) -> Comment:
    """A comment on exactly one photo or correction (the caller checked the author may see it)."""
    require_active(author, "comment")
    if (photo is None) == (correction is None):
        raise ValidationError("A comment belongs to one photo or one correction.")
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    if len(body) > MAX_BODY:
        raise ValidationError({"body": f"The comment is {len(body)} characters; at most {MAX_BODY}."})
    rate_limit(user=author, scope="comment", rate=settings.CHROMA_COMMENT_RATE)
    with transaction.atomic():
        comment = Comment.objects.create(author=author, body=body, photo=photo, correction=correction)
        if correction is not None and correction.author_id != author.pk:
            notifications.notify(
                recipient=correction.author,
                verb="commented",
                text=f"{author.username} commented on your correction {correction.pk}: {body[:200]}",
                url=correction.get_absolute_url() + f"#comment-{comment.pk}",
                correction=correction,
            )
        elif photo is not None and photo.owner_id != author.pk:
            notifications.notify(
                recipient=photo.owner,
                verb="commented",
                text=f"{author.username} commented on your photo “{photo.title}”: {body[:200]}",
                url=photo.get_absolute_url() + f"#comment-{comment.pk}",
            )
        gallery_entry_update(photo_id=photo.pk if photo is not None else correction.photo_id)  # the count
    return comment


def comment_thread(user, *, photo=None, correction=None, profile=None) -> list[Comment]:
    """A photo's or a correction's thread, oldest first: hidden comments only for moderators, staff
    and their own authors. ``profile``: the user's profile if already read (``viewer_profile``).
    One compiled statement of ``_thread``."""
    return _THREAD(
        _reader(user, profile),
        photo_id=photo.pk if photo is not None else None,
        correction_id=correction.pk if correction is not None else None,
        user_id=user.pk,
    )


def _reader(user, profile) -> str:
    """What decides which comments a user reads: "all" (staff, moderators), "member" or "anonymous"."""
    if not user.is_authenticated:
        return "anonymous"
    moderator = profile.is_moderator if profile is not None else is_moderator(user)
    return "all" if user.is_staff or moderator else "member"


def _thread(reader: str, *, photo_id=None, correction_id=None, user_id=None):
    """The one statement of who reads which comments."""
    qs = Comment.objects.select_related("author", "author__profile")
    qs = qs.filter(photo_id=photo_id) if photo_id is not None else qs.filter(correction_id=correction_id)
    if reader == "all":
        return qs
    if reader == "member":
        return qs.filter(Q(hidden_at__isnull=True) | Q(author_id=user_id))
    return qs.filter(hidden_at__isnull=True)


_THREAD = CompiledQuery(Comment, _thread)
