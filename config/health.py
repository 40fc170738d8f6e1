"""``/healthz``: is the database, the storage and the broker reachable? For deployment probes.

Each dependency is checked in its own thread, all at once, and the answer comes within
``DEADLINE_SECONDS`` whatever they do: a check still running then counts as failed (a frozen
broker or database must not hang the probe, nor the web process it probes).
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor, wait

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

DEADLINE_SECONDS = 1.5


def _check_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()  # this thread's own connection


def _check_storage() -> None:
    key = default_storage.save(f"healthz/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
    try:
        with default_storage.open(key) as f:
            if f.read() != b"ok":
                raise OSError("storage returned different bytes")
    finally:
        default_storage.delete(key)


def _check_broker() -> None:
    from config.celery_app import app

    # One attempt, bounded by the broker timeouts (CELERY_BROKER_TIMEOUT).
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=0, timeout=app.conf.broker_connection_timeout)


CHECKS = {"database": _check_database, "storage": _check_storage, "broker": _check_broker}


def _timed(check) -> float:
    started = time.monotonic()
    check()
    return round((time.monotonic() - started) * 1000, 1)


@never_cache
def healthz(request):
    results, healthy = {}, True
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="healthz")
    try:
        futures = {name: pool.submit(_timed, check) for name, check in CHECKS.items()}
        wait(futures.values(), timeout=DEADLINE_SECONDS)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a hung check ends on its own timeout, not ours
    for name, future in futures.items():
        if not future.done():
            healthy = False
            results[name] = {"ok": False, "error": f"no answer within {DEADLINE_SECONDS} s"}
        elif (exc := future.exception()) is not None:
            healthy = False
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        else:
            results[name] = {"ok": True, "ms": future.result()}
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": results}, status=200 if healthy else 503
    )
