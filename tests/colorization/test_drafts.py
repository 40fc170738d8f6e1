"""Drafts in one process: requesting, the worker task, batching, failures, the sweeper, disclosure."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from colorization import drafting
from colorization.drafting import result_keys
from colorization.engine.imageio import read_disclosure, read_luminance
from colorization.media import key_token
from colorization.models import Draft, DraftStatus
from colorization.tasks import colorize_draft, sweep_drafts
from tests import images
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Record the messages drafts send instead of putting them on the broker."""
    messages = []
    monkeypatch.setattr(colorize_draft, "apply_async", lambda args, queue, **kw: messages.append((args[0], queue)))
    return messages


def run(draft: Draft) -> str:
    return colorize_draft.apply(args=[draft.pk]).get()


def stored(prefix: str) -> list[str]:
    return sorted(default_storage.listdir(prefix)[1]) if default_storage.exists(prefix) else []


def test_an_upload_queues_a_draft_that_records_its_model(
    api, owner, tiny_base_model, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(owner).post(
            "/api/v1/photos/", {"image": upload_file(images.jpeg(seed=1)), "title": "x"}, format="multipart"
        )
    assert response.status_code == 201
    draft = Draft.objects.get()
    assert (draft.status, draft.progress) == (DraftStatus.QUEUED, 0)
    assert (draft.model_slug, draft.model_version) == ("base", "test")
    assert len(draft.model_sha256) == 64
    assert draft.render_size == 64
    assert sent == [(draft.pk, "gpu")]
    assert draft.enqueued_at is not None


def test_the_task_makes_a_labelled_draft_that_keeps_the_luminance(owner, make_photo, tiny_base_model, sent):
    photo = make_photo(owner, data=images.jpeg(120, 80, seed=4))
    draft = photo.drafts.get()
    run(draft)
    draft.refresh_from_db()
    assert (draft.status, draft.progress, draft.error) == (DraftStatus.DONE, 100, "")
    assert draft.device == "cpu"
    assert draft.duration_ms is not None
    assert draft.batch_size == 1
    with default_storage.open(photo.original.name) as f:
        original = read_luminance(f)
    for field in ("image", "image_jpeg"):
        with default_storage.open(getattr(draft, field).name) as f:
            data = f.read()
        disclosure = read_disclosure(data)
        assert disclosure["digital_source_type"].endswith("compositeWithTrainedAlgorithmicMedia")
        assert disclosure["model"] == "base"
        assert disclosure["model_version"] == "test"
        assert disclosure["original_sha256"] == photo.original_sha256
        assert "Colorized by Chroma Commons; colours are an AI estimate" in disclosure["description"]
    with default_storage.open(draft.image.name) as f:
        colour = read_luminance(f)
    assert np.abs(colour.L - original.L).max() <= 0.5  # lossless PNG: only 8-bit rounding


def test_running_a_draft_twice_stores_one_result(owner, make_photo, tiny_base_model, sent):
    photo = make_photo(owner)
    draft = photo.drafts.get()
    run(draft)
    first = stored(f"drafts/{photo.pk}")
    assert run(draft).startswith("not claimable")
    Draft.objects.filter(pk=draft.pk).update(status=DraftStatus.QUEUED)  # as if a message came back late
    run(draft)
    token = key_token(f"draft:{draft.pk}")
    expected = [f"{draft.pk}-{token}-thumb.jpg", f"{draft.pk}-{token}.jpg", f"{draft.pk}-{token}.png"]
    assert stored(f"drafts/{photo.pk}") == first == expected


def test_draft_keys_are_not_guessable_from_ids(owner, make_photo):
    draft = make_photo(owner).drafts.get()
    keys = result_keys(draft)
    assert f"/{draft.pk}.png" not in keys["image"]
    assert len(keys["image"].rsplit("-", 1)[-1]) >= 20


def test_waiting_drafts_share_one_forward_pass(owner, make_photo, tiny_base_model, sent, settings):
    settings.CHROMA_DRAFT_BATCH_MAX = 3
    drafts = [make_photo(owner).drafts.get() for _ in range(4)]
    run(drafts[0])
    statuses = {d.pk: (d.status, d.batch_size) for d in Draft.objects.all()}
    assert [statuses[d.pk] for d in drafts[:3]] == [(DraftStatus.DONE, 3)] * 3
    assert statuses[drafts[3].pk] == (DraftStatus.QUEUED, None)
    assert run(drafts[1]).startswith("not claimable")  # its own message arrives later: nothing to do


def test_only_drafts_of_the_same_shape_and_settings_are_batched(owner, make_photo, tiny_base_model, sent):
    lead = make_photo(owner, data=images.jpeg(120, 80, seed=1)).drafts.get()
    same = make_photo(owner, data=images.jpeg(120, 80, seed=2)).drafts.get()
    portrait = make_photo(owner, data=images.jpeg(80, 120, seed=3)).drafts.get()
    stronger = make_photo(owner, data=images.jpeg(120, 80, seed=4)).drafts.get()
    Draft.objects.filter(pk=stronger.pk).update(saturation=1.5)
    run(lead)
    status = dict(Draft.objects.values_list("pk", "status"))
    assert (status[lead.pk], status[same.pk]) == (DraftStatus.DONE, DraftStatus.DONE)
    assert (status[portrait.pk], status[stronger.pk]) == (DraftStatus.QUEUED, DraftStatus.QUEUED)


def test_a_corrupt_original_fails_with_a_reason_and_can_be_retried(owner, make_photo, tiny_base_model, sent):
    photo = make_photo(owner)
    with default_storage.open(photo.original.name, "wb") as f:  # damage it behind the platform's back
        f.write(b"not an image any more")
    draft = photo.drafts.get()
    run(draft)
    draft.refresh_from_db()
    assert draft.status == DraftStatus.FAILED
    assert "could not be read" in draft.error
    retry = drafting.draft_retry(draft=draft, requested_by=owner)
    assert (retry.status, retry.render_size, retry.model_sha256) == (
        DraftStatus.QUEUED,
        draft.render_size,
        draft.model_sha256,
    )


def test_bad_draft_requests_are_refused(owner, make_photo, tiny_base_model, sent):
    from django.core.exceptions import ValidationError

    photo = make_photo(owner)
    with pytest.raises(ValidationError) as info:
        drafting.draft_request(photo=photo, render_size=10, saturation=3, model="nope", hints={"points": "x"})
    assert set(info.value.message_dict) == {"render_size", "saturation", "model", "hints"}


def test_a_transient_error_gives_the_draft_back_and_retries(owner, make_photo, tiny_base_model, sent, monkeypatch):
    from django.db import OperationalError

    photo = make_photo(owner)
    draft = photo.drafts.get()
    real_render, calls = drafting.drafts_render, []

    def flaky_once(draft_id):
        calls.append(Draft.objects.get(pk=draft_id).status)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        return real_render(draft_id)

    monkeypatch.setattr(drafting, "drafts_render", flaky_once)
    colorize_draft.apply(args=[draft.pk])  # eager: the retry runs at once
    draft.refresh_from_db()
    assert calls == [DraftStatus.RUNNING, DraftStatus.RUNNING]  # released, then claimed again
    assert (draft.status, draft.attempts) == (DraftStatus.DONE, 2)


def test_the_sweeper_recovers_drafts_of_dead_workers(owner, make_photo, tiny_base_model, sent, settings):
    settings.CHROMA_DRAFT_STALE_SECONDS = 60
    draft = make_photo(owner).drafts.get()
    assert drafting.draft_claim(draft.pk)
    Draft.objects.filter(pk=draft.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=120), enqueued_at=timezone.now() - timedelta(seconds=600)
    )
    assert sweep_drafts.apply().get()["requeued_running"] == 1
    draft.refresh_from_db()
    assert draft.status == DraftStatus.QUEUED
    assert sent[-1] == (draft.pk, "cpu")  # it waited for a GPU long enough: the CPU queue takes it
    run(draft)
    draft.refresh_from_db()
    assert (draft.status, draft.attempts) == (DraftStatus.DONE, 2)


def test_the_sweeper_resends_drafts_whose_message_never_left(owner, make_photo, tiny_base_model, sent):
    draft = make_photo(owner).drafts.get()
    assert draft.enqueued_at is None  # in this test the upload's commit never happened
    assert sweep_drafts.apply().get()["resent_queued"] == 1
    assert sent == [(draft.pk, "gpu")]


def test_the_sweeper_gives_up_after_too_many_attempts(owner, make_photo, tiny_base_model, sent, settings):
    draft = make_photo(owner).drafts.get()
    Draft.objects.filter(pk=draft.pk).update(
        status=DraftStatus.RUNNING,
        attempts=settings.CHROMA_DRAFT_MAX_ATTEMPTS,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    assert sweep_drafts.apply().get()["failed_exhausted"] == 1
    draft.refresh_from_db()
    assert draft.status == DraftStatus.FAILED
    assert "Gave up" in draft.error


def test_an_unreachable_broker_does_not_lose_the_upload(
    api, owner, tiny_base_model, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    def down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(colorize_draft, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(owner).post(
            "/api/v1/photos/", {"image": upload_file(images.jpeg(seed=8)), "title": "x"}, format="multipart"
        )
    assert response.status_code == 201
    draft = Draft.objects.get()
    assert (draft.status, draft.enqueued_at) == (DraftStatus.QUEUED, None)


def test_an_upload_is_kept_when_no_model_is_available(api, owner, settings, tmp_path):
    settings.CHROMA_BASE_MODEL_PATH = str(tmp_path / "missing.safetensors")
    response = api(owner).post(
        "/api/v1/photos/", {"image": upload_file(images.jpeg(seed=2)), "title": "x"}, format="multipart"
    )
    assert response.status_code == 201
    assert Draft.objects.count() == 0


def test_a_failed_send_leaves_the_next_drafts_to_the_sweeper_without_trying(owner, make_photo, tiny_base_model, sent):
    from kombu.exceptions import OperationalError

    first, second = (make_photo(owner).drafts.get() for _ in range(2))
    with pytest.MonkeyPatch.context() as broken:
        broken.setattr(colorize_draft, "apply_async", lambda *a, **kw: (_ for _ in ()).throw(OperationalError("down")))
        assert drafting.draft_enqueue(first.pk) is False
    assert drafting.draft_enqueue(second.pk) is False  # within the back-off: no second wait on the broker
    assert sent == []
    drafting._broker_down_until = 0.0
    assert drafting.draft_enqueue(second.pk) is True


def test_a_draft_held_by_a_dead_process_of_this_host_is_claimed_at_once(owner, make_photo, tiny_base_model):
    import socket
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    draft = make_photo(owner).drafts.get()
    Draft.objects.filter(pk=draft.pk).update(
        status=DraftStatus.RUNNING, worker=f"{socket.gethostname()}:{gone.pid}", heartbeat_at=timezone.now(), attempts=1
    )
    assert drafting.draft_claim(draft.pk)
    draft.refresh_from_db()
    assert (draft.status, draft.attempts) == (DraftStatus.RUNNING, 2)


def test_a_draft_held_by_a_live_process_is_not_taken(owner, make_photo, tiny_base_model):
    import os
    import socket

    draft = make_photo(owner).drafts.get()
    Draft.objects.filter(pk=draft.pk).update(
        status=DraftStatus.RUNNING, worker=f"{socket.gethostname()}:{os.getppid()}", heartbeat_at=timezone.now()
    )
    assert not drafting.draft_claim(draft.pk)


def test_a_redelivered_draft_running_elsewhere_is_looked_at_again_when_its_heartbeat_would_be_stale(
    owner, make_photo, tiny_base_model, settings, monkeypatch
):
    from celery.exceptions import Retry

    settings.CHROMA_DRAFT_STALE_SECONDS = 10
    draft = make_photo(owner).drafts.get()
    Draft.objects.filter(pk=draft.pk).update(
        status=DraftStatus.RUNNING, worker="another-host:1", heartbeat_at=timezone.now() - timedelta(seconds=4)
    )
    countdowns = []

    def retry(**kwargs):
        countdowns.append(kwargs["countdown"])
        raise Retry()

    monkeypatch.setattr(colorize_draft, "retry", retry)
    with pytest.raises(Retry):
        colorize_draft(draft.pk)
    assert 6 < countdowns[0] <= 7.1  # the 6 s left of the stale window, and a second
    Draft.objects.filter(pk=draft.pk).update(status=DraftStatus.DONE)
    assert colorize_draft(draft.pk) == "not claimable (done or failed)"
