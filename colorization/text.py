"""The one rule for text people submit: no NUL and no other control characters except tab, LF and CR.

PostgreSQL refuses NUL in text (SQLite stores it), and the other control characters are never
meant in a title, a comment or a search: refusing them everywhere, with the field named, gives
the same clear 400 on both databases. The HTTP layer (``config.middleware.InputMiddleware``)
applies it to paths, query strings, form fields, file names and JSON bodies; the services apply it
to what reaches them by other doors (commands, imports).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.core.exceptions import BadRequest, ValidationError

# Control characters (tab, LF and CR aside), and lone UTF-16 surrogates (JSON's "\ud800" decodes to
# one): no UTF-8 text holds them, so neither database can store them.
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_FORBIDDEN = re.compile(f"[{_CONTROL}\\ud800-\\udfff]")
# The rule as JSON Schema patterns, for the API's schema (colorization/api/schema.py): text without
# the control characters, and (for required fields that trim and refuse blanks) with something
# besides white space in it. Lone surrogates are left out: a schema's strings are Unicode, which
# has none (and regex engines that validate schemas refuse the range).
SCHEMA_PATTERN = f"^[^{_CONTROL}]*$"
SCHEMA_PATTERN_NOT_BLANK = f"^[^{_CONTROL}]*[^\\s{_CONTROL}][^{_CONTROL}]*$"


def control_character(value: str) -> str | None:
    """The first forbidden character in ``value``, or None."""
    match = _FORBIDDEN.search(value)
    return match.group() if match else None


def message_for(char: str) -> str:
    if "\ud800" <= char <= "\udfff":
        return f"Remove the unpaired surrogate U+{ord(char):04X}; text must be valid Unicode."
    return f"Remove the control character U+{ord(char):04X}; text may not contain control characters."


def text_problems(data, path: str = "") -> Iterator[tuple[str, str]]:
    """``(field, message)`` for every string (keys included) in a JSON-like value that breaks the rule.

    Fields are named as a client writes them: ``evidence[0].text``.
    """
    if isinstance(data, str):
        char = control_character(data)
        if char is not None:
            yield path or "non_field_errors", message_for(char)
    elif isinstance(data, dict):
        for key, value in data.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and control_character(key) is not None:
                yield name, message_for(control_character(key))
                continue
            yield from text_problems(value, name)
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            yield from text_problems(value, f"{path}[{i}]")


def validate_text(data, path: str = "") -> None:
    """Raise ``ValidationError({field: [message]})`` if any string in ``data`` breaks the rule."""
    errors: dict[str, list[str]] = {}
    for field, message in text_problems(data, path):
        errors.setdefault(field, [message])
    if errors:
        raise ValidationError(errors)


def submitted_id(value, field: str) -> int:
    """A row id a form or query string names; anything but plain ASCII digits is a 400 naming the field."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise BadRequest(f"{field} must be a whole number (an id); got {text[:40]!r}.")
    return int(text)
