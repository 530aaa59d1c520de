"""Check the money and image invariants; prints JSON, exits 1 if any is broken.

Every image accounted for, the ledger balanced, no negative balance, no duplicate image,
every refunded ending refunded exactly once, the facet counts the database keeps
(gallery/facet_summary.py) equal to a fresh count; and the database reconciled with the bucket
(gallery/housekeeping.py `reconcile`: every key a picture names exists, every object is named
or within STORAGE_ORPHAN_GRACE_HOURS), the result recorded for the admin. Operators run it after an incident; the
fault-matrix tests run it after every scenario.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.db.models import Count, Q, Sum

from gallery import facet_summary, housekeeping
from gallery.jobs import REFUNDED_STATUSES
from gallery.models import CreditAccount, CreditTransaction, Image, Job, JobStatus


def find_problems(*, check_storage: bool = True) -> tuple[list[str], dict]:
    problems: list[str] = []
    for account in CreditAccount.objects.all():
        total = CreditTransaction.objects.filter(user_id=account.user_id).aggregate(t=Sum("amount"))["t"] or 0
        if total != account.balance:
            problems.append(f"user {account.user_id}: balance {account.balance} but ledger sums to {total}")
        if account.balance < 0:
            problems.append(f"user {account.user_id}: negative balance {account.balance}")
    per_job = (
        CreditTransaction.objects.filter(job__isnull=False)
        .values("job_id")
        .annotate(debits=Count("id", filter=Q(kind="debit")), refunds=Count("id", filter=Q(kind="refund")))
    )
    by_job = {row["job_id"]: row for row in per_job}
    for job in Job.objects.only("id", "status", "cost"):
        row = by_job.get(job.id, {"debits": 0, "refunds": 0})
        if job.cost and row["debits"] != 1:
            problems.append(f"job {job.id}: {row['debits']} debits")
        if row["refunds"] > 1:
            problems.append(f"job {job.id}: {row['refunds']} refunds")
        if job.status in REFUNDED_STATUSES and job.cost and row["refunds"] != 1:
            problems.append(f"job {job.id}: {job.status} but {row['refunds']} refunds")
        if job.status == JobStatus.SUCCEEDED and not Image.objects.filter(job_id=job.id).exists():
            problems.append(f"job {job.id}: succeeded without an image")
        if job.status in (JobStatus.FAILED, JobStatus.UNSAFE) and Image.objects.filter(job_id=job.id).exists():
            problems.append(f"job {job.id}: {job.status} but has an image")
    problems += facet_summary.differences()
    reconciliation = None
    if check_storage:
        report = housekeeping.reconcile()
        reconciliation = report.record
        problems += [f"image {image_id}: {key} missing from storage" for key, image_id in report.missing.items()]
        problems += [f"object {key}: referenced by nothing, older than the grace period" for key in report.unreferenced]
    counts = {
        "jobs": dict(Job.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")),
        "images": Image.objects.count(),
        "debited": -(CreditTransaction.objects.filter(kind="debit").aggregate(t=Sum("amount"))["t"] or 0),
        "refunded": CreditTransaction.objects.filter(kind="refund").aggregate(t=Sum("amount"))["t"] or 0,
    }
    if reconciliation is not None:
        counts["storage"] = {
            "referenced": reconciliation.referenced,
            "stored": reconciliation.stored,
            "in_grace": reconciliation.in_grace,
        }
    return problems, counts


class Command(BaseCommand):
    help = "Check ledger, balance and image invariants; exit status 1 if any is broken."

    def add_arguments(self, parser):
        parser.add_argument("--no-storage", action="store_true", help="skip reconciling the database with storage")

    def handle(self, *args, no_storage: bool, **options):
        problems, counts = find_problems(check_storage=not no_storage)
        self.stdout.write(json.dumps({"ok": not problems, "problems": problems, "counts": counts}))
        if problems:
            raise SystemExit(1)
