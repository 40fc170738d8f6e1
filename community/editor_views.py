"""The correction editor page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from colorization.engine.hints import MAX_POINTS, MAX_STROKES, POINT_SIZES, STROKE_WIDTHS
from colorization.models import Draft, DraftPurpose, DraftStatus, Photo
from community.models import Correction


@login_required
def editor(request, pk: int):
    """The correction editor for a draft (``?draft=ID``) or an earlier correction (``?correction=ID``)."""
    photo = get_object_or_404(Photo.objects.visible_to(request.user), pk=pk)
    base_correction = None
    if "correction" in request.GET:
        base_correction = get_object_or_404(
            Correction.objects.visible_to(request.user).select_related("render"),
            pk=request.GET["correction"],
            photo=photo,
        )
        base_draft = None
        base_image = base_correction.result_file
        hints = base_correction.hints or {"points": [], "strokes": []}
    else:
        drafts = Draft.objects.filter(photo=photo, purpose=DraftPurpose.DRAFT, status=DraftStatus.DONE)
        base_draft = get_object_or_404(drafts, pk=request.GET["draft"]) if "draft" in request.GET else drafts.first()
        if base_draft is None:
            return render(request, "community/editor_unavailable.html", {"photo": photo}, status=409)
        base_image = base_draft.image
        hints = base_draft.hints or {"points": [], "strokes": []}
    config = {
        "photo": {"id": photo.pk, "width": photo.width, "height": photo.height, "title": photo.title},
        "original_url": photo.original.url,
        "base_image_url": base_image.url if base_image else None,
        "base_draft": base_draft.pk if base_draft else None,
        "base_correction": base_correction.pk if base_correction else None,
        "hints": {"points": hints.get("points", []), "strokes": hints.get("strokes", [])},
        "limits": {
            "point_sizes": list(POINT_SIZES),
            "stroke_widths": list(STROKE_WIDTHS),
            "max_points": MAX_POINTS,
            "max_strokes": MAX_STROKES,
        },
        "api": {
            "preview": reverse("api-photo-preview", args=[photo.pk]),
            "suggest": reverse("api-photo-suggest", args=[photo.pk]),
            "corrections": reverse("api-photo-corrections", args=[photo.pk]),
        },
        "photo_url": photo.get_absolute_url(),
    }
    return render(
        request,
        "community/editor.html",
        {"photo": photo, "base_draft": base_draft, "base_correction": base_correction, "config": config},
    )
