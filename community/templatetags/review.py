"""Template helpers of the review work: the unread count in the navigation, vote badges."""

from django import template

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
    from community.review.comments import comments_visible_to

    request = context.get("request")
    return list(comments_visible_to(request.user, photo=photo))


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
