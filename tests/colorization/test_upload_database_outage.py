"""An upload while the database is lost: a deliberate 503 naming the database, nothing half-saved.

The lost connection is simulated with ``connection.execute_wrapper``: from a chosen statement on,
every statement raises ``OperationalError`` as psycopg does when the server goes away (a restart,
a network cut). The real restart is ``tests/faults/test_database_restart.py``.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.test import Client

from colorization import services
from colorization.models import Photo
from tests import images
from tests.conftest import api_client_for, upload_file

pytestmark = pytest.mark.django_db


@contextmanager
def database_lost(from_statement: str = ""):
    """Every statement fails once one matching ``from_statement`` (a regex; empty: the first) is sent."""
    lost = {"now": False}
    sent: list[str] = []

    def wrapper(execute, sql, params, many, context):
        if not lost["now"] and re.search(from_statement, sql, re.IGNORECASE):
            lost["now"] = True
        if lost["now"] and not sql.upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            sent.append(sql)
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield sent
    assert lost["now"], f"no statement matched {from_statement!r}"


def stored_files(media: Path) -> set[str]:
    return {str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()} if media.exists() else set()


def test_an_api_upload_whose_insert_is_lost_answers_503_and_keeps_no_file(owner, media_in_tmp):
    client = api_client_for(owner)
    before = stored_files(media_in_tmp)
    with database_lost(r"INSERT INTO .colorization_photo.") as failed:
        response = client.post("/api/v1/photos/", {"image": upload_file(images.jpeg(seed=41)), "title": "Lost"})
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["error"] == "database_unavailable" and "database" in body["detail"]
    assert len(failed) >= 2  # the insert, then the cleanup's question (unanswered: the files went anyway)
    assert stored_files(media_in_tmp) == before
    assert not Photo.objects.exists()


def test_the_upload_succeeds_once_the_database_answers_again(owner, media_in_tmp):
    client = api_client_for(owner)
    data = images.jpeg(seed=42)
    with database_lost(r"INSERT INTO .colorization_photo."):
        assert client.post("/api/v1/photos/", {"image": upload_file(data), "title": "Again"}).status_code == 503
    response = client.post("/api/v1/photos/", {"image": upload_file(data), "title": "Again"})
    assert response.status_code == 201
    photo = Photo.objects.get()
    assert {photo.original.name, photo.thumbnail.name} <= stored_files(media_in_tmp)
    assert photo.original.read() == data


def test_a_database_lost_before_sign_in_is_a_503_too(owner):
    client = api_client_for(owner)
    with database_lost():  # the token's own lookup fails
        response = client.post("/api/v1/photos/", {"image": upload_file(images.jpeg(seed=43)), "title": "x"})
    assert response.status_code == 503 and response.json()["error"] == "database_unavailable"


def test_the_upload_form_gets_the_503_page(owner, media_in_tmp):
    client = Client()
    client.force_login(owner)
    client.get("/upload/")  # the session is read before the database goes
    before = stored_files(media_in_tmp)
    with database_lost(r"INSERT INTO .colorization_photo."):
        response = client.post(
            "/upload/",
            {"images": [upload_file(images.jpeg(seed=44))], "title": "x", "genre": "unknown", "licence": "unknown"},
        )
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert b"The database is not answering" in response.content
    assert stored_files(media_in_tmp) == before and not Photo.objects.exists()


def test_files_a_photo_uses_are_never_removed(owner, media_in_tmp):
    data = images.jpeg(seed=45)
    first = services.photo_upload(owner=owner, file=upload_file(data), metadata={"title": "First"}).photo
    files = stored_files(media_in_tmp)
    services._remove_unclaimed([first.original.name, first.thumbnail.name], row_may_exist=False)
    assert stored_files(media_in_tmp) == files


def test_a_commit_whose_answer_is_lost_keeps_the_files_its_row_may_need(owner, media_in_tmp):
    """When only the commit's answer was lost the row may exist: its files stay (and are logged)."""
    file = upload_file(images.jpeg(seed=46))
    written, wrote = services._store_files(file, services.inspect_upload(file))
    assert set(wrote) == set(written)
    with database_lost():
        services._remove_unclaimed(wrote, row_may_exist=True)
    assert set(written) <= stored_files(media_in_tmp)
    services._remove_unclaimed(wrote, row_may_exist=False)  # the database answers: no row claims them
    assert not set(written) & stored_files(media_in_tmp)
