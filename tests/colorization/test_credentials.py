"""Content credentials (C2PA): signed with c2pa-python, read back and validated; tampering is caught."""

from __future__ import annotations

import io
import json

import c2pa
import numpy as np
import pytest

from colorization import credentials
from colorization.engine.imageio import DIGITAL_SOURCE_TYPE, encode, read_disclosure

CLAIMS = credentials.Claims(
    title="Tram on Main Street",
    original_sha256="ab" * 32,
    original_format="JPEG",
    model_slug="transport-1900-1919-v2",
    model_version="2",
    contributors=("alice", "bob"),
    label="AI-colorized with volunteer hints · model transport-1900-1919-v2 v2 · colours are an estimate",
)


@pytest.fixture
def material(tmp_path):
    return credentials._dev_material(tmp_path / "c2pa")


def colour_file(fmt: str) -> bytes:
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    metadata = {"model": "transport-1900-1919-v2", "model_version": 2, "original_sha256": "ab" * 32}
    return encode(rgb, "jpeg" if fmt == "jpg" else "png", metadata)


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_a_signed_file_reads_back_valid_with_what_it_asserts(material, fmt):
    signed = credentials.sign(colour_file(fmt), fmt, CLAIMS, material)
    report = credentials.read_back(signed, fmt, material)
    assert report.is_valid and report.state == "trusted"  # the development CA is the reader's anchor
    assert report.source_type == credentials.AI_SOURCE_TYPE
    assert report.model == "transport-1900-1919-v2 v2"
    assert report.contributors == ("alice", "bob")
    assert report.ingredient == "sha256:" + "ab" * 32
    # Validated independently with c2pa-python's own reader, and without our trust anchor.
    reader = c2pa.Reader(credentials.MIME[fmt], io.BytesIO(signed))
    assert reader.get_validation_state() in ("Valid", "Trusted")
    store = json.loads(reader.json())
    manifest = store["manifests"][store["active_manifest"]]
    assert manifest["ingredients"][0]["relationship"] == "parentOf"
    # The IPTC/XMP disclosure stays.
    disclosure = read_disclosure(signed)
    assert disclosure["digital_source_type"] == DIGITAL_SOURCE_TYPE
    assert disclosure["original_sha256"] == "ab" * 32


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_a_tampered_file_is_reported_invalid(material, fmt):
    signed = bytearray(credentials.sign(colour_file(fmt), fmt, CLAIMS, material))
    marker = b"IDAT" if fmt == "png" else b"\xff\xda"  # the pixels
    at = signed.rindex(marker) + 40
    signed[at] ^= 0xFF
    report = credentials.read_back(bytes(signed), fmt, material)
    assert report.state == "invalid" and not report.is_valid
    assert report.failures  # the reason, e.g. assertion.dataHash.mismatch


def test_an_unsigned_file_has_none(material):
    assert credentials.read_back(colour_file("png"), "png", material).state == "none"


def test_a_manual_colorization_is_asserted_as_human_edits(material):
    claims = credentials.Claims(title="x", original_sha256="cd" * 32, original_format="PNG", manual=True)
    report = credentials.read_back(credentials.sign(colour_file("png"), "png", claims, material), "png", material)
    assert report.is_valid and report.source_type == credentials.HUMAN_SOURCE_TYPE and report.model == ""


def test_the_development_pair_is_generated_once(tmp_path):
    first = credentials._dev_material(tmp_path / "c2pa")
    second = credentials._dev_material(tmp_path / "c2pa")
    assert first == second
    assert (tmp_path / "c2pa" / "dev-signer.json").stat().st_mode & 0o777 == 0o600


def test_a_certificate_from_the_environment_is_used(settings, material):
    credentials._material.cache_clear()
    settings.CHROMA_C2PA_CERT, settings.CHROMA_C2PA_KEY = material.chain.decode(), material.key.decode()
    settings.CHROMA_C2PA_DEV_DIR = ""
    try:
        assert credentials.signing_material().chain == material.chain
        settings.CHROMA_C2PA_CERT = settings.CHROMA_C2PA_KEY = ""
        assert credentials.signing_material() is None  # production without a key: unsigned, and said so
    finally:
        credentials._material.cache_clear()


def test_the_development_pair_is_private_from_creation_and_a_corrupt_file_is_regenerated(tmp_path, monkeypatch):
    import os
    import stat

    directory = tmp_path / "c2pa"
    made = []
    real_mkstemp = credentials.tempfile.mkstemp

    def watching_mkstemp(*args, **kwargs):
        fd, name = real_mkstemp(*args, **kwargs)
        made.append((kwargs.get("dir"), stat.S_IMODE(os.fstat(fd).st_mode)))
        return fd, name

    monkeypatch.setattr(credentials.tempfile, "mkstemp", watching_mkstemp)
    first = credentials._dev_material(directory)
    assert made == [(directory, 0o600)]  # in the target directory, 0600 before any byte is written
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert [p.name for p in directory.iterdir()] == ["dev-signer.json"]  # no temporary file left
    assert first.development
    for corrupt in ("{not json", json.dumps({"chain": "x", "key": "y", "ca": "z"}), ""):
        (directory / "dev-signer.json").write_text(corrupt)
        again = credentials._dev_material(directory)
        assert again.chain != first.chain and again.key.startswith(b"-----BEGIN PRIVATE KEY")
        first = again
    assert credentials._dev_material(directory) == first  # and then kept


def test_a_malformed_certificate_or_key_in_the_environment_stops_the_start(material, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.core.exceptions import ImproperlyConfigured

    credentials.check_pem_pair(material.chain.decode(), material.key.decode())
    other = credentials._dev_material(tmp_path / "other")
    for cert, key, message in (
        ("not a certificate", material.key.decode(), "CHROMA_C2PA_CERT is not a PEM certificate chain"),
        (material.chain.decode(), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "CHROMA_C2PA_KEY"),
        (material.chain.decode(), other.key.decode(), "is not the key of the first certificate"),
    ):
        with pytest.raises(ImproperlyConfigured, match=message):
            credentials.check_pem_pair(cert, key)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "CHROMA_C2PA_CERT": "garbage", "CHROMA_C2PA_KEY": material.key.decode()}
    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=root,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0 and "ImproperlyConfigured" in started.stderr


def test_a_file_signed_with_the_development_pair_reads_valid_development_not_trusted(material):
    signed = credentials.sign(colour_file("png"), "png", CLAIMS, material)
    report = credentials.read_back(signed, "png", material)
    assert report.is_valid and report.development
    assert report.text == "valid (development certificate)" and "trusted" not in report.text
    configured = credentials.Material(chain=material.chain, key=material.key, anchors=material.anchors)
    assert credentials.read_back(signed, "png", configured).text == "valid (signed by a trusted certificate)"
