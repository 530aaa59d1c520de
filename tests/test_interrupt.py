"""Cancelling a job that is already with the provider, through its interrupt call: refunded
once when the provider confirms, refused (nothing changes) when it does not, not offered when
the provider has no interrupt call; a callback after the interrupt stores nothing."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from gallery import credits, jobs
from gallery.models import CallbackDelivery, CreditTransaction, Image, Job, JobStatus
from tests.factories import record_callback, submitted_job
from tests.helpers import Recorder, json_reply

pytestmark = pytest.mark.django_db
S = JobStatus


@pytest.fixture
def provider_server(settings):
    settings.APISPACE_INTERRUPT_PATH = "/interrupt"
    with Recorder() as recorder:
        settings.APISPACE_BASE_URL = recorder.url
        settings.PROVIDER_READ_TIMEOUT = 1
        recorder.routes["/interrupt"] = json_reply({"success": True, "status": "interrupted"})
        yield recorder


def test_a_submitted_job_is_interrupted_and_refunded_once(alice, provider_server):
    """Fails before: jobs.cancel refused every job that was no longer queued."""
    job = submitted_job(alice)
    assert credits.balance_of(alice) == 48
    jobs.cancel(job=job, by=alice)
    job.refresh_from_db()
    assert job.status == S.CANCELLED
    assert json.loads(provider_server.requests[0]["body"]) == {"uid": job.provider_task_id}
    assert credits.balance_of(alice) == 50
    with pytest.raises(jobs.JobNotCancellable):
        jobs.cancel(job=job, by=alice)
    assert CreditTransaction.objects.filter(job=job, kind="refund").count() == 1


def test_a_callback_after_the_interrupt_stores_no_picture_and_moves_no_credit(
    alice, provider_server, django_capture_on_commit_callbacks
):
    job = submitted_job(alice)
    jobs.cancel(job=job, by=alice)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record_callback(job, "http://127.0.0.1:9/never-fetched.png")
    assert callbacks == []  # no ingest queued
    assert CallbackDelivery.objects.get(job=job).outcome == CallbackDelivery.Outcome.DUPLICATE
    assert Job.objects.get(id=job.id).status == S.CANCELLED
    assert not Image.objects.filter(job=job).exists()
    assert credits.balance_of(alice) == 50
    assert CreditTransaction.objects.filter(job=job).count() == 2  # the debit and one refund


def test_a_job_the_provider_already_runs_is_not_cancelled(alice, provider_server):
    provider_server.routes["/interrupt"] = json_reply({"success": False, "status": "working"})
    job = submitted_job(alice)
    with pytest.raises(jobs.JobNotCancellable, match="already started"):
        jobs.cancel(job=job, by=alice)
    assert Job.objects.get(id=job.id).status == S.SUBMITTED
    assert credits.balance_of(alice) == 48


def test_without_an_interrupt_call_a_submitted_job_offers_no_cancel(alice_client, alice, settings):
    settings.APISPACE_INTERRUPT_PATH = ""
    job = submitted_job(alice)
    assert not jobs.can_cancel(job)
    page = alice_client.get(reverse("job_detail", args=[job.id])).content.decode()
    assert 'data-testid="cancel-job"' not in page
    with pytest.raises(jobs.JobNotCancellable):
        jobs.cancel(job=job, by=alice)


def test_the_job_page_and_the_studio_card_offer_cancel_while_interruptible(alice_client, alice, provider_server):
    job = submitted_job(alice)
    page = alice_client.get(reverse("job_detail", args=[job.id])).content.decode()
    assert 'data-testid="cancel-job"' in page
    studio = alice_client.get(reverse("studio")).content.decode()
    assert 'data-testid="card-cancel"' in studio
    response = alice_client.post(reverse("cancel_job", args=[job.id]), HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "The job was cancelled and your credits refunded." in response.content.decode()
    assert Job.objects.get(id=job.id).status == S.CANCELLED


def test_a_job_whose_picture_has_come_offers_no_cancel(alice, provider_server):
    job = submitted_job(alice)
    record_callback(job, "http://127.0.0.1:9/x.png")
    job.refresh_from_db()
    assert not jobs.can_cancel(job)
    assert provider_server.requests == []


def test_the_api_cancels_a_submitted_job_through_the_interrupt(client, alice, provider_server):
    from tests.factories import api_token, bearer

    job = submitted_job(alice)
    response = client.post(f"/api/v1/jobs/{job.id}/cancel", **bearer(api_token(alice)))
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert credits.balance_of(alice) == 50
    provider_server.routes["/interrupt"] = json_reply({"success": False, "status": "working"})
    other = submitted_job(alice)
    response = client.post(f"/api/v1/jobs/{other.id}/cancel", **bearer(api_token(alice)), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409
    assert "already started" in response.json()["detail"]
