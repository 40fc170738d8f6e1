"""A worker SIGKILLed in the middle of a draft: its pool child dies with it, and another worker
finishes the draft within 30 s with the shipped settings (heartbeat 2 s, stale 10 s, sweep 5 s)."""

from __future__ import annotations

import os
import signal
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
RECOVERY_LIMIT_S = 30


def process_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in {"Z", "X"}
    except FileNotFoundError:
        return True


def test_another_worker_finishes_the_draft_of_a_killed_worker(
    api, owner, settings, fault_workers, tmp_path, record_property
):
    settings.CHROMA_DEFAULT_RENDER_SIZE = 1024
    # The CPU pool (with beat, whose sweeper recovers the draft) and the GPU worker that will die.
    fault_workers.start(queues="cpu,default", beat=True)
    doomed = fault_workers.start(queues="gpu")
    for n in (0, 1):
        wait_until(lambda n=n: "ready." in (tmp_path / f"worker{n}.log").read_text(), 120, f"worker {n} to start")

    response = api(owner).post(
        "/api/v1/photos/", {"image": upload_file(images.jpeg(1500, 1000, seed=21)), "title": "x"}, format="multipart"
    )
    assert response.status_code == 201, response.content
    draft = Draft.objects.get(photo_id=response.json()["id"])

    def colorizing():
        d = Draft.objects.get(pk=draft.pk)
        return d if d.status == DraftStatus.RUNNING and d.progress >= 50 else None

    running = wait_until(colorizing, 120, f"the GPU worker to be colorizing\n{fault_workers.logs()}")
    child = int(running.worker.rsplit(":", 1)[1])
    assert child != doomed.pid  # the pool process renders; only its parent is killed

    killed = time.monotonic()
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    wait_until(lambda: process_gone(child), 5, "the pool child to die with its main process")

    wait_until(
        lambda: Draft.objects.get(pk=draft.pk).status == DraftStatus.DONE,
        RECOVERY_LIMIT_S + 30,
        f"another worker to finish the draft\n{fault_workers.logs()}",
    )
    recovery = time.monotonic() - killed
    record_property("killed_worker_recovery_s", round(recovery, 1))
    print(f"killed worker: the draft was done {recovery:.1f} s after its worker was killed")
    draft.refresh_from_db()
    assert draft.attempts == 2 and draft.worker != running.worker
    assert recovery < RECOVERY_LIMIT_S, f"recovery took {recovery:.1f} s"
