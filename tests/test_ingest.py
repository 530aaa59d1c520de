"""Ingest: a recorded callback becomes an image in the bucket and the gallery, once."""

from __future__ import annotations

import pytest

from gallery import credits, ingest, jobs, tasks
from gallery.models import CreditTransaction, Image, JobStatus
from tests.factories import record_callback, submitted_job
from tests.helpers import callback_body

pytestmark = pytest.mark.django_db


def test_it_stores_the_original_and_thumbnails_and_finishes_the_job(alice, image_host, bucket_keys):
    job = submitted_job(alice)
    record_callback(job, f"{image_host.url}/result.png")
    assert ingest.ingest_result(job_id=job.id) == "succeeded"
    job.refresh_from_db()
    image = Image.objects.get(job=job)
    assert job.status == JobStatus.SUCCEEDED
    assert (image.width, image.height, image.owner) == (512, 512, alice)
    keys = set(bucket_keys("images/"))
    assert {image.original_key, image.thumb_key, image.preview_key} <= keys
    assert image.thumb_key.endswith(".webp")
    assert image.provider_duration == pytest.approx(3.609358310699463)


def test_running_it_twice_gives_one_image_and_no_orphans(alice, image_host, bucket_keys):
    job = submitted_job(alice)
    record_callback(job, f"{image_host.url}/result.png")
    ingest.ingest_result(job_id=job.id)
    before = set(bucket_keys("images/"))
    assert ingest.ingest_result(job_id=job.id) == "already succeeded"
    assert Image.objects.filter(job=job).count() == 1
    assert set(bucket_keys("images/")) == before


def test_a_lost_race_removes_what_it_uploaded(alice, image_host, bucket_keys):
    job = submitted_job(alice)
    record_callback(job, f"{image_host.url}/result.png")
    ingest.ingest_result(job_id=job.id)
    before = set(bucket_keys("images/"))
    # A second worker that downloaded before the first committed: attach refuses, keys go.
    job.refresh_from_db()
    stored = ingest.download_and_store(url=f"{image_host.url}/result.png", folder=f"images/{alice.pk}")
    from gallery.callbacks import from_body

    assert ingest.attach_image(job_id=job.id, stored=stored, callback=from_body(job.deliveries.first().body)) is False
    ingest.media.delete(stored.keys())
    assert set(bucket_keys("images/")) == before


def test_a_failure_body_fails_the_job_with_the_reason_and_refunds_once(alice, image_host):
    job = submitted_job(alice)
    record_callback(job, "", name="failure-while-running")
    assert ingest.ingest_result(job_id=job.id) == "failed"
    assert ingest.ingest_result(job_id=job.id) == "already failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "out of memory" in job.error_reason
    assert CreditTransaction.objects.filter(job=job, kind="refund").count() == 1
    assert credits.balance_of(alice) == 50


def test_an_unsafe_body_stores_nothing_and_refunds(alice, image_host, bucket_keys):
    job = submitted_job(alice)
    record_callback(job, "", name="unsafe")
    assert ingest.ingest_result(job_id=job.id) == "unsafe"
    job.refresh_from_db()
    assert job.status == JobStatus.UNSAFE
    assert not Image.objects.filter(job=job).exists()
    assert credits.balance_of(alice) == 50


def test_a_non_image_result_fails_cleanly(alice, image_host, bucket_keys):
    before = set(bucket_keys())
    job = submitted_job(alice)
    record_callback(job, f"{image_host.url}/not-image.png")
    assert ingest.ingest_result(job_id=job.id) == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert set(bucket_keys()) == before  # nothing half-written


def test_an_unlisted_host_is_refused(alice, image_host, settings):
    settings.INGEST_PRIVATE_HOSTS_ALLOWED = []
    job = submitted_job(alice)
    record_callback(job, f"{image_host.url}/result.png")
    assert ingest.ingest_result(job_id=job.id) == "failed"
    job.refresh_from_db()
    assert "private" in job.error_reason.lower() or "not allowed" in job.error_reason.lower()


def test_a_busy_image_host_is_retried_later_not_failed(alice, image_host):
    job = submitted_job(alice)
    record_callback(job, f"{image_host.url}/busy.png")
    assert tasks.ingest_result(str(job.id)) == "retry 1"
    job.refresh_from_db()
    assert job.status == JobStatus.SUBMITTED


def test_a_late_picture_after_the_timeout_is_delivered_without_a_second_charge(alice, image_host):
    job = submitted_job(alice)
    jobs.time_out(job_id=job.id)
    assert credits.balance_of(alice) == 50
    record_callback(job, f"{image_host.url}/result.png")
    assert ingest.ingest_result(job_id=job.id) == "succeeded"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert Image.objects.filter(job=job).count() == 1
    assert credits.balance_of(alice) == 50
    assert CreditTransaction.objects.filter(job=job).count() == 2  # the debit and its refund


def test_an_early_callback_is_applied_once_the_submission_is_recorded(
    alice, image_host, django_capture_on_commit_callbacks
):
    job = jobs.create_job(owner=alice, kind="txt2img", params={"text": "x"}, prompt="x")
    record_callback(job, f"{image_host.url}/result.png")
    with django_capture_on_commit_callbacks(execute=True):
        jobs.mark_submitted(job_id=job.id, task_id="t", response={})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


def test_the_object_store_down_during_ingest_is_retried_and_nothing_is_lost(alice, image_host, storage_down):
    job = submitted_job(alice)
    record_callback(job, f"{image_host.url}/result.png")
    with storage_down():
        assert tasks.ingest_result(str(job.id)) == "retry 1"
    job.refresh_from_db()
    assert job.status == JobStatus.SUBMITTED
    assert not Image.objects.filter(job=job).exists()
    assert tasks.ingest_result(str(job.id), 2) == "succeeded"  # the planned retry, once it is back
    assert Image.objects.filter(job=job).count() == 1
    assert credits.balance_of(alice) == 48


def _post_callback(job, raw: bytes):
    from django.test import Client
    from django.urls import reverse

    from gallery import tokens

    url = reverse("callback", kwargs={"job_id": job.id, "token": tokens.callback_token(job.id)})
    return Client(raise_request_exception=False).post(url, data=raw, content_type="application/json")


def test_a_callback_with_duration_nan_still_delivers_the_picture(alice, image_host):
    """Fails before the fix: json.loads accepts NaN, the JSON column refuses it, the view
    answered 500 to all ten deliveries and the picture was lost."""
    import json

    job = submitted_job(alice)
    body = callback_body("success-documented")
    body["data"]["cos"] = f"{image_host.url}/result.png"
    body["data"]["duration"] = float("nan")
    raw = json.dumps(body).encode()  # Python writes the bare token NaN, as a careless sender would
    assert b"NaN" in raw
    assert _post_callback(job, raw).status_code == 200
    assert ingest.ingest_result(job_id=job.id) == "succeeded"
    assert Image.objects.filter(job=job).exists()
    assert Image.objects.get(job=job).provider_duration is None


@pytest.mark.parametrize(
    "raw",
    [
        b'{"success": NaN, "data": {}}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 30 + b"1" + b"}" * 30,
    ],
    ids=["nan-in-a-needed-field", "very-deep", "deeper-than-a-callback"],
)
def test_unstorable_callback_bodies_answer_400_and_store_nothing(alice, raw):
    """Fails before the fix for "very-deep": json.loads raised RecursionError (500), so the
    provider retried in vain. The other two guard the new rules: NaN becomes null, so a field
    we need fails validation; nesting deeper than any callback is refused."""
    from gallery.models import CallbackDelivery

    job = submitted_job(alice)
    assert _post_callback(job, raw).status_code == 400
    assert not CallbackDelivery.objects.filter(job=job).exists()


def _age(job, **fields):
    from datetime import timedelta

    from django.utils import timezone

    from gallery.models import Job

    Job.objects.filter(id=job.id).update(**{name: timezone.now() - timedelta(hours=2) for name in fields})


def test_the_sweep_never_times_out_a_job_whose_success_callback_arrived(alice, image_host):
    """Fails before the fix: stale_submitted ignored callback_received_at, so a job whose
    picture was still being saved (ingest retrying) was timed out and refunded."""
    job = submitted_job(alice)
    record_callback(job, f"{image_host.url}/busy.png")  # recorded; the ingest task has not run yet
    _age(job, submitted_at=True)
    counts = tasks.sweep_stale_jobs()
    assert counts["timed_out"] == 0
    job.refresh_from_db()
    assert job.status == JobStatus.SUBMITTED
    assert not CreditTransaction.objects.filter(job=job, kind="refund").exists()


def test_the_sweep_hands_a_recorded_callback_whose_ingest_was_lost_to_ingest_again(alice, image_host):
    job = submitted_job(alice)
    record_callback(job, f"{image_host.url}/result.png")  # recorded, but its ingest task was lost
    _age(job, submitted_at=True, callback_received_at=True)
    assert tasks.sweep_stale_jobs()["reingested"] == 1  # Q_SYNC: the ingest runs right here
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert Image.objects.filter(job=job).count() == 1


def test_our_store_down_for_long_never_fails_the_job(alice, image_host, storage_down, settings):
    """Fails before the fix: the sixth attempt (about five minutes of outage) failed the job,
    refunded it and lost the picture, though the fault was ours, not the provider's."""
    from django_q.models import Schedule

    job = submitted_job(alice)
    record_callback(job, f"{image_host.url}/result.png")
    with storage_down():
        for attempt in (1, 6, 7, 40):
            assert tasks.ingest_result(str(job.id), attempt) == f"retry {attempt}"
    job.refresh_from_db()
    assert job.status == JobStatus.SUBMITTED
    planned = Schedule.objects.filter(name=f"gallery.tasks.ingest_result:{job.id}:41").get()
    from django.utils import timezone

    assert (planned.next_run - timezone.now()).total_seconds() <= settings.INGEST_MAX_RETRY_SECONDS + 5
    assert tasks.ingest_result(str(job.id), 41) == "succeeded"
    assert credits.balance_of(alice) == 48


def test_the_wait_between_retries_of_our_store_is_capped_by_the_setting(alice, image_host, storage_down, settings):
    """Fails before the change: the cap was a constant (300 s) and the first retry came after 10 s."""
    from django.utils import timezone
    from django_q.models import Schedule

    settings.INGEST_MAX_RETRY_SECONDS = 1
    job = submitted_job(alice)
    record_callback(job, f"{image_host.url}/result.png")
    with storage_down():
        assert tasks.ingest_result(str(job.id), 1) == "retry 1"
    planned = Schedule.objects.get(name=f"gallery.tasks.ingest_result:{job.id}:2")
    assert (planned.next_run - timezone.now()).total_seconds() <= 1


def test_a_copy_refused_on_cos_is_fetched_from_cdn(alice, image_host):
    """Fails before the fix: only `cos or cdn` was tried, so a 403 on cos failed a picture
    the CDN still served."""
    image_host.routes["/forbidden.png"] = lambda h, b: (403, {}, b"")
    job = submitted_job(alice)
    record_callback(job, f"{image_host.url}/forbidden.png", cdn=f"{image_host.url}/result.png")
    assert ingest.ingest_result(job_id=job.id) == "succeeded"
    assert Image.objects.filter(job=job).count() == 1


def test_a_job_fails_only_when_every_copy_fails_for_good(alice, image_host):
    image_host.routes["/forbidden.png"] = lambda h, b: (403, {}, b"")
    job = submitted_job(alice)
    record_callback(job, f"{image_host.url}/forbidden.png", cdn=f"{image_host.url}/not-image.png")
    assert ingest.ingest_result(job_id=job.id) == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert credits.balance_of(alice) == 50
