"""A fixed-window rate limit per person, shared by the API and the pages (votes, comments, reports)."""

from __future__ import annotations

import time

from django.core.cache import cache


class RateLimited(Exception):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def rate_limit(*, user, scope: str, rate: str) -> None:
    """A fixed-window limit per person, shared by the API and the pages (raises ``RateLimited``)."""
    count_s, _, period = rate.partition("/")
    limit = int(count_s)
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[:1]]  # as DRF reads "60/hour", "60/h"
    window = int(time.time() // seconds)
    key = f"rate:{scope}:{user.pk}:{window}"
    cache.add(key, 0, timeout=seconds + 5)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds + 5)
        used = 1
    if used > limit:
        retry = int(seconds - time.time() % seconds) + 1
        raise RateLimited(f"At most {limit} per {period}; try again in {retry} seconds.", retry)
