"""What this process counts for Prometheus: drafts rendered, failures, training runs.

The instruments live in the process that does the work (a Celery worker's pool process; a test),
so they are exported by that process: by the worker's own exporter (``config/metrics.py``,
``CHROMA_WORKER_METRICS_PORT``) or by ``/metrics`` of the web process. The series that describe the
whole installation (queue depths, drafts per minute, the model in use per bucket) are read from the
database and the broker at scrape time instead, by ``config.metrics``; they are right whichever
process did the work.

With ``PROMETHEUS_MULTIPROC_DIR`` set (several pool processes or gunicorn workers on one host),
prometheus-client keeps these values in files under that folder and the exporter sums them.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# A draft's forward pass is 0.05-2 s on the CPU, far less on a GPU; a batch is shared out per draft.
DRAFT_RENDER_SECONDS = Histogram(
    "chroma_draft_render_seconds",
    "Seconds of colorization per draft (a batch's forward pass divided by its drafts), by device",
    ["device"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DRAFT_LATENCY_SECONDS = Histogram(
    "chroma_draft_latency_seconds",
    "Seconds from a draft's request to its result (queueing included)",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
)
DRAFTS_FINISHED = Counter("chroma_drafts_rendered", "Drafts this process finished, by outcome", ["outcome"])
FAILURES = Counter(
    "chroma_failures", "Failures seen by this process: draft, training, task (any Celery task) or http_5xx", ["kind"]
)
TRAINING_RUNS = Counter("chroma_training_runs_finished", "Training runs this process finished, by status", ["status"])
TRAINING_SECONDS = Histogram(
    "chroma_training_run_seconds",
    "Wall seconds of a training run in this process (training, evaluation and registration)",
    ["status"],
    buckets=(30, 60, 300, 600, 900, 1200, 1800, 2700, 3600, 7200),
)


def draft_done(*, device: str, render_seconds: float, latency_seconds: float | None) -> None:
    DRAFTS_FINISHED.labels("done").inc()
    DRAFT_RENDER_SECONDS.labels(device).observe(render_seconds)
    if latency_seconds is not None:
        DRAFT_LATENCY_SECONDS.observe(max(0.0, latency_seconds))


def draft_failed() -> None:
    DRAFTS_FINISHED.labels("failed").inc()
    FAILURES.labels("draft").inc()


def training_run_finished(*, status: str, seconds: float) -> None:
    TRAINING_RUNS.labels(status).inc()
    TRAINING_SECONDS.labels(status).observe(seconds)
    if status == "failed":
        FAILURES.labels("training").inc()


# Every label value from the start, so a series exists (at 0) before its first event and rate() sees it.
for _kind in ("draft", "training", "task", "http_5xx"):
    FAILURES.labels(_kind)
for _outcome in ("done", "failed"):
    DRAFTS_FINISHED.labels(_outcome)
for _status in ("succeeded", "rejected", "failed"):
    TRAINING_RUNS.labels(_status)
