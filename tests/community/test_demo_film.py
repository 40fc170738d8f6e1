"""Issue 19: ``bin/run``'s demo (``demo_setup``) loads one black-and-white film clip with its source and
licence, through the one upload path; the worker renders it and the gallery shows it with the Film badge."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command

from colorization.engine.video import read_tags
from colorization.models import DraftStatus, MediaKind, Photo
from colorization.tasks import colorize_draft
from community.management.commands.demo_setup import DEMO_FILM, SHARED_FILM

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    messages = []
    monkeypatch.setattr(colorize_draft, "apply_async", lambda args, queue, **kw: messages.append((args[0], queue)))
    return messages


def test_the_demo_loads_the_black_and_white_clip_and_the_worker_renders_it(
    tmp_path, client, media_in_tmp, tiny_base_model, sent, django_capture_on_commit_callbacks
):
    if not SHARED_FILM.is_file():
        pytest.skip(f"{SHARED_FILM} is not here")
    no_photos = tmp_path / "photos"
    no_photos.mkdir()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_setup", "--photos-from", str(no_photos), stdout=(out := _Out()))
    assert "Demo film: Tourists Going Round Yellowstone Park (Edison, 1899) (added" in out.text
    clip = Photo.objects.get(media_kind=MediaKind.VIDEO)
    assert (clip.title, clip.year_from, clip.licence) == (DEMO_FILM["title"], 1899, "public-domain")
    assert clip.source_reference == "https://www.loc.gov/item/00694320/"
    assert "Library of Congress" in clip.source_archive and "Edison" in clip.credit_line
    assert (clip.width, clip.height, clip.frame_count, clip.fps) == (320, 240, 524, "30000/1001")
    assert clip.web_video.name == clip.original.name  # H.264 MP4: browsers play the original itself
    draft = clip.drafts.get()
    assert sent == [(draft.pk, "gpu")]  # queued for the worker, like any upload's first draft

    started = time.monotonic()
    assert colorize_draft.apply(args=[draft.pk]).get() == f"done [{draft.pk}], failed []"
    seconds = time.monotonic() - started
    draft.refresh_from_db()
    assert (draft.status, draft.frames_done) == (DraftStatus.DONE, 524), seconds
    assert "AI-colorized" in read_tags(_local(draft.video.name, tmp_path))["comment"]
    gallery = client.get("/gallery/").content.decode()
    assert gallery.count("data-film") == 1 and "Tourists Going Round Yellowstone Park" in gallery
    assert b'id="clip-colour"' in client.get(f"/photos/{clip.pk}/").content

    # Running the demo set-up again adds nothing.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_setup", "--photos-from", str(no_photos), stdout=(again := _Out()))
    assert "already here" in again.text and Photo.objects.filter(media_kind=MediaKind.VIDEO).count() == 1


def test_the_demo_does_without_the_clip_where_the_shared_data_is_missing(tmp_path, media_in_tmp, sent):
    call_command(
        "demo_setup", "--photos-from", str(tmp_path), "--film", str(tmp_path / "none.mp4"), stdout=(o := _Out())
    )
    assert "Demo film: none" in o.text and not Photo.objects.filter(media_kind=MediaKind.VIDEO).exists()


class _Out:
    def __init__(self):
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def _local(key: str, tmp_path):
    from django.core.files.storage import default_storage

    path = tmp_path / "colour.mp4"
    with default_storage.open(key, "rb") as f:
        path.write_bytes(f.read())
    return path
