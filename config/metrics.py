"""``/metrics``: Prometheus series for the web tier and for the installation as a whole.

Two kinds of series come out of one scrape:

- this process's instruments (prometheus-client): request latency (``RequestMetricsMiddleware``), and
  whatever the drafts, failures and training counters of ``colorization/metrics.py`` counted here.
  With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn with several workers; one host-local folder per
  pod or host), the values of every process on this host are summed. Celery workers serve their own
  on ``CHROMA_WORKER_METRICS_PORT`` (``config/worker_metrics.py``);
- the installation's state, read at scrape time from the database and the broker (``PlatformCollector``):
  queue depth per queue, drafts finished (a counter: ``rate()`` gives drafts per minute for all the
  workers together) and their recent latency, training runs and their durations, the active model
  per bucket. Every query runs under a PostgreSQL ``statement_timeout`` of
  ``CHROMA_METRICS_QUERY_SECONDS`` and every Redis command under ``CELERY_BROKER_TIMEOUT``; a part
  that fails or times out is reported as ``chroma_scrape_ok{part=...} 0`` and the rest is served.

Access: with ``CHROMA_METRICS_TOKEN`` set, only ``Authorization: Bearer <token>``; without it the
endpoint is open in development and answers 404 in production.
"""

from __future__ import annotations

import hmac
import logging
import os
import statistics
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from colorization.metrics import FAILURES

logger = logging.getLogger(__name__)

QUEUES = ("gpu", "cpu", "training", "default")
# kombu's Redis transport keeps a queue's messages of priority 3, 6 and 9 in lists of their own.
REDIS_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
RECENT_LATENCY_WINDOW = timedelta(minutes=15)
RECENT_LATENCY_ROWS = 10_000

REQUEST_SECONDS = Histogram(
    "chroma_http_request_duration_seconds",
    "Seconds from the request to the response, by method, route and status class",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class RequestMetricsMiddleware:
    """Times every request; the route (``photos/<int:pk>/``), never the path, keeps the labels few."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        status = f"{response.status_code // 100}xx"
        REQUEST_SECONDS.labels(request.method, route, status).observe(time.perf_counter() - started)
        if response.status_code >= 500:
            FAILURES.labels("http_5xx").inc()
        return response


# --- the installation's state, read at scrape time ------------------------------------------------


def queue_depths() -> dict[str, int]:
    """Messages waiting in each queue: Redis list lengths (one pipelined round trip), or the
    embedded broker's message files. Raises if the broker does not answer in time."""
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        timeout = settings.CELERY_BROKER_TIMEOUT  # connecting, then the one pipelined round trip; no retries
        client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        try:
            pipe = client.pipeline(transaction=False)
            for queue in QUEUES:
                for suffix in REDIS_PRIORITY_SUFFIXES:
                    pipe.llen(queue + suffix)
            lengths = pipe.execute()
        finally:
            client.close()
        n = len(REDIS_PRIORITY_SUFFIXES)
        return {queue: sum(lengths[i * n : (i + 1) * n]) for i, queue in enumerate(QUEUES)}
    if url.startswith("filesystem://"):
        from config.celery_app import app

        folder = Path(app.conf.broker_transport_options["data_folder_in"])
        depths = dict.fromkeys(QUEUES, 0)
        with os.scandir(folder) as entries:
            for entry in entries:
                # kombu names each message file "<ms>_<uuid>.<queue>.msg"
                parts = entry.name.rsplit(".", 2)
                if len(parts) == 3 and parts[2] == "msg" and parts[1] in depths:
                    depths[parts[1]] += 1
        return depths
    raise LookupError(f"queue depth is not read from {url.split('://', 1)[0]}:// brokers")


@contextmanager
def _bounded_queries():
    """A transaction whose statements PostgreSQL stops after CHROMA_METRICS_QUERY_SECONDS."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            ms = max(1, round(settings.CHROMA_METRICS_QUERY_SECONDS * 1000))
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {ms}")
        yield


class PlatformCollector:
    """Collects the installation-wide series; each part on its own, so one failure hides nothing else."""

    def collect(self):
        ok = GaugeMetricFamily("chroma_scrape_ok", "1 when this part of the scrape answered in time", labels=["part"])
        for part, collect in (("broker", self._queues), ("drafts", self._drafts), ("training", self._training),
                              ("models", self._models)):  # fmt: skip
            try:
                families = list(collect())
            except Exception as exc:  # noqa: BLE001 - a timeout, a broker or database that is down: say so, serve the rest
                logger.warning("metrics: %s part failed: %s: %s", part, type(exc).__name__, exc)
                ok.add_metric([part], 0)
                if part != "broker":
                    connection.close()  # an aborted statement leaves nothing behind for the next request
                continue
            ok.add_metric([part], 1)
            yield from families
        yield ok

    def _queues(self):
        depth = GaugeMetricFamily("chroma_queue_messages", "Messages waiting in each Celery queue", labels=["queue"])
        for queue, n in queue_depths().items():
            depth.add_metric([queue], n)
        yield depth

    def _drafts(self):
        from colorization.models import Draft, DraftStatus

        now = timezone.now()
        with _bounded_queries():
            by_status = dict(Draft.objects.order_by().values_list("status").annotate(n=Count("id")))
            last_minute = Draft.objects.filter(
                status__in=[DraftStatus.DONE, DraftStatus.FAILED], finished_at__gte=now - timedelta(minutes=1)
            ).count()
            recent = list(
                Draft.objects.filter(status=DraftStatus.DONE, finished_at__gte=now - RECENT_LATENCY_WINDOW)
                .order_by()
                .values_list("created_at", "finished_at")[:RECENT_LATENCY_ROWS]
            )
        finished = CounterMetricFamily(
            "chroma_drafts_finished", "Drafts finished in the installation, by status (rate() = drafts per second)",
            labels=["status"],
        )  # fmt: skip
        for status in (DraftStatus.DONE, DraftStatus.FAILED):
            finished.add_metric([status], by_status.get(status, 0))
        yield finished
        waiting = GaugeMetricFamily("chroma_drafts_pending", "Drafts queued or running", labels=["status"])
        for status in (DraftStatus.QUEUED, DraftStatus.RUNNING):
            waiting.add_metric([status], by_status.get(status, 0))
        yield waiting
        yield GaugeMetricFamily(
            "chroma_drafts_finished_last_minute", "Drafts finished (done or failed) in the last 60 seconds",
            value=last_minute,
        )  # fmt: skip
        latency = GaugeMetricFamily(
            "chroma_draft_recent_latency_seconds",
            "Request-to-result seconds of the drafts finished in the last 15 minutes, by quantile",
            labels=["quantile"],
        )
        seconds = sorted((done - created).total_seconds() for created, done in recent)
        if len(seconds) >= 2:
            cuts = statistics.quantiles(seconds, n=100, method="inclusive")
            for q, value in (("0.5", cuts[49]), ("0.95", cuts[94]), ("0.99", cuts[98])):
                latency.add_metric([q], value)
        elif seconds:
            for q in ("0.5", "0.95", "0.99"):
                latency.add_metric([q], seconds[0])
        yield latency

    def _training(self):
        from colorization.models import RunStatus, TrainingRun

        with _bounded_queries():
            rows = list(
                TrainingRun.objects.order_by()
                .values_list("status")
                .annotate(n=Count("id"), train=Sum("train_seconds"), evaluate=Sum("eval_seconds"))
            )
        runs = GaugeMetricFamily(
            "chroma_training_runs", "Training runs in the installation, by status", labels=["status"]
        )
        durations = SummaryMetricFamily(
            "chroma_training_run_duration_seconds",
            "Training plus evaluation seconds of finished runs (succeeded: promoted; rejected by the gate)",
            labels=["status"],
        )
        counts = {status: (n, (train or 0) + (evaluate or 0)) for status, n, train, evaluate in rows}
        for status in RunStatus.values:
            n, total = counts.get(status, (0, 0.0))
            runs.add_metric([status], n)
            if status in (RunStatus.SUCCEEDED, RunStatus.REJECTED):
                durations.add_metric([status], count_value=n, sum_value=total)
        yield runs
        yield durations

    def _models(self):
        from colorization.models import ColorModel, ModelStatus, bucket_key

        with _bounded_queries():
            active = list(
                ColorModel.objects.filter(status=ModelStatus.ACTIVE).values("genre", "era", "slug", "version")
            )
        info = GaugeMetricFamily(
            "chroma_model_active_info", "The model drafts of each bucket use (value 1)",
            labels=["bucket", "genre", "era", "slug", "version"],
        )  # fmt: skip
        for m in active:
            info.add_metric(
                [
                    bucket_key(m["genre"], m["era"]),
                    m["genre"] or "any",
                    m["era"] or "any",
                    m["slug"],
                    str(m["version"]),
                ],
                1,
            )
        yield info


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        local = CollectorRegistry()
        MultiProcessCollector(local)
    else:
        local = REGISTRY
    platform = CollectorRegistry(auto_describe=False)
    platform.register(PlatformCollector())
    return generate_latest(local) + generate_latest(platform)


def _authorized(request) -> bool:
    token = settings.CHROMA_METRICS_TOKEN
    if not token:
        if settings.PRODUCTION:
            raise Http404("metrics are off: set CHROMA_METRICS_TOKEN")
        return True
    given = request.META.get("HTTP_AUTHORIZATION", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@never_cache
@require_safe
def metrics_view(request):
    if not _authorized(request):
        return HttpResponse("a bearer token is required\n", status=401, headers={"WWW-Authenticate": "Bearer"},
                            content_type="text/plain")  # fmt: skip
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
