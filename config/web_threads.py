"""Thread settings for web processes, applied by config/wsgi.py and config/asgi.py before anything imports torch.

A web process answers the editor's live previews, small forward passes that arrive while other
requests (and, on one host, Celery workers) want the same cores. OpenMP's default busy-waiting
between parallel regions then burns the cores the others need: on a 2-core machine under load the
preview p50 went from 491 ms to 133 ms with OMP_WAIT_POLICY=PASSIVE, and to 76 ms with one
intra-op thread per web process (benchmarks/preview_latency.py). Parallelism in the web tier comes
from more processes (gunicorn workers), not from threads inside one request. Workers keep torch's
defaults; an explicit environment always wins.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

from config import env


def web_thread_env() -> dict[str, str]:
    """The variables a web process sets: ``CHROMA_WEB_TORCH_THREADS`` (default 1) torch threads, passive waiting."""
    threads = str(env.integer("CHROMA_WEB_TORCH_THREADS", 1, minimum=1, maximum=256))
    return {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}


def configure_web_threads(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set the web tier's thread environment unless the deployment chose its own."""
    for name, value in web_thread_env().items():
        environ.setdefault(name, value)
