"""Compiled queries (colorization/compiled_queries.py) give what their querysets give, for every
viewer, and refuse what they cannot compile faithfully."""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from django.db.models import Count
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from colorization.compiled_queries import CompiledQuery
from colorization.models import Draft, Photo, viewer_role
from community.accounts.backends import user_with_profile
from community.gallery.collections import collection_create, collections_of
from community.gallery.photo_page import _page_photo, draft_states, page_photo
from community.models import Comment
from community.review.comments import _reader, _thread, comment_thread
from tests.community.conftest import correction_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def vars_of(item) -> list:
    return [getattr(item, name) for name in item.__slots__]


def fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@pytest.fixture
def staff(db):
    return UserFactory(username="staff", is_staff=True)


@pytest.fixture
def viewers(people, staff):
    from django.contrib.auth.models import AnonymousUser

    return {
        "anonymous": AnonymousUser(),
        "author": people["author"],
        "volunteer": people["volunteer"],
        "volunteer2": people["volunteer2"],
        "moderator": people["moderator"],
        "staff": staff,
    }


@pytest.mark.parametrize("hidden", [False, True])
def test_the_photo_page_reads_the_photo_its_queryset_reads(photo, people, viewers, hidden, django_assert_num_queries):
    correction_for(photo, people["volunteer"], hidden_at=timezone.now())  # a hidden correction of volunteer's
    if hidden:
        Photo.objects.filter(pk=photo.pk).update(hidden_at=timezone.now())
    seen = set()
    for name, user in viewers.items():
        role = viewer_role(user)
        expected = list(_page_photo(role, pk=photo.pk, user_id=user.pk))
        if not expected:
            with pytest.raises(Http404):
                page_photo(user, photo.pk)
            continue
        seen.add(name)
        with django_assert_num_queries(1):
            got = page_photo(user, photo.pk)
            assert got.owner.username == "author"  # read with it
        assert fields(got) == fields(expected[0])
        assert fields(got.owner) == fields(expected[0].owner)
        assert getattr(got, "my_hidden_correction", None) == getattr(expected[0], "my_hidden_correction", None)
        assert getattr(got, "my_hidden_correction", False) == (name == "volunteer")
    # The rule itself: a hidden photo is its owner's and staff's only.
    assert seen == ({"author", "staff"} if hidden else set(viewers))


@pytest.mark.parametrize("on", ["photo", "correction"])
def test_comment_threads_are_what_their_queryset_reads(photo, people, viewers, on, django_assert_num_queries):
    correction = correction_for(photo, people["author"])
    target = {"photo": photo} if on == "photo" else {"correction": correction}
    Comment.objects.create(author=people["author"], body="First", **target)
    Comment.objects.create(author=people["volunteer"], body="Rude", hidden_at=timezone.now(), **target)
    Comment.objects.create(author=people["historian"], body="Per 1914 regulation", **target)
    Comment.objects.create(author=people["author"], body="Elsewhere", photo=photo) if on == "correction" else None
    for name, user in viewers.items():
        keys = {f"{on}_id": target[on].pk, "user_id": user.pk}
        expected = list(_thread(_reader(user, None), **keys))
        with django_assert_num_queries(1 if name != "anonymous" else 0):  # the role, for signed-in readers
            reader = _reader(user, None)
        profile = user.profile if name != "anonymous" else None
        with django_assert_num_queries(1):
            got = comment_thread(user, **target, profile=profile)
            badges = [c.author.profile.is_historian for c in got]  # authors and their profiles come with it
        assert [fields(c) for c in got] == [fields(c) for c in expected]
        assert [c.body for c in got] == (
            ["First", "Rude", "Per 1914 regulation"]
            if reader == "all" or name == "volunteer"
            else ["First", "Per 1914 regulation"]
        ), name
        assert badges == [c.author.profile.is_historian for c in expected]


def test_draft_states_and_my_collections_are_what_their_querysets_read(photo, people):
    Draft.objects.create(photo=photo, status="failed", render_size=256, saturation=1.0)
    assert draft_states(photo) == list(photo.drafts.order_by("pk").values_list("pk", "status"))
    assert len(draft_states(photo)) == 2
    author = people["author"]
    for title in ("Trams", "Bridges"):
        collection_create(owner=author, title=title)
    collection_create(owner=people["volunteer"], title="Not mine")
    from community.models import Collection

    assert collections_of(author) == list(Collection.objects.filter(owner=author).values("pk", "title"))
    assert sorted(c["title"] for c in collections_of(author)) == ["Bridges", "Trams"]
    from django.contrib.auth.models import AnonymousUser

    assert collections_of(AnonymousUser()) == []


def test_the_signed_in_user_and_profile_are_what_the_orm_reads(people):
    from django.contrib.auth import get_user_model

    user = people["historian"]
    expected = get_user_model().objects.select_related("profile").get(pk=user.pk)
    got = user_with_profile(user.pk)
    assert fields(got) == fields(expected)
    assert fields(got.profile) == fields(expected.profile) and got.profile.is_historian


def test_what_cannot_be_compiled_faithfully_is_refused(photo):
    with pytest.raises(TypeError, match="integers"):
        CompiledQuery(Photo, lambda _, *, pk: Photo.objects.filter(pk=pk))(pk=str(photo.pk))
    with pytest.raises(ValueError, match="SQL text"):
        CompiledQuery(Photo, lambda _, *, n: Photo.objects.annotate(n=RawSQL(str(n), [])))(n=3)
    with pytest.raises(ValueError, match="prefetch"):
        CompiledQuery(Photo, lambda _, *, pk: Photo.objects.filter(pk=pk).prefetch_related("drafts"))(pk=photo.pk)
    with pytest.raises(ValueError, match="known objects"):  # a related manager's rows carry its instance
        CompiledQuery(Draft, lambda _, *, pk: photo.drafts.filter(pk=pk))(pk=1)
    with pytest.raises(ValueError, match="not as itself"):  # a key compared with a text column goes as text
        CompiledQuery(Photo, lambda _, *, n: Photo.objects.filter(title=n))(n=3)
    with pytest.raises(ValueError, match="read the database"):  # what it read would be kept for good
        CompiledQuery(
            Photo, lambda _, *, pk: Photo.objects.filter(pk=pk, owner__in=list(Photo.objects.values_list("owner")))
        )(pk=photo.pk)
    with pytest.raises(ValueError, match="order"):
        CompiledQuery(
            Photo, lambda _, *, pk: Photo.objects.filter(pk=pk).annotate(n=Count("drafts")).values_list("n", "pk")
        )(pk=photo.pk)


def test_each_connection_gets_its_own_plan(photo, transactional_db):
    """Converters and compilers are bound to the connection that planned them: another thread (its own
    connection) plans again rather than using this thread's."""
    query = CompiledQuery(Photo, lambda _, *, pk: Photo.objects.filter(pk=pk).values_list("pk", "created_at"))
    here = query(pk=photo.pk)
    there = []

    def elsewhere():
        there.append((query(pk=photo.pk), connections["default"]))
        connections["default"].close()

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    rows, other = there[0]
    assert rows == here and here[0][0] == photo.pk and here[0][1] == photo.created_at
    mine = connections["default"]
    assert other is not mine and set(query._plans.keys()) == {mine, other}


def test_a_changed_setting_is_read_again(photo, people, settings):
    """A plan holds the queue's historian threshold among its parameters; changing the setting replans."""
    from community.models import Correction
    from community.review.queues import _review_queue, needs_review

    older = correction_for(photo, people["author"])
    newer = correction_for(photo, people["author"])
    Correction.objects.filter(pk=older.pk).update(historian_votes=1)
    historian = people["historian"]
    orders = []
    for threshold in (1, 0):
        settings.CHROMA_REVIEW_MIN_HISTORIANS = threshold
        got = needs_review(historian)
        assert [tuple(vars_of(item)) for item in got] == list(_review_queue(("member", True, 50), user_id=historian.pk))
        assert [(c.photo_title, c.author_username) for c in got] == [("Tram on Main Street", "author")] * 2
        orders.append([c.pk for c in got])
    assert orders == [[newer.pk, older.pk], [older.pk, newer.pk]]  # waiting for historians first, then by age


def test_on_postgresql_the_statements_are_prepared_once_per_connection(photo, people, settings):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(f"prepared statements are PostgreSQL's; this run uses {connection.vendor}")

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall()]

    author = people["author"]
    for _ in range(3):
        assert page_photo(author, photo.pk).pk == photo.pk
    photo_statements = [s for s in prepared() if 'FROM "colorization_photo"' in s]
    assert len(photo_statements) == 1  # prepared at its first run, reused after
    assert not any('FROM "community_collection"' in s for s in prepared())  # Django's own queries are not
    settings.CHROMA_PREPARED_STATEMENTS = False  # behind a transaction-pooling proxy
    collection_create(owner=author, title="Trams")
    assert [c["title"] for c in collections_of(author)] == ["Trams"]
    assert not any('FROM "community_collection"' in s for s in prepared())


@pytest.mark.parametrize("fragments", [0, 300])
def test_the_correction_page_reads_the_correction_its_queryset_reads(photo, people, viewers, fragments, settings):
    from community.review.decisions import vote_cast
    from community.review.selectors import MyVote, _page_correction, my_vote, page_correction

    shown = correction_for(photo, people["author"])
    hidden = correction_for(photo, people["volunteer"], hidden_at=timezone.now())
    vote_cast(correction_id=shown.pk, voter=people["volunteer2"], value=-1, comment="Too bright")
    settings.CHROMA_FRAGMENT_CACHE_SECONDS = fragments
    seen = {}
    for name, user in viewers.items():
        for correction in (shown, hidden):
            role = viewer_role(user)
            expected = list(_page_correction((role, fragments > 0), pk=correction.pk, user_id=user.pk))
            if not expected:
                with pytest.raises(Http404):
                    page_correction(user, correction.pk)
                continue
            got = page_correction(user, correction.pk)
            seen.setdefault(name, []).append(correction.pk)
            assert fields(got) == fields(expected[0])
            for related in ("photo", "author", "render", "decided_by"):
                assert (getattr(got, related) and fields(getattr(got, related))) == (
                    getattr(expected[0], related) and fields(getattr(expected[0], related))
                )
            assert my_vote(got) == (
                MyVote(value=-1, comment="Too bright") if (name, correction) == ("volunteer2", shown) else None
            )
    everyone = [shown.pk]
    assert seen == {
        "anonymous": everyone,
        "author": everyone,
        "volunteer": [shown.pk, hidden.pk],  # their own hidden correction
        "volunteer2": everyone,
        "moderator": everyone,  # moderators act on hidden ones through the moderation queue
        "staff": [shown.pk, hidden.pk],
    }
