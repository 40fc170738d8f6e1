"""The training loop's loss choices (the loop itself is exercised by train_base and fine-tuning tests)."""

from __future__ import annotations

import json

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


def test_the_log_option_weighs_each_photo_as_mean_psnr_does():
    from colorization.engine.training import LOG_MSE_EPS, LOG_MSE_SCALE

    parts, pred, target = _loss_parts(TrainConfig(regression_loss="log_mse"))
    per_image = (pred - target).pow(2).mean(dim=(1, 2, 3))
    assert parts["reg"] == pytest.approx((LOG_MSE_SCALE * torch.log1p(per_image / LOG_MSE_EPS)).mean().item(), rel=1e-4)
    # the same error costs more on a photo that is otherwise right than on one that is all wrong
    good = torch.tensor([0.001], requires_grad=True)
    bad = torch.tensor([0.05], requires_grad=True)
    (torch.log1p(good / LOG_MSE_EPS) + torch.log1p(bad / LOG_MSE_EPS)).sum().backward()
    assert good.grad.item() > 40 * bad.grad.item()


def test_the_class_loss_weight_scales_only_the_class_term():
    full, _, _ = _loss_parts(TrainConfig(ce_weight=1.0))
    quarter, _, _ = _loss_parts(TrainConfig(ce_weight=0.25))
    assert quarter["ce"] == pytest.approx(full["ce"]) and quarter["reg"] == pytest.approx(full["reg"])
    assert quarter["loss"] == pytest.approx(0.25 * full["ce"] + 10 * full["reg"], rel=1e-4)


def test_an_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="regression_loss must be one of smooth_l1, mse, log_mse"):
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


def test_the_weight_average_follows_the_model_at_its_decay():
    from colorization.engine.training import WeightAverage

    torch.manual_seed(0)
    model = ColorNet(TINY)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    average = WeightAverage(model, decay=0.9)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
        for v in model.state_dict().values():
            if not v.is_floating_point():
                v.fill_(7)  # BatchNorm's step counters are copied, not averaged
    average.update(model, step=1000)  # late in a run: the full decay
    name = next(k for k, v in start.items() if v.is_floating_point() and "running" not in k)
    assert torch.allclose(average.state[name], start[name] + 0.1, atol=1e-6)
    average.update(model, step=0)  # early: min(decay, 1/10) keeps it near the live weights
    assert torch.allclose(average.state[name], start[name] + 0.1 * 0.1 + 0.9, atol=1e-6)
    copy = average.model_copy(model)
    assert torch.equal(copy.state_dict()[name], average.state[name])
    ints = [k for k, v in model.state_dict().items() if not v.is_floating_point()]
    assert ints and all(int(average.state[k]) == 7 for k in ints)


def test_a_run_with_weight_averaging_writes_the_average_and_resumes_it(tmp_path):
    import numpy as np

    from colorization.engine.checkpoint import load_state_dict
    from colorization.engine.training import train

    images = [np.random.default_rng(n).integers(0, 255, (40, 40, 3), dtype=np.uint8) for n in range(3)]
    plain, averaged = tmp_path / "plain.safetensors", tmp_path / "avg.safetensors"
    common = dict(crop=32, batch_size=2, steps=4, warmup_steps=1, log_every_s=1e9)
    train(images, plain, TrainConfig(**common), network_config=TINY, log=lambda s: None)
    train(images, averaged, TrainConfig(**common, ema_decay=0.99), network_config=TINY, log=lambda s: None)
    w_plain, _, _ = load_state_dict(plain)
    w_avg, _, _ = load_state_dict(averaged)
    torch.manual_seed(0)  # train() seeds the init with config.seed = 0
    init = ColorNet(TINY).state_dict()
    learnt = [k for k in init if init[k].is_floating_point() and "running" not in k]
    moved = lambda w: sum((w[k] - init[k]).abs().sum().item() for k in learnt)  # noqa: E731
    # the same steps were taken; the average lags behind the live weights, so it moved less
    assert 0 < moved(w_avg) < moved(w_plain)
    with pytest.raises(ValueError, match="ema_decay"):
        TrainConfig(ema_decay=1.0)

    class Crash(Exception):
        pass

    def crash_at_3(step, progress):
        if step == 3:
            raise Crash

    resumable = tmp_path / "resumable.safetensors"
    config = TrainConfig(**{**common, "checkpoint_every_s": 0.0}, ema_decay=0.99)
    with pytest.raises(Crash):
        train(images, resumable, config, network_config=TINY, log=lambda s: None, heartbeat=crash_at_3)
    state = torch.load(tmp_path / "resumable.safetensors.state.pt", weights_only=True)
    assert state["step"] == 2 and set(state["average"]) == set(init)
    log = []
    train(images, resumable, config, network_config=TINY, log=log.append)
    assert any("resumed at step 2" in line for line in log)
    assert json.loads(load_state_dict(resumable)[2]["summary"])["steps"] == 4


def test_a_model_gains_the_global_branch_without_changing_what_it_does(tmp_path):
    import dataclasses

    import numpy as np

    from colorization.engine.checkpoint import load_state_dict, save_checkpoint
    from colorization.engine.training import train

    torch.manual_seed(3)
    parent = ColorNet(TINY).eval()
    save_checkpoint(parent, tmp_path / "parent.safetensors")
    grown = ColorNet(dataclasses.replace(TINY, global_context=True)).eval()
    grown.load_state_dict(parent.state_dict(), strict=False)
    x = ColorNet.make_input(torch.rand(2, 1, 32, 48) * 100, torch.zeros(2, 2, 32, 48), torch.zeros(2, 1, 32, 48))
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(parent(x), grown(x), strict=True))

    # Continuing the parent with --global-context: the branch is added, the rest carries over, it learns.
    images = [np.random.default_rng(n).integers(0, 255, (40, 40, 3), dtype=np.uint8) for n in range(3)]
    grow = {"global_context": True}
    config = TrainConfig(crop=32, batch_size=2, steps=3, warmup_steps=1, log_every_s=1e9, extra=grow)
    out = tmp_path / "child.safetensors"
    train(images, out, config, init_weights=tmp_path / "parent.safetensors", log=lambda s: None)
    state, network_config, _ = load_state_dict(out)
    assert network_config == dataclasses.replace(TINY, global_context=True)
    assert state["global_mlp.2.weight"].abs().sum() > 0  # it trained
    child = ColorNet(network_config)
    child.load_state_dict(state)  # strict: the checkpoint holds the whole grown network

    # The pooled context makes one photo's colours depend on the rest of the photo.
    with torch.no_grad():
        child.global_mlp[2].weight.normal_()
        x2 = x.clone()
        x2[:, 0, :, 24:] = -x2[:, 0, :, 24:]  # change only the right half
        left = lambda out: out[0][..., :4]  # noqa: E731 — far from the change, beyond the convolutions' reach
        assert not torch.allclose(left(child.eval()(x)), left(child(x2)))


def test_weights_that_do_not_fit_the_grown_network_are_refused(tmp_path):
    import numpy as np
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from colorization.engine.checkpoint import save_checkpoint
    from colorization.engine.training import train

    # Not a matter of the branch: the parent holds a tensor its own network does not have.
    parent = tmp_path / "parent.safetensors"
    save_checkpoint(ColorNet(TINY), parent)
    with safe_open(parent, "pt") as f:
        metadata = f.metadata()
    state = load_file(parent)
    state["stray.weight"] = torch.zeros(3)
    save_file(state, parent, metadata=metadata)
    config = TrainConfig(crop=32, batch_size=1, steps=1, extra={"global_context": True})
    with pytest.raises(ValueError, match="do not fit the network"):
        train([np.zeros((40, 40, 3), np.uint8)], tmp_path / "x.safetensors", config, init_weights=parent, log=print)
