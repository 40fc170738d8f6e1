"""Backups of a whole installation, and their restore onto a fresh one.

A backup is a folder:

    manifest.json          what is in it: the database file and its sha256; every media key with its
                           sha256 and size
    database.dump          PostgreSQL: ``pg_dump --format=custom``; SQLite: ``database.sqlite3``, a copy
                           made with SQLite's online backup API
    blobs/ab/abcdef…       each media file once, named by its sha256 (the same bytes under two keys
                           are stored once)

The database is dumped first and the media listed after it: uploads and renders write their file
before the row that names it, so every key the dump refers to is in the manifest (files newer than
the dump are carried along, unreferenced, which is harmless).

``backup_restore`` loads a backup onto a fresh instance: an empty database (no tables) and empty
media storage; it refuses anything else rather than merge. Every blob is checked against its
sha256 before it is written, and every key is read back and checked after.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

FORMAT_VERSION = 1
CHUNK = 1 << 20


class BackupError(Exception):
    """The backup cannot be made or restored; the message says why and what to do."""


@dataclass
class BackupReport:
    folder: Path
    media_files: int
    media_bytes: int
    database_bytes: int


def _sha256_of(stream) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def media_keys(folder: str = "") -> list[str]:
    """Every key in the default storage, recursively (local folders and S3 prefixes alike)."""
    directories, files = default_storage.listdir(folder)
    keys = [f"{folder}/{name}" if folder else name for name in files]
    for directory in directories:
        keys += media_keys(f"{folder}/{directory}" if folder else directory)
    return sorted(keys)


def _pg_environment() -> dict[str, str]:
    db = connection.settings_dict
    timeout = db.get("OPTIONS", {}).get("connect_timeout", 5)
    env = {**os.environ, "PGCONNECT_TIMEOUT": str(timeout)}  # connecting is bounded, as for the app
    for var, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    env["PGDATABASE"] = db["NAME"]
    return env


def _run(command: list[str]) -> None:
    try:
        subprocess.run(command, env=_pg_environment(), check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} is not installed (Debian: apt-get install postgresql-client)") from exc
    except subprocess.CalledProcessError as exc:
        raise BackupError(f"{command[0]} failed: {exc.stderr.strip()[-2000:]}") from exc


def _dump_database(target: Path) -> dict:
    if connection.vendor == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(target)])
        kind = "pg_dump custom"
    elif connection.vendor == "sqlite":
        connection.ensure_connection()
        destination = sqlite3.connect(target)
        try:
            connection.connection.backup(destination)
        finally:
            destination.close()
        kind = "sqlite3"
    else:
        raise BackupError(f"backups support PostgreSQL and SQLite, not {connection.vendor}")
    with target.open("rb") as f:
        sha, size = _sha256_of(f)
    return {"file": target.name, "format": kind, "sha256": sha, "bytes": size}


def backup_create(*, destination: Path) -> BackupReport:
    """Write a new backup folder under ``destination`` and return where it is."""
    destination.mkdir(parents=True, exist_ok=True)
    name = f"chroma-backup-{timezone.now().strftime('%Y%m%dT%H%M%SZ')}"
    partial = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=destination))  # renamed into place when complete
    database = _dump_database(partial / "database.dump")
    media, total = [], 0
    for key in media_keys():
        with default_storage.open(key, "rb") as source, tempfile.NamedTemporaryFile(dir=partial, delete=False) as out:
            digest, size = hashlib.sha256(), 0
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        sha = digest.hexdigest()
        blob = partial / "blobs" / sha[:2] / sha
        blob.parent.mkdir(parents=True, exist_ok=True)
        if blob.exists():
            os.unlink(out.name)
        else:
            os.replace(out.name, blob)
        media.append({"key": key, "sha256": sha, "bytes": size})
        total += size
    manifest = {
        "format": FORMAT_VERSION,
        "created_at": timezone.now().isoformat(),
        "database": database,
        "media": media,
    }
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=1))
    folder = destination / name
    if folder.exists():
        shutil.rmtree(partial)
        raise BackupError(f"{folder} already exists; wait a second and run the backup again")
    partial.rename(folder)
    return BackupReport(folder=folder, media_files=len(media), media_bytes=total, database_bytes=database["bytes"])


def read_manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} cannot be read: {exc}") from exc
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"{path}: backup format {manifest.get('format')!r}, this version reads {FORMAT_VERSION}")
    return manifest


def _database_is_empty() -> bool:
    return not connection.introspection.table_names()


def _restore_database(folder: Path, database: dict) -> None:
    dump = folder / database["file"]
    with dump.open("rb") as f:
        if _sha256_of(f)[0] != database["sha256"]:
            raise BackupError(f"{dump} does not match its sha256 in the manifest: the backup is damaged")
    if database["format"] == "pg_dump custom":
        if connection.vendor != "postgresql":
            raise BackupError("this backup is a PostgreSQL dump; point DATABASE_URL at an empty PostgreSQL database")
        connection.close()  # pg_restore works on its own connection
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              "--dbname", connection.settings_dict["NAME"], str(dump)])  # fmt: skip
    elif database["format"] == "sqlite3":
        if connection.vendor != "sqlite":
            raise BackupError("this backup is a SQLite database; point DATABASE_URL at a new SQLite file")
        connection.ensure_connection()
        source = sqlite3.connect(dump)
        try:
            source.backup(connection.connection)
        finally:
            source.close()
    else:
        raise BackupError(f"unknown database format {database['format']!r}")


def backup_restore(*, folder: Path) -> BackupReport:
    """Load the backup in ``folder`` onto this (fresh) instance: its database and its media storage."""
    manifest = read_manifest(folder)
    if not _database_is_empty():
        raise BackupError(
            "the database is not empty: restore onto a fresh instance (a new, empty database; no migrate before)"
        )
    if media_keys():
        raise BackupError("the media storage is not empty: restore onto a fresh instance (empty media)")
    for entry in manifest["media"]:  # every blob checked before anything is written
        blob = folder / "blobs" / entry["sha256"][:2] / entry["sha256"]
        try:
            with blob.open("rb") as f:
                ok = _sha256_of(f)[0] == entry["sha256"]
        except OSError as exc:
            raise BackupError(f"{blob} (for {entry['key']}) is missing: {exc}") from exc
        if not ok:
            raise BackupError(f"{blob} (for {entry['key']}) does not match its sha256: the backup is damaged")
    _restore_database(folder, manifest["database"])
    total = 0
    for entry in manifest["media"]:
        blob = folder / "blobs" / entry["sha256"][:2] / entry["sha256"]
        with blob.open("rb") as f:
            stored = default_storage.save(entry["key"], File(f, name=entry["key"]))
        if stored != entry["key"]:
            raise BackupError(f"storage wrote {stored} instead of {entry['key']}")
        with default_storage.open(entry["key"], "rb") as f:
            if _sha256_of(f)[0] != entry["sha256"]:
                raise BackupError(f"{entry['key']} reads back different bytes from storage")
        total += entry["bytes"]
    return BackupReport(
        folder=folder, media_files=len(manifest["media"]), media_bytes=total,
        database_bytes=manifest["database"]["bytes"],
    )  # fmt: skip
