"""A small crontab matcher (minute hour day-of-month month day-of-week, UTC), for the fine-tuning schedule.

Supports ``*``, numbers, ranges ``a-b``, lists ``a,b`` and steps ``*/n`` or ``a-b/n``; day of week
0-7 with 0 and 7 meaning Sunday. Pure functions, no Django.
"""

from __future__ import annotations

from datetime import datetime, timedelta

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))


class CrontabError(ValueError):
    pass


def _parse_field(text: str, name: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if body == "*":
                start, stop = low, high
            elif "-" in body:
                a, b = body.split("-", 1)
                start, stop = int(a), int(b)
            else:
                start = stop = int(body)
                if step_text:
                    stop = high
        except ValueError:
            raise CrontabError(f"{name}: {part!r} is not a number, range, list or step") from None
        if step < 1 or not (low <= start <= high and low <= stop <= high) or start > stop:
            raise CrontabError(f"{name}: {part!r} is outside {low}-{high}")
        values.update(range(start, stop + 1, step))
    return values


def parse_crontab(text: str) -> list[set[int]]:
    fields = text.split()
    if len(fields) != 5:
        raise CrontabError("write five fields: minute hour day-of-month month day-of-week (e.g. '0 3 * * *')")
    parsed = [_parse_field(f, *spec) for f, spec in zip(fields, _FIELDS, strict=True)]
    if 7 in parsed[4]:
        parsed[4].add(0)
    return parsed


def matches(parsed: list[set[int]], when: datetime) -> bool:
    minute, hour, dom, month, dow = parsed
    return (
        when.minute in minute
        and when.hour in hour
        and when.day in dom
        and when.month in month
        and (when.isoweekday() % 7) in dow
    )


def fired_between(text: str, after: datetime, until: datetime) -> datetime | None:
    """The last minute in (after, until] that the crontab matches (looking back at most 8 days)."""
    parsed = parse_crontab(text)
    after = max(after, until - timedelta(days=8))
    t = until.replace(second=0, microsecond=0)
    while t > after:
        if matches(parsed, t):
            return t
        t -= timedelta(minutes=1)
    return None
