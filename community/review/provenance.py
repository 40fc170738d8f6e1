"""Evidence per colour: which hints each source documents, historians' verdicts on sources, and the
documented / volunteer-inferred / model share of a correction's colours with its overlay.

A hint is **documented** when a cited source names it and no historian disputes that source (or
another source naming it is undisputed), **disputed** when every source naming it is disputed,
and **volunteer-inferred** otherwise (the volunteer chose "inferred", or cited nothing for it).
The share and the overlay come from ``colorization.engine.provenance.hint_influence``: each
hint's area of influence as the propagation computes it, weighted by the final colours' chroma.
The global hint sets the model's overall colours rather than a region, so it is not counted in
the share (its sources are listed like any other).

The computation runs on the render's working grid (``working_size`` at the render's
``render_size``), with the original's L* area-averaged to that grid exactly as the render did, the
hints painted on it as the render paints them, and the colour image's chroma as weights. It is kept
in storage under a key derived from the image, the hints, the groups and the render size, so it
runs once per change of verdicts; a verdict invalidates the cached pages of the photo.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import asdict, dataclass

import numpy as np
import torch
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image

from colorization.drafting import original_working_luminance
from colorization.engine.color import rgb_to_lab
from colorization.engine.hints import Hints, parse_hints, rasterize_index
from colorization.engine.provenance import format_shares, hint_influence
from colorization.ratelimit import rate_limit
from colorization.storage import storage_replace
from colorization.text import validate_text
from community.gallery.page_cache import pages_invalidate_on_commit
from community.models import (
    Correction,
    CorrectionKind,
    Evidence,
    EvidenceKind,
    SourceVerification,
    VerificationVerdict,
)
from community.review.permissions import can_verify_sources, require_active

logger = logging.getLogger(__name__)

MAX_NOTE = 2000
# Overlay colours (Okabe–Ito, distinguishable with colour-blindness) and patterns, so the state is
# never told by colour alone: documented solid, inferred diagonal lines, disputed cross-hatched.
OVERLAY = {1: (0, 114, 178), 2: (230, 159, 0), 3: (204, 0, 102)}


# --- historians verify sources ----------------------------------------------------------------------------


def source_verify(*, evidence_id: int, historian, verdict: str, note: str = "") -> SourceVerification:
    """A historian marks a correction's cited source verified or disputed, with a note (changeable)."""
    profile = require_active(historian, "verify sources")
    if not profile.is_historian:
        raise PermissionDenied("Only verified historians verify sources.")
    if verdict not in VerificationVerdict.values:
        raise ValidationError({"verdict": "Choose verified or disputed."})
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationError({"note": f"The note is {len(note)} characters; at most {MAX_NOTE}."})
    validate_text(note, "note")
    if verdict == VerificationVerdict.DISPUTED and not note:
        raise ValidationError({"note": "Say what is wrong with the source; the note is shown with it."})
    rate_limit(user=historian, scope="vote", rate=settings.CHROMA_VOTE_RATE)  # a verdict is a kind of vote
    with transaction.atomic():
        evidence = (
            Evidence.objects.select_related("correction", "correction__photo")
            .select_for_update(of=("self",))
            .get(pk=evidence_id)
        )
        if evidence.correction_id is None or evidence.kind != EvidenceKind.SOURCE:
            raise ValidationError("Only the sources a correction cites are verified.")
        # One rule, permissions.can_verify_sources (the page offers the form by it too).
        correction = evidence.correction
        if correction.hidden_at is not None or correction.photo.hidden_at is not None:
            raise PermissionDenied("This correction or its photo is hidden by a moderator.")
        if not can_verify_sources(historian, correction, profile=profile):
            raise PermissionDenied("You cannot verify the sources of your own correction.")
        verification, _ = SourceVerification.objects.update_or_create(
            evidence=evidence, historian=historian, defaults={"verdict": verdict, "note": note}
        )
        pages_invalidate_on_commit(photo_id=evidence.correction.photo_id)
    return verification


def source_status(evidence: Evidence) -> str:
    """ "disputed" when a historian disputes it, "verified" when one verified it, else "unverified".

    Reads ``evidence.verifications.all()`` (prefetch it for lists)."""
    verdicts = {v.verdict for v in evidence.verifications.all()}
    if VerificationVerdict.DISPUTED in verdicts:
        return "disputed"
    return "verified" if verdicts else "unverified"


# --- which hints are documented -------------------------------------------------------------------------


def hint_refs(hints: Hints) -> list[str]:
    return (
        [f"points/{i}" for i in range(len(hints.points))]
        + [f"strokes/{i}" for i in range(len(hints.strokes))]
        + (["global"] if hints.global_colours is not None else [])
    )


def hint_groups(hints: Hints, evidence: list[Evidence]) -> dict[str, str]:
    """hint reference -> "documented" | "disputed" | "inferred"."""
    groups = {}
    for ref in hint_refs(hints):
        statuses = [source_status(e) for e in evidence if e.kind == EvidenceKind.SOURCE and ref in (e.hints or [])]
        if any(s != "disputed" for s in statuses):
            groups[ref] = "documented"
        elif statuses:
            groups[ref] = "disputed"
        else:
            groups[ref] = "inferred"
    return groups


# --- the share and the overlay --------------------------------------------------------------------------


@dataclass(frozen=True)
class Provenance:
    shares: dict  # documented, inferred, disputed, model -> 0..1
    text: str  # "documented 38 % · volunteer-inferred 21 % · model 41 %"
    overlay: str  # storage key of the overlay PNG (RGBA, the colour image's aspect)
    groups: dict  # hint reference -> group

    @property
    def overlay_url(self) -> str:
        return default_storage.url(self.overlay)


def correction_provenance(correction: Correction) -> Provenance | None:
    """The share and overlay of a rendered hints correction (None for manual ones or before rendering)."""
    result = correction.result_file
    if correction.kind != CorrectionKind.HINTS or result is None or not correction.hints:
        return None
    photo = correction.photo
    hints = parse_hints(correction.hints, photo.width, photo.height)
    evidence = list(correction.evidence.all())
    groups = hint_groups(hints, evidence)
    # The render spread the hints on its working grid (``render_size`` on the long side), so the
    # influence is measured there, on the original's L* at that size, as the render saw it.
    render_size = correction.render.render_size if correction.render_id else settings.CHROMA_DEFAULT_RENDER_SIZE
    digest = hashlib.sha256(
        json.dumps([result.name, correction.hints, groups, render_size], sort_keys=True).encode()
    ).hexdigest()
    key = f"provenance/{correction.photo_id}/{correction.pk}-{digest[:20]}"
    if default_storage.exists(key + ".json"):
        with default_storage.open(key + ".json", "rb") as fh:
            return Provenance(**json.loads(fh.read()))
    L = original_working_luminance(photo, render_size, correction.frame)  # a clip's: its keyframe
    h, w = L.shape
    with default_storage.open(result.name, "rb") as fh, Image.open(fh) as im:
        im.draft("RGB", (w, h))
        rgb = im.convert("RGB").resize((w, h), Image.Resampling.BOX)
    lab = rgb_to_lab(torch.from_numpy(np.asarray(rgb, np.float32) / 255).permute(2, 0, 1))
    chroma = torch.sqrt(lab[1] ** 2 + lab[2] ** 2).numpy()
    # Hints painted as the render paints them (strokes, then points; the last painted wins a pixel),
    # each pixel given to the group of the hint it shows.
    index, _ = rasterize_index(hints, photo.width, photo.height, w, h)
    order = [f"strokes/{i}" for i in range(len(hints.strokes))] + [f"points/{i}" for i in range(len(hints.points))]
    masks = [(groups[ref], index == k) for k, ref in enumerate(order, start=1)]
    influence = hint_influence(L, masks, chroma)
    overlay_key = storage_replace(key + ".png", _overlay_png(influence.labels()))
    provenance = Provenance(
        shares={k: round(v, 4) for k, v in influence.shares.items()},
        text=format_shares(influence.shares),
        overlay=overlay_key,
        groups=groups,
    )
    storage_replace(key + ".json", json.dumps(asdict(provenance)).encode())
    return provenance


def _overlay_png(labels: np.ndarray) -> bytes:
    h, w = labels.shape
    yy, xx = np.mgrid[0:h, 0:w]
    diagonal = (xx + yy) % 4 < 2
    cross = diagonal | ((xx - yy) % 4 < 2)
    rgba = np.zeros((h, w, 4), np.uint8)
    for label, colour in OVERLAY.items():
        region = labels == label
        pattern = {1: np.ones_like(region), 2: diagonal, 3: cross}[label]
        rgba[region] = (*colour, 90)
        rgba[region & pattern] = (*colour, 200)
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, "PNG")
    return out.getvalue()


def provenance_safely(correction: Correction | None) -> Provenance | None:
    """For pages and exports: a failure is logged and shown as "not available", never a 500."""
    if correction is None:
        return None
    try:
        return correction_provenance(correction)
    except Exception:
        logger.exception("colour provenance of correction %s failed", correction.pk)
        return None
