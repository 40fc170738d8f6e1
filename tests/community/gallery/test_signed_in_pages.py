"""Signed-in pages with shared fragments (issue 25): what changes shows on the next view, what is
per person stays per person, and the query counts are pinned."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from colorization.services import draft_ask
from community.gallery.page_cache import CSRF_SLOT
from community.review.decisions import correction_decide, vote_cast
from community.review.moderation import content_hide
from tests.community.conftest import person
from tests.community.gallery.helpers import finish_drafts, rendered_correction

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quiet_broker")]


@pytest.fixture(autouse=True)
def fragments_on(settings):
    """Fragments as a deployment with a shared cache has them (one process: the local cache is shared)."""
    settings.CHROMA_FRAGMENT_CACHE_SECONDS = 300
    cache.clear()


@pytest.fixture
def crew(db, settings):
    trusted = settings.CHROMA_VOTE_TRUSTED_REPUTATION
    return {
        "owner": person("archivist", reputation=trusted),
        "author": person("author", reputation=trusted),
        "viewer": person("viewer", reputation=trusted),
        "voter": person("voter", reputation=trusted),
        "moderator": person("mod", role="moderator", reputation=trusted),
    }


@pytest.fixture
def photo(crew, make_photo, tiny_base_model):
    photo = make_photo(crew["owner"], title="Tram on Main Street")
    finish_drafts(photo)
    return photo


@pytest.fixture
def correction(photo, crew):
    return rendered_correction(photo, crew["author"], note="The livery was maroon")


@pytest.fixture
def viewer(client, crew):
    client.force_login(crew["viewer"])
    return client


def pages(viewer, photo, correction) -> dict[str, str]:
    """Every page that shows the correction, as the signed-in viewer sees it now."""
    out = {}
    for name, url in {
        "gallery": "/gallery/",
        "photo": f"/photos/{photo.pk}/",
        "correction": f"/corrections/{correction.pk}/",
        "queue": "/review/",
    }.items():
        response = viewer.get(url)
        out[name] = response.content.decode() if response.status_code == 200 else str(response.status_code)
    return out


def test_a_vote_shows_on_the_next_signed_in_view(viewer, photo, correction, crew):
    before = pages(viewer, photo, correction)  # every fragment cached
    assert "voter" not in before["correction"] and "0 for, 0 against" in before["queue"]
    vote_cast(correction_id=correction.pk, voter=crew["voter"], value=1, comment="Matches the 1912 records")
    after = pages(viewer, photo, correction)
    assert 'href="/people/voter/"' in after["correction"] and "Matches the 1912 records" in after["correction"]
    assert f"For correction {correction.pk}" in after["photo"] and "Matches the 1912 records" in after["photo"]
    assert "1 for, 0 against" in after["queue"]


def test_a_decision_shows_on_the_next_signed_in_view(viewer, photo, correction, crew):
    before = pages(viewer, photo, correction)
    assert 'data-version="draft"' in before["gallery"] and f"correction {correction.pk}" in before["queue"]
    correction_decide(correction_id=correction.pk, moderator=crew["moderator"], decision="accept", reason="Records")
    after = pages(viewer, photo, correction)
    assert 'data-version="community"' in after["gallery"]
    assert 'id="shown-version">Community version' in after["photo"]
    assert f"Correction {correction.pk} accepted by a moderator" in after["photo"]
    assert "<strong>Accepted</strong>" in after["correction"] and "by moderator mod" in after["correction"]
    assert f"correction {correction.pk}" not in after["queue"]


def test_a_hide_shows_on_the_next_signed_in_view(viewer, photo, correction, crew):
    correction_decide(correction_id=correction.pk, moderator=crew["moderator"], decision="accept", reason="Records")
    before = pages(viewer, photo, correction)
    assert 'data-version="community"' in before["gallery"] and f'data-correction="{correction.pk}"' in before["photo"]
    content_hide(moderator=crew["moderator"], kind="correction", obj=correction, reason="Copied from elsewhere")
    after = pages(viewer, photo, correction)
    assert 'data-version="draft"' in after["gallery"]
    assert f'data-correction="{correction.pk}"' not in after["photo"] and "Community version" not in after["photo"]
    assert after["correction"] == "404"
    content_hide(moderator=crew["moderator"], kind="photo", obj=photo, reason="Not a historical photograph")
    assert f'data-photo="{photo.pk}"' not in viewer.get("/gallery/").content.decode()
    assert viewer.get(f"/photos/{photo.pk}/").status_code == 404


def test_a_new_draft_shows_on_the_next_signed_in_view(viewer, photo, correction, crew):
    before = pages(viewer, photo, correction)
    new = draft_ask(photo=photo, requested_by=crew["viewer"], render_size=192)
    html = viewer.get(f"/photos/{photo.pk}/").content.decode()
    assert f'data-draft="{new.pk}" data-status="queued"' in html
    finish_drafts(photo)
    html = viewer.get(f"/photos/{photo.pk}/").content.decode()
    assert f'data-draft="{new.pk}" data-status="done"' in html and f"AI draft {new.pk} by model" in html
    assert f'data-draft="{new.pk}"' not in before["photo"]
    # A new correction (a new draft of colours by a volunteer) shows too.
    second = rendered_correction(photo, crew["voter"], note="Green awning, per the shop's sign")
    after = pages(viewer, photo, correction)
    assert f'data-correction="{second.pk}"' in after["photo"] and "Green awning" in after["photo"]
    assert f"correction {second.pk}" in after["queue"]


def test_a_source_verdict_shows_on_the_next_signed_in_view(viewer, photo, correction, crew):
    """The sources and the colour provenance are a shared fragment of the correction page (issue 25)."""
    from community.review.provenance import source_verify

    historian = person("historian", role="historian")
    url = f"/corrections/{correction.pk}/"
    before = viewer.get(url).content.decode()  # the fragment cached
    assert 'id="sources"' in before and "Verified by historian" not in before
    evidence = correction.evidence.get()
    source_verify(evidence_id=evidence.pk, historian=historian, verdict="verified", note="Plate 4 matches")
    after = viewer.get(url).content.decode()
    assert "Verified by historian" in after and "Plate 4 matches" in after
    # The historian's own view offers the verdict form; the viewer's (same fragment key otherwise) does not.
    viewer.force_login(historian)
    assert 'class="inline-form verify-form"' in viewer.get(url).content.decode()
    viewer.force_login(crew["viewer"])
    assert 'class="inline-form verify-form"' not in viewer.get(url).content.decode()


def test_the_unread_count_follows_notifications_and_reading_them(viewer, photo, correction, crew):
    from community.review.notifications import notifications_mark_read, notify

    assert "count-badge" not in viewer.get("/gallery/").content.decode()  # 0, now cached
    notify(recipient=crew["viewer"], verb="voted", text="Someone voted", url=f"/corrections/{correction.pk}/")
    assert "Notifications, 1 unread" in viewer.get("/gallery/").content.decode()
    notifications_mark_read(user=crew["viewer"])
    assert "count-badge" not in viewer.get("/gallery/").content.decode()


def test_shared_fragments_carry_each_visitors_own_csrf_token(client, photo, correction, crew):
    tokens = []
    for who in ("viewer", "voter"):
        client.force_login(crew[who])
        for url in (f"/photos/{photo.pk}/", f"/corrections/{correction.pk}/", "/gallery/"):
            html = client.get(url).content.decode()
            assert CSRF_SLOT not in html
        html = client.get(f"/photos/{photo.pk}/").content.decode()
        found = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))
        assert found, "the page's forms carry a token"
        tokens.append(client.cookies["csrftoken"].value)
        client.logout()
    assert tokens[0] != tokens[1]
    # The shared form works for the second visitor with the token the page gave them.
    client.force_login(crew["voter"])
    client.handler.enforce_csrf_checks = True
    html = client.get(f"/photos/{photo.pk}/").content.decode()
    token = re.search(
        r'action="/photos/\d+/drafts/"[^>]*>\s*<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"', html
    )
    assert token is not None
    response = client.post(f"/photos/{photo.pk}/drafts/", {"csrfmiddlewaretoken": token.group(1), "render_size": 192})
    assert response.status_code in (302, 303)


def test_hidden_corrections_never_reach_a_shared_fragment(client, photo, correction, crew, django_user_model):
    content_hide(moderator=crew["moderator"], kind="correction", obj=correction, reason="Under discussion")
    client.force_login(crew["author"])  # the author still sees their hidden correction...
    assert f'data-correction="{correction.pk}"' in client.get(f"/photos/{photo.pk}/").content.decode()
    client.force_login(crew["viewer"])  # ...and nobody else, from the same cache
    assert f'data-correction="{correction.pk}"' not in client.get(f"/photos/{photo.pk}/").content.decode()
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    client.force_login(staff)
    assert f'data-correction="{correction.pk}"' in client.get(f"/photos/{photo.pk}/").content.decode()
    client.force_login(crew["viewer"])
    assert f'data-correction="{correction.pk}"' not in client.get(f"/photos/{photo.pk}/").content.decode()


def test_anonymous_and_signed_in_fragments_stay_apart(client, photo, correction, crew):
    anonymous = client.get(f"/photos/{photo.pk}/").content.decode()
    assert "Colorize again" not in anonymous
    client.force_login(crew["viewer"])
    assert "Colorize again" in client.get(f"/photos/{photo.pk}/").content.decode()
    client.logout()
    assert "Colorize again" not in client.get(f"/photos/{photo.pk}/").content.decode()


# --- pinned query counts, signed in --------------------------------------------------------------------
# Signed in, every page reads the session and its user with the visitor's profile in one query
# (ProfileJoiningBackend; 2, and with CHROMA_CACHE_URL the session comes from the cache), and the
# unread count once per CHROMA_FRAGMENT_CACHE_SECONDS.


def test_the_signed_in_gallery_is_a_fixed_number_of_queries(viewer, photo, django_assert_num_queries):
    cache.clear()
    with django_assert_num_queries(3 + 2):  # + the unread count, the page of entries, the archive list
        viewer.get("/gallery/")
    with django_assert_num_queries(2 + 0):  # the listing and the count are cached now
        viewer.get("/gallery/")


def test_the_signed_in_photo_page_is_a_fixed_number_of_queries(
    viewer, photo, correction, crew, django_assert_num_queries
):
    vote_cast(correction_id=correction.pk, voter=crew["voter"], value=1, comment="Yes")
    # The page's own: photo (with "any hidden correction of mine"), every draft, my collections, the
    # discussion's comments = 4 (whether I moderate is my profile, read once); rendering the shared
    # fragments adds the corrections (+authors, renders, deciders), their evidence, votes (+voters),
    # vote evidence and the models panel, once for everyone.
    cache.clear()
    viewer.get(f"/photos/{photo.pk}/")
    with django_assert_num_queries(2 + 4):
        viewer.get(f"/photos/{photo.pk}/")


def test_the_signed_in_correction_page_is_a_fixed_number_of_queries(
    viewer, correction, crew, django_assert_num_queries
):
    vote_cast(correction_id=correction.pk, voter=crew["voter"], value=1, comment="Yes")
    viewer.get(f"/corrections/{correction.pk}/")
    # The correction (+photo, author, render, decider, and my vote), the discussion's comments = 2;
    # every rule the page asks (and whether I moderate) reuses my profile; the votes, the comparison
    # (with its bases) and the sources with their verdicts and the colour provenance come from
    # fragments (issue 25: 3 + 7 before).
    with django_assert_num_queries(2 + 2):
        html = viewer.get(f"/corrections/{correction.pk}/").content.decode()
    assert 'id="vote-form"' in html and 'aria-pressed="true"' not in html  # the viewer has not voted
    vote_cast(correction_id=correction.pk, voter=crew["viewer"], value=-1, comment="Too bright")
    viewer.get(f"/corrections/{correction.pk}/")
    with django_assert_num_queries(2 + 2):
        html = viewer.get(f"/corrections/{correction.pk}/").content.decode()
    assert ">Too bright</textarea>" in html and 'value="-1" aria-pressed="true"' in html
    assert "You voted not plausible" in html
    # Once accepted it may have revocation requests: one query for them, whatever their number, and
    # the rule for asking reads whether one is open.
    correction_decide(correction_id=correction.pk, moderator=crew["moderator"], decision="accept", reason="Records")
    viewer.get(f"/corrections/{correction.pk}/")
    with django_assert_num_queries(2 + 4):
        viewer.get(f"/corrections/{correction.pk}/")


def test_the_signed_in_review_queue_is_a_fixed_number_of_queries(viewer, photo, crew, django_assert_num_queries):
    for k in range(3):
        rendered_correction(photo, person(f"author{k}"), note=f"Note {k}")
    viewer.get("/review/")
    with django_assert_num_queries(2 + 1):  # the queue (one query whatever its length); my role is my profile
        html = viewer.get("/review/").content.decode()
    assert html.count('class="review-queue-item"') == 3


# --- shared fragments: one cache round trip per page --------------------------------------------------


class CountingCache:
    """The cache, with the keys of every read (to count the round trips a page makes for fragments)."""

    def __init__(self, inner):
        self.inner, self.reads = inner, []

    def get(self, key, *args, **kwargs):
        self.reads.append([key])
        return self.inner.get(key, *args, **kwargs)

    def get_many(self, keys, *args, **kwargs):
        self.reads.append(list(keys))
        return self.inner.get_many(keys, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.mark.parametrize("page", ["photo", "correction", "gallery"])
def test_a_page_reads_all_its_shared_fragments_in_one_round_trip(viewer, photo, correction, page, monkeypatch):
    from community.gallery import page_cache

    url = {"photo": f"/photos/{photo.pk}/", "correction": f"/corrections/{correction.pk}/", "gallery": "/gallery/"}
    first = viewer.get(url[page]).content.decode()
    counting = CountingCache(page_cache.cache)
    monkeypatch.setattr(page_cache, "cache", counting)
    again = viewer.get(url[page]).content.decode()
    fragment_reads = [keys for keys in counting.reads if any(k.startswith("fragment:") for k in keys)]
    expected = {"photo": 3, "correction": 4, "gallery": 1}[page]
    assert len(fragment_reads) == 1 and len(fragment_reads[0]) == expected
    assert strip_tokens(again) == strip_tokens(first)  # the same page, from the cache


def strip_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_a_fragment_the_page_did_not_name_is_an_error_not_a_miss():
    from django.template import Context, Template

    from community.gallery.page_cache import SharedFragments

    page = Template(
        '{% load shared_fragments %}{% shared "votes" %}v{% endshared %}{% shared "other" %}o{% endshared %}'
    )
    assert page.render(Context({"fragments": SharedFragments("k", 300, ("votes", "other"))})) == "vo"
    with pytest.raises(KeyError, match="without naming it"):
        page.render(Context({"fragments": SharedFragments("k", 300, ("votes",))}))
