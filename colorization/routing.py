"""Which model colorizes a photo.

DESIGN.md's routing is (genre, era) -> (any, era) -> (genre, any) -> base, over
the active community models. Until the model registry has community models,
every bucket falls through to the shipped base model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from colorization.engine.checkpoint import model_sha256, read_metadata
from colorization.modelfiles import UnknownModel, resolve_model


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
    path = resolve_model(spec)
    if not path.is_file():
        raise UnknownModel(f"model file not found: {path}")
    sha = model_sha256(path)
    version = read_metadata(path).get("version", sha[:12])
    slug = "base" if spec in (None, "", "base") else spec
    return ModelRef(slug=slug, version=version, sha256=sha, path=path.resolve())


def route_model(photo) -> ModelRef:
    """The model for a photo's genre and era."""
    return model_ref(None)
