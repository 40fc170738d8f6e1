"""The network's float format: bf16 autocast where the hardware has it, float32 otherwise; L* is never touched."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorization.engine import precision
from colorization.engine.checkpoint import load_model
from colorization.engine.color import rgb_to_lab
from colorization.engine.inference import Colorizer
from colorization.engine.network import ColorNet
from colorization.engine.training import TrainConfig, compute_loss, train

from .conftest import TINY


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("COLORIZE_PRECISION", raising=False)


@pytest.fixture
def fresh_flags():
    """cpu_has_native_bf16 is cached per process: clear it around a test that fakes the flags."""
    precision.cpu_has_native_bf16.cache_clear()
    yield
    precision.cpu_has_native_bf16.cache_clear()


@pytest.mark.usefixtures("no_env")
def test_auto_is_bf16_where_the_hardware_computes_it(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    assert precision.resolve_precision(torch.device("cpu")) == "bf16"
    assert precision.resolve_precision(torch.device("cpu"), "auto") == "bf16"
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    assert precision.resolve_precision(torch.device("cpu")) == "fp32"
    assert precision.resolve_precision(torch.device("cpu"), "bf16") == "bf16"  # an explicit choice is obeyed
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for native, expected in [(True, "bf16"), (False, "fp32")]:  # Ampere and later / older cards emulate bf16
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True, n=native: n)
        assert precision.resolve_precision(torch.device("cuda")) == expected
    assert precision.resolve_precision(torch.device("cuda"), "fp32") == "fp32"
    assert precision.resolve_precision(torch.device("mps")) == "fp32"


def test_the_environment_decides_auto_and_bad_values_name_their_source(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setenv("COLORIZE_PRECISION", "fp32")
    assert precision.resolve_precision(torch.device("cpu")) == "fp32"
    assert precision.resolve_precision(torch.device("cpu"), "auto") == "fp32"  # e.g. the schedule's default
    assert precision.resolve_precision(torch.device("cpu"), "bf16") == "bf16"  # an explicit choice wins
    monkeypatch.setenv("COLORIZE_PRECISION", "auto")
    assert precision.resolve_precision(torch.device("cpu")) == "bf16"
    monkeypatch.setenv("COLORIZE_PRECISION", "fp8")
    with pytest.raises(ValueError, match="COLORIZE_PRECISION='fp8' must be one of auto, fp32, bf16"):
        precision.resolve_precision(torch.device("cpu"))
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16, got 'half'"):
        precision.resolve_precision(torch.device("cpu"), "half")
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainConfig(precision="half")


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="without oneDNN the flags are never read")
@pytest.mark.usefixtures("fresh_flags")
def test_native_bf16_is_read_from_the_cpu_flags(monkeypatch, tmp_path):
    fake = tmp_path / "cpuinfo"
    real_path = precision.Path
    monkeypatch.setattr(precision, "Path", lambda p: fake if p == "/proc/cpuinfo" else real_path(p))
    for flags, expected in [
        ("fpu avx2 avx512f", False),
        ("fpu avx512f avx512_bf16", True),
        ("amx_bf16 amx_tile", True),
    ]:
        fake.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        precision.cpu_has_native_bf16.cache_clear()
        assert precision.cpu_has_native_bf16() is expected
    fake.unlink()
    precision.cpu_has_native_bf16.cache_clear()
    assert precision.cpu_has_native_bf16() is False  # no /proc/cpuinfo: float32, not a guess


@pytest.mark.usefixtures("no_env")
def test_bf16_inference_keeps_luminance_and_is_close_to_float32(tiny_model_path, make_luminance):
    model, _ = load_model(tiny_model_path)
    fp32 = Colorizer(model, "cpu", precision="fp32")
    model, _ = load_model(tiny_model_path)
    bf16 = Colorizer(model, "cpu", precision="bf16")
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    L = make_luminance(60, 90)
    hints = {"points": [{"x": 20, "y": 30, "color": "#cc3322"}]}
    a = fp32.colorize(L, hints, render_size=64)
    b = bf16.colorize(L, hints, render_size=64)
    lab_a = rgb_to_lab(torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255)[0]
    lab_b = rgb_to_lab(torch.from_numpy(b).permute(2, 0, 1)[None].float() / 255)[0]
    assert torch.allclose(lab_a[0], torch.from_numpy(L), atol=0.6)  # the original L*, in either format
    assert torch.allclose(lab_b[0], torch.from_numpy(L), atol=0.6)
    chroma_gap = (lab_a[1:] - lab_b[1:]).abs()
    assert chroma_gap.mean() < 0.5 and chroma_gap.max() < 4  # ab units: bf16 rounding, not a different picture
    assert not np.array_equal(a, b)  # the formats really differ: this test compares two paths


def test_models_are_cached_per_precision(tiny_model_path):
    assert Colorizer.load(tiny_model_path, "cpu", precision="fp32") is Colorizer.load(tiny_model_path, "cpu", "fp32")
    assert Colorizer.load(tiny_model_path, "cpu", precision="bf16") is not Colorizer.load(
        tiny_model_path, "cpu", "fp32"
    )


def test_bf16_training_loss_and_gradients_are_float32_and_finite():
    torch.manual_seed(0)
    model = ColorNet(TINY)
    rgb = torch.rand((2, 3, 32, 32), generator=torch.Generator().manual_seed(1))
    weights = torch.ones(TINY.n_bins)
    config = TrainConfig(regression_loss="mse")
    losses = {}
    for fmt in ("fp32", "bf16"):
        model.zero_grad()
        loss, _ = compute_loss(model, rgb, [3, 0], torch.Generator().manual_seed(2), weights, config, fmt)
        loss.backward()
        assert loss.dtype == torch.float32
        assert all(p.grad.dtype == torch.float32 and torch.isfinite(p.grad).all() for p in model.parameters())
        losses[fmt] = loss.item()
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.05)
    assert losses["bf16"] != losses["fp32"]


@pytest.mark.usefixtures("no_env")
def test_a_training_run_records_the_format_it_used(tmp_path, monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    images = [np.random.default_rng(i).integers(0, 255, (40, 48, 3), dtype=np.uint8) for i in range(3)]
    config = TrainConfig(crop=32, batch_size=2, steps=2, warmup_steps=1, precision="auto", log_every_s=1e9)
    summary = train(images, tmp_path / "m.safetensors", config, network_config=TINY, log=lambda s: None)
    assert summary["precision"] == "fp32"
    config = TrainConfig(crop=32, batch_size=2, steps=2, warmup_steps=1, precision="bf16", log_every_s=1e9)
    summary = train(images, tmp_path / "n.safetensors", config, network_config=TINY, log=lambda s: None)
    assert summary["precision"] == "bf16" and summary["train_config"]["precision"] == "bf16"
