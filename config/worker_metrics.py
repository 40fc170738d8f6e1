"""A Celery worker's own Prometheus exporter (``CHROMA_WORKER_METRICS_PORT``).

The drafts, failures and training runs a worker counts (``colorization/metrics.py``) happen in its
pool processes, so the values are kept in prometheus-client's multiprocess files: this module sets
``PROMETHEUS_MULTIPROC_DIR`` to a fresh host-local folder when the port is set and no folder was given
(it must be set before prometheus-client is first imported: ``config/celery_app.py`` imports this
module first), and the worker's main process serves the sum of all its pool processes' files on the
port. No Django here: this runs before Django is set up.

The exporter has no authentication; bind it to the pod network (``CHROMA_WORKER_METRICS_ADDR``,
default 0.0.0.0) and keep it internal (the cluster manifests' NetworkPolicy admits only the
monitoring namespace). It exposes counters and timings, no user data.
"""

from __future__ import annotations

import logging
import os
import tempfile

logger = logging.getLogger(__name__)

PORT_VARIABLE = "CHROMA_WORKER_METRICS_PORT"


def port() -> int | None:
    value = os.environ.get(PORT_VARIABLE, "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{PORT_VARIABLE}={value!r}: a TCP port number (1-65535)")
    return int(value)


def prepare_environment() -> None:
    """Before prometheus-client is imported: a multiprocess folder of this worker's own, if exporting."""
    if port() is None:
        return
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="chroma-worker-metrics-")
    os.makedirs(folder, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder


def start_exporter() -> int | None:
    """In the worker's main process, before the pool starts: serve this host's worker metrics."""
    chosen = port()
    if chosen is None:
        return None
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    for entry in os.scandir(folder):  # values of an earlier run of this worker are not this run's
        if entry.name.endswith(".db"):
            os.unlink(entry.path)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=folder)
    start_http_server(chosen, addr=os.environ.get("CHROMA_WORKER_METRICS_ADDR", "0.0.0.0"), registry=registry)
    logger.info("worker metrics on port %s (multiprocess folder %s)", chosen, folder)
    return chosen


def process_exited(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def task_failed() -> None:
    from colorization.metrics import FAILURES

    FAILURES.labels("task").inc()
