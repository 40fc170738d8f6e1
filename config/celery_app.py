"""The Celery application: settings come from Django's, prefixed CELERY_."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("chroma_commons")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Inference runs on "gpu" workers when there are any and on "cpu" workers as a
# fallback; fine-tuning has its own queue. A CPU-only installation consumes all three.
app.conf.task_queues = (Queue("gpu"), Queue("cpu"), Queue("training"), Queue("default"))
app.conf.task_default_queue = "default"
app.autodiscover_tasks()
