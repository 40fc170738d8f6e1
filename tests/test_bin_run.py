"""The README's first command, ``python3 bin/run``, brings up web + worker + beat on embedded defaults.

It runs the real script on a free port with a var folder of its own: the site must answer, the demo
administrator's credentials must be printed again once everything is up (the worker's start-up log
scrolls the first print away), they must let the administrator sign in, and Ctrl-C must stop all three
processes.
"""

from __future__ import annotations

import http.cookiejar
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = re.compile(r"Demo administrator: username (\S+), password (\S+)")
BANNER = "Chroma Commons is up at"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _reader(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def test_bin_run_serves_the_site_and_says_the_credentials_again_once_it_is_up(tmp_path):
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        # Embedded defaults, whatever this test run itself uses.
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT", "DJANGO_SETTINGS_MODULE", "SECRET_KEY"}
    }
    env.update({"CHROMA_VAR_DIR": str(tmp_path / "var"), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"})
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bin" / "run"), "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    seen: list[str] = []

    def read_until(predicate, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            seen.append(line)
            if predicate(line):
                return line
        raise AssertionError("bin/run did not print what was expected; its output:\n" + "\n".join(seen[-80:]))

    try:
        first = read_until(CREDENTIALS.search, 300)
        username, password = CREDENTIALS.search(first).groups()
        read_until(lambda line: BANNER in line, 240)
        banner_at = len(seen)
        again = read_until(lambda line: bool(CREDENTIALS.search(line)), 5)
        assert CREDENTIALS.search(again).groups() == (username, password)
        # Said again after the processes' own start-up output, not merely twice in a row.
        assert banner_at - seen.index(first) > 3

        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
            assert response.status == 200
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(f"{base}/accounts/login/", timeout=10) as response:
            page = response.read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
        request = urllib.request.Request(f"{base}/accounts/login/", data=form.encode(), headers={"Referer": base})
        with opener.open(request, timeout=10) as response:
            assert response.status == 200
            assert "/accounts/login/" not in response.url, "the printed credentials did not sign in"
        assert any(cookie.name == "sessionid" for cookie in jar)

        os.killpg(proc.pid, signal.SIGINT)
        read_until(lambda line: "Stopped web, worker and beat." in line, 60)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
