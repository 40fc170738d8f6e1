"""What the correction page reads on every view, as one compiled statement (colorization/compiled_queries.py):
the correction and, for a signed-in viewer, their vote on it. The queryset here is the statement; the
rule in it (``Correction.objects.visible_to``) is its model's own."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.http import Http404

from colorization.compiled_queries import CompiledQuery
from colorization.models import role_viewer, viewer_role
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
    role = viewer_role(user)
    keys = {"pk": pk} if role == "anonymous" else {"pk": pk, "user_id": user.pk}
    found = _PAGE_CORRECTION((role, settings.CHROMA_FRAGMENT_CACHE_SECONDS > 0), **keys)
    if not found:
        raise Http404("No such correction.")
    return found[0]


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
