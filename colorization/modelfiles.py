"""Which model file a name refers to: a path, or the slug of a shipped model.

The community model registry (``ColorModel`` rows) extends this lookup when it
exists; the shipped base model needs no database, so ``manage.py colorize``
works on a machine with nothing but the repository.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from colorization.engine.inference import DEFAULT_MODEL_PATH

SHIPPED = {"base": DEFAULT_MODEL_PATH}


def base_model_path() -> Path:
    return Path(getattr(settings, "CHROMA_BASE_MODEL_PATH", DEFAULT_MODEL_PATH))


class UnknownModel(LookupError):
    pass


def resolve_model(spec: str | None) -> Path:
    """``None`` -> the base model; an existing file -> that file; a shipped slug -> its file."""
    if not spec or spec == "base":
        return base_model_path()
    path = Path(spec)
    if path.is_file():
        return path
    if spec in SHIPPED:
        return SHIPPED[spec]
    if path.suffix or "/" in spec:
        raise UnknownModel(f"model file not found: {spec}")
    raise UnknownModel(f"no model with the slug {spec!r}; known: {', '.join(sorted(SHIPPED))}")


def model_identity(metadata: dict, sha256: str | None) -> tuple[str, str]:
    """(name, version) for labels and embedded disclosure."""
    return metadata.get("slug", "custom"), metadata.get("version", (sha256 or "unknown")[:12])
