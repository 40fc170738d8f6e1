from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import images
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Every test writes its files to its own folder, never to var/media."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    return tmp_path / "media"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttle counters and cached pages live in the cache: start every test without them."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def owner(db):
    return UserFactory(username="owner")


@pytest.fixture
def other_user(db):
    return UserFactory(username="other")


@pytest.fixture
def moderator(db):
    from community.services import role_set

    user = UserFactory(username="moderator")
    role_set(user=user, role="moderator")
    return user


def api_client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api():
    return api_client_for


def upload_file(data: bytes | None = None, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data if data is not None else images.jpeg(), content_type=content_type)


@pytest.fixture
def make_photo(db):
    from colorization.services import photo_upload

    counter = iter(range(10_000))

    def make(owner, **metadata):
        seed = next(counter)
        data = metadata.pop("data", None) or images.jpeg(64, 48, seed=seed + 100)
        metadata.setdefault("title", f"Photo {seed}")
        return photo_upload(owner=owner, file=upload_file(data), filename="p.jpg", metadata=metadata).photo

    return make
