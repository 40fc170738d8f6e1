"""The fine-tuning schedule's crontab (minute hour day-of-month month day-of-week, UTC), read by Celery's crontab.

Celery parses the fields (``*``, numbers, names, ranges ``a-b``, lists ``a,b``, steps ``*/n`` and
``a-b/n``) and computes the next firing. Two rules of the schedule's own are kept on top: a range
must not run backwards (Celery would wrap it around), and day of week 7 is Sunday, like 0.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from celery.schedules import ParseException, crontab, crontab_parser

# (name, how many values, the first): Celery's parser takes the same pair. Day of week reads 0-7.
_FIELDS = (("minute", 60, 0), ("hour", 24, 0), ("day of month", 31, 1), ("month", 12, 1), ("day of week", 8, 0))
_RANGE = re.compile(r"(\d+)-(\d+)")


class CrontabError(ValueError):
    pass


def _parse_field(text: str, name: str, count: int, first: int) -> set[int]:
    for start, stop in _RANGE.findall(text):
        if int(start) > int(stop):
            raise CrontabError(f"{name}: the range {start}-{stop} runs backwards")
    try:
        return crontab_parser(count, first).parse(text)
    except (ValueError, ParseException) as exc:
        raise CrontabError(f"{name}: {text!r} is not valid ({exc})") from None


def parse_crontab(text: str) -> crontab:
    fields = text.split()
    if len(fields) != 5:
        raise CrontabError("write five fields: minute hour day-of-month month day-of-week (e.g. '0 3 * * *')")
    parsed = [_parse_field(field, *spec) for field, spec in zip(fields, _FIELDS, strict=True)]
    minute, hour, day_of_month, month, _ = fields
    try:
        return crontab(
            minute=minute,
            hour=hour,
            day_of_week={day % 7 for day in parsed[4]},  # 7 is Sunday, as 0 is
            day_of_month=day_of_month,
            month_of_year=month,
        )
    except ValueError as exc:  # a date that never comes, such as 31 February
        raise CrontabError(str(exc)) from None


def fired_between(text: str, after: datetime, until: datetime) -> datetime | None:
    """The first minute in (after, until] that the crontab fires at (looking back at most 8 days), else None."""
    schedule = parse_crontab(text)
    after = max(after, until - timedelta(days=8))
    start, delta, _ = schedule.remaining_delta(after, tz=UTC)
    fires_at = start + delta
    return fires_at if fires_at <= until else None
