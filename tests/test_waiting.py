"""Honest waiting on the job page: the place in our queue, how long such jobs usually take, and
past twice that, that it is slow and when it will be given up and refunded."""

from __future__ import annotations

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
