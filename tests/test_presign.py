"""gallery/presign.py signs GET URLs as botocore does, byte for byte, for the same time (and
tests/test_media.py fetches them from the real S3 server: they work, expire and need their
signature)."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
import requests
from django.core.files.storage import default_storage

from gallery import media, presign

MOMENTS = [datetime.datetime(2026, 12, 3, 11, 42, 7), datetime.datetime(2027, 1, 1, 0, 0, 0)]
KEYS = ["images/12/0f3c9a.webp", "test/a b+c~d(1)!*'.png", "测试/玫瑰花 ü.webp", "x//y/../z.txt"]


def _botocore(name: str, *, expire: int, now: datetime.datetime) -> str:
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        return default_storage.url(name, expire=expire)


def test_the_site_storage_is_signed_here():
    assert presign.supports(default_storage)


@pytest.mark.parametrize("now", MOMENTS)
@pytest.mark.parametrize("name", KEYS)
@pytest.mark.parametrize("expire", [600, 2, 86400])
def test_the_url_is_botocores_byte_for_byte(name, expire, now):
    assert presign.storage_url(default_storage, name, expire=expire, now=now) == _botocore(name, expire=expire, now=now)


def test_another_region_and_secret_sign_as_botocore_does(settings):
    options = {**settings.STORAGES["default"]["OPTIONS"], "region_name": "eu-west-3", "secret_key": "other/se+cret"}
    from storages.backends.s3 import S3Storage

    storage = S3Storage(**options)
    now = MOMENTS[0]
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        expected = storage.url("images/1/a.webp", expire=600)
    assert presign.storage_url(storage, "images/1/a.webp", expire=600, now=now) == expected


def test_a_set_up_it_does_not_know_goes_to_the_storage(settings):
    from storages.backends.s3 import S3Storage

    storage = S3Storage(**{**settings.STORAGES["default"]["OPTIONS"], "addressing_style": "virtual"})
    assert not presign.supports(storage)
    assert "X-Amz-Signature=" in presign.storage_url(storage, "images/1/a.webp", expire=600)


@pytest.mark.django_db
def test_a_url_signed_here_fetches_the_object_from_the_real_s3_server():
    media.forget_signed_urls()
    key = media.put(folder="test", extension="txt", data="你好".encode())
    assert requests.get(media.url(key), timeout=10).content == "你好".encode()
