"""Refunds happen exactly once, whatever arrives twice or late: duplicate callbacks, the timeout
sweep running twice, a callback after the sweep, a staff refund after an automatic one.

Callbacks are the recorded bodies in tests/data/callbacks, applied through the real
jobs.record_callback → ingest.ingest_result path; pictures come from a local HTTP server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gallery import credits, ingest, jobs, tasks
from gallery.models import AuditEntry, CallbackDelivery, CreditTransaction, Image, Job, JobStatus
from tests.factories import submitted_job
from tests.helpers import callback_body

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_status_call(settings):
    # The sweep asks the provider first when it has a status call; these tests are about the
    # timeout path, so there is none.
    settings.APISPACE_STATUS_PATH = ""


def _deliver(job: Job, name: str, *, image_url: str = "") -> CallbackDelivery:
    body = callback_body(name)
    body["uid"] = body["data"]["uid"] = f"t-{job.id}"
    if image_url:
        body["data"]["cos"] = image_url
        body["data"]["cdn"] = image_url + "?cdn"
    return jobs.record_callback(job_id=job.id, body=body, success=body["success"], safe=body["data"].get("safe"))


def _ledger(job: Job) -> list[tuple[str, int]]:
    return list(CreditTransaction.objects.filter(job=job).order_by("id").values_list("kind", "amount"))


def _make_stale(job: Job) -> None:
    Job.objects.filter(id=job.id).update(submitted_at=timezone.now() - timedelta(hours=2))


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("failure-while-running", JobStatus.FAILED),
        ("failure-bad-params", JobStatus.FAILED),
        ("unsafe", JobStatus.UNSAFE),
    ],
)
def test_it_refunds_once_when_the_same_callback_arrives_twice(alice, name, status):
    job = submitted_job(alice)
    _deliver(job, name)
    _deliver(job, name)
    ingest.ingest_result(job_id=job.id)
    ingest.ingest_result(job_id=job.id)
    job.refresh_from_db()
    assert job.status == status
    assert _ledger(job) == [("debit", -2), ("refund", 2)]
    assert AuditEntry.objects.filter(action="job.refunded", job=job).count() == 1
    assert list(job.deliveries.values_list("outcome", flat=True)) == ["applied", "duplicate"]
    assert credits.balance_of(alice) == credits.ledger_total(alice) == 50


def test_the_refund_reason_names_what_went_wrong(alice):
    job = submitted_job(alice)
    _deliver(job, "failure-while-running")
    ingest.ingest_result(job_id=job.id)
    refund = CreditTransaction.objects.get(job=job, kind="refund")
    assert refund.reason_code == "job_failed"
    assert "out of memory" in refund.reason
    assert refund.is_automatic and refund.actor is None


def test_the_sweep_times_a_silent_job_out_once_when_it_runs_twice(alice):
    job = submitted_job(alice)
    _make_stale(job)
    assert tasks.sweep_stale_jobs()["timed_out"] == 1
    assert tasks.sweep_stale_jobs()["timed_out"] == 0
    jobs.time_out(job_id=job.id)  # and a third time, by hand
    job.refresh_from_db()
    assert job.status == JobStatus.TIMED_OUT
    assert _ledger(job) == [("debit", -2), ("refund", 2)]
    assert credits.balance_of(alice) == 50


def test_the_sweep_leaves_a_recent_job_alone(alice):
    job = submitted_job(alice)
    assert tasks.sweep_stale_jobs()["timed_out"] == 0
    job.refresh_from_db()
    assert job.status == JobStatus.SUBMITTED
    assert _ledger(job) == [("debit", -2)]


def test_a_late_picture_after_the_timeout_is_delivered_with_no_second_charge(alice, image_host, bucket_keys):
    job = submitted_job(alice)
    _make_stale(job)
    tasks.sweep_stale_jobs()
    delivery = _deliver(job, "success-documented", image_url=f"{image_host.url}/late.png")
    assert delivery.outcome == CallbackDelivery.Outcome.LATE
    assert ingest.ingest_result(job_id=job.id) == "succeeded"
    job.refresh_from_db()
    image = Image.objects.get(job=job)
    assert job.status == JobStatus.SUCCEEDED
    assert image.original_key in bucket_keys("images/")
    # The user keeps the refund and the picture: one debit, one refund, balance whole.
    assert _ledger(job) == [("debit", -2), ("refund", 2)]
    assert credits.balance_of(alice) == credits.ledger_total(alice) == 50


def test_a_late_picture_delivered_twice_makes_one_image(alice, image_host):
    job = submitted_job(alice)
    jobs.time_out(job_id=job.id)
    _deliver(job, "success-backend-spelling", image_url=f"{image_host.url}/late.png")
    _deliver(job, "success-backend-spelling", image_url=f"{image_host.url}/late.png")
    ingest.ingest_result(job_id=job.id)
    ingest.ingest_result(job_id=job.id)
    assert Image.objects.filter(job=job).count() == 1
    assert list(job.deliveries.values_list("outcome", flat=True)) == ["late", "duplicate"]
    assert _ledger(job) == [("debit", -2), ("refund", 2)]


def test_a_late_failure_after_the_timeout_changes_nothing(alice):
    job = submitted_job(alice)
    jobs.time_out(job_id=job.id)
    _deliver(job, "failure-while-running")
    assert ingest.ingest_result(job_id=job.id) == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.TIMED_OUT
    assert _ledger(job) == [("debit", -2), ("refund", 2)]


def test_a_failure_callback_after_the_timeout_and_a_second_sweep_refund_once(alice):
    job = submitted_job(alice)
    _make_stale(job)
    tasks.sweep_stale_jobs()
    jobs.fail(job_id=job.id, reason="late failure")
    tasks.sweep_stale_jobs()
    assert _ledger(job) == [("debit", -2), ("refund", 2)]
    assert AuditEntry.objects.filter(action="job.refunded", job=job).count() == 1


def test_cancelling_a_queued_job_refunds_it_once(alice):
    job = jobs.create_job(owner=alice, kind="txt2img", params={"text": "Roses"}, prompt="Roses")
    jobs.cancel(job=job, by=alice)
    with pytest.raises(jobs.JobNotCancellable):
        jobs.cancel(job=Job.objects.get(id=job.id), by=alice)
    assert _ledger(job) == [("debit", -2), ("refund", 2)]


def test_a_staff_refund_after_an_automatic_one_writes_nothing(alice, staff):
    job = submitted_job(alice)
    jobs.fail(job_id=job.id, reason="boom")
    result = credits.refund_by_staff(job=job, reason="asked by the user", actor=staff)
    assert result.created is False and result.transaction.is_automatic
    assert _ledger(job) == [("debit", -2), ("refund", 2)]
    assert not AuditEntry.objects.filter(action="job.refunded_manually").exists()


def test_a_staff_refund_of_a_finished_job_records_who_and_why(alice, staff):
    job = submitted_job(alice)
    result = credits.refund_by_staff(job=job, reason="the picture came out black", actor=staff)
    assert result.created
    row = result.transaction
    assert (row.actor, row.reason, row.is_automatic) == (staff, "the picture came out black", False)
    entry = AuditEntry.objects.get(action="job.refunded_manually")
    assert (entry.actor, entry.job_id, entry.data["reason"]) == (staff, job.id, "the picture came out black")
    # The job then fails: the automatic refund finds the manual one and writes nothing.
    jobs.fail(job_id=job.id, reason="boom")
    assert _ledger(job) == [("debit", -2), ("refund", 2)]
    assert not AuditEntry.objects.filter(action="job.refunded", job=job).exists()


def test_a_staff_refund_needs_a_reason(alice, staff):
    job = submitted_job(alice)
    with pytest.raises(credits.CreditError):
        credits.refund_by_staff(job=job, reason=" ", actor=staff)
    assert _ledger(job) == [("debit", -2)]
