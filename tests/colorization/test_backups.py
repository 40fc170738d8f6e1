"""``manage.py backup`` and ``manage.py restore``: a round trip onto a fresh instance (a new empty
database, empty media) in its own process, after which every original's sha256 matches and the
gallery renders the same. PostgreSQL (pg_dump/pg_restore) in CI's PostgreSQL pass; SQLite otherwise."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from colorization.models import Photo
from colorization.tasks import colorize_draft
from tests.workers import worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]

RENDER = """
import hashlib, json, django
django.setup()
from django.core.files.storage import default_storage
from django.test import Client
from colorization.models import Photo
shas = {}
for photo in Photo.objects.order_by("pk"):
    with default_storage.open(photo.original.name, "rb") as f:
        shas[photo.pk] = [photo.original_sha256, hashlib.sha256(f.read()).hexdigest()]
page = Client().get("/gallery/")
print(json.dumps({"shas": shas, "status": page.status_code, "html": page.content.decode()}))
"""


def normalized(html: str) -> str:
    """Signed media URLs carry an expiry window; CSRF tokens are per response."""
    html = re.sub(r"([?&](amp;)?)e=\d+&(amp;)?s=[\w-]+", r"\1e=…&s=…", html)
    return re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]+', r"\1…", html)


@pytest.fixture
def fresh_database(tmp_path):
    """The URL of a new, empty database on the same server (PostgreSQL) or a new SQLite file."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    import psycopg

    s = connection.settings_dict
    name = f"{s['NAME']}_restore"
    admin = dict(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"], password=s["PASSWORD"] or None)
    with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    yield f"postgres://{auth}@{admin['host']}:{admin['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def on_fresh_instance(database_url: str, media: Path, tiny_model: Path, *args: str, code: str | None = None):
    env = {**worker_env(media, None, tiny_model), "DATABASE_URL": database_url, "CHROMA_VAR_DIR": str(media.parent)}
    command = [sys.executable, "-c", code] if code else [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def installation(owner, other_user, make_photo, tiny_base_model, monkeypatch, client):
    """Photos of two people with their drafts rendered; the gallery as it renders now."""
    monkeypatch.setattr(colorize_draft, "apply_async", lambda *a, **kw: None)
    photos = [make_photo(owner, genre="street"), make_photo(owner), make_photo(other_user, title="Harbour")]
    for photo in photos:
        colorize_draft.apply(args=[photo.drafts.get().pk]).get()
    page = client.get("/gallery/")
    assert page.status_code == 200
    return {"photos": photos, "html": page.content.decode()}


def test_a_restore_onto_a_fresh_instance_gives_back_every_original_and_the_same_gallery(
    installation, fresh_database, tiny_base_model, tmp_path
):
    call_command("backup", to=tmp_path / "backups")
    (folder,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    keys = {entry["key"] for entry in manifest["media"]}
    for photo in installation["photos"]:
        assert photo.original.name in keys
        assert next(e for e in manifest["media"] if e["key"] == photo.original.name)["sha256"] == photo.original_sha256
    assert manifest["database"]["format"] == ("pg_dump custom" if connection.vendor == "postgresql" else "sqlite3")

    media = tmp_path / "fresh" / "media"
    media.mkdir(parents=True)
    restored = on_fresh_instance(fresh_database, media, tiny_base_model, "restore", str(folder))
    assert restored.returncode == 0, restored.stderr
    assert f"{len(manifest['media'])} media files" in restored.stdout

    out = on_fresh_instance(fresh_database, media, tiny_base_model, code=RENDER)
    assert out.returncode == 0, out.stderr
    after = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(after["shas"]) == len(installation["photos"]) == Photo.objects.count()
    for recorded, actual in after["shas"].values():
        assert recorded == actual
    assert {recorded for recorded, _ in after["shas"].values()} == {p.original_sha256 for p in installation["photos"]}
    assert after["status"] == 200
    assert "Harbour" in after["html"]
    assert normalized(after["html"]) == normalized(installation["html"])


def test_restore_refuses_an_instance_that_is_not_fresh(installation, tmp_path):
    call_command("backup", to=tmp_path / "backups")
    (folder,) = (tmp_path / "backups").iterdir()
    with pytest.raises(CommandError, match="database is not empty"):
        call_command("restore", str(folder))


def test_a_damaged_backup_is_refused_before_anything_is_written(
    installation, fresh_database, tiny_base_model, tmp_path
):
    call_command("backup", to=tmp_path / "backups")
    (folder,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    original = installation["photos"][0].original.name
    sha = next(e["sha256"] for e in manifest["media"] if e["key"] == original)
    (folder / "blobs" / sha[:2] / sha).write_bytes(b"bit rot")
    media = tmp_path / "fresh" / "media"
    media.mkdir(parents=True)
    restored = on_fresh_instance(fresh_database, media, tiny_base_model, "restore", str(folder))
    assert restored.returncode != 0
    assert "does not match its sha256" in restored.stderr and original in restored.stderr
    assert not any(media.rglob("*.*")), "nothing was written"
    assert hashlib.sha256(b"bit rot").hexdigest() != sha
