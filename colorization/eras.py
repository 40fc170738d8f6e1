"""Years, decades and era labels for photos (pure functions)."""

from __future__ import annotations


def era_label(year_from: int | None, year_to: int | None) -> str:
    if year_from is None and year_to is None:
        return "date unknown"
    if year_from == year_to or year_to is None:
        return f"{year_from}" if year_to is not None else f"{year_from} or later"
    if year_from is None:
        return f"{year_to} or earlier"
    if year_from % 10 == 0 and year_to == year_from + 9:
        return f"{year_from}s"
    return f"{year_from}–{year_to}"


def parse_era_buckets(spec: list[str]) -> list[tuple[int | None, int | None]]:
    """``["-1899", "1900-1919", …, "2000-"]`` -> ``[(None, 1899), (1900, 1919), …, (2000, None)]``."""
    buckets = []
    for item in spec:
        low, sep, high = item.strip().partition("-")
        if not sep or not (low or high) or not all(part.isdigit() for part in (low, high) if part):
            raise ValueError(f"era bucket {item!r}: write FROM-TO, -TO or FROM- with years")
        bounds = (int(low) if low else None, int(high) if high else None)
        if None not in bounds and bounds[0] > bounds[1]:
            raise ValueError(f"era bucket {item!r}: the first year is after the last")
        buckets.append(bounds)
    return buckets


def bucket_label(low: int | None, high: int | None) -> str:
    return f"{'' if low is None else low}-{'' if high is None else high}"


def era_bucket(year_from: int | None, year_to: int | None, buckets: list[tuple[int | None, int | None]]) -> str | None:
    """The bucket holding the middle of a photo's year range, as its label (``"1900-1919"``); None if undated."""
    if year_from is None and year_to is None:
        return None
    middle = ((year_from if year_from is not None else year_to) + (year_to if year_to is not None else year_from)) // 2
    for low, high in buckets:
        if (low is None or middle >= low) and (high is None or middle <= high):
            return bucket_label(low, high)
    return None
