"""Corrections through the API and pages: hints, manual colorizations, evidence, access, reproducibility."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.html import escape
from PIL import Image

from colorization.engine.imageio import read_disclosure, read_luminance
from colorization.models import Draft, DraftPurpose
from colorization.tasks import colorize_draft
from community.accounts.services import profile_for
from community.models import Correction, CorrectionKind, CorrectionStatus
from tests import images
from tests.conftest import upload_file

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quiet_broker")]
HINTS = {
    "points": [{"x": 30, "y": 20, "color": "#b03020", "size": 5}],
    "strokes": [{"points": [[5, 5], [60, 40]], "color": "#2050a0", "width": 4}],
}


def submit(client, draft, **body):
    payload = {"base_draft": draft.pk, "hints": HINTS, "note": "Tram livery was red", **body}
    return client.post(f"/api/v1/photos/{draft.photo_id}/corrections/", payload, format="json")


def render(correction: Correction) -> Correction:
    colorize_draft.apply(args=[correction.render_id])
    correction.refresh_from_db()
    return correction


def test_a_volunteer_submits_hints_with_evidence_and_a_worker_renders_them(api, other_user, draft):
    evidence = [
        {"text": "Detroit United Railway livery, 1915", "url": "https://example.org/dur", "archive_reference": ""}
    ]
    response = submit(api(other_user), draft, evidence=evidence)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["kind"], body["author"]) == ("pending", "hints", "other")
    # Each citation also says which hints it supports (none named: the whole correction) and its
    # historians' verdicts.
    assert [{k: e[k] for k in ("text", "url", "archive_reference")} for e in body["evidence"]] == evidence
    assert [(e["kind"], e["hints"], e["status"]) for e in body["evidence"]] == [("source", [], "unverified")]
    assert body["votes"] == {"up": 0, "down": 0, "weight_up": 0.0, "weight_down": 0.0, "historians": 0}
    assert body["image_url"] is None and body["render"]["status"] == "queued"
    correction = Correction.objects.get(pk=body["id"])
    assert correction.hints["points"][0] == {"x": 30.0, "y": 20.0, "color": "#b03020", "size": 5}
    # The render repeats what made the base draft, with the hints: only the hints differ.
    render_draft = correction.render
    assert render_draft.purpose == DraftPurpose.CORRECTION
    assert (render_draft.model_sha256, render_draft.render_size, render_draft.saturation) == (
        draft.model_sha256,
        draft.render_size,
        draft.saturation,
    )
    render(correction)
    body = api(other_user).get(f"/api/v1/corrections/{correction.pk}/").json()
    assert body["image_url"].split("?")[0].endswith(".png")
    with default_storage.open(correction.render.image.name) as f:
        data = f.read()
    assert read_disclosure(data)["digital_source_type"].endswith("compositeWithTrainedAlgorithmicMedia")


def test_the_same_hints_render_the_same_image(api, other_user, draft):
    first = render(Correction.objects.get(pk=submit(api(other_user), draft).json()["id"]))
    second = render(Correction.objects.get(pk=submit(api(other_user), draft).json()["id"]))
    pixels = []
    for correction in (first, second):
        with default_storage.open(correction.render.image.name) as f:
            pixels.append(np.asarray(Image.open(f).convert("RGB")))
    assert np.array_equal(*pixels)


def test_correction_renders_are_not_listed_as_drafts(api, client, other_user, draft):
    render(Correction.objects.get(pk=submit(api(other_user), draft).json()["id"]))
    photo = draft.photo
    detail = api().get(f"/api/v1/photos/{photo.pk}/").json()
    assert [d["id"] for d in detail["drafts"]] == [draft.pk]
    assert len(detail["corrections"]) == 1 and detail["community_version"] is None
    listed = api().get(f"/api/v1/photos/{photo.pk}/drafts/").json()["results"]
    assert [d["id"] for d in listed] == [draft.pk]
    assert Draft.objects.filter(photo=photo).count() == 2


def test_the_photo_page_shows_the_correction_history_side_by_side(api, client, other_user, draft):
    correction = render(Correction.objects.get(pk=submit(api(other_user), draft).json()["id"]))
    page = client.get(draft.photo.get_absolute_url()).content.decode()
    assert f"Correction {correction.pk}</a> by" in page
    assert "Tram livery was red" in page
    assert escape(correction.render.thumbnail.url) in page and escape(draft.thumbnail.url) in page
    assert "AI-colorized with volunteer hints" in page
    detail = client.get(correction.get_absolute_url())
    assert detail.status_code == 200 and "Tram livery was red" in detail.content.decode()


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"hints": {"points": [{"x": 96, "y": 0, "color": "#ff0000"}]}}, "hints", "outside"),
        ({"hints": {"points": [{"x": 1, "y": 1, "color": "#12345"}]}}, "hints", "color"),
        ({"hints": {"points": [{"x": 1, "y": 1, "color": "#123456"}] * 1001}}, "hints", "too many"),
        ({"hints": {"points": [], "strokes": []}}, "hints", "at least one"),
        ({"hints": None}, "hints", "Send hints"),
        ({"evidence": [{"text": "x", "url": "javascript:alert(1)"}]}, "evidence", "http"),
        ({"evidence": [{"url": "https://example.org"}]}, "evidence", "needs a text"),
        ({"evidence": "see the archive"}, "evidence", "list"),
        ({"note": "x" * 4001}, "note", "4000"),
        ({"base_draft": None}, "base_draft", "which draft"),
        ({"base_draft": 99999}, "base_draft", "No such draft"),
    ],
    ids=[
        "point-outside",
        "bad-colour",
        "too-many-points",
        "no-hints",
        "null-hints",
        "script-url",
        "evidence-without-text",
        "evidence-not-list",
        "note-too-long",
        "no-base",
        "unknown-base",
    ],
)
def test_bad_corrections_get_a_clear_400_and_save_nothing(api, other_user, draft, body, field, words):
    response = submit(api(other_user), draft, **body)
    assert response.status_code == 400, response.content
    fields = response.json()["fields"]
    assert words in " ".join(str(m) for m in fields[field])
    assert not Correction.objects.exists()
    assert not Draft.objects.filter(purpose=DraftPurpose.CORRECTION).exists()


def test_a_draft_of_another_photo_cannot_be_the_base(api, owner, other_user, draft, make_photo):
    elsewhere = make_photo(owner, data=images.jpeg(96, 64, seed=9))
    response = api(other_user).post(
        f"/api/v1/photos/{elsewhere.pk}/corrections/", {"base_draft": draft.pk, "hints": HINTS}, format="json"
    )
    assert response.status_code == 400


def test_a_correction_can_build_on_another_correction(api, owner, other_user, draft):
    first = render(Correction.objects.get(pk=submit(api(other_user), draft).json()["id"]))
    more = {"points": [*HINTS["points"], {"x": 70, "y": 50, "color": "#e0c040", "size": 3}]}
    response = api(owner).post(
        f"/api/v1/photos/{draft.photo_id}/corrections/",
        {"base_correction": first.pk, "hints": more, "note": "And the awning"},
        format="json",
    )
    assert response.status_code == 201
    second = Correction.objects.get(pk=response.json()["id"])
    assert second.base_correction == first and second.base_draft is None
    assert second.render.render_size == draft.render_size


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("other", 404), ("owner", 201)])
def test_corrections_on_hidden_photos_are_not_reachable(api, owner, other_user, draft, who, status):
    existing = Correction.objects.get(pk=submit(api(owner), draft).json()["id"])
    draft.photo.hidden_at = timezone.now()
    draft.photo.save()
    user = {"owner": owner, "other": other_user, None: None}[who]
    assert submit(api(user), draft).status_code == status
    seen = 200 if who == "owner" else 404
    assert api(user).get(f"/api/v1/corrections/{existing.pk}/").status_code == seen
    listed = api(user).get(f"/api/v1/photos/{draft.photo_id}/corrections/")
    assert listed.status_code == seen


def test_hidden_corrections_are_seen_only_by_their_author(api, client, owner, other_user, draft):
    correction = Correction.objects.get(pk=submit(api(other_user), draft).json()["id"])
    Correction.objects.filter(pk=correction.pk).update(hidden_at=timezone.now())
    assert api(owner).get(f"/api/v1/corrections/{correction.pk}/").status_code == 404
    assert api(other_user).get(f"/api/v1/corrections/{correction.pk}/").status_code == 200
    assert client.get(correction.get_absolute_url()).status_code == 404


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_nobody_edits_a_correction_not_even_its_author(api, other_user, draft, method):
    correction = Correction.objects.get(pk=submit(api(other_user), draft).json()["id"])
    response = getattr(api(other_user), method)(f"/api/v1/corrections/{correction.pk}/", {"note": "x"}, format="json")
    assert response.status_code == 405
    correction.refresh_from_db()
    assert correction.note == "Tram livery was red"


def test_suspended_volunteers_cannot_submit(api, other_user, draft):
    profile = profile_for(other_user)
    profile.suspended_at = timezone.now()
    profile.save()
    response = submit(api(other_user), draft)
    assert response.status_code == 403
    assert "suspended" in response.json()["detail"]


# --- manual colorizations -----------------------------------------------------------------------------


@pytest.fixture
def grey_scene(owner, make_photo, tiny_base_model):
    colour = images.colour_photo(120, 80, seed=2)
    photo = make_photo(owner, data=images.encode(images.luminance_of(colour), "PNG"), title="Market")
    colorize_draft.apply(args=[photo.drafts.get().pk])
    return photo, colour


def submit_manual(client, photo, data: bytes, **fields):
    body = {"image": upload_file(data, "colour.jpg"), "note": "Painted from the 1912 catalogue", **fields}
    return client.post(f"/api/v1/photos/{photo.pk}/corrections/", body, format="multipart")


def test_a_manual_colorization_keeps_its_chroma_on_the_original_luminance(api, other_user, grey_scene):
    photo, colour = grey_scene
    data = images.encode(colour, "JPEG", quality=92)
    evidence = '[{"text": "Catalogue plate 4", "archive_reference": "NYPL b123"}]'
    response = submit_manual(api(other_user), photo, data, evidence=evidence)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "manual" and body["luminance_difference"] < 3
    assert body["evidence"][0]["archive_reference"] == "NYPL b123"
    correction = Correction.objects.get(pk=body["id"])
    # The upload is kept untouched ...
    with default_storage.open(correction.upload.name) as f:
        assert hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(data).hexdigest() == correction.upload_sha256
    # ... and the stored colour version has the original's luminance exactly, with a disclosure.
    with default_storage.open(correction.image.name) as f:
        stored = f.read()
    with default_storage.open(photo.original.name) as f:
        original = read_luminance(f)
    assert np.abs(read_luminance(io.BytesIO(stored)).L - original.L).max() <= 0.6
    assert "manual colorization" in read_disclosure(stored)["description"]


def test_a_manual_colorization_that_does_not_match_is_refused_with_an_explanation(api, other_user, grey_scene):
    photo, colour = grey_scene
    brighter = Image.fromarray(np.clip(np.asarray(colour).astype(int) + 40, 0, 255).astype(np.uint8))
    response = submit_manual(api(other_user), photo, images.encode(brighter, "JPEG", quality=92))
    assert response.status_code == 400
    message = response.json()["fields"]["image"][0]
    assert "lightness differs" in message and "Only its colours are used" in message
    assert not Correction.objects.exists()
    assert not default_storage.exists("corrections")


def test_a_manual_upload_that_is_not_an_image_gets_415(api, other_user, grey_scene):
    photo, _ = grey_scene
    response = submit_manual(api(other_user), photo, images.html_file())
    assert response.status_code == 415
    assert not Correction.objects.exists()


def test_hints_and_a_manual_image_together_are_refused(api, other_user, grey_scene):
    photo, colour = grey_scene
    response = submit_manual(api(other_user), photo, images.encode(colour, "JPEG"), hints='{"points": []}')
    assert response.status_code == 400


def test_a_correction_reads_in_the_contract_shape(api, other_user, draft):
    body = submit(api(other_user), draft).json()
    assert {"id", "status", "author", "image_url", "votes"} <= set(body)
    assert body["status"] in {s.value for s in CorrectionStatus}
    assert body["kind"] in {k.value for k in CorrectionKind}
