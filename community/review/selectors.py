"""What review pages read on every view, as compiled statements (colorization/compiled_queries.py): the
correction page's correction with the viewer's vote, and the editor's base draft. The querysets here
are the statements; the rules in them (``Correction.objects.visible_to``) are their models' own."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.http import Http404

from colorization.compiled_queries import CompiledQuery
from colorization.models import Draft, DraftPurpose, DraftStatus, Photo, role_viewer, viewer_role
from community.models import Correction, Vote


@dataclass(frozen=True)
class MyVote:
    """The viewer's vote on the correction (one per person: ``one_vote_per_person``)."""

    value: int
    comment: str


def page_correction(user, pk: int) -> Correction:
    """The correction with its photo and render, if the user may see it (else 404). A signed-in
    viewer's vote comes with it: ``my_vote(correction)``.

    Its author, its decider and its hints appear only in the page's shared fragments. With shared
    fragments on (CHROMA_FRAGMENT_CACHE_SECONDS) they are read only when a fragment renders, once
    for everyone; with them off, every view renders the fragments, and they come with the row."""
    shape = (viewer_role(user), settings.CHROMA_FRAGMENT_CACHE_SECONDS > 0)
    correction = _PAGE_CORRECTION.first(shape, pk=pk, user_id=user.pk)
    if correction is None:
        raise Http404("No such correction.")
    return correction


def my_vote(correction: Correction) -> MyVote | None:
    """The vote ``page_correction`` read with the correction for its signed-in viewer, if they voted."""
    value = getattr(correction, "my_vote_value", None)
    return None if value is None else MyVote(value=value, comment=correction.my_vote_comment)


def _page_correction(shape: tuple[str, bool], *, pk: int, user_id: int | None = None):
    role, fragments_shared = shape
    corrections = Correction.objects.visible_to(role_viewer(role, user_id)).filter(pk=pk)
    if fragments_shared:
        corrections = corrections.select_related("photo", "render").defer("hints")
    else:
        corrections = corrections.select_related("photo", "author", "render", "decided_by")
    if role == "anonymous":
        return corrections
    mine = Vote.objects.filter(correction=OuterRef("pk"), voter_id=user_id)
    return corrections.annotate(
        my_vote_value=Subquery(mine.values("value")[:1]), my_vote_comment=Subquery(mine.values("comment")[:1])
    )


_PAGE_CORRECTION = CompiledQuery(Correction, _page_correction)


def editor_base_draft(photo: Photo, draft_id: int | None) -> Draft | None:
    """The finished draft the editor starts from: ``draft_id``, else the newest; None when there is none.
    A film clip's may also be its community render (its keyframes' accepted corrections)."""
    return _EDITOR_BASE_DRAFT.first(photo.is_video, photo_id=photo.pk, pk=draft_id)


def _editor_base_draft(video: bool, *, photo_id: int, pk: int | None = None):
    kinds = (DraftPurpose.DRAFT, DraftPurpose.COMMUNITY) if video else (DraftPurpose.DRAFT,)
    drafts = Draft.objects.filter(photo_id=photo_id, purpose__in=kinds, status=DraftStatus.DONE, frame__isnull=True)
    return drafts.filter(pk=pk) if pk is not None else drafts[:1]


_EDITOR_BASE_DRAFT = CompiledQuery(Draft, _editor_base_draft)
