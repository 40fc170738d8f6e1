"""Writing derived files (renders, samples, training examples) at keys the code chooses."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def storage_replace(key: str, data: bytes) -> str:
    """Write ``data`` at exactly ``key``, replacing what a partial earlier attempt left: reruns store one file."""
    if default_storage.exists(key):
        default_storage.delete(key)
    stored = default_storage.save(key, ContentFile(data))
    if stored != key:
        raise RuntimeError(f"storage wrote {stored} instead of {key}")
    return stored
