"""Collections people curate ("Dorothea Lange, 1936"): services, then the pages that call them."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.text import slugify

from colorization.access import require_writer
from colorization.compiled_queries import CompiledQuery
from colorization.models import Photo
from community.gallery.page_cache import pages_invalidate
from community.models import Collection, CollectionItem

MAX_ITEMS = 2000


# --- services -----------------------------------------------------------------------------------------


def _unique_slug(owner, title: str, exclude_pk: int | None = None) -> str:
    base = slugify(title)[:180] or "collection"
    taken = set(
        Collection.objects.filter(owner=owner, slug__startswith=base)
        .exclude(pk=exclude_pk)
        .values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _require_curator(collection: Collection, curator) -> None:
    """Only the collection's owner changes it, and only while they may write."""
    require_writer(curator, "change collections")
    if collection.owner_id != curator.pk:
        raise PermissionDenied("Only the person who made a collection changes it.")


def collection_create(*, owner, title: str, description: str = "", is_public: bool = True) -> Collection:
    require_writer(owner, "make collections")
    title = title.strip()
    if not title:
        raise ValidationError({"title": "Give the collection a title."})
    collection = Collection.objects.create(
        owner=owner,
        title=title[:200],
        slug=_unique_slug(owner, title),
        description=description.strip(),
        is_public=is_public,
    )
    pages_invalidate()
    return collection


def collection_update(*, collection: Collection, curator, title: str, description: str, is_public: bool) -> Collection:
    _require_curator(collection, curator)
    title = title.strip()
    if not title:
        raise ValidationError({"title": "Give the collection a title."})
    if title != collection.title:
        collection.slug = _unique_slug(collection.owner, title, exclude_pk=collection.pk)
    collection.title, collection.description, collection.is_public = title[:200], description.strip(), is_public
    collection.save()
    pages_invalidate()
    return collection


def collection_photo_add(*, collection: Collection, curator, photo: Photo, note: str = "") -> CollectionItem:
    """Add a photo at the end; adding it again changes nothing."""
    _require_curator(collection, curator)
    with transaction.atomic():
        Collection.objects.select_for_update().filter(pk=collection.pk).first()  # serialize positions
        existing = CollectionItem.objects.filter(collection=collection, photo=photo).first()
        if existing is not None:
            return existing
        if CollectionItem.objects.filter(collection=collection).count() >= MAX_ITEMS:
            raise ValidationError(f"A collection holds at most {MAX_ITEMS} photographs.")
        last = CollectionItem.objects.filter(collection=collection).aggregate(m=Max("position"))["m"]
        try:
            item = CollectionItem.objects.create(
                collection=collection, photo=photo, note=note.strip()[:500], position=(last or 0) + 1
            )
        except IntegrityError:  # a concurrent add of the same photo won
            item = CollectionItem.objects.get(collection=collection, photo=photo)
    Collection.objects.filter(pk=collection.pk).update(updated_at=item.added_at)
    pages_invalidate()
    return item


def collection_photo_remove(*, collection: Collection, curator, photo_id: int) -> bool:
    _require_curator(collection, curator)
    deleted, _ = CollectionItem.objects.filter(collection=collection, photo_id=photo_id).delete()
    pages_invalidate()
    return bool(deleted)


def collection_photo_move(*, collection: Collection, curator, photo_id: int, direction: str) -> None:
    """Swap a photo with its neighbour ("up" = earlier, "down" = later)."""
    _require_curator(collection, curator)
    if direction not in ("up", "down"):
        raise ValidationError("Move a photo up or down.")
    with transaction.atomic():
        items = list(
            CollectionItem.objects.select_for_update().filter(collection=collection).order_by("position", "id")
        )
        index = next((i for i, item in enumerate(items) if item.photo_id == photo_id), None)
        if index is None:
            raise Http404("That photo is not in this collection.")
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(items):
            return
        items[index], items[other] = items[other], items[index]
        for position, item in enumerate(items, start=1):
            if item.position != position:
                CollectionItem.objects.filter(pk=item.pk).update(position=position)
    pages_invalidate()


# --- reading ------------------------------------------------------------------------------------------


def collection_for_reading(request, pk: int) -> Collection:
    """A public collection, or the viewer's own private one; others get 404."""
    visible = Q(is_public=True)
    if request.user.is_authenticated:
        visible |= Q(owner=request.user)
    return get_object_or_404(Collection.objects.filter(visible).select_related("owner"), pk=pk)


def collection_photos(request, collection: Collection) -> list[Photo]:
    """The collection's photos the viewer may see, in the curator's order (one query)."""
    items = (
        CollectionItem.objects.filter(collection=collection, photo__in=Photo.objects.visible_to(request.user))
        .select_related("photo__owner", "photo__gallery_entry")
        .order_by("position", "id")
    )
    photos = []
    for item in items:
        item.photo.position, item.photo.note = item.position, item.note
        photos.append(item.photo)
    return photos


# --- pages --------------------------------------------------------------------------------------------


def collections_of(user) -> list[dict]:
    """A signed-in person's own collections as {"pk", "title"}, for "add to" menus. One compiled statement."""
    return _OWN_COLLECTIONS(user_id=user.pk) if user.is_authenticated else []


_OWN_COLLECTIONS = CompiledQuery(
    Collection, lambda _, *, user_id: Collection.objects.filter(owner_id=user_id).values("pk", "title")
)
