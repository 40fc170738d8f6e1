"""A correction's own page: the images, evidence, the rule in force, votes, decision, comments."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render

from community import review
from community.comments import comments_visible_to
from community.models import Correction, Vote
from community.services import profile_for


def correction_detail(request, pk: int):
    correction = get_object_or_404(
        Correction.objects.visible_to(request.user)
        .select_related("photo", "author", "author__profile", "render", "base_draft", "base_correction", "decided_by")
        .prefetch_related("evidence"),
        pk=pk,
    )
    base = correction.base_correction.result_file if correction.base_correction_id else None
    if base is None and correction.base_draft_id:
        base = correction.base_draft.image
    user = request.user
    current = review.rule()
    tally = review.Tally.of(correction)
    lower, upper = current.bounds(tally)
    votes = list(
        Vote.objects.filter(correction=correction)
        .select_related("voter", "voter__profile")
        .prefetch_related("evidence")
    )
    my_vote = next((v for v in votes if user.is_authenticated and v.voter_id == user.pk), None)
    can_vote, why_not = review.can_vote(user, correction)
    is_moderator = user.is_authenticated and profile_for(user).is_moderator
    return render(
        request,
        "community/correction_detail.html",
        {
            "correction": correction,
            "photo": correction.photo,
            "base_image": base,
            "rule_text": current.describe(),
            "rule": current,
            "tally": tally,
            "lower": lower,
            "upper": upper,
            "quorum": current.quorum(tally),
            "votes": votes,
            "my_vote": my_vote,
            "can_vote": can_vote,
            "why_not": why_not,
            "can_decide": is_moderator
            and not correction.is_decided
            and not correction.is_gold
            and correction.author_id != user.pk,
            "is_moderator": is_moderator,
            "show_gold_score": correction.is_gold
            and (user.pk == correction.author_id or is_moderator or user.is_staff),
            "comments": comments_visible_to(user, correction=correction),
        },
    )
