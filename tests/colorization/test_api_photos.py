"""The photos API: access for the owner, another user and anonymous visitors; filters; errors."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from colorization.models import Photo
from tests import images
from tests.conftest import api_client_for, upload_file

pytestmark = pytest.mark.django_db


def test_a_token_is_issued_for_a_username_and_password(owner):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "owner", "password": "a-long-test-password"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    upload = client.post(
        "/api/v1/photos/", {"image": upload_file(images.jpeg()), "title": "With a token"}, format="multipart"
    )
    assert upload.status_code == 201


def test_a_wrong_password_gets_a_json_401_and_a_missing_one_a_400(owner):
    response = APIClient().post("/api/v1/auth/token/", {"username": "owner", "password": "nope"}, format="json")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert response.json()["error"] == "authentication_failed" and response.json()["detail"]
    missing = APIClient().post("/api/v1/auth/token/", {"username": "owner"}, format="json")
    assert missing.status_code == 400 and "password" in missing.json()["fields"]


def test_request_bodies_take_only_the_fields_they_declare(owner):
    client = api_client_for(owner)
    response = client.post("/api/v1/photos/", {"image": upload_file(), "title": "x", "titel": "y"})
    assert response.status_code == 400 and "titel" in response.json()["fields"]
    assert not Photo.objects.exists()


@pytest.mark.parametrize("page_size", ["0", "101", "ten", "-1"])
def test_a_page_size_out_of_bounds_is_a_400(page_size):
    response = APIClient().get(f"/api/v1/photos/?page_size={page_size}")
    assert response.status_code == 400 and "page_size" in response.json()["fields"]


def test_page_size_and_the_text_rule_are_in_the_schema():
    schema = APIClient().get("/api/schema/?format=json").json()
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/photos/"]["get"]["parameters"]}
    assert parameters["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}
    upload = schema["components"]["schemas"]["PhotoUploadRequest"]
    assert upload["additionalProperties"] is False
    assert "\\x00" in upload["properties"]["place"]["pattern"]


def test_anonymous_visitors_cannot_upload(api):
    response = api(None).post(
        "/api/v1/photos/", {"image": upload_file(images.jpeg()), "title": "x"}, format="multipart"
    )
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_an_upload_records_metadata_checksum_and_thumbnail(api, owner):
    response = api(owner).post(
        "/api/v1/photos/",
        {
            "image": upload_file(images.jpeg(seed=1)),
            "title": "Broadway at the United States Hotel",
            "description": "Street view, horse carriages.",
            "year_from": 1900,
            "year_to": 1915,
            "genre": "street",
            "place": "Saratoga Springs, NY",
            "source_archive": "Library of Congress",
            "source_reference": "https://www.loc.gov/item/2016794123/",
            "licence": "public-domain",
            "credit_line": "Detroit Publishing Co.",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner"] == "owner"
    assert body["era"] == "1900–1915"
    assert body["genre"] == "street"
    assert len(body["original_sha256"]) == 64
    assert body["thumbnail_url"].split("?")[0].endswith(".jpg")
    assert body["page_url"].endswith(f"/photos/{body['id']}/")


def test_a_single_year_is_stored_as_a_one_year_range(api, owner):
    response = api(owner).post(
        "/api/v1/photos/", {"image": upload_file(images.jpeg()), "title": "x", "year_from": 1936}, format="multipart"
    )
    assert (response.json()["year_from"], response.json()["year_to"]) == (1936, 1936)


@pytest.mark.parametrize("who", ["owner", "other", "anonymous"])
def test_everyone_can_list_and_read_public_photos(api, owner, other_user, make_photo, who):
    photo = make_photo(owner)
    user = {"owner": owner, "other": other_user, "anonymous": None}[who]
    listing = api(user).get("/api/v1/photos/")
    assert listing.status_code == 200
    assert [p["id"] for p in listing.json()["results"]] == [photo.pk]
    assert api(user).get(f"/api/v1/photos/{photo.pk}/").status_code == 200


@pytest.mark.parametrize(("who", "status"), [("owner", 200), ("other", 404), ("anonymous", 404), ("staff", 200)])
def test_hidden_photos_are_visible_only_to_their_owner_and_staff(api, owner, other_user, make_photo, who, status):
    photo = make_photo(owner)
    photo.hidden_at = timezone.now()
    photo.save()
    staff = other_user.__class__.objects.create_user("staff", password="x" * 12, is_staff=True)
    user = {"owner": owner, "other": other_user, "anonymous": None, "staff": staff}[who]
    assert api(user).get(f"/api/v1/photos/{photo.pk}/").status_code == status
    listed = [p["id"] for p in api(user).get("/api/v1/photos/").json()["results"]]
    assert (photo.pk in listed) == (status == 200)


@pytest.mark.parametrize(("who", "status"), [("owner", 200), ("other", 403), ("anonymous", 401)])
def test_only_the_owner_edits_metadata(api, owner, other_user, make_photo, who, status):
    photo = make_photo(owner, title="Old title")
    user = {"owner": owner, "other": other_user, "anonymous": None}[who]
    response = api(user).patch(f"/api/v1/photos/{photo.pk}/", {"title": "New title", "genre": "street"}, format="json")
    assert response.status_code == status
    photo.refresh_from_db()
    assert photo.title == ("New title" if status == 200 else "Old title")


def test_editing_metadata_never_touches_the_original(api, owner, make_photo):
    photo = make_photo(owner)
    sha, name = photo.original_sha256, photo.original.name
    api(owner).patch(f"/api/v1/photos/{photo.pk}/", {"year_from": 1910, "year_to": 1919}, format="json")
    photo.refresh_from_db()
    assert (photo.original_sha256, photo.original.name) == (sha, name)
    assert (photo.year_from, photo.year_to) == (1910, 1919)


def test_bad_metadata_edits_are_explained(api, owner, make_photo):
    photo = make_photo(owner, year_from=1910, year_to=1919)
    response = api(owner).patch(f"/api/v1/photos/{photo.pk}/", {"year_from": 1950}, format="json")
    assert response.status_code == 400
    assert "year_to" in response.json()["fields"]


def test_filters_by_genre_era_decade_owner_and_text(api, owner, other_user, make_photo):
    street = make_photo(owner, title="Main street", genre="street", year_from=1905, year_to=1910, place="Detroit")
    portrait = make_photo(other_user, title="Lincoln", genre="portrait", year_from=1863, year_to=1865)
    unknown = make_photo(owner, title="Undated")
    client = api(None)

    def ids(query):
        response = client.get(f"/api/v1/photos/?{query}")
        assert response.status_code == 200, response.content
        return {p["id"] for p in response.json()["results"]}

    assert ids("genre=street") == {street.pk}
    assert ids("decade=1860") == {portrait.pk}
    assert ids("era=1900-1919") == {street.pk}
    assert ids("owner=other") == {portrait.pk}
    assert ids("q=detroit") == {street.pk}
    assert ids("") == {street.pk, portrait.pk, unknown.pk}
    bad = client.get("/api/v1/photos/?era=sometime")
    assert bad.status_code == 400
    assert "era" in bad.json()["fields"]


def test_lists_are_paginated(api, owner, make_photo):
    for _ in range(3):
        make_photo(owner)
    body = api(None).get("/api/v1/photos/?page_size=2").json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]


def test_the_list_does_not_grow_queries_with_photos(api, owner, make_photo, django_assert_max_num_queries):
    for _ in range(5):
        make_photo(owner)
    with django_assert_max_num_queries(3):
        assert len(api(None).get("/api/v1/photos/").json()["results"]) == 5


def test_unknown_photos_are_a_json_404(api):
    response = api(None).get("/api/v1/photos/999/")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "Not found."}


def test_the_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in ("/api/v1/photos/", "/api/v1/photos/{id}/", "/api/v1/auth/token/"):
        assert path in text
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_uploads_are_rate_limited(api, owner, settings):
    settings.CHROMA_UPLOAD_RATE = "2/hour"
    responses = [
        api(owner).post(
            "/api/v1/photos/", {"image": upload_file(images.jpeg(seed=s)), "title": "x"}, format="multipart"
        )
        for s in range(3)
    ]
    assert [r.status_code for r in responses] == [201, 201, 429]
    assert responses[2].json()["error"] == "throttled"
    assert "Retry-After" in responses[2]
