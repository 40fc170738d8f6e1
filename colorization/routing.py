"""Which model colorizes a photo.

DESIGN.md's routing is (genre, era) -> (any, era) -> (genre, any) -> base, over
the active community models. Until the model registry has community models,
every bucket falls through to the shipped base model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from colorization.engine.checkpoint import load_state_dict, sha256_of
from colorization.modelfiles import UnknownModel, resolve_model


@dataclass(frozen=True)
class ModelRef:
    slug: str
    version: str
    sha256: str
    path: Path


@lru_cache(maxsize=16)
def _describe(path: str, mtime_ns: int, size: int, slug: str) -> ModelRef:
    _, _, meta = load_state_dict(Path(path))
    sha = sha256_of(Path(path))
    return ModelRef(slug=slug, version=meta.get("version", sha[:12]), sha256=sha, path=Path(path))


def model_ref(spec: str | None = None) -> ModelRef:
    """The model a slug or path names (``None``: the base model), with its checksum.

    The slug recorded is the one a worker resolves again: "base" for the base model,
    the path itself for a model given as a file.
    """
    path = resolve_model(spec)
    if not path.is_file():
        raise UnknownModel(f"model file not found: {path}")
    slug = "base" if spec in (None, "", "base") else spec
    stat = path.stat()
    return _describe(str(path.resolve()), stat.st_mtime_ns, stat.st_size, slug)


def route_model(photo) -> ModelRef:
    """The model for a photo's genre and era."""
    return model_ref(None)
