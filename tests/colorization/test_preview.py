"""The editor's endpoints: live preview and suggested colours."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone
from PIL import Image

from colorization.engine.imageio import read_disclosure
from colorization.preview import preview_cache_clear
from colorization.tasks import colorize_draft
from tests import images

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(colorize_draft, "apply_async", lambda *a, **k: None)
    preview_cache_clear()


@pytest.fixture
def photo(owner, make_photo, tiny_base_model):
    return make_photo(owner, data=images.jpeg(900, 600, seed=5), title="Harbour")


def preview(client, photo, hints=None, **params):
    return client.post(f"/api/v1/photos/{photo.pk}/preview/", {"hints": hints or {}, **params}, format="json")


def decode(response) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(int)


def test_a_preview_is_a_labelled_png_at_most_512_px(api, owner, photo):
    response = preview(api(owner), photo)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert (response["X-Model"], response["X-Model-Version"]) == ("base", "test")
    rgb = decode(response)
    assert rgb.shape == (341, 512, 3)  # 900×600 -> long side 512, aspect kept
    disclosure = read_disclosure(response.content)
    assert disclosure["digital_source_type"].endswith("compositeWithTrainedAlgorithmicMedia")
    assert disclosure["original_sha256"] == photo.original_sha256


def test_a_hint_moves_the_colour_at_its_place_toward_the_hint(api, owner, photo):
    client = api(owner)
    before = decode(preview(client, photo))
    hints = {"points": [{"x": 300, "y": 200, "color": "#d01010", "size": 9}]}
    after = decode(preview(client, photo, hints))
    px, py = round(300 * 512 / 900), round(200 * 341 / 600)
    r0, g0, b0 = before[py, px]
    r1, g1, b1 = after[py, px]
    assert (r1 - (g1 + b1) / 2) > (r0 - (g0 + b0) / 2) + 20  # much redder than before


def test_the_same_hints_give_the_same_preview(api, owner, photo):
    client = api(owner)
    hints = {"strokes": [{"points": [[10, 10], [400, 300]], "color": "#3b5e2b", "width": 12}]}
    assert preview(client, photo, hints).content == preview(client, photo, hints).content


@pytest.mark.parametrize(
    ("hints", "message"),
    [
        ({"points": [{"x": 900, "y": 10, "color": "#ff0000"}]}, "outside"),
        ({"points": [{"x": 10, "y": -1, "color": "#ff0000"}]}, "outside"),
        ({"points": [{"x": 10, "y": 10, "color": "red"}]}, "color"),
        ({"points": [{"x": 10, "y": 10, "color": "#ff0000", "size": 12}]}, "size"),
        ({"points": [{"x": 1, "y": 1, "color": "#ff0000"}] * 1001}, "too many points"),
        ({"dots": []}, "dots"),
        ([1, 2], "JSON object"),
    ],
    ids=["right-of-image", "above-image", "colour-name", "size-too-big", "too-many", "unknown-key", "not-object"],
)
def test_bad_hints_get_a_clear_400(api, owner, photo, hints, message):
    response = preview(api(owner), photo, hints)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid"
    assert message in " ".join(body["fields"]["hints"])


def test_bad_preview_parameters_are_explained(api, owner, photo):
    response = preview(api(owner), photo, size=2000, saturation=3)
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"size", "saturation"}


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("other", 404), ("owner", 200)])
def test_previews_need_an_account_and_a_visible_photo(api, owner, other_user, photo, who, status):
    photo.hidden_at = timezone.now()
    photo.save()
    user = {"owner": owner, "other": other_user, None: None}[who]
    assert preview(api(user), photo).status_code == status


def test_suggestions_are_distinct_hex_colours(api, owner, photo):
    response = api(owner).post(f"/api/v1/photos/{photo.pk}/suggest/", {"x": 450, "y": 300, "k": 4}, format="json")
    assert response.status_code == 200
    colours = response.json()["colors"]
    assert 1 <= len(colours) <= 4
    assert len(set(colours)) == len(colours)
    assert all(c.startswith("#") and len(c) == 7 for c in colours)


def test_a_suggestion_outside_the_photo_is_refused(api, owner, photo):
    response = api(owner).post(f"/api/v1/photos/{photo.pk}/suggest/", {"x": 900, "y": 10}, format="json")
    assert response.status_code == 400
    assert "outside the photo" in response.json()["fields"]["x"][0]


def test_the_editor_endpoints_are_in_the_schema(client):
    schema = client.get("/api/schema/").content.decode()
    for path in ("/api/v1/photos/{id}/preview/", "/api/v1/photos/{id}/suggest/", "/api/v1/photos/{id}/corrections/"):
        assert path in schema


def test_a_client_that_accepts_only_png_gets_the_png(api, owner, photo):
    response = api(owner).post(
        f"/api/v1/photos/{photo.pk}/preview/", {"hints": {}}, format="json", HTTP_ACCEPT="image/png"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


def test_errors_are_json_even_when_only_png_is_accepted(api, owner, photo):
    bad = {"hints": {"points": [{"x": 5000, "y": 1, "color": "#ff0000"}]}}
    response = api(owner).post(f"/api/v1/photos/{photo.pk}/preview/", bad, format="json", HTTP_ACCEPT="image/png")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "outside the image" in response.json()["detail"]
    anonymous = api().post(f"/api/v1/photos/{photo.pk}/preview/", {}, format="json", HTTP_ACCEPT="image/png")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "not_authenticated"


@pytest.mark.parametrize("render_size", [32, 513, "big"])
def test_a_render_size_out_of_bounds_is_refused(api, owner, photo, render_size):
    response = preview(api(owner), photo, render_size=render_size)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["render_size"]


def test_the_render_size_is_the_networks_resolution_and_defaults_to_the_drafts(api, owner, photo, settings):
    client = api(owner)
    hints = {"points": [{"x": 300, "y": 200, "color": "#d01010", "size": 9}]}
    default = preview(client, photo, hints).content
    assert preview(client, photo, hints, render_size=settings.CHROMA_DEFAULT_RENDER_SIZE).content == default
    large = preview(client, photo, hints, render_size=512)
    assert large.status_code == 200 and large.content != default
    assert decode(large).shape == decode(preview(client, photo, hints)).shape == (341, 512, 3)


def test_a_render_size_above_the_preview_size_is_capped_by_it(api, owner, photo):
    client = api(owner)
    assert (
        preview(client, photo, size=128, render_size=512).content
        == preview(client, photo, size=128, render_size=128).content
    )


def test_suggestions_take_a_render_size(api, owner, photo):
    url = f"/api/v1/photos/{photo.pk}/suggest/"
    assert api(owner).post(url, {"x": 10, "y": 10, "render_size": 128}, format="json").status_code == 200
    assert api(owner).post(url, {"x": 10, "y": 10, "render_size": 4096}, format="json").status_code == 400


def test_web_processes_get_passive_openmp_and_one_torch_thread_unless_told_otherwise(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from config.web_threads import configure_web_threads

    monkeypatch.delenv("CHROMA_WEB_TORCH_THREADS", raising=False)
    env: dict[str, str] = {}
    configure_web_threads(env)
    assert env == {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    chosen = {"OMP_NUM_THREADS": "4", "OMP_WAIT_POLICY": "ACTIVE"}
    configure_web_threads(chosen)
    assert chosen["OMP_NUM_THREADS"] == "4" and chosen["OMP_WAIT_POLICY"] == "ACTIVE"
    monkeypatch.setenv("CHROMA_WEB_TORCH_THREADS", "2")
    env = {}
    configure_web_threads(env)
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "2"
    monkeypatch.setenv("CHROMA_WEB_TORCH_THREADS", "many")
    with pytest.raises(ImproperlyConfigured, match="CHROMA_WEB_TORCH_THREADS='many' is not a whole number"):
        configure_web_threads({})


@pytest.mark.parametrize("entry", ["config.wsgi", "config.asgi"])
def test_both_web_entry_points_set_the_thread_environment(entry):
    code = f"import os, {entry}; print(os.environ['OMP_WAIT_POLICY'], os.environ['OMP_NUM_THREADS'])"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MKL_", "CHROMA_WEB_TORCH"))}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["PASSIVE", "1"]


def chroma(rgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """Lab (a, b) of an RGB array (H,W,3), area-averaged to ``size`` (h, w) when given."""
    import torch

    from colorization.engine.color import rgb_to_lab

    lab = rgb_to_lab(torch.from_numpy(rgb.astype(np.float32) / 255).permute(2, 0, 1))
    ab = lab[1:][None]
    if size is not None:
        ab = torch.nn.functional.interpolate(ab, size=size, mode="area")
    return ab[0].numpy()


def test_the_preview_shows_what_the_worker_will_render(api, owner, make_photo, tiny_base_model):
    """Same model, render size and hints: the preview's colours are the full-resolution render's.

    Compared in chroma (Lab a, b, area-averaged to the preview's size): the lightness is the
    photo's own in both, and averaging sRGB values of a textured photo would differ by itself.
    """
    from colorization.drafting import draft_request

    scene = images.luminance_of(images.colour_photo(900, 600, seed=3))  # a scene, not noise
    photo = make_photo(owner, data=images.encode(scene, "PNG"), title="Scene")
    hints = {
        "points": [{"x": 300, "y": 200, "color": "#d01010", "size": 9}],
        "strokes": [{"points": [[600, 100], [800, 400]], "color": "#2040c0", "width": 12}],
    }
    draft = draft_request(photo=photo, hints=hints, render_size=224)
    colorize_draft.apply(args=[draft.pk])
    draft.refresh_from_db()
    with draft.image.open("rb") as f:
        full = np.asarray(Image.open(io.BytesIO(f.read())).convert("RGB"))
    client = api(owner)
    shown = decode(preview(client, photo, hints, render_size=224))
    rendered = chroma(full, shown.shape[:2])
    difference = np.abs(chroma(shown) - rendered).mean()
    without_hints = np.abs(chroma(decode(preview(client, photo, render_size=224))) - rendered).mean()
    print(f"mean |Δab| preview vs render {difference:.2f}, without the hints {without_hints:.2f}")
    assert difference < 1.0  # measured 0.22 (tiny model) and 0.26 (the base model)
    assert without_hints > 10 * difference  # the hints are what the comparison sees
