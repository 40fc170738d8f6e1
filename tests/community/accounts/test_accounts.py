"""Accounts and roles: sign up, log in and out, password reset, profiles, historian verification."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command

from community.accounts.services import profile_for
from community.models import HistorianRequest, Role

pytestmark = pytest.mark.django_db


def test_signing_up_makes_a_volunteer_and_logs_in(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "ada",
            "email": "ada@example.org",
            "password1": "correct horse 1914",
            "password2": "correct horse 1914",
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="ada")
    assert profile_for(user).role == Role.VOLUNTEER
    assert client.get("/").context["user"].username == "ada"


def test_signing_up_twice_with_one_email_is_refused(client, owner):
    response = client.post(
        "/accounts/signup/",
        {"username": "ada", "email": owner.email, "password1": "correct horse 1914", "password2": "correct horse 1914"},
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_log_in_and_out(client, owner):
    response = client.post("/accounts/login/", {"username": "owner", "password": "a-long-test-password"})
    assert response.status_code == 302
    assert client.get("/").context["user"].is_authenticated
    client.post("/accounts/logout/")
    assert not client.get("/").context["user"].is_authenticated


def test_password_reset_sends_a_working_link(client, owner):
    client.post("/accounts/password_reset/", {"email": owner.email})
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/accounts/reset/\S+/", mail.outbox[0].body).group(0)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    response = client.post(
        form.redirect_chain[-1][0], {"new_password1": "a new password 1936", "new_password2": "a new password 1936"}
    )
    assert response.status_code == 302
    assert client.login(username="owner", password="a new password 1936")


def test_profiles_are_public_and_editable_only_by_their_owner(client, owner, other_user):
    assert client.get("/people/owner/").status_code == 200
    assert client.get("/accounts/profile/").status_code == 302  # anonymous: to the login page
    client.force_login(other_user)
    client.post("/accounts/profile/", {"display_name": "Someone else", "affiliation": "", "bio": ""})
    assert profile_for(owner).display_name == ""
    client.force_login(owner)
    client.post("/accounts/profile/", {"display_name": "Dorothea", "affiliation": "FSA", "bio": "Photographer."})
    assert profile_for(owner).display_name == "Dorothea"
    assert "Dorothea" in client.get("/people/owner/").content.decode()


def test_a_historian_request_is_approved_by_a_moderator(client, owner, moderator):
    client.force_login(owner)
    client.post(
        "/accounts/verification/",
        {
            "statement": "Curator of photographs at a city museum since 2004.",
            "evidence_url": "museum.example.org/staff",
        },
    )
    request = HistorianRequest.objects.get(user=owner)
    assert request.evidence_url == "https://museum.example.org/staff"
    # A second request while one is pending is refused.
    client.post("/accounts/verification/", {"statement": "Another statement, long enough to count."})
    assert HistorianRequest.objects.filter(user=owner).count() == 1
    # Volunteers cannot see or decide the queue.
    assert client.get("/moderation/verification/").status_code == 403
    assert client.post(f"/moderation/verification/{request.pk}/", {"decision": "approve"}).status_code == 403
    client.force_login(moderator)
    assert "Curator of photographs" in client.get("/moderation/verification/").content.decode()
    client.post(f"/moderation/verification/{request.pk}/", {"decision": "approve", "reason": "Known to us."})
    request.refresh_from_db()
    assert request.status == "approved"
    assert request.decided_by == moderator
    assert profile_for(owner).role == Role.HISTORIAN
    assert "Historian" in client.get("/people/owner/").content.decode()


def test_a_denied_request_keeps_the_volunteer_role(client, owner, moderator):
    client.force_login(owner)
    client.post("/accounts/verification/", {"statement": "I read a lot of history books, honestly."})
    request = HistorianRequest.objects.get(user=owner)
    client.force_login(moderator)
    client.post(f"/moderation/verification/{request.pk}/", {"decision": "deny", "reason": "No credentials given."})
    request.refresh_from_db()
    assert request.status == "denied"
    assert profile_for(owner).role == Role.VOLUNTEER


def test_set_role_command(owner):
    call_command("set_role", "owner", "historian")
    assert profile_for(owner).role == Role.HISTORIAN
    with pytest.raises(CommandError, match="no user"):
        call_command("set_role", "nobody", "historian")
    with pytest.raises(CommandError, match="role"):
        call_command("set_role", "owner", "emperor")


def test_every_model_is_in_the_admin(admin_client):
    from django.apps import apps
    from django.contrib import admin

    for app in ("colorization", "community"):
        for model in apps.get_app_config(app).get_models():
            assert admin.site.is_registered(model), model
            url = f"/admin/{app}/{model._meta.model_name}/"
            assert admin_client.get(url).status_code == 200, url
