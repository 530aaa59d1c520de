"""/healthz against real components: the session's S3 server, the test database, the broker
and a provider reachable over HTTP."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.helpers import Recorder, json_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider_up(settings):
    with Recorder() as recorder:
        recorder.routes["/"] = json_reply({"engine": "test"})
        recorder.routes["/health"] = json_reply({"ok": True, "superres": {"ok": True, "detail": "animevideov3 loaded"}})
        settings.APISPACE_BASE_URL = recorder.url
        yield recorder


def test_it_reports_every_component_up(client, provider_up):
    response = client.get(reverse("healthz"))
    body = response.json()
    assert response.status_code == 200, body
    assert body["ok"] is True
    assert set(body["checks"]) >= {"database", "broker", "storage", "provider"}
    assert body["checks"]["storage"]["detail"] == "write+read+delete"


def test_it_leaves_no_probe_objects_behind(client, provider_up, bucket_keys):
    client.get(reverse("healthz"))
    assert bucket_keys("healthz/") == []


def test_it_answers_503_when_the_object_store_is_down(client, provider_up, settings):
    from tests.conftest import _reset_storages

    options = settings.STORAGES["default"]["OPTIONS"]
    real = options["endpoint_url"]
    options["endpoint_url"] = "http://127.0.0.1:9"  # nothing listens on the discard port
    _reset_storages()
    try:
        response = client.get(reverse("healthz"))
    finally:
        options["endpoint_url"] = real
        _reset_storages()
    assert response.status_code == 503
    assert response.json()["checks"]["storage"]["ok"] is False


def test_it_answers_503_when_the_provider_is_unreachable(client, settings):
    with Recorder() as recorder:
        gone = recorder.url
    settings.APISPACE_BASE_URL = gone
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"]["provider"]["ok"] is False


def test_it_reports_a_broken_superres_model(client, provider_up, settings):
    settings.ENGINE_ENABLED = True
    provider_up.routes["/health"] = json_reply(
        {"ok": False, "superres": {"ok": False, "detail": "model files missing"}}
    )
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert "model files missing" in response.json()["checks"]["superres_model"]["detail"]
