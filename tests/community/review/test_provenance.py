"""Evidence per colour: sources name the hints they support, historians verify or dispute them, and
pages, the API, JSON-LD, the IIIF manifest and the exports show the documented / inferred / model share."""

from __future__ import annotations

import json
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from colorization.models import DraftPurpose, DraftStatus
from colorization.tasks import colorize_draft
from community.models import Evidence
from community.review.corrections import correction_create
from community.review.provenance import correction_provenance, source_verify
from tests import images
from tests.community.gallery.helpers import decide, finish_drafts

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quiet_broker")]

HINTS = {
    "points": [{"x": 20, "y": 30, "color": "#b03020", "size": 9}, {"x": 75, "y": 30, "color": "#2050b0", "size": 9}],
    "strokes": [{"points": [[10, 55], [85, 55]], "color": "#3b7a2b", "width": 6}],
}
LEDGER = {
    "text": "Paint ledger, 1912: the tram was red",
    "url": "https://archive.example/ledger",
    "hints": ["points/0"],
}


@pytest.fixture
def photo(people, make_photo, tiny_base_model):
    photo = make_photo(people["author"], data=images.jpeg(96, 64, seed=8), title="Tram on Main Street")
    finish_drafts(photo)
    return photo


def make_correction(photo, author, evidence):
    draft = photo.drafts.get(status=DraftStatus.DONE, purpose=DraftPurpose.DRAFT)
    correction = correction_create(
        author=author, photo=photo, hints=HINTS, base_draft=draft, note="Tram livery", evidence=evidence
    )
    colorize_draft.apply(args=[correction.render_id])
    correction.refresh_from_db()
    return correction


def test_sources_name_their_hints_and_the_share_splits_documented_inferred_and_model(photo, people, api):
    correction = make_correction(
        photo, people["volunteer"], [LEDGER, {"kind": "inferred", "hints": ["points/1", "strokes/0"]}]
    )
    kinds = list(Evidence.objects.filter(correction=correction).values_list("kind", "hints"))
    assert kinds == [("source", ["points/0"]), ("inferred", ["points/1", "strokes/0"])]
    body = api().get(f"/api/v1/corrections/{correction.pk}/").json()
    provenance = body["provenance"]
    assert provenance["hints"] == {"points/0": "documented", "points/1": "inferred", "strokes/0": "inferred"}
    shares = provenance["shares"]
    assert shares["documented"] > 0 and shares["inferred"] > shares["documented"]  # one click vs a click + stroke
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3)
    assert re.fullmatch(r"documented \d+ % · volunteer-inferred \d+ % · model \d+ %", provenance["text"])
    assert provenance["overlay_url"]
    assert body["evidence"][0]["status"] == "unverified"


def test_uncited_hints_count_as_inferred_and_bad_references_are_refused(photo, people):
    correction = make_correction(photo, people["volunteer"], [LEDGER])
    assert correction_provenance(correction).groups["strokes/0"] == "inferred"
    draft = photo.drafts.get(status=DraftStatus.DONE, purpose=DraftPurpose.DRAFT)
    for evidence, message in (
        ([{**LEDGER, "hints": ["points/7"]}], "points/7, which is not in the hints"),
        ([{**LEDGER, "hints": ["lines/0"]}], "is not"),
        ([{"kind": "inferred"}], "name the hints"),
    ):
        with pytest.raises(ValidationError) as caught:
            correction_create(author=people["volunteer"], photo=photo, hints=HINTS, base_draft=draft, evidence=evidence)
        assert message in str(caught.value)


def test_a_disputed_source_moves_its_hints_to_disputed_and_a_verified_one_stays_documented(photo, people, api):
    correction = make_correction(photo, people["volunteer"], [LEDGER])
    source = correction.evidence.get()
    documented = correction_provenance(correction).shares["documented"]
    assert documented > 0
    with pytest.raises(PermissionDenied):  # only historians
        source_verify(evidence_id=source.pk, historian=people["volunteer2"], verdict="verified")
    with pytest.raises(PermissionDenied):  # not on their own correction
        source_verify(evidence_id=source.pk, historian=people["volunteer"], verdict="verified")
    with pytest.raises(ValidationError):  # a dispute says why
        source_verify(evidence_id=source.pk, historian=people["historian"], verdict="disputed")
    source_verify(evidence_id=source.pk, historian=people["historian"], verdict="verified", note="Seen the ledger")
    assert correction_provenance(correction).groups["points/0"] == "documented"
    response = api(people["historian2"]).post(
        f"/api/v1/evidence/{source.pk}/verification/",
        {"verdict": "disputed", "note": "The ledger is for another line"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "disputed" and len(response.json()["verifications"]) == 2
    after = correction_provenance(correction)
    assert after.groups["points/0"] == "disputed"
    assert after.shares["documented"] == 0 and after.shares["disputed"] == pytest.approx(documented, abs=1e-4)
    assert "disputed" in after.text
    assert (
        api(people["volunteer2"])
        .post(f"/api/v1/evidence/{source.pk}/verification/", {"verdict": "verified"}, format="json")
        .status_code
        == 403
    )


def test_the_correction_page_shows_sources_verdicts_share_and_overlay_and_historians_verify(photo, people, client):
    correction = make_correction(photo, people["volunteer"], [LEDGER])
    source = correction.evidence.get()
    client.force_login(people["historian"])
    html = client.get(correction.get_absolute_url()).content.decode()
    assert 'id="provenance-share"' in html and "documented" in html and 'class="overlay"' in html
    assert "hints points/0" in html and "Unverified" in html
    client.post(f"/evidence/{source.pk}/verify/", {"verdict": "disputed", "note": "Wrong line"})
    html = client.get(correction.get_absolute_url()).content.decode()
    assert re.search(r"Disputed by historian <a [^>]*>historian</a>: Wrong line", html)
    assert "disputed" in html.split('id="provenance-share"')[1].split("</p>")[0]


def test_after_acceptance_the_share_is_on_the_photo_page_in_json_ld_dublin_core_iiif_and_exports(photo, people, client):
    from community.gallery.collections import collection_create, collection_photo_add

    correction = make_correction(photo, people["volunteer"], [LEDGER])
    decide(correction)
    share = correction_provenance(correction).text
    html = client.get(photo.get_absolute_url()).content.decode()
    assert f"Where the community version's colours come from: <strong>{share}</strong>" in html
    assert f'<meta name="DCTERMS.provenance" content="Colours of the community version: {share}">' in html
    ld = json.loads(
        re.search(r'<script type="application/ld\+json" id="photo-json-ld">(.*?)</script>', html, re.S).group(1)
    )
    assert ld["workExample"]["dcterms:provenance"] == f"Colours: {share}"
    manifest = client.get(f"/iiif/photos/{photo.pk}/manifest.json").json()
    metadata = {m["label"]["en"][0]: m["value"]["en"][0] for m in manifest["metadata"]}
    assert metadata["Colour provenance"] == share
    collection = collection_create(owner=people["author"], title="Trams")
    collection_photo_add(collection=collection, curator=people["author"], photo=photo)
    assert client.get(f"/collections/{collection.pk}/export.json").json()["photos"][0]["colour_provenance"] == share
    assert share in client.get(f"/collections/{collection.pk}/export.csv").content.decode("utf-8-sig")


def test_the_share_is_measured_on_the_renders_working_grid_at_its_render_size(people, make_photo, tiny_base_model):
    import io

    import numpy as np
    from PIL import Image

    from colorization.engine.color import rgb_to_lab
    from colorization.engine.hints import parse_hints, rasterize
    from colorization.engine.imageio import read_luminance
    from colorization.engine.inference import working_luminance, working_size
    from colorization.engine.provenance import hint_influence
    from colorization.models import Draft

    data = images.jpeg(640, 400, seed=3)
    photo = make_photo(people["author"], data=data, title="Harbour")
    finish_drafts(photo)
    Draft.objects.filter(photo=photo).update(render_size=96)  # the correction's render inherits it
    hints = {
        "points": [{"x": 200, "y": 300, "color": "#b03020", "size": 9}],
        "strokes": [{"points": [[60, 100], [560, 100]], "color": "#3b7a2b", "width": 30}],
    }
    draft = photo.drafts.get(status=DraftStatus.DONE, purpose=DraftPurpose.DRAFT)
    correction = correction_create(
        author=people["volunteer"], photo=photo, hints=hints, base_draft=draft, evidence=[LEDGER]
    )
    colorize_draft.apply(args=[correction.render_id])
    correction.refresh_from_db()
    assert correction.render.render_size == 96

    def expected(render_size):
        L = working_luminance(read_luminance(io.BytesIO(data)), render_size)
        w, h = working_size(640, 400, render_size)
        assert L.shape == (h, w)
        parsed = parse_hints(hints, 640, 400)
        documented = rasterize(parsed.__class__(points=parsed.points), 640, 400, w, h)[1][0]
        inferred = rasterize(parsed.__class__(strokes=parsed.strokes), 640, 400, w, h)[1][0]
        with correction.result_file.open("rb") as fh, Image.open(fh) as im:
            rgb = im.convert("RGB").resize((w, h), Image.Resampling.BOX)
        lab = rgb_to_lab(torch.from_numpy(np.asarray(rgb, np.float32) / 255).permute(2, 0, 1))
        chroma = torch.sqrt(lab[1] ** 2 + lab[2] ** 2).numpy()
        return hint_influence(L, [("inferred", inferred), ("documented", documented)], chroma).shares

    import torch

    provenance = correction_provenance(correction)
    at_render, at_256 = expected(96), expected(256)
    for group in ("documented", "inferred", "model"):
        assert provenance.shares[group] == pytest.approx(at_render[group], abs=2e-3)
    # The hints influence more of a small grid: measuring at another size would be wrong.
    assert abs(at_256["inferred"] - at_render["inferred"]) > 0.02
    with Image.open(correction.photo.original.storage.open(provenance.overlay)) as overlay:
        assert overlay.size == working_size(640, 400, 96)
    # The render size is part of the cache key: another size is another computation.
    Draft.objects.filter(pk=correction.render_id).update(render_size=256)
    correction.refresh_from_db()
    assert correction_provenance(correction).overlay != provenance.overlay


def test_verifying_sources_is_throttled_like_votes_and_closed_on_hidden_corrections(photo, people, api, settings):
    from community.review.moderation import content_hide

    correction = make_correction(photo, people["volunteer"], [LEDGER])
    source = correction.evidence.get()
    settings.CHROMA_VOTE_RATE = "1/hour"
    source_verify(evidence_id=source.pk, historian=people["historian"], verdict="verified", note="Seen it")
    response = api(people["historian"]).post(
        f"/api/v1/evidence/{source.pk}/verification/", {"verdict": "verified"}, format="json"
    )
    assert response.status_code == 429, response.content
    settings.CHROMA_VOTE_RATE = "100/hour"
    content_hide(moderator=people["moderator"], kind="correction", obj=correction, reason="Spam")
    with pytest.raises(PermissionDenied):
        source_verify(evidence_id=source.pk, historian=people["historian2"], verdict="verified")
