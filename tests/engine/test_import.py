"""The engine is a plain library: importing it must not pull in Django."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "checkpoint",
    "color",
    "hints",
    "imageio",
    "inference",
    "metrics",
    "network",
    "precision",
    "propagation",
    "provenance",
    "training",
    "video",
]


def test_importing_the_engine_leaves_django_out():
    code = (
        "import sys\n"
        "import colorization.engine\n"
        + "".join(f"import colorization.engine.{m}\n" for m in MODULES)
        + "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
