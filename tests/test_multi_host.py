"""Three hosts that share no files, only PostgreSQL, Redis and an S3-compatible server (issue 21).

Each simulated host is a separate group of processes with its own var/, media and model-cache
folders (and its own copy of the shipped base model):

- host 1: the web server (gunicorn, real HTTP) and a worker for the default queue with beat;
- host 2: a draft worker (the gpu and cpu queues);
- host 3: a training worker (the training queue).

The loop runs over HTTP: an upload is drafted on host 2; a volunteer's correction is accepted by
votes (a historian's among them, as the acceptance rule requires); beat finds the bucket due and
host 3 fine-tunes and promotes a model into the bucket; a new upload in the bucket is drafted on
host 2 by the promoted model, which host 2 fetched from storage (a cache miss, then its sha256 in
host 2's cache). Needs PostgreSQL and Redis (CI's second pass); skipped on SQLite and the
file-system broker, which cannot be shared between hosts.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tests import images
from tests.workers import ROOT, Workers, _database_url

BUCKET = "chroma-multi-host"
HOLDOUT_PERCENT = 50
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="the multi-host test needs PostgreSQL (SQLite is a file on one host); CI's PostgreSQL pass runs it",
    ),
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"),
        reason="the multi-host test needs Redis (the file-system broker only reaches one host)",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check, timeout: float, logs=lambda: "", every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{logs()}")


def split_of(data: bytes) -> str:
    """colorization.training_data.split_for, from the bytes (the photo's sha256) before uploading."""
    sha = hashlib.sha256(data).hexdigest()
    bucket = int(hashlib.sha256(f"split:{sha}".encode()).hexdigest()[:8], 16) % 100
    return "holdout" if bucket < HOLDOUT_PERCENT else "train"


@pytest.fixture
def s3_endpoint():
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log would drown the hosts' logs
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    client.create_bucket(Bucket=BUCKET)
    yield endpoint, client
    server.stop()


class Host:
    """One simulated host: its own folders, its own processes."""

    def __init__(self, name: str, root: Path, common: dict[str, str], base_model: Path):
        self.name, self.dir = name, root / name
        for sub in ("var", "media", "model-cache", "models", "logs"):
            (self.dir / sub).mkdir(parents=True)
        # The shipped base model comes with the code: each host has its own copy.
        shutil.copy(base_model, self.dir / "base.safetensors")
        self.env = {
            **common,
            "CHROMA_VAR_DIR": str(self.dir / "var"),
            "MEDIA_ROOT": str(self.dir / "media"),
            "CHROMA_MODEL_CACHE_DIR": str(self.dir / "model-cache"),
            "CHROMA_MODEL_DIR": str(self.dir / "models"),
            "CHROMA_BASE_MODEL_PATH": str(self.dir / "base.safetensors"),
        }
        self.workers = Workers(self.env, self.dir / "logs")
        self.web: subprocess.Popen | None = None

    def cache_holds(self, sha256: str) -> bool:
        path = self.dir / "model-cache" / f"{sha256}.safetensors"
        return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256

    def start_web(self, port: int) -> None:
        log = open(self.dir / "logs" / "web.log", "w")  # noqa: SIM115 - closed with the process
        self.web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1",
             "--timeout", "120", "--access-logfile", "-"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def logs(self, tail: int = 4000) -> str:
        """This host's process logs (the last ``tail`` characters of each; 0: all of them)."""
        return "\n".join(
            f"--- {self.name} {p.name} ---\n{p.read_text()[-tail:]}" for p in sorted((self.dir / "logs").glob("*.log"))
        )

    def log_text(self) -> str:
        return self.logs(tail=0)

    def stop(self) -> None:
        import signal

        self.workers.stop_all()
        if self.web is not None and self.web.poll() is None:
            os.killpg(self.web.pid, signal.SIGTERM)
            try:
                self.web.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.web.pid, signal.SIGKILL)
                self.web.wait()


def test_the_loop_runs_across_three_hosts_that_share_no_files(tmp_path, s3_endpoint, tiny_model_file):
    import requests

    from colorization.model_cache import model_key
    from colorization.models import ColorModel, Draft, FinetuneSchedule, ModelStatus, TrainingExample
    from community.accounts.services import role_set
    from community.models import Correction, CorrectionStatus
    from tests.factories import UserFactory

    endpoint, s3 = s3_endpoint
    assert connection.vendor == "postgresql"
    common = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
        "SECRET_KEY": settings.SECRET_KEY,
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "CHROMA_STORAGE_TIMEOUT": "10",
        "CHROMA_HOLDOUT_PERCENT": str(HOLDOUT_PERCENT),
        "CHROMA_VOTE_TRUSTED_REPUTATION": "0",  # fresh test accounts vote with full weight
        "CHROMA_FINETUNE_TICK_SECONDS": "10",
        "CHROMA_DRAFT_SWEEP_SECONDS": "5",
        "CHROMA_NOTIFY_BY_EMAIL": "false",
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
    }
    for name in ("MEDIA_ROOT", "CHROMA_VAR_DIR", "CHROMA_MODEL_CACHE_DIR", "CHROMA_MODEL_DIR"):
        common.pop(name, None)
    web, drafts, training = (Host(n, tmp_path, common, tiny_model_file) for n in ("host1", "host2", "host3"))
    hosts = (web, drafts, training)

    def logs() -> str:
        return "\n".join(h.logs() for h in hosts)

    # Fine-tuning kept tiny; the gate open (it is tested in tests/colorization/test_registry.py).
    schedule = FinetuneSchedule.get()
    schedule.crontab, schedule.enabled = "* * * * *", True
    schedule.min_examples, schedule.min_new_examples = 1, 1
    schedule.steps, schedule.minutes, schedule.batch_size, schedule.crop = 3, 1.0, 2, 32
    schedule.margin_db, schedule.noise_db, schedule.colourfulness_tolerance = -100.0, 100.0, 100.0
    schedule.last_checked_at = timezone.now() + timedelta(days=1)  # beat stays quiet until the examples exist
    schedule.save()
    volunteer, voter, owner, historian = (UserFactory(username=n) for n in ("volunteer", "voter", "owner", "historian"))
    role_set(user=historian, role="historian")
    for user in (volunteer, voter, owner, historian):
        user.set_password("a long test password")
        user.save()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        web.start_web(port)
        web.workers.start(queues="default", beat=True)
        drafts.workers.start(queues="gpu,cpu")
        training.workers.start(queues="training")

        def healthy():
            try:
                return requests.get(f"{base}/healthz", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_for("the web server on host 1", healthy, 120, logs)
        tokens = {}
        for user in (volunteer, voter, owner, historian):
            response = requests.post(
                f"{base}/api/v1/auth/token/", data={"username": user.username, "password": "a long test password"}
            )
            assert response.status_code == 200, response.text
            tokens[user.username] = {"Authorization": f"Token {response.json()['token']}"}

        def upload(data: bytes, title: str) -> int:
            response = requests.post(
                f"{base}/api/v1/photos/",
                headers=tokens["owner"],
                data={"title": title, "genre": "street", "year_from": 1912, "year_to": 1912},
                files={"image": (f"{title}.png", data, "image/png")},
                timeout=60,
            )
            assert response.status_code == 201, response.text
            return response.json()["id"]

        def done_draft(photo_id: int) -> dict:
            def check():
                body = requests.get(f"{base}/api/v1/photos/{photo_id}/drafts/", headers=tokens["owner"]).json()
                rows = body["results"] if isinstance(body, dict) else body
                finished = [d for d in rows if d["status"] in ("done", "failed")]
                return finished[0] if finished else None

            draft = wait_for(f"the draft of photo {photo_id}", check, 180, logs)
            assert draft["status"] == "done", draft
            return draft

        # 1-3: uploads drafted on host 2, corrected by a volunteer and accepted by votes: one photo
        # for training and one held out (the split follows the photo's checksum).
        colours, wanted, seed = [], {"train", "holdout"}, 0
        while wanted:
            seed += 1
            colour = images.colour_photo(64, 48, seed=seed)
            grey = images.encode(images.luminance_of(colour), "PNG")
            if split_of(grey) in wanted:
                wanted.discard(split_of(grey))
                colours.append((colour, grey))
        for i, (colour, grey) in enumerate(colours):
            photo_id = upload(grey, f"street-{i}")
            draft = done_draft(photo_id)
            assert draft["model"]["slug"] == "base"
            assert f"done [{draft['id']}" in drafts.log_text()  # made by host 2's worker
            response = requests.post(
                f"{base}/api/v1/photos/{photo_id}/corrections/",
                headers=tokens["volunteer"],
                data={"base_draft": draft["id"], "note": "Colours from a hand-tinted postcard"},
                files={"image": ("colour.png", images.encode(colour, "PNG"), "image/png")},
                timeout=60,
            )
            assert response.status_code == 201, response.text
            correction_id = response.json()["id"]
            for username in ("voter", "owner", "historian"):
                response = requests.post(
                    f"{base}/api/v1/corrections/{correction_id}/votes/",
                    headers=tokens[username],
                    json={"value": 1, "comment": "Plausible for 1912"},
                    timeout=60,
                )
                assert response.status_code in (200, 201), response.text
            assert Correction.objects.get(pk=correction_id).status == CorrectionStatus.ACCEPTED
        # Host 1's worker turns the accepted corrections into training examples (stored in the bucket).
        wait_for("two training examples", lambda: TrainingExample.objects.active().count() == 2, 120, logs)
        assert {e.split for e in TrainingExample.objects.active()} == {"train", "holdout"}

        # 4-5: beat (host 1) finds the buckets due; host 3 fine-tunes and promotes.
        FinetuneSchedule.objects.update(last_checked_at=timezone.now() - timedelta(minutes=2))

        def promoted():
            return ColorModel.objects.filter(genre="street", era="1900-1919", status=ModelStatus.ACTIVE).first()

        model = wait_for("a promoted street 1900-1919 model", promoted, 300, logs, every=2)
        assert model.weights == model_key(model.sha256)
        stored = s3.get_object(Bucket=BUCKET, Key=model.weights)["Body"].read()
        assert hashlib.sha256(stored).hexdigest() == model.sha256  # in the bucket, under its sha256
        assert "run_training" in training.log_text() and training.cache_holds(model.sha256)
        assert not drafts.cache_holds(model.sha256) and not web.cache_holds(model.sha256)

        # 6: a new upload in the bucket, drafted on host 2 by the promoted model fetched from storage.
        photo_id = upload(images.encode(images.luminance_of(images.colour_photo(64, 48, seed=999)), "PNG"), "new")
        draft = done_draft(photo_id)
        row = Draft.objects.get(pk=draft["id"])
        assert (row.model_slug, row.model_sha256) == (model.slug, model.sha256)
        assert f"done [{draft['id']}" in drafts.log_text()
        assert f"model cache: fetched {model.sha256[:12]} from storage" in drafts.log_text()  # the miss
        assert drafts.cache_holds(model.sha256)  # ... and now host 2 holds it
        assert not web.cache_holds(model.sha256)  # recording the draft's model downloaded nothing on host 1

        # Every process named its host-local parts: with PostgreSQL, Redis and S3, only its model cache.
        for host in hosts:
            text = host.log_text()
            assert "process start-up: host-local parts: the local model cache" in text
            assert str(host.dir / "model-cache") in text
            assert "the file-system broker" not in text and "SQLite (" not in text and "local media" not in text
        assert "web process start-up" in web.log_text() and "beat process start-up" in web.log_text()
        # Nothing was written to another host's folders: each host's media folder is empty (all in S3).
        for host in hosts:
            assert not any(p.is_file() for p in (host.dir / "media").rglob("*"))
    finally:
        for host in hosts:
            host.stop()
