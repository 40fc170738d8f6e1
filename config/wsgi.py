"""WSGI entry point (gunicorn config.wsgi).

Thread settings for web processes come first, before anything imports torch: a web
process answers the editor's live previews, small forward passes that arrive while other
requests (and, on one host, Celery workers) want the same cores. OpenMP's default
busy-waiting between parallel regions then burns the cores the others need: on a 2-core
machine under load the preview p50 went from 491 ms to 133 ms with OMP_WAIT_POLICY=PASSIVE,
and to 76 ms with one intra-op thread per web process (benchmarks/preview_latency.py).
Parallelism in the web tier comes from more processes (gunicorn workers), not from threads
inside one request. Workers keep torch's defaults; an explicit environment always wins.
"""

import os

WEB_THREAD_ENV = {
    "OMP_WAIT_POLICY": "PASSIVE",
    "OMP_NUM_THREADS": os.environ.get("CHROMA_WEB_TORCH_THREADS", "1"),
    "MKL_NUM_THREADS": os.environ.get("CHROMA_WEB_TORCH_THREADS", "1"),
}


def configure_web_threads(environ=os.environ) -> None:
    """Set the web tier's thread environment unless the deployment chose its own."""
    for name, value in WEB_THREAD_ENV.items():
        environ.setdefault(name, value)


configure_web_threads()

from django.core.wsgi import get_wsgi_application  # noqa: E402 - after the thread settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
