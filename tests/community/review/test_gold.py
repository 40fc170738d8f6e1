"""Gold-standard photos: the truth kept and never leaked, corrections scored, never voted on or trained."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from PIL import Image

from colorization.models import TrainingExample
from community.models import CorrectionStatus, GoldStandard, ModerationAction, ReputationEvent
from community.review import decisions
from community.review.corrections import correction_create_manual
from community.review.gold import gold_create
from tests import images
from tests.community.conftest import colour_png
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def scoring_runs_here(monkeypatch):
    """The web request queues the scoring for a worker; here the "worker" runs it at once."""
    from community.tasks import score_gold_correction

    monkeypatch.setattr(score_gold_correction, "delay", lambda pk: score_gold_correction.apply(args=[pk]))


@pytest.fixture
def truth_bytes():
    return colour_png(96, 64, seed=3)


@pytest.fixture
def gold_photo(people, truth_bytes, quiet_broker, tiny_base_model):
    result = gold_create(
        moderator=people["moderator"],
        file=io.BytesIO(truth_bytes),
        filename="img1.png",
        metadata={"title": "Gold 1", "year_from": 1909, "year_to": 1909},
    )
    assert result.created
    return result.gold.photo


def test_gold_photos_stay_out_of_recently_added(gold_photo, people, make_photo, client):
    """Issue 22: the home page shows people's new photographs, not the scoring material."""
    make_photo(people["author"], title="Tram on Main Street")
    home = client.get("/").content.decode()
    recent = home[home.index('id="recent-heading"') :]
    assert "Tram on Main Street" in recent and "Gold 1" not in recent


def rgb_of(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_the_truth_is_kept_untouched_and_volunteers_get_greyscale(gold_photo, truth_bytes, people):
    gold = GoldStandard.objects.get(photo=gold_photo)
    with default_storage.open(gold.truth.name, "rb") as f:
        assert f.read() == truth_bytes
    assert gold.truth_sha256 == hashlib.sha256(truth_bytes).hexdigest()
    with default_storage.open(gold_photo.original.name, "rb") as f:
        grey = rgb_of(f.read())
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    assert not gold_photo.is_colour_source and gold_photo.original_sha256 != gold.truth_sha256
    with default_storage.open(gold_photo.thumbnail.name, "rb") as f:
        thumb = rgb_of(f.read()).astype(int)
    assert np.abs(thumb[..., 0] - thumb[..., 2]).max() <= 2  # JPEG rounding only
    assert ModerationAction.objects.filter(action="mark_gold", target_id=gold_photo.pk).exists()


def test_no_page_or_api_mentions_the_truth(gold_photo, people, api):
    gold = GoldStandard.objects.get(photo=gold_photo)
    secret = gold.truth.name.split("/")[1]
    for client in (Client(), api(people["volunteer"])):
        for url in (f"/photos/{gold_photo.pk}/", f"/api/v1/photos/{gold_photo.pk}/", "/review/needs-correction/"):
            content = client.get(url).content.decode()
            assert secret not in content and gold.truth_sha256 not in content


def test_gold_needs_a_colour_photo_a_moderator_and_is_idempotent(people, truth_bytes, gold_photo):
    with pytest.raises(ValidationError, match="COLOUR"):
        gold_create(moderator=people["moderator"], file=io.BytesIO(images.png()), metadata={"title": "Grey"})
    with pytest.raises(PermissionDenied):
        gold_create(moderator=people["volunteer"], file=io.BytesIO(truth_bytes), metadata={"title": "x"})
    again = gold_create(moderator=people["moderator"], file=io.BytesIO(truth_bytes), metadata={"title": "again"})
    assert not again.created and again.gold.photo == gold_photo


def submit_manual(photo, author, data: bytes, capture):
    with capture(execute=True):
        correction = correction_create_manual(author=author, photo=photo, file=upload_file(data, "c.png", "image/png"))
    correction.refresh_from_db()
    return correction


def test_a_correction_equal_to_the_truth_scores_perfectly(
    gold_photo, truth_bytes, people, settings, django_capture_on_commit_callbacks
):
    correction = submit_manual(gold_photo, people["volunteer"], truth_bytes, django_capture_on_commit_callbacks)
    assert correction.is_gold
    # The composite is the grey original's L* with the truth's chroma: equal up to 8-bit rounding.
    assert correction.gold_ciede2000 < 0.5
    assert correction.gold_psnr > 40
    assert correction.gold_baseline_ciede2000 > 5
    event = ReputationEvent.objects.get(user=people["volunteer"], reason="gold_scored")
    assert event.points == settings.CHROMA_REPUTATION_GOLD_MAX


def test_a_grey_correction_scores_as_the_grey_baseline(gold_photo, people, django_capture_on_commit_callbacks):
    with default_storage.open(gold_photo.original.name, "rb") as f:
        grey = f.read()
    correction = submit_manual(gold_photo, people["volunteer"], grey, django_capture_on_commit_callbacks)
    assert correction.gold_ciede2000 == pytest.approx(correction.gold_baseline_ciede2000, abs=0.05)
    assert ReputationEvent.objects.get(user=people["volunteer"], reason="gold_scored").points == 0


def test_the_score_is_shown_to_its_author_only(gold_photo, truth_bytes, people, django_capture_on_commit_callbacks):
    correction = submit_manual(gold_photo, people["volunteer"], truth_bytes, django_capture_on_commit_callbacks)
    author_page = _page(people["volunteer"], correction)
    assert 'id="gold-score"' in author_page and "ΔE₀₀" in author_page
    assert 'id="gold-score"' not in _page(people["volunteer2"], correction)
    assert 'id="vote-form"' not in _page(people["volunteer2"], correction)


def _page(user, correction) -> str:
    client = Client()
    client.force_login(user)
    return client.get(f"/corrections/{correction.pk}/").content.decode()


def test_gold_corrections_never_reach_votes_decisions_or_training(
    gold_photo, truth_bytes, people, api, django_capture_on_commit_callbacks
):
    correction = submit_manual(gold_photo, people["volunteer"], truth_bytes, django_capture_on_commit_callbacks)
    response = api(people["historian"]).post(f"/api/v1/corrections/{correction.pk}/votes/", {"value": 1}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "gold"
    response = api(people["moderator"]).post(
        f"/api/v1/corrections/{correction.pk}/decision/", {"decision": "accept", "reason": "x"}, format="json"
    )
    assert response.status_code == 409
    from community.review.queues import needs_review

    assert correction.pk not in [item.pk for item in needs_review(people["historian"])]
    assert decisions.correction_training_example_add(correction.pk) is False
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.PENDING and correction.votes_up == 0
    assert not TrainingExample.objects.exists()


def test_gold_import_makes_gold_photos_from_a_folder_and_is_safe_to_rerun(
    people, tmp_path, quiet_broker, tiny_base_model
):
    for i in range(3):
        (tmp_path / f"img{i}.png").write_bytes(colour_png(80, 60, seed=10 + i))
    (tmp_path / "grey.png").write_bytes(images.png())
    out = io.StringIO()
    call_command("gold_import", str(tmp_path), "--owner", "mod", "--year-from", "1905", "--year-to", "1915", stdout=out)
    assert "created 3, duplicates 0, rejected 1" in out.getvalue() and "COLOUR" in out.getvalue()
    out = io.StringIO()
    call_command("gold_import", str(tmp_path), "--owner", "mod", stdout=out)
    assert "created 0, duplicates 3, rejected 1" in out.getvalue()
    photos = [g.photo for g in GoldStandard.objects.select_related("photo")]
    assert {(p.year_from, p.year_to) for p in photos} == {(1905, 1915)}
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a moderator"):
        call_command("gold_import", str(tmp_path), "--owner", "volunteer")


def test_gold_import_reads_the_1905_1915_set(people, quiet_broker, tiny_base_model):
    from pathlib import Path

    folder = Path(__file__).resolve().parents[4] / "shared" / "data" / "era" / "prokudin-gorskii-1905-1915"
    if not folder.is_dir():
        pytest.skip(f"{folder} is not here (the shared data set)")
    out = io.StringIO()
    call_command("gold_import", str(folder), "--owner", "mod", "--limit", "2", stdout=out)
    assert "created 2" in out.getvalue()


def test_gold_photos_are_served_in_the_queue_at_the_configured_rate(
    people, make_photo, quiet_broker, tiny_base_model, settings
):
    from colorization.models import Draft, DraftStatus
    from community.review.queues import needs_correction

    regular = [make_photo(people["author"], title=f"Regular {i}") for i in range(6)]
    golds = [
        gold_create(
            moderator=people["moderator"], file=io.BytesIO(colour_png(64, 48, seed=50 + i)), metadata={"title": f"G{i}"}
        ).gold.photo
        for i in range(3)
    ]
    Draft.objects.update(status=DraftStatus.DONE)
    settings.CHROMA_GOLD_RATE = 0.25
    queue = needs_correction(people["volunteer"], limit=8)
    kinds = ["gold" if p in golds else "regular" for p in queue]
    assert kinds == ["regular", "regular", "regular", "gold", "regular", "regular", "regular", "gold"]
    settings.CHROMA_GOLD_RATE = 0
    assert not {p.pk for p in needs_correction(people["volunteer"])} & {g.pk for g in golds}
    assert len(regular) == 6


def test_a_hints_correction_of_a_gold_photo_is_scored_when_its_render_finishes(
    gold_photo, people, django_capture_on_commit_callbacks
):
    from colorization.models import DraftStatus
    from colorization.tasks import colorize_draft
    from community.review.corrections import correction_create

    draft = gold_photo.drafts.get()
    colorize_draft.apply(args=[draft.pk])
    draft.refresh_from_db()
    assert draft.status == DraftStatus.DONE
    hints = {"points": [{"x": 20, "y": 20, "color": "#c83020", "size": 4}]}
    correction = correction_create(author=people["volunteer"], photo=gold_photo, hints=hints, base_draft=draft)
    assert correction.is_gold and correction.gold_ciede2000 is None
    with django_capture_on_commit_callbacks(execute=True):  # the worker's draft_finished scores it after commit
        colorize_draft.apply(args=[correction.render_id])
    correction.refresh_from_db()
    assert correction.gold_ciede2000 is not None and correction.gold_baseline_ciede2000 > 0
    assert ReputationEvent.objects.filter(user=people["volunteer"], reason="gold_scored").count() == 1


def test_gold_corrections_whose_scoring_was_lost_are_scored_by_beat(
    gold_photo, truth_bytes, people, monkeypatch, django_capture_on_commit_callbacks
):
    from community.models import Correction
    from community.tasks import score_gold_correction, score_missed_gold_corrections

    def broker_down(pk):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(score_gold_correction, "delay", broker_down)
    correction = submit_manual(gold_photo, people["volunteer"], truth_bytes, django_capture_on_commit_callbacks)
    assert correction.gold_ciede2000 is None  # saved all the same
    assert score_missed_gold_corrections.apply().get() == 0  # too recent: its message may still arrive
    Correction.objects.filter(pk=correction.pk).update(updated_at=correction.updated_at.replace(year=2020))
    assert score_missed_gold_corrections.apply().get() == 1
    correction.refresh_from_db()
    assert correction.gold_ciede2000 < 0.5
