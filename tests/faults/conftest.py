from __future__ import annotations

from pathlib import Path

import pytest
import torch

from colorization import drafting
from colorization.engine.checkpoint import save_checkpoint
from colorization.engine.network import ColorNet
from tests.conftest import reset_broker_pool
from tests.faults.services import PrivateRedis
from tests.workers import Workers, worker_env


@pytest.fixture(scope="session")
def full_size_model(tmp_path_factory) -> Path:
    """The production network size (random weights): a big draft takes seconds, long enough to kill."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("full") / "base.safetensors"
    save_checkpoint(ColorNet(), path, {"slug": "base", "version": "fault-test"})
    return path


@pytest.fixture
def private_redis(tmp_path, monkeypatch):
    """A Redis of this test's own, which this process publishes to (Celery reads the variable first)."""
    folder = tmp_path / "redis"
    folder.mkdir()
    redis = PrivateRedis(folder)
    redis.start()
    monkeypatch.setenv("CELERY_BROKER_URL", redis.url)
    reset_broker_pool()
    drafting._broker_down_until = 0.0
    yield redis
    redis.stop()
    monkeypatch.undo()
    reset_broker_pool()
    drafting._broker_down_until = 0.0


@pytest.fixture
def fault_workers(settings, media_in_tmp, full_size_model, tmp_path, private_redis):
    """Real workers on the private Redis, with the shipped heartbeat, stale and sweep settings."""
    settings.CHROMA_BASE_MODEL_PATH = str(full_size_model)
    var = tmp_path / "var"
    var.mkdir()
    env = {
        **worker_env(media_in_tmp, None, full_size_model),
        "CELERY_BROKER_URL": private_redis.url,
        "CHROMA_VAR_DIR": str(var),
    }
    pool = Workers(env, tmp_path)
    yield pool
    pool.stop_all()
