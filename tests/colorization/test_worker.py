"""Drafts made by real Celery worker processes, through the configured broker.

The embedded file-system broker by default; CI runs this again with Redis
(CELERY_BROKER_URL). Two failures a deployment meets: a worker killed in the
middle of a draft, and a broker that is down when a photo is uploaded.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from django.db import connection

from colorization.drafting import drafts_sweep
from colorization.engine.checkpoint import save_checkpoint
from colorization.engine.network import ColorNet
from colorization.models import Draft, DraftStatus
from tests import images
from tests.conftest import reset_broker_pool, upload_file

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def full_size_model(tmp_path_factory) -> Path:
    """The production network size (random weights): a big draft takes seconds, long enough to kill."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("full") / "base.safetensors"
    save_checkpoint(ColorNet(), path, {"slug": "base", "version": "worker-test"})
    return path


def _database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Workers:
    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env, self.log_dir, self.procs = env, log_dir, []

    def start(self) -> subprocess.Popen:
        log = open(self.log_dir / f"worker{len(self.procs)}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "gpu,cpu,default",
             "--concurrency", "1", "-l", "info", "-n", f"test{len(self.procs)}@%h", "--without-mingle",
             "--without-gossip", "--without-heartbeat"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGKILL)  # the main process and its pool: nothing gets to clean up
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.log_dir.glob("worker*.log")))


@pytest.fixture
def workers(settings, media_in_tmp, isolated_broker, full_size_model, tmp_path):
    settings.CHROMA_BASE_MODEL_PATH = str(full_size_model)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(media_in_tmp),
        "CHROMA_BASE_MODEL_PATH": str(full_size_model),
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    if isolated_broker is not None:
        env["CHROMA_VAR_DIR"] = str(isolated_broker)
    reset_broker_pool()
    pool = Workers(env, tmp_path)
    yield pool
    pool.stop_all()


def wait_for(predicate, timeout: float, what: str, workers: Workers):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}\n--- worker logs ---\n{workers.logs()}")


def upload(api, owner, data: bytes, **fields):
    response = api(owner).post(
        "/api/v1/photos/", {"image": upload_file(data), "title": "x", **fields}, format="multipart"
    )
    assert response.status_code == 201, response.content
    return Draft.objects.get(photo_id=response.json()["id"])


def sent_to_broker(draft: Draft) -> bool:
    return Draft.objects.get(pk=draft.pk).enqueued_at is not None


def result_files(media: Path, draft: Draft) -> list[str]:
    folder = media / "drafts" / str(draft.photo_id)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_draft_survives_its_worker_being_killed(api, owner, workers, settings, media_in_tmp):
    settings.CHROMA_DEFAULT_RENDER_SIZE = 2048
    settings.CHROMA_DRAFT_STALE_SECONDS = 3
    first = workers.start()
    draft = upload(api, owner, images.jpeg(3000, 2000, seed=5))
    assert sent_to_broker(draft)

    def colorizing():
        d = Draft.objects.get(pk=draft.pk)
        return d.status == DraftStatus.RUNNING and d.progress >= 50

    wait_for(colorizing, 120, "the first worker to be colorizing", workers)
    workers.kill(first)
    assert Draft.objects.get(pk=draft.pk).status == DraftStatus.RUNNING  # the dead worker's claim remains

    workers.start()
    time.sleep(settings.CHROMA_DRAFT_STALE_SECONDS + 1)  # no heartbeat for longer than the stale limit
    assert drafts_sweep()["requeued_running"] == 1  # what beat does every 30 s
    wait_for(lambda: Draft.objects.get(pk=draft.pk).status == DraftStatus.DONE, 180, "the draft to finish", workers)

    draft.refresh_from_db()
    assert draft.attempts == 2
    assert result_files(media_in_tmp, draft) == [f"{draft.pk}-thumb.jpg", f"{draft.pk}.jpg", f"{draft.pk}.png"]


def test_an_upload_while_the_broker_is_down_is_drafted_once_it_is_back(
    api, owner, workers, monkeypatch, settings, caplog
):
    from config.celery_app import app

    settings.CHROMA_DEFAULT_RENDER_SIZE = 128
    good_url = app.conf.broker_url
    with monkeypatch.context() as broken:
        broken.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")  # Celery reads this before its config
        reset_broker_pool()
        with caplog.at_level(logging.WARNING, logger="colorization.drafting"):
            draft = upload(api, owner, images.jpeg(400, 300, seed=6))
        assert Draft.objects.get(pk=draft.pk).enqueued_at is None
        assert "Connection refused" in caplog.text or "Error 111" in caplog.text
    reset_broker_pool()
    assert app.conf.broker_url == good_url

    workers.start()
    assert drafts_sweep()["resent_queued"] == 1
    wait_for(lambda: Draft.objects.get(pk=draft.pk).status == DraftStatus.DONE, 120, "the draft to finish", workers)
    assert Draft.objects.get(pk=draft.pk).attempts == 1
