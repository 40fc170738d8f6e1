"""Which model colorizes a photo.

DESIGN.md's routing is (genre, era) -> (any, era) -> (genre, any) -> base, over
the active community models of the registry (``colorization.registry.route``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from colorization.engine.checkpoint import model_sha256, read_metadata
from colorization.modelfiles import SHIPPED, UnknownModel, resolve_model

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRef:
    slug: str
    version: str
    sha256: str
    path: Path


def model_ref(spec: str | None = None) -> ModelRef:
    """The model a slug or path names (``None``: the base model), with its checksum.

    The slug recorded is the one a worker resolves again: "base" for the base model,
    the path itself for a model given as a file.
    """
    is_path = Path(spec or "").suffix or "/" in (spec or "") or Path(spec or "").is_file()
    if spec and spec != "base" and spec not in SHIPPED and not is_path:
        from colorization.modelfiles import registered_model

        return registered_ref(registered_model(spec))
    path = resolve_model(spec)
    if not path.is_file():
        raise UnknownModel(f"model file not found: {path}")
    sha = model_sha256(path)
    version = read_metadata(path).get("version", sha[:12])
    slug = "base" if spec in (None, "", "base") else spec
    return ModelRef(slug=slug, version=version, sha256=sha, path=path.resolve())


def registered_ref(model) -> ModelRef:
    """A registry model as drafts record it: its own slug (never an alias), version and checked file."""
    if model.is_base:
        return model_ref(None)
    from colorization.registry import verified_path

    path = verified_path(model)
    return ModelRef(slug=model.slug, version=str(model.version), sha256=model.sha256, path=path.resolve())


def route_model(photo) -> ModelRef:
    """The model for a photo's genre and era: the most specific active community model, else the base."""
    from colorization.registry import route
    from colorization.training_data import photo_era_bucket

    genre = "" if photo.genre in ("", "unknown") else photo.genre
    model = route(genre, photo_era_bucket(photo))
    try:
        return registered_ref(model)
    except UnknownModel:
        # A routed model whose file is gone or altered must not stop uploads: use the base model.
        logger.error("model %s failed its file check; drafts fall back to the base model", model.slug)
        return model_ref(None)
