"""Round-trip latency of the editor's live preview, through the real HTTP endpoint.

    python benchmarks/preview_latency.py [--runs 30] [--hints 0,2,10,50,200] [--busy 0]
    python benchmarks/preview_latency.py --compare      # web thread settings vs torch's defaults

A throwaway installation (SQLite, media and broker folder in a temporary directory) is
served by Django's threaded live server; requests are what the editor sends:
``POST /api/v1/photos/{id}/preview/`` with token authentication, ``Accept: image/png``,
JSON hints in original pixels, on a photograph (at most 1200 px) from ../shared/data/bw (a generated
scene when that folder is missing). Each request moves one hint, as a volunteer dragging
it would. The round trip includes parsing, validation, rasterizing, the network, the
guided upsampling to ≤ 512 px, PNG encoding and the socket.

The web process's thread settings come from ``config.wsgi`` (imported first, as gunicorn
does): no OpenMP busy-waiting, one torch thread. ``--torch-defaults`` measures without
them; ``--compare`` runs both in fresh processes (the variables only count before torch
is imported). ``--busy N`` runs N processes of a worker's kind of work (full-resolution
colorizations with torch's default threads) alongside, as on a host that also runs Celery.
Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_PHOTO = ROOT.parent / "shared" / "data" / "bw" / "Detroit_circa_1915.jpg"
TARGET_P50_MS = 250.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="timed requests per hint count")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--hints", default="0,2,10,50,200", help="comma-separated hint counts")
    parser.add_argument("--render-size", type=int, default=None, help="the request's render_size (default: server's)")
    parser.add_argument(
        "--global-hint", action="store_true", help="every request also gives an overall colour (a 16-colour palette)"
    )
    parser.add_argument("--busy", type=int, default=0, help="background processes colorizing full-size photos")
    parser.add_argument("--torch-defaults", action="store_true", help="skip the web thread settings")
    parser.add_argument("--compare", action="store_true", help="web settings and torch defaults, fresh processes")
    parser.add_argument("--json-only", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def setup_environment(folder: Path, torch_defaults: bool) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CHROMA_VAR_DIR": str(folder),
            "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
            "MEDIA_ROOT": str(folder / "media"),
            "CELERY_BROKER_URL": "filesystem://",
            "CHROMA_PREVIEW_RATE": "100000/hour",
        }
    )
    for name in ("queue", "processed", "control"):
        (folder / "broker" / name).mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    if torch_defaults:
        import django

        django.setup()
    else:
        import config.wsgi  # noqa: F401 - the web process's thread settings, then Django


def photo_bytes() -> bytes:
    import numpy as np
    from PIL import Image

    if SHARED_PHOTO.exists():
        im = Image.open(SHARED_PHOTO).convert("L")
        im.thumbnail((1200, 1200), Image.Resampling.LANCZOS)
    else:
        rng = np.random.default_rng(0)
        y, x = np.mgrid[0:800, 0:1200]
        arr = 128 + 60 * np.sin(x / 37) * np.cos(y / 23) + rng.normal(0, 8, (800, 1200))
        im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=92)
    return buf.getvalue()


# A reference photograph's palette as the editor sends it (16 colours, the most the editor extracts).
GLOBAL_HINT = {
    "palette": [
        {"color": f"#{(40 + 13 * k) % 256:02x}{(90 + 29 * k) % 256:02x}{(160 + 37 * k) % 256:02x}", "weight": 1 + k}
        for k in range(16)
    ],
    "source": {"kind": "reference", "name": "benchmark.jpg"},
}


def make_hints(n: int, width: int, height: int, seed: int, moved: int) -> dict:
    import numpy as np

    rng = np.random.default_rng(seed)
    points = [
        {
            "x": int(rng.integers(0, width)),
            "y": int(rng.integers(0, height)),
            "color": "#{:02x}{:02x}{:02x}".format(*rng.integers(0, 256, 3)),
            "size": int(rng.integers(1, 10)),
        }
        for _ in range(n)
    ]
    if points:  # a volunteer dragging the first hint
        points[0]["x"] = (points[0]["x"] + 7 * moved) % width
    return {"points": points, "strokes": []}


def busy_worker_loop(model_path: str) -> None:
    """A worker's kind of load: full-resolution colorizations back to back, torch's default threads."""
    import numpy as np

    from colorization.engine.inference import Colorizer

    colorizer = Colorizer.load(model_path)
    L = np.random.default_rng(1).uniform(0, 100, (1334, 2000)).astype(np.float32)
    while True:
        colorizer.colorize(L, render_size=224)


def start_busy(n: int) -> list[subprocess.Popen]:
    from django.conf import settings

    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
        f"sys.argv = ['busy']; import benchmarks.preview_latency as b; "
        f"b.busy_worker_loop({str(settings.CHROMA_BASE_MODEL_PATH)!r})"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    return [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env) for _ in range(n)]


def measure(args: argparse.Namespace) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="preview-latency-"))
    setup_environment(folder, args.torch_defaults)

    import http.client

    import torch
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test.testcases import LiveServerThread, _StaticFilesHandler
    from rest_framework.authtoken.models import Token

    from colorization.services import photo_upload
    from community.accounts.services import profile_for

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    profile_for(user)
    token = Token.objects.create(user=user).key
    photo = photo_upload(
        owner=user,
        file=SimpleUploadedFile("street.jpg", photo_bytes(), content_type="image/jpeg"),
        filename="street.jpg",
        metadata={"title": "Benchmark street"},
    ).photo

    server = LiveServerThread("127.0.0.1", _StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    busy = start_busy(args.busy)
    rows = []
    try:
        if busy:
            time.sleep(3)  # let them load the model and start working
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "image/png"}
        url = f"/api/v1/photos/{photo.pk}/preview/"
        for n in [int(v) for v in args.hints.split(",")]:
            times = []
            size = None
            for i in range(args.warmup + args.runs):
                body = {"hints": make_hints(n, photo.width, photo.height, seed=n, moved=i)}
                if args.global_hint:
                    body["hints"]["global"] = GLOBAL_HINT
                if args.render_size:
                    body["render_size"] = args.render_size
                payload = json.dumps(body)
                t0 = time.perf_counter()
                conn.request("POST", url, payload, headers)
                response = conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - t0
                if response.status != 200:
                    raise SystemExit(f"preview failed with {response.status}: {data[:300]!r}")
                if i >= args.warmup:
                    times.append(elapsed * 1000)
                if size is None:
                    from PIL import Image

                    size = Image.open(io.BytesIO(data)).size
            times.sort()
            rows.append(
                {
                    "hints": n,
                    "p50_ms": round(statistics.median(times), 1),
                    "p95_ms": round(times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], 1),
                    "min_ms": round(times[0], 1),
                    "preview_px": list(size),
                }
            )
        conn.close()
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
        server.terminate()
    all_p50 = statistics.median(r["p50_ms"] for r in rows)
    return {
        "benchmark": "preview_latency",
        "config": "torch-defaults" if args.torch_defaults else "web",
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(default)"),
        "torch_threads": torch.get_num_threads(),
        "busy_processes": args.busy,
        "photo_px": [photo.width, photo.height],
        "render_size": args.render_size or "server default",
        "global_hint": bool(args.global_hint),
        "runs": args.runs,
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "cpus": os.cpu_count(),
        "rows": rows,
        "p50_ms": all_p50,
        "target_p50_ms": TARGET_P50_MS,
        "meets_target": all(r["p50_ms"] <= TARGET_P50_MS for r in rows),
    }


def print_table(result: dict) -> None:
    print(
        f"\nPreview round trip, {result['config']} threads (OMP_WAIT_POLICY={result['omp_wait_policy']}, "
        f"torch threads {result['torch_threads']}), photo {result['photo_px'][0]}×{result['photo_px'][1]}, "
        f"{result['busy_processes']} busy worker process(es), load average after {result['load_average_after']}"
    )
    print(f"{'hints':>6} {'preview':>9} {'p50 ms':>8} {'p95 ms':>8} {'min ms':>8}  target p50 ≤ {TARGET_P50_MS:.0f} ms")
    for r in result["rows"]:
        px = "×".join(str(v) for v in r["preview_px"])
        ok = "ok" if r["p50_ms"] <= TARGET_P50_MS else "MISSED"
        print(f"{r['hints']:>6} {px:>9} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['min_ms']:>8.1f}  {ok}")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.compare:
        results = []
        for flag in ([], ["--torch-defaults"]):
            passed = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--compare"]
            out = subprocess.run(
                [sys.executable, __file__, *passed, *flag, "--json-only"], cwd=ROOT, capture_output=True, text=True
            )
            if out.returncode != 0:
                print(out.stderr, file=sys.stderr)
                return out.returncode
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        for result in results:
            print_table(result)
        print(json.dumps({"benchmark": "preview_latency", "compare": results}))
        return 0 if results[0]["meets_target"] else 1
    result = measure(args)
    if not args.json_only:
        print_table(result)
    print(json.dumps(result))
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
