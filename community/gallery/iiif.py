"""IIIF Presentation 3 manifests: one per photo, one per collection.

Each photo is one canvas whose painting annotation's body is a ``Choice`` of the original (first,
untouched) and its colour version (the community version, else the newest AI draft), so viewers
such as Mirador and Universal Viewer offer both layers. A film clip's canvas is time-based
(``duration`` with its width and height) and its Choice holds two ``Video`` bodies: the original as
browsers play it (``Photo.web_video``: the original itself, or its H.264 copy) and the AI-colorized
clip; the untouched original file, whatever its format, is the manifest's ``rendering``.
Labels, summary, metadata, ``rights`` (a Creative Commons or RightsStatements.org URI, as the
specification requires) and the ``requiredStatement`` (credit line) come from the photo's metadata.
"""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse

from colorization.images import MIME_TYPES
from colorization.models import Draft, DraftPurpose, DraftStatus, Licence, Photo
from community.gallery.changelog import Change, photo_changelogs, version_of
from community.models import Collection, Correction, CorrectionStatus
from community.review.clips import community_renders, community_version_label

CONTEXT = "http://iiif.io/api/presentation/3/context.json"
CONTENT_TYPE = f'application/ld+json;profile="{CONTEXT}"'
LICENCE_URIS = {
    Licence.PUBLIC_DOMAIN: "http://creativecommons.org/publicdomain/mark/1.0/",
    Licence.CC0: "http://creativecommons.org/publicdomain/zero/1.0/",
    Licence.CC_BY: "http://creativecommons.org/licenses/by/4.0/",
    Licence.CC_BY_SA: "http://creativecommons.org/licenses/by-sa/4.0/",
    Licence.CC_BY_NC: "http://creativecommons.org/licenses/by-nc/4.0/",
    Licence.CC_BY_NC_SA: "http://creativecommons.org/licenses/by-nc-sa/4.0/",
    Licence.CC_BY_ND: "http://creativecommons.org/licenses/by-nd/4.0/",
    Licence.ALL_RIGHTS_RESERVED: "http://rightsstatements.org/vocab/InC/1.0/",
    Licence.UNKNOWN: "http://rightsstatements.org/vocab/UND/1.0/",
}
FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "TIFF": "image/tiff",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "HEIF": "image/heif",
    "HEIC": "image/heic",
}


def licence_uri(licence: str) -> str:
    return LICENCE_URIS.get(licence, LICENCE_URIS[Licence.UNKNOWN])


def _lang(*values: str) -> dict:
    return {"en": [v for v in values if v]}


def _pair(label: str, value: str) -> dict:
    return {"label": _lang(label), "value": _lang(value)}


def colour_versions(photo_ids: list[int]) -> dict[int, tuple[str, str]]:
    """photo id -> (colour image or clip storage key, label): the community version, else the newest
    finished draft. A film clip's community version is its community render
    (``clips.community_renders``: the whole clip with the accepted keyframe corrections), never a
    keyframe's still. A few queries for any number of photos."""
    out: dict[int, tuple[str, str]] = {}
    accepted = Correction.objects.filter(
        photo_id__in=photo_ids, status=CorrectionStatus.ACCEPTED, hidden_at__isnull=True, frame__isnull=True
    ).select_related("render")
    for correction in accepted:
        if correction.result_file:
            out[correction.photo_id] = (correction.result_file.name, f"Community version: {correction.label}")
    for photo_id, render in community_renders(photo_ids).items():
        out[photo_id] = (render.video.name, community_version_label(render))
    drafts = (
        Draft.objects.filter(photo_id__in=photo_ids, status=DraftStatus.DONE, purpose=DraftPurpose.DRAFT)
        .filter(~Q(image="") | ~Q(video=""))  # a photo's draft has an image, a clip's a video
        .order_by("photo_id", "-finished_at", "-id")
        .only("photo_id", "image", "video", "model_slug", "model_version")
    )
    for draft in drafts:
        out.setdefault(draft.photo_id, ((draft.video or draft.image).name, draft.label))
    return out


def _metadata(photo: Photo) -> list[dict]:
    pairs = [
        ("Date", photo.era),
        ("Genre", photo.genre.capitalize()),
        ("Place", photo.place),
        ("Source archive", photo.source_archive),
        ("Archive reference", photo.source_reference),
        ("Licence", Licence(photo.licence).label),
        ("Credit line", photo.credit_line),
        ("Original SHA-256", photo.original_sha256),
        ("Original file", _file_text(photo)),
    ]
    return [_pair(label, value) for label, value in pairs if value]


def _file_text(photo: Photo) -> str:
    if photo.is_video:
        sound = f", sound: {photo.audio_codec}" if photo.audio_codec else ", silent"
        return (
            f"{photo.image_format} ({photo.video_codec}{sound}), {photo.width}×{photo.height} px, "
            f"{photo.frame_count} frames at {photo.fps} fps, {photo.duration_seconds or 0:.1f} s"
        )
    return f"{photo.image_format}, {photo.width}×{photo.height} px, {photo.bit_depth}-bit"


def _absolute_media(request, key: str) -> str:
    from django.core.files.storage import default_storage

    url = default_storage.url(key)
    return url if url.startswith("http") else request.build_absolute_uri(url)


def _clip_body(request, photo: Photo, colour: tuple[str, str] | None) -> dict | None:
    """A clip's painting body: Choice of the original as browsers play it and the colour clip.

    None while there is nothing a viewer can play (an original browsers cannot play, before the
    worker made its copy, and no colour clip yet): the canvas then has no painting annotation.
    """
    common = {"width": photo.width, "height": photo.height, "duration": _duration(photo)}
    items = []
    if photo.web_video:
        copy = photo.web_video.name != photo.original.name
        items.append(
            {
                "id": _absolute_media(request, photo.web_video.name),
                "type": "Video",
                "format": "video/mp4" if copy else MIME_TYPES.get(photo.image_format, "video/mp4"),
                **common,
                "label": _lang(
                    "Original film (a copy browsers play: H.264, pictures unchanged)"
                    if copy
                    else "Original film (untouched upload)"
                ),
            }
        )
    if colour is not None:
        key, label = colour
        items.append(
            {
                "id": _absolute_media(request, key),
                "type": "Video",
                "format": "video/mp4",
                **common,
                "label": _lang(label if "AI-colorized" in label else f"AI-colorized: {label}"),
            }
        )
    if not items:
        return None
    return items[0] if len(items) == 1 else {"type": "Choice", "items": items}


def _duration(photo: Photo) -> float:
    if photo.duration_seconds and photo.duration_seconds > 0:
        return round(float(photo.duration_seconds), 3)
    from fractions import Fraction

    fps = Fraction(photo.fps) if photo.fps else Fraction(24)
    return round(float((photo.frame_count or 1) / fps), 3)


def original_rendering(request, photo: Photo) -> dict:
    """The untouched original file, for the manifest's ``rendering`` (a download, any format)."""
    return {
        "id": request.build_absolute_uri(reverse("photo-download-original", args=[photo.pk])),
        "type": "Video" if photo.is_video else "Image",
        "label": _lang(f"Original file, untouched (SHA-256 {photo.original_sha256})"),
        "format": MIME_TYPES.get(photo.image_format, "application/octet-stream"),
    }


def history_pairs(changes: list[Change]) -> list[dict]:
    """The manifest's version and changelog: a new version whenever the community version changes."""
    pairs = [_pair("Version", str(version_of(changes)))]
    lines = ["v1: uploaded; colours by the AI draft."] + [f"v{c.version} ({c.at:%Y-%m-%d}): {c.text}" for c in changes]
    pairs.append({"label": _lang("Changelog"), "value": {"en": lines}})
    return pairs


def photo_canvas(request, photo: Photo, colour: tuple[str, str] | None, changes: list[Change] | None = None) -> dict:
    from django.core.files.storage import default_storage

    base = request.build_absolute_uri(reverse("iiif-photo-manifest", args=[photo.pk])).rsplit("/", 1)[0]
    canvas_id = f"{base}/canvas/1"
    if photo.is_video:
        return _clip_canvas(photo, base, canvas_id, _clip_body(request, photo, colour), changes)
    original = {
        "id": request.build_absolute_uri(photo.original.url),
        "type": "Image",
        "format": FORMATS.get(photo.image_format.upper(), "image/jpeg"),
        "width": photo.width,
        "height": photo.height,
        "label": _lang("Original (untouched upload)"),
    }
    body: dict = original
    if colour is not None:
        key, label = colour
        url = default_storage.url(key)
        body = {
            "type": "Choice",
            "items": [
                original,
                {
                    "id": url if url.startswith("http") else request.build_absolute_uri(url),
                    "type": "Image",
                    "format": "image/png",
                    "width": photo.width,
                    "height": photo.height,
                    "label": _lang(label),
                },
            ],
        }
    return {
        "id": canvas_id,
        "type": "Canvas",
        "label": _lang(photo.title),
        "width": photo.width,
        "height": photo.height,
        "metadata": _metadata(photo) + (history_pairs(changes) if changes is not None else []),
        "items": [
            {
                "id": f"{base}/page/1",
                "type": "AnnotationPage",
                "items": [
                    {
                        "id": f"{base}/annotation/1",
                        "type": "Annotation",
                        "motivation": "painting",
                        "body": body,
                        "target": canvas_id,
                    }
                ],
            }
        ],
    }


def _clip_canvas(photo: Photo, base: str, canvas_id: str, body: dict | None, changes) -> dict:
    """A time-based canvas (Presentation 3: ``duration`` in seconds) for a film clip."""
    annotations = []
    if body is not None:
        annotations.append(
            {
                "id": f"{base}/annotation/1",
                "type": "Annotation",
                "motivation": "painting",
                "body": body,
                "target": canvas_id,
            }
        )
    return {
        "id": canvas_id,
        "type": "Canvas",
        "label": _lang(photo.title),
        "width": photo.width,
        "height": photo.height,
        "duration": _duration(photo),
        "metadata": _metadata(photo) + (history_pairs(changes) if changes is not None else []),
        "items": [{"id": f"{base}/page/1", "type": "AnnotationPage", "items": annotations}],
    }


def _provider(request) -> list[dict]:
    return [
        {
            "id": request.build_absolute_uri(reverse("home")),
            "type": "Agent",
            "label": _lang("Chroma Commons"),
            "homepage": [
                {
                    "id": request.build_absolute_uri(reverse("home")),
                    "type": "Text",
                    "label": _lang("Chroma Commons"),
                    "format": "text/html",
                }
            ],
        }
    ]


def colour_provenance_text(photo_ids: list[int]) -> dict[int, str]:
    """photo id -> "documented 38 % · volunteer-inferred 21 % · model 41 %" of its community version."""
    from community.review.provenance import provenance_safely

    out = {}
    accepted = (
        Correction.objects.filter(
            photo_id__in=photo_ids, status=CorrectionStatus.ACCEPTED, hidden_at__isnull=True, kind="hints"
        )
        .select_related("render", "photo")
        .prefetch_related("evidence__verifications")
    )
    for correction in accepted:
        found = provenance_safely(correction)
        if found is not None:
            out[correction.photo_id] = found.text
    return out


def photo_manifest(request, photo: Photo) -> dict:
    colour = colour_versions([photo.pk]).get(photo.pk)
    changes = photo_changelogs([photo.pk]).get(photo.pk, [])
    page = request.build_absolute_uri(photo.get_absolute_url())
    manifest = {
        "@context": CONTEXT,
        "id": request.build_absolute_uri(reverse("iiif-photo-manifest", args=[photo.pk])),
        "type": "Manifest",
        "label": _lang(photo.title),
        "metadata": _metadata(photo) + history_pairs(changes),
        "rights": licence_uri(photo.licence),
        "requiredStatement": _pair(
            "Attribution",
            photo.credit_line or photo.source_archive or f"Uploaded to Chroma Commons by {photo.owner.username}",
        ),
        "provider": _provider(request),
        "homepage": [{"id": page, "type": "Text", "label": _lang(photo.title), "format": "text/html"}],
        "items": [photo_canvas(request, photo, colour)],
    }
    if photo.description:
        manifest["summary"] = _lang(photo.description)
    if photo.is_video:
        manifest["rendering"] = [original_rendering(request, photo)]
    if colour is not None:
        manifest["metadata"].append(_pair("Colour version", f"{colour[1]}. The original is the first choice."))
    share = colour_provenance_text([photo.pk]).get(photo.pk)
    if share:
        manifest["metadata"].append(_pair("Colour provenance", share))
    return manifest


def collection_manifest(request, collection: Collection, photos: list[Photo]) -> dict:
    colours = colour_versions([p.pk for p in photos])
    changelogs = photo_changelogs([p.pk for p in photos])
    page = request.build_absolute_uri(reverse("collection-detail", args=[collection.pk]))
    manifest = {
        "@context": CONTEXT,
        "id": request.build_absolute_uri(reverse("iiif-collection-manifest", args=[collection.pk])),
        "type": "Manifest",
        "label": _lang(collection.title),
        "metadata": [
            _pair("Curated by", collection.owner.username),
            _pair("Photographs", str(len(photos))),
        ],
        "requiredStatement": _pair(
            "Attribution", "Each photograph carries its own licence and credit line in its canvas metadata."
        ),
        "provider": _provider(request),
        "homepage": [{"id": page, "type": "Text", "label": _lang(collection.title), "format": "text/html"}],
        "items": [
            photo_canvas(request, photo, colours.get(photo.pk), changelogs.get(photo.pk, [])) for photo in photos
        ],
    }
    if collection.description:
        manifest["summary"] = _lang(collection.description)
    licences = {p.licence for p in photos}
    if len(licences) == 1:
        manifest["rights"] = licence_uri(licences.pop())
    return manifest
