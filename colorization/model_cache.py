"""Community model files in object storage, and each process's local cache of them.

A model file is stored once, through Django's storage (S3 when configured, local files otherwise),
at a key named by its sha256 (``models/sha256/<sha256>.safetensors``): the key says what the bytes
must be, so any host can check what it fetched. A training run's staging (the candidate while it
trains, its resume state) lives under ``models/staging/run-N/``, so a run re-claimed on another
host resumes where the dead one stopped.

Inference needs a file on local disk, so every host keeps a cache under
``CHROMA_MODEL_CACHE_DIR``: one file per sha256, verified against its name whenever it is used, at
most ``CHROMA_MODEL_CACHE_MB`` in all (least recently used out first). A worker on a new node
fetches the model it needs on first use; a corrupt or truncated entry is detected, dropped and
fetched again. Processes on one host share the cache: files appear by atomic rename, and a lock
file serialises fetching and eviction.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage

logger = logging.getLogger(__name__)

MODEL_PREFIX = "models/sha256"
STAGING_PREFIX = "models/staging"
CHUNK = 1 << 20
# A hit less than this old is not touched again (touching changes the mtime, which the
# per-process sha256 memo of colorization.engine.checkpoint keys on).
TOUCH_AFTER_SECONDS = 60.0


class ModelStorageUnavailable(ConnectionError):
    """Storage did not answer (a timeout, a refused connection): transient, try again later."""


class ModelObjectMismatch(LookupError):
    """The stored object is missing, or its bytes do not hash to the sha256 its key names."""


def model_key(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return f"{MODEL_PREFIX}/{sha256}.safetensors"


def staging_prefix(run_id: int) -> str:
    return f"{STAGING_PREFIX}/run-{int(run_id)}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _storage_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        from botocore.exceptions import BotoCoreError

        errors.append(BotoCoreError)
    except ImportError:  # pragma: no cover - boto3 is a dependency
        pass
    return tuple(errors)


# What a storage call raises when the service (not the object) is the problem: a timeout, a refused
# connection. Every S3 call is bounded by CHROMA_STORAGE_TIMEOUT (config/settings.py).
STORAGE_ERRORS = _storage_errors()


def _is_missing(exc: BaseException) -> bool:
    if isinstance(exc, FileNotFoundError):
        return True
    response = getattr(exc, "response", None)  # botocore ClientError
    code = str((response or {}).get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


def model_store(path: Path) -> tuple[str, str, int]:
    """Put a finished model file in storage at its sha256 key; returns (key, sha256, size).

    Stored once: the same bytes are already there under the same key, so a rerun uploads nothing.
    """
    path = Path(path)
    sha = sha256_file(path)
    key = model_key(sha)
    size = path.stat().st_size
    try:
        if not default_storage.exists(key):
            with open(path, "rb") as f:
                stored = default_storage.save(key, File(f, name=path.name))
            if stored != key:  # another process stored the same bytes a moment ago
                default_storage.delete(stored)
    except STORAGE_ERRORS as exc:
        raise ModelStorageUnavailable(f"could not store the model file in storage: {exc}") from exc
    model_cache().put(path, sha)
    return key, sha, size


def staging_push(run_id: int, folder: Path) -> list[str]:
    """Copy a run's local staging files to storage (after each checkpoint), replacing older copies."""
    from colorization.storage import storage_replace

    keys = []
    for path in sorted(Path(folder).glob("*")):
        if path.is_file() and not path.name.endswith(".tmp"):
            keys.append(storage_replace(f"{staging_prefix(run_id)}/{path.name}", path.read_bytes()))
    return keys


def staging_pull(run_id: int, folder: Path) -> list[str]:
    """Fetch a run's staging files from storage into ``folder`` where this host has none (a re-claimed run)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = staging_prefix(run_id)
    try:
        _, names = default_storage.listdir(prefix)
    except FileNotFoundError:
        return []
    fetched = []
    for name in names:
        target = folder / name
        if target.exists() or "/" in name or name.startswith("."):
            continue
        tmp = folder / f".{name}.{uuid.uuid4().hex}.part"
        with default_storage.open(f"{prefix}/{name}", "rb") as src, open(tmp, "wb") as dst:
            for chunk in iter(lambda src=src: src.read(CHUNK), b""):
                dst.write(chunk)
        os.replace(tmp, target)
        fetched.append(name)
    return fetched


def staging_delete(run_id: int) -> None:
    """Drop a run's staging from storage (the run finished or failed); storage errors are only logged."""
    prefix = staging_prefix(run_id)
    try:
        _, names = default_storage.listdir(prefix)
        for name in names:
            default_storage.delete(f"{prefix}/{name}")
    except FileNotFoundError:
        return
    except Exception as exc:  # noqa: BLE001 (left-over staging wastes space, nothing more)
        logger.warning("could not delete the staging of training run %s from storage: %s", run_id, exc)


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    corrupt: int = 0
    evicted: int = 0


class ModelCache:
    """This host's verified, size-bounded, least-recently-used cache of model files by sha256."""

    def __init__(self, folder: Path, max_bytes: int):
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.stats = CacheStats()

    def path_for(self, sha256: str) -> Path:
        model_key(sha256)  # validates the name
        return self.folder / f"{sha256}.safetensors"

    def holds(self, sha256: str) -> bool:
        """Whether an entry exists (not verified: for "is it here?" questions, not for loading)."""
        return self.path_for(sha256).is_file()

    def entries(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return [p for p in self.folder.glob("*.safetensors") if p.is_file()]

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.entries())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _verified(self, sha256: str) -> Path | None:
        """The entry if it is there and hashes to its name; a corrupt one is removed."""
        path = self.path_for(sha256)
        try:
            if sha256_file(path) != sha256:
                self.stats.corrupt += 1
                logger.warning("model cache: %s is corrupt (its sha256 differs); fetching it again", path.name)
                path.unlink(missing_ok=True)
                return None
            if time.time() - path.stat().st_mtime > TOUCH_AFTER_SECONDS:
                os.utime(path)  # most recently used
        except FileNotFoundError:  # not there, or evicted by another process on this host just now
            return None
        return path

    def get(self, sha256: str, key: str | None = None) -> Path:
        """The verified local file of ``sha256``, fetched from storage (``key``, default its sha256 key) on a miss."""
        path = self._verified(sha256)
        if path is not None:
            self.stats.hits += 1
            return path
        with self._locked():
            path = self._verified(sha256)  # another process may have fetched it meanwhile
            if path is not None:
                self.stats.hits += 1
                return path
            self.stats.misses += 1
            started = time.monotonic()
            path = self._fetch(key or model_key(sha256), sha256)
            logger.info(
                "model cache: fetched %s from storage (%d bytes, %.1f s)",
                sha256[:12],
                path.stat().st_size,
                time.monotonic() - started,
            )
            self._evict(keep=path)
        return path

    def put(self, source: Path, sha256: str) -> Path:
        """Add a local file this process just wrote (a finished candidate) without fetching it."""
        with self._locked():
            target = self.path_for(sha256)
            if not target.is_file():
                tmp = self.folder / f".{sha256}.{uuid.uuid4().hex}.part"
                with open(source, "rb") as src, open(tmp, "wb") as dst:
                    for chunk in iter(lambda: src.read(CHUNK), b""):
                        dst.write(chunk)
                if sha256_file(tmp) != sha256:
                    tmp.unlink(missing_ok=True)
                    raise ModelObjectMismatch(f"{source} changed while it was being cached")
                os.replace(tmp, target)
            self._evict(keep=target)
        return target

    def _fetch(self, key: str, sha256: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{sha256}.{uuid.uuid4().hex}.part"
        digest = hashlib.sha256()
        try:
            with default_storage.open(key, "rb") as src, open(tmp, "wb") as dst:
                for chunk in iter(lambda: src.read(CHUNK), b""):
                    digest.update(chunk)
                    dst.write(chunk)
        except STORAGE_ERRORS as exc:
            tmp.unlink(missing_ok=True)
            raise ModelStorageUnavailable(f"storage did not deliver {key}: {exc}") from exc
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            if _is_missing(exc):
                raise ModelObjectMismatch(f"the model file {key} is not in storage") from exc
            raise
        if digest.hexdigest() != sha256:
            tmp.unlink(missing_ok=True)
            raise ModelObjectMismatch(f"the stored model file {key} does not hash to its recorded sha256")
        target = self.path_for(sha256)
        os.replace(tmp, target)
        return target

    def _evict(self, keep: Path) -> None:
        """Remove least recently used entries until the cache fits (never ``keep``, the one just used)."""
        entries = sorted(self.entries(), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in entries)
        for path in entries:
            if total <= self.max_bytes:
                break
            if path == keep:
                continue
            size = path.stat().st_size
            path.unlink(missing_ok=True)
            total -= size
            self.stats.evicted += 1
            logger.info("model cache: evicted %s (least recently used)", path.name)
        # Leftovers of a fetch killed half-way.
        for part in self.folder.glob(".*.part"):
            with contextlib.suppress(OSError):
                if time.time() - part.stat().st_mtime > 3600:
                    part.unlink()


_caches: dict[tuple[str, int], ModelCache] = {}


def model_cache() -> ModelCache:
    """This process's cache, as the settings describe it (one object per folder and size)."""
    key = (str(settings.CHROMA_MODEL_CACHE_DIR), int(settings.CHROMA_MODEL_CACHE_MB) * 1_000_000)
    if key not in _caches:
        _caches[key] = ModelCache(Path(key[0]), key[1])
    return _caches[key]
