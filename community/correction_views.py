"""A correction's own page."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render

from community.models import Correction


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
