"""Drafts per minute through a real Celery worker and broker, with and without batching,
and the latency from an upload's response to its draft being done.

    python benchmarks/draft_throughput.py [--photos 24] [--broker redis://127.0.0.1:6379/15]

Everything runs in a throwaway folder (SQLite database, media, beat-less worker); the
broker defaults to the local Redis (database 15). Photos are 1-megapixel greyscale
scenes made from ../shared/data/bw when present, otherwise generated.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED_BW = ROOT.parent / "shared" / "data" / "bw"


def one_megapixel_photos(n: int) -> list[bytes]:
    sources = sorted(SHARED_BW.glob("*.jpg")) if SHARED_BW.is_dir() else []
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        if sources:
            im = Image.open(sources[i % len(sources)]).convert("L").resize((1200, 834), Image.Resampling.LANCZOS)
            arr = np.asarray(im, dtype=np.int16) + rng.integers(-3, 4, size=(834, 1200))  # distinct bytes per copy
            im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        else:
            im = Image.fromarray(rng.integers(0, 255, size=(834, 1200), dtype=np.uint8))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


class Platform:
    """A throwaway installation: its own database, media and broker database."""

    model: str | None = None  # CHROMA_BASE_MODEL_PATH override (default: the shipped base model)

    def __init__(self, folder: Path, broker: str, batch_max: int):
        self.folder = folder
        self.env = {
            **os.environ,
            **({"CHROMA_BASE_MODEL_PATH": self.model} if self.model else {}),
            "CHROMA_VAR_DIR": str(folder),
            "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
            "MEDIA_ROOT": str(folder / "media"),
            "CELERY_BROKER_URL": broker,
            "CHROMA_DRAFT_BATCH_MAX": str(batch_max),
            "CHROMA_INFERENCE_QUEUE": "gpu",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",
        }
        self.worker: subprocess.Popen | None = None

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, capture_output=True)

    def start_worker(self) -> None:
        log = open(self.folder / "worker.log", "a")  # noqa: SIM115 - lives as long as the worker
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "gpu,cpu,default", "--concurrency", "1",
             "-l", "warning", "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def stop_worker(self) -> None:
        if self.worker and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGTERM)
            self.worker.wait(timeout=60)


def run_in_django(env: dict, code: str) -> dict:
    """Run a snippet inside the throwaway installation and return the JSON it prints last."""
    prelude = "import django, json; django.setup()\n"
    out = subprocess.run(
        [sys.executable, "-c", prelude + code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


UPLOAD = """
import sys
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from colorization.services import photo_upload
user, _ = get_user_model().objects.get_or_create(username="bench")
ids = []
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    with transaction.atomic():
        result = photo_upload(owner=user, file=SimpleUploadedFile("p.jpg", data), metadata={"title": "bench"})
    ids.append(result.photo.drafts.get().pk)
print(json.dumps({"drafts": ids}))
"""

STATUS = """
from colorization.models import Draft
rows = list(Draft.objects.values("pk", "status", "created_at", "started_at", "finished_at", "batch_size"))
for r in rows:
    for k in ("created_at", "started_at", "finished_at"):
        r[k] = r[k].timestamp() if r[k] else None
print(json.dumps({"rows": rows}))
"""


def upload(env: dict, files: list[Path]) -> list[int]:
    out = subprocess.run(
        [sys.executable, "-c", "import django, json; django.setup()\n" + UPLOAD, *map(str, files)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode:
        raise RuntimeError(f"upload failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["drafts"]


def wait_done(env: dict, ids: set[int], timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [r for r in run_in_django(env, STATUS)["rows"] if r["pk"] in ids]
        if all(r["status"] in ("done", "failed") for r in rows):
            return rows
        time.sleep(1.0)
    raise TimeoutError(f"drafts not done within {timeout} s")


def throughput(broker: str, photos: list[bytes], batch_max: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        platform = Platform(folder, broker, batch_max)
        platform.manage("migrate", "--no-input")
        files = []
        for i, data in enumerate(photos):
            path = folder / f"p{i}.jpg"
            path.write_bytes(data)
            files.append(path)
        ids = set(upload(platform.env, files))  # queued while no worker runs
        platform.start_worker()
        try:
            rows = wait_done(platform.env, ids, timeout=1800)
        finally:
            platform.stop_worker()
    start = min(r["started_at"] for r in rows if r["started_at"])
    end = max(r["finished_at"] for r in rows)
    failed = sum(r["status"] == "failed" for r in rows)
    return {
        "batch_max": batch_max,
        "drafts": len(rows),
        "failed": failed,
        "seconds": round(end - start, 1),
        "drafts_per_minute": round(60 * (len(rows) - failed) / (end - start), 1),
        "mean_batch": round(statistics.mean(r["batch_size"] or 1 for r in rows), 2),
    }


def latency(broker: str, photos: list[bytes]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        platform = Platform(folder, broker, batch_max=1)
        platform.manage("migrate", "--no-input")
        platform.start_worker()
        time.sleep(15)  # let the worker start and load its libraries: measure an idle, warm system
        seconds = []
        try:
            for i, data in enumerate(photos):
                path = folder / f"l{i}.jpg"
                path.write_bytes(data)
                (draft_id,) = upload(platform.env, [path])
                (row,) = wait_done(platform.env, {draft_id}, timeout=300)
                seconds.append(row["finished_at"] - row["created_at"])
        finally:
            platform.stop_worker()
    seconds.sort()
    return {
        "photos": len(seconds),
        "p50_s": round(statistics.median(seconds), 2),
        "p95_s": round(seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))], 2),
        "note": "from the draft's creation (the upload's commit, just before its response) to its finished_at",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--latency-photos", type=int, default=10)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--batch-max", type=int, default=8)
    parser.add_argument("--model", help="a .safetensors file instead of the shipped base model")
    args = parser.parse_args()
    Platform.model = args.model
    photos = one_megapixel_photos(args.photos)
    results = {
        "unbatched": throughput(args.broker, photos, 1),
        "batched": throughput(args.broker, photos, args.batch_max),
        "latency": latency(args.broker, one_megapixel_photos(args.latency_photos)),
    }
    gain = results["batched"]["drafts_per_minute"] / results["unbatched"]["drafts_per_minute"]
    print(f"unbatched: {results['unbatched']['drafts_per_minute']} drafts/min")
    print(f"batched (max {args.batch_max}): {results['batched']['drafts_per_minute']} drafts/min ({gain:.2f}x)")
    print(f"latency upload -> done: p50 {results['latency']['p50_s']} s, p95 {results['latency']['p95_s']} s")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
