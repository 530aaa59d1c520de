"""Webhooks: a job made through the API with a webhook_url is POSTed, signed, when it ends;
a receiver that answers 500 gets it again later; every attempt is recorded and shown; the
address goes through the SSRF guard at every attempt."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django.urls import reverse

from gallery import jobs, tasks, webhooks
from gallery.models import ApiToken, Job, WebhookDelivery
from tests.factories import api_token, bearer
from tests.helpers import Recorder

pytestmark = pytest.mark.django_db


def verify_like_a_receiver(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What the README tells a receiver to do, written independently of gallery/webhooks.py."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = int(fields["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(time.time() - timestamp) <= tolerance and hmac.compare_digest(expected, fields["v1"])


@pytest.fixture
def receiver(settings):
    answers = [500]

    def route(handler, body):
        status = answers.pop(0) if answers else 200
        return status, {"Content-Type": "text/plain"}, b"ok"

    with Recorder() as recorder:
        recorder.routes["/hooks/aigc"] = route
        recorder.answers = answers
        settings.WEBHOOK_PRIVATE_HOSTS_ALLOWED = [recorder.url.removeprefix("http://")]
        yield recorder


def _api_job(client, token, url):
    response = client.post(
        "/api/v1/jobs/txt2img",
        json.dumps({"prompt": "玫瑰花", "webhook_url": url}),
        content_type="application/json",
        **bearer(token),
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_signed_webhook_is_retried_after_a_500_and_the_attempts_are_shown(
    client, alice, receiver, django_capture_on_commit_callbacks
):
    token = api_token(alice)
    created = _api_job(client, token, f"{receiver.url}/hooks/aigc")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/jobs/{created['id']}/cancel", **bearer(token))
    # The first POST got a 500; a retry is planned, as the worker cluster would run it.
    delivery = WebhookDelivery.objects.get(job_id=created["id"])
    assert delivery.state == "pending" and delivery.attempts == 1 and delivery.next_attempt_at is not None
    assert tasks.deliver_webhook(str(delivery.id), 2) == "done"
    delivery.refresh_from_db()
    assert delivery.state == "delivered" and delivery.attempts == 2

    posts = [request for request in receiver.requests if request["method"] == "POST"]
    assert len(posts) == 2 and posts[0]["body"] == posts[1]["body"]
    secret = ApiToken.objects.get(owner=alice).webhook_secret
    for post in posts:
        assert verify_like_a_receiver(secret, post["headers"]["Aigc-Signature"], post["body"])
        assert not verify_like_a_receiver("whsec_wrong", post["headers"]["Aigc-Signature"], post["body"])
    event = json.loads(posts[0]["body"])
    assert event["type"] == "job.cancelled" and event["data"]["id"] == created["id"]
    assert event["data"]["status"] == "cancelled" and event["data"]["failure"]["refunded"] is True
    assert posts[0]["headers"]["Aigc-Event"] == "job.cancelled"

    shown = client.get(f"/api/v1/jobs/{created['id']}/webhooks", **bearer(token)).json()
    assert [attempt["status_code"] for attempt in shown[0]["attempts"]] == [500, 200]
    assert shown[0]["state"] == "delivered"
    client.force_login(alice)
    page = client.get(reverse("job_detail", args=[created["id"]])).content.decode()
    assert 'data-testid="webhook-deliveries"' in page and "HTTP 500" in page and "HTTP 200" in page


def test_a_failed_job_sends_its_failure_in_the_language_it_was_asked_in(
    client, alice, receiver, django_capture_on_commit_callbacks
):
    receiver.answers.clear()
    token = api_token(alice)
    response = client.post(
        "/api/v1/jobs/txt2img",
        json.dumps({"prompt": "roses", "webhook_url": f"{receiver.url}/hooks/aigc"}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
        **bearer(token),
    )
    with django_capture_on_commit_callbacks(execute=True):
        jobs.fail(job_id=response.json()["id"], reason="engine exploded", failure="service_failed")
    event = json.loads(receiver.requests[-1]["body"])
    assert event["type"] == "job.failed" and event["data"]["failure"]["category"] == "service_failed"
    assert event["data"]["failure"]["message"] == "图像服务出错了"
    assert event["data"]["failure"]["details"] == "engine exploded"


def test_delivery_gives_up_after_the_last_attempt(
    client, alice, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.answers[:] = [500, 503, 500]
    token = api_token(alice)
    created = _api_job(client, token, f"{receiver.url}/hooks/aigc")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/jobs/{created['id']}/cancel", **bearer(token))
    delivery = WebhookDelivery.objects.get(job_id=created["id"])
    tasks.deliver_webhook(str(delivery.id), 2)
    delivery.refresh_from_db()
    assert delivery.state == "failed" and delivery.attempts == 2
    assert tasks.deliver_webhook(str(delivery.id), 3) == "done"  # nothing more is sent
    assert len([r for r in receiver.requests if r["method"] == "POST"]) == 2


def test_an_address_that_turned_private_is_not_posted_to(
    client, alice, receiver, settings, django_capture_on_commit_callbacks
):
    """Checked again at delivery: a name may resolve elsewhere than when the job was made."""
    token = api_token(alice)
    created = _api_job(client, token, f"{receiver.url}/hooks/aigc")
    settings.WEBHOOK_PRIVATE_HOSTS_ALLOWED = []
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/jobs/{created['id']}/cancel", **bearer(token))
    delivery = WebhookDelivery.objects.get(job_id=created["id"])
    assert delivery.state == "failed" and delivery.attempt_log.get().error == "private_address"
    assert receiver.requests == []


def test_a_job_without_a_webhook_sends_nothing(client, alice, django_capture_on_commit_callbacks):
    token = api_token(alice)
    response = client.post(
        "/api/v1/jobs/txt2img", json.dumps({"prompt": "roses"}), content_type="application/json", **bearer(token)
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/jobs/{response.json()['id']}/cancel", **bearer(token))
    assert not WebhookDelivery.objects.exists()
    assert Job.objects.get().status == "cancelled"


def test_the_signature_helper_rejects_old_and_forged_headers():
    body = b'{"a":1}'
    header = webhooks.sign(secret="whsec_x", timestamp=int(time.time()), body=body)
    assert webhooks.verify(secret="whsec_x", header=header, body=body)
    assert not webhooks.verify(secret="whsec_x", header=header, body=b'{"a":2}')
    old = webhooks.sign(secret="whsec_x", timestamp=int(time.time()) - 3600, body=body)
    assert not webhooks.verify(secret="whsec_x", header=old, body=body)
    assert not webhooks.verify(secret="whsec_x", header="garbage", body=body)
