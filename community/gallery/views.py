"""The gallery's pages: the gallery, photo pages and downloads, collections, IIIF manifests,
collection exports and the feed. Anonymous GETs go through the page cache; the work is in the
services and selectors next to this module."""

from __future__ import annotations

import csv
import functools
import io
import json

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db.models import prefetch_related_objects
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_POST

from colorization.access import writer_required
from colorization.images import MIME_TYPES, download_name
from colorization.models import DraftPurpose, DraftStatus, Licence, Photo
from colorization.text import submitted_id
from community.gallery.collections import (
    collection_create,
    collection_for_reading,
    collection_photo_add,
    collection_photo_move,
    collection_photo_remove,
    collection_photos,
    collection_update,
    collections_of,
)
from community.gallery.exports import CSV_COLUMNS, collection_records
from community.gallery.feeds import AcceptedVersionsFeed
from community.gallery.iiif import CONTENT_TYPE, collection_manifest, licence_uri, photo_manifest
from community.gallery.page_cache import cached_page, csrf_fill, fragment_context
from community.gallery.photo_page import (
    IN_PROGRESS,
    colour_claims,
    community_jpeg,
    draft_states,
    linked_data,
    page_photo,
    shown_version,
    timeline,
    visible_corrections,
    with_credentials,
)
from community.gallery.selectors import SORTS, BadFilter, GalleryQuery, gallery_facets, gallery_page
from community.models import Collection, Correction, CorrectionStatus
from community.review.clips import community_render, community_render_pending
from community.review.provenance import provenance_safely

# --- the gallery --------------------------------------------------------------------------------------


def gallery(request):
    return cached_page(request, lambda: _gallery(request))


def _gallery(request):
    query, errors = GalleryQuery.from_params(request.GET)
    after, before = request.GET.get("after", ""), request.GET.get("before", "")
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

    @functools.cache
    def listing() -> dict:
        """The page's data, read only when its fragment is not cached (the same for everyone)."""
        try:
            page = gallery_page(query, after=after, before=before)
        except BadFilter as exc:
            errors.append(str(exc))
            page = gallery_page(query)
        return {
            "page": page,
            "errors": errors,
            "facets": gallery_facets(),
            "next_url": link(after=page.next_cursor) if page.next_cursor else None,
            "prev_url": link(before=page.prev_cursor) if page.prev_cursor else None,
            "sort_links": [(name, label, link_without_sort(name)) for name, (label, _) in SORTS.items()],
        }

    context = {name: SimpleLazyObject(functools.partial(lambda n: listing()[n], name)) for name in LISTING}
    response = render(
        request,
        "community/gallery/gallery.html",
        {
            **context,
            "query": query,
            "first_url": link(),
            "canonical_url": request.build_absolute_uri(link(**({"after": after} if after else {}))),
            # The whole listing is the same for every visitor: one fragment per URL and data version.
            **fragment_context(parts=("gallery", request.GET.urlencode()), names=("gallery",)),
        },
        status=200,
    )
    return csrf_fill(request, response)


LISTING = ("page", "errors", "facets", "next_url", "prev_url", "sort_links")


def _clip_detail(request, photo):
    """A film clip's page (issue 19): the player (colour/original toggle, split, frame stepping) and its
    shots, each keyframe with "Correct this keyframe" and its corrections. It plays the community
    render (every accepted keyframe correction carried through its shot) once there is one, else
    the clip's draft. Only corrections everyone may see are listed, so the page is the same for all."""
    renders = list(
        photo.drafts.filter(purpose__in=(DraftPurpose.DRAFT, DraftPurpose.COMMUNITY), frame__isnull=True).order_by(
            "-created_at", "-id"
        )
    )
    drafts = [d for d in renders if d.purpose == DraftPurpose.DRAFT]
    community = community_render(photo)
    shown = community or next((d for d in drafts if d.status == DraftStatus.DONE and d.video), None)
    corrections = list(
        Correction.objects.filter(photo=photo, hidden_at__isnull=True, frame__isnull=False)
        .select_related("author")
        .order_by("frame", "-created_at", "-id")
    )
    by_frame: dict[int, list] = {}
    for correction in corrections:
        by_frame.setdefault(correction.frame, []).append(correction)
    # The still each keyframe is corrected on: the shown render's (a community render carries them too).
    stills = shown.stills if shown is not None else {}
    shots = [
        {
            "shot": shot,
            "keyframes": [
                {
                    "frame": k,
                    "corrections": by_frame.get(k, []),
                    "edit_url": (
                        f"{reverse('correction-editor', args=[photo.pk])}?{urlencode({'draft': shown.pk, 'frame': k})}"
                        if shown is not None and str(k) in stills
                        else None
                    ),
                }
                for k in shot.keyframes
            ],
        }
        for shot in photo.shots.all()
    ]
    response = render(
        request,
        "community/clip_detail.html",
        {
            "photo": photo,
            "licence": Licence(photo.licence).label,
            "licence_uri": licence_uri(photo.licence),
            "drafts": renders,
            "shown": shown,
            "community": community,
            # A newer community render in progress: the page says so while ``shown`` keeps playing.
            "pending": community_render_pending(renders, community),
            "shots": shots,
            # The player's original is a copy made for browsers (the download stays the original).
            "web_copy": bool(photo.web_video) and photo.web_video.name != photo.original.name,
        },
    )
    response.cacheable = not any(d.status in IN_PROGRESS for d in renders)
    return response


# --- photo pages and downloads --------------------------------------------------------------------


def photo_detail(request, pk: int):
    return cached_page(request, lambda: _photo_detail(request, pk), photo_id=pk)


def _photo_detail(request, pk: int):
    user = request.user
    photo = page_photo(user, pk)
    if photo.is_video:
        return _clip_detail(request, photo)
    # Its AI drafts' and its corrections' renders' states decide the fragments' key; the drafts
    # themselves are read only when a fragment that shows them is rendered.
    states = draft_states(photo)
    draft_list = functools.cache(lambda: list(photo.drafts.filter(purpose=DraftPurpose.DRAFT)))
    # Pages with drafts in progress change by the second (and poll): never shared from a cache.
    settled = not any(status in IN_PROGRESS for _, status in states)
    # Everything but the visitor's collections and the discussion is the same for every visitor who
    # sees the same corrections: anyone but staff (who see hidden ones) and authors of hidden ones.
    shared = (
        settled
        and photo.hidden_at is None
        and not (user.is_authenticated and user.is_staff)
        and not getattr(photo, "my_hidden_correction", False)
    )

    @functools.cache
    def history() -> dict:
        """The corrections and what is derived from them, read only when a fragment is not cached."""
        corrections = list(visible_corrections(user, photo))
        shown = shown_version(draft_list(), corrections)
        community_version = shown.correction if shown and shown.what == "community" else None
        if community_version is not None:
            # The sources' verdicts decide what is documented: one query, however many sources.
            prefetch_related_objects([community_version], "evidence__verifications")
            community_version.photo = photo  # the row already read: no second query for it
        colour_provenance = provenance_safely(community_version)
        content_credentials = None
        if shown is not None:
            _, content_credentials = with_credentials(
                shown.image.name, "png", colour_claims(request, photo, correction=shown.correction, draft=shown.draft)
            )
        return {
            "corrections": corrections,
            "shown": shown,
            "community_version": community_version,
            "colour_provenance": colour_provenance,
            "content_credentials": content_credentials,
            "timeline": timeline(photo, draft_list(), corrections),
            "json_ld": linked_data(request, photo, shown, colour_provenance),
        }

    lazy = {name: SimpleLazyObject(functools.partial(lambda n: history()[n], name)) for name in HISTORY}
    # ``shown`` may be None: templates test it, so it is resolved (not wrapped) when it is read.
    lazy["shown"] = lambda: history()["shown"]
    lazy["community_version"] = lambda: history()["community_version"]
    lazy["json_ld"] = lambda: history()["json_ld"]
    lazy["colour_provenance"] = lambda: history()["colour_provenance"]
    lazy["content_credentials"] = lambda: history()["content_credentials"]
    my_collections = collections_of(user)
    response = render(
        request,
        "community/photo_detail.html",
        {
            **lazy,
            "photo": photo,
            "licence": Licence(photo.licence).label,
            "licence_uri": licence_uri(photo.licence),
            "drafts": SimpleLazyObject(draft_list),
            "my_collections": my_collections,
            "sweep_sizes": settings.CHROMA_SWEEP_RENDER_SIZES,
            "render_sizes": sorted({192, 256, 384, 512, 768, 1024, settings.CHROMA_DEFAULT_RENDER_SIZE}),
            "default_render_size": settings.CHROMA_DEFAULT_RENDER_SIZE,
            **fragment_context(
                photo_id=photo.pk,
                parts=(
                    "photo",
                    "member" if user.is_authenticated else "anonymous",
                    ",".join(f"{pk}:{status}" for pk, status in states),
                ),
                shared=shared,
                names=("photo-head", "photo-stage", "photo-history"),
            ),
        },
    )
    response.cacheable = settled
    return csrf_fill(request, response)


HISTORY = ("corrections", "timeline")


def _download_name(photo: Photo, suffix: str) -> str:
    return f"{slugify(photo.title)[:60] or 'photo'}-{photo.pk}{suffix}"


def download_original(request, pk: int):
    """The original exactly as uploaded (same bytes, same sha256), under its own file name."""
    photo = get_object_or_404(Photo.objects.visible_to(request.user), pk=pk)
    # The type follows the format detected from the bytes at upload, never the uploader's file name.
    name = download_name(photo.original_filename or _download_name(photo, ""), photo.image_format)
    return FileResponse(
        default_storage.open(photo.original.name, "rb"),
        as_attachment=True,
        filename=name,
        content_type=MIME_TYPES.get(photo.image_format, "application/octet-stream"),
    )


def download_colour(request, pk: int, fmt: str):
    """The colour version the page shows (community version, else newest draft) as PNG or JPEG,
    with the AI disclosure embedded; ``?draft=ID`` or ``?correction=ID`` picks another version."""
    photo = get_object_or_404(Photo.objects.visible_to(request.user), pk=pk)
    if fmt not in ("png", "jpg"):
        raise Http404("Colour versions come as .png or .jpg.")
    corrections = Correction.objects.visible_to(request.user).filter(photo=photo).select_related("render", "photo")
    drafts = photo.drafts.filter(purpose=DraftPurpose.DRAFT, status=DraftStatus.DONE)
    correction = draft = None
    if request.GET.get("correction"):
        correction = get_object_or_404(corrections, pk=submitted_id(request.GET["correction"], "correction"))
    elif request.GET.get("draft"):
        draft = get_object_or_404(drafts, pk=submitted_id(request.GET["draft"], "draft"))
    else:
        shown = shown_version(list(drafts), list(corrections.filter(status=CorrectionStatus.ACCEPTED)))
        if shown is None:
            raise Http404("This photo has no colour version yet.")
        correction, draft = shown.correction, shown.draft
    if correction is not None:
        if not correction.result_file:
            raise Http404("This correction has not been rendered yet.")
        key = correction.result_file.name if fmt == "png" else community_jpeg(correction)
        what = "community-colour" if correction.status == CorrectionStatus.ACCEPTED else f"correction-{correction.pk}"
    else:
        field = draft.image if fmt == "png" else draft.image_jpeg
        if not field:
            raise Http404("This draft has no file in that format.")
        key, what = field.name, f"ai-draft-{draft.pk}"
    claims = colour_claims(request, photo, correction=correction, draft=draft)
    key, report = with_credentials(key, fmt, claims)
    response = FileResponse(
        default_storage.open(key, "rb"),
        as_attachment=True,
        filename=_download_name(photo, f"-{what}-ai-colorized.{fmt}"),
        content_type="image/png" if fmt == "png" else "image/jpeg",
    )
    response["X-Content-Credentials"] = report.state
    return response


# --- collections -------------------------------------------------------------------------------------


def _reason(exc: Exception) -> str:
    """A service's refusal, for a form error or a message."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "You cannot do that."


def _collection_for_editing(request, pk: int) -> Collection:
    collection = collection_for_reading(request, pk)
    if collection.owner_id != request.user.pk:
        raise PermissionDenied("Only the person who made a collection changes it.")
    return collection


class CollectionForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=5000)
    is_public = forms.BooleanField(required=False, initial=True, label="Public (anyone can see it)")


def collection_list(request):
    def build():
        public = list(
            Collection.objects.filter(is_public=True).select_related("owner").order_by("-updated_at", "-id")[:100]
        )
        mine = (
            list(Collection.objects.filter(owner=request.user).order_by("-updated_at", "-id"))
            if request.user.is_authenticated
            else []
        )
        return render(request, "community/collections/list.html", {"public": public, "mine": mine})

    return cached_page(request, build)


@login_required
@require_http_methods(["GET", "POST"])
@writer_required("make collections")
def collection_new(request):
    form = CollectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            collection = collection_create(owner=request.user, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, _reason(exc))
        else:
            photo_id = request.POST.get("photo", "")
            if photo_id.isdigit():
                photo = Photo.objects.visible_to(request.user).filter(pk=int(photo_id)).first()
                if photo is not None:
                    collection_photo_add(collection=collection, curator=request.user, photo=photo)
            messages.success(request, f"Collection “{collection.title}” created.")
            return redirect("collection-detail", collection.pk)
    return render(request, "community/collections/form.html", {"form": form, "collection": None})


@login_required
@require_http_methods(["GET", "POST"])
@writer_required("change collections")
def collection_edit(request, pk: int):
    collection = _collection_for_editing(request, pk)
    initial = {"title": collection.title, "description": collection.description, "is_public": collection.is_public}
    form = CollectionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            collection_update(collection=collection, curator=request.user, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, _reason(exc))
        else:
            messages.success(request, "Collection saved.")
            return redirect("collection-detail", collection.pk)
    return render(request, "community/collections/form.html", {"form": form, "collection": collection})


def collection_detail(request, pk: int):
    def build():
        collection = collection_for_reading(request, pk)
        photos = collection_photos(request, collection)
        return render(
            request,
            "community/collections/detail.html",
            {"collection": collection, "photos": photos, "is_owner": collection.owner_id == request.user.pk},
        )

    return cached_page(request, build)


@login_required
@require_POST
@writer_required("change collections")
def collection_add_photo(request):
    """The photo page's "Add to" form: the collection comes in the form."""
    pk = request.POST.get("collection", "")
    if not pk.isdigit():
        messages.error(request, "Choose one of your collections.")
        return redirect("collection-list")
    return collection_item_add(request, int(pk))


@login_required
@require_POST
@writer_required("change collections")
def collection_item_add(request, pk: int):
    collection = _collection_for_editing(request, pk)
    photo_id = request.POST.get("photo", "")
    photo = Photo.objects.visible_to(request.user).filter(pk=int(photo_id)).first() if photo_id.isdigit() else None
    if photo is None:
        messages.error(request, "That photograph does not exist or is not visible to you.")
        return redirect("collection-detail", collection.pk)
    try:
        collection_photo_add(
            collection=collection, curator=request.user, photo=photo, note=request.POST.get("note", "")
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _reason(exc))
    else:
        messages.success(request, f"Added “{photo.title}” to “{collection.title}”.")
    return redirect(photo)


@login_required
@require_POST
@writer_required("change collections")
def collection_item_remove(request, pk: int, photo_id: int):
    collection = _collection_for_editing(request, pk)
    try:
        if collection_photo_remove(collection=collection, curator=request.user, photo_id=photo_id):
            messages.success(request, "Removed from the collection.")
    except PermissionDenied as exc:
        messages.error(request, _reason(exc))
    return redirect("collection-detail", collection.pk)


@login_required
@require_POST
@writer_required("change collections")
def collection_item_move(request, pk: int, photo_id: int):
    collection = _collection_for_editing(request, pk)
    try:
        collection_photo_move(
            collection=collection, curator=request.user, photo_id=photo_id, direction=request.POST.get("direction", "")
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _reason(exc))
    return redirect("collection-detail", collection.pk)


# --- IIIF manifests, exports, feed -------------------------------------------------------------------


def _json(data: dict) -> HttpResponse:
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=1), content_type=CONTENT_TYPE)
    response["Access-Control-Allow-Origin"] = "*"
    return response


def photo_manifest_view(request, pk: int):
    def build():
        photo = get_object_or_404(Photo.objects.visible_to(request.user).select_related("owner"), pk=pk)
        return _json(photo_manifest(request, photo))

    return cached_page(request, build, photo_id=pk)


def collection_manifest_view(request, pk: int):
    def build():
        collection = collection_for_reading(request, pk)
        return _json(collection_manifest(request, collection, collection_photos(request, collection)))

    return cached_page(request, build)


def _filename(collection, ext: str) -> str:
    return f"collection-{collection.pk}-{slugify(collection.title)[:60] or 'export'}.{ext}"


def collection_export_json(request, pk: int):
    def build():
        collection = collection_for_reading(request, pk)
        data = {
            "collection": {
                "id": collection.pk,
                "title": collection.title,
                "description": collection.description,
                "curator": collection.owner.username,
                "url": request.build_absolute_uri(reverse("collection-detail", args=[collection.pk])),
                "manifest_url": request.build_absolute_uri(reverse("iiif-collection-manifest", args=[collection.pk])),
            },
            "photos": collection_records(request, collection),
        }
        response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=1), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{_filename(collection, "json")}"'
        return response

    return cached_page(request, build)


def collection_export_csv(request, pk: int):
    def build():
        collection = collection_for_reading(request, pk)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for record in collection_records(request, collection):
            accepted = record["community_correction"] or {}
            writer.writerow(
                {
                    **record,
                    "community_correction_id": accepted.get("correction_id", ""),
                    "community_correction_author": accepted.get("author", ""),
                    "accepted_at": accepted.get("decided_at", ""),
                    "accepted_by": accepted.get("decided_by", ""),
                    "votes_for": accepted.get("votes_for", ""),
                    "votes_against": accepted.get("votes_against", ""),
                    "historian_votes": accepted.get("historian_votes", ""),
                    "decision_reason": accepted.get("reason", ""),
                    "evidence": " | ".join(
                        " ".join(p for p in (e["text"], e["url"], e["archive_reference"]) if p)
                        for e in accepted.get("evidence", [])
                    ),
                    "decisions": "; ".join(
                        f"{d['correction_id']}:{d['status']}:{d['decided_at'] or ''}" for d in record["decisions"]
                    ),
                    "changelog": " | ".join(
                        f"v{c['version']} {c['date'][:10]}: {c['text']}" for c in record["changelog"]
                    ),
                }
            )
        response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{_filename(collection, "csv")}"'
        return response

    return cached_page(request, build)


def accepted_feed(request):
    return cached_page(request, lambda: AcceptedVersionsFeed()(request))
