"""A suspended account writes nowhere: one check (colorization.access.require_writer), API and forms alike."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from colorization import services
from colorization.access import write_refusal
from colorization.models import Draft, Photo
from community.models import Collection, HistorianRequest, Profile
from tests import images
from tests.community.conftest import person
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def suspended(db):
    return person("suspended", suspended=True)


def test_colorization_services_ask_communitys_suspension_check(suspended, make_photo, quiet_broker, tiny_base_model):
    assert "suspended" in write_refusal(suspended, "upload photos")
    with pytest.raises(PermissionDenied, match="suspended"):
        services.photo_upload(owner=suspended, file=upload_file(images.jpeg(seed=5)), metadata={"title": "x"})
    photo = make_photo(person("owner2"))
    with pytest.raises(PermissionDenied, match="suspended"):
        services.draft_ask(photo=photo, requested_by=suspended)
    with pytest.raises(PermissionDenied, match="suspended"):
        services.photo_update(photo=photo, editor=suspended, metadata={"title": "mine now"})


def test_the_api_refuses_uploads_and_drafts_with_403(api, suspended, make_photo, quiet_broker, tiny_base_model):
    photo = make_photo(person("owner2"))
    upload = api(suspended).post("/api/v1/photos/", {"image": upload_file(images.jpeg(seed=6)), "title": "x"})
    assert upload.status_code == 403 and "suspended" in upload.json()["detail"]
    drafts = api(suspended).post(f"/api/v1/photos/{photo.pk}/drafts/", {}, format="json")
    assert drafts.status_code == 403
    assert Photo.objects.count() == 1 and Draft.objects.count() == 1


def test_the_forms_say_why_and_save_nothing(client, suspended, make_photo, quiet_broker, tiny_base_model):
    photo = make_photo(person("owner2"))
    client.force_login(suspended)
    upload = client.post(
        "/upload/",
        {"images": [upload_file(images.jpeg(seed=7))], "title": "x", "genre": "unknown", "licence": "unknown"},
    )
    assert upload.status_code == 403 and b"suspended" in upload.content
    draft = client.post(f"/photos/{photo.pk}/drafts/", {"render_size": "64"})
    assert draft.status_code == 403 and b"suspended" in draft.content
    collection = client.post("/collections/new/", {"title": "Mine"})
    assert collection.status_code == 403 and b"suspended" in collection.content
    profile = client.post("/accounts/profile/", {"display_name": "New name", "affiliation": "", "bio": ""})
    assert profile.status_code == 403 and b"suspended" in profile.content
    verification = client.post("/accounts/verification/", {"statement": "I curate the city's photo archive."})
    assert verification.status_code == 403 and b"suspended" in verification.content
    assert Photo.objects.count() == 1 and Draft.objects.count() == 1
    assert not Collection.objects.exists() and not HistorianRequest.objects.exists()
    assert Profile.objects.get(user=suspended).display_name == ""
