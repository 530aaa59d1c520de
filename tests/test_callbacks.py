"""The callback view, fed the recorded bodies of tests/data/callbacks over the test client."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from gallery import jobs, tokens
from gallery.models import CallbackDelivery, Job, JobStatus
from tests.helpers import callback_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted_job(alice):
    job = jobs.create_job(owner=alice, kind="txt2img", params={"text": "Roses", "w": 512, "h": 512}, prompt="Roses")
    return jobs.mark_submitted(job_id=job.id, task_id="b50fd9dc699b0f69e5dac9d150939c94", response={"uid": "x"})


def _post(client, job, body, token=None, **extra):
    url = reverse("callback", kwargs={"job_id": job.id, "token": token or tokens.callback_token(job.id)})
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(url, data=data, content_type="application/json", **extra)


def test_it_accepts_the_documented_body_and_answers_json_at_once(
    client, submitted_job, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = _post(client, submitted_job, callback_body("success-documented"))
    assert response.status_code == 200
    assert response.json() == {"ok": True, "outcome": "applied"}
    assert len(callbacks) == 1  # ingest is enqueued after commit, not run in the request
    delivery = CallbackDelivery.objects.get(job=submitted_job)
    assert delivery.body == callback_body("success-documented")
    submitted_job.refresh_from_db()
    assert submitted_job.callback_received_at is not None


def test_it_is_csrf_exempt_on_purpose(submitted_job):
    csrf_client = Client(enforce_csrf_checks=True)
    assert _post(csrf_client, submitted_job, callback_body("success-documented")).status_code == 200


def test_it_accepts_the_backend_time_spelling(client, submitted_job):
    assert _post(client, submitted_job, callback_body("success-backend-spelling")).status_code == 200


def test_it_rejects_a_forged_token_with_a_bare_404(client, submitted_job):
    response = _post(client, submitted_job, callback_body("success-documented"), token="0" * 64)
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error": "not found"}
    assert not CallbackDelivery.objects.exists()


def test_a_token_for_another_job_does_not_work(client, submitted_job, alice):
    other = jobs.create_job(owner=alice, kind="txt2img", params={"text": "x"}, prompt="x")
    url = reverse("callback", kwargs={"job_id": submitted_job.id, "token": tokens.callback_token(other.id)})
    assert client.post(url, data=b"{}", content_type="application/json").status_code == 404


def test_an_unknown_job_gets_the_same_404(client):
    import uuid

    job_id = uuid.uuid4()
    url = reverse("callback", kwargs={"job_id": job_id, "token": tokens.callback_token(job_id)})
    response = client.post(url, data=json.dumps(callback_body("success-documented")), content_type="application/json")
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error": "not found"}


def test_it_refuses_get(client, submitted_job):
    url = reverse("callback", kwargs={"job_id": submitted_job.id, "token": tokens.callback_token(submitted_job.id)})
    assert client.get(url).status_code == 405


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"uid": "x"}',
        b'{"uid": "x", "success": "yes", "data": {}}',
        b'{"uid": "x", "success": true, "data": {"uid": "x", "cdn": "", "cos": ""}}',
        b'{"uid": "x", "success": true, "data": {"uid": "x", "safe": true, "cdn": "", "cos": ""}}',
        b'{"uid": "x", "success": true, "data": {"uid": "x", "safe": true, "cos": "http://a/b.png", '
        b'"duration": "slow"}}',
    ],
)
def test_it_rejects_malformed_bodies_with_400(client, submitted_job, raw):
    response = _post(client, submitted_job, raw)
    assert response.status_code == 400
    assert response.json()["ok"] is False
    assert not CallbackDelivery.objects.exists()


def test_it_rejects_an_oversized_body(client, submitted_job, settings):
    settings.CALLBACK_MAX_BYTES = 1024
    body = callback_body("success-documented")
    body["data"]["reason"] = "x" * 2000
    assert _post(client, submitted_job, body).status_code == 413
    assert not CallbackDelivery.objects.exists()


def test_duplicates_are_recorded_and_change_nothing_twice(client, submitted_job, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        for _ in range(10):
            assert _post(client, submitted_job, callback_body("success-documented")).status_code == 200
    outcomes = list(CallbackDelivery.objects.values_list("outcome", flat=True))
    assert outcomes == ["applied"] + ["duplicate"] * 9
    assert len(callbacks) == 1


def test_a_callback_before_the_submission_is_recorded_as_early(client, alice):
    job = jobs.create_job(owner=alice, kind="txt2img", params={"text": "x"}, prompt="x")
    response = _post(client, job, callback_body("success-documented"))
    assert response.json()["outcome"] == "early"
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


def test_failure_and_unsafe_bodies_are_accepted(client, submitted_job, alice):
    assert _post(client, submitted_job, callback_body("failure-while-running")).status_code == 200
    job2 = jobs.mark_submitted(
        job_id=jobs.create_job(owner=alice, kind="txt2img", params={"text": "x"}, prompt="x").id,
        task_id="t2",
        response={},
    )
    assert _post(client, job2, callback_body("unsafe")).status_code == 200
    job3 = jobs.mark_submitted(
        job_id=jobs.create_job(owner=alice, kind="txt2img", params={"text": "x"}, prompt="x").id,
        task_id="t3",
        response={},
    )
    assert _post(client, job3, callback_body("failure-bad-params")).status_code == 200
    assert Job.objects.count() == 3
