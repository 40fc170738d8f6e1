"""Content credentials (C2PA) on colour downloads, made and read back with ``c2pa-python``.

A colour file that leaves the site carries a signed C2PA manifest beside its IPTC/XMP disclosure
(which stays): an ``c2pa.actions`` assertion whose colour adjustment has the IPTC digital source
type ``trainedAlgorithmicMedia`` (``humanEdits`` for a volunteer's manual colorization) and names
the model and its version as the software agent; the untouched original as the ``parentOf``
ingredient, identified by its SHA-256; and an ``org.chromacommons.colorization`` assertion with
the model, the original's hash and the contributors whose accepted corrections made the colours.

Signing material comes from the environment: ``CHROMA_C2PA_CERT`` (the PEM chain, signer first)
and ``CHROMA_C2PA_KEY`` (its PEM private key), or their ``_FILE`` forms, and optionally
``CHROMA_C2PA_TRUST_ANCHORS`` (PEM roots the reader trusts). In development, when none is set, a
private CA and a signer certificate are generated once into ``var/c2pa/`` (C2PA refuses a
self-signed end-entity certificate, so the self-signed pair is the CA plus the signer it issued);
the CA is then the reader's trust anchor. With neither, downloads go out without a manifest and
the page says so.

A signed file is made once per (colour file, manifest, certificate) and kept in storage under a
key derived from all three, with the read-back report beside it, so a download or a page view
after the first is a storage read. Reading back never fetches anything from the network (no
remote manifests, no OCSP), so validation cannot wait on an outside server.

This module knows nothing of corrections: callers describe the colours in a ``Claims``.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import io
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage

from colorization.storage import storage_replace

logger = logging.getLogger(__name__)

AI_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
HUMAN_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/humanEdits"
ASSERTION = "org.chromacommons.colorization"
MIME = {"png": "image/png", "jpg": "image/jpeg"}
CLAIM_GENERATOR = {"name": "Chroma Commons", "version": "1"}


@dataclass(frozen=True)
class Claims:
    """What a colour file's manifest asserts."""

    title: str
    original_sha256: str
    original_format: str  # "JPEG", "PNG", "TIFF", …
    model_slug: str = ""  # empty for a manual colorization
    model_version: str = ""
    contributors: tuple[str, ...] = ()  # usernames whose accepted corrections made these colours
    manual: bool = False
    label: str = ""  # the page's AI label, repeated in the manifest
    page_url: str = ""
    # The review status of a correction that is not the community version ("pending review",
    # "rejected", …), stated in the title and the assertion; empty for a community version or a draft.
    status: str = ""


@dataclass(frozen=True)
class Report:
    """What reading a file's manifest back found."""

    # "trusted" | "valid" | "invalid" | "none" (no manifest) | "unsigned" (signing not configured)
    # | "unavailable" (signing or reading failed; logged)
    state: str
    issuer: str = ""
    model: str = ""
    contributors: tuple[str, ...] = ()
    source_type: str = ""
    ingredient: str = ""  # the original's identifier (sha256:…)
    failures: tuple[str, ...] = field(default_factory=tuple)
    # Trusted only because the site's own development CA is the trust anchor: shown as such.
    development: bool = False

    @property
    def is_valid(self) -> bool:
        return self.state in ("trusted", "valid")

    @property
    def text(self) -> str:
        if self.development and self.is_valid:
            return "valid (development certificate)"
        return {
            "trusted": "valid (signed by a trusted certificate)",
            "valid": "valid",
            "invalid": "invalid: the file changed after it was signed, or its signature is broken",
            "none": "none in this file",
            "unsigned": "not made (signing is not configured on this site)",
            "unavailable": "could not be made or checked just now",
        }[self.state]


# --- signing material -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Material:
    chain: bytes
    key: bytes
    anchors: bytes  # PEM roots the reader trusts; may be empty
    alg: str = "es256"
    development: bool = False  # the generated development pair (its CA is trusted by nobody else)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.chain).hexdigest()[:16]


def _dev_material(directory: Path) -> Material:
    """A development CA and a signer certificate it issued, generated once (EC P-256).

    The three PEMs live in one file in a 0700 directory, written to a 0600 temporary file made in
    that directory (``mkstemp``: private from creation), flushed to disk, then hard-linked into
    place (a link fails if the name exists), so processes starting at once all end up with the same
    pair and none ever reads a half-written one. A file that cannot be read as the pair (a crash of
    an older version, a disk error) is replaced by a new pair.
    """
    path = directory / "dev-signer.json"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    for _attempt in range(3):
        stored = _read_dev_file(path)
        if stored is not None:
            return Material(
                chain=stored["chain"].encode(),
                key=stored["key"].encode(),
                anchors=stored["ca"].encode(),
                development=True,
            )
        if path.exists():
            logger.warning("the development C2PA key pair in %s is unreadable; generating a new one", path)
            path.unlink(missing_ok=True)
        chain, key, ca = _generate_dev_pair()
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".dev-signer.", suffix=".tmp")  # 0600
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump({"chain": chain.decode(), "key": key.decode(), "ca": ca.decode()}, fh)
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):  # another process won; use its pair
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    raise ImproperlyConfigured(f"Could not create the development C2PA key pair in {directory}.")


def _read_dev_file(path: Path) -> dict | None:
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or not all(isinstance(stored.get(k), str) for k in ("chain", "key", "ca")):
        return None
    try:
        check_pem_pair(stored["chain"], stored["key"])
    except ImproperlyConfigured:
        return None
    return stored


def check_pem_pair(cert: str, key: str) -> None:
    """Raise ImproperlyConfigured unless ``cert`` is a PEM certificate chain and ``key`` a PEM private
    key that belongs to its first certificate (checked when the settings load)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        chain = x509.load_pem_x509_certificates(cert.encode())
    except ValueError as exc:
        raise ImproperlyConfigured(f"CHROMA_C2PA_CERT is not a PEM certificate chain: {exc}") from exc
    try:
        private = serialization.load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"CHROMA_C2PA_KEY is not an unencrypted PEM private key: {exc}") from exc
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if private.public_key().public_bytes(der, public) != chain[0].public_key().public_bytes(der, public):
        raise ImproperlyConfigured("CHROMA_C2PA_KEY is not the key of the first certificate in CHROMA_C2PA_CERT.")


def _generate_dev_pair() -> tuple[bytes, bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    org = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Chroma Commons (development)")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Chroma Commons development CA"), org])

    def usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=sign,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=ca,
            crl_sign=ca,
            encipher_only=False,
            decipher_only=False,
        )

    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Chroma Commons development signer"), org]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(sign=True, ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_pem = ca.public_bytes(pem)
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return leaf.public_bytes(pem) + ca_pem, key_pem, ca_pem


@functools.lru_cache(maxsize=4)
def _material(cert: str, key: str, anchors: str, alg: str, dev_dir: str) -> Material | None:
    if cert and key:
        return Material(chain=cert.encode(), key=key.encode(), anchors=anchors.encode(), alg=alg)
    if dev_dir:
        dev = _dev_material(Path(dev_dir))
        return Material(
            chain=dev.chain, key=dev.key, anchors=anchors.encode() or dev.anchors, alg=alg, development=not anchors
        )
    return None


def signing_material() -> Material | None:
    """The configured signer, the development one, or None (downloads go out unsigned)."""
    return _material(
        settings.CHROMA_C2PA_CERT,
        settings.CHROMA_C2PA_KEY,
        settings.CHROMA_C2PA_TRUST_ANCHORS,
        settings.CHROMA_C2PA_ALG,
        settings.CHROMA_C2PA_DEV_DIR,
    )


def _context(material: Material | None, *, for_signing: bool):
    import c2pa

    config: dict = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if for_signing:
        config["builder"] = {"thumbnail": {"enabled": False}}  # the image is the thumbnail
    if material is not None and material.anchors:
        config["trust"] = {"user_anchors": material.anchors.decode()}
    return c2pa.Context(c2pa.Settings.from_json(json.dumps(config)))


# --- the manifest -----------------------------------------------------------------------------------------


def manifest_definition(claims: Claims, fmt: str) -> dict:
    agent = (
        {"name": "Chroma Commons volunteer (manual colorization)"}
        if claims.manual
        else {"name": f"Chroma Commons colorizer, model {claims.model_slug}", "version": claims.model_version}
    )
    original = f"sha256:{claims.original_sha256}"
    return {
        "claim_generator_info": [CLAIM_GENERATOR],
        "title": f"{claims.title} (colour version{f'; {claims.status}' if claims.status else ''}).{fmt}",
        "format": MIME[fmt],
        "ingredients": [
            {
                "title": f"{claims.title} (original)",
                "format": _original_mime(claims.original_format),
                "relationship": "parentOf",
                "instance_id": original,
                "document_id": original,
                "label": "original",
                "description": f"The untouched original upload, SHA-256 {claims.original_sha256}.",
            }
        ],
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["original"]}},
                        {
                            "action": "c2pa.color_adjustments",
                            "digitalSourceType": HUMAN_SOURCE_TYPE if claims.manual else AI_SOURCE_TYPE,
                            "softwareAgent": agent,
                            "description": (
                                "Manual colorization by a volunteer; the luminance is the original's."
                                if claims.manual
                                else "AI colorization; the luminance is the original's, the colours are an estimate."
                            ),
                        },
                    ]
                },
            },
            {
                "label": ASSERTION,
                "data": {
                    "model": claims.model_slug,
                    "model_version": claims.model_version,
                    "original_sha256": claims.original_sha256,
                    "contributors": list(claims.contributors),
                    "label": claims.label,
                    "page": claims.page_url,
                    **({"status": claims.status} if claims.status else {}),
                },
            },
        ],
    }


def _original_mime(image_format: str) -> str:
    return {
        "JPEG": "image/jpeg",
        "PNG": "image/png",
        "TIFF": "image/tiff",
        "WEBP": "image/webp",
        "HEIF": "image/heif",
        "HEIC": "image/heic",
    }.get((image_format or "").upper(), "application/octet-stream")


def sign(data: bytes, fmt: str, claims: Claims, material: Material) -> bytes:
    """``data`` (a PNG or JPEG) with a signed C2PA manifest embedded; other metadata is kept."""
    import c2pa

    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(getattr(c2pa.C2paSigningAlg, material.alg.upper()), material.chain, material.key, None)
    )
    builder = c2pa.Builder(manifest_definition(claims, fmt), _context(material, for_signing=True))
    out = io.BytesIO()
    builder.sign(signer, MIME[fmt], io.BytesIO(data), out)
    return out.getvalue()


def read_back(data: bytes, fmt: str, material: Material | None = None) -> Report:
    """Read and validate the manifest in ``data`` (offline; trusting ``material``'s anchors)."""
    import c2pa

    try:
        reader = c2pa.Reader(MIME[fmt], io.BytesIO(data), None, _context(material, for_signing=False))
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in type(exc).__name__ or "no JUMBF" in str(exc) or "not found" in str(exc).lower():
            return Report(state="none")
        return Report(state="invalid", failures=(str(exc)[:300],))
    store = json.loads(reader.json())
    state = (reader.get_validation_state() or "Invalid").lower()
    manifest = store.get("manifests", {}).get(store.get("active_manifest") or "", {})
    results = (reader.get_validation_results() or {}).get("activeManifest", {})
    failures = tuple(f.get("code", "") for f in results.get("failure", []) if f.get("code"))
    assertions = {a.get("label"): a.get("data", {}) for a in manifest.get("assertions", [])}
    ours = assertions.get(ASSERTION, {})
    actions = (assertions.get("c2pa.actions.v2") or assertions.get("c2pa.actions") or {}).get("actions", [])
    source_type = next((a.get("digitalSourceType", "") for a in actions if a.get("digitalSourceType")), "")
    ingredient = next(iter(manifest.get("ingredients", [])), {}).get("instance_id", "")
    issuer = (manifest.get("signature_info") or {}).get("common_name") or (manifest.get("signature_info") or {}).get(
        "issuer", ""
    )
    if state not in ("trusted", "valid"):
        state = "invalid"
    development = state == "trusted" and material is not None and material.development
    model = f"{ours.get('model', '')} v{ours.get('model_version', '')}" if ours.get("model") else ""
    return Report(
        state=state,
        issuer=issuer,
        model=model,
        contributors=tuple(ours.get("contributors", [])),
        source_type=source_type,
        ingredient=ingredient,
        failures=failures,
        development=development,
    )


# --- signed copies in storage -----------------------------------------------------------------------------


def signed_key(image_key: str, fmt: str, claims: Claims, material: Material) -> str:
    digest = hashlib.sha256(
        json.dumps([image_key, fmt, asdict(claims), material.fingerprint], sort_keys=True).encode()
    ).hexdigest()
    return f"credentials/{digest[:2]}/{digest[:32]}.{fmt}"


def signed_copy(image_key: str, fmt: str, claims: Claims) -> tuple[str, Report]:
    """(storage key of the copy with content credentials, what reading it back found).

    Made once and kept; without signing material, the unsigned file's key and an "unsigned" report.
    """
    material = signing_material()
    if material is None:
        return image_key, Report(state="unsigned")
    key = signed_key(image_key, fmt, claims, material)
    report_key = key + ".json"
    if default_storage.exists(report_key):
        with default_storage.open(report_key, "rb") as fh:
            stored = json.loads(fh.read())
        return key, Report(**{k: tuple(v) if isinstance(v, list) else v for k, v in stored.items()})
    with default_storage.open(image_key, "rb") as fh:
        data = fh.read()
    storage_replace(key, sign(data, fmt, claims, material))
    with default_storage.open(key, "rb") as fh:  # read back what was stored, not what was meant
        report = read_back(fh.read(), fmt, material)
    storage_replace(report_key, json.dumps(asdict(report)).encode())
    logger.info("content credentials for %s: %s", image_key, report.state)
    return key, report
