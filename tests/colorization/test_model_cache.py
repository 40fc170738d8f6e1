"""Community model files in storage under sha256 keys, and each host's verified, bounded LRU cache."""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.core.management import call_command
from django.core.management.base import CommandError

from colorization import model_registry
from colorization.model_cache import (
    ModelCache,
    ModelObjectMismatch,
    ModelStorageUnavailable,
    model_cache,
    model_key,
    model_store,
    staging_delete,
    staging_pull,
    staging_push,
)
from colorization.models import ColorModel, ModelStatus

pytestmark = pytest.mark.django_db


def put_object(data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    default_storage.save(model_key(sha), ContentFile(data))
    return sha


@pytest.fixture
def cache(tmp_path) -> ModelCache:
    return ModelCache(tmp_path / "cache", max_bytes=2500)


def test_keys_name_the_sha256_and_nothing_else():
    sha = hashlib.sha256(b"x").hexdigest()
    assert model_key(sha) == f"models/sha256/{sha}.safetensors"
    for bad in ("../../etc/passwd", "abc", sha.upper(), sha[:-1] + "g"):
        with pytest.raises(ValueError):
            model_key(bad)


def test_a_miss_fetches_from_storage_and_then_hits(cache):
    data = os.urandom(1000)
    sha = put_object(data)
    path = cache.get(sha)
    assert path == cache.path_for(sha) and path.read_bytes() == data
    assert (cache.stats.misses, cache.stats.hits) == (1, 0)
    default_storage.delete(model_key(sha))  # a hit needs no storage at all
    assert cache.get(sha) == path
    assert (cache.stats.misses, cache.stats.hits) == (1, 1)


def test_a_corrupt_entry_is_detected_and_fetched_again(cache):
    data = os.urandom(1000)
    sha = put_object(data)
    path = cache.get(sha)
    path.write_bytes(data[:500])  # truncated by a full disk, or bit rot
    assert cache.get(sha).read_bytes() == data
    assert (cache.stats.corrupt, cache.stats.misses) == (1, 2)


def test_a_stored_object_that_does_not_match_its_key_is_refused_and_not_cached(cache):
    data = os.urandom(1000)
    sha = hashlib.sha256(data).hexdigest()
    default_storage.save(model_key(sha), ContentFile(data + b"altered"))
    with pytest.raises(ModelObjectMismatch, match="does not hash"):
        cache.get(sha)
    assert cache.entries() == [] and not list(cache.folder.glob(".*.part"))


def test_a_missing_object_is_a_mismatch_and_storage_errors_are_transient(cache, monkeypatch):
    sha = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(ModelObjectMismatch, match="not in storage"):
        cache.get(sha)

    def frozen(*args, **kwargs):
        raise TimeoutError("read timed out")

    monkeypatch.setattr(storages["default"], "open", frozen)
    with pytest.raises(ModelStorageUnavailable) as caught:
        cache.get(put_object(b"y" * 10))
    assert isinstance(caught.value, ConnectionError)  # the tasks' TRANSIENT errors: retried, not failed


def test_the_least_recently_used_entries_are_evicted_to_fit(cache):
    blobs = [os.urandom(1000) for _ in range(3)]
    shas = [put_object(b) for b in blobs]
    a = cache.get(shas[0])
    b = cache.get(shas[1])
    old = time.time() - 3600
    os.utime(a, (old, old))
    os.utime(b, (old + 10, old + 10))
    cache.get(shas[0])  # a hit: a is now the most recently used
    c = cache.get(shas[2])  # 3000 bytes > 2500: the least recently used (b) goes
    assert a.is_file() and c.is_file() and not b.exists()
    assert cache.stats.evicted == 1 and cache.size() <= cache.max_bytes


def test_the_entry_just_fetched_stays_even_when_alone_it_exceeds_the_limit(tmp_path):
    small = ModelCache(tmp_path / "small", max_bytes=10)
    sha = put_object(os.urandom(100))
    assert small.get(sha).is_file()


def test_the_cache_follows_its_settings(settings, tmp_path):
    settings.CHROMA_MODEL_CACHE_DIR = str(tmp_path / "elsewhere")
    settings.CHROMA_MODEL_CACHE_MB = 3
    cache = model_cache()
    assert cache.folder == tmp_path / "elsewhere" and cache.max_bytes == 3_000_000


def test_storing_a_model_twice_stores_it_once(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(os.urandom(300))
    key, sha, size = model_store(path)
    assert (key, sha, size) == (model_key(sha), hashlib.sha256(path.read_bytes()).hexdigest(), 300)
    assert model_store(path) == (key, sha, size)
    assert default_storage.listdir("models/sha256")[1] == [f"{sha}.safetensors"]
    assert model_cache().holds(sha)  # the host that stored it need not fetch it


def test_staging_goes_to_storage_and_comes_back_on_another_host(tmp_path):
    here, there = tmp_path / "host1", tmp_path / "host2"
    here.mkdir()
    (here / "candidate.safetensors").write_bytes(b"weights so far")
    (here / "candidate.safetensors.state.pt").write_bytes(b"optimizer state")
    (here / "candidate.safetensors.tmp").write_bytes(b"half written")
    staging_push(7, here)
    assert sorted(staging_pull(7, there)) == ["candidate.safetensors", "candidate.safetensors.state.pt"]
    assert (there / "candidate.safetensors.state.pt").read_bytes() == b"optimizer state"
    staging_delete(7)
    assert staging_pull(7, tmp_path / "host3") == []


# -- the registry's models in storage --------------------------------------------------------------


def legacy_model(settings, tmp_path, tiny_model_file, slug="street-any-v1") -> ColorModel:
    """A model registered before storage held them: a file name in CHROMA_MODEL_DIR."""
    folder = tmp_path / "legacy-models"
    folder.mkdir(exist_ok=True)
    settings.CHROMA_MODEL_DIR = str(folder)
    data = Path(tiny_model_file).read_bytes()
    (folder / f"{slug}.safetensors").write_bytes(data)
    return ColorModel.objects.create(
        slug=slug,
        version=1,
        genre="street",
        parent=model_registry.base_model(),
        weights=f"{slug}.safetensors",
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        status=ModelStatus.ACTIVE,
    )


def test_models_registered_before_keep_loading_and_the_command_moves_them(
    settings, tmp_path, tiny_base_model, tiny_model_file
):
    model = legacy_model(settings, tmp_path, tiny_model_file)
    assert model_registry.verified_path(model) == tmp_path / "legacy-models" / "street-any-v1.safetensors"
    out = io.StringIO()
    call_command("models_to_storage", stdout=out)
    assert "1 moved into storage" in out.getvalue()
    model.refresh_from_db()
    assert model.weights == model_key(model.sha256) and default_storage.exists(model.weights)
    # The old folder is not needed any more, on this host or a new one.
    (tmp_path / "legacy-models" / "street-any-v1.safetensors").unlink()
    settings.CHROMA_MODEL_CACHE_DIR = str(tmp_path / "new-host-cache")
    assert model_registry.verified_path(model) == tmp_path / "new-host-cache" / f"{model.sha256}.safetensors"
    out = io.StringIO()
    call_command("models_to_storage", stdout=out)
    assert "0 moved into storage, 1 already there" in out.getvalue()


def test_the_command_leaves_an_altered_legacy_file_alone_and_says_so(
    settings, tmp_path, tiny_base_model, tiny_model_file
):
    model = legacy_model(settings, tmp_path, tiny_model_file)
    (tmp_path / "legacy-models" / "street-any-v1.safetensors").write_bytes(b"not it")
    with pytest.raises(CommandError, match="does not match the recorded sha256"):
        call_command("models_to_storage", stdout=io.StringIO())
    model.refresh_from_db()
    assert model.weights == "street-any-v1.safetensors"


def test_recording_a_draft_model_downloads_nothing_and_the_worker_fetches_it(
    settings, tmp_path, tiny_base_model, tiny_model_file, owner, make_photo
):
    model = legacy_model(settings, tmp_path, tiny_model_file)
    call_command("models_to_storage", stdout=io.StringIO())
    model.refresh_from_db()
    settings.CHROMA_MODEL_CACHE_DIR = str(tmp_path / "web-host-cache")  # another host than the one that moved it
    photo = make_photo(owner, genre="street", year_from=1950, year_to=1950)
    ref = model_registry.route_model(photo)
    assert ref.slug == model.slug and not model_cache().holds(model.sha256)  # a web request: no download
    assert ref.path == model_cache().path_for(model.sha256) and model_cache().holds(model.sha256)
