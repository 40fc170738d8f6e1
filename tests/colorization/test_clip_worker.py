"""A real Celery worker rendering a clip is killed (SIGKILL); another one finishes from the last chunk."""

from __future__ import annotations

import time

import pytest

from colorization.drafting import drafts_sweep
from colorization.engine.video import probe
from colorization.models import Draft, DraftStatus
from tests import videos
from tests.colorization.test_worker import full_size_model, wait_for, workers  # noqa: F401 - fixtures
from tests.conftest import upload_file

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
# Enough chunks that the render is still running, inside a chunk after the first, for most of its
# time, whatever the machine's speed.
FRAMES, CHUNK = 360, 16


@pytest.fixture
def small_chunks(monkeypatch):
    # Read by the worker processes: small chunks, and progress saved after every frame so the test
    # sees the worker inside a chunk (the default writes it at most once a second).
    monkeypatch.setenv("CHROMA_VIDEO_CHUNK_FRAMES", str(CHUNK))
    monkeypatch.setenv("CHROMA_VIDEO_PROGRESS_SECONDS", "0")


def test_a_clip_survives_its_worker_being_killed_and_resumes_after_the_last_chunk(
    small_chunks,
    api,
    owner,
    workers,  # noqa: F811 - the fixture imported above
    settings,
    media_in_tmp,
    tmp_path,
):
    settings.CHROMA_DEFAULT_RENDER_SIZE = 256
    settings.CHROMA_DRAFT_STALE_SECONDS = 3
    first = workers.start()
    source = videos.make_clip(tmp_path / "in.mp4", width=160, height=96, frames=FRAMES, audio="aac")
    response = api(owner).post(
        "/api/v1/photos/",
        {"image": upload_file(source.read_bytes(), "in.mp4", "video/mp4"), "title": "Harbour"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    draft = Draft.objects.get(photo_id=response.json()["id"])

    def past_a_chunk():
        d = Draft.objects.get(pk=draft.pk)
        return d.status == DraftStatus.RUNNING and len(d.chunks) >= 1 and d.frames_done > len(d.chunks) * CHUNK

    wait_for(past_a_chunk, 180, "the first worker to be inside its second chunk or later", workers)
    workers.kill(first)
    killed = Draft.objects.get(pk=draft.pk)
    assert killed.status == DraftStatus.RUNNING and killed.frames_done < FRAMES
    resume_at = killed.chunks[-1]["frames"]

    workers.start()
    time.sleep(settings.CHROMA_DRAFT_STALE_SECONDS + 1)
    assert drafts_sweep()["requeued_running"] == 1
    wait_for(lambda: Draft.objects.get(pk=draft.pk).status == DraftStatus.DONE, 240, "the clip to finish", workers)
    draft.refresh_from_db()
    assert draft.attempts == 2 and draft.frames_done == FRAMES
    assert f"resuming at frame {resume_at} of {FRAMES}" in workers.logs()  # not from zero
    out = media_in_tmp / draft.video.name
    info = probe(out)
    assert (info.frames, info.audio_codec) == (FRAMES, "aac")
