"""The correction editor page.

The page is a shell for static/js/editor.js: everything the script needs (the photo's
size, the images, the hint set it starts from, the limits the server enforces, the API
endpoints and the render settings of what is being corrected, so the live preview is
made exactly as the final render will be) travels in one JSON config.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from colorization.engine.hints import MAX_POINTS, MAX_STROKE_POINTS, MAX_STROKES, POINT_SIZES, STROKE_WIDTHS
from colorization.models import Draft, DraftPurpose, DraftStatus, Photo
from colorization.preview import MIN_RENDER_SIZE, PREVIEW_MAX_SIDE
from community.corrections import MAX_EVIDENCE, MAX_NOTE, render_settings_for
from community.models import Correction


def _id_param(request, name: str) -> int | None:
    """``?draft=`` / ``?correction=`` as an id; anything but a positive integer is a 404, not a 500."""
    if name not in request.GET:
        return None
    value = request.GET[name]
    if not value.isdigit() or int(value) < 1:
        raise Http404(f"{name} must be an id")
    return int(value)


def _preview_settings(photo: Photo, base_draft: Draft | None, base_correction: Correction | None) -> dict:
    settings_ = render_settings_for(photo, base_draft, base_correction)
    model = settings_.get("model")
    if model:
        from colorization.modelfiles import UnknownModel
        from colorization.routing import model_ref

        try:
            model_ref(model)
        except UnknownModel:
            model = None  # the model is gone: preview with the photo's current model (the render says which)
    render_size = settings_.get("render_size")
    return {
        "model": model,
        "render_size": max(MIN_RENDER_SIZE, min(PREVIEW_MAX_SIDE, render_size)) if render_size else None,
        "saturation": settings_.get("saturation", 1.0),
        "size": PREVIEW_MAX_SIDE,
    }


@login_required
def editor(request, pk: int):
    """The correction editor for a draft (``?draft=ID``) or an earlier correction (``?correction=ID``)."""
    photo = get_object_or_404(Photo.objects.visible_to(request.user), pk=pk)
    correction_id, draft_id = _id_param(request, "correction"), _id_param(request, "draft")
    base_correction = base_draft = None
    if correction_id is not None:
        base_correction = get_object_or_404(
            Correction.objects.visible_to(request.user).select_related("render", "base_draft"),
            pk=correction_id,
            photo=photo,
        )
        base_image = base_correction.result_file
        hints = base_correction.hints or {"points": [], "strokes": []}
        label = base_correction.label
    else:
        drafts = Draft.objects.filter(photo=photo, purpose=DraftPurpose.DRAFT, status=DraftStatus.DONE)
        base_draft = get_object_or_404(drafts, pk=draft_id) if draft_id is not None else drafts.first()
        if base_draft is None:
            return render(request, "community/editor_unavailable.html", {"photo": photo}, status=409)
        base_image = base_draft.image
        hints = base_draft.hints or {"points": [], "strokes": []}
        label = base_draft.label
    config = {
        "photo": {"id": photo.pk, "width": photo.width, "height": photo.height, "title": photo.title},
        "original_url": photo.original.url,
        "base_image_url": base_image.url if base_image else None,
        "base_label": label,
        "base_draft": base_draft.pk if base_draft else None,
        "base_correction": base_correction.pk if base_correction else None,
        "hints": {"points": hints.get("points", []), "strokes": hints.get("strokes", [])},
        "preview": _preview_settings(photo, base_draft, base_correction),
        "limits": {
            "point_sizes": list(POINT_SIZES),
            "stroke_widths": list(STROKE_WIDTHS),
            "max_points": MAX_POINTS,
            "max_strokes": MAX_STROKES,
            "max_stroke_points": MAX_STROKE_POINTS,
            "max_evidence": MAX_EVIDENCE,
            "max_note": MAX_NOTE,
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
