"""Where the CPU goes when a page renders from the database (issue 25).

    python benchmarks/page_profile.py [--database bench_gallery] [--photos 100000] [--runs 200]
                                      [--profile] [--pages gallery,photo,...]

Uses the dataset of ``benchmarks/gallery_load.py`` (seeding it if needed, in the same PostgreSQL
database) and renders each page in this process through Django's WSGI handler, the whole middleware
stack included, as a signed-in reviewer (a session cookie) and as an anonymous visitor with the page
cache off. For each page it prints the CPU milliseconds per render (``time.thread_time``), the wall
milliseconds, the number of queries and the response size; ``--profile`` adds a cProfile of each
page, its top functions by their own time and by cumulative time.

No server and no wrk: this is the quiet, repeatable measure of a render's cost (the load test in
``gallery_load.py`` measures throughput).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import gallery_load  # noqa: E402  (the dataset and its database)


def wsgi_get(handler, path: str, cookie: str = "") -> tuple[int, bytes]:
    query = ""
    if "?" in path:
        path, query = path.split("?", 1)
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8765",
        "HTTP_HOST": "127.0.0.1:8765",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_ACCEPT": "text/html",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    status = []

    def start_response(line, headers, exc_info=None):
        status.append(int(line.split()[0]))

    body = b"".join(handler(environ, start_response))
    return status[0], body


def measure(handler, path: str, cookie: str, runs: int) -> dict:
    from django.db import connection

    for _ in range(5):  # warm: templates compiled, connection open, caches filled
        status, body = wsgi_get(handler, path, cookie)
    if status != 200:
        raise SystemExit(f"{path}: {status}")
    queries = []  # counted by a wrapper: the handler resets connection.queries at each request

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        wsgi_get(handler, path, cookie)
    cpu, wall = [], []
    for _ in range(runs):
        c0, w0 = time.thread_time(), time.perf_counter()
        wsgi_get(handler, path, cookie)
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return {
        "cpu_ms": round(statistics.median(cpu), 2),
        "cpu_ms_mean": round(statistics.fmean(cpu), 2),
        "wall_ms": round(statistics.median(wall), 2),
        "queries": len(queries),
        "bytes": len(body),
    }


def explain(handler, path: str, cookie: str) -> str:
    """Each query of one warm render with PostgreSQL's own planning and execution time (EXPLAIN ANALYZE)."""
    from django.db import connection

    wsgi_get(handler, path, cookie)
    captured = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        wsgi_get(handler, path, cookie)
    lines = []
    with connection.cursor() as cursor:
        for sql, params in captured:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            top = plan[0]
            lines.append(
                f"  plan {top['Planning Time']:6.3f} ms  run {top['Execution Time']:6.3f} ms  "
                f"{top['Plan']['Node Type']:18} {' '.join(sql.split())[:150]}"
            )
    return "\n".join(lines)


def profile(handler, path: str, cookie: str, runs: int, top: int) -> str:
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    for _ in range(runs):
        wsgi_get(handler, path, cookie)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    # The project's own functions and the template tags, by cumulative time: where a render's time starts.
    stats.sort_stats("cumulative").print_stats(
        rf"{ROOT}/(community|colorization|config)/|templatetags|defaulttags|loader_tags", top
    )
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="chroma_bench")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--cache-url", default="", help="CHROMA_CACHE_URL (redis://…): shared fragments")
    parser.add_argument("--fragment-seconds", default="", help="CHROMA_FRAGMENT_CACHE_SECONDS (0: off)")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="add a cProfile of each page")
    parser.add_argument("--explain", action="store_true", help="add each query's PostgreSQL planning and run time")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--profile-anonymous", action="store_true", help="profile the anonymous renders too")
    parser.add_argument("--pages", default="", help="comma-separated subset of the page names")
    parser.add_argument("--anonymous", action="store_true", help="also render anonymously with the page cache off")
    args = parser.parse_args()
    os.environ["CHROMA_PAGE_CACHE_SECONDS"] = "0"  # every anonymous render from the database
    if args.fragment_seconds:
        os.environ["CHROMA_FRAGMENT_CACHE_SECONDS"] = args.fragment_seconds
    gallery_load.VAR.mkdir(parents=True, exist_ok=True)
    gallery_load.ensure_database(args)
    import subprocess

    env = gallery_load.env_for(args, CHROMA_PAGE_CACHE_SECONDS="0")
    # collectstatic first: the manifest must exist before anything imports the URLs (migrate's checks)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    gallery_load.setup_django(args)
    from django.core.handlers.wsgi import WSGIHandler

    showcase = gallery_load.seed(args)
    review = gallery_load.seed_review(args)
    cookie = gallery_load.session_cookie(review["reviewer"])
    deep = gallery_load.deep_cursor()
    pages = {
        "gallery": "/gallery/",
        "gallery 50k deep": f"/gallery/?after={deep}",
        "photo page": f"/photos/{showcase}/",
        "correction page": f"/corrections/{review['correction']}/",
        "editor": f"/photos/{review['editor_photo']}/edit/?draft={review['editor_draft']}",
        "review queue": "/review/",
    }
    if args.pages:
        wanted = {p.strip() for p in args.pages.split(",")}
        pages = {k: v for k, v in pages.items() if k in wanted}
    handler = WSGIHandler()
    results = []
    who = [("signed in", cookie)] + ([("anonymous", "")] if args.anonymous else [])
    for name, path in pages.items():
        for label, c in who:
            if name == "editor" and not c:
                continue
            r = {"page": name, "who": label, **measure(handler, path, c, args.runs)}
            results.append(r)
            print(
                f"{name:18} {label:10} cpu {r['cpu_ms']:6.2f} ms (mean {r['cpu_ms_mean']:6.2f})"
                f"  wall {r['wall_ms']:6.2f} ms"
                f"  queries {r['queries']:3}  {r['bytes']:7} bytes",
                flush=True,
            )
            if args.explain and label == "signed in":
                print(explain(handler, path, c), flush=True)
            if args.profile and (label == "signed in" or args.profile_anonymous):
                print(profile(handler, path, c, max(20, args.runs // 2), args.top), flush=True)
    load = [round(x, 2) for x in os.getloadavg()]
    print()
    print("| page | who | CPU ms / render (median) | wall ms | queries | bytes |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['page']} | {r['who']} | {r['cpu_ms']} | {r['wall_ms']} | {r['queries']} | {r['bytes']} |")
    print(f"load average {load}")
    print(json.dumps({"photos": args.photos, "runs": args.runs, "load_avg": load, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
