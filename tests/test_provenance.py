"""Optional C2PA manifests on originals (gallery/provenance.py), signed with a throwaway
certificate chain made here and verified with c2pa-python's own reader.

Fails before C2PA support: originals carried no manifest, so the reader found none."""

from __future__ import annotations

import datetime
import io
import json

import c2pa
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image as PILImage

from gallery import ingest, labels, media, provenance
from gallery.models import Image
from tests.factories import record_callback, submitted_job

pytestmark = pytest.mark.django_db


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, common_name), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tests")]
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=ca,
        crl_sign=ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


@pytest.fixture
def signing_chain(tmp_path, settings):
    """A root CA and a signing certificate it issued (C2PA refuses self-signed signers); the
    site is configured with the chain and key; the root PEM is returned for the reader."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def certificate(subject, issuer, public_key, signing_key, *, ca: bool):
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(subject))
            .issuer_name(_name(issuer))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(_key_usage(ca=ca), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        )
        if not ca:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            ).add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        return builder.sign(signing_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

    root = certificate("Throwaway Root", "Throwaway Root", ca_key.public_key(), ca_key, ca=True)
    leaf = certificate("画廊 AIGC signer", "Throwaway Root", key.public_key(), ca_key, ca=False)
    (tmp_path / "chain.pem").write_bytes(leaf + root)
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    settings.C2PA_CERT_CHAIN_FILE = str(tmp_path / "chain.pem")
    settings.C2PA_PRIVATE_KEY_FILE = str(tmp_path / "key.pem")
    return root


def _read(data: bytes, mime_type: str, root: bytes) -> c2pa.Reader:
    trust = {"verify": {"verify_trust": True}, "trust": {"trust_anchors": root.decode()}}
    return c2pa.Reader(mime_type, io.BytesIO(data), context=c2pa.Context(c2pa.Settings.from_json(json.dumps(trust))))


def _ingest(alice, image_host, image_format: str, extension: str) -> Image:
    buffer = io.BytesIO()
    PILImage.new("RGB", (96, 80), (30, 90, 200)).save(buffer, image_format)
    sent = buffer.getvalue()
    image_host.routes[f"/c2pa.{extension}"] = lambda h, b: (200, {}, sent)
    job = submitted_job(alice)
    url = f"{image_host.url}/c2pa.{extension}"
    record_callback(job, url, cdn=url)
    assert ingest.ingest_result(job_id=job.id) == "succeeded"
    return Image.objects.get(job=job)


@pytest.mark.parametrize(
    ("image_format", "extension", "mime_type"), [("PNG", "png", "image/png"), ("JPEG", "jpg", "image/jpeg")]
)
def test_originals_carry_a_signed_c2pa_manifest_beside_the_tc260_label(
    alice, image_host, signing_chain, image_format, extension, mime_type
):
    image = _ingest(alice, image_host, image_format, extension)
    stored = media.read(image.original_key)
    reader = _read(stored, mime_type, signing_chain)
    assert reader.get_validation_state() == "Trusted", reader.get_validation_results()
    active = json.loads(reader.json())
    manifest = active["manifests"][active["active_manifest"]]
    (actions,) = [a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions")]
    (created,) = actions["data"]["actions"]
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"] == provenance.TRAINED_ALGORITHMIC_MEDIA
    assert created["softwareAgent"]["name"] == image.made_by
    assert manifest["claim_generator_info"][0]["name"] == "画廊 AIGC"
    # the implicit label is still there, for tools that read XMP only
    assert labels.read_label(stored).produce_id == str(image.id)


def test_a_tampered_original_fails_verification(alice, image_host, signing_chain):
    stored = media.read(_ingest(alice, image_host, "PNG", "png").original_key)
    picture = PILImage.open(io.BytesIO(stored))
    assert picture.format == "PNG"
    tampered = bytearray(stored)
    idat = stored.index(b"IDAT")
    tampered[idat + 10] ^= 0xFF
    try:
        state = _read(bytes(tampered), "image/png", signing_chain).get_validation_state()
    except c2pa.C2paError:
        state = "unreadable"
    assert state != "Trusted"


def test_without_a_certificate_there_is_no_manifest(alice, image_host, settings):
    assert not provenance.enabled()
    stored = media.read(_ingest(alice, image_host, "PNG", "png").original_key)
    with pytest.raises(c2pa.C2paError):
        c2pa.Reader("image/png", io.BytesIO(stored))


def test_an_old_original_relabelled_with_a_certificate_configured_is_signed_too(
    alice, signing_chain, django_capture_on_commit_callbacks
):
    """Fails before the backfill: a picture stored before labelling kept an original with neither
    the TC260 label nor a manifest."""
    from gallery import relabel
    from tests.factories import unlabelled_image

    image = unlabelled_image(alice)
    with django_capture_on_commit_callbacks(execute=True):
        assert relabel.relabel_image(image).result == "relabelled"
    stored = media.read(Image.objects.get(id=image.id).original_key)
    reader = _read(stored, "image/png", signing_chain)
    assert reader.get_validation_state() == "Trusted", reader.get_validation_results()
    active = json.loads(reader.json())
    (actions,) = [a for a in active["manifests"][active["active_manifest"]]["assertions"] if "actions" in a["label"]]
    assert actions["data"]["actions"][0]["softwareAgent"]["name"] == "Offline engine"
    assert labels.read_label(stored).produce_id == str(image.id)
    assert relabel.relabel_image(image).result == "labelled"  # the signed copy is seen as labelled
