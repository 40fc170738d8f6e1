"""Film clips (issue 19) through the one upload path: the API and the upload page, like photos."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.storage import default_storage

from colorization.models import MediaKind, Photo
from tests import videos
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db


def post(api, user, data: bytes, name="clip.mp4", content_type="video/mp4", **fields):
    fields.setdefault("title", "Harbour, 1925")
    return api(user).post(
        "/api/v1/photos/", {"image": upload_file(data, name, content_type), **fields}, format="multipart"
    )


def stored_files(media) -> list:
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


@pytest.mark.parametrize(("suffix", "fmt", "codec", "pix_fmt"), videos.ACCEPTED, ids=[c[2] for c in videos.ACCEPTED])
def test_each_container_and_codec_is_stored_untouched_with_its_metadata(
    api, owner, media_in_tmp, tmp_path, suffix, fmt, codec, pix_fmt
):
    data = videos.make_clip(tmp_path / f"clip.{suffix}", fmt=fmt, codec=codec, pix_fmt=pix_fmt, frames=20).read_bytes()
    response = post(api, owner, data, f"harbour.{suffix}", year_from="1925", genre="street")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["media_kind"] == "video"
    assert (body["width"], body["height"], body["frame_count"], body["fps"]) == (96, 64, 20, "24/1")
    assert body["duration_seconds"] == pytest.approx(20 / 24, abs=0.05)
    assert body["audio_codec"] == ""
    photo = Photo.objects.get()
    assert photo.media_kind == MediaKind.VIDEO and photo.year_from == 1925
    assert photo.original_sha256 == hashlib.sha256(data).hexdigest()
    assert photo.original.name.endswith(f".{suffix}")
    with default_storage.open(photo.original.name) as f:
        assert f.read() == data  # the original, byte for byte
    assert default_storage.exists(photo.thumbnail.name)


def test_the_audio_codec_is_recorded(api, owner, media_in_tmp, tmp_path):
    data = videos.make_clip(tmp_path / "c.mp4", frames=24, audio="aac").read_bytes()
    response = post(api, owner, data)
    assert response.status_code == 201, response.content
    assert response.json()["audio_codec"] == "aac"


def _truncated(tmp_path):
    data = videos.make_clip(tmp_path / "t.mp4", frames=48, width=160, height=96).read_bytes()
    return data[: len(data) * 2 // 3]


def _corrupt(tmp_path):
    data = bytearray(videos.make_clip(tmp_path / "c.mkv", fmt="matroska", codec="mpeg2video", frames=24).read_bytes())
    for i in range(200, len(data), 7):  # the header survives; the pictures do not
        data[i] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (_truncated, "cut.mp4"),
        (_corrupt, "noise.mkv"),
        (lambda tmp: videos.audio_only(tmp / "a.mp4").read_bytes(), "sound.mp4"),
        (lambda tmp: videos.zero_frames(tmp / "z.mp4").read_bytes(), "empty.mp4"),
    ],
    ids=["truncated", "corrupt", "audio-only", "zero-frames"],
)
def test_bad_clips_get_a_400_and_nothing_is_saved(api, owner, media_in_tmp, tmp_path, make, name):
    data = make(tmp_path)
    rows, files = Photo.objects.count(), stored_files(media_in_tmp)
    response = post(api, owner, data, name)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid_clip"
    assert body["detail"].startswith("This clip cannot be accepted") or "damaged" in body["detail"]
    assert Photo.objects.count() == rows
    assert stored_files(media_in_tmp) == files


def test_the_duration_limit_is_a_setting_with_a_clear_400(api, owner, media_in_tmp, tmp_path, settings):
    settings.CHROMA_MAX_VIDEO_SECONDS = 1
    data = videos.make_clip(tmp_path / "long.mp4", frames=72).read_bytes()  # 3 s at 24 fps
    response = post(api, owner, data)
    assert response.status_code == 400
    assert "the limit is 0:01" in response.json()["detail"], response.json()
    assert Photo.objects.count() == 0 and stored_files(media_in_tmp) == []


def test_the_resolution_limit_is_a_setting_with_a_clear_400(api, owner, media_in_tmp, tmp_path, settings):
    settings.CHROMA_MAX_VIDEO_PIXELS = 96 * 64 - 1
    data = videos.make_clip(tmp_path / "big.mp4", frames=12).read_bytes()
    response = post(api, owner, data)
    assert response.status_code == 400
    assert "96×64" in response.json()["detail"] and "pixels per frame" in response.json()["detail"]
    assert Photo.objects.count() == 0 and stored_files(media_in_tmp) == []


def test_the_byte_limit_for_clips_is_its_own_setting(api, owner, media_in_tmp, tmp_path, settings):
    data = videos.make_clip(tmp_path / "c.mp4", frames=12).read_bytes()
    settings.CHROMA_MAX_UPLOAD_BYTES = len(data) - 1  # the photo limit does not apply to clips
    settings.CHROMA_MAX_VIDEO_BYTES = len(data) - 1
    response = post(api, owner, data)
    assert response.status_code == 413
    assert "limit for clips" in response.json()["detail"]
    assert Photo.objects.count() == 0 and stored_files(media_in_tmp) == []
    settings.CHROMA_MAX_VIDEO_BYTES = len(data)
    assert post(api, owner, data).status_code == 201


def test_the_upload_page_takes_a_clip_beside_a_photo(client, owner, media_in_tmp, tmp_path):
    from tests import images

    client.force_login(owner)
    clip = videos.make_clip(tmp_path / "c.webm", fmt="webm", codec="libvpx-vp9", frames=12).read_bytes()
    files = [upload_file(images.jpeg(seed=1), "street.jpg"), upload_file(clip, "harbour.webm", "video/webm")]
    response = client.post("/upload/", {"images": files, "genre": "unknown", "licence": "unknown", "title": ""})
    assert response.status_code in (200, 302), response.content[:2000]
    kinds = sorted(Photo.objects.values_list("media_kind", "image_format"))
    assert kinds == [("image", "JPEG"), ("video", "WEBM")]


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", None),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", None),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41", "MP4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "MOV"),
        (b"RIFF\x00\x10\x00\x00AVI LIST", "AVI"),
        (b"RIFF\x00\x10\x00\x00WEBPVP8 ", None),
        (
            b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm",
            "WEBM",
        ),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x88matroska", "MKV"),
    ],
    ids=["heic", "avif", "mp4", "mov", "avi", "webp", "webm", "mkv"],
)
def test_the_container_is_sniffed_from_the_bytes_and_stills_stay_photographs(head, kind):
    from colorization.clips import sniff_container

    assert sniff_container(head) == kind


def test_media_answers_range_requests_so_players_can_seek(client, media_in_tmp):
    from django.core.files.base import ContentFile

    key = default_storage.save("drafts/1/clip.mp4", ContentFile(b"0123456789"))
    url = default_storage.url(key)
    whole = client.get(url)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    part = client.get(url, HTTP_RANGE="bytes=2-5")
    assert (part.status_code, part.content, part["Content-Range"]) == (206, b"2345", "bytes 2-5/10")
    assert client.get(url, HTTP_RANGE="bytes=-3").content == b"789"
    assert client.get(url, HTTP_RANGE="bytes=7-").content == b"789"
    outside = client.get(url, HTTP_RANGE="bytes=10-")
    assert (outside.status_code, outside["Content-Range"]) == (416, "bytes */10")
    assert client.get(url.replace("s=", "s=0"), HTTP_RANGE="bytes=0-").status_code == 403  # still signed
