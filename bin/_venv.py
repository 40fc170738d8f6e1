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
    # The dev extra holds everything the base install does: after `bin/test`, `bin/run` installs nothing.
    if not any(_installed(candidate) for candidate in dict.fromkeys([extras, "dev"])):
        print(f"Installing {spec} into {VENV} ...", flush=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "-e", spec], cwd=ROOT, check=True)
        _stamp(extras).write_text(_digest(extras))
    return python


def _stamp(extras: str) -> Path:
    return VENV / f".installed-{extras or 'base'}"


def _digest(extras: str) -> str:
    spec = f".[{extras}]" if extras else "."
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + spec.encode()).hexdigest()


def _installed(extras: str) -> bool:
    stamp = _stamp(extras)
    return stamp.exists() and stamp.read_text() == _digest(extras)
