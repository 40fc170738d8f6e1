"""Film clips browsers cannot play (ProRes/MOV, MPEG-4 part 2 in AVI...): the worker makes an H.264/AAC
copy for the player's "original" side; the original stays untouched and is what the download serves."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.utils.html import escape

from colorization.engine.video import check
from colorization.models import Photo
from colorization.tasks import colorize_draft
from tests import videos
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db

FRAMES = 16


@pytest.fixture
def sent(monkeypatch):
    messages = []
    monkeypatch.setattr(colorize_draft, "apply_async", lambda args, queue, **kw: messages.append((args[0], queue)))
    return messages


def upload(api, owner, data: bytes, name: str, django_capture_on_commit_callbacks) -> Photo:
    with django_capture_on_commit_callbacks(execute=True):
        response = api(owner).post(
            "/api/v1/photos/",
            {"image": upload_file(data, name, "application/octet-stream"), "title": "Harbour"},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    return Photo.objects.get(pk=response.json()["id"])


def local(key: str, path):
    with default_storage.open(key, "rb") as f:
        path.write_bytes(f.read())
    return path


@pytest.mark.parametrize(
    ("suffix", "fmt", "codec", "pix_fmt", "audio"),
    [("mov", "mov", "prores_ks", "yuv422p10le", "pcm_s16le"), ("avi", "avi", "mpeg4", "yuv420p", None)],
    ids=["prores-mov", "mpeg4-avi"],
)
def test_an_original_browsers_cannot_play_gets_an_h264_copy_and_stays_untouched(
    api,
    client,
    owner,
    media_in_tmp,
    tiny_base_model,
    sent,
    settings,
    tmp_path,
    django_capture_on_commit_callbacks,
    suffix,
    fmt,
    codec,
    pix_fmt,
    audio,
):
    settings.CHROMA_VIDEO_CHUNK_FRAMES = 8
    source = videos.make_clip(
        tmp_path / f"in.{suffix}", fmt=fmt, codec=codec, pix_fmt=pix_fmt, frames=FRAMES, audio=audio
    )
    data = source.read_bytes()
    photo = upload(api, owner, data, f"harbour.{suffix}", django_capture_on_commit_callbacks)
    assert photo.web_video.name == ""  # not playable as it is; nothing yet
    assert api(owner).get(f"/api/v1/photos/{photo.pk}/").json()["web_video_url"] is None
    page = client.get(f"/photos/{photo.pk}/").content.decode()
    assert 'id="clip-web-copy"' in page and "first colour render" in page

    draft = photo.drafts.get()
    assert colorize_draft.apply(args=[draft.pk]).get() == f"done [{draft.pk}], failed []"
    photo.refresh_from_db()
    assert photo.web_video.name == f"web/{photo.original_sha256[:2]}/{photo.original_sha256}.mp4"
    body = api(owner).get(f"/api/v1/photos/{photo.pk}/").json()
    assert body["web_video_url"] == f"http://testserver{photo.web_video.url}" != body["original_url"]
    copy = local(photo.web_video.name, tmp_path / "web.mp4")
    info = check(copy)
    assert (info.codec, info.pix_fmt, info.width, info.height, info.frames) == ("h264", "yuv420p", 96, 64, FRAMES)
    assert info.audio_codec == ("aac" if audio else None)
    if audio:
        assert videos.audio_seconds(copy) == pytest.approx(FRAMES / 24, abs=0.05)
    # The pictures are the original's: same luma up to the (near-transparent) H.264 encode.
    for (y0, _, _), (y1, _, _) in zip(videos.read_planes(source), videos.read_planes(copy), strict=True):
        assert np.abs(y0.astype(int) - y1).mean() < 2.0

    # The original is untouched, and the download serves it, not the copy.
    with default_storage.open(photo.original.name, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == photo.original_sha256 == hashlib.sha256(data).hexdigest()
    download = client.get(f"/photos/{photo.pk}/download/original")
    assert b"".join(download.streaming_content) == data
    page = client.get(f"/photos/{photo.pk}/").content.decode()
    assert f'src="{escape(photo.web_video.url)}"' in page and "data-web-copy" in page
    assert "the player shows an H.264 copy" in page
    assert f'src="{escape(photo.original.url)}"' not in page

    # A second render reuses the copy.
    from colorization.drafting import draft_request

    again = draft_request(photo=photo, requested_by=owner)
    before = default_storage.get_modified_time(photo.web_video.name)
    assert colorize_draft.apply(args=[again.pk]).get() == f"done [{again.pk}], failed []"
    assert default_storage.get_modified_time(photo.web_video.name) == before


def test_an_original_browsers_play_is_its_own_player_source(
    api, client, owner, media_in_tmp, sent, tmp_path, django_capture_on_commit_callbacks
):
    data = videos.make_clip(tmp_path / "in.mp4", frames=12, audio="aac").read_bytes()
    photo = upload(api, owner, data, "harbour.mp4", django_capture_on_commit_callbacks)
    assert photo.web_video.name == photo.original.name  # no copy: the original plays
    page = client.get(f"/photos/{photo.pk}/").content.decode()
    assert f'src="{escape(photo.original.url)}"' in page and 'id="clip-web-copy"' not in page


def test_the_api_gives_the_web_playable_original_only_to_those_who_may_see_the_clip(
    api, owner, other_user, make_photo, media_in_tmp, sent, tmp_path, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    data = videos.make_clip(tmp_path / "in.mp4", frames=12).read_bytes()
    clip = upload(api, owner, data, "harbour.mp4", django_capture_on_commit_callbacks)
    photo = make_photo(owner)
    body = api(other_user).get(f"/api/v1/photos/{clip.pk}/").json()
    assert body["web_video_url"] == body["original_url"] == f"http://testserver{clip.original.url}"  # it plays
    assert api(other_user).get(f"/api/v1/photos/{photo.pk}/").json()["web_video_url"] is None  # a photograph
    listed = {p["id"]: p for p in api(other_user).get("/api/v1/photos/").json()["results"]}
    assert listed[clip.pk]["web_video_url"] == body["web_video_url"] and listed[photo.pk]["web_video_url"] is None

    Photo.objects.filter(pk=clip.pk).update(hidden_at=timezone.now())
    assert api(other_user).get(f"/api/v1/photos/{clip.pk}/").status_code == 404
    assert clip.pk not in {p["id"] for p in api(other_user).get("/api/v1/photos/").json()["results"]}
    assert api(owner).get(f"/api/v1/photos/{clip.pk}/").json()["web_video_url"] == body["web_video_url"]


def test_the_schema_documents_the_web_playable_original_and_a_clips_community_version():
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/?format=json").json()["components"]["schemas"]
    web = schema["Photo"]["properties"]["web_video_url"]
    assert web["type"] == "string" and web["nullable"] is True and "browsers play" in web["description"]
    assert "web_video_url" in schema["PhotoWithCommunity"]["properties"]
    version = schema["PhotoWithCommunity"]["properties"]["community_version"]
    refs = {item["$ref"].rsplit("/", 1)[1] for item in schema["CommunityVersion"]["oneOf"]}
    assert "CommunityVersion" in json.dumps(version) and refs == {"Correction", "ClipCommunityVersion"}
    clip_version = schema["ClipCommunityVersion"]["properties"]
    assert {"video_url", "thumbnail_url", "label", "ai_disclosure", "keyframes"} <= set(clip_version)
