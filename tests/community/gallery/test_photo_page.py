"""The photo page: viewer, version timeline, provenance, downloads with disclosure, JSON-LD, query counts."""

from __future__ import annotations

import hashlib
import io
import json
import re

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from colorization.engine.imageio import DIGITAL_SOURCE_TYPE, read_disclosure
from community.gallery.page_cache import pages_invalidate_on_commit
from community.models import Correction, Vote
from community.review.corrections import correction_create_manual
from tests import images
from tests.community.gallery.helpers import decide, finish_drafts, rendered_correction
from tests.conftest import upload_file
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quiet_broker")]


@pytest.fixture
def photo(owner, make_photo, tiny_base_model):
    photo = make_photo(
        owner,
        data=images.jpeg(96, 64, seed=8),
        title="Tram on Main Street",
        description="Streetcar No. 12 & crowd",
        year_from=1912,
        year_to=1912,
        genre="transport",
        place="Detroit",
        source_archive="Library of Congress",
        source_reference="https://www.loc.gov/item/2016000001/",
        licence="public-domain",
        credit_line="Detroit Publishing Co., Library of Congress",
    )
    finish_drafts(photo)
    return photo


def vote(correction, voter, value, comment=""):
    """A vote as ``vote_cast`` stores it, with the page invalidation it makes (without its rules)."""
    made = Vote.objects.create(correction=correction, voter=voter, value=value, weight=1.0, comment=comment)
    pages_invalidate_on_commit(photo_id=correction.photo_id)
    return made


def test_the_page_shows_provenance_and_the_timeline_in_order(client, photo, other_user):
    correction = rendered_correction(photo, other_user)
    historian = UserFactory(username="historian")
    vote(correction, historian, 1, "Matches the 1912 livery")
    decide(correction, votes_up=1)
    html = client.get(f"/photos/{photo.pk}/").content.decode()
    for text in (
        "Library of Congress",
        "https://www.loc.gov/item/2016000001/",
        "Public domain",
        "Detroit Publishing Co., Library of Congress",
        photo.original_sha256,
    ):
        assert text in html
    timeline = html[html.index('id="timeline"') :]
    order = [
        timeline.index(s)
        for s in ("Original uploaded", "AI draft", "Correction", "For correction", "accepted by the vote rule")
    ]
    assert order == sorted(order)
    assert "Company paint records, 1912" in timeline and "Matches the 1912 livery" in timeline
    assert 'data-kind="decision"' in timeline
    assert "Community version" in html and "AI-colorized with volunteer hints" in html


def test_json_ld_and_dublin_core_describe_the_photo(client, photo):
    html = client.get(f"/photos/{photo.pk}/").content.decode()
    raw = re.search(r'<script type="application/ld\+json" id="photo-json-ld">(.*?)</script>', html, re.S).group(1)
    data = json.loads(raw)
    assert data["@type"] == "Photograph"
    assert data["name"] == data["dc:title"] == "Tram on Main Street"
    assert data["license"] == "http://creativecommons.org/publicdomain/mark/1.0/"
    assert data["image"]["sha256"] == photo.original_sha256
    assert data["workExample"]["digitalSourceType"].endswith("compositeWithTrainedAlgorithmicMedia")
    assert data["contentLocation"]["name"] == "Detroit"
    assert '<meta name="DC.title" content="Tram on Main Street">' in html
    assert "\\u0026" in raw  # "&" cannot close the script element


def test_the_original_downloads_byte_for_byte(client, photo):
    response = client.get(f"/photos/{photo.pk}/download/original")
    data = b"".join(response.streaming_content)
    assert hashlib.sha256(data).hexdigest() == photo.original_sha256
    assert "attachment" in response["Content-Disposition"]


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_the_draft_colour_downloads_carry_the_disclosure(client, photo, fmt):
    response = client.get(f"/photos/{photo.pk}/download/colour.{fmt}")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    disclosure = read_disclosure(data)
    assert disclosure["digital_source_type"] == DIGITAL_SOURCE_TYPE
    assert disclosure["original_sha256"] == photo.original_sha256
    assert "ai-colorized" in response["Content-Disposition"]


def test_the_community_version_downloads_as_jpeg_with_disclosure_even_when_manual(client, photo, other_user):
    grey = Image.open(default_storage.open(photo.original.name)).convert("L")
    colour = Image.merge("RGB", (grey, grey, grey))
    buffer = io.BytesIO()
    colour.save(buffer, "PNG")
    correction = correction_create_manual(
        author=other_user, photo=photo, file=upload_file(buffer.getvalue(), "c.png", "image/png"), note="By hand"
    )
    decide(correction)
    html = client.get(f"/photos/{photo.pk}/").content.decode()
    assert 'id="download-colour-jpg"' in html
    response = client.get(f"/photos/{photo.pk}/download/colour.jpg")
    data = b"".join(response.streaming_content)
    assert Image.open(io.BytesIO(data)).format == "JPEG"
    disclosure = read_disclosure(data)
    assert disclosure["digital_source_type"] == DIGITAL_SOURCE_TYPE
    assert disclosure["original_sha256"] == photo.original_sha256
    assert disclosure["correction"] == str(correction.pk)
    assert "community-colour" in response["Content-Disposition"]
    # Made once, then kept.
    assert default_storage.exists(f"corrections/{photo.pk}/community-{correction.pk}.jpg")


def test_downloads_of_hidden_photos_and_unknown_formats_are_404(client, photo):
    assert client.get(f"/photos/{photo.pk}/download/colour.gif").status_code == 404
    photo.hidden_at = photo.created_at
    photo.save()
    assert client.get(f"/photos/{photo.pk}/download/original").status_code == 404
    assert client.get(f"/photos/{photo.pk}/download/colour.png").status_code == 404


def test_the_page_has_the_slider_zoom_and_the_slots_for_other_work(client, photo):
    html = client.get(f"/photos/{photo.pk}/").content.decode()
    assert 'id="compare-range"' in html and 'id="compare-viewport"' in html and 'id="zoom-in"' in html
    assert "AI-colorized · model base" in html


def test_the_photo_page_does_not_grow_queries_with_its_history(client, photo, other_user, django_assert_num_queries):
    first = rendered_correction(photo, other_user)
    vote(first, UserFactory(username="v1"), 1)
    decide(first, status="rejected")

    def count() -> int:
        from django.core.cache import cache
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/photos/{photo.pk}/").status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for i in range(4):
        correction = rendered_correction(photo, UserFactory(username=f"author{i}"))
        for j in range(3):
            vote(correction, UserFactory(username=f"voter{i}{j}"), 1 if j else -1, "because")
    assert count() == small
    # The page's own queries: photo, the drafts' states (the fragments' key), drafts (read only when
    # a fragment renders), corrections (+authors, renders, deciders), their evidence, votes (+voters),
    # vote evidence = 7; plus whatever the two slots other work owns
    # (discussion: review; models: registry) need, measured on their own so the pin stays exact.
    from django.contrib.auth.models import AnonymousUser
    from django.db import connection
    from django.template.loader import render_to_string
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    request = RequestFactory().get(f"/photos/{photo.pk}/")
    request.user = AnonymousUser()
    drafts = list(photo.drafts.filter(purpose="draft"))
    with CaptureQueriesContext(connection) as slot:
        for template in ("community/includes/photo_discussion.html", "colorization/includes/photo_models.html"):
            render_to_string(template, {"photo": photo, "drafts": drafts, "user": request.user}, request=request)
    from django.core.cache import cache

    cache.clear()
    with django_assert_num_queries(7 + len(slot.captured_queries)):
        client.get(f"/photos/{photo.pk}/")


def test_anonymous_pages_are_cached_until_something_changes(client, photo, other_user):
    assert client.get(f"/photos/{photo.pk}/")["X-Page-Cache"] == "miss"
    assert client.get(f"/photos/{photo.pk}/")["X-Page-Cache"] == "hit"
    correction = rendered_correction(photo, other_user)
    assert client.get(f"/photos/{photo.pk}/")["X-Page-Cache"] == "miss"
    vote(correction, UserFactory(username="v"), 1)
    assert client.get(f"/photos/{photo.pk}/")["X-Page-Cache"] == "miss"
    decide(correction)
    response = client.get(f"/photos/{photo.pk}/")
    assert response["X-Page-Cache"] == "miss" and "Community version" in response.content.decode()


def test_pages_with_drafts_in_progress_are_not_cached(client, owner, make_photo):
    photo = make_photo(owner)
    assert client.get(f"/photos/{photo.pk}/")["X-Page-Cache"] == "miss"
    assert client.get(f"/photos/{photo.pk}/")["X-Page-Cache"] == "miss"


def test_signed_in_people_can_add_the_photo_to_their_collections(client, photo, other_user):
    client.force_login(other_user)
    response = client.post("/collections/new/", {"title": "Detroit trams", "photo": photo.pk, "is_public": "on"})
    collection = other_user.collections.get()
    assert response.url == f"/collections/{collection.pk}/"
    assert list(collection.photos.all()) == [photo]
    assert "Detroit trams" in client.get(f"/photos/{photo.pk}/").content.decode()
    assert Correction.objects.count() == 0
