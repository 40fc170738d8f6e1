"""The input rules every door shares: control characters, ids, body limits, JSON errors under /api/."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from colorization.images import ImageRejected, inspect_image
from colorization.services import photo_upload
from tests import images
from tests.colorization.hostile import tiff_next_ifd_past_end
from tests.conftest import api_client_for

CONTROL = ["\x00", "\x01", "\x07", "\x1b", "\x7f"]


@pytest.mark.parametrize("char", CONTROL)
@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/gallery/?q=a{c}b", "q"),
        ("/gallery/?place=a{c}b", "place"),
        ("/gallery/?archive=a{c}b", "archive"),
        ("/api/v1/training-runs/?status=a{c}", "status"),
        ("/api/v1/photos/?q=a{c}", "q"),
    ],
)
def test_control_characters_in_query_strings_are_a_400_naming_the_field(db, client, path, field, char):
    response = client.get(path.format(c=char))
    assert response.status_code == 400
    assert field in response.content.decode()


def test_a_nul_in_a_path_is_a_400(db, client):
    assert client.get("/people/a%00b/").status_code == 400


def test_tab_newline_and_return_are_fine(db, client):
    assert client.get("/gallery/?q=a%09b%0Ac%0D").status_code == 200


@pytest.mark.parametrize("field", ["text", "url", "archive_reference"])
def test_control_characters_in_nested_json_evidence_name_the_field(owner, make_photo, field):
    photo = make_photo(owner)
    client = api_client_for(owner)
    evidence = [{"text": "ok", field: "bad\x00value"}]
    response = client.post(
        f"/api/v1/photos/{photo.pk}/corrections/", {"hints": {"points": []}, "evidence": evidence}, format="json"
    )
    assert response.status_code == 400
    assert f"evidence[0].{field}" in response.json()["fields"]


def test_control_characters_in_json_inside_a_form_field_are_caught_by_the_service(owner, make_photo):
    from django.core.exceptions import ValidationError

    from community.review.corrections import evidence_clean

    with pytest.raises(ValidationError) as caught:
        evidence_clean([{"text": "a\x00b"}])
    assert "evidence[0].text" in caught.value.message_dict


def test_photo_metadata_from_any_door_follows_the_rule(owner):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        photo_upload(
            owner=owner,
            file=SimpleUploadedFile("p.jpg", images.jpeg()),
            filename="p.jpg",
            metadata={"title": "A\x00", "place": "x\x1b"},
        )
    assert set(caught.value.message_dict) >= {"title", "place"}


@pytest.mark.parametrize(("url", "data"), [("/comments/new/", {"photo": "abc", "body": "hi"})])
def test_non_numeric_ids_in_forms_are_a_400(owner, url, data):
    client = Client()
    client.force_login(owner)
    assert client.post(url, data).status_code == 400


def test_non_numeric_pk_to_hide_is_a_400(moderator):
    client = Client()
    client.force_login(moderator)
    assert client.post("/moderation/hide/", {"kind": "photo", "pk": "abc"}).status_code == 400


def test_a_tiff_whose_next_page_lies_past_the_end_is_refused_not_a_crash():
    from io import BytesIO

    with pytest.raises(ImageRejected) as caught:
        inspect_image(BytesIO(tiff_next_ifd_past_end()), max_bytes=10**8, max_pixels=10**8, min_side=16)
    assert caught.value.status == 400


def test_too_many_files_is_a_json_413(owner, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    client = api_client_for(owner)
    files = [SimpleUploadedFile(f"{i}.jpg", images.jpeg(seed=i)) for i in range(4)]
    response = client.post("/api/v1/photos/", {"image": files, "title": "x"}, format="multipart")
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_a_field_over_the_memory_limit_is_a_json_413(owner, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = api_client_for(owner)
    response = client.post(
        "/api/v1/photos/", {"image": SimpleUploadedFile("a.jpg", images.jpeg()), "title": "x" * 5000}
    )
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_unknown_api_urls_answer_json(db, client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_the_original_download_has_the_detected_type_not_the_file_names(owner):
    result = photo_upload(
        owner=owner,
        file=SimpleUploadedFile("page.html", images.png()),
        filename="page.html",
        metadata={"title": "T"},
    )
    response = Client().get(f"/photos/{result.photo.pk}/download/original")
    assert response["Content-Type"] == "image/png"
    assert "page.html.png" in response["Content-Disposition"]


def test_uploading_a_hidden_photos_bytes_again_reveals_nothing(owner, other_user):
    from django.utils import timezone

    data = images.jpeg(seed=4242)
    photo = photo_upload(
        owner=owner,
        file=SimpleUploadedFile("a.jpg", data),
        filename="a.jpg",
        metadata={"title": "Secret"},
    ).photo
    photo.hidden_at = timezone.now()
    photo.save(update_fields=["hidden_at"])
    response = api_client_for(other_user).post(
        "/api/v1/photos/", {"image": SimpleUploadedFile("b.jpg", data), "title": "Mine"}, format="multipart"
    )
    assert response.status_code == 409
    assert "Secret" not in response.content.decode() and str(photo.pk) not in response.json().get("id", "")
    again = api_client_for(owner).post(
        "/api/v1/photos/", {"image": SimpleUploadedFile("b.jpg", data), "title": "Mine"}, format="multipart"
    )
    assert again.status_code == 200 and again.json()["id"] == photo.pk


def test_media_is_served_only_with_a_valid_unexpired_signature(owner, make_photo):
    from django.core.files.storage import default_storage

    from colorization.media import signature_valid

    photo = make_photo(owner)
    url = default_storage.url(photo.thumbnail.name)
    client = Client()
    assert client.get(url).status_code == 200
    assert client.get(url.split("?")[0]).status_code == 403
    tampered = url.replace("thumbnails", "originals", 1)
    assert client.get(tampered).status_code == 403
    assert not signature_valid(photo.thumbnail.name, "1", "x")


def test_a_files_signed_url_is_made_once_per_window_and_turns_with_it(owner, make_photo, monkeypatch, settings):
    """Signed URLs are remembered for their window (issue 25), never past it."""
    from django.core.files.storage import default_storage

    from colorization import media

    photo = make_photo(owner)
    name = photo.thumbnail.name
    window = settings.CHROMA_MEDIA_URL_SECONDS
    start = (1_900_000_000 // window) * window
    monkeypatch.setattr(media.time, "time", lambda: start + 1)
    first = default_storage.url(name)
    signed = []
    monkeypatch.setattr(media, "signature", lambda *a: signed.append(a) or "x" * 32)
    assert default_storage.url(name) == first and signed == []  # remembered, not signed again
    monkeypatch.setattr(media.time, "time", lambda: start + window + 1)
    turned = default_storage.url(name)
    assert turned != first and signed == [(name, start + 3 * window)]
    assert f"e={start + 3 * window}" in turned
