"""Uploads through the API, with real good and bad files made by the tests."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from colorization.models import Photo
from tests import images
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db


def post(api, user, data: bytes, name="photo.jpg", content_type="image/jpeg", **fields):
    fields.setdefault("title", "Main street")
    return api(user).post(
        "/api/v1/photos/", {"image": upload_file(data, name, content_type), **fields}, format="multipart"
    )


def stored_files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


@pytest.mark.parametrize(
    ("data", "name", "content_type", "status", "code"),
    [
        (images.truncated_jpeg(), "photo.jpg", "image/jpeg", 400, "corrupt"),
        (images.zip_file(), "photo.jpg", "image/jpeg", 415, "unsupported_type"),
        (images.html_file(), "photo.png", "image/png", 415, "unsupported_type"),
        (images.thin_image(), "thin.png", "image/png", 400, "too_small"),
        (b"", "empty.jpg", "image/jpeg", 400, None),
    ],
    ids=["truncated-jpeg", "zip-renamed-jpg", "html-as-image", "1x20000", "empty"],
)
def test_it_refuses_bad_files_with_a_clear_error_and_saves_nothing(
    api, owner, media_in_tmp, data, name, content_type, status, code
):
    response = post(api, owner, data, name, content_type)
    assert response.status_code == status, response.content
    body = response.json()
    assert body["detail"]
    if code:
        assert body["error"] == code
    assert Photo.objects.count() == 0
    assert stored_files(media_in_tmp) == []


def test_it_refuses_a_decompression_bomb_before_decoding_it(api, owner, media_in_tmp, settings):
    settings.CHROMA_MAX_IMAGE_PIXELS = 50_000_000
    bomb = images.decompression_bomb(20000)  # 400 megapixels in a few hundred kB
    assert len(bomb) < 2_000_000
    response = post(api, owner, bomb, "bomb.png", "image/png")
    assert response.status_code == 413
    assert response.json()["error"] == "too_many_pixels"
    assert "pixels" in response.json()["detail"]
    assert Photo.objects.count() == 0
    assert stored_files(media_in_tmp) == []


def test_it_refuses_files_over_the_byte_limit_with_413(api, owner, settings):
    settings.CHROMA_MAX_UPLOAD_BYTES = 2000
    response = post(api, owner, images.jpeg(256, 256, seed=5))
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


@pytest.mark.parametrize(
    ("data", "fmt", "size", "bit_depth", "colour"),
    [
        (images.cmyk_jpeg(), "JPEG", (80, 60), 8, False),
        (images.tiff16(), "TIFF", (64, 48), 16, False),
        (images.multipage_tiff(), "TIFF", (64, 48), 8, False),
        (images.animated_gif(), "GIF", (40, 30), 8, False),
        (images.exif_rotated_jpeg(), "JPEG", (40, 80), 8, False),
        (images.webp(), "WEBP", (64, 48), 8, False),
        (images.sepia_jpeg(), "JPEG", (64, 48), 8, True),
        (images.heic(), "HEIF", (64, 48), 8, False),
    ],
    ids=["cmyk-jpeg", "16-bit-tiff", "multipage-tiff", "animated-gif", "exif-rotated", "webp", "sepia", "heic"],
)
def test_it_accepts_what_archives_produce(api, owner, media_in_tmp, data, fmt, size, bit_depth, colour):
    response = post(api, owner, data, "scan.bin", "application/octet-stream")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["image_format"] == fmt
    assert (body["width"], body["height"]) == size
    assert body["bit_depth"] == bit_depth
    assert body["is_colour_source"] is colour
    photo = Photo.objects.get()
    # The original is stored byte for byte, with its checksum.
    with default_storage.open(photo.original.name) as f:
        stored = f.read()
    assert stored == data
    assert photo.original_sha256 == hashlib.sha256(data).hexdigest()
    # The thumbnail is upright (EXIF applied) and at most the configured size.
    with default_storage.open(photo.thumbnail.name) as f, Image.open(f) as thumb:
        assert thumb.format == "JPEG"
        assert (thumb.width >= thumb.height) == (size[0] >= size[1])


def test_uploading_the_same_bytes_twice_links_to_the_first_photo(api, owner, other_user):
    data = images.jpeg(seed=42)
    first = post(api, owner, data, title="First")
    second = post(api, other_user, data, title="Second")
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    assert second.json()["id"] == first.json()["id"]
    assert "uploaded before" in second.json()["detail"]
    assert Photo.objects.count() == 1


def test_a_failed_database_write_leaves_no_files_behind(api, owner, media_in_tmp, monkeypatch):
    from colorization import services

    def explode(photo):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_after_upload", explode)
    with pytest.raises(RuntimeError):
        services.photo_upload(owner=owner, file=upload_file(images.jpeg(seed=9)), metadata={"title": "x"})
    assert Photo.objects.count() == 0
    assert stored_files(media_in_tmp) == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": ""}, "title"),
        ({"genre": "spaceships"}, "genre"),
        ({"year_from": "1920", "year_to": "1910"}, "year_to"),
        ({"year_from": "1700"}, "year_from"),
        ({"licence": "mine"}, "licence"),
    ],
)
def test_it_explains_bad_metadata_per_field(api, owner, media_in_tmp, fields, field):
    response = post(api, owner, images.jpeg(seed=7), **fields)
    assert response.status_code == 400
    body = response.json()
    assert field in body["fields"]
    assert body["detail"]
    assert Photo.objects.count() == 0
    assert stored_files(media_in_tmp) == []
