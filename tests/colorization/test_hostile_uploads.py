"""Hostile uploads through both doors: no server error, and nothing half-saved."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from colorization.models import Draft, Photo
from tests.colorization.hostile import corpus
from tests.conftest import api_client_for

pytestmark = pytest.mark.slow

CORPUS = corpus()


def test_the_corpus_is_large_and_varied():
    assert len(CORPUS) >= 200
    kinds = {case.split("-")[0] for case, _, _ in CORPUS}
    assert {"truncated", "bomb", "exif", "icc", "xmp", "tiff", "gif", "zero", "wrong", "appended"} <= kinds


def _state(media: Path) -> tuple[int, int, set[str]]:
    files = {str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()} if media.exists() else set()
    return Photo.objects.count(), Draft.objects.count(), files


def _assert_consistent(media: Path) -> None:
    """Every stored original and thumbnail belongs to a photo, and every photo's files exist."""
    _, _, files = _state(media)
    referenced = set()
    for original, thumbnail in Photo.objects.values_list("original", "thumbnail"):
        referenced |= {original, thumbnail}
    stored = {f for f in files if f.startswith(("originals/", "thumbnails/"))}
    assert stored == referenced


def _post_api(client, name: str, data: bytes):
    upload = SimpleUploadedFile(name, data, content_type="image/jpeg")
    return client.post("/api/v1/photos/", {"image": upload, "title": "Hostile"}, format="multipart")


def _post_form(client, name: str, data: bytes):
    upload = SimpleUploadedFile(name, data, content_type="image/jpeg")
    return client.post("/upload/", {"images": [upload], "title": "", "genre": "unknown", "licence": "unknown"})


@pytest.mark.parametrize("door", ["api", "form"])
def test_hostile_uploads_never_fail_the_server_or_half_save(door, owner, media_in_tmp, capsys):
    if door == "api":
        client = api_client_for(owner)
        client.raise_request_exception = False
        post = _post_api
    else:
        client = Client(raise_request_exception=False)
        client.force_login(owner)
        post = _post_form
    counts: collections.Counter[int] = collections.Counter()
    errors = []
    for case, name, data in CORPUS:
        cache.clear()  # throttles are not what this test is about
        before = _state(media_in_tmp)
        response = post(client, name, data)
        counts[response.status_code] += 1
        if response.status_code >= 500:
            errors.append(f"{case}: {response.status_code}")
            continue
        after = _state(media_in_tmp)
        created = after[0] - before[0]
        if (door == "api" and response.status_code >= 400) or created == 0:
            assert after[:2] == before[:2] and after[2] <= before[2] | {
                f for f in after[2] if f.startswith("drafts/")
            }, case
        _assert_consistent(media_in_tmp)
    with capsys.disabled():
        print(f"\n{door}: {len(CORPUS)} hostile files, responses by status: {dict(sorted(counts.items()))}")
    assert not errors
