"""Corrections with a global colour hint: validated with errors that name the field, rendered from what
is stored (and reproduced from it), shown on the correction page, kept by "build on this correction"."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
import torch
from django.core.files.storage import default_storage
from PIL import Image

from colorization.engine.color import rgb_to_lab
from colorization.engine.imageio import read_luminance
from colorization.engine.inference import Colorizer, RenderOptions
from colorization.tasks import colorize_draft
from community.models import Correction

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quiet_broker")]
GLOBAL = {
    "palette": [{"color": "#2f5fb0", "weight": 3}, {"color": "#c8b070", "weight": 1}],
    "saturation": 1.2,
    "source": {"kind": "reference", "name": "regiment-plate.jpg", "box": [10, 10, 200, 120]},
}


def submit(client, draft, hints, **body):
    payload = {"base_draft": draft.pk, "hints": hints, "note": "Blue walls, per the plate", **body}
    return client.post(f"/api/v1/photos/{draft.photo_id}/corrections/", payload, format="json")


def rendered_rgb(correction: Correction) -> np.ndarray:
    with default_storage.open(correction.render.image.name) as f:
        return np.asarray(Image.open(io.BytesIO(f.read())).convert("RGB"))


def mean_ab(rgb: np.ndarray) -> np.ndarray:
    return rgb_to_lab(torch.from_numpy(np.array(rgb)).double() / 255, dim=-1)[..., 1:].mean(dim=(0, 1)).numpy()


def test_a_global_hint_alone_is_a_correction_and_its_render_is_reproduced_from_what_is_stored(
    api, other_user, draft, tiny_base_model
):
    response = submit(api(other_user), draft, {"global": GLOBAL})
    assert response.status_code == 201, response.content
    correction = Correction.objects.get(pk=response.json()["id"])
    stored = correction.render.hints
    assert stored["global"] == {**GLOBAL, "palette": [{**p, "weight": float(p["weight"])} for p in GLOBAL["palette"]]}
    colorize_draft.apply(args=[correction.render_id])
    correction.refresh_from_db()
    image = rendered_rgb(correction)

    # The stored hints alone make the same image, and it carries the hint's colour (the tiny model has no
    # global-hint branch, so the palette's mean colour is imposed).
    with default_storage.open(draft.photo.original.name) as f:
        luminance = read_luminance(f)
    again = Colorizer.load(tiny_base_model, "cpu", "fp32").colorize(
        luminance,
        stored,
        render_size=correction.render.render_size,
        options=RenderOptions(saturation=correction.render.saturation),
    )
    assert np.array_equal(again, image)
    with default_storage.open(draft.image.name) as f:
        before = np.asarray(Image.open(io.BytesIO(f.read())).convert("RGB"))
    assert mean_ab(image)[1] < mean_ab(before)[1] - 5  # bluer (b* lower) than the draft it corrects


@pytest.mark.parametrize(
    "member, words",
    [
        ({"palette": [{"color": "blue"}]}, "global.palette[0].color"),
        ({"palette": [{"color": "#aabbcc", "weight": -2}]}, "global.palette[0].weight must not be negative"),
        ({"palette": [{"color": "#aabbcc", "weight": 0}]}, "add up to zero"),
        ({"palette": [{"color": "#aabbcc"}] * 40}, "too many colours"),
        ({"palette": [{"color": "#aabbcc"}], "saturation": 5}, "global.saturation"),
        ({"tint": {"color": "#aabbcc", "strength": 2}}, "global.tint.strength"),
        ({}, 'exactly one of "palette" or "tint"'),
    ],
)
def test_a_malformed_global_hint_gets_a_400_naming_the_field_and_saves_nothing(api, other_user, draft, member, words):
    response = submit(api(other_user), draft, {"global": member})
    assert response.status_code == 400, response.content
    assert words in " ".join(str(m) for m in response.json()["fields"]["hints"])
    assert not Correction.objects.exists()


def test_the_preview_follows_a_global_hint(api, other_user, draft):
    url = f"/api/v1/photos/{draft.photo_id}/preview/"
    plain = api(other_user).post(url, {"hints": {}, "size": 96}, format="json")
    tinted = api(other_user).post(
        url, {"hints": {"global": {"tint": {"color": "#2050d0", "strength": 1}}}, "size": 96}, format="json"
    )
    assert plain.status_code == tinted.status_code == 200, tinted.content
    as_rgb = lambda r: np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))  # noqa: E731
    assert mean_ab(as_rgb(tinted))[1] < mean_ab(as_rgb(plain))[1] - 10
    bad = api(other_user).post(url, {"hints": {"global": {"tint": {"color": "#2050d0"}}}}, format="json")
    assert bad.status_code == 400 and "global.tint" in json.dumps(bad.json())


def test_the_correction_page_shows_the_overall_colour_and_build_on_keeps_it(client, api, other_user, draft):
    correction = Correction.objects.get(pk=submit(api(other_user), draft, {"global": GLOBAL}).json()["id"])
    colorize_draft.apply(args=[correction.render_id])
    client.force_login(other_user)
    page = client.get(f"/corrections/{correction.pk}/").content.decode()
    assert "Overall colour" in page and "#2f5fb0 · 75%" in page and "#c8b070 · 25%" in page
    assert "regiment-plate.jpg" in page and "not uploaded" in page and "saturation 1.20" in page

    editor = client.get(f"/photos/{draft.photo_id}/edit/?correction={correction.pk}").content.decode()
    config = json.loads(
        re.search(r'<script id="editor-config" type="application/json">(.*?)</script>', editor).group(1)
    )
    assert config["hints"]["global"]["palette"][0]["color"] == "#2f5fb0"


def test_an_accepted_correction_keeps_its_global_hint_in_the_training_example(
    api, other_user, draft, moderator, django_capture_on_commit_callbacks
):
    from colorization.models import TrainingExample
    from community.review import decisions

    correction = Correction.objects.get(pk=submit(api(other_user), draft, {"global": GLOBAL}).json()["id"])
    colorize_draft.apply(args=[correction.render_id])
    with django_capture_on_commit_callbacks(execute=True):
        decisions.correction_decide(
            correction_id=correction.pk, moderator=moderator, decision="accept", reason="Matches the plate"
        )
    example = TrainingExample.objects.get(source=f"correction:{correction.pk}")
    assert example.global_hint["palette"][0]["color"] == "#2f5fb0"
    assert example.global_hint["source"]["name"] == "regiment-plate.jpg"
