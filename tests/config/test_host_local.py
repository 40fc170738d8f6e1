"""Every process names its host-local parts at start-up (web, worker, beat)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.host_local import host_local_parts, log_host_local_parts

ROOT = Path(__file__).resolve().parents[2]


def test_the_embedded_defaults_are_all_named_with_where_they_live(settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": "/srv/var/broker/queue"}
    settings.DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/var/chroma.sqlite3"}}
    settings.CHROMA_MODEL_CACHE_DIR, settings.CHROMA_MODEL_CACHE_MB = "/srv/cache", 512
    parts = host_local_parts()
    assert parts == [
        "the file-system broker (/srv/var/broker/queue)",
        "SQLite (/srv/var/chroma.sqlite3)",
        f"local media ({settings.MEDIA_ROOT})",
        "the local model cache (/srv/cache, at most 512 MB; filled from storage on first use)",
    ]


def test_with_redis_postgres_and_s3_only_the_model_cache_is_host_local(settings):
    settings.CELERY_BROKER_URL = "redis://10.0.0.5:6379/0"
    settings.DATABASES = {
        "default": {"ENGINE": "django.db.backends.postgresql", "NAME": "chroma", "HOST": "db", "PORT": 5432}
    }
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"bucket_name": "chroma"}},
    }
    parts = host_local_parts()
    assert len(parts) == 1 and parts[0].startswith("the local model cache")


def test_the_start_up_line_is_logged(settings, caplog):
    settings.CELERY_BROKER_URL = "filesystem://"
    with caplog.at_level(logging.INFO, logger="chroma.host_local"):
        log_host_local_parts("worker")
    (record,) = caplog.records
    assert record.getMessage().startswith("worker process start-up: host-local parts: the file-system broker")


def _run(code: str, tmp_path) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "CHROMA_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_a_web_process_logs_them_when_it_loads_the_application(tmp_path):
    err = _run("import config.wsgi", tmp_path)
    assert "web process start-up: host-local parts: the file-system broker" in err
    assert f"SQLite ({tmp_path}/chroma.sqlite3)" in err and "the local model cache" in err


@pytest.mark.parametrize(("signal", "role"), [("celeryd_after_setup", "worker"), ("beat_init", "beat")])
def test_worker_and_beat_processes_log_them_when_they_start(tmp_path, signal, role):
    err = _run(
        "import django; django.setup(); from config.celery_app import app; "
        f"from celery import signals; signals.{signal}.send(sender=app)",
        tmp_path,
    )
    assert f"{role} process start-up: host-local parts:" in err
