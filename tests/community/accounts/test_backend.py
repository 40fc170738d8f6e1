"""The authentication backend: the visitor's profile comes with the user, in one query."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from community.accounts.services import profile_for, role_set

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


def test_a_signed_in_request_reads_user_and_profile_in_one_query(client, owner):
    role_set(user=owner, role="historian")
    client.force_login(owner)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    users = [q["sql"] for q in queries if 'FROM "auth_user"' in q["sql"]]
    profiles = [q["sql"] for q in queries if 'FROM "community_profile"' in q["sql"]]
    assert len(users) == 1 and '"community_profile"' in users[0]  # joined
    assert profiles == []
    assert response.context["current_profile"].role == "historian"


def test_a_user_without_a_profile_gets_one(client):
    user = get_user_model().objects.create_user("noprofile", password=PASSWORD)
    client.force_login(user)
    assert client.get("/").context["current_profile"].user_id == user.pk
    assert profile_for(user).pk is not None


def test_a_session_signed_in_before_this_backend_stays_signed_in(client, owner):
    client.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get("/").context["user"] == owner


def test_a_wrong_password_is_checked_once(owner, monkeypatch):
    checks = []
    model = get_user_model()
    check = model.check_password
    monkeypatch.setattr(model, "check_password", lambda self, raw: checks.append(1) or check(self, raw))
    assert authenticate(username="owner", password="wrong") is None
    assert len(checks) == 1
    assert authenticate(username="owner", password=PASSWORD) == owner


def test_an_inactive_account_is_signed_out(client, owner):
    client.force_login(owner)
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    assert not client.get("/").context["user"].is_authenticated


def test_the_joined_read_gives_what_the_orm_gives(owner):
    from community.accounts.backends import user_with_profile
    from community.models import Profile

    role_set(user=owner, role="historian")
    Profile.objects.filter(user=owner).update(display_name="Ada L.", bio="Maps, 1910s")
    owner.last_login = timezone.now()
    owner.save(update_fields=["last_login"])
    joined = user_with_profile(owner.pk)
    orm = get_user_model().objects.select_related("profile").get(pk=owner.pk)
    for field in get_user_model()._meta.concrete_fields:
        assert getattr(joined, field.attname) == getattr(orm, field.attname), field.name
    for field in Profile._meta.concrete_fields:
        assert getattr(joined.profile, field.attname) == getattr(orm.profile, field.attname), field.name
    assert joined.is_superuser is False and joined.profile.user is joined
    assert not joined._state.adding and joined._state.db == "default"
    with CaptureQueriesContext(connection) as queries:
        assert joined.profile.role == "historian"
    assert len(queries) == 0
    assert user_with_profile(owner.pk + 1000) is None
    assert user_with_profile("not-a-number") is None
