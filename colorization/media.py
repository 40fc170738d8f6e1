"""Files in local storage are reached only through short-lived signed URLs.

A hidden photo's original, thumbnail and renders must not be readable by whoever guesses (or
remembers) their key. Every page and API answer that shows a file asks the storage for its URL,
and only does so after checking that the reader may see the photo; so the storage signs each URL
(HMAC with ``SECRET_KEY``) with an expiry, and ``media_serve`` serves a key only with a valid,
unexpired signature. Expiry falls on a window boundary (``CHROMA_MEDIA_URL_SECONDS``): a file's URL
stays the same for a while, so browsers and the page cache keep working, and a link that leaks
stops working within two windows. On S3 the same holds through django-storages' query-string
authentication (``AWS_QUERYSTRING_AUTH``, expiring after ``AWS_QUERYSTRING_EXPIRE``).
"""

from __future__ import annotations

import mimetypes
import re
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import FileResponse, Http404, HttpResponse, HttpResponseForbidden
from django.utils.crypto import constant_time_compare, salted_hmac
from django.views.decorators.http import require_safe

_SALT = "chroma.media"


def _window() -> int:
    return settings.CHROMA_MEDIA_URL_SECONDS


def signature(key: str, expires: int) -> str:
    return salted_hmac(_SALT, f"{key}\n{expires}", algorithm="sha256").hexdigest()[:32]


def _expiry(now: float | None = None) -> int:
    window = _window()
    now = time.time() if now is None else now
    return (int(now) // window + 2) * window  # valid between one and two windows from now


def signed_query(key: str, *, now: float | None = None) -> str:
    expires = _expiry(now)
    return urlencode({"e": expires, "s": signature(key, expires)})


def signature_valid(key: str, expires: str, sig: str, *, now: float | None = None) -> bool:
    if not expires.isascii() or not expires.isdigit() or len(expires) > 12:
        return False
    now = time.time() if now is None else now
    return int(expires) >= now and constant_time_compare(sig, signature(key, int(expires)))


def key_token(name: str) -> str:
    """An unguessable, stable part for a storage key derived from ``name`` (a draft's id, say)."""
    return salted_hmac("chroma.media.key", name, algorithm="sha256").hexdigest()[:20]


# A file's signed URL is the same for a whole window, and pages show the same files again and again
# (a gallery's thumbnails, a queue's renders): each is signed once per window and process (issue 25:
# quoting the path and the HMAC were ~25 µs a URL, a millisecond on a page of 40 cards).
_SIGNED_URLS: dict[tuple, str] = {}
_SIGNED_URLS_MAX = 20_000


class SignedFileSystemStorage(FileSystemStorage):
    """Local storage whose URLs carry an expiring signature that ``media_serve`` checks."""

    def url(self, name: str | None) -> str:
        expires = _expiry()
        memo = (self.base_url, name, expires)
        found = _SIGNED_URLS.get(memo)
        if found is None:
            if len(_SIGNED_URLS) >= _SIGNED_URLS_MAX:
                _SIGNED_URLS.clear()  # older windows' URLs and rarely shown files go together
            query = urlencode({"e": expires, "s": signature(name or "", expires)})
            found = _SIGNED_URLS[memo] = f"{super().url(name)}?{query}"
        return found


@receiver(setting_changed)
def _forget_signed_urls(**kwargs) -> None:
    """A changed SECRET_KEY, MEDIA_URL or window (tests) signs anew."""
    _SIGNED_URLS.clear()


@require_safe
def media_serve(request, key: str):
    """A file of local storage, for a URL that ``SignedFileSystemStorage.url`` made."""
    if not signature_valid(key, request.GET.get("e", ""), request.GET.get("s", "")):
        return HttpResponseForbidden(
            "This file link is not signed or has expired. Open the page that shows the file again.",
            content_type="text/plain; charset=utf-8",
        )
    if not default_storage.exists(key):
        raise Http404("No such file.")
    content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"  # keys are ours, never the uploader's
    wanted = _RANGE.fullmatch(request.headers.get("Range", "").strip())
    if wanted:  # a part of the file: what a video player asks for to seek (film clips, issue 19)
        response = _partial(key, wanted, content_type)
    else:
        response = FileResponse(default_storage.open(key, "rb"), content_type=content_type)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = f"private, max-age={_window()}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_MAX_PART = 8 << 20  # one answer holds at most this much; a player asks again for the rest


def _partial(key: str, wanted: re.Match, content_type: str) -> HttpResponse:
    """A 206 for one ``bytes=a-b`` range (RFC 9110); 416 when it lies outside the file."""
    size = default_storage.size(key)
    first, last = wanted.group(1), wanted.group(2)
    if first:
        start, end = int(first), int(last) if last else size - 1
    elif last:  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = 0, size - 1
    end = min(end, size - 1, start + _MAX_PART - 1)
    if start >= size or start > end:
        response = HttpResponse(status=416, content_type="text/plain; charset=utf-8")
        response["Content-Range"] = f"bytes */{size}"
        return response
    with default_storage.open(key, "rb") as f:
        f.seek(start)
        body = f.read(end - start + 1)
    response = HttpResponse(body, status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response
