"""Presigned URLs against the real S3 server: they expire and need their signature, the same URL
is handed out again for a while so browsers cache pictures, and objects say they may be cached."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

from gallery import media
from tests.factories import stored_image

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_urls():
    media.forget_signed_urls()
    yield
    media.forget_signed_urls()


def test_the_same_url_comes_back_within_the_reuse_time_and_a_new_one_after(settings):
    """Fails before: every call signed anew, so two pages a second apart never showed the same URL."""
    settings.MEDIA_URL_EXPIRY, settings.MEDIA_URL_REUSE_SECONDS = 600, 2
    key = media.put(folder="test", extension="txt", data=b"hello")
    first = media.url(key)
    time.sleep(1.1)  # signatures carry the time to the second
    assert media.url(key) == first
    time.sleep(1.1)
    renewed = media.url(key)
    assert renewed != first
    assert requests.get(renewed, timeout=10).content == b"hello"


def test_a_url_still_expires_and_needs_its_signature(settings):
    key = media.put(folder="test", extension="txt", data=b"secret")
    signed = media.url(key)
    assert parse_qs(urlsplit(signed).query)["X-Amz-Expires"] == [str(settings.MEDIA_URL_EXPIRY)]
    assert requests.get(signed, timeout=10).content == b"secret"
    unsigned = signed.split("?", 1)[0]
    assert requests.get(unsigned, timeout=10).status_code == 403
    short = media.url(key, expire=2)
    time.sleep(3.5)
    assert requests.get(short, timeout=10).status_code == 403  # expired


def test_stored_pictures_tell_the_browser_it_may_keep_them(settings):
    """Fails before: objects were stored without Cache-Control, so the browser fetched every
    thumbnail again on every visit."""
    key = media.put(folder="test", extension="webp", data=b"RIFF....WEBP")
    response = requests.get(media.url(key), timeout=10)
    assert response.headers.get("Cache-Control") == settings.MEDIA_CACHE_CONTROL
    assert "private" in response.headers["Cache-Control"]


def test_a_deleted_objects_url_fetches_nothing():
    key = media.put(folder="test", extension="txt", data=b"x")
    first = media.url(key)
    media.delete([key])
    assert requests.get(first, timeout=10).status_code == 404


def test_the_gallery_page_shows_the_same_thumbnail_urls_on_a_second_visit(alice_client, alice):
    """Fails before: each render signed fresh URLs, so the browser cache never hit."""
    for n in range(3):
        stored_image(alice, prompt=f"cat {n}")
    first = alice_client.get(reverse("gallery")).content.decode()
    time.sleep(1.1)  # signatures carry the time to the second
    second = alice_client.get(reverse("gallery")).content.decode()
    sources = [part.split('"', 1)[0] for part in first.split('src="')[1:] if "X-Amz-Signature" in part]
    assert len(sources) >= 3
    assert all(src in second for src in sources)


@pytest.fixture
def requests_to_the_store():
    """The HTTP methods the storage's client sends during the test (botocore's own event hook,
    taken off the shared client afterwards)."""
    from django.core.files.storage import default_storage

    sent: list[str] = []
    events = default_storage.connection.meta.client.meta.events

    def record(request, **_):
        sent.append(request.method)

    events.register("before-send.s3", record)
    yield sent
    events.unregister("before-send.s3", record)


def test_a_put_is_one_request_to_the_store(requests_to_the_store):
    """Fails before: django-storages' save() sent a HEAD to ask whether the random name was free,
    then the PUT (14 ms a put on SeaweedFS instead of 5.5)."""
    key = media.put(folder="test", extension="webp", data=b"RIFF....WEBP")
    assert requests_to_the_store == ["PUT"]
    response = requests.get(media.url(key), timeout=10)
    assert response.content == b"RIFF....WEBP"
    assert response.headers["Content-Type"] == "image/webp"


def test_a_put_never_replaces_an_object_even_when_its_key_is_taken(monkeypatch):
    """The store itself refuses the overwrite (If-None-Match: *), and put takes another key."""
    taken = media.put(folder="test", extension="txt", data=b"first")
    keys = iter([taken, "test/fresh-key.txt"])
    monkeypatch.setattr(media, "new_key", lambda folder, extension: next(keys))
    try:
        second = media.put(folder="test", extension="txt", data=b"second")
        assert second == "test/fresh-key.txt"
        assert media.read(taken) == b"first"
        assert media.read(second) == b"second"
    finally:
        media.delete([taken, "test/fresh-key.txt"])
