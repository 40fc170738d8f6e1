"""What the review pages read on every view, as compiled statements (colorization/compiled_queries.py):
the correction a page shows and the viewer's vote on it. The querysets here are the statements; the
rules in them (``Correction.objects.visible_to``) are their models' own."""

from __future__ import annotations

from django.http import Http404

from colorization.compiled_queries import CompiledQuery
from colorization.models import role_viewer, viewer_role
from community.models import Correction, Vote


def page_correction(user, pk: int) -> Correction:
    """The correction with its photo, author, render and decider, if the user may see it (else 404)."""
    role = viewer_role(user)
    keys = {"pk": pk} if role == "anonymous" else {"pk": pk, "user_id": user.pk}
    found = _PAGE_CORRECTION(role, **keys)
    if not found:
        raise Http404("No such correction.")
    return found[0]


_PAGE_CORRECTION = CompiledQuery(
    Correction,
    lambda role, *, pk, user_id=None: (
        Correction.objects.visible_to(role_viewer(role, user_id))
        .select_related("photo", "author", "render", "decided_by")
        .filter(pk=pk)
    ),
)


def my_vote(user, correction: Correction) -> Vote | None:
    """The signed-in user's vote on the correction, if any."""
    if not user.is_authenticated:
        return None
    found = _MY_VOTE(correction_id=correction.pk, user_id=user.pk)
    return found[0] if found else None


_MY_VOTE = CompiledQuery(
    Vote, lambda _, *, correction_id, user_id: Vote.objects.filter(correction_id=correction_id, voter_id=user_id)
)
