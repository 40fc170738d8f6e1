"""The public gallery: community versions of photos, filtered, searched, sorted and paged by keyset.

Every gallery page is one query on ``GalleryEntry`` (joined to its photo by primary key), whatever
the depth, because pages are keyset-paged on an index. The queries, with the index each uses
(``EXPLAIN`` on 100,000 photos in benchmarks/gallery_load.py):

- newest (default)::

    SELECT … FROM community_galleryentry JOIN colorization_photo ON photo.id = entry.photo_id
    WHERE entry.is_public AND entry.created_at <= %(c)s
      AND (entry.created_at < %(c)s OR entry.photo_id < %(id)s)
    ORDER BY entry.created_at DESC, entry.photo_id DESC LIMIT 25          -- gallery_newest

- ``genre=street``: the same with ``entry.genre = 'street'``            -- gallery_genre_newest
- ``archive=…``: the same with ``entry.source_archive = …``             -- gallery_archive_newest
- ``sort=endorsed`` / ``sort=discussed``: keyset on (endorsements, photo_id) or
  (comments, photo_id) descending                                        -- gallery_endorsed / _discussed
- ``decade=1910`` / ``era=1900-1919``: ``year_to >= 1910 AND year_from <= 1919`` on top of the sort
  index (a decade holds a large share of an archive, so walking the sort index stays short)
- ``q=…``: PostgreSQL ``to_tsvector('simple', search_text) @@ websearch_to_tsquery('simple', q)``
  (GIN index gallery_search, migration 0003_gallery); elsewhere ``icontains`` per word.

No page counts the matches: ``COUNT(*)`` over 100,000 rows is what makes offset pagination slow.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from colorization.eras import bucket_label, parse_era_buckets
from colorization.models import Draft, DraftPurpose, DraftStatus, Photo
from colorization.signals import draft_finished
from community.models import (
    Comment,
    Correction,
    CorrectionStatus,
    GalleryEntry,
    GalleryVersion,
    Vote,
)
from community.signals import content_hidden, correction_decided

logger = logging.getLogger(__name__)

PAGE_SIZE = 24
SORTS = {
    # name: (label, entry field ordered descending, then photo_id descending)
    "newest": ("Newest", "created_at"),
    "endorsed": ("Most endorsed", "endorsements"),
    "discussed": ("Most discussed", "comments"),
}
DECADES = list(range(1840, 2030, 10))
MAX_QUERY_WORDS = 8
# The archive list of the filter form is a DISTINCT over every entry (~40 ms at 100,000 photos):
# kept for five minutes whatever the page cache does, and dropped when a photo changes.
ARCHIVES_CACHE_SECONDS = 300
# What a card shows: the query reads only these columns (not the search text or descriptions).
CARD_FIELDS = [
    "photo_id",
    "created_at",
    "place",
    "version",
    "version_thumbnail",
    "version_label",
    "endorsements",
    "comments",
    "photo__title",
    "photo__year_from",
    "photo__year_to",
    "photo__thumbnail",
]


# --- keeping the entries in step ---------------------------------------------------------------------


def _search_text(photo: Photo) -> str:
    return " ".join(part for part in (photo.title, photo.description, photo.place) if part).lower()


def gallery_entry_refresh(*, photo_id: int) -> GalleryEntry | None:
    """Recompute what the gallery shows for a photo (idempotent; a few indexed queries)."""
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is None:
        return None  # deleted: the entry went with it (CASCADE)
    accepted = (
        Correction.objects.filter(photo_id=photo_id, status=CorrectionStatus.ACCEPTED, hidden_at__isnull=True)
        .select_related("render")
        .first()
    )
    fields = {
        "is_public": photo.hidden_at is None,
        "created_at": photo.created_at,
        "genre": photo.genre,
        "place": photo.place,
        "source_archive": photo.source_archive,
        "year_from": photo.year_from,
        "year_to": photo.year_to,
        "search_text": _search_text(photo),
        "version": GalleryVersion.NONE,
        "version_thumbnail": "",
        "version_label": "",
        "correction": None,
        "accepted_at": None,
        "endorsements": 0,
    }
    thumbnail = ""
    if accepted is not None:
        thumbnail = accepted.thumbnail.name or (accepted.render.thumbnail.name if accepted.render_id else "")
    if accepted is not None and thumbnail:
        fields.update(
            version=GalleryVersion.COMMUNITY,
            version_thumbnail=thumbnail,
            version_label=f"Community version · {accepted.label}",
            correction=accepted,
            accepted_at=accepted.decided_at,
            endorsements=accepted.votes_up,
        )
    else:
        draft = (
            Draft.objects.filter(photo_id=photo_id, status=DraftStatus.DONE, purpose=DraftPurpose.DRAFT)
            .order_by("-finished_at", "-id")
            .first()
        )
        if draft is not None and draft.thumbnail:
            fields.update(
                version=GalleryVersion.DRAFT, version_thumbnail=draft.thumbnail.name, version_label=draft.label
            )
    fields["comments"] = Comment.objects.filter(
        Q(photo_id=photo_id) | Q(correction__photo_id=photo_id, correction__hidden_at__isnull=True),
        hidden_at__isnull=True,
    ).count()
    entry, _ = GalleryEntry.objects.update_or_create(photo_id=photo_id, defaults=fields)
    return entry


def _refresh(photo_id: int | None) -> None:
    """Refresh the entry now (inside the caller's transaction, so it commits or rolls back with it)
    and drop cached pages now and again after the commit (a reader in between may cache the old page)."""
    if photo_id is None:
        return
    try:
        with transaction.atomic():
            gallery_entry_refresh(photo_id=photo_id)
    except Exception:  # a stale card must not break the write that caused it
        logger.exception("gallery entry refresh failed for photo %s", photo_id)
    pages_invalidate(photo_id=photo_id)
    transaction.on_commit(lambda: pages_invalidate(photo_id=photo_id))


# --- caching public pages ------------------------------------------------------------------------------
#
# Anonymous GETs of the gallery, photo pages, collections, manifests and the feed are cached whole.
# A stored page remembers the version stamps it was built under: one for everything listed (bumped
# on any change that can move a card) and one per photo. A bump makes older pages invalid at once;
# they expire after CHROMA_PAGE_CACHE_SECONDS, which is also how stale another process's
# local-memory cache can be (use a shared cache such as Redis, CHROMA_CACHE_URL, when several
# processes serve the site). PageCacheMiddleware answers hits before the rest of the stack runs.

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


# --- receivers --------------------------------------------------------------------------------------


@receiver(post_save, sender=Photo, dispatch_uid="gallery_photo_saved")
def _photo_saved(sender, instance: Photo, **kwargs) -> None:
    _refresh(instance.pk)


@receiver(post_delete, sender=Photo, dispatch_uid="gallery_photo_deleted")
def _photo_deleted(sender, instance: Photo, **kwargs) -> None:
    pages_invalidate(photo_id=instance.pk)  # the entry went with it (CASCADE)


@receiver(draft_finished, dispatch_uid="gallery_draft_finished")
def _draft_finished(sender, draft_id: int, status: str, **kwargs) -> None:
    photo_id = Draft.objects.filter(pk=draft_id).values_list("photo_id", flat=True).first()
    _refresh(photo_id)


@receiver(correction_decided, dispatch_uid="gallery_correction_decided")
def _correction_decided(sender, correction, photo_id: int, status: str, **kwargs) -> None:
    _refresh(photo_id)


@receiver(content_hidden, dispatch_uid="gallery_content_hidden")
def _content_hidden(sender, kind: str, obj, photo_id: int | None, hidden: bool, **kwargs) -> None:
    if photo_id is None:
        pages_invalidate()
    _refresh(photo_id)


@receiver(post_save, sender=Comment, dispatch_uid="gallery_comment_saved")
@receiver(post_delete, sender=Comment, dispatch_uid="gallery_comment_deleted")
def _comment_changed(sender, instance: Comment, **kwargs) -> None:
    photo_id = instance.photo_id
    if photo_id is None and instance.correction_id:
        photo_id = Correction.objects.filter(pk=instance.correction_id).values_list("photo_id", flat=True).first()
    _refresh(photo_id)


@receiver(post_save, sender=Correction, dispatch_uid="gallery_correction_saved")
def _correction_saved(sender, instance: Correction, **kwargs) -> None:
    # A new correction or a status change made with save(): the photo page's timeline changes.
    _refresh(instance.photo_id)


@receiver(post_save, sender=Vote, dispatch_uid="gallery_vote_saved")
def _vote_saved(sender, instance: Vote, **kwargs) -> None:
    photo_id = Correction.objects.filter(pk=instance.correction_id).values_list("photo_id", flat=True).first()
    if photo_id is not None:
        pages_invalidate(photo_id=photo_id)
        transaction.on_commit(lambda: pages_invalidate(photo_id=photo_id))


# --- reading the gallery ------------------------------------------------------------------------------


class BadFilter(ValueError):
    pass


@dataclass
class GalleryQuery:
    """The gallery's filters as read from the URL (the URL is the state: shareable and stable)."""

    decade: int | None = None
    era: str = ""
    genre: str = ""
    place: str = ""
    archive: str = ""
    q: str = ""
    sort: str = "newest"

    @classmethod
    def from_params(cls, params) -> tuple[GalleryQuery, list[str]]:
        """Read the filters; a bad value is dropped with a message saying why (never a 500)."""
        errors = []
        query = cls()
        decade = params.get("decade", "").strip()
        if decade:
            try:
                year = int(decade)
                if not 1800 <= year <= 2100:
                    raise ValueError
                query.decade = year // 10 * 10
            except ValueError:
                errors.append(f"“{decade[:20]}” is not a decade; use a year such as 1910.")
        era = params.get("era", "").strip()
        if era:
            if era in _era_buckets():
                query.era = era
            else:
                errors.append(f"“{era[:20]}” is not one of the eras: {', '.join(_era_buckets())}.")
        genre = params.get("genre", "").strip()
        if genre:
            if genre in settings.CHROMA_GENRES:
                query.genre = genre
            else:
                errors.append(f"“{genre[:40]}” is not a genre here.")
        query.place = params.get("place", "").strip()[:300]
        query.archive = params.get("archive", "").strip()[:300]
        query.q = " ".join(params.get("q", "").split()[:MAX_QUERY_WORDS])[:300]
        sort = params.get("sort", "").strip() or "newest"
        if sort in SORTS:
            query.sort = sort
        else:
            errors.append(f"“{sort[:20]}” is not a sort order; use newest, endorsed or discussed.")
        return query, errors

    def params(self) -> dict[str, str]:
        """The canonical URL parameters (defaults left out, fixed order: one URL per result)."""
        out = {}
        if self.q:
            out["q"] = self.q
        if self.decade is not None:
            out["decade"] = str(self.decade)
        for name in ("era", "genre", "place", "archive"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.sort != "newest":
            out["sort"] = self.sort
        return out

    @property
    def is_filtered(self) -> bool:
        return bool(set(self.params()) - {"sort"})


def _era_buckets() -> dict[str, tuple[int | None, int | None]]:
    return {bucket_label(lo, hi): (lo, hi) for lo, hi in parse_era_buckets(settings.CHROMA_ERA_BUCKETS)}


def _years_overlap(qs, year_from: int | None, year_to: int | None):
    if year_from is not None:
        qs = qs.filter(year_to__gte=year_from)
    if year_to is not None:
        qs = qs.filter(year_from__lte=year_to)
    return qs


def gallery_filter(query: GalleryQuery):
    """Public entries matching the filters (not ordered, not paged)."""
    qs = GalleryEntry.objects.filter(is_public=True)
    if query.decade is not None:
        qs = _years_overlap(qs, query.decade, query.decade + 9)
    if query.era:
        qs = _years_overlap(qs, *_era_buckets()[query.era])
    if query.genre:
        qs = qs.filter(genre=query.genre)
    if query.place:
        qs = qs.filter(place__icontains=query.place)
    if query.archive:
        qs = qs.filter(source_archive=query.archive)
    if query.q:
        if connection.vendor == "postgresql":
            qs = qs.filter(
                RawSQL(
                    "to_tsvector('simple'::regconfig, community_galleryentry.search_text)"
                    " @@ websearch_to_tsquery('simple'::regconfig, %s)",
                    (query.q,),
                    output_field=BooleanField(),
                )
            )
        else:
            for word in query.q.lower().split():
                qs = qs.filter(search_text__icontains=word)
    return qs


def _encode_cursor(value, photo_id: int) -> str:
    raw = f"{value.isoformat() if isinstance(value, datetime) else value}|{photo_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        value, photo_id = raw.rsplit("|", 1)
        key = datetime.fromisoformat(value) if SORTS[sort][1] == "created_at" else int(value)
        return key, int(photo_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadFilter("This page link is damaged; start again from the first page.") from exc


@dataclass
class GalleryPage:
    entries: list[GalleryEntry]
    next_cursor: str | None
    prev_cursor: str | None
    is_first: bool


def gallery_page(query: GalleryQuery, *, after: str = "", before: str = "", size: int | None = None) -> GalleryPage:
    """One keyset page: ``after`` continues down the sort order, ``before`` goes back up it."""
    size = size or PAGE_SIZE
    field = SORTS[query.sort][1]
    qs = gallery_filter(query).select_related("photo").only(*CARD_FIELDS)
    backwards = bool(before) and not after
    cursor = after or before
    if cursor:
        value, photo_id = _decode_cursor(cursor, query.sort)
        if backwards:
            qs = qs.filter(**{f"{field}__gte": value}).filter(Q(**{f"{field}__gt": value}) | Q(photo_id__gt=photo_id))
        else:
            # The first condition is an index range condition; the second only breaks ties.
            qs = qs.filter(**{f"{field}__lte": value}).filter(Q(**{f"{field}__lt": value}) | Q(photo_id__lt=photo_id))
    order = [field, "photo_id"] if backwards else [f"-{field}", "-photo_id"]
    rows = list(qs.order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    if not rows:
        return GalleryPage([], None, None, is_first=not cursor)
    first, last = rows[0], rows[-1]
    has_next = more if not backwards else True
    has_prev = bool(cursor) and (more if backwards else True)
    return GalleryPage(
        entries=rows,
        next_cursor=_encode_cursor(getattr(last, field), last.photo_id) if has_next else None,
        prev_cursor=_encode_cursor(getattr(first, field), first.photo_id) if has_prev else None,
        is_first=not has_prev,
    )


def gallery_facets() -> dict:
    """Choices for the filter form. Archives are read with DISTINCT, cached (they change rarely)."""
    archives = cache.get("gallery:archives")
    if archives is None:
        archives = list(
            GalleryEntry.objects.filter(is_public=True)
            .exclude(source_archive="")
            .order_by("source_archive")
            .values_list("source_archive", flat=True)
            .distinct()[:200]
        )
        cache.set("gallery:archives", archives, ARCHIVES_CACHE_SECONDS)
    return {
        "decades": DECADES,
        "eras": list(_era_buckets()),
        "genres": settings.CHROMA_GENRES,
        "archives": archives,
        "sorts": {name: label for name, (label, _) in SORTS.items()},
    }


def gallery(request):
    return cached_page(request, lambda: _gallery(request))


def _gallery(request):
    query, errors = GalleryQuery.from_params(request.GET)
    after, before = request.GET.get("after", ""), request.GET.get("before", "")
    try:
        page = gallery_page(query, after=after, before=before)
    except BadFilter as exc:
        errors.append(str(exc))
        page = gallery_page(query)
    base = query.params()
    base_url = reverse("gallery")

    def link(**extra) -> str:
        params = {**base, **extra}
        return f"{base_url}?{urlencode(params)}" if params else base_url

    def link_without_sort(sort: str) -> str:
        params = {k: v for k, v in base.items() if k != "sort"}
        if sort != "newest":
            params["sort"] = sort
        return f"{base_url}?{urlencode(params)}" if params else base_url

    if not errors and any(value == "" for value in request.GET.values()):
        # A submitted filter form sends every field; the shareable URL names only those in use.
        cursor = {"after": after} if after else {"before": before} if before else {}
        return redirect(link(**cursor))

    response = render(
        request,
        "community/gallery/gallery.html",
        {
            "query": query,
            "page": page,
            "errors": errors,
            "facets": gallery_facets(),
            "next_url": link(after=page.next_cursor) if page.next_cursor else None,
            "prev_url": link(before=page.prev_cursor) if page.prev_cursor else None,
            "first_url": link(),
            "canonical_url": request.build_absolute_uri(link(**({"after": after} if after else {}))),
            "sort_links": [(name, label, link_without_sort(name)) for name, (label, _) in SORTS.items()],
        },
        status=200,
    )
    return response
