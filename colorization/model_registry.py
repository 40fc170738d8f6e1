"""The model registry: which model files exist, which is active per bucket, promotion and rollback.

Weights live under ``settings.CHROMA_MODEL_DIR`` (``var/models`` by default) as safetensors files
named after their slug; the shipped base model is the root of every lineage and is registered on
first use. A file is only ever used when its sha256 matches the one recorded here.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from colorization.engine.checkpoint import model_sha256, read_metadata
from colorization.modelfiles import UnknownModel, base_model_path
from colorization.models import ColorModel, ModelStatus

BASE_SLUG = "base"


class ModelFileMismatch(UnknownModel):
    """A registered model's file is missing or its sha256 differs from the recorded one."""


def model_dir() -> Path:
    path = Path(settings.CHROMA_MODEL_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def model_slug(genre: str, era: str, version: int) -> str:
    return f"{genre or 'any'}-{era or 'any'}-v{version}".lower()


def bucket_alias(genre: str, era: str) -> str:
    return f"{genre or 'any'}-{era or 'any'}".lower()


def base_model() -> ColorModel:
    """The registry row of the shipped base model (created on first use; its sha256 follows the file)."""
    path = base_model_path()
    if not path.is_file():
        raise UnknownModel(f"model file not found: {path}")
    sha = model_sha256(path)
    row = ColorModel.objects.filter(slug=BASE_SLUG).first()
    if row is None:
        with transaction.atomic():
            row, _ = ColorModel.objects.get_or_create(
                slug=BASE_SLUG,
                defaults={
                    "version": _file_version(path),
                    "sha256": sha,
                    "size_bytes": path.stat().st_size,
                    "status": ModelStatus.ACTIVE,
                    "promoted_at": timezone.now(),
                    "note": "The shipped base model (colorization/weights/MODEL_CARD.md).",
                },
            )
    if row.sha256 != sha:  # a new base model was shipped (or configured): follow the file
        row.sha256, row.size_bytes, row.version = sha, path.stat().st_size, _file_version(path)
        ColorModel.objects.filter(pk=row.pk).update(sha256=row.sha256, size_bytes=row.size_bytes, version=row.version)
    return row


def _file_version(path: Path) -> int:
    try:
        return int(read_metadata(path).get("version", "1"))
    except ValueError:
        return 1


def ensure_base_registered() -> None:
    """Register the base model if its file is there (pages and the API list it); never raises for a missing file."""
    with contextlib.suppress(UnknownModel):
        base_model()


def weights_path(model: ColorModel) -> Path:
    return base_model_path() if model.is_base else model_dir() / model.weights


def verified_path(model: ColorModel) -> Path:
    """The model's file, after checking it exists and its sha256 is the recorded one."""
    path = weights_path(model)
    if not path.is_file():
        raise ModelFileMismatch(f"the weights of model {model.slug} are missing ({path})")
    if model_sha256(path) != model.sha256:
        raise ModelFileMismatch(
            f"the weights of model {model.slug} do not match their recorded sha256; refusing to load them"
        )
    return path


def find_model(spec: str) -> ColorModel | None:
    """A registered model by slug (``any-1900-1919-v2``) or by bucket alias (``any-1900-1919``: its active model)."""
    spec = spec.strip().lower()
    if spec == BASE_SLUG:
        return base_model()
    model = ColorModel.objects.filter(slug=spec).first()
    if model is not None:
        return model
    for active in ColorModel.objects.filter(status=ModelStatus.ACTIVE).exclude(slug=BASE_SLUG):
        if bucket_alias(active.genre, active.era) == spec:
            return active
    return None


def active_model(genre: str, era: str) -> ColorModel | None:
    return ColorModel.objects.filter(genre=genre, era=era, status=ModelStatus.ACTIVE).exclude(slug=BASE_SLUG).first()


def route(genre: str, era: str, *, skip_own: bool = False) -> ColorModel:
    """DESIGN.md's routing over active models: (genre, era) -> (any, era) -> (genre, any) -> base.

    ``skip_own``: start one level up (a bucket's routing parent, for a first fine-tuning).
    """
    chain = []
    if genre and era:
        chain.append((genre, era))
    if era:
        chain.append(("", era))
    if genre:
        chain.append((genre, ""))
    if skip_own and chain and chain[0] == (genre, era):
        chain = chain[1:]
    if chain:
        actives = {
            (m.genre, m.era): m
            for m in ColorModel.objects.filter(status=ModelStatus.ACTIVE)
            .exclude(slug=BASE_SLUG)
            .filter(genre__in={g for g, _ in chain}, era__in={e for _, e in chain})
        }
        for key in chain:
            if key in actives:
                return actives[key]
    return base_model()


def model_promote(model: ColorModel, *, note: str = "") -> ColorModel | None:
    """Make ``model`` its bucket's active model, atomically; returns the model it replaced (now retired)."""
    if model.is_base:
        raise ValueError("the base model is always active")
    with transaction.atomic():
        model = ColorModel.objects.select_for_update().get(pk=model.pk)
        previous = (
            ColorModel.objects.select_for_update()
            .filter(genre=model.genre, era=model.era, status=ModelStatus.ACTIVE)
            .exclude(pk=model.pk)
            .first()
        )
        now = timezone.now()
        if previous is not None:
            ColorModel.objects.filter(pk=previous.pk).update(status=ModelStatus.RETIRED, retired_at=now)
        ColorModel.objects.filter(pk=model.pk).update(
            status=ModelStatus.ACTIVE,
            promoted_at=now,
            retired_at=None,
            note=note[:300] or model.note,
            replaced=previous,
        )
    return previous


def model_rollback(genre: str, era: str) -> tuple[ColorModel, ColorModel | None]:
    """Retire the bucket's active model and re-activate the one it replaced (if any).

    Returns (retired, restored); with nothing to restore the bucket routes to its parent buckets.
    """
    with transaction.atomic():
        current = (
            ColorModel.objects.select_for_update()
            .filter(genre=genre, era=era, status=ModelStatus.ACTIVE)
            .exclude(slug=BASE_SLUG)
            .first()
        )
        if current is None:
            raise ValueError(f"the bucket {genre or 'any'}:{era or 'any'} has no active community model")
        # What this model replaced when it was promoted (never ping-pong back to a model rolled back from).
        previous = None
        if current.replaced_id is not None:
            previous = (
                ColorModel.objects.select_for_update()
                .filter(pk=current.replaced_id, genre=genre, era=era, status=ModelStatus.RETIRED)
                .first()
            )
        if previous is not None:
            verified_path(previous)  # never restore a model whose file is gone or altered
        now = timezone.now()
        ColorModel.objects.filter(pk=current.pk).update(
            status=ModelStatus.RETIRED, retired_at=now, note=f"rolled back on {now:%Y-%m-%d %H:%M} UTC"
        )
        if previous is not None:
            ColorModel.objects.filter(pk=previous.pk).update(
                status=ModelStatus.ACTIVE, promoted_at=now, retired_at=None
            )
    current.refresh_from_db()
    if previous is not None:
        previous.refresh_from_db()
    return current, previous


def install_weights(staged: Path, slug: str) -> tuple[str, str, int]:
    """Move a finished candidate file into the model folder under its slug (an atomic rename).

    Returns (file name, sha256, size). Nothing half-written is ever visible under the final name.
    """
    name = f"{slug}.safetensors"
    final = model_dir() / name
    tmp = final.with_name(final.name + ".installing")
    data = Path(staged).read_bytes()
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)
    return name, model_sha256(final), len(data)
