"""Server-rendered pages: home, gallery, photo page, upload (the no-JavaScript path), my photos."""

from __future__ import annotations

import pytest
from django.utils import timezone

from colorization.models import Photo
from tests import images
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db


def test_the_home_page_shows_recent_photos(client, owner, make_photo):
    make_photo(owner, title="Old Tom Morris")
    response = client.get("/")
    assert response.status_code == 200
    assert "Old Tom Morris" in response.content.decode()


def test_the_gallery_filters_by_genre_and_decade(client, owner, make_photo):
    make_photo(owner, title="Main street", genre="street", year_from=1905, year_to=1910)
    make_photo(owner, title="Lincoln", genre="portrait", year_from=1863, year_to=1865)
    page = client.get("/gallery/?genre=street&decade=1900").content.decode()
    assert "Main street" in page
    assert "Lincoln" not in page
    page = client.get("/gallery/?decade=1860").content.decode()
    assert "Lincoln" in page
    assert "Main street" not in page
    assert client.get("/gallery/?decade=soon").status_code == 200


def test_the_gallery_query_count_does_not_grow_with_photos(client, owner, make_photo, django_assert_max_num_queries):
    for _ in range(6):
        make_photo(owner)
    with django_assert_max_num_queries(6):
        assert client.get("/gallery/").status_code == 200


@pytest.mark.parametrize("who", ["owner", "other", "anonymous"])
def test_the_photo_page_shows_provenance_to_everyone(client, owner, other_user, make_photo, who):
    photo = make_photo(owner, title="Buffalo Bank", source_archive="Library of Congress", licence="public-domain")
    if who != "anonymous":
        client.force_login({"owner": owner, "other": other_user}[who])
    page = client.get(f"/photos/{photo.pk}/").content.decode()
    assert "Buffalo Bank" in page
    assert photo.original_sha256 in page
    assert "Library of Congress" in page
    assert "Public domain" in page


@pytest.mark.parametrize(("who", "status"), [("owner", 200), ("other", 404), ("anonymous", 404)])
def test_hidden_photo_pages(client, owner, other_user, make_photo, who, status):
    photo = make_photo(owner)
    Photo.objects.filter(pk=photo.pk).update(hidden_at=timezone.now())
    if who != "anonymous":
        client.force_login({"owner": owner, "other": other_user}[who])
    assert client.get(f"/photos/{photo.pk}/").status_code == status


def test_the_upload_page_needs_an_account(client):
    response = client.get("/upload/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_upload_form_takes_several_files_at_once(client, owner):
    client.force_login(owner)
    files = [upload_file(images.jpeg(seed=s), name=f"street_view_{s}.jpg") for s in range(3)]
    response = client.post("/upload/", {"images": files, "genre": "street", "licence": "public-domain", "title": ""})
    assert response.status_code == 302
    titles = sorted(Photo.objects.values_list("title", flat=True))
    assert titles == ["street view 0", "street view 1", "street view 2"]
    assert set(Photo.objects.values_list("genre", flat=True)) == {"street"}


def test_the_upload_form_reports_each_bad_file_and_keeps_the_good_ones(client, owner):
    client.force_login(owner)
    files = [upload_file(images.jpeg(seed=1), "good.jpg"), upload_file(images.zip_file(), "bad.jpg")]
    response = client.post("/upload/", {"images": files, "genre": "unknown", "licence": "unknown"}, follow=True)
    page = response.content.decode()
    assert "bad.jpg" in page
    assert "not an image" in page
    assert Photo.objects.count() == 1


def test_my_photos_lists_only_mine(client, owner, other_user, make_photo):
    make_photo(owner, title="Mine")
    make_photo(other_user, title="Theirs")
    client.force_login(owner)
    page = client.get("/me/photos/").content.decode()
    assert "Mine" in page
    assert "Theirs" not in page
