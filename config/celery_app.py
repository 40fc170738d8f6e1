"""The Celery application: settings come from Django's, prefixed CELERY_."""

import os
import signal
import sys

from celery import Celery
from celery.signals import (
    beat_init,
    celeryd_after_setup,
    task_failure,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
)
from kombu import Queue

from config import worker_metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
worker_metrics.prepare_environment()  # before anything imports prometheus-client

app = Celery("chroma_commons")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Inference runs on "gpu" workers when there are any and on "cpu" workers as a
# fallback; fine-tuning has its own queue. A CPU-only installation consumes all three.
app.conf.task_queues = (Queue("gpu"), Queue("cpu"), Queue("training"), Queue("default"))
app.conf.task_default_queue = "default"
app.autodiscover_tasks()

PR_SET_PDEATHSIG = 1


@worker_process_init.connect
def die_with_the_main_worker(**_) -> None:
    """A pool child dies when its main worker process does (SIGKILL, out of memory).

    An orphaned child would go on rendering and beating for a draft whose message nobody will
    acknowledge, so another worker could not take it over; Linux kills it with its parent.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


@worker_init.connect
def export_worker_metrics(**_) -> None:
    """The worker's main process serves its pool processes' metrics (CHROMA_WORKER_METRICS_PORT)."""
    worker_metrics.start_exporter()


@worker_process_shutdown.connect
def forget_pool_process_gauges(pid=None, **_) -> None:
    worker_metrics.process_exited(pid or os.getpid())


@task_failure.connect
def count_task_failure(**_) -> None:
    worker_metrics.task_failed()


@celeryd_after_setup.connect
def log_worker_host_local_parts(sender=None, **_) -> None:
    from config.host_local import log_host_local_parts

    log_host_local_parts("worker")


@beat_init.connect
def log_beat_host_local_parts(sender=None, **_) -> None:
    from config.host_local import log_host_local_parts

    log_host_local_parts("beat")
