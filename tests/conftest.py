"""Shared test setup: a real S3 server for the session, and the named characters.

alice owns things, bob is another user, staff is staff.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files import storage as storage_module
from django.utils.functional import empty

from devstack import objectstore

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session")
def s3_server():
    """A real SeaweedFS S3 server on free ports, with a fresh bucket, for the whole session."""
    data_dir = Path(tempfile.mkdtemp(prefix="aigc-weed-"))
    ports = objectstore.Ports.free()
    log = open(data_dir / "weed.log", "wb")  # noqa: SIM115 - closed at teardown
    process = objectstore.start(data_dir, ports, "testaccess", "testsecret123", log_file=log)
    endpoint = f"http://127.0.0.1:{ports.s3}"
    client = objectstore.client(endpoint, "testaccess", "testsecret123")
    bucket = "aigc-test"
    try:
        objectstore.wait_until_ready(client, bucket, process=process)
    except Exception:
        objectstore.stop(process)
        raise
    server = {
        "endpoint": endpoint,
        "access_key": "testaccess",
        "secret_key": "testsecret123",
        "bucket": bucket,
        "client": client,
        "ports": ports,
        "process": process,
        "data_dir": data_dir,
    }
    yield server
    objectstore.stop(process)
    log.close()


@pytest.fixture(scope="session", autouse=True)
def _point_storage_at_test_server(s3_server):
    """Settings were read before the server existed; point the default storage at it."""
    options = django_settings.STORAGES["default"]["OPTIONS"]
    options.update(
        endpoint_url=s3_server["endpoint"],
        access_key=s3_server["access_key"],
        secret_key=s3_server["secret_key"],
        bucket_name=s3_server["bucket"],
    )
    os.environ["S3_ENDPOINT_URL"] = s3_server["endpoint"]
    _reset_storages()
    yield
    _reset_storages()


def _reset_storages() -> None:
    from gallery import media

    media.forget_signed_urls()  # URLs signed for the storage settings before
    handler = storage_module.storages
    handler._storages = {}
    handler.__dict__.pop("backends", None)
    storage_module.default_storage._wrapped = empty


@pytest.fixture
def bucket_keys(s3_server):
    """All keys currently in the test bucket (what a user's pictures really are)."""

    def list_keys(prefix: str = "") -> list[str]:
        paginator = s3_server["client"].get_paginator("list_objects_v2")
        keys: list[str] = []
        for page in paginator.paginate(Bucket=s3_server["bucket"], Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    return list_keys


@pytest.fixture
def make_user(db):
    from django.contrib.auth import get_user_model

    from gallery import credits

    def make(username: str, *, credits_amount: int = 50, is_staff: bool = False):
        user = get_user_model().objects.create_user(
            username=username, password=PASSWORD, is_staff=is_staff, is_superuser=is_staff
        )
        if credits_amount:
            credits.grant(user=user, amount=credits_amount, reason="test")
        return user

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def staff(make_user):
    return make_user("staff", is_staff=True, credits_amount=0)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture(autouse=True)
def _english_unless_asked(request):
    """The site defaults to Chinese; tests read the English msgids unless they ask for
    Chinese (an Accept-Language header, the language cookie, or translation.override)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def client():
    from django.test import Client

    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def stack(s3_server):
    """The whole site as real processes (web + worker cluster + offline engine + S3)."""
    from tests.stack import Stack

    running = Stack(s3_server).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def production_stack(s3_server):
    """The same, with DEBUG off: what a visitor of the deployed site gets (error pages, static)."""
    from tests.stack import Stack

    running = Stack(s3_server, debug=False).start()
    yield running
    running.stop()


@pytest.fixture
def image_host(settings):
    """A local stand-in for the provider's image host, allowed by ingest's SSRF guard: a good
    512x512 PNG, a small one, a file that is not an image, and a host that is busy (503)."""
    from tests.helpers import Recorder, png_bytes

    with Recorder() as recorder:
        settings.INGEST_ALLOWED_HOSTS = ["127.0.0.1"]
        settings.INGEST_PRIVATE_HOSTS_ALLOWED = ["127.0.0.1"]
        recorder.routes["/result.png"] = lambda h, b: (200, {"Content-Type": "image/png"}, png_bytes((512, 512)))
        recorder.routes["/late.png"] = lambda h, b: (200, {"Content-Type": "image/png"}, png_bytes((96, 96)))
        recorder.routes["/not-image.png"] = lambda h, b: (200, {"Content-Type": "image/png"}, b"PK\x03\x04 not a png")
        recorder.routes["/busy.png"] = lambda h, b: (503, {}, b"")
        yield recorder


@pytest.fixture
def storage_down(settings):
    """`with storage_down():` the object store is unreachable (the default storage points at the
    discard port, where nothing listens); the real one is back after the block."""
    from contextlib import contextmanager

    @contextmanager
    def down():
        options = settings.STORAGES["default"]["OPTIONS"]
        real = options["endpoint_url"]
        options["endpoint_url"] = "http://127.0.0.1:9"
        _reset_storages()
        try:
            yield
        finally:
            options["endpoint_url"] = real
            _reset_storages()

    return down
