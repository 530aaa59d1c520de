"""The audit log has one writer (`gallery.audit.record`) and entries name what they were done to;
ledger rows carry a reason code, and the credit history is written from it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from gallery import audit, credits, jobs, moderation
from gallery.models import AuditEntry, Job, JobStatus
from tests.factories import image_row, make_job

pytestmark = pytest.mark.django_db

GALLERY = Path(__file__).resolve().parent.parent / "gallery"


def test_only_the_audit_module_writes_audit_entries():
    """Fails before gallery/audit.py: nine places in five modules called AuditEntry.objects.create."""
    writers = []
    for path in GALLERY.rglob("*.py"):
        if "migrations" in path.parts or path.name == "audit.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in {"create", "bulk_create", "update_or_create"}:
                source = ast.unparse(node.value)
                if "AuditEntry" in source:
                    writers.append(f"{path.name}: {source}.{node.attr}")
    assert writers == []


def test_an_entry_names_its_subject_and_keeps_the_job_link(alice, staff):
    job = make_job(alice)
    entry = audit.record(staff, audit.Action.JOB_RETRIED, job, new_job=job.id)
    assert (entry.subject_type, entry.subject_id, entry.job_id) == ("gallery.job", str(job.id), job.id)
    assert entry.data == {"new_job": str(job.id)}  # a UUID is stored as its text
    assert list(audit.history(job)) == [entry]
    assert audit.latest(audit.Action.JOB_RETRIED, job) == entry


def test_a_hidden_picture_is_the_subject_of_its_entry(alice, staff):
    """Fails before: image.hidden entries had no subject, only {"image": id} in their data."""

    image = image_row(alice, is_public=True)
    assert moderation.set_image_hidden(image=image, hidden=True, staff=staff)
    entry = AuditEntry.objects.get(action="image.hidden")
    assert (entry.subject_type, entry.subject_id, entry.actor) == ("gallery.image", str(image.pk), staff)
    assert list(audit.history(image)) == [entry]


def test_an_unknown_action_is_refused_by_the_writer_and_the_database(staff):
    with pytest.raises(ValueError):
        audit.record(staff, "job.teleported")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEntry.objects.create(actor=staff, action="job.teleported")


def test_a_refund_is_coded_by_the_status_the_job_ended_in(alice, staff):
    failed, unsafe, late, kept = (make_job(alice, prompt=p) for p in ("a", "b", "c", "d"))
    for job in (unsafe, late):
        jobs.mark_submitted(job_id=job.id, task_id=f"task-{job.id}", response={})
    jobs.fail(job_id=failed.id, reason="out of memory")
    jobs.mark_unsafe(job_id=unsafe.id, reason="unsafe image content")
    jobs.time_out(job_id=late.id)
    credits.refund_by_staff(job=kept, reason="blurry", actor=staff)
    codes = {row.job_id: (row.reason_code, row.reason) for row in alice.credit_transactions.filter(kind="refund")}
    assert codes == {
        failed.id: ("job_failed", "out of memory"),
        unsafe.id: ("job_unsafe", "unsafe image content"),
        late.id: ("job_timed_out", "no callback in time"),
        kept.id: ("staff_refund", "blurry"),
    }


def test_the_history_titles_come_from_the_codes_not_from_the_jobs_status_now(alice_client, alice):
    """Fails before: the title was made from the job's current status, so a job that timed out
    (refunded) and whose picture then arrived read "Refund — Succeeded"."""
    late = make_job(alice, prompt="a late lighthouse")
    jobs.mark_submitted(job_id=late.id, task_id="task-late", response={})
    jobs.time_out(job_id=late.id)
    Job.objects.filter(id=late.id).update(status=JobStatus.SUCCEEDED)  # the picture arrived after all
    html = alice_client.get(reverse("credit_history")).content.decode()
    assert "Refund — the job timed out" in html
    assert "Succeeded" not in html
    zh = alice_client.get(reverse("credit_history"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "退款 — 任务超时" in zh
    assert "Credits granted" not in zh and "积分发放" in zh
