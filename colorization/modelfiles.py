"""Which model file a name refers to: a path, the slug of a shipped model, or a registered model.

"base" and file paths need no database, so ``manage.py colorize`` works on a machine with
nothing but the repository; any other name is looked up in the model registry (``ColorModel``
rows, by slug such as ``any-1900-1919-v2`` or bucket alias ``any-1900-1919``), whose files are
only returned after their sha256 matched the recorded one.
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
    model = registered_model(spec)
    from colorization.registry import verified_path

    return verified_path(model)


def registered_model(spec: str):
    """The ``ColorModel`` a slug names; UnknownModel when there is none (or no database to ask)."""
    from django.db import DatabaseError

    try:
        from colorization.registry import find_model

        model = find_model(spec)
    except (DatabaseError, RuntimeError) as exc:  # no database here, or database access refused (test harnesses)
        raise UnknownModel(f"no model with the slug {spec!r} (the model registry is unavailable: {exc})") from exc
    if model is None:
        raise UnknownModel(f"no model with the slug {spec!r}; see /models/ for the registered ones, or give a file")
    return model


def model_identity(metadata: dict, sha256: str | None) -> tuple[str, str]:
    """(name, version) for labels and embedded disclosure."""
    return metadata.get("slug", "custom"), metadata.get("version", (sha256 or "unknown")[:12])
