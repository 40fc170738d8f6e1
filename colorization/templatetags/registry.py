"""Template tags for the model registry (the photo page's "which model made this" panel)."""

from __future__ import annotations

import logging

from django import template

from colorization.model_registry import UnknownModel, route_model
from colorization.models import ColorModel

register = template.Library()
logger = logging.getLogger(__name__)


@register.simple_tag
def photo_models(photo, drafts) -> dict:
    """{"used": [(slug, version, model row or None, count)], "newest": ModelRef or None, "newest_model": row or None,
    "stale": whether the newest model made none of the photo's drafts}."""
    used: dict[tuple[str, str], int] = {}
    for draft in drafts or []:
        key = (draft.model_slug, draft.model_version)
        used[key] = used.get(key, 0) + 1
    rows = {m.slug: m for m in ColorModel.objects.filter(slug__in={slug for slug, _ in used} | {"base"})}
    try:
        newest = route_model(photo)
    except (UnknownModel, OSError) as exc:
        logger.error("routing photo %s failed: %s", getattr(photo, "pk", None), exc)
        newest = None
    newest_row = ColorModel.objects.filter(slug=newest.slug).first() if newest else None
    return {
        "used": [(slug, version, rows.get(slug), n) for (slug, version), n in used.items()],
        "newest": newest,
        "newest_model": newest_row,
        "stale": newest is not None and (newest.slug, newest.version) not in used,
    }


@register.filter
def signed(value, digits: int = 2) -> str:
    """``0.331`` -> ``+0.33``; empty for missing values."""
    try:
        return f"{float(value):+.{int(digits)}f}"
    except (TypeError, ValueError):
        return ""
