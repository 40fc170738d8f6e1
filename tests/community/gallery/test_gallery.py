"""The public gallery: community versions, filters, search, sorts, keyset pages, cache, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from community.gallery.selectors import GalleryQuery, gallery_page
from community.models import GalleryEntry
from community.review.comments import comment_add
from community.review.moderation import content_hide
from tests import images
from tests.community.gallery.helpers import decide, finish_drafts, rendered_correction

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quiet_broker")]


def cards(response) -> list[int]:
    return [entry.photo_id for entry in response.context["page"].entries]


def test_every_upload_gets_an_entry_and_metadata_edits_follow(owner, make_photo):
    photo = make_photo(owner, title="Harbour", genre="transport", year_from=1912, year_to=1912, place="Hamburg")
    entry = GalleryEntry.objects.get(photo=photo)
    assert (entry.genre, entry.place, entry.year_from, entry.version) == ("transport", "Hamburg", 1912, "none")
    photo.place = "Bremen"
    photo.save()
    entry.refresh_from_db()
    assert entry.place == "Bremen" and "bremen" in entry.search_text


def test_the_card_shows_the_community_version_else_the_draft_labelled(
    client, owner, other_user, make_photo, tiny_base_model
):
    with_community = make_photo(owner, title="Tram on Main Street", data=images.jpeg(96, 64, seed=8))
    draft_only = make_photo(owner, title="Quay at dusk", data=images.jpeg(96, 64, seed=9))
    finish_drafts(with_community)
    finish_drafts(draft_only)
    correction = rendered_correction(with_community, other_user)
    decide(correction, votes_up=4)

    page = client.get("/gallery/")
    entries = {e.photo_id: e for e in page.context["page"].entries}
    assert entries[with_community.pk].version == "community"
    assert entries[with_community.pk].endorsements == 4
    assert entries[draft_only.pk].version == "draft"
    html = page.content.decode()
    # One line per card says which version it is (issue 22: no pill repeating the label).
    assert html.count("data-version-line") == 2 and "version-tag" not in html
    assert "Community version · AI-colorized with volunteer hints" in html and "· 4 endorsements</span>" in html
    assert "AI-colorized · model base" in html
    assert entries[with_community.pk].version_thumbnail == correction.render.thumbnail.name


@pytest.fixture
def archive(owner, make_photo):
    rows = [
        ("Paperboys", "street", 1908, 1910, "Detroit", "Library of Congress"),
        ("Miners", "industry", 1915, 1915, "Wales", "People's Collection"),
        ("Station", "transport", 1936, 1936, "Detroit", "Library of Congress"),
        ("Wedding", "portrait", 1911, 1911, "Leeds", ""),
        ("Market day", "street", 1954, 1956, "Paris", "Gallica"),
    ]
    photos = {}
    for title, genre, y0, y1, place, source in rows:
        photos[title] = make_photo(
            owner,
            title=title,
            genre=genre,
            year_from=y0,
            year_to=y1,
            place=place,
            source_archive=source,
            description=f"{title} photographed in {place}",
        )
    return photos


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("decade=1910", {"Paperboys", "Miners", "Wedding"}),
        ("decade=1910&genre=street", {"Paperboys"}),
        ("era=1900-1919", {"Paperboys", "Miners", "Wedding"}),
        ("era=1940-1959", {"Market day"}),
        ("genre=street", {"Paperboys", "Market day"}),
        ("place=detroit", {"Paperboys", "Station"}),
        ("archive=Library+of+Congress", {"Paperboys", "Station"}),
        ("q=market", {"Market day"}),
        ("q=detroit+station", {"Station"}),
        ("q=photographed", {"Paperboys", "Miners", "Station", "Wedding", "Market day"}),
    ],
)
def test_filters_narrow_the_grid(client, archive, query, expected):
    response = client.get(f"/gallery/?{query}")
    titles = {title for title, photo in archive.items() if photo.pk in cards(response)}
    assert titles == expected
    assert len(cards(response)) == len(expected)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("decade=soon", "not a decade"),
        ("genre=cats", "not a genre"),
        ("era=1901-1902", "not one of the eras"),
        ("sort=random", "not a sort order"),
        ("after=%%%garbage", "page link is damaged"),
    ],
)
def test_bad_filters_say_why_and_still_show_the_gallery(client, archive, query, words):
    response = client.get(f"/gallery/?{query}")
    assert response.status_code == 200
    assert words in response.content.decode()
    assert len(cards(response)) == 5


def test_sorts_by_endorsements_and_discussion(client, archive, owner):
    GalleryEntry.objects.filter(photo=archive["Miners"]).update(endorsements=9)
    GalleryEntry.objects.filter(photo=archive["Station"]).update(endorsements=4)
    assert cards(client.get("/gallery/?sort=endorsed"))[:2] == [archive["Miners"].pk, archive["Station"].pk]
    for _ in range(2):
        comment_add(author=owner, photo=archive["Wedding"], body="Who is the bride?")
    comment_add(author=owner, photo=archive["Paperboys"], body="Newsies strike of 1899?")
    assert GalleryEntry.objects.get(photo=archive["Wedding"]).comments == 2
    assert cards(client.get("/gallery/?sort=discussed"))[:2] == [archive["Wedding"].pk, archive["Paperboys"].pk]


def test_keyset_pages_walk_everything_once_in_both_directions(owner, make_photo, client, monkeypatch):
    photos = [make_photo(owner, title=f"P{i}", genre="street") for i in range(7)]
    # Same upload second for several photos: the id breaks the tie.
    same = timezone.now() - timedelta(days=1)
    GalleryEntry.objects.filter(photo__in=photos[2:5]).update(created_at=same)
    query = GalleryQuery()
    seen, pages, cursor = [], [], ""
    while True:
        page = gallery_page(query, after=cursor, size=3)
        pages.append(page)
        seen += [e.photo_id for e in page.entries]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(p.pk for p in photos) and len(seen) == len(set(seen))
    back = gallery_page(query, before=pages[-1].prev_cursor, size=3)
    assert [e.photo_id for e in back.entries] == [e.photo_id for e in pages[-2].entries]
    # Through the page: links carry the filters, and following them pages through.
    monkeypatch.setattr("community.gallery.selectors.PAGE_SIZE", 3)
    response = client.get("/gallery/?genre=street")
    walked = cards(response)
    while response.context["next_url"]:
        assert "genre=street&after=" in response.context["next_url"]
        response = client.get(response.context["next_url"])
        walked += cards(response)
    assert walked == seen


def test_hidden_photos_leave_the_gallery_and_the_cache(client, archive, moderator):
    photo = archive["Miners"]
    assert photo.pk in cards(client.get("/gallery/"))
    assert client.get("/gallery/")["X-Page-Cache"] == "hit"
    content_hide(moderator=moderator, kind="photo", obj=photo, reason="Not a historical photograph")
    response = client.get("/gallery/")
    assert response["X-Page-Cache"] == "miss"
    assert photo.pk not in cards(response)


def test_a_decision_invalidates_the_cached_gallery(client, owner, other_user, make_photo, tiny_base_model):
    photo = make_photo(owner, title="Tram", data=images.jpeg(96, 64, seed=8))
    finish_drafts(photo)
    correction = rendered_correction(photo, other_user)
    assert client.get("/gallery/")["X-Page-Cache"] == "miss"
    assert client.get("/gallery/")["X-Page-Cache"] == "hit"
    decide(correction)
    response = client.get("/gallery/")
    assert response["X-Page-Cache"] == "miss"
    assert "Community version" in response.content.decode()


def test_signed_in_people_are_not_served_the_shared_cache(client, archive, owner):
    client.get("/gallery/")
    client.force_login(owner)
    assert client.get("/gallery/").get("X-Page-Cache") is None


def test_the_gallery_is_a_fixed_number_of_queries(client, owner, make_photo, django_assert_num_queries):
    for i in range(3):
        make_photo(owner, title=f"A{i}", genre="street")
    with django_assert_num_queries(2):  # the page of entries + photos; the archive list for the filter
        client.get("/gallery/?genre=street")
    for i in range(20):
        make_photo(owner, title=f"B{i}", genre="street", source_archive=f"Archive {i}")
    from django.core.cache import cache

    cache.clear()
    with django_assert_num_queries(2):
        response = client.get("/gallery/?genre=street")
    assert len(cards(response)) == 23
    with django_assert_num_queries(0):  # cached
        client.get("/gallery/?genre=street")


def test_a_submitted_form_lands_on_the_short_shareable_url(client, archive):
    response = client.get("/gallery/?q=&decade=1910&era=&genre=street&place=&archive=&sort=newest")
    assert response.status_code == 302
    assert response.url == "/gallery/?decade=1910&genre=street"


def test_cache_hits_are_answered_before_sessions_and_keep_their_headers(client, archive, django_assert_num_queries):
    first = client.get("/gallery/?genre=street")
    assert first["X-Page-Cache"] == "miss" and "Cookie" in first["Vary"]
    with django_assert_num_queries(0):
        hit = client.get("/gallery/?genre=street")
    assert hit["X-Page-Cache"] == "hit"
    assert hit["X-Frame-Options"] == "DENY" and "Cookie" in hit["Vary"]
    assert hit.content == first.content
    # Someone with a session is never served the shared copy.
    client.cookies["sessionid"] = "anything"
    assert client.get("/gallery/?genre=street").get("X-Page-Cache") != "hit"


def test_a_deleted_photo_leaves_the_cached_gallery(client, archive):
    assert archive["Wedding"].pk in cards(client.get("/gallery/"))
    pk = archive["Wedding"].pk
    archive["Wedding"].delete()
    response = client.get("/gallery/")
    assert response["X-Page-Cache"] == "miss" and pk not in cards(response)
