"""Uploads stored in S3, against a real S3-compatible HTTP server (moto in server mode)."""

from __future__ import annotations

import hashlib

import boto3
import pytest
from django.core.files.storage import storages
from moto.server import ThreadedMotoServer

from colorization.services import photo_upload
from tests import images
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage(settings, s3_server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client(
        "s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="x"
    )
    client.create_bucket(Bucket="chroma-test")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "chroma-test",
                "endpoint_url": s3_server,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "file_overwrite": False,
            },
        },
    }
    yield client
    for obj in client.list_objects_v2(Bucket="chroma-test").get("Contents", []):
        client.delete_object(Bucket="chroma-test", Key=obj["Key"])
    client.delete_bucket(Bucket="chroma-test")


def test_originals_and_thumbnails_go_to_the_bucket_untouched(s3_storage, owner):
    assert type(storages["default"]).__name__ == "S3Storage"
    data = images.tiff16()
    photo = photo_upload(
        owner=owner, file=upload_file(data, "scan.tif", "image/tiff"), metadata={"title": "Scan"}
    ).photo
    stored = s3_storage.get_object(Bucket="chroma-test", Key=photo.original.name)["Body"].read()
    assert stored == data
    assert hashlib.sha256(stored).hexdigest() == photo.original_sha256
    keys = {o["Key"] for o in s3_storage.list_objects_v2(Bucket="chroma-test")["Contents"]}
    assert keys == {photo.original.name, photo.thumbnail.name}
    assert photo.original.url.startswith("http://127.0.0.1")


def test_the_same_bytes_are_stored_once(s3_storage, owner, other_user):
    data = images.jpeg(seed=11)
    first = photo_upload(owner=owner, file=upload_file(data), metadata={"title": "a"})
    second = photo_upload(owner=other_user, file=upload_file(data), metadata={"title": "b"})
    assert second.created is False
    assert second.photo.pk == first.photo.pk
    assert len(s3_storage.list_objects_v2(Bucket="chroma-test")["Contents"]) == 2


def test_healthz_checks_the_bucket(s3_storage, client):
    assert client.get("/healthz").json()["checks"]["storage"]["ok"] is True
