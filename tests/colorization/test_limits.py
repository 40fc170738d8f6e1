"""One limit per action, whatever the entry point: the API and the forms share the services' counters."""

from __future__ import annotations

import pytest

from colorization.models import Draft, DraftStatus, Photo
from colorization.ratelimit import RateLimited, rate_limit
from tests import images
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def quiet(monkeypatch, tiny_base_model):
    from colorization.tasks import colorize_draft

    monkeypatch.setattr(colorize_draft, "apply_async", lambda *a, **k: None)


def test_it_counts_per_person_and_says_when_to_come_back(owner, other_user):
    rate_limit(user=owner, scope="t", rate="1/hour")
    with pytest.raises(RateLimited) as refused:
        rate_limit(user=owner, scope="t", rate="1/hour")
    assert "At most 1 per hour" in refused.value.message and 0 < refused.value.retry_after <= 3601
    rate_limit(user=other_user, scope="t", rate="1/hour")  # someone else's counter


def test_once_the_api_answers_429_the_upload_form_saves_nothing(api, client, owner, settings, quiet):
    settings.CHROMA_UPLOAD_RATE = "1/hour"
    first = api(owner).post("/api/v1/photos/", {"image": upload_file(images.jpeg(seed=1)), "title": "a"})
    assert first.status_code == 201
    refused = api(owner).post("/api/v1/photos/", {"image": upload_file(images.jpeg(seed=2)), "title": "b"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    client.force_login(owner)
    page = client.post(
        "/upload/",
        {"images": [upload_file(images.jpeg(seed=3))], "title": "c", "genre": "unknown", "licence": "unknown"},
    )
    assert page.status_code == 429 and int(page["Retry-After"]) > 0
    assert b"At most 1 per hour" in page.content
    assert Photo.objects.count() == 1


def test_draft_requests_share_one_limit_across_api_form_retry_and_recolorize(api, client, owner, settings, quiet):
    photo = api(owner).post("/api/v1/photos/", {"image": upload_file(images.jpeg(seed=4)), "title": "a"})
    photo = Photo.objects.get(pk=photo.json()["id"])
    failed = photo.drafts.get()
    Draft.objects.filter(pk=failed.pk).update(status=DraftStatus.FAILED)
    settings.CHROMA_DRAFT_RATE = "2/hour"  # the upload's own first draft is the upload's, not counted here
    client.force_login(owner)
    assert client.post(f"/photos/{photo.pk}/drafts/", {"render_size": "64"}).status_code == 302
    assert api(owner).post(f"/api/v1/drafts/{failed.pk}/retry/").status_code == 201
    before = Draft.objects.count()
    api_refused = api(owner).post(f"/api/v1/photos/{photo.pk}/drafts/", {"render_size": 64}, format="json")
    assert api_refused.status_code == 429 and api_refused.json()["error"] == "throttled"
    for url in (f"/photos/{photo.pk}/drafts/", f"/drafts/{failed.pk}/retry/", f"/photos/{photo.pk}/recolorize/"):
        refused = client.post(url, {"render_size": "64"})
        assert refused.status_code == 429, url
        assert b"try again in" in refused.content
    assert Draft.objects.count() == before


def test_a_sweep_counts_as_one_draft_per_render_size(client, owner, make_photo, settings, quiet):
    photo = make_photo(owner)
    settings.CHROMA_DRAFT_RATE = f"{len(settings.CHROMA_SWEEP_RENDER_SIZES)}/hour"
    client.force_login(owner)
    assert client.post(f"/photos/{photo.pk}/drafts/", {"sweep": "1"}).status_code == 302
    assert client.post(f"/photos/{photo.pk}/drafts/", {"render_size": "64"}).status_code == 429
