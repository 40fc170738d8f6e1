"""Training examples: accepted colours of a photo, stored for fine-tuning community models.

Other apps call these services (community adds an example when a correction is accepted);
colorization does not know what a correction is, only the ``source`` string naming it.
"""

from __future__ import annotations

import hashlib
import io
from typing import BinaryIO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image

from colorization.eras import era_bucket, parse_era_buckets
from colorization.models import Photo, Split, TrainingExample
from colorization.storage import storage_replace


def split_for(photo: Photo) -> str:
    """Train or holdout, decided by the photo's checksum: stable across databases and reruns."""
    bucket = int(hashlib.sha256(f"split:{photo.original_sha256}".encode()).hexdigest()[:8], 16) % 100
    return Split.HOLDOUT if bucket < settings.CHROMA_HOLDOUT_PERCENT else Split.TRAIN


def photo_era_bucket(photo: Photo) -> str:
    return era_bucket(photo.year_from, photo.year_to, parse_era_buckets(settings.CHROMA_ERA_BUCKETS)) or ""


def _example_png(file: BinaryIO) -> tuple[bytes, int, int]:
    with Image.open(file) as im:
        im.load()
        rgb = im.convert("RGB")
    side = settings.CHROMA_TRAINING_EXAMPLE_SIDE
    if max(rgb.size) > side:
        scale = side / max(rgb.size)
        rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))), Image.Resampling.BOX)
    out = io.BytesIO()
    rgb.save(out, "PNG", optimize=False)
    return out.getvalue(), rgb.width, rgb.height


def training_example_add(
    *,
    photo: Photo,
    image: BinaryIO,
    source: str,
    contributor=None,
    global_hint: dict | None = None,
    frame: int | None = None,
) -> TrainingExample:
    """Store ``image`` (the photo's L* with accepted chroma, any size) as a training example.

    ``global_hint``: the global colour hint the colours were made with, kept with the example.
    ``frame``: a film clip's keyframe: ``image`` is that frame's still (its own luma, the accepted
    chroma). A clip trains with one example per corrected keyframe, each its current version;
    all of a clip's keyframes share its split, so one clip never sits on both sides.

    Idempotent per ``source``: a second call returns the first example (restored if it had been
    withdrawn). Earlier active examples of the same photo are withdrawn, so each photo trains
    with its current community version only.
    """
    existing = TrainingExample.objects.filter(source=source).first()
    if existing is not None:
        if existing.withdrawn_at is not None and existing.revoked_at is None:  # a revoked example stays out
            TrainingExample.objects.filter(pk=existing.pk).update(withdrawn_at=None, withdrawn_reason="")
            existing.refresh_from_db()
        return existing
    data, width, height = _example_png(image)
    key = f"training/{photo.pk}/{hashlib.sha256(source.encode()).hexdigest()[:16]}.png"
    stored = storage_replace(key, data)
    try:
        with transaction.atomic():
            TrainingExample.objects.filter(photo=photo, frame=frame, withdrawn_at__isnull=True).update(
                withdrawn_at=timezone.now(), withdrawn_reason=f"superseded by {source}"
            )
            return TrainingExample.objects.create(
                photo=photo,
                source=source,
                contributor=contributor,
                image=stored,
                width=width,
                height=height,
                genre=photo.genre,
                era_bucket=photo_era_bucket(photo),
                split=split_for(photo),
                global_hint=global_hint,
                frame=frame,
            )
    except IntegrityError:
        # A concurrent call for the same source won; it wrote the same bytes under the same key.
        return TrainingExample.objects.get(source=source)


def training_example_withdraw(*, source: str, reason: str) -> int:
    """Take an example out of training (a decision reversed, a photo hidden); returns how many."""
    return TrainingExample.objects.filter(source=source, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now(), withdrawn_reason=reason[:300]
    )


def training_example_revoke(*, source: str, reason: str, url: str = "") -> TrainingExample | None:
    """Take an example out of training for good: its colours were revoked (new evidence).

    Unlike a withdrawal (superseded, hidden), a revoked example is never restored by
    ``training_example_add``, and the models trained on it are flagged
    (``models_trained_on_revoked``). ``url`` links to the revocation. Returns the example, or
    None when ``source`` never became one. Idempotent.
    """
    now = timezone.now()
    TrainingExample.objects.filter(source=source, withdrawn_at__isnull=True).update(
        withdrawn_at=now, withdrawn_reason=f"revoked: {reason}"[:300]
    )
    TrainingExample.objects.filter(source=source, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason[:300], revoked_url=url[:300]
    )
    return TrainingExample.objects.filter(source=source).first()


def training_example_source_hidden(*, source: str, hidden: bool) -> None:
    """Record that the content an example came from was hidden (or shown again) by a moderator, so
    the registry does not show a hidden correction's revocation reason or link. Idempotent."""
    TrainingExample.objects.filter(source=source).update(source_hidden_at=timezone.now() if hidden else None)
