"""Pages around a photo's colours: the photo page, the correction editor, a correction's page."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from colorization.engine.hints import MAX_POINTS, MAX_STROKES, POINT_SIZES, STROKE_WIDTHS
from colorization.models import Draft, DraftPurpose, DraftStatus, Licence, Photo
from community.models import Correction, CorrectionStatus


def _visible_corrections(user, photo: Photo):
    return (
        Correction.objects.visible_to(user)
        .filter(photo=photo)
        .select_related("author", "render", "base_draft")
        .prefetch_related("evidence")
    )


def photo_detail(request, pk: int):
    photo = get_object_or_404(Photo.objects.visible_to(request.user).select_related("owner"), pk=pk)
    drafts = list(photo.drafts.filter(purpose=DraftPurpose.DRAFT))
    corrections = list(_visible_corrections(request.user, photo))
    community_version = next((c for c in corrections if c.status == CorrectionStatus.ACCEPTED), None)
    newest_draft = next((d for d in drafts if d.status == DraftStatus.DONE), None)
    if community_version is not None and community_version.result_file:
        shown = {
            "image": community_version.result_file,
            "image_jpeg": None,
            "label": community_version.label,
            "what": "the community version",
        }
    elif newest_draft is not None:
        shown = {
            "image": newest_draft.image,
            "image_jpeg": newest_draft.image_jpeg,
            "label": newest_draft.label,
            "what": "the newest AI draft",
        }
    else:
        shown = None
    return render(
        request,
        "community/photo_detail.html",
        {
            "photo": photo,
            "licence": Licence(photo.licence).label,
            "drafts": drafts,
            "shown": shown,
            "corrections": corrections,
            "community_version": community_version,
            "sweep_sizes": settings.CHROMA_SWEEP_RENDER_SIZES,
            "render_sizes": sorted({192, 256, 384, 512, 768, 1024, settings.CHROMA_DEFAULT_RENDER_SIZE}),
            "default_render_size": settings.CHROMA_DEFAULT_RENDER_SIZE,
        },
    )


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


def correction_detail(request, pk: int):
    correction = get_object_or_404(
        Correction.objects.visible_to(request.user)
        .select_related("photo", "author", "render", "base_draft", "base_correction")
        .prefetch_related("evidence"),
        pk=pk,
    )
    base = correction.base_correction.result_file if correction.base_correction_id else None
    if base is None and correction.base_draft_id:
        base = correction.base_draft.image
    return render(
        request,
        "community/correction_detail.html",
        {"correction": correction, "photo": correction.photo, "base_image": base},
    )
