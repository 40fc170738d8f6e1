"""Real Celery worker processes for tests, against the test database, media and broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def worker_env(media: Path, var_dir: Path | None, model: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(media),
        "CHROMA_BASE_MODEL_PATH": str(model),
        # One site, one secret: draft file keys carry a token made with it (drafting.result_keys), and a
        # worker with its own var folder would otherwise generate a secret of its own.
        "SECRET_KEY": settings.SECRET_KEY,
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    if var_dir is not None:  # the embedded broker: the test's own folders
        env["CHROMA_VAR_DIR"] = str(var_dir)
    return env


def _database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def purge_broker() -> int:
    """Drop the messages earlier tests left on the broker, so a test's worker starts on that test's work.

    The session's broker folder (or Redis database) collects every message sent while no worker ran;
    a worker started later would otherwise work through all of them before the test's own.
    """
    from config.celery_app import app

    return app.control.purge()


class Workers:
    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env, self.log_dir, self.procs = env, log_dir, []

    def start(self, queues: str = "gpu,cpu,default", beat: bool = False) -> subprocess.Popen:
        """A worker with one pool process; ``beat`` embeds Celery beat (the sweepers) with its own schedule file."""
        n = len(self.procs)
        log = open(self.log_dir / f"worker{n}.log", "w")  # noqa: SIM115 - closed with the process
        extra = ["-B", "-s", str(self.log_dir / f"beat{n}-schedule")] if beat else []
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues,
             "--concurrency", "1", "-l", "info", "-n", f"test{n}@%h", "--without-mingle",
             "--without-gossip", "--without-heartbeat", *extra],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGKILL)  # the main process and its pool: nothing gets to clean up
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.log_dir.glob("worker*.log")))
