"""The page cache: anonymous GETs of the gallery, photo pages, collections, manifests and the feed
are cached whole.

A stored page remembers the version stamps it was built under: one for everything listed (bumped
on any change that can move a card) and one per photo. A bump makes older pages invalid at once;
they expire after CHROMA_PAGE_CACHE_SECONDS, which is also how stale another process's
local-memory cache can be (use a shared cache such as Redis, CHROMA_CACHE_URL, when several
processes serve the site). PageCacheMiddleware answers hits before the rest of the stack runs.

Signed-in people never get a whole cached page, but most of what they see is the same for everyone:
the gallery's cards, a photo page's history, a correction's votes. Those parts are shared template
fragments (``{% shared "name" %}``, read together in one cache round trip) whose key carries the
same version stamps plus the signed-media window (file URLs inside them change when it turns), so every change
that drops a cached page drops its fragments too. What differs per person stays outside them (the
header, "add to my collections", my vote, the discussion); forms inside a shared fragment carry a
placeholder for the CSRF token that ``csrf_fill`` replaces with the visitor's own after rendering.
"""

from __future__ import annotations

import hashlib
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils.http import urlencode

LISTS_STAMP = "pages:lists"


def _stamp(key: str):
    value = cache.get(key)
    if value is None:
        cache.add(key, uuid.uuid4().hex, None)
        value = cache.get(key)
    return value


def pages_invalidate(*, photo_id: int | None = None) -> None:
    """Make cached pages that may show this photo (and every list) unreachable."""
    cache.delete("gallery:archives")
    stamps = {LISTS_STAMP: uuid.uuid4().hex}
    if photo_id is not None:
        stamps[f"pages:photo:{photo_id}"] = uuid.uuid4().hex
    cache.set_many(stamps, None)


def pages_invalidate_on_commit(*, photo_id: int | None = None) -> None:
    """Drop cached pages now and again after the commit (a reader in between may cache the old page)."""
    pages_invalidate(photo_id=photo_id)
    transaction.on_commit(lambda: pages_invalidate(photo_id=photo_id))


# Rendered by {% csrf_token %} inside shared fragments instead of a person's token (see csrf_fill).
CSRF_SLOT = "csrf-slot-4f1c9e2a7b"


def fragment_key(*, photo_id: int | None = None, parts: tuple = ()) -> str:
    """The version part of a shared fragment's cache key: the stamps (every list, and the photo's),
    the signed-media window (URLs inside stay valid for at least one window), and ``parts`` (what
    else the fragment depends on: a viewer class, a digest of the drafts, the URL's filters).

    One ``get_many`` for the stamps (a missing one is created, as for pages).
    """
    keys = [LISTS_STAMP] + ([f"pages:photo:{photo_id}"] if photo_id is not None else [])
    found = cache.get_many(keys)
    stamps = [found.get(key) or _stamp(key) for key in keys]
    window = int(time.time()) // settings.CHROMA_MEDIA_URL_SECONDS
    raw = "|".join(str(x) for x in (*stamps, window, *parts))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def fragment_context(
    *, photo_id: int | None = None, parts: tuple = (), shared: bool = True, names: tuple[str, ...] = ()
) -> dict:
    """Template context for pages with shared fragments: ``fragments`` (``SharedFragments``: the
    page's fragments, ``names``, read together) and the CSRF slot.

    ``shared=False`` (a page only its owner or staff may see, drafts in progress) renders every
    fragment afresh and stores nothing.
    """
    seconds = settings.CHROMA_FRAGMENT_CACHE_SECONDS
    if not shared or seconds <= 0:
        return {"fragments": SharedFragments("private", 0, names), "csrf_token": CSRF_SLOT}
    return {
        "fragments": SharedFragments(fragment_key(photo_id=photo_id, parts=parts), seconds, names),
        "csrf_token": CSRF_SLOT,
    }


class SharedFragments:
    """A page's shared fragments (``{% shared "name" %}…{% endshared %}``, community/templatetags/
    shared_fragments.py): the page names them all up front, and the first one a render needs reads
    them all in one ``get_many``. A missing one is rendered and stored for ``seconds`` (0: rendered
    every time, stored never). A fragment the page did not name is a mistake in the page, not a
    miss: it raises."""

    def __init__(self, key: str, seconds: int, names: tuple[str, ...]):
        self.key, self.seconds, self.names = key, seconds, frozenset(names)
        self._found: dict | None = None

    def _cache_key(self, name: str) -> str:
        return f"fragment:{name}:{self.key}"

    def get(self, name: str) -> str | None:
        if name not in self.names:
            raise KeyError(f"the page renders fragment {name!r} without naming it (fragment_context names=…)")
        if self.seconds <= 0:
            return None
        if self._found is None:
            self._found = cache.get_many([self._cache_key(n) for n in sorted(self.names)])
        return self._found.get(self._cache_key(name))

    def put(self, name: str, html: str) -> None:
        if self.seconds > 0:
            cache.set(self._cache_key(name), html, self.seconds)


def csrf_fill(request, response):
    """Put the visitor's CSRF token where shared fragments left the slot (and only then issue one)."""
    slot = CSRF_SLOT.encode()
    if slot in response.content:
        from django.middleware.csrf import get_token

        response.content = response.content.replace(slot, get_token(request).encode())
    return response


def page_cache_key(request) -> str:
    raw = "|".join(
        [request.scheme, request.get_host(), request.path, urlencode(sorted(request.GET.lists()), doseq=True)]
    )
    return "page:" + hashlib.sha256(raw.encode()).hexdigest()


def _no_personal_state(request) -> bool:
    return (
        request.method == "GET"
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
    )


def cacheable(request) -> bool:
    """Only anonymous GETs with nothing personal pending (messages, a session) are shared."""
    return _no_personal_state(request) and not request.user.is_authenticated


def cached_response(request) -> HttpResponse | None:
    """The stored page for this URL if every version stamp it was made under is still current.

    Two cache reads: the page, then its stamps in one ``get_many``.
    """
    hit = cache.get(page_cache_key(request))
    if hit is None:
        return None
    stamps, content, content_type, headers = hit
    if cache.get_many(list(stamps)) != stamps:
        return None
    response = HttpResponse(content, content_type=content_type)
    for name, value in headers.items():
        response[name] = value
    response["X-Page-Cache"] = "hit"
    return response


def cached_page(request, build, *, photo_id: int | None = None) -> HttpResponse:
    """Serve ``build()``'s response from the cache for anonymous visitors.

    ``build`` returns a response; a response that sets cookies (a CSRF token was rendered), is not
    200, or says ``response.cacheable = False`` (drafts still in progress) is not stored.
    """
    if not cacheable(request):
        return build()
    hit = cached_response(request)
    if hit is not None:
        return hit
    stamp_keys = [LISTS_STAMP] + ([f"pages:photo:{photo_id}"] if photo_id is not None else [])
    stamps = {key: _stamp(key) for key in stamp_keys}  # read BEFORE building: a change meanwhile wins
    response = build()
    response["X-Page-Cache"] = "miss"
    response["Vary"] = "Cookie"
    if (
        response.status_code == 200
        and getattr(response, "cacheable", True)
        and not response.cookies
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and not getattr(response, "streaming", False)
        and settings.CHROMA_PAGE_CACHE_SECONDS > 0
    ):
        cache.set(
            page_cache_key(request),
            (stamps, response.content, response["Content-Type"], _kept_headers(response)),
            settings.CHROMA_PAGE_CACHE_SECONDS,
        )
    return response


class PageCacheMiddleware:
    """Serves cached anonymous pages before sessions, CSRF, auth and the URL resolver run.

    Placed right after WhiteNoise. Only requests without a session or messages cookie are looked
    up (a signed-in person always has a session cookie); everything else, and every miss, goes
    through the normal stack, where ``cached_page`` builds and stores the page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.CHROMA_PAGE_CACHE_SECONDS > 0 and _no_personal_state(request):
            hit = cached_response(request)
            if hit is not None:
                hit["X-Frame-Options"] = getattr(settings, "X_FRAME_OPTIONS", "DENY")
                return hit
        return self.get_response(request)


def _kept_headers(response) -> dict:
    kept = ("Access-Control-Allow-Origin", "Content-Disposition", "Vary")
    return {name: response[name] for name in kept if name in response}
