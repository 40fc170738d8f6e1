"""Gold-standard photos: colour photographs shown to volunteers in greyscale, used to measure accuracy.

The colour file is kept untouched as the truth (its own unguessable storage key and its sha256 on
``GoldStandard``); the ``Photo`` everybody sees is made from a greyscale derivative through the
ordinary upload service, so no page, thumbnail, API or download can leak the true colours.
Corrections of gold photos are scored against the truth (mean CIEDE2000 and PSNR), never voted on
and never used for training; the score is shown to its author and counts towards reputation.
"""

from __future__ import annotations

import io
import logging
import math
import secrets
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image, ImageOps

from colorization.engine.color import lab_to_srgb8
from colorization.engine.imageio import rgb_to_lightness_u8
from colorization.engine.metrics import mean_ciede2000, psnr
from colorization.images import EXTENSIONS
from colorization.services import inspect_upload, photo_upload
from community.models import Correction, GoldStandard, ModerationAction, ReputationReason
from community.review import notifications, permissions, reputation

logger = logging.getLogger(__name__)

PSNR_CAP = 100.0  # identical images have infinite PSNR; JSON and the database want a number
SCORE_MAX_SIDE = 1024  # scores are computed at most at this size (area-averaged), which keeps them fast


@dataclass(frozen=True)
class GoldCreated:
    gold: GoldStandard
    created: bool


def _load_rgb(file: BinaryIO) -> np.ndarray:
    file.seek(0)
    with Image.open(file) as im:
        im.load()
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"), dtype=np.uint8).copy()


def grey_derivative(rgb: np.ndarray) -> bytes:
    """The photo's lightness alone (CIE L*, as the engine reads it), as an 8-bit greyscale PNG."""
    L = rgb_to_lightness_u8(rgb)
    grey = lab_to_srgb8(np.stack((L, np.zeros_like(L), np.zeros_like(L)), -1))[..., 0]
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(grey), "L").save(out, "PNG")
    return out.getvalue()


def gold_create(
    *, moderator, file: BinaryIO, filename: str = "", metadata: dict, note: str = "", rate_limited: bool = True
) -> GoldCreated:
    """Make a gold-standard photo from a COLOUR photograph. Safe to repeat with the same file.

    The greyscale photo is an upload like any other (``photo_upload``'s limit); ``gold_import``,
    an operator's command, passes ``rate_limited=False``.
    """
    permissions.require_active_moderator(
        moderator, "create gold-standard photos", "Only moderators create gold-standard photos."
    )
    info = inspect_upload(file)  # limits, real image, decodes fully (raises ImageRejected)
    existing = GoldStandard.objects.filter(truth_sha256=info.sha256).select_related("photo").first()
    if existing is not None:
        return GoldCreated(existing, created=False)
    if not info.is_colour:
        raise ValidationError(
            {"image": "A gold standard needs a COLOUR photograph (its colours are the truth); this one is grey."}
        )
    rgb = _load_rgb(file)
    grey = grey_derivative(rgb)
    truth_key = f"gold/{secrets.token_hex(16)}/truth.{EXTENSIONS.get(info.format, 'bin')}"
    file.seek(0)
    stored = default_storage.save(truth_key, ContentFile(file.read()))
    try:
        with transaction.atomic():
            result = photo_upload(
                owner=moderator,
                file=ContentFile(grey, name="grey.png"),
                filename=(filename or "gold")[-200:] + " (greyscale)",
                metadata=metadata,
                rate_limited=rate_limited,
            )
            if not result.created:
                raise ValidationError({"image": f"Its greyscale version is already photo {result.photo.pk}."})
            gold = GoldStandard.objects.create(
                photo=result.photo, marked_by=moderator, note=note[:500], truth=stored, truth_sha256=info.sha256
            )
            ModerationAction.objects.create(
                moderator=moderator,
                action="mark_gold",
                target_type="photo",
                target_id=result.photo.pk,
                reason=note,
                details={"truth_sha256": info.sha256, "filename": filename},
            )
    except BaseException:
        default_storage.delete(stored)
        raise
    logger.info("gold-standard photo %s from %s", gold.photo_id, filename or "an upload")
    return GoldCreated(gold, created=True)


@dataclass(frozen=True)
class GoldScore:
    ciede2000: float
    psnr: float
    baseline_ciede2000: float
    baseline_psnr: float


def _fit(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average ``rgb`` to ``size`` (width, height), if it is not that size already."""
    if (rgb.shape[1], rgb.shape[0]) == size:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX), dtype=np.uint8)


def score_against_truth(result: np.ndarray, truth: np.ndarray, grey: np.ndarray) -> GoldScore:
    """Mean CIEDE2000 and PSNR of ``result`` and of the grey photo against the truth, at one size."""
    height, width = truth.shape[:2]
    scale = min(1.0, SCORE_MAX_SIDE / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    truth, result, grey = _fit(truth, size), _fit(result, size), _fit(grey, size)

    def capped(value: float) -> float:
        return PSNR_CAP if math.isinf(value) else min(PSNR_CAP, value)

    return GoldScore(
        ciede2000=mean_ciede2000(result, truth),
        psnr=capped(psnr(result, truth)),
        baseline_ciede2000=mean_ciede2000(grey, truth),
        baseline_psnr=capped(psnr(grey, truth)),
    )


def gold_score(*, correction_id: int) -> GoldScore | None:
    """Score a gold correction once its colour image exists; award reputation and tell the author.

    Returns None when there is nothing to score yet (not gold, not rendered) or it was scored.
    """
    correction = Correction.objects.select_related("photo", "render", "author").filter(pk=correction_id).first()
    if correction is None or not correction.is_gold or correction.gold_ciede2000 is not None:
        return None
    gold = GoldStandard.objects.filter(photo_id=correction.photo_id).first()
    result_file = correction.result_file
    if gold is None or not gold.truth or result_file is None:
        return None
    with default_storage.open(gold.truth.name, "rb") as f:
        truth = _load_rgb(f)
    with default_storage.open(result_file.name, "rb") as f:
        result = _load_rgb(f)
    with default_storage.open(correction.photo.original.name, "rb") as f:
        grey = _load_rgb(f)
    score = score_against_truth(result, truth, grey)
    with transaction.atomic():
        claimed = Correction.objects.filter(pk=correction.pk, gold_ciede2000__isnull=True).update(
            gold_ciede2000=round(score.ciede2000, 4),
            gold_psnr=round(score.psnr, 3),
            gold_baseline_ciede2000=round(score.baseline_ciede2000, 4),
        )
        if not claimed:
            return None
        points = reputation.gold_points(score.ciede2000, score.baseline_ciede2000)
        reputation.reputation_award(
            user=correction.author,
            points=points,
            reason=ReputationReason.GOLD_SCORED,
            correction=correction,
            note=f"gold ΔE00 {score.ciede2000:.2f} (grey {score.baseline_ciede2000:.2f})",
        )
        notifications.notify(
            recipient=correction.author,
            verb="scored",
            text=(
                f"Your correction {correction.pk} was scored against the true colours: mean ΔE00 "
                f"{score.ciede2000:.2f} (the grey photo: {score.baseline_ciede2000:.2f}; lower is better), "
                f"{points:+d} reputation."
            ),
            url=correction.get_absolute_url(),
            correction=correction,
        )
    logger.info(
        "gold correction %s scored ΔE00 %.3f (grey %.3f)", correction.pk, score.ciede2000, score.baseline_ciede2000
    )
    return score


def gold_score_enqueue(correction_id: int) -> None:
    """Queue the scoring for a worker once the current transaction commits.

    Scoring takes about a second per megapixel, so it never runs in a web request or in the
    render's task. If the broker is down the error is logged and beat's sweep scores it later.
    """
    from community.tasks import score_gold_correction

    transaction.on_commit(lambda: score_gold_correction.delay(correction_id), robust=True)


def gold_score_safely(correction_id: int) -> bool:
    try:
        return gold_score(correction_id=correction_id) is not None
    except Exception:
        logger.exception("gold scoring failed for correction %s", correction_id)
        return False


def gold_score_missed(*, older_than_s: int = 120, limit: int = 50) -> int:
    """Score gold corrections that have an image but no score (their message was lost)."""
    from datetime import timedelta

    from django.db.models import Q
    from django.utils import timezone

    from colorization.models import DraftStatus
    from community.models import CorrectionKind

    due = (
        Correction.objects.filter(is_gold=True, gold_ciede2000__isnull=True)
        .filter(Q(kind=CorrectionKind.MANUAL) | Q(render__status=DraftStatus.DONE))
        .filter(updated_at__lte=timezone.now() - timedelta(seconds=older_than_s))
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(gold_score_safely(pk) for pk in list(due))
