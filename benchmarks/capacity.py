"""Capacity: drafts per hour per worker process, and the scaling from one worker process to two,
on the production stack of this machine: PostgreSQL, Redis and an S3 server (moto).

    python benchmarks/capacity.py [--photos 48] [--workers 1,2] [--threads 1] [--repeat 1]
        [--database-url postgres://postgres@127.0.0.1:5432/chroma_capacity]
        [--broker redis://127.0.0.1:6379/15] [--out benchmarks/results/capacity.json]

For each worker count: a fresh database (dropped and created), a fresh bucket on a moto server of its
own, N one-megapixel photos uploaded through the service (``photo_upload``, so the originals go to S3
and the drafts are queued on Redis) while no worker runs; then K Celery worker processes (one pool
process each, ``OMP_NUM_THREADS=--threads``, all queues) start together, and the drafts per hour is
N over the time from the first draft's start to the last one's finish (worker start-up excluded).
Each draft reads its original from S3, renders at the default 224 px with the shipped base model
(batches of up to CHROMA_DRAFT_BATCH_MAX), and writes PNG, JPEG and thumbnail back to S3.

The machine's load average is printed before and after each run: other work on the same cores
makes the figures lower and scaling look worse; rerun on a quiet machine for the real numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.draft_throughput import UPLOAD, one_megapixel_photos, run_in_django  # noqa: E402

STATUS = """
from colorization.models import Draft
rows = list(Draft.objects.values("pk", "status", "started_at", "finished_at", "batch_size", "worker", "error"))
for r in rows:
    for k in ("started_at", "finished_at"):
        r[k] = r[k].timestamp() if r[k] else None
print(json.dumps({"rows": rows}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = dict(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username, password=parsed.password)
    with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class Stack:
    """PostgreSQL database + Redis db + a moto S3 server with one bucket, and workers on them."""

    def __init__(self, folder: Path, database_url: str, broker: str, threads: int):
        self.folder, self.procs = folder, []
        self.s3_port = free_port()
        self.env = {
            **os.environ,
            "CHROMA_VAR_DIR": str(folder),
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker,
            "AWS_STORAGE_BUCKET_NAME": "capacity",
            "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{self.s3_port}",
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_ACCESS_KEY_ID": "capacity",
            "AWS_SECRET_ACCESS_KEY": "capacity",
            "CHROMA_INFERENCE_QUEUE": "gpu",
            "OMP_NUM_THREADS": str(threads),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",
        }

    def start_s3(self) -> None:
        log = open(self.folder / "moto.log", "w")  # noqa: SIM115 - lives as long as the server
        self.moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.s3_port)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.procs.append(self.moto)
        import boto3

        deadline = time.monotonic() + 60
        while True:
            try:
                boto3.client("s3", endpoint_url=self.env["AWS_S3_ENDPOINT_URL"], region_name="us-east-1",
                             aws_access_key_id="capacity", aws_secret_access_key="capacity").create_bucket(
                    Bucket="capacity")  # fmt: skip
                return
            except Exception:  # not up yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, capture_output=True)

    def upload(self, files: list[Path]) -> list[int]:
        out = subprocess.run(
            [sys.executable, "-c", "import django, json; django.setup()\n" + UPLOAD, *map(str, files)],
            cwd=ROOT, env=self.env, capture_output=True, text=True,
        )  # fmt: skip
        if out.returncode:
            raise RuntimeError(f"upload failed:\n{out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])["drafts"]

    def start_workers(self, n: int) -> None:
        for i in range(n):
            log = open(self.folder / f"worker{i}.log", "w")  # noqa: SIM115 - lives as long as the worker
            command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "gpu,cpu,default",
                       "--concurrency", "1", "-n", f"capacity{i}@%h", "-l", "warning", "--without-mingle",
                       "--without-gossip"]  # fmt: skip
            proc = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            self.procs.append(proc)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def purge_broker(broker: str) -> None:
    import redis

    client = redis.Redis.from_url(broker, socket_timeout=5)
    client.flushdb()  # the benchmark's own Redis database (default 15), never the application's
    client.close()


def measure(args, photos: list[Path], workers: int) -> dict:
    recreate_database(args.database_url)
    purge_broker(args.broker)
    with tempfile.TemporaryDirectory(prefix="capacity-") as tmp:
        stack = Stack(Path(tmp), args.database_url, args.broker, args.threads)
        try:
            stack.start_s3()
            stack.manage("migrate", "--no-input")
            ids = set(stack.upload(photos))
            load_before = load()
            stack.start_workers(workers)
            deadline = time.monotonic() + args.timeout
            while True:
                rows = [r for r in run_in_django(stack.env, STATUS)["rows"] if r["pk"] in ids]
                if all(r["status"] in ("done", "failed") for r in rows):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"drafts not done within {args.timeout} s")
                time.sleep(1.0)
            load_after = load()
        finally:
            stack.stop()
    done = [r for r in rows if r["status"] == "done"]
    start = min(r["started_at"] for r in rows if r["started_at"])
    end = max(r["finished_at"] for r in rows if r["finished_at"])
    seconds = end - start
    return {
        "workers": workers,
        "drafts": len(rows),
        "failed": len(rows) - len(done),
        "errors": sorted({r["error"][:200] for r in rows if r["error"]})[:3],
        "seconds": round(seconds, 1),
        "drafts_per_hour": round(3600 * len(done) / seconds),
        "drafts_per_hour_per_worker": round(3600 * len(done) / seconds / workers),
        "mean_batch": round(sum(r["batch_size"] or 1 for r in done) / max(1, len(done)), 2),
        "load_before": load_before,
        "load_after": load_after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--workers", default="1,2", help="worker process counts to measure, in order")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker process")
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count (alternating)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/chroma_capacity")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()

    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="capacity-photos-") as tmp:
        photos = []
        for i, data in enumerate(one_megapixel_photos(args.photos)):
            path = Path(tmp) / f"p{i}.jpg"
            path.write_bytes(data)
            photos.append(path)
        runs = []
        for _ in range(args.repeat):
            for n in counts:
                result = measure(args, photos, n)
                runs.append(result)
                print(
                    f"{n} worker process(es): {result['drafts_per_hour']} drafts/h "
                    f"({result['drafts_per_hour_per_worker']}/h per process), {result['drafts']} drafts in "
                    f"{result['seconds']} s, mean batch {result['mean_batch']}, failed {result['failed']}, "
                    f"load {result['load_before']} -> {result['load_after']}",
                    flush=True,
                )
    best = {n: max(r["drafts_per_hour"] for r in runs if r["workers"] == n) for n in counts}
    summary = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{host.processor() or host.machine()}, {os.cpu_count()} logical CPUs",
        "threads_per_worker": args.threads,
        "photos": args.photos,
        "runs": runs,
        "best_drafts_per_hour": best,
    }
    if len(counts) >= 2 and best[counts[0]]:
        summary["scaling"] = round(best[counts[-1]] / best[counts[0]], 2)
        print(f"scaling {counts[0]} -> {counts[-1]} worker processes: {summary['scaling']}x")
    print(json.dumps(summary))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
