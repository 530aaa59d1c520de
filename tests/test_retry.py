"""Failures that lead somewhere: a failed job says in words what went wrong (the provider's own
words behind "Details"), and "Try again" makes a new job with the same parameters, charged as
usual and linked to the old one."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from gallery import credits, ingest, jobs
from gallery.models import Job, JobFailure
from tests.factories import make_job, record_callback, submitted_job
from tests.helpers import callback_body

pytestmark = pytest.mark.django_db


def _page(client, job, language="en") -> str:
    return client.get(reverse("job_detail", args=[job.id]), HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_a_failed_job_names_what_went_wrong_and_keeps_the_raw_words_behind_details(alice_client, alice):
    """Fails before: the headline was "The job failed." whatever happened, with the provider's
    English error under it in the Chinese page."""
    job = submitted_job(alice)
    jobs.fail(job_id=job.id, reason="HTTP 404 from cdn", failure=JobFailure.DOWNLOAD_FAILED)
    html = _page(alice_client, job)
    assert 'data-testid="failure-headline">The picture could not be downloaded.' in html
    assert "<details" in html and "HTTP 404 from cdn" in html.split("<details", 1)[1]
    assert 'data-testid="retry-job"' in html
    zh = _page(alice_client, job, "zh-hans")
    assert "图片无法下载" in zh and "再试一次" in zh


def test_ingest_records_why_a_job_failed(alice, image_host):
    job = submitted_job(alice)
    url = f"{image_host.url}/not-image.png"
    record_callback(job, url, cdn=url)
    assert ingest.ingest_result(job_id=job.id) == "failed"
    assert Job.objects.get(id=job.id).failure == JobFailure.DOWNLOAD_FAILED
    other = submitted_job(alice, "another")
    failure = callback_body("failure-while-running")
    jobs.record_callback(job_id=other.id, body=failure, success=False, safe=None)
    ingest.ingest_result(job_id=other.id)
    assert Job.objects.get(id=other.id).failure == JobFailure.SERVICE_FAILED


def test_try_again_makes_a_new_job_charged_once_and_linked(alice_client, alice):
    """Fails before: there was no way for a user to try a failed job again."""
    job = submitted_job(alice, "a lighthouse")
    jobs.fail(job_id=job.id, reason="boom")
    assert credits.balance_of(alice) == 50  # charged 2, refunded 2
    response = alice_client.post(reverse("retry_job", args=[job.id]))
    new = Job.objects.exclude(id=job.id).get()
    assert response.status_code == 302 and response["Location"] == reverse("job_detail", args=[new.id])
    assert (new.params, new.prompt, new.kind, new.retry_of_id, new.status) == (
        job.params,
        job.prompt,
        job.kind,
        job.id,
        "queued",
    )
    assert credits.balance_of(alice) == 48
    assert 'data-testid="retry-of"' in _page(alice_client, new)
    old_page = _page(alice_client, job)
    assert 'data-testid="retried-as"' in old_page and 'data-testid="retry-job"' not in old_page
    alice_client.post(reverse("retry_job", args=[job.id]))  # a second click makes nothing more
    assert Job.objects.count() == 2


@pytest.mark.parametrize("end", ["unsafe", "timed_out", "cancelled"])
def test_every_ending_without_a_picture_offers_try_again(alice_client, alice, end):
    job = make_job(alice) if end == "cancelled" else submitted_job(alice)
    {
        "unsafe": lambda: jobs.mark_unsafe(job_id=job.id, reason="unsafe"),
        "timed_out": lambda: jobs.time_out(job_id=job.id),
        "cancelled": lambda: jobs.cancel(job=job, by=alice),
    }[end]()
    assert 'data-testid="retry-job"' in _page(alice_client, job)


def test_a_running_job_offers_no_try_again_and_nobody_else_may_retry(alice_client, alice, bob):
    job = submitted_job(alice)
    assert 'data-testid="retry-job"' not in _page(alice_client, job)
    jobs.fail(job_id=job.id, reason="boom")
    other = Client()
    other.force_login(bob)
    assert other.post(reverse("retry_job", args=[job.id])).status_code == 404
    assert Job.objects.count() == 1


def test_the_chinese_headline_ends_with_a_chinese_full_stop(alice_client, alice):
    job = submitted_job(alice)
    jobs.fail(job_id=job.id, reason="x", failure=JobFailure.SERVICE_FAILED)
    assert 'data-testid="failure-headline">图像服务出错了。<' in _page(alice_client, job, "zh-hans")
