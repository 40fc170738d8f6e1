"""A frozen (SIGSTOP) or killed broker during uploads: every request answers within the broker
timeouts, /healthz says which dependency is down, and every upload is drafted once the broker is back."""

from __future__ import annotations

import time

import pytest

from colorization.models import Draft, DraftStatus
from tests import images
from tests.conftest import upload_file
from tests.faults.services import skip_reason, wait_until

pytestmark = [
    pytest.mark.faults,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or ""),
]
UPLOAD_LIMIT_S = 2.0  # CELERY_BROKER_TIMEOUT (1 s) is the most an upload pays, once per process
HEALTHZ_LIMIT_S = 2.0


def timed_upload(api, owner, seed: int) -> tuple[Draft, float]:
    started = time.monotonic()
    response = api(owner).post(
        "/api/v1/photos/", {"image": upload_file(images.jpeg(320, 240, seed=seed)), "title": "x"}, format="multipart"
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 201, response.content
    return Draft.objects.get(photo_id=response.json()["id"]), elapsed


def timed_healthz(client) -> tuple[dict, float]:
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.content
    return response.json()["checks"], elapsed


def all_done(drafts: list[Draft]) -> bool:
    return Draft.objects.filter(pk__in=[d.pk for d in drafts], status=DraftStatus.DONE).count() == len(drafts)


def test_a_frozen_broker_hangs_nothing_and_loses_nothing(
    api, owner, client, settings, private_redis, fault_workers, record_property
):
    settings.CHROMA_DEFAULT_RENDER_SIZE = 128
    before, _ = timed_upload(api, owner, 1)
    assert before.enqueued_at is not None

    private_redis.freeze()
    try:
        during = []
        for seed in range(2, 6):
            draft, elapsed = timed_upload(api, owner, seed)
            assert elapsed < UPLOAD_LIMIT_S, f"an upload took {elapsed:.1f} s with the broker frozen"
            during.append(draft)
        checks, elapsed = timed_healthz(client)
        assert elapsed < HEALTHZ_LIMIT_S, f"/healthz took {elapsed:.1f} s"
        assert checks["broker"]["ok"] is False and checks["database"]["ok"] is True
        fault_workers.start(beat=True)  # a worker (and beat) starting while the broker is frozen
        time.sleep(3)
    finally:
        thawed = time.monotonic()
        private_redis.thaw()
    assert all(d.enqueued_at is None for d in Draft.objects.filter(pk__in=[d.pk for d in during]))

    wait_until(lambda: all_done([before, *during]), 90, f"every draft to finish\n{fault_workers.logs()}")
    recovery = time.monotonic() - thawed
    record_property("frozen_broker_recovery_s", round(recovery, 1))
    print(f"frozen broker: all {1 + len(during)} drafts done {recovery:.1f} s after the broker resumed")
    assert Draft.objects.filter(status=DraftStatus.DONE).count() == 1 + len(during)


def test_a_killed_broker_hangs_nothing_and_loses_nothing(
    api, owner, client, settings, private_redis, fault_workers, record_property
):
    settings.CHROMA_DEFAULT_RENDER_SIZE = 128
    fault_workers.start(beat=True)
    queued_before_the_crash, _ = timed_upload(api, owner, 11)

    private_redis.kill()
    during = []
    for seed in range(12, 16):
        draft, elapsed = timed_upload(api, owner, seed)
        assert elapsed < UPLOAD_LIMIT_S, f"an upload took {elapsed:.1f} s with the broker down"
        during.append(draft)
    checks, elapsed = timed_healthz(client)
    assert elapsed < HEALTHZ_LIMIT_S, f"/healthz took {elapsed:.1f} s"
    assert checks["broker"]["ok"] is False and checks["database"]["ok"] is True

    restarted = time.monotonic()
    private_redis.start()  # same port, same append-only file
    wait_until(
        lambda: all_done([queued_before_the_crash, *during]), 120, f"every draft to finish\n{fault_workers.logs()}"
    )
    recovery = time.monotonic() - restarted
    record_property("killed_broker_recovery_s", round(recovery, 1))
    print(f"killed broker: all {1 + len(during)} drafts done {recovery:.1f} s after the broker restarted")
    assert all(d.attempts >= 1 for d in Draft.objects.all())
