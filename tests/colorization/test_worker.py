"""Drafts made by real Celery worker processes, through the configured broker.

The embedded file-system broker by default; CI runs this again with Redis
(CELERY_BROKER_URL). Two failures a deployment meets: a worker killed in the
middle of a draft, and a broker that is down when a photo is uploaded.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import torch

from colorization import drafting
from colorization.drafting import drafts_sweep
from colorization.engine.checkpoint import save_checkpoint
from colorization.engine.network import ColorNet
from colorization.models import Draft, DraftStatus
from tests import images
from tests.conftest import reset_broker_pool, upload_file
from tests.workers import Workers, purge_broker, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def full_size_model(tmp_path_factory) -> Path:
    """The production network size (random weights): a big draft takes seconds, long enough to kill."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("full") / "base.safetensors"
    save_checkpoint(ColorNet(), path, {"slug": "base", "version": "worker-test"})
    return path


@pytest.fixture
def workers(settings, media_in_tmp, isolated_broker, full_size_model, tmp_path):
    settings.CHROMA_BASE_MODEL_PATH = str(full_size_model)
    reset_broker_pool()
    purge_broker()
    pool = Workers(worker_env(media_in_tmp, isolated_broker, full_size_model), tmp_path)
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
    assert result_files(media_in_tmp, draft) == sorted(Path(key).name for key in drafting.result_keys(draft).values())


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
    drafting._broker_down_until = 0.0  # as if the back-off after the failed send had passed

    workers.start()
    assert drafts_sweep()["resent_queued"] == 1
    wait_for(lambda: Draft.objects.get(pk=draft.pk).status == DraftStatus.DONE, 120, "the draft to finish", workers)
    assert Draft.objects.get(pk=draft.pk).attempts == 1
