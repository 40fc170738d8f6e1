"""The photo page: the original, its colour versions, drafts and the corrections history."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404, render

from colorization.models import DraftPurpose, DraftStatus, Licence, Photo
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
