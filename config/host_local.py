"""Which parts of this process live on its own host, logged once at start-up.

A deployment across several hosts must share nothing but the database, the broker and object
storage. The parts below work on one host only (or, for the model cache, are per host by design);
every web, worker and beat process names them when it starts, so an operator reading one host's
logs sees at once what another host could not reach. Production refuses the file-system broker and
SQLite unless allowed on purpose (config/settings.py).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.files.storage import storages

logger = logging.getLogger("chroma.host_local")


def host_local_parts() -> list[str]:
    """This process's host-local parts, each with where it lives on this host."""
    parts = []
    broker = settings.CELERY_BROKER_URL
    if broker.startswith("filesystem://"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in", "")
        parts.append(f"the file-system broker ({folder})")
    elif broker.startswith("memory://"):
        parts.append("the in-memory broker (this process only)")
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        parts.append(f"SQLite ({database['NAME']})")
    storage = storages["default"]
    location = getattr(storage, "location", None)
    if location is not None and not hasattr(storage, "bucket_name"):
        parts.append(f"local media ({location})")
    parts.append(
        f"the local model cache ({settings.CHROMA_MODEL_CACHE_DIR}, at most {settings.CHROMA_MODEL_CACHE_MB} MB; "
        "filled from storage on first use)"
    )
    return parts


def shared_parts() -> list[str]:
    """What this process reaches over the network (for the same log line)."""
    parts = []
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith(("filesystem://", "memory://")):
        parts.append(f"broker {broker.split('://', 1)[0]}://")
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        parts.append(f"database {database.get('HOST') or 'localhost'}:{database.get('PORT') or ''}")
    storage = storages["default"]
    if hasattr(storage, "bucket_name"):
        parts.append(f"storage bucket {storage.bucket_name}")
    return parts


def log_host_local_parts(role: str) -> list[str]:
    """Log which parts of this ``role`` process (web, worker, beat) are host-local; returns them."""
    local = host_local_parts()
    shared = shared_parts()
    logger.info(
        "%s process start-up: host-local parts: %s; shared over the network: %s",
        role,
        "; ".join(local),
        "; ".join(shared) or "nothing",
    )
    return local
