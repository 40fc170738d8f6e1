"""Votes arriving at the same moment: never a lost vote, never a correction decided twice.

These need a database with real row locks and concurrent connections (PostgreSQL, as in CI's
second pass); SQLite serializes every write, so there is nothing to race there.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from community.models import (
    Correction,
    CorrectionStatus,
    Notification,
    ReputationEvent,
    Vote,
)
from community.review import decisions
from community.review.signals import correction_decided
from tests.community.conftest import correction_for, person

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip(f"needs concurrent row locks (PostgreSQL); this run uses {connection.vendor}")


def run_at_once(jobs) -> list:
    """Run callables in threads released together; returns their results or exceptions."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def worker(i, job):
        try:
            barrier.wait()
            results[i] = job()
        except Exception as exc:  # noqa: BLE001 - collected and asserted on by the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.fixture
def decided_signals():
    seen, lock = [], threading.Lock()

    def listener(sender, correction, status, **kwargs):
        with lock:
            seen.append((correction.pk, status))

    correction_decided.connect(listener, weak=False)
    yield seen
    correction_decided.disconnect(listener)


def test_simultaneous_votes_are_all_counted_and_decide_once(people, correction, settings, decided_signals):
    settings.CHROMA_REVIEW_MIN_VOTES = 3
    voters = [person(f"v{i}", reputation=settings.CHROMA_VOTE_TRUSTED_REPUTATION) for i in range(6)]
    voters += [people["historian"], people["historian2"]]

    def job(user):
        return lambda: decisions.vote_cast(correction_id=correction.pk, voter=user, value=1)

    results = run_at_once([job(u) for u in voters])
    decided = [r for r in results if isinstance(r, decisions.VoteResult) and r.decided]
    refused = [r for r in results if isinstance(r, decisions.ReviewConflict)]
    errors = [r for r in results if isinstance(r, Exception) and not isinstance(r, decisions.ReviewConflict)]
    assert not errors, errors
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.ACCEPTED
    assert len(decided) == 1  # exactly one vote decided it
    # Every vote either counted or was refused because the correction was already decided; none was lost.
    counted = Vote.objects.filter(correction=correction).count()
    assert counted + len(refused) == len(voters)
    assert (correction.votes_up, correction.votes_down) == (counted, 0)
    assert correction.weight_up == pytest.approx(sum(v.weight for v in Vote.objects.filter(correction=correction)))
    assert ReputationEvent.objects.filter(correction=correction, reason="correction_accepted").count() == 1
    assert Notification.objects.filter(correction=correction, verb="accepted").count() == 1
    assert decided_signals == [(correction.pk, "accepted")]


def test_simultaneous_undecisive_votes_are_never_lost(people, correction, settings):
    settings.CHROMA_REVIEW_MIN_HISTORIANS = 5  # nobody decides: every vote must land
    voters = [person(f"w{i}", reputation=settings.CHROMA_VOTE_TRUSTED_REPUTATION) for i in range(10)]
    results = run_at_once(
        [lambda u=u, i=i: decisions.vote_cast(correction_id=correction.pk, voter=u, value=1 if i % 2 else -1)
         for i, u in enumerate(voters)]
    )  # fmt: skip
    assert all(isinstance(r, decisions.VoteResult) for r in results), results
    correction.refresh_from_db()
    assert (correction.votes_up, correction.votes_down) == (5, 5)
    assert (correction.weight_up, correction.weight_down) == (5.0, 5.0)


def test_a_double_click_makes_one_vote(people, correction):
    user = people["volunteer"]
    results = run_at_once([lambda: decisions.vote_cast(correction_id=correction.pk, voter=user, value=1)] * 4)
    assert all(isinstance(r, decisions.VoteResult) for r in results), results
    assert Vote.objects.filter(correction=correction, voter=user).count() == 1
    correction.refresh_from_db()
    assert correction.votes_up == 1


def test_two_corrections_of_one_photo_accepted_at_once_leave_one_community_version(people, photo):
    first, second = correction_for(photo, people["author"]), correction_for(photo, people["volunteer3"])
    moderators = [person("m1", role="moderator"), person("m2", role="moderator")]
    results = run_at_once(
        [
            lambda c=c, m=m: decisions.correction_decide(
                correction_id=c.pk, moderator=m, decision="accept", reason="ok"
            )
            for c, m in zip((first, second), moderators, strict=True)
        ]
    )
    assert all(isinstance(r, Correction) for r in results), results
    statuses = sorted(Correction.objects.filter(photo=photo).values_list("status", flat=True))
    assert statuses == ["accepted", "superseded"]


# --- revocations: the same row lock as votes and decisions ----------------------------------------------

REVOKE_EVIDENCE = [{"text": "A newly found colour print of the same street"}]


def _accepted_pair(photo, people):
    """``first`` superseded by ``second``, the community version."""
    first = correction_for(photo, people["author"])
    decisions.correction_decide(correction_id=first.pk, moderator=people["moderator"], decision="accept", reason="ok")
    second = correction_for(photo, people["volunteer3"])
    decisions.correction_decide(correction_id=second.pk, moderator=people["moderator"], decision="accept", reason="ok")
    return first, second


def test_a_revocation_vote_and_a_moderators_revocation_at_once_revoke_once(people, photo, settings):
    from community.models import ModerationAction, Revocation
    from community.review import revocations

    first, second = _accepted_pair(photo, people)
    revocations.revocation_propose(
        correction_id=second.pk, proposer=people["volunteer"], reason="new print", evidence=REVOKE_EVIDENCE
    )
    revocations.revocation_vote_cast(correction_id=second.pk, voter=people["volunteer2"], value=1)
    revocations.revocation_vote_cast(correction_id=second.pk, voter=person("v9", reputation=99), value=1)
    moderator = person("m3", role="moderator")
    results = run_at_once(
        [
            # the historian's vote meets the quorum and decides by the rule ...
            lambda: revocations.revocation_vote_cast(correction_id=second.pk, voter=people["historian"], value=1),
            # ... while a moderator revokes by hand
            lambda: revocations.correction_revoke(
                correction_id=second.pk, moderator=moderator, reason="confirmed", evidence=REVOKE_EVIDENCE
            ),
        ]
    )
    errors = [r for r in results if isinstance(r, Exception) and not isinstance(r, decisions.ReviewConflict)]
    assert not errors, errors
    assert sum(isinstance(r, decisions.ReviewConflict) for r in results) == 1, results  # the later one is refused
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (CorrectionStatus.ACCEPTED, CorrectionStatus.REVOKED)
    assert list(Revocation.objects.filter(correction=second).values_list("status", flat=True)) == ["revoked"]
    assert ModerationAction.objects.filter(action="revoke", target_id=second.pk).count() == 1
    assert ReputationEvent.objects.filter(correction=second, reason="correction_revoked").count() == 1


def test_the_deciding_vote_and_a_revocation_at_once_never_leave_two_community_versions(people, photo, settings):
    from community.models import Revocation
    from community.review import revocations

    first, second = _accepted_pair(photo, people)
    pending = correction_for(photo, people["volunteer2"])
    decisions.vote_cast(correction_id=pending.pk, voter=people["volunteer"], value=1)
    decisions.vote_cast(correction_id=pending.pk, voter=people["volunteer3"], value=1)
    moderator = person("m4", role="moderator")
    results = run_at_once(
        [
            # accepting ``pending`` supersedes ``second`` ...
            lambda: decisions.vote_cast(correction_id=pending.pk, voter=people["historian"], value=1),
            # ... while ``second`` is being revoked (which would restore ``first``)
            lambda: revocations.correction_revoke(
                correction_id=second.pk, moderator=moderator, reason="wrong colours", evidence=REVOKE_EVIDENCE
            ),
        ]
    )
    errors = [r for r in results if isinstance(r, Exception) and not isinstance(r, decisions.ReviewConflict)]
    assert not errors, errors
    statuses = dict(Correction.objects.filter(photo=photo).values_list("pk", "status"))
    assert list(statuses.values()).count(CorrectionStatus.ACCEPTED) == 1, statuses
    assert statuses[pending.pk] == CorrectionStatus.ACCEPTED  # the vote always lands and decides
    # Either way ``second`` is revoked (a superseded version can be revoked too) ...
    revoked = Revocation.objects.get(correction=second, status="revoked")
    assert statuses[second.pk] == CorrectionStatus.REVOKED and statuses[first.pk] == CorrectionStatus.SUPERSEDED
    # ... and what it restored tells the order: ``first`` when the revocation came first (the vote
    # then superseded it), nothing when the vote came first (``second`` was no longer the community
    # version, so revoking it restores nothing).
    assert revoked.restored_id in (first.pk, None)
    if revoked.restored_id is None:
        assert Correction.objects.get(pk=pending.pk).replaced_id == second.pk
    else:
        assert Correction.objects.get(pk=pending.pk).replaced_id == first.pk


def test_two_moderators_revoking_at_once_revoke_once(people, photo):
    from community.models import Revocation
    from community.review import revocations

    _, second = _accepted_pair(photo, people)
    moderators = [person("m5", role="moderator"), person("m6", role="moderator")]
    results = run_at_once(
        [
            lambda m=m: revocations.correction_revoke(
                correction_id=second.pk, moderator=m, reason="wrong", evidence=REVOKE_EVIDENCE
            )
            for m in moderators
        ]
    )
    assert sum(isinstance(r, Revocation) for r in results) == 1, results
    assert sum(isinstance(r, decisions.ReviewConflict) for r in results) == 1, results
    assert Revocation.objects.filter(correction=second).count() == 1
