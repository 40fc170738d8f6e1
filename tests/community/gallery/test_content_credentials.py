"""Colour downloads carry content credentials (C2PA); the photo page shows them as read back."""

from __future__ import annotations

import io
import json

import c2pa
import pytest
from django.core.files.storage import default_storage

from colorization import credentials
from colorization.engine.imageio import DIGITAL_SOURCE_TYPE, read_disclosure
from tests import images
from tests.community.gallery.helpers import decide, finish_drafts, rendered_correction

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quiet_broker")]


@pytest.fixture(autouse=True)
def development_signer(settings, tmp_path):
    settings.CHROMA_C2PA_CERT = settings.CHROMA_C2PA_KEY = settings.CHROMA_C2PA_TRUST_ANCHORS = ""
    settings.CHROMA_C2PA_DEV_DIR = str(tmp_path / "c2pa")
    credentials._material.cache_clear()
    yield
    credentials._material.cache_clear()


@pytest.fixture
def photo(owner, make_photo, tiny_base_model):
    photo = make_photo(owner, data=images.jpeg(96, 64, seed=8), title="Tram on Main Street")
    finish_drafts(photo)
    return photo


def manifest_of(data: bytes, mime: str) -> tuple[str, dict]:
    reader = c2pa.Reader(mime, io.BytesIO(data))
    store = json.loads(reader.json())
    manifest = store["manifests"][store["active_manifest"]]
    return reader.get_validation_state(), {a["label"]: a["data"] for a in manifest["assertions"]} | {
        "ingredients": manifest["ingredients"]
    }


@pytest.mark.parametrize(("fmt", "mime"), [("png", "image/png"), ("jpg", "image/jpeg")])
def test_the_community_version_download_carries_a_valid_manifest_naming_model_original_and_contributors(
    client, photo, other_user, fmt, mime
):
    correction = rendered_correction(photo, other_user)
    decide(correction)
    response = client.get(f"/photos/{photo.pk}/download/colour.{fmt}")
    assert response.status_code == 200 and response["X-Content-Credentials"] == "trusted"
    data = b"".join(response.streaming_content)
    state, manifest = manifest_of(data, mime)
    assert state in ("Valid", "Trusted")
    ours = manifest["org.chromacommons.colorization"]
    assert ours["contributors"] == [other_user.username]
    assert (ours["model"], ours["model_version"]) == (
        correction.render.model_slug,
        str(correction.render.model_version),
    )
    assert manifest["ingredients"][0]["instance_id"] == f"sha256:{photo.original_sha256}"
    action = manifest["c2pa.actions.v2"]["actions"][1]
    assert action["digitalSourceType"] == credentials.AI_SOURCE_TYPE
    # The IPTC/XMP disclosure stays in the same file.
    assert read_disclosure(data)["digital_source_type"] == DIGITAL_SOURCE_TYPE
    # The signed copy is made once: the second download is the same bytes.
    again = b"".join(client.get(f"/photos/{photo.pk}/download/colour.{fmt}").streaming_content)
    assert again == data


def test_the_photo_page_shows_the_credentials_as_read_back_from_the_file(client, photo, other_user):
    correction = rendered_correction(photo, other_user)
    decide(correction)
    html = client.get(f"/photos/{photo.pk}/").content.decode()
    assert "Content credentials: <strong>valid (development certificate)</strong>" in html  # not "trusted"
    assert other_user.username in html.split('id="content-credentials"')[1].split("</p>")[0]


def test_a_tampered_signed_copy_is_reported_invalid_on_the_page(client, photo):
    html = client.get(f"/photos/{photo.pk}/").content.decode()
    assert "Content credentials: <strong>valid" in html
    # Someone edits the stored signed copy's pixels: reading it back again says invalid.
    response = client.get(f"/photos/{photo.pk}/download/colour.png")
    signed = bytearray(b"".join(response.streaming_content))
    signed[signed.rindex(b"IDAT") + 40] ^= 0xFF
    assert credentials.read_back(bytes(signed), "png", credentials.signing_material()).state == "invalid"


def test_without_signing_material_downloads_go_out_unsigned_and_the_page_says_so(client, photo, settings):
    settings.CHROMA_C2PA_DEV_DIR = ""
    credentials._material.cache_clear()
    response = client.get(f"/photos/{photo.pk}/download/colour.png")
    assert response["X-Content-Credentials"] == "unsigned"
    data = b"".join(response.streaming_content)
    assert credentials.read_back(data, "png").state == "none"
    assert read_disclosure(data)["digital_source_type"] == DIGITAL_SOURCE_TYPE
    assert "Content credentials: <strong>not made" in client.get(f"/photos/{photo.pk}/").content.decode()
    assert not default_storage.exists("credentials")


def test_a_download_of_a_pending_correction_credits_only_accepted_visible_work_and_states_its_status(
    client, photo, owner, other_user
):
    from community.models import Correction

    accepted = rendered_correction(photo, other_user)
    decide(accepted)
    pending = rendered_correction(photo, owner, note="Green tram")
    Correction.objects.filter(pk=pending.pk).update(base_correction=accepted, base_draft=None)

    def manifest():
        response = client.get(f"/photos/{photo.pk}/download/colour.png?correction={pending.pk}")
        assert response.status_code == 200
        state, found = manifest_of(b"".join(response.streaming_content), "image/png")
        assert state in ("Valid", "Trusted")
        return found["org.chromacommons.colorization"]

    ours = manifest()
    assert ours["contributors"] == [other_user.username]  # the pending correction's author is not credited
    assert ours["status"] == f"correction {pending.pk}, pending review: not the community version"
    # A hidden correction is not named either.
    Correction.objects.filter(pk=accepted.pk).update(hidden_at="2026-01-01T00:00:00Z")
    ours = manifest()
    assert ours["contributors"] == [] and "pending review" in ours["status"]
    # The community version itself states no status.
    Correction.objects.filter(pk=accepted.pk).update(hidden_at=None)
    response = client.get(f"/photos/{photo.pk}/download/colour.png")
    _, found = manifest_of(b"".join(response.streaming_content), "image/png")
    assert "status" not in found["org.chromacommons.colorization"]


def test_a_signing_failure_is_remembered_briefly_so_requests_do_not_retry_it(client, photo, monkeypatch):
    from django.core.cache import cache

    calls = []

    def broken(*args):
        calls.append(args)
        raise OSError("storage unreachable")

    monkeypatch.setattr(credentials, "signed_copy", broken)
    cache.clear()
    for _ in range(3):
        response = client.get(f"/photos/{photo.pk}/download/colour.png")
        assert response.status_code == 200 and response["X-Content-Credentials"] == "unavailable"
    assert len(calls) == 1  # tried once; the next requests serve the unsigned file at once
    cache.clear()  # the marker expires (SIGNING_FAILURE_SECONDS): signing is tried again
    client.get(f"/photos/{photo.pk}/download/colour.png")
    assert len(calls) == 2
