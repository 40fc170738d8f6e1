from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import images
from tests.factories import UserFactory

# The suite runs the network in float32 on every machine, so its pixel-level expectations do not
# depend on the CPU it runs on; bf16 has its own tests (tests/engine/test_precision.py), and
# COLORIZE_PRECISION=bf16 runs the whole suite that way on purpose.
os.environ.setdefault("COLORIZE_PRECISION", "fp32")


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Every test writes its files (media, its host's model cache) to its own folders, never to var/."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CHROMA_MODEL_CACHE_DIR = str(tmp_path / "model-cache")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "colorization.media.SignedFileSystemStorage"},
    }
    return tmp_path / "media"


def reset_broker_pool() -> None:
    """Drop pooled broker connections so the next message uses the current broker settings."""
    from kombu import pools

    from config.celery_app import app

    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    pools.reset()  # kombu keeps producer pools per connection in a global registry


@pytest.fixture(scope="session", autouse=True)
def isolated_broker(tmp_path_factory):
    """With the file-system broker, tests send their messages to their own folders, not var/broker."""
    from config.celery_app import app

    if not app.conf.broker_url.startswith("filesystem://"):
        yield None  # a real broker (CI's Redis) was chosen on purpose
        return
    root = tmp_path_factory.mktemp("var")  # a CHROMA_VAR_DIR for worker processes the tests start
    options = {name: str(root / "broker" / name) for name in ("queue", "processed", "control")}
    for folder in options.values():
        Path(folder).mkdir(parents=True)
    previous = app.conf.broker_transport_options
    app.conf.broker_transport_options = {
        "data_folder_in": options["queue"],
        "data_folder_out": options["queue"],
        "processed_folder": options["processed"],
        "control_folder": options["control"],
        "store_processed": False,
    }
    reset_broker_pool()
    yield root
    app.conf.broker_transport_options = previous


@pytest.fixture(autouse=True)
def broker_not_backed_off():
    """A failed send makes this process skip sends for a while (colorization/drafting.py); not across tests."""
    from colorization import drafting

    drafting._broker_down_until = 0.0


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
    from community.accounts.services import role_set

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


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory) -> Path:
    """A tiny randomly initialized model: drafts in tests take milliseconds."""
    import torch

    from colorization.engine.checkpoint import save_checkpoint
    from colorization.engine.network import ColorNet, NetworkConfig

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "tiny-base.safetensors"
    save_checkpoint(ColorNet(NetworkConfig(widths=(8, 8, 8, 8))), path, {"slug": "base", "version": "test"})
    return path


@pytest.fixture
def tiny_base_model(settings, tiny_model_file) -> Path:
    settings.CHROMA_BASE_MODEL_PATH = str(tiny_model_file)
    settings.CHROMA_DEFAULT_RENDER_SIZE = 64
    return tiny_model_file
