"""Honest waiting on the job page: the place in our queue, how long such jobs usually take, and
past twice that, that it is slow and when it will be given up and refunded."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from gallery.models import Job, JobStatus
from tests.factories import make_job, submitted_job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cached_medians():
    cache.clear()


def _finished(owner, *, seconds: float, count: int = 3):
    for _ in range(count):
        job = make_job(owner)
        now = timezone.now()
        Job.objects.filter(id=job.id).update(
            status=JobStatus.SUCCEEDED, created_at=now - timedelta(seconds=seconds), finished_at=now
        )


def _page(client, job, language="en") -> str:
    return client.get(reverse("job_detail", args=[job.id]), HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_a_queued_job_says_its_place_in_our_queue(alice_client, alice, bob):
    """Fails before: a queued job only said "Waiting for the image service…"."""
    make_job(bob, "bob's first")
    mine = make_job(alice, "mine")
    assert "Number 2 in our queue." in _page(alice_client, mine)
    assert "在我们的队列中排第 2 位。" in _page(alice_client, mine, "zh-hans")


def test_a_running_job_says_how_long_such_jobs_take_not_a_few_seconds(alice_client, alice):
    """Fails before: every running job read "This usually takes a few seconds", even after minutes."""
    _finished(alice, seconds=12)
    job = submitted_job(alice)
    html = _page(alice_client, job)
    assert "Jobs like this take about 12 s." in html
    assert "a few seconds" not in html
    assert 'data-testid="overdue"' not in html


def test_past_twice_the_usual_time_it_says_so_and_when_it_is_refunded(alice_client, alice, settings):
    settings.JOB_TIMEOUT_MINUTES = 15
    _finished(alice, seconds=10)
    job = submitted_job(alice)
    started = timezone.now() - timedelta(seconds=100)
    Job.objects.filter(id=job.id).update(created_at=started, submitted_at=started)
    html = _page(alice_client, job)
    assert "This is taking longer than usual." in html
    gives_up = timezone.localtime(started + timedelta(minutes=15)).strftime("%H:%M")
    assert f"If nothing arrives by {gives_up}, the job is given up and your credits are refunded" in html
    assert "这次比平时慢。" in _page(alice_client, job, "zh-hans")


def test_long_kinds_are_said_in_minutes(alice_client, alice):
    for _ in range(3):
        job = make_job(alice, kind="upscale")
        now = timezone.now()
        Job.objects.filter(id=job.id).update(
            status=JobStatus.SUCCEEDED, created_at=now - timedelta(seconds=180), finished_at=now
        )
    job = make_job(alice, kind="upscale")
    assert "Jobs like this take about 3 min." in _page(alice_client, job)


@pytest.mark.parametrize(
    ("language", "said"),
    [("en", "Number 3 in the image service's queue."), ("zh-hans", "在图像服务的队列中排第 3 位。")],
)
def test_a_submitted_job_says_its_place_in_the_providers_queue_when_the_provider_tells(
    alice_client, alice, settings, language, said
):
    """Fails before the change: a submitted job said "painting" while the provider had it queued."""
    from tests.helpers import Recorder, json_reply

    job = submitted_job(alice)
    with Recorder() as provider:
        provider.routes["/status"] = json_reply({"uid": job.provider_task_id, "status": "pending", "position": 2})
        settings.APISPACE_BASE_URL, settings.APISPACE_STATUS_PATH = provider.url, "/status"
        html = _page(alice_client, job, language)
        _page(alice_client, job, language)  # a second poll soon after asks the provider nothing more
        asked = [request for request in provider.requests if request["path"] == "/status"]
    assert said in html and 'data-testid="provider-position"' in html
    assert len(asked) == 1 and json.loads(asked[0]["body"]) == {"uid": job.provider_task_id}


def test_a_job_the_provider_is_painting_says_so(alice_client, alice, settings):
    from tests.helpers import Recorder, json_reply

    job = submitted_job(alice)
    with Recorder() as provider:
        provider.routes["/status"] = json_reply({"uid": job.provider_task_id, "status": "working"})
        settings.APISPACE_BASE_URL, settings.APISPACE_STATUS_PATH = provider.url, "/status"
        html = _page(alice_client, job)
    assert "The image service is painting." in html and 'data-testid="provider-position"' not in html
