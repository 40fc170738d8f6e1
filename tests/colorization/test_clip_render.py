"""A film clip's draft: the same Draft row, task, claim and heartbeat as a photo's, rendered in chunks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from colorization import drafting, film
from colorization.drafting import draft_request
from colorization.engine.video import probe, read_tags
from colorization.models import Draft, DraftStatus, Photo
from colorization.tasks import colorize_draft
from tests import videos
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db

FRAMES = 24


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the worker's code gets to handle it."""


@pytest.fixture
def sent(monkeypatch):
    messages = []
    monkeypatch.setattr(colorize_draft, "apply_async", lambda args, queue, **kw: messages.append((args[0], queue)))
    return messages


@pytest.fixture
def clip(api, owner, media_in_tmp, tiny_base_model, sent, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.CHROMA_VIDEO_CHUNK_FRAMES = 8
    settings.CHROMA_VIDEO_PROGRESS_SECONDS = 0
    source = videos.make_clip(tmp_path / "in.mp4", frames=FRAMES, shots=[0, 12], audio="aac")
    with django_capture_on_commit_callbacks(execute=True):
        response = api(owner).post(
            "/api/v1/photos/",
            {"image": upload_file(source.read_bytes(), "harbour.mp4", "video/mp4"), "title": "Harbour"},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    return Photo.objects.get(pk=response.json()["id"])


def local(key: str, tmp_path, name: str):
    path = tmp_path / name
    with default_storage.open(key, "rb") as f:
        path.write_bytes(f.read())
    return path


def test_a_killed_worker_resumes_from_the_last_chunk_and_the_result_equals_one_pass(
    clip, owner, api, sent, tmp_path, monkeypatch
):
    draft = clip.drafts.get()
    assert sent == [(draft.pk, "gpu")]  # the upload queued it like a photo's draft
    seen: list[tuple[int, int]] = []
    real_progress = film._frame_progress

    def dying(draft_id, done, total):
        real_progress(draft_id, done, total)
        seen.append((done, total))
        body = api(owner).get(f"/api/v1/drafts/{draft_id}/").json()  # progress per frame, through the API
        assert (body["frames_done"], body["frames_total"]) == (done, total)
        assert body["stage"] == f"Colorizing frame {done} of {total}"
        if done == 11:  # in the second chunk
            raise WorkerKilled

    monkeypatch.setattr(film, "_frame_progress", dying)
    assert drafting.draft_claim(draft.pk)
    with pytest.raises(WorkerKilled):
        drafting.drafts_render(draft.pk)
    draft.refresh_from_db()
    assert draft.status == DraftStatus.RUNNING and len(draft.chunks) == 1 and draft.frames_done == 11
    assert [d for d, _ in seen] == list(range(1, 12))

    # Its heartbeat goes stale; the task comes back (the sweeper, or the redelivered message).
    Draft.objects.filter(pk=draft.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    seen.clear()
    monkeypatch.setattr(film, "_frame_progress", lambda i, d, t: (real_progress(i, d, t), seen.append((d, t))))
    assert colorize_draft.apply(args=[draft.pk]).get() == f"done [{draft.pk}], failed []"
    assert [d for d, _ in seen] == list(range(9, FRAMES + 1))  # from the last finished chunk, not from zero
    draft.refresh_from_db()
    assert (draft.status, draft.progress, draft.frames_done, draft.attempts) == (DraftStatus.DONE, 100, FRAMES, 2)
    resumed = local(draft.video.name, tmp_path, "resumed.mp4")

    # The same render in one go.
    monkeypatch.setattr(film, "_frame_progress", real_progress)
    again = draft_request(photo=clip, requested_by=owner)
    assert colorize_draft.apply(args=[again.pk]).get() == f"done [{again.pk}], failed []"
    again.refresh_from_db()
    whole = local(again.video.name, tmp_path, "whole.mp4")
    a, b = videos.read_planes(resumed), videos.read_planes(whole)
    assert len(a) == len(b) == FRAMES
    for (ya, ua, va), (yb, ub, vb) in zip(a, b, strict=True):
        assert (ya == yb).all() and (ua == ub).all() and (va == vb).all()

    info = probe(resumed)
    assert (info.frames, info.fps, info.codec, info.audio_codec) == (FRAMES, 24, "h264", "aac")
    assert videos.audio_seconds(resumed) == pytest.approx(1.0, abs=0.05)
    tags = read_tags(resumed)
    assert "AI-colorized" in tags["comment"] and tags["chroma_original_sha256"] == clip.original_sha256
    # The chunk files are removed once the clip is whole; the shots were stored once.
    assert not default_storage.exists(draft.chunks[0]["video"])
    assert [(s.start_frame, s.end_frame) for s in clip.shots.all()] == [(0, 12), (12, FRAMES)]
    assert all(s.keyframes and s.keyframes[0] == s.start_frame for s in clip.shots.all())
    body = api(owner).get(f"/api/v1/drafts/{draft.pk}/").json()
    assert body["video_url"] and body["thumbnail_url"] and body["image_url"] is None


def test_clip_drafts_are_never_batched_with_photo_drafts(clip, owner, make_photo, sent):
    from tests import images

    photo = make_photo(owner, data=images.jpeg(96, 64, seed=3))
    clip_draft, photo_draft = clip.drafts.get(), photo.drafts.get()
    assert colorize_draft.apply(args=[photo_draft.pk]).get() == f"done [{photo_draft.pk}], failed []"
    clip_draft.refresh_from_db()
    assert clip_draft.status == DraftStatus.QUEUED  # not swept into the photo's forward pass
    assert colorize_draft.apply(args=[clip_draft.pk]).get() == f"done [{clip_draft.pk}], failed []"


def test_a_rendered_clip_does_not_break_the_pages_that_list_photos(clip, client, owner):
    draft = clip.drafts.get()
    assert colorize_draft.apply(args=[draft.pk]).get() == f"done [{draft.pk}], failed []"
    page = client.get(f"/photos/{clip.pk}/")
    assert page.status_code == 200
    assert b'id="clip-colour"' in page.content and b"AI-colorized" in page.content
    for url in ("/", "/gallery/", f"/iiif/photos/{clip.pk}/manifest.json", "/feeds/accepted.atom"):
        assert client.get(url).status_code == 200, url
    gallery = client.get("/gallery/").content.decode()
    assert gallery.count("data-film") == 1 and "Harbour" in gallery  # the clip's card has the Film badge
    client.force_login(owner)
    assert client.get(f"/photos/{clip.pk}/").status_code == 200  # signed in: not the cached page


def test_a_clip_draft_over_the_time_limit_is_requeued_not_failed(clip, sent, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    draft = clip.drafts.get()
    sent.clear()

    def too_long(draft_id):
        raise SoftTimeLimitExceeded

    monkeypatch.setattr(drafting, "drafts_render", too_long)
    assert colorize_draft.apply(args=[draft.pk]).get() == "continues in a new task (time limit)"
    draft.refresh_from_db()
    assert draft.status == DraftStatus.QUEUED and sent == [(draft.pk, "gpu")]


def test_a_clip_with_fewer_pictures_than_packets_finishes_with_its_true_frame_count(clip):
    # The upload counts packets (it does not decode the whole clip); say a few did not decode.
    Photo.objects.filter(pk=clip.pk).update(frame_count=FRAMES + 5)
    draft = clip.drafts.get()
    assert colorize_draft.apply(args=[draft.pk]).get() == f"done [{draft.pk}], failed []"
    draft.refresh_from_db()
    clip.refresh_from_db()
    assert (draft.status, draft.frames_done, draft.frames_total, clip.frame_count) == (
        DraftStatus.DONE,
        FRAMES,
        FRAMES,
        FRAMES,
    )
    assert len(draft.chunks) == FRAMES // 8  # no empty chunk was stored
