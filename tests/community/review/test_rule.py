"""The acceptance rule: Wilson bounds of the weighted approval, quorum with historians, at its boundaries."""

from __future__ import annotations

import math

import pytest

from community.models import CorrectionStatus, Vote
from community.review.decisions import ReviewConflict, vote_cast
from community.review.rule import AcceptanceRule, Tally, rule, wilson_bounds

pytestmark = pytest.mark.django_db
Z2 = 1.959963984540054**2


def cast(correction, user, value, **kwargs):
    return vote_cast(correction_id=correction.pk, voter=user, value=value, **kwargs)


def test_wilson_bounds_match_the_closed_form():
    # All positive: the lower bound is n / (n + z²).
    assert wilson_bounds(5, 0)[0] == pytest.approx(5 / (5 + Z2))
    assert wilson_bounds(0, 5)[1] == pytest.approx(1 - 5 / (5 + Z2))
    assert wilson_bounds(0, 0) == (0.0, 1.0)
    lower, upper = wilson_bounds(3, 3)
    assert lower < 0.5 < upper and lower + upper == pytest.approx(1.0)  # symmetric around one half
    # Fractional weights are votes too: 2.5 for and 0.5 against is a valid sample.
    lower, upper = wilson_bounds(2.5, 0.5)
    assert 0 < lower < 2.5 / 3 < upper < 1


def test_the_rule_decides_exactly_at_its_thresholds():
    tally = Tally(votes_up=3, votes_down=0, weight_up=5.0, weight_down=0.0, historian_votes=1)
    lower = wilson_bounds(5.0, 0.0)[0]
    at = AcceptanceRule(3, 1, lower, 0.1, 1, 3, 0.25, 10)
    assert at.outcome(tally) == CorrectionStatus.ACCEPTED  # lower bound == A: accepted
    above = AcceptanceRule(3, 1, lower + 1e-9, 0.1, 1, 3, 0.25, 10)
    assert above.outcome(tally) is None
    against = Tally(votes_up=0, votes_down=3, weight_up=0.0, weight_down=5.0, historian_votes=1)
    upper = wilson_bounds(0.0, 5.0)[1]
    assert AcceptanceRule(3, 1, 0.9, upper, 1, 3, 0.25, 10).outcome(against) == CorrectionStatus.REJECTED
    assert AcceptanceRule(3, 1, 0.9, upper - 1e-9, 1, 3, 0.25, 10).outcome(against) is None
    # One vote short of the quorum, or no historian: never decided, however clear.
    assert at.outcome(Tally(2, 0, 100.0, 0.0, 1)) is None
    assert at.outcome(Tally(30, 0, 30.0, 0.0, 0)) is None


def test_the_rule_is_described_in_plain_words(settings):
    settings.CHROMA_REVIEW_MIN_VOTES = 4
    text = rule().describe()
    assert "at least 4 votes" in text and "historian" in text and "55%" in text and "45%" in text


def test_exactly_n_votes_with_a_historian_accept(correction, people):
    first = cast(correction, people["volunteer"], 1)
    second = cast(correction, people["volunteer2"], 1)
    assert (first.decided, second.decided) == (None, None)
    assert second.correction.status == CorrectionStatus.PENDING
    third = cast(correction, people["historian"], 1)  # the 3rd vote, the first historian's
    assert third.decided == CorrectionStatus.ACCEPTED
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.ACCEPTED and correction.decided_by is None
    assert (correction.votes_up, correction.weight_up, correction.historian_votes) == (3, 5.0, 1)
    assert correction.decision_reason.startswith("By the rule: 3 votes")


def test_a_clear_no_rejects(correction, people):
    cast(correction, people["volunteer"], -1)
    cast(correction, people["volunteer2"], -1)
    result = cast(correction, people["historian"], -1)
    assert result.decided == CorrectionStatus.REJECTED
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.REJECTED and correction.training_status == ""


def test_only_non_historian_votes_never_decide(correction, people, settings):
    for name in ("volunteer", "volunteer2", "volunteer3", "moderator"):
        assert cast(correction, people[name], 1).decided is None
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.PENDING and correction.votes_up == 4
    assert correction.historian_votes == 0


def test_a_tie_stays_pending(correction, people):
    cast(correction, people["historian"], 1)  # weight 3
    cast(correction, people["volunteer"], -1)
    cast(correction, people["volunteer2"], -1)
    result = cast(correction, people["volunteer3"], -1)  # 3 against 3
    assert result.decided is None
    correction.refresh_from_db()
    assert (correction.weight_up, correction.weight_down) == (3.0, 3.0)
    assert correction.status == CorrectionStatus.PENDING


def test_a_changed_vote_replaces_the_old_one_and_can_decide(correction, people):
    cast(correction, people["volunteer"], 1)
    cast(correction, people["volunteer2"], 1)
    against = cast(correction, people["historian"], -1, comment="Trams were green here")
    assert against.decided is None and against.created
    changed = cast(correction, people["historian"], 1, comment="I was wrong: the 1915 livery was red")
    assert not changed.created and changed.decided == CorrectionStatus.ACCEPTED
    assert Vote.objects.filter(correction=correction).count() == 3
    vote = Vote.objects.get(correction=correction, voter=people["historian"])
    assert vote.value == 1 and vote.comment.startswith("I was wrong")
    correction.refresh_from_db()
    assert (correction.votes_up, correction.votes_down, correction.weight_down) == (3, 0, 0.0)


def test_a_vote_after_the_decision_is_refused_and_changes_nothing(correction, people):
    for name in ("volunteer", "volunteer2", "historian"):
        cast(correction, people[name], 1)
    with pytest.raises(ReviewConflict) as exc:
        cast(correction, people["historian2"], -1)
    assert exc.value.code == "decided"
    with pytest.raises(ReviewConflict):
        cast(correction, people["volunteer"], -1)  # not even a change of one's own vote
    correction.refresh_from_db()
    assert (correction.status, correction.votes_up, correction.votes_down) == ("accepted", 3, 0)
    assert Vote.objects.filter(correction=correction).count() == 3


def test_new_accounts_weigh_less_until_they_earn_reputation(correction, people, settings):
    first = cast(correction, people["newcomer"], 1)
    assert first.vote.weight == settings.CHROMA_VOTE_WEIGHT_NEW == 0.25
    from community.models import Profile

    Profile.objects.filter(user=people["newcomer"]).update(reputation=settings.CHROMA_VOTE_TRUSTED_REPUTATION)
    again = cast(correction, people["newcomer"], 1)
    assert again.vote.weight == 1.0
    assert cast(correction, people["historian"], -1).vote.weight == 3.0


def test_fresh_accounts_cannot_stuff_a_decision(correction, people):
    """Ten new accounts and one historian against: the historian's 3 outweigh the newcomers' 2.5."""
    from tests.community.conftest import person

    for i in range(10):
        cast(correction, person(f"sock{i}"), 1)
    result = cast(correction, people["historian"], -1)
    correction.refresh_from_db()
    assert math.isclose(correction.weight_up, 2.5) and result.decided is None
    assert correction.status == CorrectionStatus.PENDING
