"""Global colour hints: the vector the network sees, the zero-initialised gated branch, training it."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from colorization.engine.checkpoint import load_state_dict, save_checkpoint
from colorization.engine.global_hints import (
    GlobalHint,
    hint_vector,
    kmeans_palette,
    no_hint,
    palette_from_rgb,
    simulate_global_hints,
)
from colorization.engine.network import AB_SCALE, ColorNet
from colorization.engine.training import TrainConfig, train

from .conftest import TINY

GROWN = dataclasses.replace(TINY, global_hints=True)


def _input(batch: int = 2, h: int = 32, w: int = 48) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return ColorNet.make_input(
        torch.rand(batch, 1, h, w, generator=g) * 100, torch.zeros(batch, 2, h, w), torch.zeros(batch, 1, h, w)
    )


def test_the_vector_is_a_distribution_with_mean_chroma_and_a_given_flag():
    ab = torch.tensor([[40.0, 30.0], [-20.0, 0.0]])
    v = hint_vector(ab, torch.tensor([3.0, 1.0]), TINY)
    assert v.shape == (TINY.global_hint_size,)
    dist = v[: TINY.n_bins]
    assert dist.min() >= 0 and dist.sum() == pytest.approx(1.0, abs=1e-5)
    assert v[-2] == pytest.approx((0.75 * 50 + 0.25 * 20) / AB_SCALE, rel=1e-5)
    assert v[-1] == 1
    # the heavier colour's bin holds more mass than the lighter one's
    centres = ColorNet(TINY).bin_centers
    near = lambda a, b: int(((centres - torch.tensor([a, b])) ** 2).sum(1).argmin())  # noqa: E731
    assert dist[near(40, 30)] > dist[near(-20, 0)] > dist[near(-80, -80)]
    assert torch.equal(no_hint(TINY), torch.zeros(TINY.global_hint_size))


def test_saturation_scales_the_palette_chroma():
    plain = GlobalHint.from_palette(np.array([[30.0, 40.0]]), np.array([1.0]))
    muted = GlobalHint.from_palette(np.array([[30.0, 40.0]]), np.array([1.0]), saturation=0.5)
    assert plain.vector(TINY)[-2] == pytest.approx(2 * muted.vector(TINY)[-2].item())
    assert muted.mean_ab() == pytest.approx((15.0, 20.0))


@pytest.mark.parametrize(
    "ab, weights, saturation, message",
    [
        ([], [], 1.0, "at least one colour"),
        ([[1.0, 2.0]], [-1.0], 1.0, "non-negative"),
        ([[1.0, 2.0]], [0.0], 1.0, "not all zero"),
        ([[1.0, 2.0]], [1.0], 2.5, "saturation"),
    ],
)
def test_bad_global_hints_are_refused(ab, weights, saturation, message):
    with pytest.raises(ValueError, match=message):
        GlobalHint(ab=tuple(map(tuple, ab)), weights=tuple(weights), saturation=saturation)


def test_kmeans_finds_the_colours_of_a_two_colour_image_and_their_shares():
    ab = torch.cat((torch.tensor([[50.0, 10.0]]).repeat(300, 1), torch.tensor([[-30.0, -40.0]]).repeat(100, 1)))
    colours, weights = kmeans_palette(ab, 5, torch.Generator().manual_seed(0))
    order = torch.argsort(weights, descending=True)
    assert colours.shape[0] == 2  # duplicates collapse into one cluster; empty ones are dropped
    assert torch.allclose(colours[order], torch.tensor([[50.0, 10.0], [-30.0, -40.0]]), atol=1e-4)
    assert torch.allclose(weights[order], torch.tensor([0.75, 0.25]))


def test_a_reference_palette_is_deterministic_and_limited_to_its_rectangle():
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, :30] = (200, 40, 40)  # red left half
    rgb[:, 30:] = (40, 60, 200)  # blue right half
    colours, weights = palette_from_rgb(rgb)
    again, _ = palette_from_rgb(rgb)
    assert np.array_equal(colours, again)
    assert len(colours) == 2 and weights.sum() == pytest.approx(1.0)
    left, _ = palette_from_rgb(rgb, box=(0, 0, 30, 40))
    assert len(left) == 1 and left[0][0] > 40  # red: a* strongly positive
    with pytest.raises(ValueError, match="empty"):
        palette_from_rgb(rgb, box=(10, 10, 10, 20))


def test_simulated_hints_cover_every_kind_and_are_all_given():
    g = torch.Generator().manual_seed(0)
    ab = torch.randn(64, 2, 24, 24, generator=g) * 20 + torch.tensor([15.0, -5.0])[None, :, None, None]
    vectors, means = simulate_global_hints(ab, TINY, torch.Generator().manual_seed(1))
    assert vectors.shape == (64, TINY.global_hint_size)
    # each hint's mean colour is near the crop's (a sub-region's or a jittered palette's drifts a little)
    assert means.shape == (64, 2)
    assert (means - ab.mean(dim=(2, 3))).abs().max() < 12
    assert torch.all(vectors[:, -1] == 1)
    dists = vectors[:, : TINY.n_bins]
    assert torch.allclose(dists.sum(1), torch.ones(64), atol=1e-4)
    # the mean-only kind is the narrowest distribution; the full histograms are the widest
    peak = dists.max(1).values
    assert peak.max() > 2 * peak.min()


def test_the_grown_branch_starts_at_zero_and_never_acts_without_a_hint():
    torch.manual_seed(3)
    parent = ColorNet(TINY).eval()
    grown = ColorNet(GROWN).eval()
    missing, unexpected = grown.load_state_dict(parent.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("global_hint_mlp.") for k in missing)
    x = _input()
    hint = GlobalHint.from_palette(np.array([[60.0, 60.0]]), np.array([1.0])).vector(GROWN)
    with torch.no_grad():
        expected = parent(x)
        for global_hint in (None, torch.stack([hint, hint]), torch.zeros(2, GROWN.global_hint_size)):
            assert all(torch.equal(a, b) for a, b in zip(expected, grown(x, global_hint), strict=True))
        # Once trained (here: random weights), a given hint changes the output and no hint still does not.
        for p in grown.global_hint_mlp.parameters():
            p.normal_(0, 0.3)
        mixed = torch.stack([hint, torch.zeros_like(hint)])
        out = grown(x, mixed)
        assert not torch.allclose(out[0][0], expected[0][0])
        assert torch.equal(out[0][1], expected[0][1]) and torch.equal(out[1][1], expected[1][1])


def test_a_hint_vector_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match="expected"):
        ColorNet(GROWN).eval()(_input(1), torch.ones(1, 5))


def test_training_only_the_branch_leaves_the_parent_untouched(tmp_path):
    torch.manual_seed(4)
    parent = ColorNet(TINY).eval()
    save_checkpoint(parent, tmp_path / "parent.safetensors")
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (40, 40, 3), dtype=np.uint8) for _ in range(3)]
    config = TrainConfig(
        crop=32,
        batch_size=2,
        steps=3,
        warmup_steps=1,
        log_every_s=1e9,
        global_hint_fraction=1.0,
        trainable="global_hints",
        extra={"global_hints": True},
    )
    out = tmp_path / "child.safetensors"
    train(images, out, config, init_weights=tmp_path / "parent.safetensors", log=lambda s: None)
    state, network_config, _ = load_state_dict(out)
    assert network_config == GROWN
    assert state["global_hint_mlp.4.weight"].abs().sum() > 0  # the branch learnt
    for name, tensor in parent.state_dict().items():  # BatchNorm statistics included
        assert torch.equal(state[name], tensor), name


def test_only_a_network_with_the_branch_can_train_it(tmp_path):
    config = TrainConfig(crop=32, batch_size=1, steps=1, trainable="global_hints")
    with pytest.raises(ValueError, match="global-hint branch"):
        train([np.zeros((40, 40, 3), np.uint8)], tmp_path / "x.safetensors", config, network_config=TINY, log=print)
    with pytest.raises(ValueError, match="trainable"):
        TrainConfig(trainable="encoder")
    with pytest.raises(ValueError, match="global_hint_fraction"):
        TrainConfig(global_hint_fraction=1.5)


# --- the hints document's "global" member and the colorizer ---------------------------------------


def test_a_palette_document_parses_and_round_trips():
    from colorization.engine.hints import parse_hints

    doc = {
        "global": {
            "palette": [{"color": "#7A5230", "weight": 3}, {"color": "#8da0b8", "weight": 1}],
            "saturation": 0.8,
            "source": {"kind": "reference", "name": "plate 14.jpg", "box": [0, 0, 40, 30]},
        }
    }
    hints = parse_hints(doc, 10, 10)
    assert hints.has_local is False and hints.is_empty is False
    assert hints.to_dict()["global"] == {
        "palette": [{"color": "#7a5230", "weight": 3.0}, {"color": "#8da0b8", "weight": 1.0}],
        "saturation": 0.8,
        "source": {"kind": "reference", "name": "plate 14.jpg", "box": [0, 0, 40, 30]},
    }
    assert parse_hints(hints.to_dict(), 10, 10) == hints
    hint = hints.global_hint()
    assert hint.weights == pytest.approx((0.75, 0.25)) and hint.saturation == 0.8


def test_a_tint_is_its_colour_at_the_given_strength():
    from colorization.engine.hints import color_to_ab, parse_hints

    hint = parse_hints({"global": {"tint": {"color": "#c08a4a", "strength": 0.5}}}, 10, 10).global_hint()
    a, b = color_to_ab("#c08a4a")
    assert hint.mean_ab() == pytest.approx((a / 2, b / 2))


@pytest.mark.parametrize(
    "member, field",
    [
        ("nonsense", "global must be an object"),
        ({}, 'exactly one of "palette" or "tint"'),
        ({"palette": [], "tint": {}}, 'exactly one of "palette" or "tint"'),
        ({"palette": []}, "global.palette must be a non-empty list"),
        ({"palette": [{"color": "red"}]}, "global.palette[0].color"),
        ({"palette": [{"color": "#aabbcc", "weight": -1}]}, "global.palette[0].weight must not be negative"),
        ({"palette": [{"color": "#aabbcc", "weight": "x"}]}, "global.palette[0].weight must be a number"),
        ({"palette": [{"color": "#aabbcc", "weight": 0}, {"color": "#aabbcc", "weight": 0}]}, "add up to zero"),
        ({"palette": [{"color": "#aabbcc"}] * 33}, "too many colours: 33"),
        ({"palette": [{"color": "#aabbcc", "shade": 1}]}, "global.palette[0] has unknown field"),
        ({"palette": [{"color": "#aabbcc"}], "saturation": 3}, "global.saturation must be from 0 to 2"),
        ({"palette": [{"color": "#aabbcc"}], "saturation": float("nan")}, "global.saturation must be a finite"),
        ({"tint": {"color": "#aabbcc", "strength": 0}}, "global.tint.strength"),
        ({"tint": {"color": "#aabbcc"}}, "global.tint is missing"),
        ({"palette": [{"color": "#aabbcc"}], "source": {"kind": "magic"}}, "global.source.kind"),
        ({"palette": [{"color": "#aabbcc"}], "source": {"kind": "reference", "box": [5, 5, 1, 9]}}, "right > left"),
        ({"palette": [{"color": "#aabbcc"}], "source": {"kind": "reference", "name": "a\x00b"}}, "global.source.name"),
    ],
)
def test_a_malformed_global_member_names_its_field(member, field):
    from colorization.engine.hints import HintError, parse_hints

    with pytest.raises(HintError) as caught:
        parse_hints({"global": member}, 10, 10)
    assert field in str(caught.value)


def test_the_colorizer_gives_the_hint_to_a_network_with_the_branch(tmp_path, make_luminance):
    from colorization.engine.inference import Colorizer

    torch.manual_seed(6)
    model = ColorNet(GROWN)
    for p in model.global_hint_mlp.parameters():
        p.data.normal_(0, 0.3)
    save_checkpoint(model, tmp_path / "grown.safetensors")
    colorizer = Colorizer.load(tmp_path / "grown.safetensors", device="cpu", precision="fp32")
    L = make_luminance(40, 56)
    plain = colorizer.colorize(L, render_size=48)
    doc = {"global": {"palette": [{"color": "#2050c0", "weight": 1}]}}
    given = colorizer.colorize(L, doc, render_size=48)
    assert not np.array_equal(plain, given)
    assert np.array_equal(colorizer.colorize(L, {"points": []}, render_size=48), plain)
    # the batch carries each image's own global hint (and none for the other)
    batch = colorizer.colorize_batch([(L, doc), (L, None)], render_size=48)
    assert np.abs(batch[0].astype(int) - given).max() <= 1 and np.abs(batch[1].astype(int) - plain).max() <= 1


def test_a_network_without_the_branch_moves_its_mean_colour_to_the_hint(colorizer, make_luminance):
    from colorization.engine.hints import HintRaster

    L = make_luminance(48, 64, seed=3)
    target = GlobalHint.from_palette(np.array([[25.0, -30.0], [5.0, -10.0]]), np.array([1.0, 1.0]))
    empty = (np.zeros((2, 48, 64), np.float32), np.zeros((1, 48, 64), np.float32))
    out = colorizer.colorize(L, HintRaster(*empty, global_hint=target), render_size=64)
    lab = torch.from_numpy(out).double().div(255)
    from colorization.engine.color import rgb_to_lab

    mean_ab = rgb_to_lab(lab, dim=-1)[..., 1:].mean(dim=(0, 1))
    assert mean_ab.tolist() == pytest.approx([15.0, -20.0], abs=2.5)  # gamut mapping and 8 bits move it a little


def test_global_shift_adds_the_hints_mean_after_a_network_with_the_branch(tmp_path, make_luminance):
    from colorization.engine.color import rgb_to_lab
    from colorization.engine.inference import Colorizer

    torch.manual_seed(7)
    model = ColorNet(GROWN)
    save_checkpoint(model, tmp_path / "grown0.safetensors")  # the branch still at zero: only the shift acts
    colorizer = Colorizer(model, "cpu", precision="fp32", global_shift=1.0)
    L = make_luminance(40, 56, seed=2)
    doc = {"global": {"tint": {"color": "#3060d0", "strength": 0.4}}}
    out = colorizer.colorize(L, doc, render_size=48)
    mean = rgb_to_lab(torch.from_numpy(out).double() / 255, dim=-1)[..., 1:].mean(dim=(0, 1))
    from colorization.engine.hints import parse_hints

    target = parse_hints(doc, 56, 40).global_hint().mean_ab()
    assert mean.tolist() == pytest.approx(list(target), abs=2.5)
    colorizer.global_shift = 0.0
    assert np.array_equal(colorizer.colorize(L, doc, render_size=48), colorizer.colorize(L, render_size=48))
    with pytest.raises(ValueError, match="global_shift"):
        Colorizer(model, "cpu", global_shift=1.5)


def _shift_only_colorizer():
    from colorization.engine.inference import Colorizer

    torch.manual_seed(7)
    model = ColorNet(GROWN)  # the branch still at zero: only the mean shifts act
    return Colorizer(model, "cpu", precision="fp32", global_shift=1.0)


def _clicks(h: int, w: int, points: list[tuple[int, int]], ab: tuple[float, float]):

    hint_ab = np.zeros((2, h, w), np.float32)
    mask = np.zeros((1, h, w), np.float32)
    for y, x in points:
        hint_ab[:, y - 1 : y + 2, x - 1 : x + 2] = np.array(ab, np.float32)[:, None, None]
        mask[:, y - 1 : y + 2, x - 1 : x + 2] = 1
    return hint_ab, mask


def test_after_a_few_local_hints_the_mean_colour_is_moved_back_to_the_global_hints(make_luminance):
    from colorization.engine.defaults import GLOBAL_HINT_FREE_SCALE
    from colorization.engine.hints import HintRaster
    from colorization.engine.inference import RenderOptions
    from colorization.engine.propagation import propagate_with_confidence

    colorizer = _shift_only_colorizer()
    L = make_luminance(48, 64, seed=4)
    target = GlobalHint.from_palette(np.array([[30.0, -20.0]]), np.array([1.0]))
    hint_ab, mask = _clicks(48, 64, [(24, 32)], (-20.0, 40.0))  # one click far from the hint's colour
    job = colorizer._job(L, HintRaster(hint_ab, mask, target), 64)  # working grid = the image
    ab = colorizer.predict_ab([job])[0]
    # the click keeps its colour exactly
    assert torch.equal(ab[:, mask[0] > 0], torch.from_numpy(hint_ab[:, mask[0] > 0]))
    # the mean moves back to the hint's as far as the click leaves room: most of the way
    shifted = colorizer.predict_ab([job], RenderOptions(propagate_hints=False))[0]
    propagated, confidence = propagate_with_confidence(shifted, job.L, job.hint_ab, job.mask)
    room = 1 - math.exp(-float((1 - confidence).mean()) / GLOBAL_HINT_FREE_SCALE)
    assert 0.5 < room < 1
    before = propagated.mean(dim=(1, 2))
    expected = before + room * (torch.tensor([30.0, -20.0]) - before)
    assert ab.mean(dim=(1, 2)).tolist() == pytest.approx(expected.tolist(), abs=0.01)
    assert float((ab.mean(dim=(1, 2)) - torch.tensor([30.0, -20.0])).norm()) < 5
    # without the correction after the propagation, the click would pull the mean well away
    job_plain = colorizer._job(L, HintRaster(hint_ab, mask), 64)
    plain = colorizer.predict_ab([job_plain])[0]
    assert float((plain.mean(dim=(1, 2)) - torch.tensor([30.0, -20.0])).norm()) > 10


def test_dense_local_hints_keep_the_last_word_over_a_global_hint(make_luminance):
    from colorization.engine.hints import HintRaster

    colorizer = _shift_only_colorizer()
    L = make_luminance(48, 64, seed=4)
    target = GlobalHint.from_palette(np.array([[30.0, -20.0]]), np.array([1.0]))
    grid = [(y, x) for y in range(2, 48, 6) for x in range(2, 64, 6)]
    hint_ab, mask = _clicks(48, 64, grid, (-20.0, 40.0))
    ab = colorizer.predict_ab([colorizer._job(L, HintRaster(hint_ab, mask, target), 64)])[0]
    assert ab.mean(dim=(1, 2)).tolist() == pytest.approx([-20.0, 40.0], abs=3.0)


def test_the_render_loss_scores_what_the_colorizer_renders(monkeypatch):
    """Training's render loss decodes, shifts and propagates as the colorizer does: its regression
    term is the squared error of exactly the colorizer's working-resolution chroma."""
    import torch.nn.functional as F

    import colorization.engine.training as training
    from colorization.engine.color import rgb_to_lab
    from colorization.engine.inference import Colorizer

    torch.manual_seed(8)
    model = ColorNet(GROWN).eval()
    for p in model.global_hint_mlp.parameters():
        p.data.normal_(0, 0.3)
    rgb = torch.rand((1, 3, 32, 32), generator=torch.Generator().manual_seed(3))
    lab = rgb_to_lab(rgb)
    hint_ab, mask = (torch.from_numpy(a) for a in _clicks(32, 32, [(5, 6), (20, 25), (28, 3)], (30.0, -20.0)))
    hint = GlobalHint.from_palette(np.array([[20.0, 10.0], [-5.0, 30.0]]), np.array([3.0, 1.0]))
    monkeypatch.setattr(training, "simulate_hints", lambda ab, *a: (hint_ab[None], mask[None]))
    monkeypatch.setattr(
        training,
        "simulate_global_hints",
        lambda ab, config, g: (hint.vector(config)[None], torch.tensor(hint.mean_ab(), dtype=torch.float32)[None]),
    )
    config = TrainConfig(regression_loss="mse", global_hint_fraction=1.0, render_loss=True)
    _, parts = training.compute_loss(
        model, rgb, [3], torch.Generator().manual_seed(0), torch.ones(GROWN.n_bins), config
    )

    colorizer = Colorizer(model, "cpu", precision="fp32", global_shift=1.0)
    rendered = colorizer.predict_working_ab(lab[0, :1], hint_ab, mask, hint)
    expected = F.mse_loss(rendered / AB_SCALE, lab[0, 1:] / AB_SCALE).item()
    assert parts["reg"] == pytest.approx(expected, rel=1e-4)
    # ... and differs from the loss on the regression head alone
    _, head = training.compute_loss(
        model,
        rgb,
        [3],
        torch.Generator().manual_seed(0),
        torch.ones(GROWN.n_bins),
        TrainConfig(regression_loss="mse", global_hint_fraction=1.0),
    )
    assert head["reg"] != pytest.approx(expected, rel=1e-2)
