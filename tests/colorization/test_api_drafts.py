"""Drafts through the API and the photo page: shape, access, re-colorize, sweep, retry, labels."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django.utils.html import escape

from colorization.media import key_token
from colorization.models import Draft, DraftStatus, Photo
from colorization.tasks import colorize_draft

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(colorize_draft, "apply_async", lambda *a, **k: None)


@pytest.fixture
def done_photo(owner, make_photo, tiny_base_model):
    photo = make_photo(owner, title="Main street")
    colorize_draft.apply(args=[photo.drafts.get().pk])
    return photo


def test_a_draft_reads_in_the_contract_shape(api, done_photo):
    draft = done_photo.drafts.get()
    body = api(None).get(f"/api/v1/drafts/{draft.pk}/").json()
    assert body["status"] == "done"
    assert body["progress"] == 100
    assert body["model"] == {"slug": "base", "version": "test"}
    assert body["image_url"].split("?")[0].endswith(f"{draft.pk}-{key_token(f'draft:{draft.pk}')}.png")
    assert body["image_jpeg_url"].split("?")[0].endswith(f"{draft.pk}-{key_token(f'draft:{draft.pk}')}.jpg")
    assert body["error"] == ""
    assert body["label"] == "AI-colorized · model base vtest · colours are an estimate"
    detail = api(None).get(f"/api/v1/photos/{done_photo.pk}/").json()
    assert [d["id"] for d in detail["drafts"]] == [draft.pk]


@pytest.mark.parametrize(("who", "status"), [("owner", 201), ("other", 201), ("anonymous", 401)])
def test_signed_in_users_can_ask_for_another_draft(api, owner, other_user, done_photo, who, status):
    user = {"owner": owner, "other": other_user, "anonymous": None}[who]
    response = api(user).post(
        f"/api/v1/photos/{done_photo.pk}/drafts/", {"render_size": 256, "saturation": 1.3}, format="json"
    )
    assert response.status_code == status
    if status == 201:
        (draft,) = response.json()
        assert (draft["status"], draft["render_size"], draft["saturation"]) == ("queued", 256, 1.3)


def test_a_sweep_makes_three_render_sizes(api, owner, done_photo, settings):
    response = api(owner).post(f"/api/v1/photos/{done_photo.pk}/drafts/", {"sweep": True}, format="json")
    assert response.status_code == 201
    assert sorted(d["render_size"] for d in response.json()) == sorted(settings.CHROMA_SWEEP_RENDER_SIZES)


def test_bad_draft_parameters_are_explained(api, owner, done_photo):
    response = api(owner).post(f"/api/v1/photos/{done_photo.pk}/drafts/", {"saturation": 5}, format="json")
    assert response.status_code == 400
    assert "saturation" in response.json()["fields"]
    response = api(owner).post(f"/api/v1/photos/{done_photo.pk}/drafts/", {"model": "nope"}, format="json")
    assert response.status_code == 400
    assert "model" in response.json()["fields"]


def test_only_failed_drafts_are_retried(api, owner, done_photo):
    draft = done_photo.drafts.get()
    assert api(owner).post(f"/api/v1/drafts/{draft.pk}/retry/").status_code == 400
    Draft.objects.filter(pk=draft.pk).update(status=DraftStatus.FAILED, error="The original could not be read.")
    response = api(owner).post(f"/api/v1/drafts/{draft.pk}/retry/")
    assert response.status_code == 201
    assert response.json()["status"] == "queued"
    assert api(None).post(f"/api/v1/drafts/{draft.pk}/retry/").status_code == 401


@pytest.mark.parametrize(("who", "status"), [("owner", 200), ("other", 404), ("anonymous", 404)])
def test_drafts_of_hidden_photos_are_hidden_too(api, owner, other_user, done_photo, who, status):
    Photo.objects.filter(pk=done_photo.pk).update(hidden_at=timezone.now())
    draft = done_photo.drafts.get()
    user = {"owner": owner, "other": other_user, "anonymous": None}[who]
    assert api(user).get(f"/api/v1/drafts/{draft.pk}/").status_code == status
    assert api(user).get(f"/api/v1/photos/{done_photo.pk}/drafts/").status_code == status


def test_the_photo_page_labels_the_colour_version_and_offers_both_formats(client, done_photo):
    draft = done_photo.drafts.get()
    page = client.get(f"/photos/{done_photo.pk}/").content.decode()
    assert "AI-colorized · model base vtest · colours are an estimate" in page
    assert escape(draft.image.url) in page  # signed URLs carry &, escaped in HTML
    assert escape(draft.image_jpeg.url) in page
    assert 'type="range"' in page


def test_the_gallery_shows_the_colour_thumbnail_with_its_label(client, done_photo, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        page = client.get("/gallery/").content.decode()
    assert escape(done_photo.drafts.get().thumbnail.url) in page
    assert "AI-colorized · model base vtest" in page


def test_a_queued_draft_shows_an_accessible_progress_bar(client, owner, make_photo, tiny_base_model):
    photo = make_photo(owner)
    Draft.objects.filter(photo=photo).update(progress=30, stage="Reading the original", status="running")
    page = client.get(f"/photos/{photo.pk}/").content.decode()
    assert 'role="progressbar"' in page
    assert 'aria-valuenow="30"' in page
    assert "Reading the original" in page


def test_the_photo_page_form_asks_for_a_sweep(client, owner, done_photo):
    assert client.post(f"/photos/{done_photo.pk}/drafts/", {"sweep": "1"}).status_code == 302  # to the login page
    assert done_photo.drafts.count() == 1
    client.force_login(owner)
    client.post(f"/photos/{done_photo.pk}/drafts/", {"sweep": "1", "saturation": "1.2"})
    assert done_photo.drafts.count() == 4
    client.post(f"/photos/{done_photo.pk}/drafts/", {"render_size": "384", "saturation": "0.8"})
    newest = done_photo.drafts.order_by("-id").first()
    assert (newest.render_size, newest.saturation) == (384, 0.8)
