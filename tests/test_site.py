"""The site as a whole: the platform/ folder, strict settings, the health probe."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_platform_folder_does_not_shadow_the_standard_library():
    assert not (ROOT / "platform" / "__init__.py").exists()
    out = subprocess.run(
        [sys.executable, "-c", "import platform; print(platform.system())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() in {"Linux", "Darwin", "Windows"}


def run_django(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('ok')"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"CHROMA_MAX_UPLOAD_BYTES": "lots"}, "CHROMA_MAX_UPLOAD_BYTES='lots' is not a whole number"),
        ({"CHROMA_ENV": "staging"}, "CHROMA_ENV='staging' must be one of"),
        ({"COLORIZE_PRECISION": "fp8"}, "COLORIZE_PRECISION='fp8' must be one of"),
        ({"COLORIZE_DEVICE": "gpu"}, "COLORIZE_DEVICE='gpu' is not a device"),
        ({"CHROMA_UPLOAD_RATE": "lots"}, "CHROMA_UPLOAD_RATE='lots': use a rate such as 60/hour"),
        ({"CHROMA_PREVIEW_RATE": "100/week"}, "CHROMA_PREVIEW_RATE='100/week'"),
        ({"CHROMA_VOTE_RATE": "x/hour"}, "CHROMA_VOTE_RATE='x/hour'"),
        ({"CHROMA_SWEEP_RENDER_SIZES": "224,big"}, "CHROMA_SWEEP_RENDER_SIZES: 'big' is not a whole number"),
        ({"CHROMA_SWEEP_RENDER_SIZES": "224,9000"}, "CHROMA_SWEEP_RENDER_SIZES: 9000 is outside"),
        ({"CHROMA_ERA_BUCKETS": "1900-1919,1920"}, "CHROMA_ERA_BUCKETS: era bucket '1920'"),
        ({"CHROMA_ERA_BUCKETS": "1950-1900"}, "the first year is after the last"),
        ({"CHROMA_ERA_BUCKETS": "nineteen-hundred"}, "with years"),
        ({"CHROMA_ENV": "production", "SECRET_KEY": "", "ALLOWED_HOSTS": "x"}, "SECRET_KEY"),
        ({"CHROMA_ENV": "production", "SECRET_KEY": "k" * 50, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must be set"),
        ({"CELERY_BROKER_URL": "kafka://x"}, "CELERY_BROKER_URL"),
        ({"DATABASE_URL": "oracle2://nowhere"}, "DATABASE_URL"),
    ],
)
def test_bad_settings_stop_start_up_with_a_clear_message(env, message):
    result = run_django(env)
    assert result.returncode != 0
    assert message in result.stderr


def test_good_rates_devices_and_buckets_start(tmp_path):
    device = tmp_path / "device"
    device.write_text("cpu\n")
    result = run_django(
        {
            "CHROMA_UPLOAD_RATE": "5/m",
            "CHROMA_COMMENT_RATE": "100/day",
            "COLORIZE_DEVICE_FILE": str(device),
            "CHROMA_SWEEP_RENDER_SIZES": "192,256",
            "CHROMA_ERA_BUCKETS": "-1899,1900-1949,1950-",
        }
    )
    assert result.returncode == 0, result.stderr


def test_secrets_can_come_from_files(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s" * 60 + "\n")
    result = run_django(
        {
            "CHROMA_ENV": "production",
            "SECRET_KEY_FILE": str(secret),
            "ALLOWED_HOSTS": "example.org",
            "SECRET_KEY": "",
            **ONE_HOST,
        }
    )
    assert result.returncode == 0, result.stderr


# A deliberate one-host production installation: SQLite and the file-system broker, allowed on purpose.
ONE_HOST = {
    "DATABASE_URL": "",
    "CELERY_BROKER_URL": "",
    "CHROMA_ALLOW_SQLITE": "true",
    "CHROMA_ALLOW_FILESYSTEM_BROKER": "true",
}
PRODUCTION = {"CHROMA_ENV": "production", "SECRET_KEY": "k" * 50, "ALLOWED_HOSTS": "example.org"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {**ONE_HOST, "CHROMA_ALLOW_FILESYSTEM_BROKER": ""},
            "CELERY_BROKER_URL is the file-system broker, which only reaches processes on this host; with "
            "CHROMA_ENV=production set CELERY_BROKER_URL=redis://... (or amqp://), or set "
            "CHROMA_ALLOW_FILESYSTEM_BROKER=true",
        ),
        (
            {**ONE_HOST, "CHROMA_ALLOW_SQLITE": "false", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14"},
            "DATABASE_URL is SQLite, a file on this host; with CHROMA_ENV=production set "
            "DATABASE_URL=postgres://..., or set CHROMA_ALLOW_SQLITE=true",
        ),
    ],
)
def test_production_refuses_host_local_broker_and_database_unless_allowed(env, message, tmp_path):
    result = run_django({**PRODUCTION, "CHROMA_VAR_DIR": str(tmp_path), **env})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_production_starts_with_postgres_and_redis_and_development_allows_everything(tmp_path):
    shared = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/nowhere", "CELERY_BROKER_URL": "redis://x:6379/0"}
    assert run_django({**PRODUCTION, "CHROMA_VAR_DIR": str(tmp_path), **shared}).returncode == 0
    development = {"DATABASE_URL": "", "CELERY_BROKER_URL": "", "CHROMA_VAR_DIR": str(tmp_path)}
    assert run_django({"CHROMA_ENV": "development", **development}).returncode == 0
    assert run_django({**PRODUCTION, "CHROMA_VAR_DIR": str(tmp_path), **ONE_HOST}).returncode == 0


@pytest.mark.django_db
def test_healthz_reports_database_storage_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    assert set(checks) == {"database", "storage", "broker"}
    assert all(check["ok"] for check in checks.values())


@pytest.mark.django_db
def test_healthz_fails_when_the_broker_is_unreachable(client, monkeypatch):
    # Celery gives the environment variable precedence over its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert response.json()["checks"]["database"]["ok"] is True


def test_the_openapi_schema_lists_every_endpoint_without_warnings(db):
    """drf-spectacular's own check: every view's path parameters and enums resolve (``--fail-on-warn``)."""
    from django.core.management import call_command

    out = io.StringIO()
    call_command("spectacular", "--fail-on-warn", "--validate", stdout=out)
    schema = out.getvalue()
    for path in (
        "/api/v1/photos/{id}/preview/",
        "/api/v1/photos/{id}/suggest/",
        "/api/v1/photos/{id}/corrections/",
        "/api/v1/corrections/{id}/votes/",
        "/api/v1/corrections/{id}/decision/",
        "/api/v1/models/",
        "/api/v1/training-runs/",
    ):
        assert f"  {path}:" in schema
