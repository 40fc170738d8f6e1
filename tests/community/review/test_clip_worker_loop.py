"""The whole keyframe-correction loop with a real Celery worker (tiny model, a 24-frame clip): the clip's
draft, the correction's keyframe still, votes through the API, and the community render the acceptance
queues, each made by the worker from the broker, not called in the test's process."""

from __future__ import annotations

import time

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.utils.html import escape

from colorization.models import Draft, DraftPurpose, DraftStatus
from community.models import Correction, CorrectionStatus
from tests import videos
from tests.conftest import reset_broker_pool, upload_file
from tests.workers import Workers, purge_broker, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
FRAMES, CUT = 24, 12
RED = {"strokes": [{"points": [[8, 8], [88, 8], [88, 56], [8, 56]], "color": "#c02020", "width": 24}]}


def wait_done(query, timeout: float, what: str, workers: Workers) -> Draft:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        draft = query()
        if draft is not None and draft.status == DraftStatus.DONE:
            return draft
        assert draft is None or draft.status != DraftStatus.FAILED, draft.error
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}\n--- worker logs ---\n{workers.logs()}")


def chroma(key: str, tmp_path, name: str) -> np.ndarray:
    path = tmp_path / name
    with default_storage.open(key, "rb") as f:
        path.write_bytes(f.read())
    return np.stack([np.stack((u, v)).astype(np.float32) for _, u, v in videos.read_planes(path)])


def test_a_real_worker_renders_the_keyframe_correction_and_then_the_community_version(
    api, client, people, settings, media_in_tmp, isolated_broker, tiny_model_file, tmp_path
):
    settings.CHROMA_BASE_MODEL_PATH = str(tiny_model_file)
    reset_broker_pool()
    purge_broker()
    workers = Workers(worker_env(media_in_tmp, isolated_broker, tiny_model_file), tmp_path)
    workers.start()
    try:
        source = videos.make_clip(tmp_path / "in.mp4", frames=FRAMES, shots=[0, CUT])
        response = api(people["volunteer3"]).post(
            "/api/v1/photos/",
            {"image": upload_file(source.read_bytes(), "harbour.mp4", "video/mp4"), "title": "Harbour"},
            format="multipart",
        )
        assert response.status_code == 201, response.content
        clip_id = response.json()["id"]
        draft = wait_done(lambda: Draft.objects.filter(photo_id=clip_id).first(), 120, "the clip's draft", workers)
        assert sorted(draft.stills, key=int) == ["0", str(CUT)]

        created = api(people["author"]).post(
            f"/api/v1/photos/{clip_id}/corrections/",
            {"base_draft": draft.pk, "hints": RED, "frame": 0, "evidence": [{"text": "Harbour board colours"}]},
            format="json",
        )
        assert created.status_code == 201, created.content
        correction = Correction.objects.get(pk=created.json()["id"])
        wait_done(lambda: Draft.objects.filter(pk=correction.render_id).first(), 60, "the keyframe's still", workers)
        for name in ("volunteer", "volunteer2", "historian"):
            vote = api(people[name]).post(f"/api/v1/corrections/{correction.pk}/votes/", {"value": 1}, format="json")
            assert vote.status_code in (200, 201), vote.content
        correction.refresh_from_db()
        assert correction.status == CorrectionStatus.ACCEPTED
        community = wait_done(
            lambda: Draft.objects.filter(photo_id=clip_id, purpose=DraftPurpose.COMMUNITY).first(),
            120,
            "the community render",
            workers,
        )
    finally:
        workers.stop_all()

    assert community.hints == {"keyframes": {"0": correction.hints}} and community.frames_done == FRAMES
    before, after = chroma(draft.video.name, tmp_path, "draft.mp4"), chroma(community.video.name, tmp_path, "c.mp4")
    change = np.abs(after - before).mean(axis=(1, 2, 3))
    assert (change[1:CUT] > 2).all() and (change[CUT:] < 0.5).all(), change
    page = client.get(f"/photos/{clip_id}/").content.decode()
    assert "Showing the community version" in page and escape(community.video.url) in page
