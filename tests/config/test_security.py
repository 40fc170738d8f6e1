"""Deployment hardening: HTTPS settings from the environment, the Content-Security-Policy, sign-in limits."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.factories import UserFactory
from tests.test_site import run_django

pytestmark = pytest.mark.django_db


def test_https_settings_come_from_the_environment_strictly():
    ok = run_django(
        {
            "SECURE_HSTS_SECONDS": "63072000",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
            "SECURE_HSTS_PRELOAD": "true",
            "SECURE_SSL_REDIRECT": "true",
            "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
        }
    )
    assert ok.returncode == 0, ok.stderr
    bad = run_django({"SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"})
    assert bad.returncode != 0 and "HTTP_X_FORWARDED_PROTO,https" in bad.stderr
    assert run_django({"SECURE_HSTS_PRELOAD": "maybe"}).returncode != 0


def test_pages_carry_a_content_security_policy(client):
    policy = client.get("/gallery/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"<script>" not in docs.content  # Swagger's set-up is a file, not inline


def test_sign_in_is_limited_per_username_and_says_so(client, settings):
    settings.CHROMA_LOGIN_RATE = "3/hour"
    UserFactory(username="ada")
    for _ in range(3):
        assert client.post("/accounts/login/", {"username": "ada", "password": "wrong"}).status_code == 200
    refused = client.post("/accounts/login/", {"username": "ADA", "password": "wrong"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert b"try again in" in refused.content
    other = client.post("/accounts/login/", {"username": "grace", "password": "wrong"})
    assert other.status_code == 200  # another account is not locked out


def test_sign_in_and_the_api_token_share_the_per_address_limit(client, api, settings):
    settings.CHROMA_LOGIN_ADDRESS_RATE = "2/hour"
    assert client.post("/accounts/login/", {"username": "a", "password": "x"}).status_code == 200
    assert api().post("/api/v1/auth/token/", {"username": "b", "password": "x"}).status_code == 401
    token = api().post("/api/v1/auth/token/", {"username": "c", "password": "x"})
    assert token.status_code == 429 and token.json()["error"] == "throttled" and "Retry-After" in token


def test_password_reset_mail_is_limited_per_address_given(client, settings, mailoutbox):
    settings.CHROMA_PASSWORD_RESET_RATE = "1/hour"
    User.objects.create_user("ada", "ada@example.org", "pw-123456789")
    assert client.post("/accounts/password_reset/", {"email": "ada@example.org"}).status_code == 302
    refused = client.post("/accounts/password_reset/", {"email": "Ada@example.org"})
    assert refused.status_code == 429 and len(mailoutbox) == 1
