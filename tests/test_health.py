"""/healthz (liveness) and /healthz/ready (readiness) against real components: the session's S3
server, the test database, the broker and a provider reachable over HTTP."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.helpers import Recorder, json_reply

pytestmark = pytest.mark.django_db

READY_TOKEN = "ready-token-for-tests"


@pytest.fixture
def provider_up(settings):
    with Recorder() as recorder:
        recorder.routes["/"] = json_reply({"engine": "test"})
        recorder.routes["/health"] = json_reply({"ok": True, "superres": {"ok": True, "detail": "animevideov3 loaded"}})
        settings.APISPACE_BASE_URL = recorder.url
        yield recorder


@pytest.fixture
def monitor(client, settings):
    """A monitoring system holding the configured readiness token."""
    settings.HEALTH_TOKEN = READY_TOKEN
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {READY_TOKEN}"
    return client


# --- liveness ---------------------------------------------------------------------------------


def test_liveness_is_public_cheap_and_says_only_ok(client, provider_up, bucket_keys, settings):
    """Fails before the fix: an anonymous /healthz wrote, read and deleted an S3 object, called
    the provider and returned every check's raw detail."""
    settings.APISPACE_BASE_URL = provider_up.url
    before = len(provider_up.requests)
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert len(provider_up.requests) == before  # no provider call
    assert bucket_keys("healthz/") == []


def test_liveness_stays_200_when_the_object_store_is_down(client, storage_down):
    """Fails before the fix: /healthz answered 503 with the storage client's exception text."""
    with storage_down():
        response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"ok": True}


# --- readiness: who may ask -------------------------------------------------------------------


def test_readiness_refuses_anonymous_callers_without_running_a_check(client, provider_up, settings):
    settings.HEALTH_TOKEN = READY_TOKEN
    before = len(provider_up.requests)
    response = client.get(reverse("healthz_ready"))
    assert response.status_code == 403
    assert "checks" not in response.json()
    assert len(provider_up.requests) == before


@pytest.mark.parametrize("header", ["Bearer wrong", "Bearer ²²²", f"Basic {READY_TOKEN}", READY_TOKEN])
def test_readiness_refuses_a_wrong_token(client, provider_up, settings, header):
    settings.HEALTH_TOKEN = READY_TOKEN
    response = client.get(reverse("healthz_ready"), HTTP_AUTHORIZATION=header)
    assert response.status_code == 403


def test_readiness_with_no_token_configured_is_staff_only(client, provider_up, settings):
    settings.HEALTH_TOKEN = ""
    assert client.get(reverse("healthz_ready"), HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_readiness_is_closed_to_regular_users(client, alice, provider_up):
    client.force_login(alice)
    assert client.get(reverse("healthz_ready")).status_code == 403


def test_staff_see_readiness(client, staff, provider_up):
    client.force_login(staff)
    response = client.get(reverse("healthz_ready"))
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["storage"]["detail"] == "write+read+delete"


# --- readiness: what it checks ----------------------------------------------------------------


def test_it_reports_every_component_up(monitor, provider_up):
    response = monitor.get(reverse("healthz_ready"))
    body = response.json()
    assert response.status_code == 200, body
    assert body["ok"] is True
    assert set(body["checks"]) >= {"database", "broker", "storage", "provider"}
    assert body["checks"]["storage"]["detail"] == "write+read+delete"


def test_it_leaves_no_probe_objects_behind(monitor, provider_up, bucket_keys):
    monitor.get(reverse("healthz_ready"))
    assert bucket_keys("healthz/") == []


def test_it_answers_503_when_the_object_store_is_down(monitor, provider_up, storage_down):
    with storage_down():
        response = monitor.get(reverse("healthz_ready"))
    assert response.status_code == 503
    assert response.json()["checks"]["storage"]["ok"] is False


def test_it_answers_503_when_the_provider_is_unreachable(monitor, settings):
    with Recorder() as recorder:
        gone = recorder.url
    settings.APISPACE_BASE_URL = gone
    response = monitor.get(reverse("healthz_ready"))
    assert response.status_code == 503
    assert response.json()["checks"]["provider"]["ok"] is False


def test_it_reports_a_broken_superres_model(monitor, provider_up, settings):
    settings.ENGINE_ENABLED = True
    provider_up.routes["/health"] = json_reply(
        {"ok": False, "superres": {"ok": False, "detail": "model files missing"}}
    )
    response = monitor.get(reverse("healthz_ready"))
    assert response.status_code == 503
    assert "model files missing" in response.json()["checks"]["superres_model"]["detail"]


# --- readiness: the pictures waiting to be saved ------------------------------------------------


def test_it_reports_the_pictures_waiting_to_be_saved_and_stays_ready(monitor, provider_up, alice):
    """Fails before the change: a job whose picture could not be stored (our object store
    down, ingest retrying) showed nowhere an operator looks."""
    from datetime import timedelta

    from django.utils import timezone

    from gallery.models import Job
    from tests.factories import saving_job, submitted_job

    submitted_job(alice, "still painting")  # no callback yet: not waiting to be saved
    oldest = saving_job(alice, "a lighthouse")
    saving_job(alice, "a fox")
    Job.objects.filter(id=oldest.id).update(callback_received_at=timezone.now() - timedelta(minutes=10))
    response = monitor.get(reverse("healthz_ready"))
    body = response.json()
    assert response.status_code == 200, body  # a backlog alone does not take the site out of rotation
    assert body["saving"]["jobs"] == 2
    assert 600 <= body["saving"]["oldest_seconds"] < 660


def test_with_nothing_waiting_the_backlog_is_empty(monitor, provider_up):
    body = monitor.get(reverse("healthz_ready")).json()
    assert body["saving"] == {"jobs": 0, "oldest_seconds": None}
