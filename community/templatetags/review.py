"""Template helpers of the review work: the unread count in the navigation, vote badges."""

from django import template

from community.review import notifications, permissions

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
    from community.review.comments import comments_visible_to

    request = context.get("request")
    return list(comments_visible_to(request.user, photo=photo))


@register.simple_tag(takes_context=True)
def is_moderator(context) -> bool:
    request = context.get("request")
    return permissions.is_moderator(getattr(request, "user", None))
