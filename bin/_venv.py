"""Create the project's virtual environment and install the project into it, once per change."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"


def ensure_venv(extras: str) -> Path:
    if sys.version_info[:2] != (3, 11):
        print(f"Chroma Commons targets Python 3.11; this is {sys.version.split()[0]}.", file=sys.stderr)
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    spec = f".[{extras}]" if extras else "."
    stamp = VENV / f".installed-{extras or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + spec.encode()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        print(f"Installing {spec} into {VENV} ...", flush=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "-e", spec], cwd=ROOT, check=True)
        stamp.write_text(digest)
    return python
