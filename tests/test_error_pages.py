"""Branded error pages (in DEBUG too), the API root and the favicon."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

pytestmark = pytest.mark.django_db


def test_a_missing_photo_is_the_branded_404_even_in_debug(client, settings):
    settings.DEBUG = True
    response = client.get("/photos/999999/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Chroma Commons" in body and "Not found" in body
    assert "technical_404" not in body and "Django tried these URL patterns" not in body


def test_a_missing_photo_is_the_branded_404_in_production(client, settings):
    settings.DEBUG = False
    response = client.get("/photos/999999/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_the_500_page_needs_neither_a_request_context_nor_the_database(settings):
    from config.error_pages import server_error

    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_an_uncaught_error_renders_the_500_page(settings):
    import config.urls

    assert config.urls.handler500 == "config.error_pages.server_error"


def test_the_403_page_is_branded(settings):
    from django.core.exceptions import PermissionDenied
    from django.views.defaults import permission_denied

    response = permission_denied(RequestFactory().get("/"), PermissionDenied("Only moderators may do that."))
    assert response.status_code == 403
    assert "Only moderators may do that." in response.content.decode()


def test_the_api_root_lists_the_endpoints(client):
    response = client.get("/api/v1/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    data = response.json()
    assert data["photos"].endswith("/api/v1/photos/")
    assert data["models"].endswith("/api/v1/models/")
    assert data["training_runs"].endswith("/api/v1/training-runs/")
    assert data["drafts"].endswith("/api/v1/drafts/{id}/")


def test_the_favicon_is_served(client):
    response = Client().get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert b"<svg" in b"".join(response.streaming_content) if response.streaming else b"<svg" in response.content
