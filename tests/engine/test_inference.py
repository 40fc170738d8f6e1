"""The colorizer end to end, with a tiny random network: shapes, exact luminance, hints, safety, batching."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

from colorization.engine import inference, reconstruction
from colorization.engine.checkpoint import CheckpointError, load_model
from colorization.engine.color import rgb_to_lab, rgb_to_lightness
from colorization.engine.hints import HintRaster, color_to_ab
from colorization.engine.imageio import LumaImage, encode, read_luminance
from colorization.engine.inference import Colorizer, RenderOptions, working_size


def lab_of(rgb: np.ndarray) -> np.ndarray:
    return rgb_to_lab(torch.from_numpy(rgb).double() / 255, dim=-1).numpy()


def max_lightness_error(rgb: np.ndarray, L: np.ndarray) -> float:
    return float(np.abs(rgb_to_lightness(torch.from_numpy(rgb).double() / 255, dim=-1)[..., 0].numpy() - L).max())


def two_regions(h: int = 96, w: int = 128) -> np.ndarray:
    """Left half L* 40, right half L* 75, with a little grain."""
    L = np.where(np.arange(w)[None, :] < w // 2, 40.0, 75.0) + np.random.default_rng(0).normal(0, 0.5, (h, w))
    return L.astype(np.float32)


def test_output_shape_and_type(colorizer, make_luminance):
    out = colorizer.colorize(make_luminance(50, 70))
    assert out.shape == (50, 70, 3) and out.dtype == np.uint8


@pytest.mark.parametrize("saturation", [1.0, 2.0])
def test_luminance_is_preserved_up_to_8_bit_rounding(colorizer, make_luminance, saturation):
    L = make_luminance(120, 200, seed=3)
    hints = {"points": [{"x": 20, "y": 30, "color": "#ff00ff", "size": 9}], "strokes": []}
    out = colorizer.colorize(L, hints, render_size=64, options=RenderOptions(saturation=saturation))
    assert max_lightness_error(out, L) <= 0.5


def test_a_hint_recolours_its_region_and_not_the_other(colorizer):
    L = two_regions()
    target = np.array(color_to_ab("#1f5f9f"))
    hints = {"points": [{"x": 30, "y": 48, "color": "#1f5f9f", "size": 5}]}
    before = lab_of(colorizer.colorize(L))[..., 1:]
    after = lab_of(colorizer.colorize(L, hints))[..., 1:]
    # at the hint, and 15 px away in the same region, the colour is now (close to) the hint's
    for y, x in [(48, 30), (48, 45), (35, 30)]:
        assert np.linalg.norm(after[y, x] - target) < 0.5 * np.linalg.norm(before[y, x] - target)
    assert np.linalg.norm(after[48, 30] - target) < 8
    # across the luminance edge the other region stays as it was
    assert np.abs(after[:, 80:] - before[:, 80:]).max() < 3


def test_without_propagation_the_network_alone_sees_the_hint(colorizer):
    L = two_regions()
    hints = {"points": [{"x": 30, "y": 48, "color": "#1f5f9f", "size": 5}]}
    plain = colorizer.colorize(L, hints, options=RenderOptions(propagate_hints=False))
    assert not np.array_equal(plain, colorizer.colorize(L, options=RenderOptions(propagate_hints=False)))


def test_a_full_resolution_hint_raster_is_accepted(colorizer):
    L = two_regions()
    ab = np.zeros((2, *L.shape), np.float32)
    mask = np.zeros((1, *L.shape), np.float32)
    ab[:, 40:45, 20:25] = np.array(color_to_ab("#2050d0"), np.float32)[:, None, None]
    mask[:, 40:45, 20:25] = 1
    out = colorizer.colorize(L, HintRaster(ab, mask), render_size=64)
    assert np.linalg.norm(lab_of(out)[42, 22, 1:] - ab[:, 42, 22]) < 10
    assert np.array_equal(colorizer.colorize(L, (ab, mask), render_size=64), out)  # a plain (ab, mask) pair
    with pytest.raises(ValueError, match="hint raster is"):
        colorizer.colorize(L, HintRaster(ab[:, :10], mask[:, :10]))


def test_same_inputs_give_identical_bytes(colorizer, tiny_model_path, make_luminance):
    L = make_luminance(80, 100)
    hints = {
        "points": [{"x": 10, "y": 10, "color": "#335577"}],
        "strokes": [{"points": [[5, 70], [90, 60]], "color": "#aa8844"}],
    }
    first = encode(colorizer.colorize(L, hints, render_size=48), "png")
    assert encode(colorizer.colorize(L.copy(), hints, render_size=48), "png") == first
    model, _ = load_model(tiny_model_path)
    fresh = Colorizer(model, "cpu", precision="fp32")  # not the cached instance
    assert encode(fresh.colorize(L, hints, render_size=48), "png") == first


def test_models_are_cached_per_path_and_device(tiny_model_path, colorizer):
    assert Colorizer.load(tiny_model_path, device="cpu", precision="fp32") is colorizer


def test_pickle_and_foreign_files_are_refused(tmp_path, tiny_model_path):
    model, _ = load_model(tiny_model_path)
    pickled = tmp_path / "model.pt"
    torch.save(model.state_dict(), pickled)
    with pytest.raises(CheckpointError, match="not a safetensors model file"):
        Colorizer.load(pickled)
    garbage = tmp_path / "model.safetensors"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError):
        Colorizer.load(garbage)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign), metadata={"format": "something-else"})
    with pytest.raises(CheckpointError, match="is not a Chroma Commons model"):
        Colorizer.load(foreign)
    with pytest.raises(CheckpointError, match="not found"):
        Colorizer.load(tmp_path / "missing.safetensors")


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the fallback on machines without CUDA")
def test_cuda_request_falls_back_to_cpu_with_a_warning(monkeypatch, tiny_model_path, make_luminance):
    monkeypatch.setenv("COLORIZE_DEVICE", "cuda")
    with pytest.warns(UserWarning, match="'cuda' was requested but is not available; using the CPU"):
        colorizer = Colorizer.load(tiny_model_path)
    assert colorizer.device == torch.device("cpu")
    assert colorizer.colorize(make_luminance(20, 30)).shape == (20, 30, 3)


def test_device_setting_is_validated(monkeypatch):
    monkeypatch.setenv("COLORIZE_DEVICE", "cpu")
    assert inference.resolve_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="unknown device"):
        inference.resolve_device("toaster")


@pytest.mark.parametrize(("h", "w"), [(1, 300), (300, 1), (1, 1), (3, 4000), (4000, 3), (17, 33)])
def test_odd_sizes(colorizer, make_luminance, h, w):
    L = make_luminance(h, w)
    out = colorizer.colorize(L, render_size=256)
    assert out.shape == (h, w, 3)
    assert max_lightness_error(out, L) <= 0.5


def test_working_resolution_keeps_aspect_and_never_upscales():
    assert working_size(3000, 2000, 512) == (512, 341)
    assert working_size(2000, 3000, 512) == (341, 512)
    assert working_size(100, 50, 512) == (100, 50)
    assert working_size(4000, 3, 512) == (512, 1)


def test_16_bit_tiff_input(colorizer):
    values = np.linspace(2000, 60000, 64 * 48).reshape(48, 64).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(values).save(buf, "TIFF")
    buf.seek(0)
    image = read_luminance(buf)
    assert image.bit_depth == 16
    out = colorizer.colorize(image, render_size=32)
    assert out.shape == (48, 64, 3)
    assert max_lightness_error(out, image.L) <= 0.5


def test_batch_equals_individual_results(colorizer, make_luminance):
    same_a, same_b = make_luminance(60, 90, seed=1), make_luminance(60, 90, seed=2)
    other = make_luminance(40, 120, seed=3)
    hints = {"points": [{"x": 5, "y": 5, "color": "#884422"}]}
    items = [(same_a, hints), (same_b, None), (other, None)]
    batch = colorizer.colorize_batch(items, render_size=64)
    alone = [colorizer.colorize(L, h, render_size=64) for L, h in items]
    assert [b.shape for b in batch] == [(60, 90, 3), (60, 90, 3), (40, 120, 3)]
    # same padded working shape as alone: identical
    assert np.abs(batch[0].astype(int) - alone[0]).max() <= 1
    assert np.abs(batch[1].astype(int) - alone[1]).max() <= 1
    # padded further than alone: only the border near the extra padding may differ a little
    diff = np.abs(batch[2].astype(int) - alone[2])
    assert diff.mean() < 2


def test_batch_is_one_forward_pass(colorizer, make_luminance, monkeypatch):
    calls = []
    forward = colorizer.model.forward
    monkeypatch.setattr(colorizer.model, "forward", lambda x, g=None: calls.append(x.shape) or forward(x, g))
    colorizer.colorize_batch([(make_luminance(30, 40), None), (make_luminance(50, 20), None)], render_size=64)
    assert calls == [torch.Size([2, 4, 64, 48])]


def test_strips_and_chunks_do_not_change_the_result(colorizer, make_luminance, monkeypatch):
    L = make_luminance(150, 211, seed=4)
    whole = colorizer.colorize(L, render_size=40)
    monkeypatch.setattr(reconstruction, "STRIP_PIXELS", 5000)
    monkeypatch.setattr(reconstruction, "CHUNK_PIXELS", 700)
    monkeypatch.setattr(reconstruction, "CPU_CHUNK_PIXELS", 700)
    assert np.array_equal(colorizer.colorize(L, render_size=40), whole)


def test_decode_modes_and_saturation(colorizer, make_luminance):
    L = make_luminance(40, 60)
    outs = {d: colorizer.colorize(L, options=RenderOptions(decode=d)) for d in inference.DECODES}
    assert all(o.shape == (40, 60, 3) for o in outs.values())
    assert not np.array_equal(outs["regression"], outs["annealed"])
    grey = colorizer.colorize(L, options=RenderOptions(saturation=0))
    assert np.abs(grey.astype(int) - grey[..., :1]).max() <= 1
    with pytest.raises(ValueError, match="decode must be one of"):
        RenderOptions(decode="median")
    with pytest.raises(ValueError, match="saturation must be in"):
        RenderOptions(saturation=2.5)
    with pytest.raises(ValueError, match="blend must be in"):
        RenderOptions(blend=1.5)


def test_preview_is_small(colorizer, make_luminance):
    image = LumaImage(make_luminance(1200, 900))
    hints = {"points": [{"x": 100, "y": 100, "color": "#aa3300", "size": 5}]}
    small = colorizer.preview(image, hints)
    assert small.shape == (512, 384, 3)
    assert colorizer.preview(image, hints, size=128).shape == (128, 96, 3)


def test_preview_runs_the_network_at_the_render_size_and_guides_its_chroma_up(colorizer, make_luminance, monkeypatch):
    image = LumaImage(make_luminance(900, 1200))
    hints = {"points": [{"x": 300, "y": 200, "color": "#aa3300", "size": 9}]}
    grids = []
    forward = colorizer._forward
    monkeypatch.setattr(colorizer, "_forward", lambda jobs: grids.append((jobs[0].w, jobs[0].h)) or forward(jobs))
    small = colorizer.preview(image, hints, size=300, render_size=96)
    assert grids == [(96, 72)]  # the draft's working grid, not the preview's
    assert small.shape == (225, 300, 3)
    # L* is the original's, area-averaged to the preview's grid
    L_small = F.interpolate(torch.from_numpy(image.L)[None, None], size=(225, 300), mode="area")[0, 0].numpy()
    assert max_lightness_error(small, L_small) <= 0.5
    # the hint shows where it was put (in the original's coordinates)
    at_hint = lab_of(small)[50, 75, 1:]
    target = np.asarray(color_to_ab("#aa3300"))
    assert np.linalg.norm(at_hint - target) < np.linalg.norm(
        lab_of(colorizer.preview(image, size=300))[50, 75, 1:] - target
    )
    # a render size above the preview's is capped at it
    grids.clear()
    colorizer.preview(image, hints, size=128, render_size=224)
    assert grids == [(128, 96)]


def test_preview_of_an_image_already_at_preview_size_is_its_render(colorizer, make_luminance):
    """The web preview passes the photo's L* at ≤ 512 px: the result is then exactly ``colorize`` of it."""
    image = LumaImage(make_luminance(240, 320))
    hints = {"points": [{"x": 40, "y": 60, "color": "#2255cc", "size": 6}]}
    preview = colorizer.preview(image, hints, size=320, render_size=96, options=RenderOptions(saturation=1.3))
    np.testing.assert_array_equal(
        preview, colorizer.colorize(image, hints, render_size=96, options=RenderOptions(saturation=1.3))
    )


def test_suggest_returns_distinct_hex_colours(colorizer, make_luminance):
    L = make_luminance(64, 64)
    colours = colorizer.suggest(L, 10, 20, k=5)
    assert 1 <= len(colours) <= 5 and len(set(colours)) == len(colours)
    assert all(len(c) == 7 and c.startswith("#") and int(c[1:], 16) >= 0 for c in colours)
    with pytest.raises(ValueError, match="outside the image"):
        colorizer.suggest(L, 64, 0)
