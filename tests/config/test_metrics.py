"""``/metrics``: the series an operator needs, that they move when drafts are made, that the scrape
stays bounded when the broker or the database does not answer, and the worker's own exporter."""

from __future__ import annotations

import os
import signal
import socket
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from prometheus_client.parser import text_string_to_metric_families

from colorization.models import ColorModel, Draft, DraftStatus, ModelStatus, RunStatus, TrainingRun
from colorization.tasks import colorize_draft
from config import metrics as config_metrics
from tests import images
from tests.conftest import reset_broker_pool, upload_file
from tests.workers import Workers, purge_broker, worker_env


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return parse(response.content.decode())


def parse(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def sent(monkeypatch):
    """Drafts are rendered in this process (eagerly); nothing goes to a broker."""
    monkeypatch.setattr(colorize_draft, "apply_async", lambda *a, **kw: None)


def render(draft) -> None:
    colorize_draft.apply(args=[draft.pk]).get()


@pytest.mark.django_db
def test_it_serves_every_series(client, owner, make_photo, tiny_base_model, sent):
    client.get("/healthz")
    render(make_photo(owner).drafts.get())
    samples = scrape(client)
    names = {name for name, _ in samples}
    for expected in (
        "chroma_http_request_duration_seconds_bucket",  # request latency
        "chroma_queue_messages",  # queue depth per queue
        "chroma_drafts_finished_total",  # rate() = drafts per minute, all workers
        "chroma_drafts_finished_last_minute",
        "chroma_draft_recent_latency_seconds",  # draft latency, all workers
        "chroma_draft_latency_seconds_bucket",  # draft latency, this process
        "chroma_draft_render_seconds_bucket",
        "chroma_failures_total",
        "chroma_training_runs",
        "chroma_training_run_duration_seconds_count",
        "chroma_model_active_info",  # the model in use per bucket
        "chroma_scrape_ok",
    ):
        assert expected in names, expected
    assert (
        value(samples, "chroma_http_request_duration_seconds_count", method="GET", route="healthz", status="2xx") >= 1
    )
    for queue in ("gpu", "cpu", "training", "default"):
        assert ("chroma_queue_messages", (("queue", queue),)) in samples
    for part in ("broker", "drafts", "training", "models"):
        assert value(samples, "chroma_scrape_ok", part=part) == 1
    base = ColorModel.objects.get(status=ModelStatus.ACTIVE, genre="", era="")
    assert value(samples, "chroma_model_active_info", bucket="any:any", genre="any", era="any", slug=base.slug,
                 version=str(base.version)) == 1  # fmt: skip


@pytest.mark.django_db
def test_its_numbers_move_when_drafts_are_made(client, owner, make_photo, tiny_base_model, sent):
    drafts = [make_photo(owner).drafts.get() for _ in range(3)]
    before = scrape(client)
    assert value(before, "chroma_drafts_pending", status="queued") == 3
    for draft in drafts:
        render(draft)
    after = scrape(client)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("chroma_drafts_finished_total", status="done") == 3
    assert value(after, "chroma_drafts_finished_last_minute") == 3
    assert value(after, "chroma_drafts_pending", status="queued") == 0
    assert moved("chroma_drafts_rendered_total", outcome="done") == 3
    assert moved("chroma_draft_render_seconds_count", device="cpu") == 3
    assert moved("chroma_draft_latency_seconds_count") == 3
    done = Draft.objects.filter(status=DraftStatus.DONE)
    slowest = max((d.finished_at - d.created_at).total_seconds() for d in done)
    assert 0 < value(after, "chroma_draft_recent_latency_seconds", quantile="0.5") <= slowest


@pytest.mark.django_db
def test_failures_are_counted(client, owner, make_photo, tiny_base_model, sent, settings):
    from django.core.files.storage import default_storage

    photo = make_photo(owner)
    with default_storage.open(photo.original.name, "wb") as f:
        f.write(b"not an image any more")
    before = scrape(client)
    render(photo.drafts.get())
    after = scrape(client)
    assert (
        value(after, "chroma_drafts_finished_total", status="failed")
        - value(before, "chroma_drafts_finished_total", status="failed")
        == 1
    )
    assert (
        value(after, "chroma_failures_total", kind="draft") - value(before, "chroma_failures_total", kind="draft") == 1
    )


@pytest.mark.django_db
def test_training_runs_and_their_durations(client):
    TrainingRun.objects.create(
        genre="", era="1900-1919", status=RunStatus.SUCCEEDED, train_seconds=600, eval_seconds=60
    )
    TrainingRun.objects.create(genre="", era="1920-1939", status=RunStatus.REJECTED, train_seconds=500, eval_seconds=50)
    TrainingRun.objects.create(genre="", era="1940-1959", status=RunStatus.FAILED)
    samples = scrape(client)
    assert value(samples, "chroma_training_runs", status="succeeded") == 1
    assert value(samples, "chroma_training_runs", status="failed") == 1
    assert value(samples, "chroma_training_run_duration_seconds_count", status="succeeded") == 1
    assert value(samples, "chroma_training_run_duration_seconds_sum", status="succeeded") == 660
    assert value(samples, "chroma_training_run_duration_seconds_sum", status="rejected") == 550


@pytest.mark.django_db
def test_queue_depth_counts_waiting_messages(client, monkeypatch):
    """A message published to a queue shows in its depth, through whichever broker this run uses."""
    from config.celery_app import app

    queue = "metrics-test-queue"
    monkeypatch.setattr(config_metrics, "QUEUES", (queue,))
    reset_broker_pool()
    with app.connection_for_write() as conn:
        simple = conn.SimpleQueue(queue)
        simple.clear()
        simple.put({"n": 1})
        simple.put({"n": 2})
        try:
            assert value(scrape(client), "chroma_queue_messages", queue=queue) == 2
        finally:
            simple.clear()
            simple.close()
    assert value(scrape(client), "chroma_queue_messages", queue=queue) == 0


@pytest.mark.django_db
def test_a_frozen_broker_costs_the_scrape_its_timeout_and_nothing_else(client, settings):
    """A Redis that accepts connections and never answers: the broker part fails within the broker
    timeout, the database parts are served."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections complete in the backlog; nobody ever reads or writes
    try:
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        settings.CELERY_BROKER_TIMEOUT = 0.3
        started = time.monotonic()
        samples = scrape(client)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert value(samples, "chroma_scrape_ok", part="broker") == 0
    assert value(samples, "chroma_scrape_ok", part="drafts") == 1
    assert ("chroma_queue_messages", (("queue", "gpu"),)) not in samples
    assert elapsed < 2.0


@pytest.mark.django_db(transaction=True)
def test_a_slow_database_query_is_stopped_by_the_statement_timeout(settings):
    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout is PostgreSQL's; SQLite is a local file and needs no bound")
    settings.CHROMA_METRICS_QUERY_SECONDS = 0.2
    started = time.monotonic()
    with pytest.raises(OperationalError), config_metrics._bounded_queries(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(5)")
    assert time.monotonic() - started < 2.0
    with connection.cursor() as cursor:  # the timeout was LOCAL to the scrape's transaction
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"


@pytest.mark.django_db
def test_the_endpoint_needs_the_token_when_one_is_set(client, settings):
    settings.CHROMA_METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


@pytest.mark.django_db
def test_without_a_token_it_is_off_in_production(client, settings):
    settings.CHROMA_METRICS_TOKEN = ""
    settings.PRODUCTION = True
    assert client.get("/metrics").status_code == 404


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_exports_its_pool_processes_metrics(
    api, owner, settings, media_in_tmp, isolated_broker, tiny_model_file, tmp_path: Path
):
    """A real Celery worker with CHROMA_WORKER_METRICS_PORT: the draft its pool process made shows on
    the main process's exporter (prometheus-client's multiprocess mode)."""
    settings.CHROMA_BASE_MODEL_PATH = str(tiny_model_file)
    settings.CHROMA_DEFAULT_RENDER_SIZE = 64
    reset_broker_pool()
    port = _free_port()
    env = worker_env(media_in_tmp, isolated_broker, tiny_model_file)
    env.update(CHROMA_WORKER_METRICS_PORT=str(port), CHROMA_WORKER_METRICS_ADDR="127.0.0.1",
               CHROMA_DEFAULT_RENDER_SIZE="64")  # fmt: skip
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    purge_broker()
    workers = Workers(env, tmp_path)
    workers.start()
    try:
        response = api(owner).post("/api/v1/photos/", {"image": upload_file(images.jpeg(96, 64)), "title": "x"},
                                   format="multipart")  # fmt: skip
        assert response.status_code == 201, response.content
        draft = Draft.objects.get(photo_id=response.json()["id"])
        deadline, text = time.monotonic() + 120, ""
        while time.monotonic() < deadline:
            if Draft.objects.get(pk=draft.pk).status == DraftStatus.DONE:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                        text = r.read().decode()
                except OSError:
                    text = ""
                if value(parse(text), "chroma_drafts_rendered_total", outcome="done") == 1:
                    break
            time.sleep(0.3)
        else:
            pytest.fail(f"the worker's exporter did not show the draft\n{text[-2000:]}\n{workers.logs()}")
        assert value(parse(text), "chroma_draft_render_seconds_count", device="cpu") == 1
    finally:
        workers.stop_all()


def test_the_exporter_refuses_a_bad_port(monkeypatch):
    from config import worker_metrics

    monkeypatch.setenv("CHROMA_WORKER_METRICS_PORT", "http")
    with pytest.raises(ValueError, match="CHROMA_WORKER_METRICS_PORT"):
        worker_metrics.port()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_processes_share_one_count(tmp_path, tiny_model_file, media_in_tmp):
    """Three gunicorn processes, requests spread over them: /metrics sums every process's count."""
    import subprocess
    import sys

    port = _free_port()
    env = worker_env(media_in_tmp, tmp_path, tiny_model_file)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--config", "python:config.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}", "--workers", "3"],
        cwd=Path(__file__).resolve().parents[2], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/favicon.ico", timeout=5).close()  # another route
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail((tmp_path / "gunicorn.log").read_text()[-3000:])
                time.sleep(0.3)
        before = api_root_count(port)
        for _ in range(30):  # over new connections: gunicorn's processes take turns
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/", timeout=30).close()
        after = api_root_count(port)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    assert after - before == 30


def api_root_count(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        samples = parse(r.read().decode())
    return sum(
        v for (name, labels), v in samples.items()
        if name == "chroma_http_request_duration_seconds_count" and ("route", "api/v1/") in labels
    )  # fmt: skip
