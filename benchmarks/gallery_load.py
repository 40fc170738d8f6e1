"""Load test of the gallery, photo, correction and review pages at 100,000 photos (issues 8 and 25).

    python benchmarks/gallery_load.py [--photos 100000] [--duration 30] [--connections 64]
                                      [--workers 3] [--worker-class sync] [--threads 1] [--database chroma_bench]

1. Creates (once) a separate PostgreSQL database (default ``chroma_bench`` on 127.0.0.1:5432,
   user postgres; ``--server`` changes it), migrates it and seeds ``--photos`` generated photos with
   ``bulk_create`` (all sharing a few thumbnail files), their gallery entries, and one photo with a
   real history (drafts, corrections, votes, a decision) for the photo page.
2. Prints ``EXPLAIN ANALYZE`` of the gallery's queries: first page, a page 50,000 photos deep
   (keyset), genre + decade, full-text search, most endorsed.
3. Runs the site under gunicorn (production settings; by default the deployment's 3 sync workers,
   ``--worker-class gthread --workers 2 --threads 32`` for the threaded layout) and loads each URL with
   wrk at ``--connections`` connections for ``--duration`` seconds: throughput, p50, p99, errors,
   with the load average (the CPU may be shared). Cached (the anonymous page cache, as deployed)
   and uncached (CHROMA_PAGE_CACHE_SECONDS=0: every request renders from the database).
4. Signed in (a session cookie of a reviewer): the gallery, the photo page, a correction page and the
   review queue, as deployed (signed-in visitors never get the page cache). Every response carries
   ``Server-Timing: cpu;dur=…`` (CHROMA_SERVER_TIMING, thread CPU time), averaged per page by a wrk
   script: the CPU milliseconds per render beside req/s.

Needs wrk (apt-get install wrk) and a PostgreSQL server; gunicorn is taken from next to the Python
that runs this script. ``--cache-url redis://…`` gives the workers one shared cache (as a
deployment with several processes should have; it turns on the shared fragments of signed-in pages).
Prints a table and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = ROOT / "var" / "bench-gallery"
PLACES = [
    "Detroit",
    "Paris",
    "Hamburg",
    "Leeds",
    "Wales",
    "Nipomo, California",
    "New York",
    "Chicago",
    "Vienna",
    "Glasgow",
    "Lyon",
    "Boston",
    "Naples",
    "Liverpool",
    "Berlin",
    "Kraków",
    "Dublin",
    "Oslo",
    "Seville",
    "Porto",
]
ARCHIVES = [
    "Library of Congress",
    "Gallica",
    "People's Collection Wales",
    "Nationaal Archief",
    "Europeana",
    "Wellcome Collection",
    "State Library Victoria",
    "",
]
COMMUNITY_LABEL = "Community version · AI-colorized with volunteer hints · model base v1 · colours are an estimate"
WORDS = [
    "harbour",
    "tram",
    "market",
    "street",
    "children",
    "factory",
    "wedding",
    "station",
    "bridge",
    "soldiers",
    "parade",
    "farm",
    "miners",
    "shop",
    "church",
    "school",
    "river",
    "workers",
    "horses",
    "crowd",
]


def env_for(args, **extra) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": f"{args.server}/{args.database}",
        "CHROMA_VAR_DIR": str(VAR),
        "CHROMA_ENV": "production",
        "SECRET_KEY": "benchmark-only-not-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on the loopback: no redirect to https
        "LOG_LEVEL": "WARNING",
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "filesystem://"),
        "CHROMA_ALLOW_FILESYSTEM_BROKER": "true",  # one host on purpose (production refuses it otherwise)
        "PYTHONUNBUFFERED": "1",
    }
    if getattr(args, "cache_url", ""):
        env["CHROMA_CACHE_URL"] = args.cache_url  # shared by the workers: fragments for signed-in pages
    env.update(extra)
    return env


def python() -> str:
    return sys.executable


def gunicorn() -> str:
    """gunicorn installed next to the running Python (a virtualenv's bin, a container's /usr/local/bin)."""
    beside = Path(sys.executable).parent / "gunicorn"
    found = str(beside) if beside.exists() else shutil.which("gunicorn")
    if not found:
        raise SystemExit(f"gunicorn is not installed next to {sys.executable} (pip install gunicorn)")
    return found


def ensure_database(args) -> None:
    import psycopg

    with psycopg.connect(f"{args.server}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.database,)).fetchone()
        if exists and args.fresh:
            conn.execute(f'DROP DATABASE "{args.database}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{args.database}"')
            print(f"created database {args.database}")


def setup_django(args) -> None:
    os.environ.update(env_for(args))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def seed(args) -> int:
    """Seed the photos (idempotent: tops up to --photos). Returns the showcase photo's id."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone
    from PIL import Image

    from colorization.models import Draft, DraftPurpose, DraftStatus, Photo
    from community.models import Correction, CorrectionKind, Evidence, GalleryEntry, GalleryVersion, Vote

    media = Path(settings.MEDIA_ROOT) / "bench"
    media.mkdir(parents=True, exist_ok=True)
    rng = random.Random(8)
    for k in range(8):  # shared files: every generated photo points at one of these
        path = media / f"thumb-{k}.jpg"
        if not path.exists():
            Image.new("RGB", (240, 180), (60 + 20 * k, 80, 100)).save(path, "JPEG")
    original = media / "original.jpg"
    if not original.exists():
        Image.new("L", (1200, 900), 128).save(original, "JPEG")
    User = get_user_model()
    owner, _ = User.objects.get_or_create(username="bench-archive")
    have = Photo.objects.count()
    genres = settings.CHROMA_GENRES
    now = timezone.now()
    started = time.perf_counter()
    batch = 5000
    while have < args.photos:
        n = min(batch, args.photos - have)
        photos = []
        for i in range(have, have + n):
            year = rng.randint(1850, 1999)
            place = rng.choice(PLACES)
            words = rng.sample(WORDS, 3)
            photos.append(
                Photo(
                    owner=owner,
                    title=f"{words[0].capitalize()} in {place} #{i}",
                    description=f"{words[1]} and {words[2]}, {place}, about {year}",
                    year_from=year,
                    year_to=year + rng.choice([0, 0, 0, 1, 5]),
                    genre=rng.choice(genres),
                    place=place,
                    source_archive=rng.choice(ARCHIVES),
                    source_reference=f"BENCH-{i}",
                    licence="public-domain",
                    original="bench/original.jpg",
                    original_sha256=f"{i:064x}",
                    original_bytes=100_000,
                    image_format="JPEG",
                    width=1200,
                    height=900,
                    thumbnail=f"bench/thumb-{i % 8}.jpg",
                )
            )
        with transaction.atomic():
            created = Photo.objects.bulk_create(photos)
            entries = []
            for i, photo in enumerate(created, start=have):
                kind = rng.random()
                version = (
                    GalleryVersion.COMMUNITY
                    if kind < 0.05
                    else GalleryVersion.DRAFT
                    if kind < 0.8
                    else GalleryVersion.NONE
                )
                entries.append(
                    GalleryEntry(
                        photo=photo,
                        created_at=now - timedelta(minutes=args.photos - i),
                        genre=photo.genre,
                        place=photo.place,
                        source_archive=photo.source_archive,
                        year_from=photo.year_from,
                        year_to=photo.year_to,
                        search_text=f"{photo.title} {photo.description} {photo.place}".lower(),
                        version=version,
                        version_thumbnail="" if version == GalleryVersion.NONE else f"bench/thumb-{i % 8}.jpg",
                        version_label=(
                            COMMUNITY_LABEL
                            if version == GalleryVersion.COMMUNITY
                            else "AI-colorized · model base v1 · colours are an estimate"
                            if version == GalleryVersion.DRAFT
                            else ""
                        ),
                        endorsements=rng.randint(1, 40) if version == GalleryVersion.COMMUNITY else 0,
                        comments=rng.choice([0, 0, 0, 0, 1, 2, 5, 12]),
                    )
                )
            GalleryEntry.objects.bulk_create(entries)
        have += n
        print(f"  seeded {have}/{args.photos} photos ({time.perf_counter() - started:.0f} s)", flush=True)
    with connection.cursor() as cursor:  # upload times follow the entries (bulk_create sets auto_now_add)
        cursor.execute(
            "UPDATE colorization_photo p SET created_at = e.created_at FROM community_galleryentry e "
            "WHERE e.photo_id = p.id AND p.created_at <> e.created_at"
        )
        cursor.execute("ANALYZE")

    showcase = Photo.objects.filter(owner=owner).order_by("-id").first()
    if not showcase.drafts.exists():
        drafts = [
            Draft.objects.create(
                photo=showcase,
                status=DraftStatus.DONE,
                purpose=purpose,
                progress=100,
                stage="Done",
                model_slug="base",
                model_version="1",
                model_sha256="0" * 64,
                render_size=224,
                saturation=1.0,
                device="cpu",
                duration_ms=420,
                image=f"bench/thumb-{k}.jpg",
                image_jpeg=f"bench/thumb-{k}.jpg",
                thumbnail=f"bench/thumb-{k}.jpg",
                finished_at=timezone.now(),
            )
            for k, purpose in enumerate(
                [DraftPurpose.DRAFT, DraftPurpose.DRAFT, DraftPurpose.CORRECTION, DraftPurpose.CORRECTION]
            )
        ]
        voters = [User.objects.get_or_create(username=f"bench-voter-{k}")[0] for k in range(6)]
        for k, render in enumerate(drafts[2:]):
            correction = Correction.objects.create(
                photo=showcase,
                author=voters[k],
                kind=CorrectionKind.HINTS,
                base_draft=drafts[0],
                render=render,
                hints={"points": [{"x": 10, "y": 10, "color": "#aa3322", "size": 3}]},
                note="Livery from records",
                status="accepted" if k == 0 else "rejected",
                decided_at=timezone.now(),
                votes_up=4 - k * 3,
                votes_down=k * 3,
            )
            Evidence.objects.create(correction=correction, text="Company records, 1912", url="https://example.org/")
            for voter in voters[2:]:
                Vote.objects.create(
                    correction=correction,
                    voter=voter,
                    value=1 if k == 0 else -1,
                    weight=1.0,
                    comment="Agree with the evidence",
                )
        from community.gallery.entries import gallery_entry_refresh

        gallery_entry_refresh(photo_id=showcase.pk)
    return showcase.pk


REVIEWER = "bench-reviewer"


def seed_review(args, *, pending: int = 40) -> dict:
    """Pending corrections for the review queue and the correction page, and a signed-in reviewer
    (idempotent). Returns {"reviewer": user id, "correction": a pending correction with votes and
    evidence, "editor_draft": a draft to open in the editor}."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from colorization.models import Draft, DraftPurpose, DraftStatus, Photo
    from community.models import Correction, CorrectionKind, Evidence, Vote

    User = get_user_model()
    reviewer, _ = User.objects.get_or_create(username=REVIEWER)
    authors = [User.objects.get_or_create(username=f"bench-author-{k}")[0] for k in range(8)]
    voters = [User.objects.get_or_create(username=f"bench-voter-{k}")[0] for k in range(6)]
    owner = User.objects.get(username="bench-archive")
    have = Correction.objects.filter(status="pending", author__in=authors).count()
    photos = list(Photo.objects.filter(owner=owner).order_by("-id")[1 : 1 + pending])  # [0] is the showcase
    for k, photo in enumerate(photos[have:], start=have):
        base = Draft.objects.create(
            photo=photo,
            status=DraftStatus.DONE,
            purpose=DraftPurpose.DRAFT,
            progress=100,
            stage="Done",
            model_slug="base",
            model_version="1",
            model_sha256="0" * 64,
            render_size=224,
            saturation=1.0,
            device="cpu",
            duration_ms=400,
            image=f"bench/thumb-{k % 8}.jpg",
            image_jpeg=f"bench/thumb-{k % 8}.jpg",
            thumbnail=f"bench/thumb-{k % 8}.jpg",
            finished_at=timezone.now(),
        )
        render = Draft.objects.create(
            photo=photo,
            status=DraftStatus.DONE,
            purpose=DraftPurpose.CORRECTION,
            progress=100,
            stage="Done",
            model_slug="base",
            model_version="1",
            model_sha256="0" * 64,
            render_size=224,
            saturation=1.0,
            device="cpu",
            duration_ms=400,
            image=f"bench/thumb-{(k + 1) % 8}.jpg",
            image_jpeg=f"bench/thumb-{(k + 1) % 8}.jpg",
            thumbnail=f"bench/thumb-{(k + 1) % 8}.jpg",
            finished_at=timezone.now(),
        )
        points = [{"x": 10 + 7 * i, "y": 20 + 5 * i, "color": "#aa3322", "size": 3} for i in range(60)]
        correction = Correction.objects.create(
            photo=photo,
            author=authors[k % len(authors)],
            kind=CorrectionKind.HINTS,
            base_draft=base,
            render=render,
            hints={"points": points, "strokes": []},
            note="The livery follows the company's records of 1912; the awning was green.",
            votes_up=2,
            votes_down=1,
            weight_up=2.0,
            weight_down=1.0,
        )
        Evidence.objects.create(correction=correction, text="Company records, 1912", url="https://example.org/")
        for j, voter in enumerate(voters[:3]):
            vote = Vote.objects.create(
                correction=correction,
                voter=voter,
                value=1 if j < 2 else -1,
                weight=1.0,
                comment="I compared it with the catalogue.",
            )
            Evidence.objects.create(vote=vote, text="Catalogue, plate 4", url="https://example.org/plate-4")
    first = Correction.objects.filter(status="pending", author__in=authors).order_by("id").first()
    return {
        "reviewer": reviewer.pk,
        "correction": first.pk,
        "editor_draft": first.base_draft_id,
        "editor_photo": first.photo_id,
    }


def session_cookie(user_id: int) -> str:
    """A signed-in session for the user (as the login view would make), for the signed-in runs."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.get(pk=user_id)
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.set_expiry(7 * 24 * 3600)
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def deep_cursor() -> str:
    """The keyset cursor of a gallery page 50,000 photos deep."""
    from community.gallery.selectors import _encode_cursor
    from community.models import GalleryEntry

    deep = GalleryEntry.objects.filter(is_public=True).order_by("-created_at", "-photo_id")[50_000:50_001].first()
    return _encode_cursor(deep.created_at, deep.photo_id) if deep else ""


def explain(args) -> dict[str, str]:
    from django.db import connection

    from community.gallery.selectors import GalleryQuery, _encode_cursor, gallery_filter, gallery_page
    from community.models import GalleryEntry

    deep = GalleryEntry.objects.filter(is_public=True).order_by("-created_at", "-photo_id")[50_000:50_001].first()
    cursor = _encode_cursor(deep.created_at, deep.photo_id) if deep else ""
    cases = {
        "first page (newest)": (GalleryQuery(), ""),
        "50,000 deep (newest, keyset)": (GalleryQuery(), cursor),
        "genre=street & decade=1910": (GalleryQuery(genre="street", decade=1910), ""),
        "q=harbour": (GalleryQuery(q="harbour"), ""),
        "sort=endorsed": (GalleryQuery(sort="endorsed"), ""),
    }
    plans = {}
    captured = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    for name, (query, after) in cases.items():
        with connection.execute_wrapper(capture):
            gallery_page(query, after=after)
        sql, params = captured[-1]
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS OFF) " + sql, params)
            plan = "\n".join(row[0] for row in cur.fetchall())
        plans[name] = plan
        print(f"\n--- {name}\n{cur.mogrify(sql, params) if hasattr(cur, 'mogrify') else sql}\n{plan}")
    assert gallery_filter  # documented in community/gallery.py
    return {"deep_cursor": cursor, **plans}


def start_gunicorn(args, port: int, **env_extra) -> subprocess.Popen:
    log = open(VAR / f"gunicorn-{port}.log", "w")  # noqa: SIM115 - gunicorn writes to it while it runs
    proc = subprocess.Popen(
        [
            gunicorn(),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(args.workers),
            "-k",
            args.worker_class,
            "--threads",
            str(args.threads),
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env_for(args, **env_extra),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return proc
        except OSError:  # refused, reset or timed out while it boots
            time.sleep(0.5)
    stop(proc)
    raise SystemExit(f"gunicorn did not start; see {log.name}")


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


# Sums the Server-Timing CPU milliseconds of every response over wrk's threads.
CPU_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) cpu_sum = 0; cpu_count = 0 end
function response(status, headers, body)
  local timing = headers["Server-Timing"] or headers["server-timing"]
  if timing then
    local ms = timing:match("dur=([%d%.]+)")
    if ms then cpu_sum = cpu_sum + tonumber(ms); cpu_count = cpu_count + 1 end
  end
end
function done(summary, latency, requests)
  local total, count = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("cpu_sum"); count = count + thread:get("cpu_count")
  end
  io.write(string.format("CPU_MS %f %d\\n", total, count))
end
"""


TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_by_part(server_group: int) -> dict[str, float]:
    """CPU seconds used so far (user + system) by the gunicorn process group, PostgreSQL's and
    Redis's processes, and the whole machine (/proc; Linux only, else empty)."""
    parts = {"server": 0.0, "postgres": 0.0, "redis": 0.0}
    proc = Path("/proc")
    if not (proc / "stat").exists():
        return {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
        if int(fields[2]) == server_group:  # pgrp
            parts["server"] += seconds
        elif name.startswith("postgres"):
            parts["postgres"] += seconds
        elif name.startswith("redis-server"):
            parts["redis"] += seconds
    busy = [int(x) for x in (proc / "stat").read_text().split("\n")[0].split()[1:]]
    parts["machine"] = (sum(busy) - busy[3] - busy[4]) / TICK  # all but idle and iowait
    return parts


def wrk(url: str, args, cookie: str = "", server_group: int | None = None) -> dict:
    # Warm the page (and the cache) and check it answers 200 before loading it.
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200, f"{url}: {response.status}"
        if cookie:  # a signed-in page, not the login form or the anonymous page
            assert b'id="nav-notifications"' in response.read(), f"{url}: not signed in"
    script = VAR / "cpu.lua"
    script.write_text(CPU_SCRIPT)
    command = ["wrk", "-t", "2", "-c", str(args.connections), "-d", f"{args.duration}s", "--timeout", "5s"]
    command += ["--latency", "-s", str(script)] + (["-H", f"Cookie: {cookie}"] if cookie else []) + [url]
    load_before = os.getloadavg()[0]
    cpu_before = cpu_by_part(server_group) if server_group else {}
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_after = cpu_by_part(server_group) if server_group else {}
    load_after = os.getloadavg()[0]

    def latency(pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return round(float(value) * UNITS[unit], 2)

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    cpu = re.search(r"CPU_MS ([\d.]+) (\d+)", out)
    # Where the cores went, per request: the server's processes (gunicorn, Django, the WSGI layer),
    # the database and cache servers, wrk itself, and the whole machine.
    per_request = {}
    if cpu_before and requests:
        used = {k: cpu_after[k] - cpu_before[k] for k in cpu_before}
        used["wrk"] = (children_after.ru_utime + children_after.ru_stime) - (
            children_before.ru_utime + children_before.ru_stime
        )
        per_request = {f"{k}_cpu_ms_per_request": round(1000 * v / requests, 2) for k, v in used.items()}
    return {
        "url": url,
        "requests": requests,
        "cpu_ms_per_render": round(float(cpu.group(1)) / int(cpu.group(2)), 2) if cpu and int(cpu.group(2)) else None,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(x) for x in socket.groups()) if socket else 0,
        "load_avg_1m": [round(load_before, 2), round(load_after, 2)],
        **per_request,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=64)
    # The deployment's web tier (platform/Containerfile, platform/k8s/web.yaml): 3 sync workers.
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    parser.add_argument("--worker-class", default="sync", help="gunicorn's worker class (sync, as deployed; gthread)")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="chroma_bench")
    parser.add_argument(
        "--cache-url", default="", help="CHROMA_CACHE_URL for the workers (redis://…; default: each its own)"
    )
    parser.add_argument("--fresh", action="store_true", help="drop and re-create the database first")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--skip-cached", action="store_true")
    parser.add_argument("--skip-uncached", action="store_true")
    parser.add_argument("--skip-signed-in", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated page names to load (all by default)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")
    VAR.mkdir(parents=True, exist_ok=True)
    ensure_database(args)
    # collectstatic first: the manifest must exist before anything imports the URLs (migrate's checks)
    subprocess.run(
        [python(), "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env_for(args), check=True
    )
    subprocess.run([python(), "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env_for(args), check=True)
    setup_django(args)
    showcase = seed(args)
    review = seed_review(args)
    cookie = session_cookie(review["reviewer"])
    plans = explain(args)
    base = f"http://127.0.0.1:{args.port}"
    urls = {
        "gallery": f"{base}/gallery/",
        "gallery 50k deep": f"{base}/gallery/?after={plans['deep_cursor']}",
        "gallery genre+decade": f"{base}/gallery/?decade=1910&genre=street",
        "gallery q=harbour": f"{base}/gallery/?q=harbour",
        "photo page": f"{base}/photos/{showcase}/",
        "correction page": f"{base}/corrections/{review['correction']}/",
        "review queue": f"{base}/review/",
    }
    # (label, gunicorn environment, pages, signed in): the anonymous page cache as deployed; every
    # anonymous render from the database; signed-in visitors (never the page cache) as deployed.
    every = ("gallery", "gallery 50k deep", "gallery genre+decade", "gallery q=harbour", "photo page")
    runs = [] if args.skip_cached else [("cached", {}, every, False)]
    if not args.skip_uncached:
        runs.append(
            ("uncached", {"CHROMA_PAGE_CACHE_SECONDS": "0"}, ("gallery", "gallery 50k deep", "photo page"), False)
        )
    if not args.skip_signed_in:
        signed = ("gallery", "gallery 50k deep", "photo page", "correction page", "review queue")
        runs.append(("signed in", {}, signed, True))
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    results = []
    for label, extra, pages, signed_in in runs:
        pages = [name for name in pages if not only or name in only]
        if not pages:
            continue
        proc = start_gunicorn(args, args.port, CHROMA_SERVER_TIMING="true", **extra)
        try:
            # Warm-up, not measured: every worker thread opens its connections and fills its caches.
            warm = ["wrk", "-t", "2", "-c", str(args.connections), "-d", "5s"]
            warm += (["-H", f"Cookie: {cookie}"] if signed_in else []) + [urls[pages[0]]]
            subprocess.run(warm, capture_output=True, check=True)
            for name in pages:
                result = {
                    "page": name,
                    "cache": label,
                    **wrk(urls[name], args, cookie if signed_in else "", server_group=proc.pid),
                }
                results.append(result)
                print(
                    f"{name:22} {label:9} {result['rps']:8.0f} req/s  p50 {result['p50_ms']:7.2f} ms  "
                    f"p99 {result['p99_ms']:7.2f} ms  CPU {result['cpu_ms_per_render']} ms/render  "
                    f"server {result.get('server_cpu_ms_per_request')} ms/request  "
                    f"non-2xx {result['non_2xx']}  socket errors {result['socket_errors']}  "
                    f"load {result['load_avg_1m']}",
                    flush=True,
                )
        finally:
            stop(proc)
    print()
    header = (
        "| page | visitor / cache | req/s | p50 ms | p99 ms | CPU ms / render | server CPU ms / request "
        "| PostgreSQL | Redis | wrk | machine | errors | load avg (1 min, before/after) |"
    )
    print(header)
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        parts = " | ".join(
            str(r.get(f"{k}_cpu_ms_per_request", "")) for k in ("server", "postgres", "redis", "wrk", "machine")
        )
        print(
            f"| {r['page']} | {r['cache']} | {r['rps']:.0f} | {r['p50_ms']} | {r['p99_ms']} | "
            f"{r['cpu_ms_per_render']} | {parts} | {r['non_2xx'] + r['socket_errors']} | "
            f"{r['load_avg_1m'][0]} / {r['load_avg_1m'][1]} |"
        )
    print(
        json.dumps(
            {
                "photos": args.photos,
                "connections": args.connections,
                "duration_s": args.duration,
                "gunicorn": f"{args.workers} workers x {args.threads} threads ({args.worker_class})",
                "cache": args.cache_url or "local memory per worker",
                "cpus": os.cpu_count(),
                "results": results,
            }
        )
    )
    ok = all(r["non_2xx"] == 0 and r["socket_errors"] == 0 for r in results)
    gallery = next((r for r in results if r["page"] == "gallery" and r["cache"] == "cached"), None)
    if gallery is not None:
        ok = ok and gallery["p99_ms"] <= 100
    print("goal (cached gallery p99 <= 100 ms, 0 errors):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
