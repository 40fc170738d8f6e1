"""Comments on photos and corrections: plain text (escaped when shown), rate-limited, moderated."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

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


def comments_visible_to(user, *, photo=None, correction=None, profile=None):
    """A thread, oldest first: hidden comments only for moderators and their own authors.

    ``profile``: the user's profile if already read (a page's ``viewer_profile``)."""
    qs = Comment.objects.select_related("author", "author__profile")
    qs = qs.filter(photo=photo) if photo is not None else qs.filter(correction=correction)
    moderator = user.is_authenticated and (profile.is_moderator if profile is not None else is_moderator(user))
    if user.is_authenticated and (user.is_staff or moderator):
        return qs
    if user.is_authenticated:
        return qs.filter(Q(hidden_at__isnull=True) | Q(author=user))
    return qs.filter(hidden_at__isnull=True)
