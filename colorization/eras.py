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
