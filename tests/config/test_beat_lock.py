"""The beat lock: of two beats, only the one holding the lease sends periodic tasks; the other takes
over when the holder stops. Redis (the cluster's lock) and the file lock (one host, embedded broker)."""

from __future__ import annotations

import time

import pytest
import redis
from celery.beat import Scheduler

from config import beat
from config.celery_app import app

REDIS_URL = "redis://127.0.0.1:6379/15"


class RecordingScheduler(beat.LeasedSchedulerMixin, Scheduler):
    """An in-memory schedule with one task due every tick, whose sends are recorded, not made."""

    def __init__(self, lease, **kwargs):
        self.sent = []
        super().__init__(app=app, schedule={}, lazy=True, **kwargs)
        self.lease, self.lease_seconds = lease, 3.0
        self._held_until, self._was_holding = 0.0, None
        self.merge_inplace({"sweep": {"task": "colorization.tasks.sweep_drafts", "schedule": 0.01}})

    def apply_entry(self, entry, producer=None):
        self.sent.append(entry.name)


def tick_for(scheduler: RecordingScheduler, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        scheduler.tick()
        time.sleep(0.02)


@pytest.fixture
def redis_lease_factory():
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    key = f"chroma:test-beat-lock:{time.monotonic_ns()}"
    leases = []

    def make(seconds: float = 3.0) -> beat.RedisLease:
        lease = beat.RedisLease(REDIS_URL, seconds=seconds, timeout=1.0, key=key)
        leases.append(lease)
        return lease

    yield make
    client.delete(key)
    client.close()


def test_of_two_beats_only_the_lease_holder_sends_tasks(redis_lease_factory):
    first, second = RecordingScheduler(redis_lease_factory()), RecordingScheduler(redis_lease_factory())
    tick_for(first, 0.3)
    tick_for(second, 0.3)
    tick_for(first, 0.3)
    assert first.sent, "the holder runs the schedule"
    assert second.sent == [], "the second beat does nothing"


def test_a_standby_beat_takes_over_when_the_holder_stops(redis_lease_factory):
    first, second = RecordingScheduler(redis_lease_factory()), RecordingScheduler(redis_lease_factory())
    tick_for(first, 0.2)
    first.lease.release()  # a clean shutdown (Scheduler.close) gives the lease back at once
    tick_for(second, 0.3)
    assert second.sent


def test_a_dead_holders_lease_expires(redis_lease_factory):
    first, second = redis_lease_factory(seconds=1.0), redis_lease_factory(seconds=1.0)
    assert first.hold()
    assert not second.hold()
    time.sleep(1.3)  # the holder died without releasing: no renewal
    assert second.hold()
    assert not first.hold(), "a holder that lost its lease does not renew someone else's"


def test_an_unreachable_redis_means_no_schedule_within_the_timeout():
    lease = beat.RedisLease("redis://127.0.0.1:1/0", seconds=3, timeout=0.3)
    started = time.monotonic()
    assert not lease.hold()
    assert time.monotonic() - started < 1.5


def test_the_file_lock_lets_one_beat_per_host_run(tmp_path):
    path = tmp_path / "beat.lock"
    first, second = RecordingScheduler(beat.FileLease(path)), RecordingScheduler(beat.FileLease(path))
    tick_for(first, 0.2)
    tick_for(second, 0.2)
    assert first.sent and second.sent == []
    first.close()
    tick_for(second, 0.2)
    assert second.sent


def test_beat_uses_the_locked_scheduler(settings):
    assert settings.CELERY_BEAT_SCHEDULER == "config.beat:SingleBeatScheduler"
    assert app.conf.beat_scheduler == "config.beat:SingleBeatScheduler"
