"""gunicorn settings for the web tier (``gunicorn --config python:config.gunicorn_conf``).

With ``PROMETHEUS_MULTIPROC_DIR`` set, every gunicorn process writes its metrics to files in that
host-local folder and ``/metrics`` sums them (config/metrics.py): a temporary folder unless one is
given, emptied when the master starts; a process that exits has its live gauges dropped. (Without
``--preload``, as here, workers import the app after the master has set the variable.)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def on_starting(server) -> None:
    """In the master, before any worker imports the app: one folder for this host's processes."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="chroma-web-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    Path(folder).mkdir(parents=True, exist_ok=True)
    for stale in Path(folder).glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
