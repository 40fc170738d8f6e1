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
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from colorization.eras import bucket_label, parse_era_buckets
from community.models import GalleryEntry

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
    "photo__media_kind",  # a film clip's card carries a badge
]


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
