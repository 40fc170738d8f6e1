"""Cost of the two per-version computations of issue 24, on one CPU thread (re-runnable).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/credentials_and_provenance.py

Signs a 1024×768 PNG and JPEG with a C2PA manifest and reads it back (colorization/credentials.py),
and computes the documented / inferred / model share at the 256 px working size
(colorization/engine/provenance.py). Prints the median of 5 runs of each. No database.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
torch.set_num_threads(1)


def median_ms(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    import django
    from django.conf import settings

    settings.configure()  # credentials reads settings only through signing_material, not used here
    django.setup()
    from colorization import credentials
    from colorization.engine.imageio import encode
    from colorization.engine.provenance import hint_influence

    rng = np.random.default_rng(0)
    rgb = (rng.random((768, 1024, 3)) * 255).astype(np.uint8)
    claims = credentials.Claims(
        title="x", original_sha256="ab" * 32, original_format="JPEG", model_slug="base", model_version="1"
    )
    material = credentials._dev_material(Path(tempfile.mkdtemp()) / "c2pa")
    for fmt in ("png", "jpg"):
        data = encode(rgb, "jpeg" if fmt == "jpg" else "png", {"model": "base"})
        signed = credentials.sign(data, fmt, claims, material)
        sign_ms = median_ms(lambda data=data, fmt=fmt: credentials.sign(data, fmt, claims, material))
        read_ms = median_ms(lambda signed=signed, fmt=fmt: credentials.read_back(signed, fmt, material))
        print(f"c2pa {fmt} 1024x768 ({len(data) // 1024} KiB): sign {sign_ms:.1f} ms, read back {read_ms:.1f} ms")
    L = (rng.random((192, 256)) * 100).astype(np.float32)
    masks = {"documented": np.zeros_like(L), "inferred": np.zeros_like(L)}
    masks["documented"][40:60, 30:200] = 1
    masks["inferred"][120:130, 10:250] = 1
    chroma = rng.random((192, 256)).astype(np.float32) * 40
    ms = median_ms(lambda: hint_influence(L, masks, chroma))
    print(f"provenance share 256x192, two groups: {ms:.1f} ms")


if __name__ == "__main__":
    main()
