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
