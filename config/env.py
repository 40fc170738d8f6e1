"""Strict parsing of settings from the environment.

A bad value stops start-up with a message that names the variable, instead of
quietly falling back to a default. Any variable can also be read from a file
named by ``<NAME>_FILE`` (for container secrets).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def raw(name: str) -> str | None:
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return os.environ.get(name)


def string(name: str, default: str | None = None) -> str | None:
    value = raw(name)
    return default if value is None or value == "" else value


def boolean(name: str, default: bool) -> bool:
    value = raw(name)
    if value is None or value == "":
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use one of {sorted(_TRUE | _FALSE)}")


def integer(name: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
    value = raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value.replace("_", ""))
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number") from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ImproperlyConfigured(f"{name}={number} is outside the allowed range [{minimum}, {maximum}]")
    return number


def decimal(name: str, default: float, minimum: float | None = None, maximum: float | None = None) -> float:
    value = raw(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number") from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ImproperlyConfigured(f"{name}={number} is outside the allowed range [{minimum}, {maximum}]")
    return number


def listing(name: str, default: list[str]) -> list[str]:
    value = raw(name)
    if value is None or value.strip() == "":
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def choice(name: str, default: str, choices: set[str]) -> str:
    value = string(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of {sorted(choices)}")
    return value


def integers(name: str, default: list[int], minimum: int | None = None, maximum: int | None = None) -> list[int]:
    """A comma-separated list of whole numbers, each within [minimum, maximum]."""
    numbers = []
    for item in listing(name, [str(n) for n in default]):
        try:
            number = int(item.replace("_", ""))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {item!r} is not a whole number") from None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise ImproperlyConfigured(f"{name}: {number} is outside the allowed range [{minimum}, {maximum}]")
        numbers.append(number)
    return numbers


_RATE_PERIODS = {"second", "minute", "hour", "day", "s", "m", "h", "d"}


def rate(name: str, default: str) -> str:
    """A throttle rate as Django REST framework reads it: ``COUNT/PERIOD`` (``60/hour``, ``5/m``)."""
    value = string(name, default)
    count, _, period = value.partition("/")
    if not count.isdigit() or period not in _RATE_PERIODS:
        raise ImproperlyConfigured(f"{name}={value!r}: use a rate such as 60/hour (per second, minute, hour or day)")
    return value


_DEVICE = re.compile(r"(cpu|cuda|cuda:\d+|mps)")


def device(name: str) -> str | None:
    """A torch device name (cpu, cuda, cuda:N, mps), or None when unset."""
    value = string(name)
    if value is not None and not _DEVICE.fullmatch(value):
        raise ImproperlyConfigured(f"{name}={value!r} is not a device; use cpu, cuda, cuda:N or mps")
    return value


_META_NAME = re.compile(r"HTTP_[A-Z0-9_]+")


def proxy_header(name: str, default: tuple[str, str] | None) -> tuple[str, str] | None:
    """Django's ``SECURE_PROXY_SSL_HEADER`` from ``HTTP_X_FORWARDED_PROTO,https``; ``none`` turns it off."""
    value = raw(name)
    if value is None or value == "":
        return default
    if value.strip().lower() == "none":
        return None
    header, _, expected = (part.strip() for part in value.partition(","))
    if not _META_NAME.fullmatch(header) or not expected:
        raise ImproperlyConfigured(
            f"{name}={value!r}: use the request.META name and the value, such as HTTP_X_FORWARDED_PROTO,https (or none)"
        )
    return header, expected
