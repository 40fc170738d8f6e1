"""The services' rate limits in the API: ``RateLimited`` becomes 429 with Retry-After, JSON as every error.

The limits themselves are counted by the services (``colorization/ratelimit.py``), so the API
and the forms share one counter per action; views only mix ``ServiceLimits`` in to translate.
"""

from __future__ import annotations

from rest_framework import exceptions, status

from colorization.ratelimit import RateLimited


class LimitReached(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "throttled"

    def __init__(self, limited: RateLimited):
        super().__init__(limited.message)
        self.wait = limited.retry_after  # DRF's handler turns ``wait`` into the Retry-After header


class ServiceLimits:
    """Mixed into API views whose services count a limit."""

    def handle_exception(self, exc):
        if isinstance(exc, RateLimited):
            exc = LimitReached(exc)
        return super().handle_exception(exc)
