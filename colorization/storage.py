"""Writing derived files (renders, samples, training examples) at keys the code chooses."""

from __future__ import annotations

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage


def storage_replace(key: str, data: bytes) -> str:
    """Write ``data`` at exactly ``key``, replacing what a partial earlier attempt left: reruns store one file."""
    if default_storage.exists(key):
        default_storage.delete(key)
    stored = default_storage.save(key, ContentFile(data))
    if stored != key:
        raise RuntimeError(f"storage wrote {stored} instead of {key}")
    return stored


def storage_replace_file(key: str, path) -> str:
    """``storage_replace`` for a file on disk, streamed rather than read into memory (a clip's copies)."""
    if default_storage.exists(key):
        default_storage.delete(key)
    with open(path, "rb") as f:
        stored = default_storage.save(key, File(f))
    if stored != key:
        raise RuntimeError(f"storage wrote {stored} instead of {key}")
    return stored
