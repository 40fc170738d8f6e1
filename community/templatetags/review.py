"""Template helpers of the review work: the unread count in the navigation, vote badges, the
review queue's items."""

import functools
from html import escape

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import get_script_prefix, reverse
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from community.review import notifications

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None:
        return 0
    cached = getattr(request, "_unread_notifications", None)
    if cached is None:
        cached = notifications.unread_count(user)
        request._unread_notifications = cached
    return cached


@register.filter
def percent(value) -> str:
    try:
        return f"{float(value) * 100:.0f}%"
    except (TypeError, ValueError):
        return ""


@register.simple_tag(takes_context=True)
def photo_comments(context, photo):
    """The photo's comment thread as the current user may see it."""
    from community.accounts.services import viewer_profile
    from community.review.comments import comment_thread

    request = context.get("request")
    return comment_thread(request.user, photo=photo, profile=viewer_profile(request))


@register.simple_tag(takes_context=True)
def is_moderator(context) -> bool:
    from community.accounts.services import viewer_profile

    profile = viewer_profile(context.get("request"))
    return profile is not None and profile.is_moderator


@register.filter
def overall_colour(hints) -> dict | None:
    """A correction's global colour hint (the hints document's "global" member), ready to show:
    swatches with their share in percent, or a tint, the saturation, and where it came from."""
    member = hints.get("global") if isinstance(hints, dict) else None
    if not isinstance(member, dict):
        return None
    out: dict = {"saturation": member.get("saturation", 1.0)}
    if "tint" in member:
        out["tint"] = {"color": member["tint"]["color"], "percent": round(100 * member["tint"]["strength"])}
    else:
        total = sum(p["weight"] for p in member.get("palette", [])) or 1
        out["swatches"] = [
            {"color": p["color"], "percent": round(100 * p["weight"] / total)} for p in member.get("palette", [])
        ]
    source = member.get("source") or {}
    if source.get("kind") == "reference":
        region = " (a region of it)" if source.get("box") else ""
        name = source.get("name", "unnamed")
        out["source"] = f"the palette of a reference photograph, “{name}”{region}; the file itself was not uploaded"
    elif source.get("kind") == "suggestions":
        out["source"] = "the model's suggested colours"
    elif source.get("kind") == "palette":
        out["source"] = "a palette chosen by hand"
    elif source.get("kind") == "tint" or "tint" in member:
        out["source"] = "a tint"
    return out


@functools.lru_cache(maxsize=16)
def _id_url(name: str, prefix: str) -> tuple[str, str]:
    """The parts of ``reverse(name, args=[id])`` around the id, reversed once per process and script
    prefix (a reverse() per item cost as much as the rest of the item)."""
    marker = 918273645
    before, _, after = reverse(name, args=[marker]).partition(str(marker))
    return escape(before), escape(after)


def _queue_item(correction, url: tuple[str, str]) -> str:
    pk, title = correction.pk, escape(correction.photo_title)
    if correction.thumbnail:
        src = escape(correction.thumbnail_url)
        image = f'<img src="{src}" alt="Correction {pk} of {title}" loading="lazy" width="160">'
    elif correction.render_thumbnail:
        src = escape(correction.render_thumbnail_url)
        image = (
            f'<img src="{src}" alt="Correction {pk} of {title} (AI-colorized with hints)" loading="lazy" width="160">'
        )
    else:
        image = ""
    note = correction.note
    if len(note) > 200:  # shorter notes are never cut (Truncator counts characters, combining ones aside)
        note = Truncator(note).chars(200)
    no_historian = "" if correction.historian_votes else " · <strong>no historian has voted yet</strong>"
    return (
        f'<li class="review-queue-item">{image}<div>'
        f'<h2 class="card-title"><a href="{url[0]}{pk}{url[1]}">{title} — correction {pk}</a></h2>'
        f'<p class="card-meta">by {escape(correction.author_username)}, {escape(naturaltime(correction.created_at))}'
        f" · {int(correction.votes_up)} for, {int(correction.votes_down)} against{no_historian}</p>"
        f'<p class="ai-label ai-label-small">{escape(correction.label)}</p>'
        + (f"<p>{escape(note)}</p>" if note else "")
        + "</div></li>"
    )


@register.simple_tag
def review_queue_items(corrections) -> str:
    """The review queue's items (one ``<li>`` each, from ``queues.needs_review``'s ``QueueItem`` rows), built in
    Python: the queue is per person (never a shared fragment) and up to 50 items long, where the
    template language cost ~0.25 ms an item against a few hundredths here (issue 25). The markup a
    template would give; every value that comes from people is escaped (``html.escape``, as
    Django's ``escape``)."""
    url = _id_url("correction-detail", get_script_prefix())
    return mark_safe("\n".join(_queue_item(c, url) for c in corrections))  # every value escaped in _queue_item
