"""Corrections: volunteers' fixes of a draft's colours (write operations).

A hints correction stores its full hint set and what it builds on, and asks the
workers for a full-resolution render (a ``Draft`` with purpose "correction", made
with the same model, render size and saturation as the draft it corrects), so the
same hints always give the same image. A manual correction is checked and composed
synchronously (``colorization.manual``); the upload itself is kept untouched.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from urllib.parse import urlparse

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image

from colorization.drafting import draft_request
from colorization.engine.hints import HintError, parse_hints
from colorization.engine.imageio import encode
from colorization.images import EXTENSIONS
from colorization.manual import manual_colorization_check
from colorization.models import Draft, DraftPurpose, DraftStatus, Photo
from colorization.ratelimit import rate_limit
from colorization.storage import storage_replace
from colorization.text import validate_text
from community.gallery.page_cache import pages_invalidate_on_commit
from community.models import Correction, CorrectionKind, Evidence, EvidenceKind, GoldStandard
from community.review.permissions import require_can_correct

logger = logging.getLogger(__name__)

MAX_EVIDENCE = 20
MAX_HINT_REFS = 1200  # every point and stroke of a full hint set
MAX_NOTE = 4000


# --- validation ------------------------------------------------------------------------------------------


def evidence_clean(items, *, sources_only: bool = False) -> list[dict]:
    """Evidence citations as ``[{"text", "url"?, "archive_reference"?, "hints"?, "kind"?}]``; raises ValidationError.

    ``hints`` names the hints a source supports (``"points/0"``, ``"strokes/2"``, ``"global"``;
    checked against the hint set by ``evidence_hints_check``); ``kind`` "inferred" says that
    those hints come from no source (its text may be left out). ``sources_only`` (a revocation's
    evidence: real sources against the colours) refuses both.
    """
    if items in (None, ""):
        return []
    if not isinstance(items, list):
        raise ValidationError({"evidence": 'Evidence must be a list like [{"text": "…", "url": "https://…"}].'})
    if len(items) > MAX_EVIDENCE:
        raise ValidationError({"evidence": f"At most {MAX_EVIDENCE} citations, please."})
    cleaned = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationError({"evidence": f'evidence[{i}] must be an object like {{"text": "…"}}.'})
        unknown = set(item) - {"text", "url", "archive_reference", "hints", "kind"}
        if unknown:
            raise ValidationError({"evidence": f"evidence[{i}] has unknown fields: {', '.join(sorted(unknown))}."})
        kind = str(item.get("kind") or EvidenceKind.SOURCE)
        if kind not in EvidenceKind.values:
            raise ValidationError({"evidence": f'evidence[{i}] kind must be "source" or "inferred", got {kind!r}.'})
        text = str(item.get("text") or "").strip()
        url = str(item.get("url") or "").strip()
        reference = str(item.get("archive_reference") or "").strip()
        if sources_only and (item.get("hints") or kind != EvidenceKind.SOURCE):
            raise ValidationError(
                {
                    "evidence": f"evidence[{i}]: cite a source (text, link or archive reference); "
                    "hints and “inferred” belong to a correction's own evidence."
                }
            )
        hints = _hint_refs(item.get("hints"), i)
        if kind == EvidenceKind.INFERRED:
            if not hints:
                raise ValidationError({"evidence": f"evidence[{i}] is inferred: name the hints it covers."})
            text = text or "Inferred by the volunteer; no source."
        if not text:
            raise ValidationError({"evidence": f"evidence[{i}] needs a text: what the source shows."})
        if len(text) > 1000 or len(url) > 1000 or len(reference) > 500:
            raise ValidationError({"evidence": f"evidence[{i}] is too long (text and URL ≤ 1000 characters)."})
        if url:
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ValidationError({"evidence": f"evidence[{i}] url must be an http(s) address, got {url!r}."})
        item = {"text": text, "url": url, "archive_reference": reference}
        validate_text(item, f"evidence[{i}]")
        if hints or kind != EvidenceKind.SOURCE:
            item.update(hints=hints, kind=kind)
        cleaned.append(item)
    return cleaned


def _hint_refs(value, i: int) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > MAX_HINT_REFS:
        raise ValidationError(
            {"evidence": f'evidence[{i}] hints must be a list like ["points/0", "strokes/1", "global"].'}
        )
    refs = []
    for ref in value:
        ref = str(ref).strip()
        kind, _, index = ref.partition("/")
        if not (ref == "global" or (kind in ("points", "strokes") and index.isdigit())):
            raise ValidationError(
                {"evidence": f'evidence[{i}] hints: {ref!r} is not "points/N", "strokes/N" or "global".'}
            )
        if ref not in refs:
            refs.append(ref)
    return refs


def evidence_hints_check(evidence: list[dict], hints) -> None:
    """Every hint a citation names exists in the correction's hint set (a parsed ``Hints``)."""
    for i, item in enumerate(evidence):
        for ref in item.get("hints", []):
            kind, _, index = ref.partition("/")
            exists = (
                hints.global_colours is not None
                if ref == "global"
                else int(index) < len(hints.points if kind == "points" else hints.strokes)
            )
            if not exists:
                raise ValidationError({"evidence": f"evidence[{i}] names {ref}, which is not in the hints."})


def _note_clean(note: str) -> str:
    note = (note or "").strip()
    validate_text(note, "note")
    if len(note) > MAX_NOTE:
        raise ValidationError({"note": f"The note is {len(note)} characters; at most {MAX_NOTE}."})
    return note


def _resolve_base(
    photo: Photo, base_draft: Draft | None, base_correction: Correction | None
) -> tuple[Draft | None, Correction | None]:
    if base_draft is not None and base_correction is not None:
        raise ValidationError({"base_draft": "Give either base_draft or base_correction, not both."})
    if base_draft is not None:
        if base_draft.photo_id != photo.pk:
            raise ValidationError({"base_draft": "That draft belongs to another photo."})
        # A clip's keyframe is corrected on its draft render or on its community render.
        correctable = (DraftPurpose.DRAFT, DraftPurpose.COMMUNITY) if photo.is_video else (DraftPurpose.DRAFT,)
        if base_draft.purpose not in correctable or base_draft.frame is not None:
            raise ValidationError({"base_draft": "Build on a draft or on a correction, not on a correction's render."})
        if base_draft.status != DraftStatus.DONE:
            raise ValidationError({"base_draft": "That draft is not finished yet; wait until it is done."})
    if base_correction is not None and base_correction.photo_id != photo.pk:
        raise ValidationError({"base_correction": "That correction belongs to another photo."})
    return base_draft, base_correction


def keyframes_of(photo: Photo) -> list[int]:
    """A film clip's keyframes (frame numbers from 0, ascending), as its first render stored them."""
    return sorted(k for keyframes in photo.shots.values_list("keyframes", flat=True) for k in keyframes)


def keyframe_check(
    photo: Photo, frame, base_draft: Draft | None = None, base_correction: Correction | None = None
) -> int | None:
    """The keyframe a correction of ``photo`` is of: required for a film clip (one of its keyframes,
    the same as the base correction's, with a still in the base draft), refused for a photograph."""
    if not photo.is_video:
        if frame not in (None, ""):
            raise ValidationError({"frame": "A photograph has no keyframes; leave frame out."})
        return None
    keyframes = keyframes_of(photo)
    if not keyframes:
        raise ValidationError({"frame": "This clip's keyframes are found by its first render; wait until it is done."})
    try:
        frame = int(frame)
    except (TypeError, ValueError):
        frame = None
    if frame not in keyframes:
        listed = ", ".join(str(k) for k in keyframes[:20]) + (" …" if len(keyframes) > 20 else "")
        raise ValidationError({"frame": f"Correct one of the clip's keyframes (frames {listed}, counted from 0)."})
    if base_correction is not None and base_correction.frame != frame:
        raise ValidationError({"base_correction": "That correction is of another keyframe."})
    if base_draft is not None and str(frame) not in (base_draft.stills or {}):
        raise ValidationError({"base_draft": "That render has no still of this keyframe; correct the newest render."})
    return frame


def render_settings_for(photo: Photo, base_draft: Draft | None, base_correction: Correction | None) -> dict:
    """The model, render size and saturation of what is being corrected (so only the hints differ)."""
    source = base_draft
    while source is None and base_correction is not None:
        source = base_correction.render or base_correction.base_draft
        base_correction = base_correction.base_correction if source is None else None
    if source is None:
        return {}
    return {"model": source.model_slug, "render_size": source.render_size, "saturation": source.saturation}


def _save_evidence(correction: Correction, evidence: Sequence[dict]) -> None:
    Evidence.objects.bulk_create(
        [Evidence(correction=correction, position=i, **item) for i, item in enumerate(evidence)]
    )


def _is_gold(photo: Photo) -> bool:
    return GoldStandard.objects.filter(photo=photo).exists()


# --- creating --------------------------------------------------------------------------------------------


def _admit(author, photo: Photo, base_draft: Draft | None, base_correction: Correction | None):
    """What every new correction passes first, whatever its kind: an active account, the shared
    limit on corrections, and a base that belongs to the photo. Returns the resolved base."""
    require_can_correct(author, photo)
    rate_limit(user=author, scope="corrections", rate=settings.CHROMA_CORRECTION_RATE)
    return _resolve_base(photo, base_draft, base_correction)


def correction_create(
    *,
    author,
    photo: Photo,
    hints: dict,
    base_draft: Draft | None = None,
    base_correction: Correction | None = None,
    note: str = "",
    evidence=None,
    frame: int | None = None,
) -> Correction:
    """A hints correction: saved at once, rendered at full resolution by a worker.

    A film clip's correction is of one keyframe (``frame``); its render is that frame's still
    with the hints (``Draft.frame``), and once accepted the hints are carried through its shot
    by the clip's community render (``community.review.clips``).
    """
    base_draft, base_correction = _admit(author, photo, base_draft, base_correction)
    if base_draft is None and base_correction is None:
        raise ValidationError({"base_draft": "Say which draft (base_draft) or correction (base_correction) you fix."})
    frame = keyframe_check(photo, frame, base_draft, base_correction)
    errors = {}
    try:
        parsed = parse_hints(hints, photo.width, photo.height)
        if parsed.is_empty:
            errors["hints"] = "Place at least one colour hint or stroke; a correction without hints changes nothing."
    except HintError as exc:
        errors["hints"] = str(exc)
    try:
        note = _note_clean(note)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        evidence = evidence_clean(evidence)
        if "hints" not in errors:
            evidence_hints_check(evidence, parsed)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    render_settings = render_settings_for(photo, base_draft, base_correction)
    with transaction.atomic():
        render = draft_request(
            photo=photo,
            requested_by=author,
            hints=hints,
            purpose=DraftPurpose.CORRECTION,
            frame=frame,
            **render_settings,
        )
        correction = Correction.objects.create(
            photo=photo,
            author=author,
            kind=CorrectionKind.HINTS,
            frame=frame,
            base_draft=base_draft,
            base_correction=base_correction,
            hints=parsed.to_dict(),
            render=render,
            note=note,
            is_gold=_is_gold(photo),
        )
        _save_evidence(correction, evidence)
        pages_invalidate_on_commit(photo_id=photo.pk)  # the photo page's timeline
    logger.info("correction %s on photo %s by %s (render draft %s)", correction.pk, photo.pk, author, render.pk)
    return correction


def _manual_keys(photo: Photo, sha256: str, fmt: str) -> tuple[str, str, str]:
    ext = EXTENSIONS.get(fmt, "bin")
    base = f"corrections/{photo.pk}/manual-{sha256[:16]}"
    return f"corrections/uploads/{sha256}.{ext}", f"{base}.png", f"{base}-thumb.jpg"


def correction_create_manual(
    *,
    author,
    photo: Photo,
    file,
    base_draft: Draft | None = None,
    base_correction: Correction | None = None,
    note: str = "",
    evidence=None,
) -> Correction:
    """A manual colorization: checked against the original's luminance, its chroma kept, the upload kept."""
    base_draft, base_correction = _admit(author, photo, base_draft, base_correction)
    if photo.is_video:
        raise ValidationError(
            {"file": "A film clip is corrected with hints on its keyframes; manual colorizations are for photographs."}
        )
    note = _note_clean(note)
    evidence = evidence_clean(evidence)
    if any(item.get("hints") for item in evidence):
        raise ValidationError({"evidence": "A manual colorization has no hints to cite sources for."})
    result = manual_colorization_check(photo=photo, file=file)
    upload_key, image_key, thumb_key = _manual_keys(photo, result.upload_sha256, result.upload_format)
    meta = {
        "description": (
            "Colour version by a Chroma Commons volunteer: a manual colorization whose colours are an "
            f"interpretation, on the original's luminance; original sha256 {photo.original_sha256}."
        ),
        "model": "manual",
        "original_sha256": photo.original_sha256,
    }
    written = []
    try:
        if not default_storage.exists(upload_key):
            file.seek(0)
            default_storage.save(upload_key, ContentFile(file.read()))
            written.append(upload_key)
        for key, data in ((image_key, encode(result.rgb, "png", meta)), (thumb_key, _thumbnail(result.rgb, meta))):
            storage_replace(key, data)
            written.append(key)
        with transaction.atomic():
            correction = Correction.objects.create(
                photo=photo,
                author=author,
                kind=CorrectionKind.MANUAL,
                base_draft=base_draft,
                base_correction=base_correction,
                upload=upload_key,
                upload_sha256=result.upload_sha256,
                image=image_key,
                thumbnail=thumb_key,
                luminance_difference=round(result.mean_delta_l, 3),
                note=note,
                is_gold=_is_gold(photo),
            )
            _save_evidence(correction, evidence)
            pages_invalidate_on_commit(photo_id=photo.pk)  # the photo page's timeline
    except BaseException:
        for key in written:
            if not Correction.objects.filter(upload=key).exists() and not Correction.objects.filter(image=key).exists():
                default_storage.delete(key)
        raise
    if correction.is_gold:
        from community.review.gold import gold_score_enqueue

        gold_score_enqueue(correction.pk)
    logger.info("manual correction %s on photo %s by %s", correction.pk, photo.pk, author)
    return correction


def _thumbnail(rgb: np.ndarray, meta: dict) -> bytes:
    thumb = Image.fromarray(rgb)
    thumb.thumbnail((settings.CHROMA_THUMBNAIL_SIZE, settings.CHROMA_THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    return encode(np.asarray(thumb), "jpeg", meta)


def hints_digest(hints: dict) -> str:
    """A stable fingerprint of a hint set (reproducibility checks, deduplication)."""
    import json

    return hashlib.sha256(json.dumps(hints, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
