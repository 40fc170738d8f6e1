"""The training loop's loss choices (the loop itself is exercised by train_base and fine-tuning tests)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from colorization.engine.color import rgb_to_lab
from colorization.engine.network import AB_SCALE, ColorNet
from colorization.engine.training import TrainConfig, compute_loss

from .conftest import TINY


def _loss_parts(config: TrainConfig):
    torch.manual_seed(0)
    model = ColorNet(TINY)
    rgb = torch.rand((2, 3, 32, 32), generator=torch.Generator().manual_seed(1))
    weights = torch.ones(TINY.n_bins)
    _, parts = compute_loss(model, rgb, [0, 0], torch.Generator().manual_seed(2), weights, config)
    with torch.no_grad():
        pred_ab, _ = model(ColorNet.make_input(*_unhinted(rgb)))
    target = F.avg_pool2d(rgb_to_lab(rgb)[:, 1:], 2)
    return parts, pred_ab / AB_SCALE, target / AB_SCALE


def _unhinted(rgb):
    lab = rgb_to_lab(rgb)
    return lab[:, :1], torch.zeros_like(lab[:, 1:]), torch.zeros_like(lab[:, :1])


def test_the_squared_error_option_regresses_the_mean_chroma():
    parts, pred, target = _loss_parts(TrainConfig(regression_loss="mse"))
    assert parts["reg"] == pytest.approx(F.mse_loss(pred, target).item(), rel=1e-4)
    smooth, pred, target = _loss_parts(TrainConfig())
    assert smooth["reg"] == pytest.approx(F.smooth_l1_loss(pred, target, beta=5 / AB_SCALE).item(), rel=1e-4)
    assert smooth["reg"] != pytest.approx(parts["reg"], rel=1e-2)


def test_the_class_loss_weight_scales_only_the_class_term():
    full, _, _ = _loss_parts(TrainConfig(ce_weight=1.0))
    quarter, _, _ = _loss_parts(TrainConfig(ce_weight=0.25))
    assert quarter["ce"] == pytest.approx(full["ce"]) and quarter["reg"] == pytest.approx(full["reg"])
    assert quarter["loss"] == pytest.approx(0.25 * full["ce"] + 10 * full["reg"], rel=1e-4)


def test_an_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="regression_loss must be one of smooth_l1, mse"):
        TrainConfig(regression_loss="l2")


def test_averaged_checkpoints_hold_the_mean_weights(tmp_path):
    from colorization.engine.checkpoint import CheckpointError, average_checkpoints, load_state_dict, save_checkpoint
    from colorization.engine.network import NetworkConfig

    paths = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        paths.append(tmp_path / f"m{seed}.safetensors")
        save_checkpoint(ColorNet(TINY), paths[-1])
    average_checkpoints(paths, tmp_path / "soup.safetensors", {"members": "2"})
    soup, config, meta = load_state_dict(tmp_path / "soup.safetensors")
    first, second = (load_state_dict(p)[0] for p in paths)
    assert config == TINY and meta["members"] == "2"
    for key, value in soup.items():
        if value.is_floating_point():
            assert torch.allclose(value, (first[key] + second[key]) / 2)
        else:
            assert torch.equal(value, first[key])
    save_checkpoint(ColorNet(NetworkConfig(widths=(8, 8, 8, 16))), tmp_path / "other.safetensors")
    with pytest.raises(CheckpointError, match="different network configs"):
        average_checkpoints([paths[0], tmp_path / "other.safetensors"], tmp_path / "bad.safetensors")
