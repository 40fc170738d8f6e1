"""The engine's management commands: colorize (single and batch), evaluate_model, train_base.

They run a tiny randomly initialized model on the CPU and need no database.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from django.core.management import CommandError, call_command
from PIL import Image

from colorization.engine.checkpoint import load_state_dict, save_checkpoint, sha256_of
from colorization.engine.imageio import read_disclosure
from colorization.engine.network import ColorNet, NetworkConfig
from colorization.model_registry import UnknownModel, resolve_model
from tests import images

TINY = NetworkConfig(widths=(8, 8, 8, 8))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_checkpoint(ColorNet(TINY), path, {"slug": "tiny", "version": "7"})
    return path


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "street.jpg"
    path.write_bytes(images.jpeg(96, 64, seed=3))
    return path


def lightness(path) -> np.ndarray:
    from colorization.engine.imageio import read_luminance

    return read_luminance(path).L


def test_colorize_writes_a_labelled_colour_image_with_the_original_luminance(tiny_model, photo, tmp_path):
    out = tmp_path / "out.png"
    call_command("colorize", str(photo), str(out), "--model", str(tiny_model), "--render-size", "64")
    with Image.open(out) as im:
        assert im.mode == "RGB"
        assert im.size == (96, 64)
    assert np.abs(lightness(out) - lightness(photo)).max() <= 0.5
    disclosure = read_disclosure(out)
    assert disclosure["digital_source_type"].endswith("compositeWithTrainedAlgorithmicMedia")
    assert (disclosure["model"], disclosure["model_version"]) == ("tiny", "7")
    assert disclosure["original_sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()


def test_colorize_follows_the_output_extension(tiny_model, photo, tmp_path):
    out = tmp_path / "out.jpg"
    call_command("colorize", str(photo), str(out), "--model", str(tiny_model), "--render-size", "64")
    with Image.open(out) as im:
        assert im.format == "JPEG"
    assert read_disclosure(out)["model"] == "tiny"


def test_colorize_takes_hints_and_they_change_the_result(tiny_model, photo, tmp_path):
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"points": [{"x": 40, "y": 30, "color": "#2050d0", "size": 9}]}))
    plain, hinted = tmp_path / "plain.png", tmp_path / "hinted.png"
    call_command("colorize", str(photo), str(plain), "--model", str(tiny_model), "--render-size", "64")
    call_command(
        "colorize", str(photo), str(hinted), "--model", str(tiny_model), "--render-size", "64", "--hints", str(hints)
    )
    a = np.asarray(Image.open(plain), dtype=np.int16)
    b = np.asarray(Image.open(hinted), dtype=np.int16)
    # Blue added at the hint: the blue channel rises relative to red there.
    assert (b[30, 40, 2] - b[30, 40, 0]) > (a[30, 40, 2] - a[30, 40, 0])


def test_colorize_explains_bad_hints(tiny_model, photo, tmp_path):
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"points": [{"x": 500, "y": 30, "color": "#2050d0", "size": 3}]}))
    with pytest.raises(CommandError, match="outside"):
        call_command("colorize", str(photo), str(tmp_path / "o.png"), "--model", str(tiny_model), "--hints", str(hints))


def test_colorize_explains_unreadable_input(tiny_model, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(images.zip_file())
    with pytest.raises(CommandError, match=r"bad\.jpg"):
        call_command("colorize", str(bad), str(tmp_path / "o.png"), "--model", str(tiny_model))
    assert not (tmp_path / "o.png").exists()


def test_batch_colorize_uses_per_image_hints_and_the_chosen_format(tiny_model, tmp_path):
    src, dst, hints = tmp_path / "in", tmp_path / "out", tmp_path / "hints"
    for d in (src, hints):
        d.mkdir()
    for n in range(3):
        (src / f"photo{n}.jpg").write_bytes(images.jpeg(80, 60, seed=n))
    (hints / "photo1.json").write_text(json.dumps({"points": [{"x": 10, "y": 10, "color": "#c03020", "size": 5}]}))
    call_command(
        "colorize",
        "--input-dir", str(src), "--output-dir", str(dst), "--hints-dir", str(hints),
        "--format", "jpg", "--model", str(tiny_model), "--render-size", "64",
    )  # fmt: skip
    assert sorted(p.name for p in dst.iterdir()) == ["photo0.jpg", "photo1.jpg", "photo2.jpg"]


def test_batch_colorize_reports_failures_and_keeps_going(tiny_model, tmp_path):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "a.jpg").write_bytes(images.jpeg(seed=1))
    (src / "b.jpg").write_bytes(images.truncated_jpeg())
    with pytest.raises(CommandError, match=r"b\.jpg"):
        call_command("colorize", "--input-dir", str(src), "--output-dir", str(dst), "--model", str(tiny_model))
    assert (dst / "a.png").exists()


def _mean_ab(path) -> np.ndarray:
    from colorization.engine.color import rgb_to_lab

    rgb = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).double() / 255
    return rgb_to_lab(rgb, dim=-1)[..., 1:].mean(dim=(0, 1)).numpy()


def _flat(path, rgb) -> None:
    Image.new("RGB", (40, 30), rgb).save(path)


def test_colorize_takes_a_reference_photograph_or_a_palette(tiny_model, photo, tmp_path):
    plain, out, boxed, palette = (tmp_path / f"{n}.png" for n in ("plain", "ref", "boxed", "palette"))
    reference = tmp_path / "plate.jpg"
    two = Image.new("RGB", (80, 40), (40, 80, 210))
    two.paste((200, 60, 40), (40, 0, 80, 40))  # right half red
    two.save(reference)
    call_command("colorize", str(photo), str(plain), "--model", str(tiny_model))
    call_command("colorize", str(photo), str(out), "--model", str(tiny_model), "--reference", str(reference))
    call_command(
        "colorize", str(photo), str(boxed), "--model", str(tiny_model), "--reference", str(reference),
        "--reference-box", "0,0,40,40",
    )  # fmt: skip
    call_command("colorize", str(photo), str(palette), "--model", str(tiny_model), "--palette", "#2850d2:1")
    # The tiny model has no global-hint branch, so it takes the hint's mean colour.
    assert _mean_ab(boxed)[1] < _mean_ab(out)[1] - 10  # the blue half alone is bluer than the whole
    assert _mean_ab(palette)[1] < -30
    assert np.abs(lightness(palette) - lightness(photo)).max() < 0.5  # the original's lightness, always


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--palette", "#zzzzzz:1"], "global.palette\\[0\\].color"),
        (["--palette", "#aabbcc:-1"], "must not be negative"),
        (["--palette", "#aabbcc:x"], "is not a weight"),
        (["--palette", "#aabbcc:0"], "add up to zero"),
        (["--reference-box", "0,0,5,5"], "needs --reference"),
        (["--reference", "missing.jpg"], "reference missing.jpg"),
        (["--reference", "REF", "--palette", "#aabbcc"], "not both"),
        (["--reference", "REF", "--reference-box", "0,0,500,500"], "outside the reference"),
        (["--reference", "REF", "--reference-box", "5,5,1,1"], "left < right"),
    ],
)
def test_colorize_explains_bad_global_hints(tiny_model, photo, tmp_path, extra, message):
    _flat(tmp_path / "ref.png", (10, 200, 30))
    extra = [str(tmp_path / "ref.png") if v == "REF" else v for v in extra]
    with pytest.raises(CommandError, match=message):
        call_command("colorize", str(photo), str(tmp_path / "out.png"), "--model", str(tiny_model), *extra)


def test_batch_colorize_takes_the_reference_with_each_inputs_stem(tiny_model, tmp_path):
    src, refs, out = tmp_path / "in", tmp_path / "refs", tmp_path / "out"
    src.mkdir()
    refs.mkdir()
    for name in ("a", "b"):
        (src / f"{name}.jpg").write_bytes(images.jpeg(64, 48, seed=1))
    _flat(refs / "a.webp", (30, 60, 220))  # any image extension
    _flat(refs / "unrelated.png", (220, 30, 30))
    call_command(
        "colorize", "--input-dir", str(src), "--output-dir", str(out), "--reference-dir", str(refs),
        "--model", str(tiny_model),
    )  # fmt: skip
    assert _mean_ab(out / "a.png")[1] < _mean_ab(out / "b.png")[1] - 20  # a took its blue reference, b none


def test_evaluate_model_reports_with_and_without_global_hints(tiny_model, tmp_path, capsys):
    folder = tmp_path / "val"
    folder.mkdir()
    for n in range(2):
        images.colour_photo(56, 40, seed=n).save(folder / f"c{n}.png")
    call_command(
        "evaluate_model", "--images", str(folder), "--model", str(tiny_model), "--hints", "0", "--json",
        "--render-size", "64", "--global-hints",
    )  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    without, given = result["hints"]["0"], result["with_global_hints"]["hints"]["0"]
    assert given["psnr"] > without["psnr"]  # the photo's own mean colour beats a random network's guess
    assert given["delta_L_max"] <= 0.5


def test_colorize_refuses_an_unknown_model(photo, tmp_path):
    with pytest.raises(CommandError, match="no model with the slug"):
        call_command("colorize", str(photo), str(tmp_path / "o.png"), "--model", "nonexistent")


def test_models_resolve_by_slug_or_path(tiny_model):
    assert resolve_model(str(tiny_model)) == tiny_model
    assert resolve_model("base").name == "colornet-base.safetensors"
    with pytest.raises(UnknownModel):
        resolve_model("/no/such/model.safetensors")


def test_evaluate_model_reports_metrics_per_hint_count(tiny_model, tmp_path, capsys):
    folder = tmp_path / "val"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for n in range(2):
        rgb = rng.integers(0, 255, size=(40, 56, 3), dtype=np.uint8)
        Image.fromarray(rgb).save(folder / f"c{n}.png")
    call_command(
        "evaluate_model", "--images", str(folder), "--model", str(tiny_model), "--hints", "0,5", "--json",
        "--render-size", "64",
    )  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 2
    assert set(result["hints"]) == {"0", "5"}
    for metrics in result["hints"].values():
        assert metrics["delta_L_max"] <= 0.5
        assert {"psnr", "ssim", "ciede2000", "colourfulness_ratio", "psnr_gain_over_grey"} <= set(metrics)
    assert result["model"] == "tiny"


def test_evaluate_model_explains_bad_hint_counts(tiny_model, tmp_path):
    with pytest.raises(CommandError, match="whole numbers"):
        call_command("evaluate_model", "--images", str(tmp_path), "--model", str(tiny_model), "--hints", "a,b")


def _training_folder(tmp_path, count: int, size: tuple[int, int], seed: int):
    folder = tmp_path / "train"
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for n in range(count):
        Image.fromarray(rng.integers(0, 255, size=(*size, 3), dtype=np.uint8)).save(folder / f"t{n}.png")
    return folder


def test_train_base_trains_and_writes_a_loadable_checkpoint(tmp_path):
    folder = _training_folder(tmp_path, 4, (48, 64), seed=1)
    out = tmp_path / "model.safetensors"
    call_command(
        "train_base", "--images", str(folder), "--steps", "2", "--batch-size", "2", "--crop", "32",
        "--out", str(out), "--slug", "mini", "--model-version", "3",
    )  # fmt: skip
    _, _, meta = load_state_dict(out)
    assert (meta["slug"], meta["version"]) == ("mini", "3")
    assert json.loads(meta["summary"])["steps"] == 2
    assert not (tmp_path / "model.safetensors.state.pt").exists()


def test_train_base_continues_a_model_with_new_settings(tmp_path):
    folder = _training_folder(tmp_path, 3, (40, 90), seed=2)
    first, second = tmp_path / "v1.safetensors", tmp_path / "v2.safetensors"
    common = ["--images", str(folder), "--steps", "1", "--batch-size", "2", "--crop", "32"]
    call_command("train_base", *common, "--out", str(first))
    call_command(
        "train_base", *common, "--out", str(second), "--init", str(first), "--regression-loss", "mse",
        "--ce-weight", "0.25", "--lr", "1e-3", "--fit-long-side", "48", "--ema-decay", "0.9", "--model-version", "2",
        "--global-context",
    )  # fmt: skip
    v1, v1_config, _ = load_state_dict(first)
    v2, v2_config, meta = load_state_dict(second)
    assert (v1_config.global_context, v2_config.global_context) == (False, True)
    train_config = json.loads(meta["summary"])["train_config"]
    assert (train_config["regression_loss"], train_config["ce_weight"], train_config["lr"]) == ("mse", 0.25, 1e-3)
    assert train_config["ema_decay"] == 0.9
    assert train_config["extra"] == {"fit_long_side": 48, "init": str(first), "global_context": True}
    assert meta["version"] == "2"
    assert meta["parent"] == f"base v1 (sha256 {sha256_of(first)})"
    # one warm-up step from v1's weights moves them a little; fresh weights would be unrelated
    learnt = [k for k in v1 if v1[k].is_floating_point() and "running" not in k]
    drift = max((v2[k] - v1[k]).abs().max().item() for k in learnt)
    assert 0 < drift < 1e-3


def test_train_base_explains_bad_settings(tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    common = ["--images", str(folder), "--steps", "1", "--out", str(tmp_path / "m.safetensors")]
    with pytest.raises(CommandError, match="no such file"):
        call_command("train_base", *common, "--init", str(tmp_path / "missing.safetensors"))
    with pytest.raises(CommandError, match="give --minutes or --steps"):
        call_command("train_base", "--images", str(folder))


def test_train_base_refuses_validation_folders(tmp_path):
    folder = tmp_path / "val" / "bsds"
    folder.mkdir(parents=True)
    with pytest.raises(CommandError, match="validation"):
        call_command("train_base", "--images", str(folder), "--steps", "1", "--out", str(tmp_path / "m.safetensors"))
