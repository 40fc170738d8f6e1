"""One limit per action, whatever the entry point: the services call ``rate_limit`` before they write.

The API, the HTML forms and any other caller share the same counter, so a form cannot go on where
the API answers 429. Counters live in Django's cache (Redis in production, shared by every web
process); a fixed window per (scope, person), so each key expires on its own and the cache stays
bounded. The rates are the ``CHROMA_*_RATE`` settings (``COUNT/PERIOD``, as ``config/env.py`` reads
them).
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}  # "60/hour", "60/h" as Django REST framework reads them


class RateLimited(Exception):
    """Over a limit: ``message`` for people, ``retry_after`` seconds for the Retry-After header."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def parse_rate(rate: str) -> tuple[int, int, str]:
    """``"60/hour"`` -> (60, 3600, "hour")."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period[:1]], period


def rate_limit(*, scope: str, rate: str, user=None, key: str | None = None, cost: int = 1) -> None:
    """Count ``cost`` uses of ``scope`` for ``user`` (or any other ``key``: an address, a username).

    Raises ``RateLimited`` once the window's count passes the rate's limit. ``key`` is hashed, so
    a hostile value (a megabyte "username") cannot make the cache key large.
    """
    if user is not None:
        who = f"u{user.pk}"
    elif key is not None:
        who = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    else:
        raise ValueError("rate_limit needs a user or a key")
    limit, seconds, period = parse_rate(rate)
    now = time.time()
    window = int(now // seconds)
    cache_key = f"rate:{scope}:{who}:{window}"
    cache.add(cache_key, 0, timeout=seconds + 5)
    try:
        used = cache.incr(cache_key, cost)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, cost, timeout=seconds + 5)
        used = cost
    if used > limit:
        retry = int(seconds - now % seconds) + 1
        raise RateLimited(f"At most {limit} per {period}; try again in {retry} seconds.", retry)


def client_address(request) -> str:
    """The client's IP address: ``REMOTE_ADDR``, or behind ``CHROMA_NUM_PROXIES`` trusted proxies the
    address the outermost of them saw (read from the right of X-Forwarded-For, which a client can
    only prepend to)."""
    proxies = settings.CHROMA_NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))][:64]
    return request.META.get("REMOTE_ADDR", "")[:64]


def credentials_limit(*, scope: str, address: str, identity: str) -> None:
    """Password guessing and reset mail: a limit per address and one per account (username or e-mail).

    Every attempt counts, before the password is checked, so a guesser learns nothing past the
    limit. Used by the login page, the API's token endpoint (scope ``login``) and the password
    reset page (scope ``password-reset``).
    """
    identity_rate = settings.CHROMA_LOGIN_RATE if scope == "login" else settings.CHROMA_PASSWORD_RESET_RATE
    rate_limit(scope=f"{scope}:address", rate=settings.CHROMA_LOGIN_ADDRESS_RATE, key=address)
    rate_limit(scope=f"{scope}:identity", rate=identity_rate, key=identity.strip().casefold()[:512])
