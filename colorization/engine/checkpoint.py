"""Model files: safetensors weights whose metadata carries the network config.

Nothing here unpickles: a checkpoint is tensors plus JSON strings, so a model
file from an untrusted source cannot run code when it is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .network import ColorNet, NetworkConfig

FORMAT = "chroma-commons-colornet/1"


class CheckpointError(ValueError):
    """A model file is missing, malformed, or not what it claims to be."""


def save_checkpoint(model: ColorNet, path: Path, metadata: dict[str, str] | None = None) -> str:
    """Write ``model`` atomically to ``path``; return the file's sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "config": json.dumps(model.config.to_dict())}
    meta.update({k: str(v) for k, v in (metadata or {}).items()})
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, path)
    return sha256_of(path)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=64)
def _model_sha256(path: str, mtime_ns: int, size: int) -> str:
    return sha256_of(Path(path))


def model_sha256(path: Path) -> str:
    """A model file's sha256, hashed once per version of the file (workers ask for it per draft)."""
    stat = Path(path).stat()
    return _model_sha256(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


def read_metadata(path: Path) -> dict[str, str]:
    """A checkpoint's metadata without reading its tensors."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return f.metadata() or {}
    except Exception as exc:  # safetensors raises several error types for bad files
        raise CheckpointError(f"not a safetensors model file: {path} ({exc})") from exc


def load_state_dict(
    path: Path, expected_sha256: str | None = None
) -> tuple[dict[str, torch.Tensor], NetworkConfig, dict[str, str]]:
    """Read weights, config and metadata from a safetensors checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"model file not found: {path}")
    if expected_sha256 is not None and sha256_of(path) != expected_sha256:
        raise CheckpointError(f"model file {path} does not match its recorded sha256")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no iterator)
    except Exception as exc:  # safetensors raises several error types for bad files
        raise CheckpointError(f"not a safetensors model file: {path} ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a Chroma Commons model (format {meta.get('format')!r})")
    config = NetworkConfig.from_dict(json.loads(meta["config"]))
    return state, config, meta


def load_model(path: Path, expected_sha256: str | None = None) -> tuple[ColorNet, dict[str, str]]:
    state, config, meta = load_state_dict(path, expected_sha256)
    model = ColorNet(config)
    model.load_state_dict(state)
    model.eval()
    return model, meta


def average_checkpoints(paths: list[Path], out: Path, metadata: dict[str, str] | None = None) -> str:
    """Average the weights of fine-tunes of one parent into ``out`` (a "model soup", Wortsman et al.
    2022): runs from the same start differ mostly by noise, and their mean keeps what they share.

    Every file must have the same network config. Float tensors (BatchNorm statistics included) are
    averaged; integer counters are taken from the first. Returns the new file's sha256.
    """
    if not paths:
        raise ValueError("nothing to average")
    states, configs = [], set()
    for path in paths:
        state, config, _ = load_state_dict(path)
        states.append(state)
        configs.add(json.dumps(config.to_dict(), sort_keys=True))
    if len(configs) != 1:
        raise CheckpointError("checkpoints with different network configs cannot be averaged")
    model = ColorNet(config)
    model.load_state_dict(
        {
            k: torch.stack([s[k].float() for s in states]).mean(0).to(v.dtype) if v.is_floating_point() else v
            for k, v in states[0].items()
        }
    )
    return save_checkpoint(model, out, metadata)
