"""Celery beat that runs its schedule only while it holds the installation's beat lock.

Two beats would send every periodic task twice (two draft sweeps at once, two fine-tuning ticks).
The cluster runs one beat replica, but a rolling update, a node that looks dead and is not, or a
second ``celery beat`` started by hand all make two for a while. So each beat takes a lease before
every tick: the holder runs the schedule and renews the lease; any other beat does nothing and
tries again a few seconds later, taking over within ``CHROMA_BEAT_LOCK_SECONDS`` when the holder dies.

The lease lives where every beat of the installation can see it: a Redis key (``SET NX PX``, renewed
only by its holder through a compare-and-extend script; every command bounded by
``CELERY_BROKER_TIMEOUT``) when the broker, or ``CHROMA_BEAT_LOCK_URL``, is Redis; otherwise an
exclusive ``flock`` on ``<CHROMA_VAR_DIR>/beat.lock``, which covers the embedded broker's one host.
A beat that cannot reach Redis does not run the schedule (the tasks could not be sent anyway).

Used as ``celery -A config beat`` (``CELERY_BEAT_SCHEDULER`` names ``SingleBeatScheduler``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from pathlib import Path

from celery.beat import PersistentScheduler

logger = logging.getLogger(__name__)

LOCK_KEY = "chroma:beat-lock"
# Extend the key's expiry only if we still hold it; 1 when extended.
RENEW_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisLease:
    def __init__(self, url: str, *, seconds: float, timeout: float, key: str = LOCK_KEY):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        self.key, self.ms = key, max(1000, round(seconds * 1000))
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def hold(self) -> bool:
        """Take the lease or extend ours; False when another beat holds it or Redis does not answer."""
        import redis

        try:
            if self.client.set(self.key, self.holder, nx=True, px=self.ms):
                return True
            return bool(self.client.eval(RENEW_SCRIPT, 1, self.key, self.holder, self.ms))
        except redis.RedisError as exc:
            logger.warning("beat lock: Redis did not answer (%s); not running the schedule", exc)
            return False

    def release(self) -> None:
        import redis

        with contextlib.suppress(redis.RedisError):  # otherwise it expires on its own
            self.client.eval(RELEASE_SCRIPT, 1, self.key, self.holder)
        self.client.close()


class FileLease:
    """One host: an exclusive, non-blocking flock held for as long as this beat runs."""

    def __init__(self, path: Path):
        self.path, self.fd = path, None

    def hold(self) -> bool:
        import fcntl

        if self.fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{socket.gethostname()} {os.getpid()}\n".encode())
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the flock
            self.fd = None


def lease_for_settings():
    from django.conf import settings

    url = settings.CHROMA_BEAT_LOCK_URL or settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        return RedisLease(url, seconds=settings.CHROMA_BEAT_LOCK_SECONDS, timeout=settings.CELERY_BROKER_TIMEOUT)
    return FileLease(Path(settings.VAR_DIR) / "beat.lock")


class LeasedSchedulerMixin:
    """Runs ``tick`` only while holding the lease; renews it every third of its lifetime."""

    lease = None
    lease_seconds = 30.0

    def setup_lease(self) -> None:
        from django.conf import settings

        self.lease = lease_for_settings()
        self.lease_seconds = float(settings.CHROMA_BEAT_LOCK_SECONDS)
        self._held_until = 0.0
        self._was_holding = None

    def holds_lease(self) -> bool:
        now = time.monotonic()
        if now < self._held_until:
            return True
        holding = self.lease.hold()
        self._held_until = now + self.lease_seconds / 3 if holding else 0.0
        if holding != self._was_holding:
            logger.info("beat lock %s: %s", "taken" if holding else "held by another beat", type(self.lease).__name__)
            self._was_holding = holding
        return holding

    def tick(self, *args, **kwargs):
        if self.lease is None:
            self.setup_lease()
        if not self.holds_lease():
            return min(self.lease_seconds / 3, 5.0)  # standing by: look again soon
        return min(super().tick(*args, **kwargs), self.lease_seconds / 3)

    def close(self):
        try:
            super().close()
        finally:
            if self.lease is not None:
                self.lease.release()


class SingleBeatScheduler(LeasedSchedulerMixin, PersistentScheduler):
    """Celery's file-backed scheduler behind the beat lock."""
