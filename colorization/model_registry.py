"""Which model: the registry of model files, routing a photo to its model, and what a slug or path names.

Weights live under ``settings.CHROMA_MODEL_DIR`` (``var/models`` by default) as safetensors files
named after their slug; the shipped base model is the root of every lineage and is registered on
first use. A file is only ever used when its sha256 matches the one recorded here.

A model is named by a "spec" (``--model``, a draft's recorded slug): "base" and file paths need
no database, so ``manage.py colorize`` works on a machine with nothing but the repository; any
other name is looked up in the registry (``ColorModel`` rows, by slug such as
``any-1900-1919-v2`` or bucket alias ``any-1900-1919``).

Routing (DESIGN.md) is (genre, era) -> (any, era) -> (genre, any) -> base, over the active
community models.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from colorization.engine.checkpoint import model_sha256, read_metadata
from colorization.engine.inference import DEFAULT_MODEL_PATH
from colorization.models import ColorModel, ModelStatus
from colorization.training_data import photo_era_bucket

logger = logging.getLogger(__name__)

BASE_SLUG = "base"


class UnknownModel(LookupError):
    pass


class ModelFileMismatch(UnknownModel):
    """A registered model's file is missing or its sha256 differs from the recorded one."""


@dataclass(frozen=True)
class ModelRef:
    slug: str
    version: str
    sha256: str
    path: Path


# -- files --------------------------------------------------------------------------------------


def base_model_path() -> Path:
    return Path(getattr(settings, "CHROMA_BASE_MODEL_PATH", DEFAULT_MODEL_PATH))


def model_dir() -> Path:
    path = Path(settings.CHROMA_MODEL_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


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


def _file_version(path: Path) -> int:
    try:
        return int(read_metadata(path).get("version", "1"))
    except ValueError:
        return 1


# -- registry rows ------------------------------------------------------------------------------


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


def ensure_base_registered() -> None:
    """Register the base model if its file is there (pages and the API list it); never raises for a missing file."""
    with contextlib.suppress(UnknownModel):
        base_model()


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


def registered_model(spec: str) -> ColorModel:
    """The ``ColorModel`` a slug names; UnknownModel when there is none (or no database to ask)."""
    try:
        model = find_model(spec)
    except (DatabaseError, RuntimeError) as exc:  # no database here, or database access refused (test harnesses)
        raise UnknownModel(f"no model with the slug {spec!r} (the model registry is unavailable: {exc})") from exc
    if model is None:
        raise UnknownModel(f"no model with the slug {spec!r}; see /models/ for the registered ones, or give a file")
    return model


def active_model(genre: str, era: str) -> ColorModel | None:
    return ColorModel.objects.filter(genre=genre, era=era, status=ModelStatus.ACTIVE).exclude(slug=BASE_SLUG).first()


# -- what a slug or path names ------------------------------------------------------------------

SpecKind = Literal["base", "file", "slug"]


def parse_model_spec(spec: str | None) -> SpecKind:
    """What a ``--model`` value names: the base model (empty or "base"), a file, or a registered slug.

    Anything that exists as a file, or looks like a path (a suffix or a slash), is a file.
    """
    if not spec or spec == BASE_SLUG:
        return "base"
    path = Path(spec)
    if path.is_file() or path.suffix or "/" in spec:
        return "file"
    return "slug"


def resolve_model(spec: str | None) -> Path:
    """``None`` -> the base model; a file -> that file; a registered slug -> its checked file."""
    kind = parse_model_spec(spec)
    if kind == "base":
        return base_model_path()
    if kind == "file":
        path = Path(spec)
        if not path.is_file():
            raise UnknownModel(f"model file not found: {spec}")
        return path
    return verified_path(registered_model(spec))


def model_ref(spec: str | None = None) -> ModelRef:
    """The model a slug or path names (``None``: the base model), with its checksum.

    The slug recorded is the one a worker resolves again: "base" for the base model,
    the path itself for a model given as a file.
    """
    kind = parse_model_spec(spec)
    if kind == "slug":
        return registered_ref(registered_model(spec))
    path = resolve_model(spec)
    if not path.is_file():
        raise UnknownModel(f"model file not found: {path}")
    sha = model_sha256(path)
    version = read_metadata(path).get("version", sha[:12])
    slug = BASE_SLUG if kind == "base" else spec
    return ModelRef(slug=slug, version=version, sha256=sha, path=path.resolve())


def registered_ref(model: ColorModel) -> ModelRef:
    """A registry model as drafts record it: its own slug (never an alias), version and checked file."""
    if model.is_base:
        return model_ref(None)
    path = verified_path(model)
    return ModelRef(slug=model.slug, version=str(model.version), sha256=model.sha256, path=path.resolve())


def model_identity(metadata: dict, sha256: str | None) -> tuple[str, str]:
    """(name, version) for labels and embedded disclosure."""
    return metadata.get("slug", "custom"), metadata.get("version", (sha256 or "unknown")[:12])


# -- routing ------------------------------------------------------------------------------------


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


def route_model(photo) -> ModelRef:
    """The model for a photo's genre and era: the most specific active community model, else the base."""
    genre = "" if photo.genre in ("", "unknown") else photo.genre
    model = route(genre, photo_era_bucket(photo))
    try:
        return registered_ref(model)
    except UnknownModel:
        # A routed model whose file is gone or altered must not stop uploads: use the base model.
        logger.error("model %s failed its file check; drafts fall back to the base model", model.slug)
        return model_ref(None)


# -- promotion and rollback ---------------------------------------------------------------------
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
