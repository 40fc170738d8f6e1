"""Which model: the registry of model files, routing a photo to its model, and what a slug or path names.

Community weights live in object storage under their sha256 (colorization/model_cache.py) and
are used from each host's local, verified cache; the shipped base model is the root of every
lineage and is registered on first use. A file is only ever used when its sha256 matches the one
recorded here. Models registered before storage held them (a file name in ``CHROMA_MODEL_DIR``)
keep loading from there until ``manage.py models_to_storage`` moves them.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.utils import timezone

from colorization.engine.checkpoint import model_sha256, read_metadata
from colorization.engine.inference import DEFAULT_MODEL_PATH
from colorization.model_cache import (
    MODEL_PREFIX,
    STORAGE_ERRORS,
    ModelObjectMismatch,
    ModelStorageUnavailable,
    model_cache,
    model_key,
    model_store,
)
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
    """A model as drafts record it. ``path`` is the local file, fetched into this host's cache the
    first time it is asked for: recording a model (a web request) never downloads it."""

    slug: str
    version: str
    sha256: str
    local_path: Path | None = None  # the base model, or a model given as a file
    model: ColorModel | None = field(default=None, compare=False, repr=False)  # a community model

    @property
    def path(self) -> Path:
        if self.local_path is not None:
            return self.local_path
        return verified_path(self.model)


# -- files --------------------------------------------------------------------------------------


def base_model_path() -> Path:
    return Path(getattr(settings, "CHROMA_BASE_MODEL_PATH", DEFAULT_MODEL_PATH))


def legacy_model_dir() -> Path:
    """Where models registered before storage held them were written (read only, until moved)."""
    return Path(settings.CHROMA_MODEL_DIR)


def is_stored(model: ColorModel) -> bool:
    """Whether the row names a storage key (models registered since storage holds them)."""
    return model.weights.startswith(f"{MODEL_PREFIX}/")


def _legacy_file(model: ColorModel) -> Path:
    return legacy_model_dir() / Path(model.weights).name


def verified_path(model: ColorModel) -> Path:
    """The model's local file, after checking its sha256 is the recorded one.

    A community model comes from this host's cache, fetched from storage on a miss;
    ModelStorageUnavailable (a ConnectionError) when storage does not answer in time.
    """
    if model.is_base:
        path = base_model_path()
    elif is_stored(model):
        try:
            return model_cache().get(model.sha256, model.weights)
        except ModelObjectMismatch as exc:
            raise ModelFileMismatch(f"the weights of model {model.slug} are unusable: {exc}") from exc
    else:
        path = _legacy_file(model)
        if not path.is_file():
            # Moved by models_to_storage on another host, or the folder is not mounted here.
            try:
                return model_cache().get(model.sha256)
            except ModelObjectMismatch:
                raise ModelFileMismatch(f"the weights of model {model.slug} are missing ({path})") from None
    if not path.is_file():
        raise ModelFileMismatch(f"the weights of model {model.slug} are missing ({path})")
    if model_sha256(path) != model.sha256:
        raise ModelFileMismatch(
            f"the weights of model {model.slug} do not match their recorded sha256; refusing to load them"
        )
    return path


def check_available(model: ColorModel) -> None:
    """ModelFileMismatch unless the model's file can be had: in this host's cache, in storage, or (a
    model registered before storage held them) in the legacy folder. Downloads nothing."""
    if model.is_base or (not is_stored(model) and _legacy_file(model).is_file()):
        verified_path(model)
        return
    if model_cache().holds(model.sha256):
        return
    key = model.weights if is_stored(model) else model_key(model.sha256)
    try:
        present = default_storage.exists(key)
    except STORAGE_ERRORS as exc:
        raise ModelStorageUnavailable(f"storage did not answer about {key}: {exc}") from exc
    if not present:
        raise ModelFileMismatch(f"the weights of model {model.slug} are missing from storage ({key})")


def install_weights(staged: Path) -> tuple[str, str, int]:
    """Store a finished candidate file in storage at its sha256 key (and in this host's cache).

    Returns (storage key, sha256, size). The key names the content, so nothing half-written is ever
    used: a reader checks the bytes against the name.
    """
    return model_store(staged)


@dataclass
class MoveReport:
    moved: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def models_move_to_storage() -> MoveReport:
    """Move the files of models registered before storage held them (``CHROMA_MODEL_DIR``) into
    storage under their sha256 keys, and point their rows there. Idempotent; the old files stay
    (delete the folder once every host runs this version). A file whose sha256 differs from its
    row's is left alone and reported, as is a row with no file anywhere."""
    report = MoveReport()
    for model in ColorModel.objects.exclude(weights="").order_by("pk"):
        if is_stored(model):
            report.already.append(model.slug)
            continue
        key = model_key(model.sha256)
        path = _legacy_file(model)
        if path.is_file():
            if model_sha256(path) != model.sha256:
                report.problems.append(f"{model.slug}: {path} does not match the recorded sha256; left as it is")
                continue
            key, _, _ = model_store(path)
        elif not default_storage.exists(key):
            report.problems.append(f"{model.slug}: no file at {path} and nothing in storage at {key}")
            continue
        ColorModel.objects.filter(pk=model.pk, weights=model.weights).update(weights=key)
        report.moved.append(model.slug)
    return report


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
    return ModelRef(slug=slug, version=version, sha256=sha, local_path=path.resolve())


def registered_ref(model: ColorModel) -> ModelRef:
    """A registry model as drafts record it: its own slug (never an alias), version and sha256.

    Its file is checked to be available (ModelFileMismatch otherwise) but not fetched: ``ref.path``
    fetches it into this host's cache when a worker needs it.
    """
    if model.is_base:
        return model_ref(None)
    check_available(model)
    return ModelRef(slug=model.slug, version=str(model.version), sha256=model.sha256, model=model)


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
    except (UnknownModel, ModelStorageUnavailable) as exc:
        # A routed model whose file is gone (or storage that does not answer) must not stop uploads.
        logger.error("model %s failed its file check (%s); drafts fall back to the base model", model.slug, exc)
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
            check_available(previous)  # never restore a model whose file is gone
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
